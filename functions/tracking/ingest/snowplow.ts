// Parses Snowplow tracker protocol requests (POST tp2 payload_data batches, GET /i pixels) into normalized events.
import { Buffer } from 'node:buffer';
import * as z from 'zod';
import type { EventType, JsonObject, JsonValue, NormalizedEvent } from '../model.ts';
import { cleanJson, decodeBase64Text, isJsonObject, parseJsonText } from './body.ts';
import { type EventVerdict, MAX_ID_LENGTH, type ParsedRequest, toIsoTime } from './segment.ts';

/**
 * Snowplow trackers batch up to 40 000 bytes per POST by default and send a bigger event alone, base64 inflating
 * contexts by a third: a larger per-event limit than Segment's 32 KiB keeps every event a default tracker sends.
 */
export const SNOWPLOW_MAX_EVENT_BYTES = 64 * 1024;

export interface SnowplowOptions {
  /** @default SNOWPLOW_MAX_EVENT_BYTES, measured on the event's JSON as received */
  readonly maxEventBytes?: number;
}

/**
 * POST /com.snowplowanalytics.snowplow/tp2: `{ schema: "iglu:…/payload_data/…", data: [event, …] }`, every event a
 * flat map of strings. Snowplow clients send no write key: each event's `aid` (app id) serves as one, so a source
 * is created with a write key equal to the app id configured in the tracker.
 */
export function parseSnowplowPost(body: unknown, options: SnowplowOptions = {}): ParsedRequest {
  const cleaned = cleanJson(body);
  if (!cleaned.ok) return { error: cleaned.error };
  const envelope = cleaned.value;
  if (!isJsonObject(envelope) || !Array.isArray(envelope.data)) {
    return {
      error: 'The body must be a Snowplow payload_data envelope: {"schema": "iglu:…", "data": [events]}.',
    };
  }
  if (envelope.data.length === 0)
    return { error: 'The payload_data "data" array is empty: send at least one event.' };
  const verdicts = envelope.data.map((raw, index) =>
    verdict(normalizeSnowplowEvent(raw, options), index, raw),
  );
  return withEnvelope(
    verdicts.map(({ verdict }) => verdict),
    verdicts,
  );
}

/** GET /i: one event, its fields as query parameters. */
export function parseSnowplowGet(
  query: Readonly<Record<string, string>>,
  options: SnowplowOptions = {},
): ParsedRequest {
  const cleaned = cleanJson(query);
  if (!cleaned.ok) return { error: cleaned.error };
  const one = verdict(normalizeSnowplowEvent(cleaned.value, options), 0, cleaned.value);
  return withEnvelope([one.verdict], [one]);
}

type Outcome = { ok: true; event: NormalizedEvent } | { ok: false; error: string };
type Fields = ReadonlyMap<string, string>;

/** Tracker protocol values are strings; other trackers sometimes send numbers or booleans, which are read as text. */
const rawEventSchema = z.record(z.string(), z.union([z.string(), z.number(), z.boolean(), z.null()]), {
  error: 'every field must be a string',
});

const selfDescribing = z.object({ schema: z.string(), data: z.json() });
const contextsEnvelope = z.object({ schema: z.string(), data: z.array(selfDescribing) });
const unstructEnvelope = z.object({ schema: z.string(), data: z.json() });

const IGLU_URI = /^iglu:[^/]+\/([^/]+)\/[^/]+\/\d+-\d+-\d+$/;

function normalizeSnowplowEvent(raw: JsonValue, options: SnowplowOptions): Outcome {
  if (!isJsonObject(raw))
    return { ok: false, error: 'The event must be a JSON object of tracker protocol fields.' };
  const size = Buffer.byteLength(JSON.stringify(raw), 'utf8');
  const maxEventBytes = options.maxEventBytes ?? SNOWPLOW_MAX_EVENT_BYTES;
  if (size > maxEventBytes) {
    return { ok: false, error: `The event is ${size} bytes of JSON; the limit is ${maxEventBytes} bytes.` };
  }
  const parsed = rawEventSchema.safeParse(raw);
  if (!parsed.success) {
    const field = parsed.error.issues[0]?.path.join('.');
    return {
      ok: false,
      error: `${field === undefined || field === '' ? 'a field' : field} must be a string.`,
    };
  }
  const fields: Fields = new Map(
    Object.entries(parsed.data).flatMap(
      ([key, value]): Array<[string, string]> =>
        value === null || value === '' ? [] : [[key, String(value)]],
    ),
  );

  const messageId = fields.get('eid');
  if (messageId === undefined) return { ok: false, error: 'eid (the event id) is required.' };
  const userId = fields.get('uid');
  const anonymousId = fields.get('duid') ?? fields.get('nuid') ?? fields.get('sid');
  if (userId === undefined && anonymousId === undefined) {
    return { ok: false, error: 'uid, duid, nuid or sid is required to know whose event this is.' };
  }
  for (const [name, value] of [
    ['eid', messageId],
    ['uid', userId],
    ['duid/nuid/sid', anonymousId],
  ] as const) {
    if (value !== undefined && value.length > MAX_ID_LENGTH) {
      return { ok: false, error: `${name} must be at most ${MAX_ID_LENGTH} characters.` };
    }
  }

  const deviceTime = fields.get('dtm') ?? fields.get('ttm');
  const clientTimestamp = deviceTime === undefined ? undefined : toIsoTime(deviceTime);
  if (deviceTime !== undefined && clientTimestamp === undefined) {
    return { ok: false, error: 'dtm/ttm must be epoch milliseconds.' };
  }
  const sentTime = fields.get('stm');
  // Like Segment's sentAt, stm only corrects clock skew: an unreadable one is ignored rather than costing the event.
  const sentAt = sentTime === undefined ? undefined : toIsoTime(sentTime);

  const entities = decodedJson(fields, 'cx', 'co');
  if (!entities.ok) return entities;
  const contexts = entities.value === undefined ? undefined : contextsEnvelope.safeParse(entities.value);
  if (contexts !== undefined && !contexts.success) {
    return {
      ok: false,
      error: 'cx/co must be a contexts envelope: {"schema": "iglu:…", "data": [entities]}.',
    };
  }

  const specific = eventSpecifics(fields);
  if (!specific.ok) return specific;

  const page = compact({ url: fields.get('url'), referrer: fields.get('refr'), title: fields.get('page') });
  const screen = screenSize(fields.get('res'));
  const sessionIndex = numberOf(fields.get('vid'));
  const snowplow = compactJson({
    appId: fields.get('aid'),
    platform: fields.get('p'),
    namespace: fields.get('tna'),
    trackerVersion: fields.get('tv'),
    domainUserId: fields.get('duid'),
    networkUserId: fields.get('nuid'),
    sessionId: fields.get('sid'),
    sessionIndex: sessionIndex.ok ? sessionIndex.value : undefined,
    eventSchema: specific.schema,
    entities: contexts?.data.data,
  });
  const context: JsonObject = compactJson({
    page: Object.keys(page).length === 0 ? undefined : page,
    userAgent: fields.get('ua'),
    ip: fields.get('ip'),
    locale: fields.get('lang'),
    timezone: fields.get('tz'),
    screen,
    snowplow,
  });

  const writeKey = fields.get('aid');
  const event: NormalizedEvent = {
    type: specific.type,
    protocol: 'snowplow',
    messageId,
    ...(userId === undefined ? {} : { userId }),
    ...(anonymousId === undefined ? {} : { anonymousId }),
    ...(specific.event === undefined ? {} : { event: specific.event }),
    ...(specific.name === undefined ? {} : { name: specific.name }),
    traits: {},
    properties: specific.properties,
    context,
    ...(clientTimestamp === undefined ? {} : { clientTimestamp }),
    ...(sentAt === undefined ? {} : { sentAt }),
    ...(writeKey === undefined ? {} : { writeKey }),
  };
  return { ok: true, event };
}

interface Specifics {
  readonly ok: true;
  readonly type: EventType;
  readonly event?: string;
  readonly name?: string;
  readonly properties: JsonObject;
  /** The self-describing event's Iglu schema (ue only). */
  readonly schema?: string;
}

/** What the `e` field makes of the event: its Segment type, name and properties. */
function eventSpecifics(fields: Fields): Specifics | { ok: false; error: string } {
  const e = fields.get('e');
  const pageProperties = compact({
    url: fields.get('url'),
    referrer: fields.get('refr'),
    title: fields.get('page'),
  });
  switch (e) {
    case 'pv': {
      const title = fields.get('page');
      return {
        ok: true,
        type: 'page',
        ...(title === undefined ? {} : { name: title }),
        properties: pageProperties,
      };
    }
    case 'pp': {
      const offsets = numbers(fields, {
        minXOffset: 'pp_mix',
        maxXOffset: 'pp_max',
        minYOffset: 'pp_miy',
        maxYOffset: 'pp_may',
      });
      if (!offsets.ok) return offsets;
      return {
        ok: true,
        type: 'track',
        event: 'Page Ping',
        properties: { ...pageProperties, ...offsets.value },
      };
    }
    case 'se': {
      const category = fields.get('se_ca');
      const action = fields.get('se_ac');
      if (category === undefined || action === undefined) {
        return {
          ok: false,
          error: 'se_ca (category) and se_ac (action) are required for a structured event.',
        };
      }
      const value = numbers(fields, { value: 'se_va' });
      if (!value.ok) return value;
      const properties = {
        ...compact({ category, action, label: fields.get('se_la'), property: fields.get('se_pr') }),
        ...value.value,
      };
      return { ok: true, type: 'track', event: `${category}:${action}`, properties };
    }
    case 'ue':
      return selfDescribingEvent(fields);
    case 'tr': {
      const orderId = fields.get('tr_id');
      if (orderId === undefined || fields.get('tr_tt') === undefined) {
        return { ok: false, error: 'tr_id (order id) and tr_tt (total) are required for a transaction.' };
      }
      const amounts = numbers(fields, { total: 'tr_tt', revenue: 'tr_tt', tax: 'tr_tx', shipping: 'tr_sh' });
      if (!amounts.ok) return amounts;
      const properties = {
        ...compact({
          order_id: orderId,
          affiliation: fields.get('tr_af'),
          city: fields.get('tr_ci'),
          state: fields.get('tr_st'),
          country: fields.get('tr_co'),
          currency: fields.get('tr_cu'),
        }),
        ...amounts.value,
      };
      return { ok: true, type: 'track', event: 'Order Completed', properties };
    }
    case 'ti': {
      const orderId = fields.get('ti_id');
      const sku = fields.get('ti_sk');
      if (orderId === undefined || sku === undefined || fields.get('ti_pr') === undefined) {
        return {
          ok: false,
          error: 'ti_id (order id), ti_sk (sku) and ti_pr (price) are required for an order item.',
        };
      }
      const amounts = numbers(fields, { price: 'ti_pr', quantity: 'ti_qu' });
      if (!amounts.ok) return amounts;
      const properties = {
        ...compact({
          order_id: orderId,
          sku,
          name: fields.get('ti_nm'),
          category: fields.get('ti_ca'),
          currency: fields.get('ti_cu'),
        }),
        ...amounts.value,
      };
      return { ok: true, type: 'track', event: 'Order Item', properties };
    }
    case undefined:
      return { ok: false, error: 'e (the event type) is required.' };
    default:
      return { ok: false, error: `e=${e.slice(0, 16)} is not supported: send pv, pp, se, ue, tr or ti.` };
  }
}

/** `ue`: an unstruct_event envelope around `{schema: iglu:vendor/name/format/version, data}`; the name is the event. */
function selfDescribingEvent(fields: Fields): Specifics | { ok: false; error: string } {
  const decoded = decodedJson(fields, 'ue_px', 'ue_pr');
  if (!decoded.ok) return decoded;
  if (decoded.value === undefined)
    return { ok: false, error: 'ue_px or ue_pr is required for a self-describing event.' };
  const envelope = unstructEnvelope.safeParse(decoded.value);
  const inner = envelope.success ? selfDescribing.safeParse(envelope.data.data) : undefined;
  if (inner === undefined || !inner.success) {
    return {
      ok: false,
      error: 'ue_px/ue_pr must be {"schema": "iglu:…/unstruct_event/…", "data": {schema, data}}.',
    };
  }
  const name = IGLU_URI.exec(inner.data.schema)?.[1];
  if (name === undefined) {
    return {
      ok: false,
      error: 'The self-describing event schema must be an Iglu URI: iglu:vendor/name/format/1-0-0.',
    };
  }
  const data = inner.data.data;
  if (!isJsonObject(data))
    return { ok: false, error: 'The self-describing event data must be a JSON object.' };
  return { ok: true, type: 'track', event: name, properties: data, schema: inner.data.schema };
}

/** A JSON field sent base64url-encoded (`encoded`, unpadded) or as plain JSON text (`plain`). */
function decodedJson(
  fields: Fields,
  encoded: string,
  plain: string,
): { ok: true; value: JsonValue | undefined } | { ok: false; error: string } {
  const base64 = fields.get(encoded);
  if (base64 !== undefined) {
    const text = decodeBase64Text(base64);
    if (text === undefined) return { ok: false, error: `${encoded} is not valid base64url.` };
    const parsed = parseJsonText(text);
    return parsed.ok ? parsed : { ok: false, error: `${encoded} does not decode to JSON.` };
  }
  const text = fields.get(plain);
  if (text === undefined) return { ok: true, value: undefined };
  const parsed = parseJsonText(text);
  return parsed.ok ? parsed : { ok: false, error: `${plain} is not valid JSON.` };
}

/** Reads numeric fields: absent ones are left out, present non-numbers reject the event (as Snowplow's enrich would). */
function numbers(
  fields: Fields,
  wanted: Readonly<Record<string, string>>,
): { ok: true; value: JsonObject } | { ok: false; error: string } {
  const value: JsonObject = {};
  for (const [property, field] of Object.entries(wanted)) {
    const number = numberOf(fields.get(field));
    if (!number.ok) return { ok: false, error: `${field} must be a number.` };
    if (number.value !== undefined) value[property] = number.value;
  }
  return { ok: true, value };
}

function numberOf(text: string | undefined): { ok: true; value: number | undefined } | { ok: false } {
  if (text === undefined) return { ok: true, value: undefined };
  if (!/^\s*-?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\s*$/.test(text)) return { ok: false };
  const value = Number(text);
  return Number.isFinite(value) ? { ok: true, value } : { ok: false };
}

/** `res` is "1920x1080"; anything else is left out. */
function screenSize(res: string | undefined): JsonObject | undefined {
  const match = /^(\d{1,6})x(\d{1,6})$/.exec(res ?? '');
  return match === null ? undefined : { width: Number(match[1]), height: Number(match[2]) };
}

function compact(values: Readonly<Record<string, string | undefined>>): JsonObject {
  const result: JsonObject = {};
  for (const [key, value] of Object.entries(values)) if (value !== undefined) result[key] = value;
  return result;
}

function compactJson(values: Readonly<Record<string, JsonValue | undefined>>): JsonObject {
  const result: JsonObject = {};
  for (const [key, value] of Object.entries(values)) if (value !== undefined) result[key] = value;
  return result;
}

interface Judged {
  readonly verdict: EventVerdict;
  readonly aid?: string;
  readonly stm?: string;
}

function verdict(outcome: Outcome, index: number, raw: JsonValue): Judged {
  const judged: EventVerdict = outcome.ok
    ? { ok: true, index, event: outcome.event }
    : { ok: false, index, error: outcome.error };
  const aid = isJsonObject(raw) && typeof raw.aid === 'string' && raw.aid !== '' ? raw.aid : undefined;
  const stm = isJsonObject(raw) ? toIsoTime(raw.stm) : undefined;
  return { verdict: judged, ...(aid === undefined ? {} : { aid }), ...(stm === undefined ? {} : { stm }) };
}

/** The request-level write key and sentAt: set only when every event that has one agrees. */
function withEnvelope(events: EventVerdict[], judged: readonly Judged[]): ParsedRequest {
  const batchWriteKey = common(judged.map(({ aid }) => aid));
  const batchSentAt = common(judged.map(({ stm }) => stm));
  return {
    events,
    ...(batchWriteKey === undefined ? {} : { batchWriteKey }),
    ...(batchSentAt === undefined ? {} : { batchSentAt }),
  };
}

function common(values: ReadonlyArray<string | undefined>): string | undefined {
  const distinct = new Set(values.filter((value): value is string => value !== undefined));
  return distinct.size === 1 ? [...distinct][0] : undefined;
}
