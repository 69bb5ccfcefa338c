// Admin API for consent per purpose: GET and PUT /admin/profiles/{id}/consent (consent captured by phone, CRM, forms).
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import * as z from 'zod';
import { readEnvironment } from '../shared/environment.ts';
import { HttpError, httpHandler, json } from '../shared/http.ts';
import { logger } from '../shared/logger.ts';
import { parseJsonBody } from '../shared/request.ts';
import { consentPurposesVariable, DEFAULT_PURPOSE_CATEGORIES } from '../tracking/consent.ts';
import { consentUpdateSchema } from '../tracking/consent-contract.ts';
import { ConsentService, ProfileNotFoundError } from '../tracking/consent-service.ts';
import { DynamoDbTrackingStore } from '../tracking/dynamodb-store.ts';
import { IngestService } from '../tracking/ingest-service.ts';

const env = readEnvironment({
  PROFILE_TABLE: z.string().min(1),
  EVENT_RETENTION_DAYS: z.coerce.number().int().positive().default(396),
  CONSENT_PURPOSES: consentPurposesVariable.optional(),
});
const store = new DynamoDbTrackingStore({
  client: new DynamoDBClient({}),
  tableName: env.PROFILE_TABLE,
  eventRetentionDays: env.EVENT_RETENTION_DAYS,
});
const profiles = new IngestService(store);
const consent = new ConsentService({
  store,
  resolveProfile: (id) => profiles.resolveProfile(id),
  purposes: env.CONSENT_PURPOSES ?? DEFAULT_PURPOSE_CATEGORIES,
});

export const handler = httpHandler(async (event) => {
  const profileId = event.pathParameters?.id ?? '';
  logger.appendKeys({ profileId });
  try {
    switch (event.routeKey) {
      case 'GET /admin/profiles/{id}/consent':
        return json(200, await consent.get(profileId));
      case 'PUT /admin/profiles/{id}/consent': {
        const update = parseJsonBody(event, consentUpdateSchema);
        const answer = await consent.update(profileId, update);
        // The purposes only: evidence can name the person (a call reference, a note).
        logger.info('consent recorded by the admin API', {
          source: update.source,
          purposes: answer.purposes,
        });
        return json(200, answer);
      }
      default:
        throw new HttpError(404, `No admin route ${event.routeKey}`);
    }
  } catch (error) {
    if (error instanceof ProfileNotFoundError) throw new HttpError(404, error.message);
    throw error;
  }
});
