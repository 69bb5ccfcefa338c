// Segment function: consumes profile changes, due rechecks and backfill pages from the segments queue, keeps memberships current.
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import type { SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import * as z from 'zod';
import { DynamoDbProfileScanner } from '../journeys/profile-scanner.ts';
import {
  BusBackfillRequests,
  DynamoDbBackfillProgress,
  recheckMessageSchema,
  segmentEvaluationEnvironment,
  segmentServiceFor,
} from '../segments/aws-adapters.ts';
import { SegmentBackfill, type SegmentBackfillRequest } from '../segments/backfill.ts';
import { dependentSegments } from '../segments/definition.ts';
import { segmentBackfillRequested } from '../segments/domain-events.ts';
import { readEnvironment } from '../shared/environment.ts';
import { logger } from '../shared/logger.ts';
import { batchFailures, type KeyedWork, runByKey } from '../shared/sqs-batch.ts';

const env = readEnvironment({
  ...segmentEvaluationEnvironment,
  EVENT_BUS_NAME: z.string().min(1),
  /** How often an instance re-reads segment definitions. */
  SEGMENT_REFRESH_SECONDS: z.coerce.number().int().min(0).default(10),
});

const dynamodb = new DynamoDBClient({});
const { service, store, catalog } = segmentServiceFor({
  client: dynamodb,
  env,
  refreshMs: env.SEGMENT_REFRESH_SECONDS * 1000,
});
const backfill = new SegmentBackfill({
  scanner: new DynamoDbProfileScanner(dynamodb, env.PROFILE_TABLE),
  service,
  latestVersion: async (segmentId) => {
    const live = await catalog.live();
    const known = live.find((segment) => segment.definition.id === segmentId)?.version;
    if (known !== undefined) return known;
    return (await store.getHead(segmentId))?.latestVersion;
  },
  requests: new BusBackfillRequests(new EventBridgeClient({}), env.EVENT_BUS_NAME),
  progress: new DynamoDbBackfillProgress(dynamodb, env.PROFILE_TABLE),
  now: () => new Date(),
});

/** The EventBridge envelope a rule puts on the queue. */
const envelopeSchema = z.object({
  source: z.string(),
  'detail-type': z.string(),
  detail: z.record(z.string(), z.json()),
});

/** What one queue message asks for; each kind names the profile it is about, for ordering. */
type Work =
  | { kind: 'evaluate'; profileId: string }
  /** A segment changed for the profile: only the segments that read it can change in turn. */
  | { kind: 'dependents'; profileId: string; segmentId: string }
  | { kind: 'recheck'; profileId: string; segmentId: string }
  | { kind: 'merge'; profileId: string; from: string }
  | { kind: 'backfill'; profileId: string; request: SegmentBackfillRequest };

type Parsed = { kind: 'work'; work: Work } | { kind: 'skip' } | { kind: 'malformed' };

function parse(record: SQSRecord): Parsed {
  let body: unknown;
  try {
    body = JSON.parse(record.body);
  } catch {
    return { kind: 'malformed' };
  }
  const recheck = recheckMessageSchema.safeParse(body);
  if (recheck.success) return { kind: 'work', work: { kind: 'recheck', ...recheck.data.recheck } };
  const envelope = envelopeSchema.safeParse(body);
  if (!envelope.success) return { kind: 'malformed' };
  const { detail } = envelope.data;
  const detailType = envelope.data['detail-type'];
  if (detailType === segmentBackfillRequested.detailType) {
    const request = segmentBackfillRequested.detail.safeParse(detail);
    if (!request.success) return { kind: 'malformed' };
    // Pages of one backfill run side by side; the key only groups a page with itself.
    return {
      kind: 'work',
      work: { kind: 'backfill', profileId: request.data.dedupeKey, request: request.data },
    };
  }
  if (detailType === 'profile.merged') {
    const { fromProfileId, intoProfileId } = detail;
    if (typeof fromProfileId !== 'string' || typeof intoProfileId !== 'string') return { kind: 'malformed' };
    return { kind: 'work', work: { kind: 'merge', profileId: intoProfileId, from: fromProfileId } };
  }
  const profileId = detail.profileId;
  // Messages to a raw address (no profile) change no one's segments.
  if (typeof profileId !== 'string' || profileId === '') return { kind: 'skip' };
  if (detailType === 'segment.entered' || detailType === 'segment.exited') {
    const segmentId = detail.segmentId;
    if (typeof segmentId !== 'string') return { kind: 'malformed' };
    return { kind: 'work', work: { kind: 'dependents', profileId, segmentId } };
  }
  return { kind: 'work', work: { kind: 'evaluate', profileId } };
}

async function run(work: Work): Promise<void> {
  switch (work.kind) {
    case 'evaluate':
      await service.evaluate({ profileId: work.profileId });
      return;
    case 'recheck':
      await service.evaluate({ profileId: work.profileId, segmentIds: [work.segmentId] });
      return;
    case 'dependents': {
      const definitions = (await catalog.live()).map((segment) => segment.definition);
      const readers = dependentSegments(work.segmentId, definitions);
      // No segment reads this one: nothing to do, and no loop however often memberships change.
      if (readers.length > 0) await service.evaluate({ profileId: work.profileId, segmentIds: readers });
      return;
    }
    case 'merge':
      // The merged-away profile leaves everything; the survivor now has both histories.
      await service.evaluate({ profileId: work.from });
      await service.evaluate({ profileId: work.profileId });
      return;
    case 'backfill': {
      const known = (await catalog.live()).find((s) => s.definition.id === work.request.segmentId);
      if (known === undefined || known.version < work.request.version) catalog.invalidate();
      const { scanned } = await backfill.page(work.request);
      logger.info('segment backfill page evaluated', {
        segmentId: work.request.segmentId,
        version: work.request.version,
        part: work.request.part,
        scanned,
      });
      return;
    }
  }
}

export async function handler(event: SQSEvent): Promise<SQSBatchResponse> {
  const malformed: string[] = [];
  const items: KeyedWork<Work>[] = [];
  for (const record of event.Records) {
    const parsed = parse(record);
    if (parsed.kind === 'skip') continue;
    if (parsed.kind === 'malformed') {
      // Only our rules and sweep write this queue; a body we cannot read goes to the DLQ for inspection.
      logger.error('malformed segments queue message', { sqsMessageId: record.messageId });
      malformed.push(record.messageId);
      continue;
    }
    items.push({ messageId: record.messageId, key: parsed.work.profileId, work: parsed.work });
  }
  const failed = await runByKey({
    items,
    run,
    onError: (error, item) =>
      logger.error('segment input failed, will be retried', {
        profileId: item.key,
        sqsMessageId: item.messageId,
        error: error instanceof Error ? error : String(error),
      }),
  });
  return batchFailures([...malformed, ...failed]);
}
