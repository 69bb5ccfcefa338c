// Score function: consumes tracking and messaging events from the scoring queue and scores the profiles they name.
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { SQSClient } from '@aws-sdk/client-sqs';
import type { SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import * as z from 'zod';
import type { IncomingEvent } from '../journeys/model.ts';
import { TrackingProfileSummaries } from '../scoring/aws-adapters.ts';
import { scoringRecomputeRequested } from '../scoring/domain-events.ts';
import { DynamoDbScoringStore } from '../scoring/dynamodb-store.ts';
import { scoringPublisher } from '../scoring/publisher.ts';
import { type RecomputeRequest, ScoringRecompute } from '../scoring/recompute.ts';
import {
  BusRecomputeRequests,
  DynamoDbRecomputeProgress,
  DynamoDbRecomputeScanner,
  TrackingProfileHistory,
} from '../scoring/recompute-adapters.ts';
import { LeadService } from '../scoring/service.ts';
import { readEnvironment } from '../shared/environment.ts';
import { logger } from '../shared/logger.ts';
import { batchFailures, type KeyedWork, runByKey } from '../shared/sqs-batch.ts';
import { DynamoDbTrackingStore } from '../tracking/dynamodb-store.ts';
import type { JsonObject } from '../tracking/model.ts';

const env = readEnvironment({
  PROFILE_TABLE: z.string().min(1),
  EVENT_BUS_NAME: z.string().min(1),
  WEBHOOK_QUEUE_URL: z.string().min(1),
  /** The webhook endpoint new MQLs are handed to (the CRM). */
  SALES_WEBHOOK_ENDPOINT: z.string().min(1).default('sales'),
  EVENT_RETENTION_DAYS: z.coerce.number().int().positive().default(396),
});

const dynamodb = new DynamoDBClient({});
const tracking = new DynamoDbTrackingStore({
  client: dynamodb,
  tableName: env.PROFILE_TABLE,
  eventRetentionDays: env.EVENT_RETENTION_DAYS,
});
const eventBridge = new EventBridgeClient({});
const scoringStore = new DynamoDbScoringStore({ client: dynamodb, tableName: env.PROFILE_TABLE });
const leadDeps = {
  publisher: scoringPublisher({
    dynamodb,
    eventBridge,
    sqs: new SQSClient({ useQueueUrlAsEndpoint: false }),
    tableName: env.PROFILE_TABLE,
    busName: env.EVENT_BUS_NAME,
    webhookQueueUrl: env.WEBHOOK_QUEUE_URL,
    salesEndpointId: env.SALES_WEBHOOK_ENDPOINT,
    log: (message: string, fields: Record<string, unknown>) => logger.warn(message, fields),
  }),
  profiles: new TrackingProfileSummaries(tracking),
  now: () => new Date(),
};
const leads = new LeadService({ ...leadDeps, store: scoringStore });
/** Rules changes: pages of profiles rescored under the new version (docs/scoring.md "Changing rules"). */
const recompute = new ScoringRecompute({
  store: scoringStore,
  progress: new DynamoDbRecomputeProgress(dynamodb, env.PROFILE_TABLE),
  scanner: new DynamoDbRecomputeScanner(dynamodb, env.PROFILE_TABLE),
  history: new TrackingProfileHistory(tracking),
  requests: new BusRecomputeRequests(eventBridge, env.EVENT_BUS_NAME),
  leads: leadDeps,
  now: () => new Date(),
  log: (message, fields) => logger.error(message, fields),
});

/** The EventBridge envelope a rule puts on the queue. */
const envelopeSchema = z.object({
  id: z.string(),
  source: z.string(),
  'detail-type': z.string(),
  time: z.string(),
  detail: z.record(z.string(), z.json()),
});

interface Input {
  readonly profileId: string;
  readonly event: IncomingEvent;
  /** Identify calls and new identifiers may change traits: only those re-evaluate the fit rules. */
  readonly readsTraits: boolean;
}

type Parsed =
  | { kind: 'input'; input: Input }
  | { kind: 'recompute'; request: RecomputeRequest }
  | { kind: 'skip' }
  | { kind: 'malformed' };

function parse(record: SQSRecord): Parsed {
  let body: unknown;
  try {
    body = JSON.parse(record.body);
  } catch {
    return { kind: 'malformed' };
  }
  const envelope = envelopeSchema.safeParse(body);
  if (!envelope.success) return { kind: 'malformed' };
  const { detail, id, source, time } = envelope.data;
  const detailType = envelope.data['detail-type'];
  if (detailType === scoringRecomputeRequested.detailType) {
    const request = scoringRecomputeRequested.detail.safeParse(detail);
    return request.success ? { kind: 'recompute', request: request.data } : { kind: 'malformed' };
  }
  const profileId = detail.profileId;
  // Events about no one in particular (a send to a raw address) have no lead to score.
  if (typeof profileId !== 'string' || profileId === '') return { kind: 'skip' };
  const tracked = detailType === 'event.tracked';
  return {
    kind: 'input',
    input: {
      profileId,
      event: {
        source,
        'detail-type': detailType,
        detail,
        dedupeKey: typeof detail.dedupeKey === 'string' ? detail.dedupeKey : id,
        // Decay counts from when the person acted; the envelope's time is when the event reached the bus.
        time: tracked && typeof detail.eventTime === 'string' ? detail.eventTime : time,
      },
      readsTraits: (tracked && detail.type === 'identify') || detailType === 'profile.identified',
    },
  };
}

async function score(input: Input): Promise<void> {
  const traits: JsonObject | undefined = input.readsTraits
    ? (await tracking.getTraits(input.profileId)).value.traits
    : undefined;
  await leads.onEvent({
    profileId: input.profileId,
    event: input.event,
    ...(traits === undefined ? {} : { traits }),
  });
}

export async function handler(event: SQSEvent): Promise<SQSBatchResponse> {
  const malformed: string[] = [];
  const inputs: KeyedWork<Input>[] = [];
  const pages: KeyedWork<RecomputeRequest>[] = [];
  for (const record of event.Records) {
    const parsed = parse(record);
    if (parsed.kind === 'skip') continue;
    if (parsed.kind === 'recompute') {
      // One key: recompute pages run one after another; each already rescores profiles side by side.
      pages.push({ messageId: record.messageId, key: 'recompute', work: parsed.request });
      continue;
    }
    if (parsed.kind === 'malformed') {
      // Only rules we define write this queue; a body we cannot read goes to the DLQ for inspection.
      logger.error('malformed scoring queue message', { sqsMessageId: record.messageId });
      malformed.push(record.messageId);
      continue;
    }
    inputs.push({ messageId: record.messageId, key: parsed.input.profileId, work: parsed.input });
  }
  const [failedPages, failedInputs] = await Promise.all([
    runByKey({
      items: pages,
      run: async (request) => {
        const outcome = await recompute.onRequest(request);
        logger.info('recompute page handled', {
          rulesVersion: request.version,
          segment: request.segment,
          outcome,
        });
      },
      onError: (error, item) =>
        logger.error('recompute page failed, will be retried', {
          rulesVersion: item.work.version,
          segment: item.work.segment,
          sqsMessageId: item.messageId,
          error: error instanceof Error ? error : String(error),
        }),
    }),
    runByKey({
      items: inputs,
      run: score,
      onError: (error, item) =>
        logger.error('scoring input failed, will be retried', {
          profileId: item.key,
          sqsMessageId: item.messageId,
          error: error instanceof Error ? error : String(error),
        }),
    }),
  ]);
  return batchFailures([...malformed, ...failedPages, ...failedInputs]);
}
