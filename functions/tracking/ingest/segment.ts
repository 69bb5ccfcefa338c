// Parses Segment HTTP tracking API requests (Segment and RudderStack libraries, analytics.js) into normalized events.
import { Buffer } from 'node:buffer';
import { createHash } from 'node:crypto';
import * as z from 'zod';
import {
  EVENT_TYPES,
  type EventProtocol,
  type EventType,
  type JsonObject,
  type JsonValue,
  type NormalizedEvent,
} from '../model.ts';
import { cleanJson, isJsonObject, MAX_EVENT_BYTES } from './body.ts';

/** One event's verdict: normalized, or rejected with a reason the sender can act on. Siblings are unaffected. */
export type EventVerdict =
  | { readonly ok: true; readonly index: number; readonly event: NormalizedEvent }
  | { readonly ok: false; readonly index: number; readonly error: string };

export interface ParsedEvents {
  readonly events: EventVerdict[];
  /** `writeKey` of the request body (the batch, or the single event). */
  readonly batchWriteKey?: string;
  /** `sentAt` of the request body, as ISO 8601. */
  readonly batchSentAt?: string;
}

/** `error` means the whole request can never succeed (answer 400); otherwise each event has its own verdict. */
export type ParsedRequest = ParsedEvents | { readonly error: string };

export interface SegmentRequest {
  /** Request path, e.g. `/v1/batch` or `/v1/t`; a stage prefix or a query string is tolerated. */
  readonly path: string;
  /** The decoded body (see decodeBody). */
  readonly body: unknown;
  /** @default MAX_EVENT_BYTES (32 KiB) */
  readonly maxEventBytes?: number;
}

/** Endpoint name (long or one-letter, as analytics.js uses) → call type. A Map, so `/v1/constructor` finds nothing. */
const ENDPOINTS: ReadonlyMap<string, EventType | 'batch'> = new Map<string, EventType | 'batch'>([
  ['batch', 'batch'],
  ['b', 'batch'],
  ['identify', 'identify'],
  ['i', 'identify'],
  ['track', 'track'],
  ['t', 'track'],
  ['page', 'page'],
  ['p', 'page'],
  ['screen', 'screen'],
  ['s', 'screen'],
  ['group', 'group'],
  ['g', 'group'],
  ['alias', 'alias'],
  ['a', 'alias'],
]);

/** Ids longer than this are refused: they end up in storage keys, which have hard size limits. */
export const MAX_ID_LENGTH = 256;

/**
 * Parses a Segment tracking API request. `/v1/batch` and `/v1/b` carry `{ batch: [...], context?, writeKey?,
 * sentAt? }` (batch-level context applies to every event, the event's own keys winning); the single-event
 * endpoints carry one event whose type comes from the path when the body has none.
 */
export function parseSegmentRequest(request: SegmentRequest): ParsedRequest {
  const endpoint = endpointOf(request.path);
  if (endpoint === undefined) {
    return {
      error: `Unknown tracking endpoint: use /v1/batch or /v1/{identify,track,page,screen,group,alias}.`,
    };
  }
  const cleaned = cleanJson(request.body);
  if (!cleaned.ok) return { error: cleaned.error };
  const body = cleaned.value;
  if (!isJsonObject(body)) return { error: 'The request body must be a JSON object.' };

  const batchWriteKey = nonEmptyString(body.writeKey);
  const batchSentAt = toIsoTime(body.sentAt);
  const envelope = {
    ...(batchWriteKey === undefined ? {} : { batchWriteKey }),
    ...(batchSentAt === undefined ? {} : { batchSentAt }),
  };
  const maxEventBytes = request.maxEventBytes ?? MAX_EVENT_BYTES;

  if (endpoint !== 'batch') {
    const verdict = normalizeSegmentEvent({
      raw: body,
      pathType: endpoint,
      protocol: 'segment',
      batch: { context: {}, writeKey: batchWriteKey, sentAt: batchSentAt },
      maxEventBytes,
    });
    return { events: [withIndex(verdict, 0)], ...envelope };
  }

  const items = body.batch;
  if (!Array.isArray(items)) return { error: 'The body must have a "batch" array of events.' };
  if (items.length === 0) return { error: 'The "batch" array is empty: send at least one event.' };
  const batch = {
    context: isJsonObject(body.context) ? body.context : {},
    writeKey: batchWriteKey,
    sentAt: batchSentAt,
  };
  const events = items.map((raw, index) =>
    withIndex(normalizeSegmentEvent({ raw, protocol: 'segment', batch, maxEventBytes }), index),
  );
  return { events, ...envelope };
}

export interface SegmentEventInput {
  /** One event, already clean JSON (from decodeBody or cleanJson). */
  readonly raw: JsonValue;
  /** The type the endpoint implies; the event's own `type` may repeat it but not contradict it. */
  readonly pathType?: EventType;
  readonly protocol: EventProtocol;
  readonly batch?: { readonly context: JsonObject; readonly writeKey?: string; readonly sentAt?: string };
  /** @default MAX_EVENT_BYTES */
  readonly maxEventBytes?: number;
}

export type EventOutcome = { ok: true; event: NormalizedEvent } | { ok: false; error: string };

/** Validates and normalizes one Segment-spec event (also used by the pixel, which speaks the same spec). */
export function normalizeSegmentEvent(input: SegmentEventInput): EventOutcome {
  const { raw, pathType, protocol } = input;
  if (!isJsonObject(raw)) return { ok: false, error: 'The event must be a JSON object.' };

  const size = Buffer.byteLength(JSON.stringify(raw), 'utf8');
  const maxEventBytes = input.maxEventBytes ?? MAX_EVENT_BYTES;
  if (size > maxEventBytes) {
    return { ok: false, error: `The event is ${size} bytes of JSON; the limit is ${maxEventBytes} bytes.` };
  }

  const type = resolveType(raw.type, pathType);
  if (!type.ok) return type;

  const parsed = parseByType(type.type, raw);
  if (!parsed.ok) return parsed;
  const fields = parsed.fields;

  const batch = input.batch;
  const context: JsonObject = { ...batch?.context, ...fields.context };
  const traits =
    fields.traits ?? (type.type === 'identify' && isJsonObject(context.traits) ? context.traits : {});
  const clientTimestamp = fields.timestamp ?? fields.originalTimestamp;
  const sentAt = fields.sentAt ?? batch?.sentAt;
  const writeKey = fields.writeKey ?? batch?.writeKey;
  const event: NormalizedEvent = {
    type: type.type,
    protocol,
    messageId: fields.messageId ?? derivedMessageId(raw, type.type),
    ...optional('userId', fields.userId),
    ...optional('anonymousId', fields.anonymousId),
    ...optional('event', fields.event),
    ...optional('name', fields.name),
    ...optional('groupId', fields.groupId),
    ...optional('previousId', fields.previousId),
    traits,
    properties: fields.properties ?? {},
    context,
    ...optional('clientTimestamp', clientTimestamp),
    ...optional('sentAt', sentAt),
    ...optional('writeKey', writeKey),
  };
  return { ok: true, event };
}

/**
 * A stable messageId for clients that send none, so that a retried request still dedupes: a hash of the event's
 * canonical JSON (sorted keys) without the fields a retry may change (`sentAt`, `_metadata`, `writeKey`).
 * Trade-off: two identical events without messageId and without timestamp also collapse into one.
 */
export function derivedMessageId(raw: JsonObject, type: EventType): string {
  const { sentAt: _sentAt, _metadata, writeKey: _writeKey, messageId: _messageId, ...stable } = raw;
  const digest = createHash('sha256')
    .update(canonicalJson({ ...stable, type }))
    .digest('hex');
  return `derived-${digest.slice(0, 32)}`;
}

/** Epoch milliseconds (or seconds, when too small to be milliseconds of a real event) or ISO 8601 → ISO 8601 UTC. */
export function toIsoTime(value: unknown): string | undefined {
  if (typeof value === 'number') return fromEpoch(value);
  if (typeof value !== 'string') return undefined;
  const text = value.trim();
  if (/^-?\d+(\.\d+)?$/.test(text)) return fromEpoch(Number(text));
  const match =
    /^(\d{4})-(\d{2})-(\d{2})(?:[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d+))?)?)?\s*([Zz]|[+-]\d{2}(?::?\d{2})?)?$/.exec(
      text,
    );
  if (match === null) return undefined;
  const [, year, month, day, hour = '0', minute = '0', second = '0', fraction = '', zone = 'Z'] = match;
  const parts = [year, month, day, hour, minute, second].map(Number);
  const [y = 0, mo = 0, d = 0, h = 0, mi = 0, s = 0] = parts;
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 60) return undefined;
  const millis = Number(fraction.padEnd(3, '0').slice(0, 3));
  const utc = Date.UTC(y, mo - 1, d, h, mi, Math.min(s, 59), millis);
  // Date.UTC rolls 31 February over into March: refuse instead.
  if (new Date(Date.UTC(y, mo - 1, d)).getUTCDate() !== d) return undefined;
  const offset = zoneOffsetMinutes(zone);
  if (offset === undefined) return undefined;
  const date = new Date(utc - offset * 60_000);
  return Number.isNaN(date.getTime()) ? undefined : date.toISOString();
}

function fromEpoch(value: number): string | undefined {
  if (!Number.isFinite(value)) return undefined;
  // 1e11 ms is March 1973; 1e11 s is the year 5138: below it a number can only be seconds of a real event.
  const millis = Math.abs(value) < 1e11 ? value * 1000 : value;
  const date = new Date(Math.round(millis));
  return Number.isNaN(date.getTime()) ? undefined : date.toISOString();
}

function zoneOffsetMinutes(zone: string): number | undefined {
  if (zone === 'Z' || zone === 'z') return 0;
  const match = /^([+-])(\d{2}):?(\d{2})?$/.exec(zone);
  if (match === null) return undefined;
  const hours = Number(match[2]);
  const minutes = Number(match[3] ?? '0');
  if (hours > 23 || minutes > 59) return undefined;
  return (match[1] === '-' ? -1 : 1) * (hours * 60 + minutes);
}

/** The call type an endpoint name stands for (`track` or `t`, ...); undefined for `batch` and anything else. */
export function eventTypeOf(name: string): EventType | undefined {
  const type = ENDPOINTS.get(name.toLowerCase());
  return type === 'batch' ? undefined : type;
}

function endpointOf(path: string): EventType | 'batch' | undefined {
  const name = /\/v1\/([A-Za-z]+)\/?$/.exec(path.split('?')[0] ?? '')?.[1];
  return name === undefined ? undefined : ENDPOINTS.get(name.toLowerCase());
}

function resolveType(
  bodyType: JsonValue | undefined,
  pathType: EventType | undefined,
): { ok: true; type: EventType } | { ok: false; error: string } {
  if (bodyType === undefined || bodyType === null) {
    return pathType === undefined
      ? { ok: false, error: 'type is required: one of identify, track, page, screen, group, alias.' }
      : { ok: true, type: pathType };
  }
  const named = typeof bodyType === 'string' ? bodyType.toLowerCase() : undefined;
  const type = EVENT_TYPES.find((candidate) => candidate === named);
  if (type === undefined) {
    return { ok: false, error: 'type must be one of identify, track, page, screen, group, alias.' };
  }
  if (pathType !== undefined && type !== pathType) {
    return { ok: false, error: `type "${type}" contradicts the endpoint, which takes ${pathType} events.` };
  }
  return { ok: true, type };
}

// Schemas. The event was already cleaned into JSON (cleanJson), so a shallow check proves a JsonObject.

const jsonObject = z.custom<JsonObject>(
  (value) => typeof value === 'object' && value !== null && !Array.isArray(value),
  'must be an object',
);
const optionalObject = jsonObject.nullish().transform((value) => value ?? undefined);

/** Ids: strings, or numbers coerced to strings as Segment's own libraries do; null and '' mean absent. */
const optionalId = z
  .union([z.string(), z.number(), z.null()], { error: 'must be a string or a number' })
  .optional()
  .transform((value, ctx) => {
    if (value === undefined || value === null) return undefined;
    const text = typeof value === 'number' ? String(value) : value;
    if (text.length > MAX_ID_LENGTH) {
      ctx.issues.push({
        code: 'custom',
        message: `must be at most ${MAX_ID_LENGTH} characters`,
        input: value,
      });
      return z.NEVER;
    }
    return text === '' ? undefined : text;
  });
const requiredId = optionalId.pipe(z.string({ error: 'is required' }));

const time = z
  .union([z.string(), z.number(), z.null()], { error: 'must be an ISO 8601 date-time or epoch milliseconds' })
  .optional()
  .transform((value, ctx) => {
    if (value === undefined || value === null) return undefined;
    const iso = toIsoTime(value);
    if (iso === undefined) {
      ctx.issues.push({
        code: 'custom',
        message: 'must be an ISO 8601 date-time or epoch milliseconds',
        input: value,
      });
      return z.NEVER;
    }
    return iso;
  });

const optionalName = z
  .string({ error: 'must be a string' })
  .nullish()
  .transform((value) => (value === null || value === '' ? undefined : value));

const baseEvent = z.object({
  messageId: optionalId,
  userId: optionalId,
  anonymousId: optionalId,
  timestamp: time,
  /** RudderStack's name for the client's event time. */
  originalTimestamp: time,
  /** Only corrects clock skew: an unreadable one is ignored rather than costing the event. */
  sentAt: z
    .unknown()
    .optional()
    .transform((value) => toIsoTime(value)),
  context: optionalObject,
  properties: optionalObject,
  traits: optionalObject,
  writeKey: z
    .unknown()
    .optional()
    .transform((value) => nonEmptyString(value)),
});

const identified = (event: { userId?: string | undefined; anonymousId?: string | undefined }): boolean =>
  event.userId !== undefined || event.anonymousId !== undefined;
const identityRule = { error: 'userId or anonymousId is required' };

const identifySchema = baseEvent.refine(identified, identityRule);
const trackSchema = baseEvent
  .extend({
    event: z
      .string({ error: (issue) => (issue.input === undefined ? 'is required' : 'must be a string') })
      .refine((name) => name.trim() !== '', 'must not be empty'),
  })
  .refine(identified, identityRule);
const pageSchema = baseEvent.extend({ name: optionalName }).refine(identified, identityRule);
const groupSchema = baseEvent.extend({ groupId: requiredId }).refine(identified, identityRule);
const aliasSchema = baseEvent.extend({ userId: requiredId, previousId: requiredId });

type BaseFields = z.output<typeof baseEvent>;
interface EventFields extends BaseFields {
  readonly event?: string;
  readonly name?: string | undefined;
  readonly groupId?: string;
  readonly previousId?: string;
}

function parseByType(
  type: EventType,
  raw: JsonObject,
): { ok: true; fields: EventFields } | { ok: false; error: string } {
  switch (type) {
    case 'identify':
      return fieldsOf(identifySchema.safeParse(raw));
    case 'track':
      return fieldsOf(trackSchema.safeParse(raw));
    case 'page':
    case 'screen':
      return fieldsOf(pageSchema.safeParse(raw));
    case 'group':
      return fieldsOf(groupSchema.safeParse(raw));
    case 'alias':
      return fieldsOf(aliasSchema.safeParse(raw));
  }
}

function fieldsOf<T extends EventFields>(
  result: z.ZodSafeParseResult<T>,
): { ok: true; fields: EventFields } | { ok: false; error: string } {
  if (result.success) return { ok: true, fields: result.data };
  const error = result.error.issues
    .map((issue) => (issue.path.length === 0 ? issue.message : `${issue.path.join('.')} ${issue.message}`))
    .join('; ');
  return { ok: false, error };
}

function withIndex(outcome: EventOutcome, index: number): EventVerdict {
  return outcome.ok ? { ok: true, index, event: outcome.event } : { ok: false, index, error: outcome.error };
}

function nonEmptyString(value: unknown): string | undefined {
  return typeof value === 'string' && value.trim() !== '' ? value : undefined;
}

function optional<K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } {
  if (value === undefined) return {};
  const entry: { [P in K]?: V } = {};
  entry[key] = value;
  return entry;
}

/** JSON with object keys sorted at every depth: the same event always hashes the same. */
function canonicalJson(value: JsonValue): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (isJsonObject(value)) {
    const keys = Object.keys(value).sort();
    return `{${keys.map((key) => `${JSON.stringify(key)}:${canonicalJson(value[key] ?? null)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}
