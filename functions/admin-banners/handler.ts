// Admin API for banners: assign one to a profile's placement, list a profile's active banners, withdraw one.
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import * as z from 'zod';
import { assignBannerRequest, bannerFromRequest } from '../messaging/banners/admin.ts';
import { InvalidBannerError, placementSchema } from '../messaging/banners/banner.ts';
import { DynamoDbBannerStore } from '../messaging/banners/dynamodb-store.ts';
import { readEnvironment } from '../shared/environment.ts';
import { HttpError, httpHandler, json } from '../shared/http.ts';
import { logger } from '../shared/logger.ts';
import { parseJsonBody } from '../shared/request.ts';
import { DynamoDbTrackingStore } from '../tracking/dynamodb-store.ts';
import { IngestService } from '../tracking/ingest-service.ts';

const env = readEnvironment({
  PROFILE_TABLE: z.string().min(1),
  EVENT_RETENTION_DAYS: z.coerce.number().int().positive().default(396),
});
const dynamodb = new DynamoDBClient({});
const tracking = new DynamoDbTrackingStore({
  client: dynamodb,
  tableName: env.PROFILE_TABLE,
  eventRetentionDays: env.EVENT_RETENTION_DAYS,
});
const profiles = new IngestService(tracking);
const banners = new DynamoDbBannerStore({ client: dynamodb, tableName: env.PROFILE_TABLE });

/** The live profile for an id: a merged id stands for the profile it was merged into. */
async function liveProfile(id: string | undefined): Promise<string> {
  if (!id) throw new HttpError(404, 'profile does not exist');
  const liveId = await profiles.resolveProfile(id);
  if (!(await tracking.getProfile(liveId)).exists) throw new HttpError(404, `profile ${id} does not exist`);
  logger.appendKeys({ profileId: liveId });
  return liveId;
}

function placementOf(value: string | undefined): string {
  const placement = placementSchema.safeParse(value);
  if (!placement.success) throw new HttpError(400, placement.error.issues.map((i) => i.message).join('; '));
  return placement.data;
}

export const handler = httpHandler(async (event) => {
  switch (event.routeKey) {
    case 'PUT /admin/profiles/{id}/banners/{placement}': {
      const placement = placementOf(event.pathParameters?.placement);
      const request = parseJsonBody(event, assignBannerRequest);
      const profileId = await liveProfile(event.pathParameters?.id);
      let banner: ReturnType<typeof bannerFromRequest>;
      try {
        banner = bannerFromRequest({ profileId, placement, request, now: new Date() });
      } catch (error) {
        if (error instanceof InvalidBannerError) throw new HttpError(400, error.message);
        throw error;
      }
      return json(200, await banners.assign(banner));
    }
    case 'GET /admin/profiles/{id}/banners': {
      const profileId = await liveProfile(event.pathParameters?.id);
      const active = await banners.list(profileId);
      const withStats = await Promise.all(
        active.map(async (banner) => ({ ...banner, ...(await banners.stats(banner.bannerId)) })),
      );
      return json(200, { profileId, banners: withStats });
    }
    case 'DELETE /admin/profiles/{id}/banners/{placement}': {
      const placement = placementOf(event.pathParameters?.placement);
      const profileId = await liveProfile(event.pathParameters?.id);
      await banners.clear(profileId, placement);
      return { statusCode: 204, headers: { 'cache-control': 'no-store' } };
    }
    default:
      throw new HttpError(404, `No admin route ${event.routeKey}`);
  }
});
