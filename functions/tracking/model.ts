// The tracking domain's shapes: a normalized event from any client (Segment, RudderStack, Snowplow, pixel) and its enrichment.

/** The Segment call types; Snowplow page views become `page`, structured and unstructured events `track`. */
export const EVENT_TYPES = ['identify', 'track', 'page', 'screen', 'group', 'alias'] as const;
export type EventType = (typeof EVENT_TYPES)[number];

/**
 * `context.library.name` of the calls the import CLI and the admin import send: rows of a file, not a visitor's
 * request, so their connection IP says nothing about the contact and enrichment runs as an import.
 */
export const IMPORT_LIBRARY_NAME = 'nurture-import';

/** Which wire format an event arrived in; kept for support and debugging. */
export type EventProtocol = 'segment' | 'snowplow' | 'pixel';

/** A JSON value as parsed from a client, with prototype-polluting keys removed. */
export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };
export type JsonObject = { [key: string]: JsonValue };

/**
 * One event as every client's format is normalized to, before enrichment.
 * Times are ISO 8601 strings in UTC.
 */
export interface NormalizedEvent {
  readonly type: EventType;
  readonly protocol: EventProtocol;
  /** Segment messageId or Snowplow eid: with the source, the dedupe key. */
  readonly messageId: string;
  readonly anonymousId?: string;
  readonly userId?: string;
  /** `track` only. Snowplow structured events become `${se_ca}:${se_ac}`, unstructured ones their schema name. */
  readonly event?: string;
  /** `page`/`screen` name. */
  readonly name?: string;
  /** `group` only. */
  readonly groupId?: string;
  /** `alias` only: the id being merged into `userId`. */
  readonly previousId?: string;
  readonly traits: JsonObject;
  readonly properties: JsonObject;
  /** `context` as sent (page, userAgent, ip, campaign, consent, ...). */
  readonly context: JsonObject;
  /** The client's own event time, as sent (`timestamp`, RudderStack `originalTimestamp`, Snowplow `dtm`). */
  readonly clientTimestamp?: string;
  /** When the client sent the batch (`sentAt`, Snowplow `stm`). */
  readonly sentAt?: string;
  /** Write key found inside the event or its batch (Basic auth takes precedence; see write-key.ts). */
  readonly writeKey?: string;
}

/** Channels as defined in KPIS.md; the first matching rule wins. */
export type Channel =
  | 'paid search'
  | 'paid social'
  | 'display'
  | 'affiliate'
  | 'email'
  | 'organic social'
  | 'organic search'
  | 'referral'
  | 'direct'
  | 'other';

export const DEVICE_TYPES = ['desktop', 'mobile', 'tablet'] as const;
export type DeviceType = (typeof DEVICE_TYPES)[number];

/** Where a visit came from: the touch that first and last touches are made of. */
export interface Touch {
  readonly channel: Channel;
  readonly campaign: string | null;
  /** URL path of the page, without query string. */
  readonly landingPage: string | null;
  /** Referrer URL without query string, or null when there is none. */
  readonly referrer: string | null;
  readonly source: string | null;
  readonly medium: string | null;
}

/** What ingest adds to an event: corrected time, channel, device, bot flag, truncated IP. */
export interface Enrichment {
  /** receivedAt − sentAt + timestamp, per KPIS.md. */
  readonly eventTime: string;
  readonly receivedAt: string;
  readonly touch: Touch;
  readonly device: DeviceType;
  readonly isBot: boolean;
  /** IPv4 with the last octet zeroed, IPv6 truncated to /48; null when absent. */
  readonly ip: string | null;
  readonly browser: string | null;
  readonly os: string | null;
}

export type EnrichedEvent = NormalizedEvent & { readonly enrichment: Enrichment; readonly sourceId: string };
