// Turns a tracking request body (as API Gateway hands it over) into clean JSON: base64, gzip, size limits, safe keys.
import { Buffer } from 'node:buffer';
import { brotliDecompressSync, gunzipSync, inflateRawSync, inflateSync } from 'node:zlib';
import type { JsonObject, JsonValue } from '../model.ts';

/** Decompressed request bodies up to this size are accepted; Segment clients send batches well above 500 KB. */
export const MAX_BODY_BYTES = 4 * 1024 * 1024;
/** Segment's per-call limit, measured on the event's JSON. */
export const MAX_EVENT_BYTES = 32 * 1024;
/** Deeper JSON is refused: nothing real nests this far, and deeper input could exhaust the stack later on. */
export const MAX_JSON_DEPTH = 512;

export interface BodyLimits {
  /** Largest body accepted, after decompression. 413 above it. */
  readonly maxBytes: number;
  /** Largest single event; not used by decodeBody, applied per event by the format parsers. */
  readonly maxEventBytes: number;
}

export const DEFAULT_BODY_LIMITS: BodyLimits = { maxBytes: MAX_BODY_BYTES, maxEventBytes: MAX_EVENT_BYTES };

export interface RawBody {
  readonly body: string | undefined;
  readonly isBase64Encoded: boolean;
  readonly headers: Readonly<Record<string, string | undefined>>;
}

export type DecodedBody =
  | { readonly ok: true; readonly value: JsonValue }
  | { readonly ok: false; readonly status: 400 | 413; readonly error: string };

/** Keys that would reach an object's prototype if some later code assigned them; dropped at every depth. */
const FORBIDDEN_KEYS: ReadonlySet<string> = new Set(['__proto__', 'constructor', 'prototype']);

/** Case-insensitive header lookup: HTTP APIs lower-case header names, REST APIs keep the client's spelling. */
export function headerValue(
  headers: Readonly<Record<string, string | undefined>>,
  name: string,
): string | undefined {
  const wanted = name.toLowerCase();
  for (const [key, value] of Object.entries(headers)) {
    if (key.toLowerCase() === wanted && value !== undefined) return value;
  }
  return undefined;
}

/**
 * Decodes a tracking request body into clean JSON, whatever its Content-Type.
 * gzip is recognised by Content-Encoding or by its magic bytes (RudderStack labels gzip as a form);
 * a form-encoded body is accepted when it carries JSON (as its only key, or in a `data` field).
 */
export function decodeBody(request: RawBody, limits: BodyLimits = DEFAULT_BODY_LIMITS): DecodedBody {
  const { body, isBase64Encoded, headers } = request;
  if (body === undefined || body.length === 0)
    return rejected(400, 'The request body is empty: send a JSON object.');
  const approximateBytes = isBase64Encoded ? Math.floor((body.length * 3) / 4) : body.length;
  if (approximateBytes > limits.maxBytes) return tooLarge(limits);

  const received = Buffer.from(body, isBase64Encoded ? 'base64' : 'utf8');
  if (received.length > limits.maxBytes) return tooLarge(limits);

  const decompressed = decompress(received, headerValue(headers, 'content-encoding'), limits);
  if (!decompressed.ok) return decompressed;
  if (decompressed.bytes.length > limits.maxBytes) return tooLarge(limits);

  const text = decompressed.bytes.toString('utf8').replace(/^\uFEFF/, '');
  if (text.trim() === '') return rejected(400, 'The request body is empty: send a JSON object.');

  const parsed = parseJsonText(text);
  if (parsed.ok) return parsed;
  if (isFormEncoded(headerValue(headers, 'content-type'))) {
    const fromForm = jsonFromForm(text);
    if (fromForm !== undefined) return fromForm.ok ? fromForm : rejected(400, fromForm.error);
    return rejected(
      400,
      `${parsed.error} A form-encoded body must carry the JSON as its only key or in a "data" field.`,
    );
  }
  return rejected(400, parsed.error);
}

/** Parses JSON text into a clean value; the error names the position but never echoes the input. */
export function parseJsonText(text: string): { ok: true; value: JsonValue } | { ok: false; error: string } {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    return { ok: false, error: describeJsonError(error) };
  }
  const cleaned = cleanJson(raw);
  if (!cleaned.ok) return { ok: false, error: cleaned.error };
  return cleaned;
}

/**
 * Copies any value into clean JSON: `__proto__`, `constructor` and `prototype` keys are dropped at every depth,
 * non-finite numbers become null, and values JSON cannot hold are dropped (in arrays: null), as JSON.stringify does.
 */
export function cleanJson(value: unknown): { ok: true; value: JsonValue } | { ok: false; error: string } {
  const state = { tooDeep: false };
  const cleaned = copyJson(value, 0, state);
  if (state.tooDeep) return { ok: false, error: `The JSON is nested deeper than ${MAX_JSON_DEPTH} levels.` };
  if (cleaned === undefined) return { ok: false, error: 'The value is not JSON.' };
  return { ok: true, value: cleaned };
}

export function isJsonObject(value: JsonValue | undefined): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Decodes base64 as clients really send it: standard or URL-safe alphabet, padded or not, with '+' turned into
 * spaces by query-string decoding, wrapped in lines, or still percent-encoded. Returns undefined when broken.
 */
export function decodeBase64(text: string): Buffer | undefined {
  let compact = text;
  if (compact.includes('%')) {
    try {
      compact = decodeURIComponent(compact);
    } catch {
      return undefined;
    }
  }
  compact = compact
    .replace(/ /g, '+')
    .replace(/[\t\r\n]/g, '')
    .replace(/-/g, '+')
    .replace(/_/g, '/')
    .replace(/={1,2}$/, '');
  if (compact.length === 0 || compact.length % 4 === 1 || !/^[A-Za-z0-9+/]+$/.test(compact)) return undefined;
  return Buffer.from(compact, 'base64');
}

/** Base64 (any variant, see decodeBase64) of UTF-8 text; undefined when the base64 or the UTF-8 is broken. */
export function decodeBase64Text(text: string): string | undefined {
  const bytes = decodeBase64(text);
  if (bytes === undefined) return undefined;
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return undefined;
  }
}

type Decompressed = { ok: true; bytes: Buffer } | { ok: false; status: 400 | 413; error: string };

function decompress(bytes: Buffer, contentEncoding: string | undefined, limits: BodyLimits): Decompressed {
  const encodings = (contentEncoding ?? '')
    .split(',')
    .map((token) => token.trim().toLowerCase())
    .filter((token) => token !== '' && token !== 'identity');
  const isGzip = bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;
  if (encodings.length > 1) {
    return rejected(400, 'Only one Content-Encoding is supported: send gzip, deflate, br or no encoding.');
  }
  const encoding = encodings[0];
  const options = { maxOutputLength: limits.maxBytes };
  try {
    if (isGzip) return { ok: true, bytes: gunzipSync(bytes, options) };
    // Without the magic bytes a body labelled gzip was already inflated on the way (some proxies do that).
    if (encoding === undefined || encoding === 'gzip' || encoding === 'x-gzip') return { ok: true, bytes };
    if (encoding === 'deflate') return { ok: true, bytes: inflateDeflate(bytes, options) };
    if (encoding === 'br') return { ok: true, bytes: brotliDecompressSync(bytes, options) };
  } catch (error) {
    if (isBufferTooLarge(error)) return tooLarge(limits);
    return rejected(400, `The request body is not valid ${isGzip ? 'gzip' : encoding} data.`);
  }
  return rejected(
    400,
    `Content-Encoding "${encoding.slice(0, 32)}" is not supported: send gzip, deflate, br or no encoding.`,
  );
}

/** HTTP "deflate" is zlib-wrapped by the standard, raw by some clients. */
function inflateDeflate(bytes: Buffer, options: { maxOutputLength: number }): Buffer {
  try {
    return inflateSync(bytes, options);
  } catch (error) {
    if (isBufferTooLarge(error)) throw error;
    return inflateRawSync(bytes, options);
  }
}

function isBufferTooLarge(error: unknown): boolean {
  return error instanceof RangeError && 'code' in error && error.code === 'ERR_BUFFER_TOO_LARGE';
}

function isFormEncoded(contentType: string | undefined): boolean {
  return (contentType ?? '').toLowerCase().includes('application/x-www-form-urlencoded');
}

/** JSON carried by a form body: `<percent-encoded JSON>` as its only key, or `data=<JSON or base64 JSON>`. */
function jsonFromForm(
  text: string,
): { ok: true; value: JsonValue } | { ok: false; error: string } | undefined {
  const fields = [...new URLSearchParams(text)];
  const only = fields.length === 1 ? fields[0] : undefined;
  const candidate =
    only !== undefined && only[1] === '' ? only[0] : fields.find(([name]) => name === 'data')?.[1];
  if (candidate === undefined) return undefined;
  const direct = parseJsonText(candidate);
  if (direct.ok) return direct;
  const decoded = decodeBase64Text(candidate);
  return decoded === undefined ? direct : parseJsonText(decoded);
}

function describeJsonError(error: unknown): string {
  const message = error instanceof Error ? error.message : '';
  const position = /position (\d+)/.exec(message)?.[1];
  if (position !== undefined)
    return `The request body is not valid JSON (syntax error at character ${position}).`;
  if (/end of (JSON )?input/i.test(message)) return 'The request body is not valid JSON: it ends too early.';
  return 'The request body is not valid JSON.';
}

function copyJson(value: unknown, depth: number, state: { tooDeep: boolean }): JsonValue | undefined {
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return value;
  if (typeof value === 'number') return Number.isFinite(value) ? value : null;
  if (typeof value !== 'object') return undefined;
  if (depth >= MAX_JSON_DEPTH) {
    state.tooDeep = true;
    return null;
  }
  if (Array.isArray(value)) {
    const items: JsonValue[] = [];
    for (const item of value) {
      if (state.tooDeep) return null;
      items.push(copyJson(item, depth + 1, state) ?? null);
    }
    return items;
  }
  const copy: JsonObject = {};
  for (const [key, item] of Object.entries(value)) {
    if (state.tooDeep) return null;
    if (FORBIDDEN_KEYS.has(key)) continue;
    const cleaned = copyJson(item, depth + 1, state);
    if (cleaned !== undefined) copy[key] = cleaned;
  }
  return copy;
}

function tooLarge(limits: BodyLimits): { ok: false; status: 413; error: string } {
  return rejected(
    413,
    `The request body is larger than ${limits.maxBytes} bytes (after decompression): send smaller batches.`,
  );
}

function rejected<S extends 400 | 413>(status: S, error: string): { ok: false; status: S; error: string } {
  return { ok: false, status, error };
}
