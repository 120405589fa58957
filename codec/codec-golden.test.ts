import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { decodeRequestFrame, encodeRequestFrame } from './client.js';
import type { ApiVersionsRequest } from './generated/api-versions.js';
import { decodeConsumerProtocolSubscription } from './generated/consumer-protocol.js';
import type { JoinGroupRequest } from './generated/join-group.js';
import type { MetadataRequest } from './generated/metadata.js';
import type { ProduceRequest } from './generated/produce.js';
import { ApiKey } from './generated/registry.js';
import { DecodeError } from './primitives/errors.js';
import { Reader } from './primitives/reader.js';

interface GoldenFile {
  client: string;
  version: string;
  frames: { apiKey: number; apiVersion: number; api: string; hex: string }[];
}

const dir = join(dirname(fileURLToPath(import.meta.url)), 'golden');
const goldens = readdirSync(dir)
  .filter((f) => f.endsWith('.json'))
  .sort()
  .map((f) => JSON.parse(readFileSync(join(dir, f), 'utf8')) as GoldenFile);

function frameOf(g: GoldenFile, apiKey: number, apiVersion?: number): Buffer {
  const f = g.frames.find((x) => x.apiKey === apiKey && (apiVersion === undefined || x.apiVersion === apiVersion));
  if (!f) throw new Error(`${g.client} sent no api ${apiKey} v${apiVersion}`);
  return Buffer.from(f.hex, 'hex');
}

function golden(client: string): GoldenFile {
  const g = goldens.find((x) => x.client === client);
  if (!g) throw new Error(`no golden file for ${client}`);
  return g;
}

describe('golden request frames captured from real clients', () => {
  it('exist for kafkajs, kcat and kafka-python', () => {
    expect(goldens.map((g) => g.client)).toEqual(['kafka-python', 'kafkajs', 'kcat']);
  });

  for (const g of goldens) {
    for (const f of g.frames) {
      it(`${g.client} ${g.version}: ${f.api} v${f.apiVersion} decodes and re-encodes byte-identical`, () => {
        const frame = Buffer.from(f.hex, 'hex');
        const { header, body } = decodeRequestFrame(frame);
        expect(header.requestApiKey).toBe(f.apiKey);
        expect(header.requestApiVersion).toBe(f.apiVersion);
        const again = encodeRequestFrame(f.apiKey, f.apiVersion, header.correlationId, header.clientId, body);
        expect(again.toString('hex')).toBe(f.hex);
      });

      it(`${g.client} ${g.version}: ${f.api} v${f.apiVersion} truncated anywhere throws DecodeError`, () => {
        const frame = Buffer.from(f.hex, 'hex');
        for (let n = 0; n < frame.length; n++) {
          const prefix = Buffer.from(frame.subarray(0, n));
          expect(() => decodeRequestFrame(prefix)).toThrow(DecodeError);
          // with the size prefix patched to match, the header or body itself runs out
          if (n >= 4) prefix.writeInt32BE(n - 4, 0);
          expect(() => decodeRequestFrame(prefix)).toThrow(DecodeError);
        }
      });
    }
  }

  it('kafkajs sends ApiVersions v2 with its client id, and Produce v7 carrying the record batch as a view', () => {
    const g = golden('kafkajs');
    const av = decodeRequestFrame(frameOf(g, ApiKey.ApiVersions));
    expect(av.header).toMatchObject({ requestApiVersion: 2, clientId: 'golden-kafkajs' });
    const frame = frameOf(g, ApiKey.Produce, 7);
    const produce = decodeRequestFrame(frame).body as ProduceRequest;
    expect(produce.acks).toBe(-1);
    expect(produce.topicData.map((t) => t.name)).toEqual(['golden']);
    const records = produce.topicData[0]!.partitionData[0]!.records as Buffer;
    expect(records.buffer).toBe(frame.buffer);
    expect(records.includes(Buffer.from('golden value'))).toBe(true);
  });

  it('kcat (librdkafka) sends a flexible ApiVersions v3 naming its software', () => {
    const av = decodeRequestFrame(frameOf(golden('kcat'), ApiKey.ApiVersions, 3));
    expect(av.header.clientId).toBe('rdkafka');
    expect(av.body as ApiVersionsRequest).toEqual({ clientSoftwareName: 'librdkafka', clientSoftwareVersion: '2.0.2' });
  });

  it('kafka-python probes with ApiVersions v0 and Metadata v0 for all topics', () => {
    const g = golden('kafka-python');
    expect(decodeRequestFrame(frameOf(g, ApiKey.ApiVersions, 0)).body).toEqual({
      clientSoftwareName: '',
      clientSoftwareVersion: '',
    });
    const md = decodeRequestFrame(frameOf(g, ApiKey.Metadata, 0)).body as MetadataRequest;
    expect(md.topics).toEqual([]);
  });
});

describe('golden consumer-group frames', () => {
  it.each(['kafka-python', 'kafkajs', 'kcat'])('%s JoinGroup carries a consumer subscription to golden', (client) => {
    const join = decodeRequestFrame(frameOf(golden(client), ApiKey.JoinGroup)).body as JoinGroupRequest;
    expect(join.groupId).toBe('golden-group');
    expect(join.protocolType).toBe('consumer');
    expect(join.protocols.length).toBeGreaterThan(0);
    for (const p of join.protocols) {
      const r = new Reader(p.metadata);
      const version = r.int16();
      const subscription = decodeConsumerProtocolSubscription(r, Math.min(version, 3));
      expect(subscription.topics).toEqual(['golden']);
    }
  });
});
