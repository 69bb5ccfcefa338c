// Banner API for sites: GET /v1/content/{placement} answers a visitor's banner; GET /e/b/{token} tracks its click.
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import * as z from 'zod';
import { BANNER_CLICK_SOURCE, bannerActivity } from '../messaging/banners/activity.ts';
import { placementSchema } from '../messaging/banners/banner.ts';
import { contentFor } from '../messaging/banners/content.ts';
import { DynamoDbBannerStore } from '../messaging/banners/dynamodb-store.ts';
import { invalidLinkPage } from '../messaging/pages.ts';
import { InvalidTokenError } from '../messaging/tokens.ts';
import { readEnvironment } from '../shared/environment.ts';
import { HttpError, type HttpEvent, type HttpResult, httpHandler, json } from '../shared/http.ts';
import { logger } from '../shared/logger.ts';
import { loadTokenSigner } from '../shared/signing.ts';
import { consentPurposesVariable, DEFAULT_PURPOSE_CATEGORIES, purposeState } from '../tracking/consent.ts';
import { DynamoDbTrackingStore } from '../tracking/dynamodb-store.ts';
import { headerValue } from '../tracking/ingest/body.ts';
import { writeKeyFrom } from '../tracking/ingest/write-key.ts';
import { IngestService } from '../tracking/ingest-service.ts';
import type { Identity } from '../tracking/profile.ts';
import { SourceStore } from '../tracking/source-store.ts';

const env = readEnvironment({
  PROFILE_TABLE: z.string().min(1),
  SIGNING_SECRET_ARN: z.string().min(1),
  EVENT_RETENTION_DAYS: z.coerce.number().int().positive().default(396),
  ANONYMOUS_PROFILE_RETENTION_DAYS: z.coerce.number().int().positive().default(30),
  TRACKING_BASE_URL: z.url({ protocol: /^https?$/ }).optional(),
  CONSENT_PURPOSES: consentPurposesVariable.optional(),
});
const purposes = env.CONSENT_PURPOSES ?? DEFAULT_PURPOSE_CATEGORIES;

const dynamodb = new DynamoDBClient({});
const tracking = new DynamoDbTrackingStore({
  client: dynamodb,
  tableName: env.PROFILE_TABLE,
  eventRetentionDays: env.EVENT_RETENTION_DAYS,
  anonymousProfileRetentionDays: env.ANONYMOUS_PROFILE_RETENTION_DAYS,
});
const profiles = new IngestService(tracking);
const banners = new DynamoDbBannerStore({ client: dynamodb, tableName: env.PROFILE_TABLE });
const sources = new SourceStore(dynamodb, env.PROFILE_TABLE);

/** Write keys are looked up once a minute per instance, as the tracking API does; a revoked key stops within it. */
const KEY_CACHE_MS = 60_000;
const UNKNOWN_KEY_CACHE_MS = 10_000;
const keyCache = new Map<string, { sourceId: string | undefined; until: number }>();

async function sourceForWriteKey(writeKey: string): Promise<string | undefined> {
  const cached = keyCache.get(writeKey);
  if (cached && cached.until > Date.now()) return cached.sourceId;
  const sourceId = await sources.sourceForWriteKey(writeKey);
  if (keyCache.size > 10_000) keyCache.clear();
  keyCache.set(writeKey, { sourceId, until: Date.now() + (sourceId ? KEY_CACHE_MS : UNKNOWN_KEY_CACHE_MS) });
  return sourceId;
}

const visitorQuery = z
  .object({
    anonymousId: z.string().min(1).max(512).optional(),
    userId: z.string().min(1).max(512).optional(),
  })
  .refine((q) => (q.anonymousId === undefined) !== (q.userId === undefined), {
    message: 'give exactly one of anonymousId or userId',
  });

const NO_CONTENT: HttpResult = { statusCode: 204, headers: { 'cache-control': 'no-store' } };

/** Where banner links point: the configured tracking origin, else where the caller reached this API. */
function apiBaseUrl(event: HttpEvent): string {
  if (env.TRACKING_BASE_URL !== undefined) return env.TRACKING_BASE_URL;
  const host = headerValue(event.headers ?? {}, 'host') ?? event.requestContext.domainName;
  return `${headerValue(event.headers ?? {}, 'x-forwarded-proto') ?? 'https'}://${host}`;
}

function requestFacts(event: HttpEvent) {
  const userAgent = headerValue(event.headers ?? {}, 'user-agent');
  return {
    requestId: event.requestContext.requestId,
    receivedAt: new Date(event.requestContext.timeEpoch || Date.now()),
    sourceIp: event.requestContext.http.sourceIp,
    ...(userAgent ? { userAgent } : {}),
  };
}

async function content(event: HttpEvent): Promise<HttpResult> {
  // Basic auth (server-side callers) or ?writeKey= (browsers: a GET with no custom header needs no preflight).
  const writeKey = writeKeyFrom({
    authorization: headerValue(event.headers ?? {}, 'authorization'),
    query: { writeKey: event.queryStringParameters?.writeKey ?? '' },
  });
  const sourceId = writeKey === undefined ? undefined : await sourceForWriteKey(writeKey);
  if (sourceId === undefined) throw new HttpError(401, 'Unknown, revoked or missing write key');
  const placement = placementSchema.safeParse(event.pathParameters?.placement);
  if (!placement.success) throw new HttpError(400, placement.error.issues.map((i) => i.message).join('; '));
  const query = visitorQuery.safeParse(event.queryStringParameters ?? {});
  if (!query.success) throw new HttpError(400, query.error.issues.map((i) => i.message).join('; '));
  const identity: Extract<Identity, { kind: 'anonymousId' | 'userId' }> =
    query.data.userId !== undefined
      ? { kind: 'userId', value: query.data.userId }
      : { kind: 'anonymousId', value: query.data.anonymousId ?? '' };

  const profileId = await profiles.find(identity);
  if (profileId === undefined) return NO_CONTENT;
  logger.appendKeys({ profileId });
  // Banners are personalization: a refusal, from the site's consent banner or the admin API, stops them at once.
  const { value: profile } = await tracking.getProfile(profileId);
  if (purposeState(profile.consent?.categoryPreferences, purposes.personalization) === 'denied')
    return NO_CONTENT;
  const banner = await banners.get(profileId, placement.data);
  if (banner === undefined) return NO_CONTENT;
  const now = new Date();
  const answer = contentFor(banner, {
    now,
    trackingBaseUrl: apiBaseUrl(event),
    signer: await loadTokenSigner(env.SIGNING_SECRET_ARN),
  });
  if (answer === null) return NO_CONTENT;

  const viewed = await profiles.ingest([
    bannerActivity(
      { kind: 'viewed', bannerId: banner.bannerId, placement: banner.placement },
      { identity, sourceId, ...requestFacts(event) },
    ),
  ]);
  // Only a view stored now counts: a retried request is a duplicate, a bot is kept out of profiles and counts.
  if (viewed.accepted > 0) await banners.count(banner.bannerId, 'impression');
  return json(200, answer);
}

function invalidLink(): HttpResult {
  return {
    statusCode: 400,
    headers: {
      'content-type': 'text/html; charset=utf-8',
      'cache-control': 'no-store',
      'referrer-policy': 'no-referrer',
    },
    body: invalidLinkPage(),
  };
}

async function click(event: HttpEvent): Promise<HttpResult> {
  const signer = await loadTokenSigner(env.SIGNING_SECRET_ARN);
  let token: ReturnType<typeof signer.verify>;
  try {
    token = signer.verify(event.pathParameters?.token ?? '');
  } catch (error) {
    if (error instanceof InvalidTokenError) {
      logger.info('banner link refused', { reason: error.message });
      return invalidLink();
    }
    throw error;
  }
  if (token.kind !== 'banner-click') return invalidLink();
  logger.appendKeys({ profileId: token.profileId });

  // The click is filed under the profile's own identity: the link carries the profile, not how it was reached.
  const profile = await tracking.getProfile(await profiles.resolveProfile(token.profileId));
  const identity: Extract<Identity, { kind: 'anonymousId' | 'userId' }> | undefined = profile.value.userId
    ? { kind: 'userId', value: profile.value.userId }
    : profile.value.anonymousIds[0] !== undefined
      ? { kind: 'anonymousId', value: profile.value.anonymousIds[0] }
      : undefined;
  if (profile.exists && identity !== undefined) {
    const clicked = await profiles.ingest([
      bannerActivity(
        { kind: 'clicked', bannerId: token.bannerId, url: token.url },
        { identity, sourceId: BANNER_CLICK_SOURCE, ...requestFacts(event) },
      ),
    ]);
    if (clicked.accepted > 0) await banners.count(token.bannerId, 'click');
  } else {
    // Erased or expired since the banner was shown: the visitor still gets where the link promised.
    logger.info('banner clicked by a profile that no longer exists');
  }
  return {
    statusCode: 302,
    headers: { location: token.url, 'cache-control': 'no-store' },
  };
}

export const handler = httpHandler(async (event) => {
  switch (event.routeKey) {
    case 'GET /v1/content/{placement}':
      return content(event);
    case 'GET /e/b/{token}':
      return click(event);
    default:
      throw new HttpError(404, `No route ${event.routeKey}`);
  }
});
