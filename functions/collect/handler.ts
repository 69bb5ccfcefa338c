// Tracking API entry point: Segment/RudderStack/Snowplow endpoints, pixels and the browser snippet.
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import * as z from 'zod';
import { shippedEnrichers } from '../enrichment/shipped-enrichers.ts';
import { DynamoDbMessagingStore } from '../messaging/dynamodb-store.ts';
import { EMAIL_LINK_PATHS, EmailEngagement } from '../messaging/engagement.ts';
import { ProfileActivityRecorder } from '../messaging/profile-activity.ts';
import { readEnvironment } from '../shared/environment.ts';
import { logger } from '../shared/logger.ts';
import { loadTokenSigner } from '../shared/signing.ts';
import { BackPressureError, Collector } from '../tracking/collect.ts';
import { consentPurposesVariable, DEFAULT_PURPOSE_CATEGORIES } from '../tracking/consent.ts';
import { DynamoDbTrackingStore } from '../tracking/dynamodb-store.ts';
import { TRANSPARENT_GIF } from '../tracking/ingest/pixel.ts';
import { IngestService } from '../tracking/ingest-service.ts';
import { type RateLimit, SourceRateLimiter } from '../tracking/source-rate-limit.ts';
import { SourceNotFoundError, SourceStore } from '../tracking/source-store.ts';

const env = readEnvironment({
  PROFILE_TABLE: z.string().min(1),
  EVENT_RETENTION_DAYS: z.coerce.number().int().positive().default(396),
  ANONYMOUS_PROFILE_RETENTION_DAYS: z.coerce.number().int().positive().default(30),
  SITE_HOST: z.string().optional(),
  MERGE_ON_EMAIL: z.enum(['true', 'false']).default('false'),
  /** opt-in: nothing is stored about a visitor before their tracking purpose is granted (docs/privacy.md). */
  TRACKING_CONSENT: z.enum(['opt-in', 'opt-out']).default('opt-out'),
  CONSENT_PURPOSES: consentPurposesVariable.optional(),
  /** Set when messaging is deployed: the email open, click and unsubscribe links are served here too. */
  SIGNING_SECRET_ARN: z.string().min(1).optional(),
  MESSAGE_RETENTION_DAYS: z.coerce.number().int().positive().default(396),
  UTM_SOURCE: z.string().min(1).default('nurture'),
  /** The rate limit of sources that set none (events per second per instance); unset: such sources are not limited. */
  SOURCE_RATE_LIMIT: z.coerce.number().positive().optional(),
  SOURCE_RATE_BURST: z.coerce.number().int().positive().optional(),
});

const dynamodb = new DynamoDBClient({});
const store = new DynamoDbTrackingStore({
  client: dynamodb,
  tableName: env.PROFILE_TABLE,
  eventRetentionDays: env.EVENT_RETENTION_DAYS,
  anonymousProfileRetentionDays: env.ANONYMOUS_PROFILE_RETENTION_DAYS,
});
const sources = new SourceStore(dynamodb, env.PROFILE_TABLE);
const ingestService = new IngestService(store, {
  mergeOnEmail: env.MERGE_ON_EMAIL === 'true',
  consent: {
    mode: env.TRACKING_CONSENT,
    trackingCategories: (env.CONSENT_PURPOSES ?? DEFAULT_PURPOSE_CATEGORIES).tracking,
  },
  // The data files ship beside the bundle (dataDirectories) and load on the first identify, not at cold start.
  enrichers: shippedEnrichers(),
  onEnrichmentFailures: (failures) => logger.warn('enrichment failed; the identify went ahead', { failures }),
});

const signingSecretArn = env.SIGNING_SECRET_ARN;
const messagingStore = new DynamoDbMessagingStore({
  client: dynamodb,
  tableName: env.PROFILE_TABLE,
  messageRetentionDays: env.MESSAGE_RETENTION_DAYS,
});
// Email engagement is activity on a message the send policy already allowed; the tracking purpose does not gate it.
const activity = new ProfileActivityRecorder(
  store,
  new IngestService(store, { mergeOnEmail: env.MERGE_ON_EMAIL === 'true' }),
  env.UTM_SOURCE,
);
const engagement =
  signingSecretArn === undefined
    ? undefined
    : new EmailEngagement({
        signer: () => loadTokenSigner(signingSecretArn),
        messages: messagingStore,
        addresses: messagingStore,
        recordActivity: (a) => backPressure(() => activity.record(a)),
        onError: (message, error) => logger.error(message, error instanceof Error ? error : String(error)),
        transparentGif: TRANSPARENT_GIF,
      });

/** Write keys are looked up once a minute per instance; a revoked key stops within that time. */
const KEY_CACHE_MS = 60_000;
const UNKNOWN_KEY_CACHE_MS = 10_000;
const keyCache = new Map<string, { sourceId: string | undefined; until: number }>();

const defaultRateLimit: RateLimit | undefined =
  env.SOURCE_RATE_LIMIT === undefined
    ? undefined
    : {
        eventsPerSecond: env.SOURCE_RATE_LIMIT,
        burst: Math.max(env.SOURCE_RATE_BURST ?? env.SOURCE_RATE_LIMIT, env.SOURCE_RATE_LIMIT),
      };
const rateLimiter = new SourceRateLimiter();
/** A source's own limit is read once a minute per instance, like its keys: a changed limit applies within that time. */
const LIMIT_CACHE_MS = 60_000;
const limitCache = new Map<string, { limit: RateLimit | undefined; until: number }>();

async function rateLimitOf(sourceId: string): Promise<RateLimit | undefined> {
  const cached = limitCache.get(sourceId);
  if (cached && cached.until > Date.now()) return cached.limit;
  let limit: RateLimit | undefined;
  try {
    limit = (await backPressure(() => sources.get(sourceId))).rateLimit ?? defaultRateLimit;
  } catch (error) {
    if (!(error instanceof SourceNotFoundError)) throw error;
    limit = defaultRateLimit;
  }
  if (limitCache.size > 10_000) limitCache.clear();
  limitCache.set(sourceId, { limit, until: Date.now() + LIMIT_CACHE_MS });
  return limit;
}

const THROTTLING = new Set([
  'ProvisionedThroughputExceededException',
  'ThrottlingException',
  'RequestLimitExceeded',
  'LimitExceededException',
]);

async function backPressure<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (error instanceof Error && THROTTLING.has(error.name)) throw new BackPressureError(error.message);
    throw error;
  }
}

const collector = new Collector(
  {
    async sourceForWriteKey(writeKey) {
      const cached = keyCache.get(writeKey);
      if (cached && cached.until > Date.now()) return cached.sourceId;
      const sourceId = await backPressure(() => sources.sourceForWriteKey(writeKey));
      if (keyCache.size > 10_000) keyCache.clear();
      keyCache.set(writeKey, {
        sourceId,
        until: Date.now() + (sourceId ? KEY_CACHE_MS : UNKNOWN_KEY_CACHE_MS),
      });
      return sourceId;
    },
    ingest: (events, request) => backPressure(() => ingestService.ingest(events, request)),
    admit: async ({ sourceId, events }) =>
      rateLimiter.admit({ sourceId, limit: await rateLimitOf(sourceId), events, nowMs: Date.now() }),
    countRejected: ({ sourceId, rejected, rateLimited }) =>
      backPressure(() =>
        store.countUnprofiled({
          sourceId,
          day: new Date().toISOString().slice(0, 10),
          bots: 0,
          consentWithheld: 0,
          rejected,
          rateLimited: rateLimited ?? 0,
        }),
      ),
  },
  env.SITE_HOST ? { siteHost: env.SITE_HOST } : {},
);

export async function handler(event: APIGatewayProxyEventV2): Promise<APIGatewayProxyStructuredResultV2> {
  const query: Record<string, string> = {};
  for (const [key, value] of Object.entries(event.queryStringParameters ?? {}))
    if (value !== undefined) query[key] = value;
  try {
    if (engagement !== undefined && EMAIL_LINK_PATHS.test(event.rawPath)) {
      const response = await engagement.handle({
        method: event.requestContext.http.method,
        path: event.rawPath,
        headers: event.headers ?? {},
        body:
          event.body === undefined
            ? undefined
            : event.isBase64Encoded
              ? Buffer.from(event.body, 'base64').toString('utf8')
              : event.body,
        sourceIp: event.requestContext.http.sourceIp,
        requestId: event.requestContext.requestId,
        receivedAt: new Date(event.requestContext.timeEpoch || Date.now()),
      });
      return {
        statusCode: response.status,
        headers: response.headers,
        body: response.body,
        isBase64Encoded: response.isBase64Encoded ?? false,
      };
    }
    const response = await collector.handle({
      method: event.requestContext.http.method,
      path: event.rawPath,
      headers: event.headers ?? {},
      query,
      body: event.body,
      isBase64Encoded: event.isBase64Encoded,
      sourceIp: event.requestContext.http.sourceIp,
      requestId: event.requestContext.requestId,
      receivedAt: new Date(event.requestContext.timeEpoch || Date.now()),
    });
    return {
      statusCode: response.status,
      headers: response.headers,
      body: response.body,
      isBase64Encoded: response.isBase64Encoded ?? false,
    };
  } catch (error) {
    // Clients retry 5xx: nothing was acknowledged, and replays are deduplicated.
    logger.error('tracking request failed', error instanceof Error ? error : String(error));
    if (EMAIL_LINK_PATHS.test(event.rawPath) && !event.rawPath.startsWith('/e/o/')) {
      // A click or unsubscribe link: the person sees an error page and can try again.
      return {
        statusCode: 503,
        headers: { 'content-type': 'text/plain; charset=utf-8', 'retry-after': '5' },
        body: 'This link is temporarily unavailable. Please try again in a moment.',
      };
    }
    if (event.requestContext.http.method === 'GET' && event.rawPath !== '/v1/snippet.js') {
      // Pixels always answer with the GIF: an <img> cannot retry, and a broken image helps nobody.
      return {
        statusCode: 200,
        headers: { 'content-type': 'image/gif', 'cache-control': 'no-store' },
        body: TRANSPARENT_GIF,
        isBase64Encoded: true,
      };
    }
    return {
      statusCode: 500,
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ success: false, error: 'Internal error; retry' }),
    };
  }
}
