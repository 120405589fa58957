/**
 * Record keys, values and headers as JSON, both ways. Produce (Confluent v3): `{"type":
 * "BINARY"|"JSON"|"STRING", "data": ...}`: BINARY is base64, JSON any JSON value (stored as its
 * JSON text), STRING a string stored as UTF-8; without a type, JSON. Header values are base64,
 * as in Confluent. Reading renders each key and value in the format asked for: binary (base64),
 * string (UTF-8) or json (parsed; a value that is not JSON is an error for that request).
 */
import type { KafkaRecord } from '../../codec/records/records.js';
import { RestError } from './errors.js';

export type EmbeddedFormat = 'BINARY' | 'JSON' | 'STRING';


function invalid(message: string): RestError {
  return new RestError(422, 42206, message);
}

/**
 * Strict base64 (the standard alphabet, padded), as Java's decoder that Confluent uses. Checked
 * without a regular expression (a 1 KiB value cost more in the regex than in decoding): Node's
 * decoder skips characters outside the alphabet and stops at padding, so a text with any of them
 * decodes to fewer bytes than its length promises; the URL-safe '-' and '_', which Node would
 * accept, are looked for separately.
 */
export function decodeBase64(field: string, s: unknown): Buffer {
  if (typeof s !== 'string' || s.length % 4 !== 0) throw invalid(`${field} must be base64 text`);
  const bytes = Buffer.from(s, 'base64');
  const padding = s.endsWith('==') ? 2 : s.endsWith('=') ? 1 : 0;
  if (bytes.length !== (s.length / 4) * 3 - padding || s.includes('-') || s.includes('_')) throw invalid(`${field} must be base64 text`);
  return bytes;
}

/** The bytes of a produced key or value, with its format, or null for absent/null data. */
export function encodeData(field: string, raw: unknown): { bytes: Buffer | null; type: EmbeddedFormat } {
  if (raw === undefined || raw === null) return { bytes: null, type: 'BINARY' };
  if (typeof raw !== 'object' || Array.isArray(raw)) throw invalid(`${field} must be an object {"type": ..., "data": ...}`);
  const { type = 'JSON', data } = raw as { type?: unknown; data?: unknown };
  if (type !== 'BINARY' && type !== 'JSON' && type !== 'STRING') throw invalid(`${field}.type must be BINARY, JSON or STRING, got ${JSON.stringify(type)}`);
  if (data === undefined || data === null) return { bytes: null, type };
  if (type === 'BINARY') return { bytes: decodeBase64(`${field}.data`, data), type };
  if (type === 'STRING') {
    if (typeof data !== 'string') throw invalid(`${field}.data must be a string for type STRING`);
    return { bytes: Buffer.from(data, 'utf8'), type };
  }
  return { bytes: Buffer.from(JSON.stringify(data), 'utf8'), type };
}

export function decodeHeaders(raw: unknown): { key: string; value: Buffer | null }[] {
  if (raw === undefined || raw === null) return [];
  if (!Array.isArray(raw)) throw invalid('headers must be an array of {"name": string, "value": base64 or null}');
  return raw.map((h, i) => {
    if (typeof h !== 'object' || h === null || typeof (h as { name?: unknown }).name !== 'string') throw invalid(`headers[${i}].name must be a string`);
    const { name, value } = h as { name: string; value?: unknown };
    return { key: name, value: value === undefined || value === null ? null : decodeBase64(`headers[${i}].value`, value) };
  });
}

/** Confluent's timestamp: an ISO-8601 date-time string; a number of epoch ms is also accepted. */
export function decodeTimestamp(raw: unknown): bigint | undefined {
  if (raw === undefined || raw === null) return undefined;
  if (typeof raw === 'number' && Number.isSafeInteger(raw) && raw >= 0) return BigInt(raw);
  if (typeof raw === 'string') {
    const ms = Date.parse(raw);
    if (Number.isFinite(ms) && ms >= 0) return BigInt(ms);
  }
  throw invalid('timestamp must be an ISO-8601 date-time or epoch milliseconds');
}

export type ReadFormat = 'binary' | 'string' | 'json';

export function readFormat(raw: string | null | undefined, fallback: ReadFormat = 'binary'): ReadFormat {
  if (raw === null || raw === undefined || raw === '') return fallback;
  if (raw === 'binary' || raw === 'string' || raw === 'json') return raw;
  throw new RestError(400, 400, `format must be binary, string or json, got '${raw}'`);
}

export function renderBytes(bytes: Buffer | null, format: ReadFormat): unknown {
  if (bytes === null) return null;
  if (format === 'binary') return bytes.toString('base64');
  const text = bytes.toString('utf8');
  if (format === 'string') return text;
  try {
    return JSON.parse(text);
  } catch {
    throw new RestError(422, 42206, 'A record is not JSON; read it with format=binary or format=string');
  }
}

export function renderRecord(topic: string, partition: number, r: KafkaRecord, format: ReadFormat): Record<string, unknown> {
  return {
    topic_name: topic,
    partition_id: partition,
    offset: Number(r.offset),
    timestamp: Number(r.timestamp),
    key: renderBytes(r.key, format),
    value: renderBytes(r.value, format),
    headers: r.headers.map((h) => ({ name: h.key, value: h.value === null ? null : h.value.toString('base64') })),
  };
}
