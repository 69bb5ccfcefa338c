// The tracking API as plain request → response logic: Segment, RudderStack, Snowplow, pixels and the snippet.

import { ENRICHMENT_TRAIT } from '../enrichment/enricher.ts';
import { enrich } from './enrichment/index.ts';
import { decodeBody, headerValue } from './ingest/body.ts';
import { parsePixel, TRANSPARENT_GIF } from './ingest/pixel.ts';
import { type ParsedRequest, parseSegmentRequest } from './ingest/segment.ts';
import { parseSnowplowGet, parseSnowplowPost } from './ingest/snowplow.ts';
import { writeKeyFrom } from './ingest/write-key.ts';
import type { IdentifyContext, IngestRequest, IngestResult } from './ingest-service.ts';
import {
  type EnrichedEvent,
  IMPORT_LIBRARY_NAME,
  type JsonObject,
  type JsonValue,
  type NormalizedEvent,
} from './model.ts';
import { MAX_TRAITS_BYTES } from './profile.ts';
import { renderSnippet } from './snippet/snippet-source.ts';
import type { Admission } from './source-rate-limit.ts';

export interface CollectRequest {
  readonly method: string;
  readonly path: string;
  readonly headers: Readonly<Record<string, string | undefined>>;
  readonly query: Readonly<Record<string, string>>;
  readonly body: string | undefined;
  readonly isBase64Encoded: boolean;
  readonly sourceIp?: string;
  readonly receivedAt: Date;
  /** Distinguishes two loads of the same pixel URL (two opens of one email) when the pixel names no messageId. */
  readonly requestId?: string;
}

export interface CollectResponse {
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly body: string;
  readonly isBase64Encoded?: boolean;
}

/** What collect needs from the rest of the system. */
export interface CollectPorts {
  /** The source a write key authenticates, or undefined. */
  sourceForWriteKey(writeKey: string): Promise<string | undefined>;
  ingest(events: readonly EnrichedEvent[], request: IngestRequest): Promise<IngestResult>;
  /** Counts requests or events that were refused (unknown key, invalid pixel, over the rate limit), for operators. */
  countRejected(counts: { sourceId: string; rejected: number; rateLimited?: number }): Promise<void>;
  /** Takes `events` from the source's rate limit; absent: no source is limited. */
  admit?(request: { sourceId: string; events: number }): Promise<Admission>;
}

export interface CollectOptions {
  /** Site host, so referrers from the site's own subdomains count as internal. */
  readonly siteHost?: string;
}

/** Thrown by ports when storage is throttled: the client should retry later. */
export class BackPressureError extends Error {
  override name = 'BackPressureError';
}

/** A host as it may stand in a URL: a name or IPv4 address, or a bracketed IPv6 address, and an optional port. */
const HOST = /^(?:[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?|\[[0-9A-Fa-f:.]{2,45}\])(?::\d{1,5})?$/;

const JSON_HEADERS = { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' };

function json(status: number, body: unknown, headers: Record<string, string> = {}): CollectResponse {
  return { status, headers: { ...JSON_HEADERS, ...headers }, body: JSON.stringify(body) };
}

function gif(): CollectResponse {
  return {
    status: 200,
    headers: { 'content-type': 'image/gif', 'cache-control': 'no-store, max-age=0' },
    body: TRANSPARENT_GIF,
    isBase64Encoded: true,
  };
}

const SEGMENT_ENDPOINTS: ReadonlySet<string> = new Set([
  'batch',
  'b',
  'identify',
  'i',
  'track',
  't',
  'page',
  'p',
  'screen',
  's',
  'group',
  'g',
  'alias',
  'a',
]);

/** Snowplow events carry the app id (their write key) under context.snowplow.appId: drop it before storage. */
function withoutAppId(context: JsonObject): JsonObject {
  const snowplow = context.snowplow;
  if (
    typeof snowplow !== 'object' ||
    snowplow === null ||
    Array.isArray(snowplow) ||
    !('appId' in snowplow)
  ) {
    return context;
  }
  const { appId: _appId, ...rest } = snowplow;
  return { ...context, snowplow: rest };
}

/** A stable per-request classification of an endpoint; unknown paths are 404 like any API. */
type Endpoint = 'segment' | 'metrics' | 'pixel' | 'snowplow-post' | 'snowplow-get' | 'snippet' | 'unknown';

export function endpointOf(method: string, path: string): Endpoint {
  if (method === 'GET' && path === '/v1/snippet.js') return 'snippet';
  if (method === 'GET' && /^\/v1\/pixel\/[^/]+$/.test(path)) return 'pixel';
  if (method === 'GET' && path === '/i') return 'snowplow-get';
  if (method === 'POST' && path === '/com.snowplowanalytics.snowplow/tp2') return 'snowplow-post';
  if (method === 'POST' && path === '/v1/m') return 'metrics';
  if (method === 'POST' && path.startsWith('/v1/') && SEGMENT_ENDPOINTS.has(path.slice(4))) return 'segment';
  return 'unknown';
}

/** A source of the request is over its rate limit: nothing of the request was stored. */
interface RateLimited {
  readonly rateLimited: {
    readonly sourceId: string;
    readonly events: number;
    readonly retryAfterSeconds: number;
  };
}

interface Outcome {
  readonly accepted: number;
  readonly duplicates: number;
  readonly rejected: number;
  readonly errors: ReadonlyArray<{ index: number; error: string }>;
  /** Events accepted with something left out; only present when there are any. */
  readonly warnings?: ReadonlyArray<{ index: number; warning: string }>;
}

export const RESERVED_ENRICHMENT_WARNING =
  'traits.enrichment is reserved for enrichment (docs/enrichment.md) and was ignored';

/** The event was stored, but the profile's traits are at their size limit (MAX_TRAITS_BYTES): these were not set. */
export function traitsDroppedWarning(traits: readonly string[]): string {
  const names =
    traits.slice(0, 10).join(', ') + (traits.length > 10 ? `, and ${traits.length - 10} more` : '');
  return `traits not stored, the profile's traits are at their ${MAX_TRAITS_BYTES / 1024} KB limit: ${names}`;
}

function isObject(value: JsonValue | undefined): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Traits without the reserved `enrichment` key, and whether it was there. */
function withoutEnrichment(traits: JsonObject): { traits: JsonObject; stripped: boolean } {
  if (!Object.hasOwn(traits, ENRICHMENT_TRAIT)) return { traits, stripped: false };
  const { [ENRICHMENT_TRAIT]: _forged, ...rest } = traits;
  return { traits: rest, stripped: true };
}

/**
 * Drops a client-supplied `traits.enrichment` (and `context.traits.enrichment`) before storage: only enrichers
 * write it, so nobody can forge its provenance. The event itself is accepted.
 */
function withoutClientEnrichment(event: NormalizedEvent): { event: NormalizedEvent; stripped: boolean } {
  const own = withoutEnrichment(event.traits);
  const contextTraits = event.context.traits;
  const inContext = isObject(contextTraits) ? withoutEnrichment(contextTraits) : undefined;
  if (!own.stripped && !inContext?.stripped) return { event, stripped: false };
  return {
    event: {
      ...event,
      traits: own.traits,
      ...(inContext?.stripped ? { context: { ...event.context, traits: inContext.traits } } : {}),
    },
    stripped: true,
  };
}

/**
 * What enrichment may use of an identify that is not stored: the untruncated client IP (the event's `context.ip`,
 * else the connection). Import rows get none: the importing machine's address says nothing about the contact.
 */
function identifyContext(event: NormalizedEvent, sourceIp: string | undefined): IdentifyContext {
  const library = event.context.library;
  if (isObject(library) && library.name === IMPORT_LIBRARY_NAME) return { trigger: 'import' };
  const fromContext = event.context.ip;
  const ip = (typeof fromContext === 'string' && fromContext.trim() !== '' ? fromContext : sourceIp)
    ?.split(',')[0]
    ?.trim();
  return { trigger: 'identify', ...(ip ? { ip } : {}) };
}

export class Collector {
  constructor(
    private readonly ports: CollectPorts,
    private readonly options: CollectOptions = {},
  ) {}

  async handle(request: CollectRequest): Promise<CollectResponse> {
    const endpoint = endpointOf(request.method, request.path);
    try {
      switch (endpoint) {
        case 'snippet':
          return this.snippet(request);
        case 'metrics':
          // analytics.js telemetry: accepted and discarded, so browsers do not log errors.
          return json(200, { success: true });
        case 'pixel':
          return await this.pixel(request);
        case 'snowplow-get':
          return await this.snowplowGet(request);
        case 'snowplow-post':
        case 'segment':
          return await this.post(request, endpoint);
        default:
          return json(404, { error: `No tracking endpoint ${request.method} ${request.path}` });
      }
    } catch (error) {
      if (error instanceof BackPressureError) {
        if (endpoint === 'pixel' || endpoint === 'snowplow-get') return gif();
        return json(503, { error: 'Storage is busy; retry later' }, { 'retry-after': '2' });
      }
      throw error;
    }
  }

  private snippet(request: CollectRequest): CollectResponse {
    // Proxy headers come from the client unless a proxy overwrites them: only a well-formed host and scheme is used.
    const host =
      [headerValue(request.headers, 'x-forwarded-host'), headerValue(request.headers, 'host')]
        .map((value) => value?.split(',')[0]?.trim())
        .find((value) => value !== undefined && HOST.test(value)) ?? '';
    const forwardedProto = headerValue(request.headers, 'x-forwarded-proto')?.split(',')[0]?.trim();
    const proto = forwardedProto?.toLowerCase() === 'http' ? 'http' : 'https';
    return {
      status: 200,
      headers: {
        'content-type': 'application/javascript; charset=utf-8',
        'cache-control': 'public, max-age=300',
        // The body depends on these headers: a shared cache must not hand one caller's host to everyone.
        vary: 'host, x-forwarded-host, x-forwarded-proto',
      },
      body: renderSnippet({ apiHost: `${proto}://${host}` }),
    };
  }

  private async post(
    request: CollectRequest,
    endpoint: 'segment' | 'snowplow-post',
  ): Promise<CollectResponse> {
    const decoded = decodeBody({
      body: request.body,
      isBase64Encoded: request.isBase64Encoded,
      headers: request.headers,
    });
    if (!decoded.ok) return json(decoded.status, { success: false, error: decoded.error });
    const parsed: ParsedRequest =
      endpoint === 'segment'
        ? parseSegmentRequest({ path: request.path, body: decoded.value })
        : parseSnowplowPost(decoded.value);
    if ('error' in parsed) return json(400, { success: false, error: parsed.error });

    // Basic auth or the body's writeKey covers the whole request; otherwise each event names its own key.
    const requestKey = writeKeyFrom({
      authorization: headerValue(request.headers, 'authorization'),
      body: decoded.value,
    });
    const outcome = await this.ingestVerdicts(parsed, requestKey, request, parsed.batchSentAt);
    if (outcome === 'unauthorized') {
      return json(
        401,
        { success: false, error: 'Unknown or revoked write key' },
        { 'www-authenticate': 'Basic realm="nurture"' },
      );
    }
    if ('rateLimited' in outcome) {
      const retryAfter = outcome.rateLimited.retryAfterSeconds;
      return json(
        429,
        { success: false, error: `This source is over its rate limit; retry after ${retryAfter} s` },
        { 'retry-after': String(retryAfter) },
      );
    }
    const status = outcome.accepted + outcome.duplicates === 0 && outcome.rejected > 0 ? 400 : 200;
    return json(status, { success: status === 200, ...outcome });
  }

  private async pixel(request: CollectRequest): Promise<CollectResponse> {
    const type = request.path.split('/').pop() ?? '';
    const result = parsePixel({
      type,
      query: request.query,
      ...(request.requestId ? { requestId: request.requestId } : {}),
    });
    if (!result.event) {
      await this.ports.countRejected({ sourceId: 'unknown', rejected: 1 });
      return gif();
    }
    const parsed: ParsedRequest = { events: [{ ok: true, index: 0, event: result.event }] };
    const outcome = await this.ingestVerdicts(parsed, result.writeKey, request, undefined);
    if (outcome === 'unauthorized') await this.ports.countRejected({ sourceId: 'unknown', rejected: 1 });
    else if ('rateLimited' in outcome) await this.countRateLimited(outcome);
    return gif();
  }

  private async snowplowGet(request: CollectRequest): Promise<CollectResponse> {
    const parsed = parseSnowplowGet(request.query);
    if ('error' in parsed) {
      await this.ports.countRejected({ sourceId: 'unknown', rejected: 1 });
      return gif();
    }
    const outcome = await this.ingestVerdicts(parsed, undefined, request, undefined);
    if (outcome !== 'unauthorized' && 'rateLimited' in outcome) {
      await this.countRateLimited(outcome);
      return gif();
    }
    const rejected = outcome === 'unauthorized' ? 1 : outcome.rejected;
    if (rejected > 0) await this.ports.countRejected({ sourceId: 'unknown', rejected });
    return gif();
  }

  /** A pixel cannot retry: what the rate limit dropped is counted on the source, so operators see the loss. */
  private async countRateLimited({ rateLimited }: RateLimited): Promise<void> {
    await this.ports.countRejected({
      sourceId: rateLimited.sourceId,
      rejected: 0,
      rateLimited: rateLimited.events,
    });
  }

  /** Authenticates, enriches and ingests the valid events of a request, per source. */
  private async ingestVerdicts(
    parsed: Exclude<ParsedRequest, { error: string }>,
    requestKey: string | undefined,
    request: CollectRequest,
    batchSentAt: string | undefined,
  ): Promise<Outcome | RateLimited | 'unauthorized'> {
    const errors: Array<{ index: number; error: string }> = [];
    const warnings: Array<{ index: number; warning: string }> = [];
    const bySource = new Map<string, EnrichedEvent[]>();
    const identifies = new Map<string, IdentifyContext>();
    const sourceOf = new Map<string, string | undefined>();
    const lookup = async (key: string | undefined) => {
      if (key === undefined) return undefined;
      if (!sourceOf.has(key)) sourceOf.set(key, await this.ports.sourceForWriteKey(key));
      return sourceOf.get(key);
    };
    const requestSource = await lookup(requestKey);
    if (requestKey !== undefined && requestSource === undefined) return 'unauthorized';

    let authenticated = requestSource !== undefined;
    for (const verdict of parsed.events) {
      if (!verdict.ok) {
        errors.push({ index: verdict.index, error: verdict.error });
        continue;
      }
      const sourceId = requestSource ?? (await lookup(verdict.event.writeKey));
      if (sourceId === undefined) {
        errors.push({ index: verdict.index, error: 'unknown or missing write key' });
        continue;
      }
      authenticated = true;
      const { event, stripped } = withoutClientEnrichment(verdict.event);
      if (stripped) warnings.push({ index: verdict.index, warning: RESERVED_ENRICHMENT_WARNING });
      if (event.type === 'identify') {
        identifies.set(event.messageId, identifyContext(event, request.sourceIp));
      }
      const list = bySource.get(sourceId) ?? [];
      list.push(this.enriched(event, sourceId, request, batchSentAt));
      bySource.set(sourceId, list);
    }
    if (!authenticated && parsed.events.some((v) => v.ok)) return 'unauthorized';

    // All or nothing: a refused request is retried whole (429), so no part of it is stored now.
    for (const [sourceId, events] of bySource) {
      const admission = (await this.ports.admit?.({ sourceId, events: events.length })) ?? { admitted: true };
      if (!admission.admitted) {
        return {
          rateLimited: { sourceId, events: events.length, retryAfterSeconds: admission.retryAfterSeconds },
        };
      }
    }

    let accepted = 0;
    let duplicates = 0;
    const dropped = new Map<string, readonly string[]>();
    for (const events of bySource.values()) {
      // The identify contexts (with client IPs) go along in memory only; the events stored carry the truncated IP.
      const result = await this.ports.ingest(events, { identifies });
      accepted += result.accepted + result.bots + result.consentWithheld;
      duplicates += result.duplicates;
      for (const { messageId, traits } of result.droppedTraits ?? []) dropped.set(messageId, traits);
    }
    // The event was stored; only these traits were not: the client hears which, as nothing is dropped silently.
    for (const verdict of parsed.events) {
      const traits = verdict.ok ? dropped.get(verdict.event.messageId) : undefined;
      if (traits !== undefined)
        warnings.push({ index: verdict.index, warning: traitsDroppedWarning(traits) });
    }
    warnings.sort((a, b) => a.index - b.index);
    return {
      accepted,
      duplicates,
      rejected: errors.length,
      errors,
      ...(warnings.length > 0 ? { warnings } : {}),
    };
  }

  private enriched(
    event: NormalizedEvent,
    sourceId: string,
    request: CollectRequest,
    batchSentAt?: string,
  ): EnrichedEvent {
    // The write key is a credential: it is never stored with the event (Snowplow's app id is its write key).
    const { writeKey: _writeKey, ...withoutKey } = event;
    const rest = { ...withoutKey, context: withoutAppId(withoutKey.context) };
    const sentAt = event.sentAt ?? batchSentAt;
    const withSentAt = sentAt === undefined ? rest : { ...rest, sentAt };
    const userAgent = headerValue(request.headers, 'user-agent');
    return {
      ...withSentAt,
      sourceId,
      enrichment: enrich(withSentAt, {
        receivedAt: request.receivedAt,
        ...(request.sourceIp ? { sourceIp: request.sourceIp } : {}),
        ...(userAgent ? { userAgentHeader: userAgent } : {}),
        ...(this.options.siteHost ? { siteHost: this.options.siteHost } : {}),
      }),
    };
  }
}
