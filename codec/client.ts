/**
 * Whole frames in both directions, for tests, golden captures and the benchmark replayer.
 * A frame here always includes its 4-byte size prefix. Decoding is strict: a frame whose
 * size prefix does not match, or with bytes left after the body, throws DecodeError.
 */
import type { ApiDefinition } from './api.js';
import {
  decodeRequestHeader,
  decodeResponseHeader,
  encodeRequestHeader,
  encodeResponseHeader,
  type RequestHeader,
} from './generated/headers.js';
import { API_DEFINITIONS, type ApiMessages } from './generated/registry.js';
import { DecodeError } from './primitives/errors.js';
import { Reader } from './primitives/reader.js';
import { Writer } from './primitives/writer.js';

/** The definition of `apiKey`, checking that `version` is one it has. */
export function apiDefinition(apiKey: number, version: number): ApiDefinition {
  const def = API_DEFINITIONS.get(apiKey);
  if (def === undefined) throw new RangeError(`unknown api key ${apiKey}`);
  if (version < def.minVersion || version > def.maxVersion) {
    throw new RangeError(`${def.name} has no version ${version} (${def.minVersion}-${def.maxVersion})`);
  }
  return def;
}

function withSize(w: Writer, build: (w: Writer) => void): Buffer {
  const slot = w.reserveInt32();
  const start = w.length;
  build(w);
  w.patchInt32(slot, w.length - start);
  return w.toBuffer();
}

function frameReader(frame: Buffer): Reader {
  if (frame.length < 4) throw new DecodeError(`frame of ${frame.length} bytes has no size`);
  const size = frame.readInt32BE(0);
  if (size !== frame.length - 4) throw new DecodeError(`frame size ${size} but ${frame.length - 4} bytes follow`);
  return new Reader(frame, 4);
}

function expectEnd(r: Reader, what: string): void {
  if (r.remaining !== 0) throw new DecodeError(`${r.remaining} bytes left after ${what}`);
}

export function encodeRequestFrame<K extends keyof ApiMessages>(
  apiKey: K,
  version: number,
  correlationId: number,
  clientId: string | null,
  body: ApiMessages[K]['request'],
): Buffer;
export function encodeRequestFrame(
  apiKey: number,
  version: number,
  correlationId: number,
  clientId: string | null,
  body: unknown,
): Buffer;
export function encodeRequestFrame(
  apiKey: number,
  version: number,
  correlationId: number,
  clientId: string | null,
  body: unknown,
): Buffer {
  const def = apiDefinition(apiKey, version);
  const header: RequestHeader = { requestApiKey: apiKey, requestApiVersion: version, correlationId, clientId };
  return withSize(new Writer(), (w) => {
    encodeRequestHeader(w, header, def.requestHeaderVersion(version));
    def.encodeRequest(w, body, version);
  });
}

export function decodeResponseFrame<K extends keyof ApiMessages>(
  apiKey: K,
  version: number,
  frame: Buffer,
): { correlationId: number; body: ApiMessages[K]['response'] };
export function decodeResponseFrame(apiKey: number, version: number, frame: Buffer): { correlationId: number; body: unknown };
export function decodeResponseFrame(apiKey: number, version: number, frame: Buffer): { correlationId: number; body: unknown } {
  const def = apiDefinition(apiKey, version);
  const r = frameReader(frame);
  const header = decodeResponseHeader(r, def.responseHeaderVersion(version));
  const body = def.decodeResponse(r, version);
  expectEnd(r, `${def.name} response v${version}`);
  return { correlationId: header.correlationId, body };
}

/** Decodes a request frame as the broker sees it; unknown keys and versions throw DecodeError. */
export function decodeRequestFrame(frame: Buffer): { header: RequestHeader; api: ApiDefinition; body: unknown } {
  const r = frameReader(frame);
  if (r.remaining < 4) throw new DecodeError('request too short for its api key and version');
  const apiKey = frame.readInt16BE(4);
  const version = frame.readInt16BE(6);
  const api = API_DEFINITIONS.get(apiKey);
  if (api === undefined) throw new DecodeError(`unknown api key ${apiKey}`);
  if (version < api.minVersion || version > api.maxVersion) {
    throw new DecodeError(`${api.name} has no version ${version}`);
  }
  const header = decodeRequestHeader(r, api.requestHeaderVersion(version));
  const body = api.decodeRequest(r, version);
  expectEnd(r, `${api.name} request v${version}`);
  return { header, api, body };
}

export function encodeResponseFrame<K extends keyof ApiMessages>(
  apiKey: K,
  version: number,
  correlationId: number,
  body: ApiMessages[K]['response'],
): Buffer;
export function encodeResponseFrame(apiKey: number, version: number, correlationId: number, body: unknown): Buffer;
export function encodeResponseFrame(apiKey: number, version: number, correlationId: number, body: unknown): Buffer {
  const def = apiDefinition(apiKey, version);
  return withSize(new Writer(), (w) => {
    encodeResponseHeader(w, { correlationId }, def.responseHeaderVersion(version));
    def.encodeResponse(w, body, version);
  });
}
