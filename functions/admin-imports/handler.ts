// Admin API for small imports: POST /admin/imports runs a CSV or JSON Lines body synchronously and reports per row.
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import * as z from 'zod';
import { shippedEnrichers } from '../enrichment/shipped-enrichers.ts';
import { type AdminImportPorts, importFile } from '../imports/admin-import.ts';
import { NURTURE_VERSION } from '../shared/build-info.ts';
import { readEnvironment } from '../shared/environment.ts';
import { HttpError, httpHandler, json } from '../shared/http.ts';
import { logger } from '../shared/logger.ts';
import { DynamoDbTrackingStore } from '../tracking/dynamodb-store.ts';
import { IngestService } from '../tracking/ingest-service.ts';
import type { Identity } from '../tracking/profile.ts';
import { fileText, formatOf, requestErrorOf, settingsOf } from './request.ts';

/** The source admin imports are filed under: with the messageId, the dedupe key that makes a re-import harmless. */
export const ADMIN_IMPORT_SOURCE_ID = 'admin-import';

const env = readEnvironment({
  PROFILE_TABLE: z.string().min(1),
  EVENT_RETENTION_DAYS: z.coerce.number().int().positive().default(396),
  ANONYMOUS_PROFILE_RETENTION_DAYS: z.coerce.number().int().positive().default(30),
  MERGE_ON_EMAIL: z.enum(['true', 'false']).default('false'),
});

const store = new DynamoDbTrackingStore({
  client: new DynamoDBClient({}),
  tableName: env.PROFILE_TABLE,
  eventRetentionDays: env.EVENT_RETENTION_DAYS,
  anonymousProfileRetentionDays: env.ANONYMOUS_PROFILE_RETENTION_DAYS,
});
// The tracking API's own ingest: identities, merges, exactly-once and enrichment (email only: rows have no IP).
const ingestService = new IngestService(store, {
  mergeOnEmail: env.MERGE_ON_EMAIL === 'true',
  enrichers: shippedEnrichers(),
  onEnrichmentFailures: (failures) => logger.warn('enrichment failed; the row went ahead', { failures }),
});

const ports: AdminImportPorts = {
  async exists(call) {
    const identity: Identity =
      call.userId !== undefined
        ? { kind: 'userId', value: call.userId }
        : { kind: 'anonymousId', value: call.anonymousId ?? '' };
    return (await ingestService.find(identity)) !== undefined;
  },
  ingest: (events, request) => ingestService.ingest(events, request),
};

export const handler = httpHandler(async (event, context) => {
  if (event.routeKey !== 'POST /admin/imports') throw new HttpError(404, `No admin route ${event.routeKey}`);
  try {
    const format = formatOf(event.headers?.['content-type']);
    const settings = settingsOf(event.rawQueryString ?? '');
    const text = fileText({ body: event.body, isBase64Encoded: event.isBase64Encoded });
    const report = await importFile({
      text,
      format,
      settings,
      ports,
      now: new Date(),
      timeLeftMs: () => context.getRemainingTimeInMillis(),
      sourceId: ADMIN_IMPORT_SOURCE_ID,
      libraryVersion: NURTURE_VERSION,
    });
    logger.info('import finished', {
      kind: settings.kind,
      format,
      rows: report.rows,
      created: report.created,
      updated: report.updated,
      unchanged: report.unchanged,
      failed: report.failed,
      notStarted: report.notStarted,
    });
    return json(200, { kind: settings.kind ?? 'contacts', format, ...report });
  } catch (error) {
    const known = requestErrorOf(error);
    if (known !== undefined) throw new HttpError(known.status, known.message);
    throw error;
  }
});
