// Parses Segment tracking pixels (GET /v1/pixel/{type}) into a normalized event; pixels always answer a GIF.
import type { JsonObject, JsonValue, NormalizedEvent } from '../model.ts';
import { decodeBase64Text, isJsonObject, parseJsonText } from './body.ts';
import { eventTypeOf, normalizeSegmentEvent } from './segment.ts';

/** The 43-byte transparent 1x1 GIF every pixel request is answered with, base64-encoded. */
export const TRANSPARENT_GIF = 'R0lGODlhAQABAIAAAP///wAAACH5BAEAAAAALAAAAAABAAEAAAICRAEAOw==';

export interface PixelRequest {
  /** The `{type}` path segment: identify, track, page, screen, group, alias, or their one-letter forms. */
  readonly type: string;
  readonly query: Readonly<Record<string, string>>;
  /**
   * The HTTP request's id (API Gateway's requestContext.requestId). A pixel that carries no messageId gets
   * `pixel-<requestId>`: every load of an email-open or page pixel is a real event, never a client retry.
   * @default none: the messageId is then derived from the event's content, as for the Segment API, so identical
   * pixel loads collapse into one event
   */
  readonly requestId?: string;
}

/** `error` is for the caller to count: the answer is the GIF either way. */
export interface PixelResult {
  readonly event?: NormalizedEvent;
  readonly writeKey?: string;
  readonly error?: string;
}

/** Flat parameters copied to the event as they are (values stay strings). */
const TOP_LEVEL_FIELDS: ReadonlySet<string> = new Set([
  'writeKey',
  'type',
  'messageId',
  'userId',
  'anonymousId',
  'event',
  'name',
  'groupId',
  'previousId',
  'timestamp',
  'sentAt',
]);
/** Flat parameters `properties.a.b=v` build nested objects under these fields. */
const NESTED_FIELDS: ReadonlySet<string> = new Set(['properties', 'traits', 'context']);
const FORBIDDEN_SEGMENTS: ReadonlySet<string> = new Set(['__proto__', 'constructor', 'prototype', '']);

/**
 * Reads a pixel. The event is either `data` — base64 (standard or URL-safe, padded or not, '+' possibly turned
 * into spaces) or plain JSON — or flat parameters:
 * - `writeKey`, `userId`, `anonymousId`, `messageId`, `event`, `name`, `groupId`, `previousId`, `timestamp`,
 *   `sentAt`, `type` are copied as they are;
 * - `properties.plan=pro`, `traits.address.city=Paris`, `context.campaign.source=news` build nested objects
 *   (dots nest; a key that conflicts with an earlier one is dropped: the first wins); `properties={"a":1}` as
 *   JSON sets the whole object;
 * - values stay strings (no guessing that "007" is a number): send `data` for typed values;
 * - every other parameter is ignored, as unknown top-level fields are in the Segment API.
 * Never throws.
 */
export function parsePixel(request: PixelRequest): PixelResult {
  const type = eventTypeOf(request.type.replace(/\.gif$/i, ''));
  const queryWriteKey = nonEmpty(request.query.writeKey);
  const raw = pixelPayload(request.query);
  if (!raw.ok) return { ...withWriteKey(queryWriteKey), error: raw.error };
  const writeKey = nonEmpty(raw.value.writeKey) ?? queryWriteKey;
  if (type === undefined) {
    return {
      ...withWriteKey(writeKey),
      error: 'Unknown pixel type: use identify, track, page, screen, group or alias.',
    };
  }
  const requestId = nonEmpty(request.requestId);
  const ownId = raw.value.messageId;
  const hasOwnId = ownId !== undefined && ownId !== null && ownId !== '';
  const event =
    hasOwnId || requestId === undefined ? raw.value : { ...raw.value, messageId: `pixel-${requestId}` };
  const outcome = normalizeSegmentEvent({ raw: event, pathType: type, protocol: 'pixel' });
  if (!outcome.ok) return { ...withWriteKey(writeKey), error: outcome.error };
  return { event: outcome.event, ...withWriteKey(writeKey) };
}

function pixelPayload(
  query: Readonly<Record<string, string>>,
): { ok: true; value: JsonObject } | { ok: false; error: string } {
  const data = query.data?.trim();
  if (data === undefined || data === '') return { ok: true, value: fromFlatParameters(query) };
  const text = data.startsWith('{') ? data : decodeBase64Text(data);
  if (text === undefined) return { ok: false, error: 'data is neither base64 nor JSON.' };
  const parsed = parseJsonText(text);
  if (!parsed.ok) return { ok: false, error: 'data does not hold valid JSON.' };
  if (!isJsonObject(parsed.value)) return { ok: false, error: 'data must hold a JSON object.' };
  return { ok: true, value: parsed.value };
}

function fromFlatParameters(query: Readonly<Record<string, string>>): JsonObject {
  const event: JsonObject = {};
  const entries = Object.entries(query);
  for (const [key, value] of entries) {
    if (TOP_LEVEL_FIELDS.has(key)) event[key] = value;
    if (NESTED_FIELDS.has(key)) {
      const parsed = value.trim().startsWith('{') ? parseJsonText(value) : undefined;
      if (parsed?.ok && isJsonObject(parsed.value)) event[key] = parsed.value;
    }
  }
  for (const [key, value] of entries) {
    const [head = '', ...path] = key.split('.');
    if (
      path.length === 0 ||
      !NESTED_FIELDS.has(head) ||
      path.some((segment) => FORBIDDEN_SEGMENTS.has(segment))
    ) {
      continue;
    }
    const existing = event[head];
    const target: JsonObject = isJsonObject(existing) ? existing : {};
    event[head] = target;
    setPath(target, path, value);
  }
  return event;
}

/** Sets `value` at `path`, creating objects on the way; leaves everything alone on a conflict (the first wins). */
function setPath(target: JsonObject, path: readonly string[], value: JsonValue): void {
  const [segment, ...rest] = path;
  if (segment === undefined) return;
  const existing = target[segment];
  if (rest.length === 0) {
    if (existing === undefined) target[segment] = value;
    return;
  }
  if (existing !== undefined && !isJsonObject(existing)) return;
  const child: JsonObject = existing ?? {};
  target[segment] = child;
  setPath(child, rest, value);
}

function nonEmpty(value: JsonValue | undefined): string | undefined {
  return typeof value === 'string' && value.trim() !== '' ? value.trim() : undefined;
}

function withWriteKey(writeKey: string | undefined): { writeKey?: string } {
  return writeKey === undefined ? {} : { writeKey };
}
