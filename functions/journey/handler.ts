// Journey function: consumes domain events and due timers from the journey queue and steps the enrollments.
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { SQSClient } from '@aws-sdk/client-sqs';
import type { SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import * as z from 'zod';
import { BusBackfillPublisher, BusJourneyEvents, JourneyProfileWriter } from '../journeys/aws-adapters.ts';
import { JourneyCatalog } from '../journeys/catalog.ts';
import { timerSchema } from '../journeys/domain-events.ts';
import { DynamoDbJourneyStore } from '../journeys/dynamodb-store.ts';
import { JourneyEffects } from '../journeys/effects.ts';
import { ProfileFactsLoader } from '../journeys/facts-store.ts';
import type { IncomingEvent } from '../journeys/model.ts';
import { DynamoDbProfileScanner } from '../journeys/profile-scanner.ts';
import { JourneyRunner } from '../journeys/runner.ts';
import { DynamoDbSegmentMembers } from '../journeys/segment-members.ts';
import { SqsSendQueue } from '../messaging/aws-adapters.ts';
import { DynamoDbBannerStore } from '../messaging/banners/dynamodb-store.ts';
import { DynamoDbMessagingStore } from '../messaging/dynamodb-store.ts';
import { MessageQueue } from '../messaging/enqueue.ts';
import { DynamoDbWebhookStore } from '../messaging/webhooks/dynamodb-store.ts';
import { WebhookQueue } from '../messaging/webhooks/queue.ts';
import { SqsDeliveryJobSender } from '../messaging/webhooks/sqs-adapters.ts';
import { readEnvironment } from '../shared/environment.ts';
import { logger } from '../shared/logger.ts';
import { batchFailures, type KeyedWork, runByKey } from '../shared/sqs-batch.ts';
import { DynamoDbTrackingStore } from '../tracking/dynamodb-store.ts';
import { IngestService } from '../tracking/ingest-service.ts';

const env = readEnvironment({
  PROFILE_TABLE: z.string().min(1),
  EVENT_BUS_NAME: z.string().min(1),
  SEND_QUEUE_URL: z.string().min(1),
  WEBHOOK_QUEUE_URL: z.string().min(1),
  EVENT_RETENTION_DAYS: z.coerce.number().int().positive().default(396),
  ANONYMOUS_PROFILE_RETENTION_DAYS: z.coerce.number().int().positive().default(30),
  MESSAGE_RETENTION_DAYS: z.coerce.number().int().positive().default(396),
  /** How often an instance re-reads journey heads (status, newest version). */
  JOURNEY_REFRESH_SECONDS: z.coerce.number().int().min(0).default(10),
});

const dynamodb = new DynamoDBClient({});
const sqs = new SQSClient({ useQueueUrlAsEndpoint: false });
const eventBridge = new EventBridgeClient({});
const tracking = new DynamoDbTrackingStore({
  client: dynamodb,
  tableName: env.PROFILE_TABLE,
  eventRetentionDays: env.EVENT_RETENTION_DAYS,
  anonymousProfileRetentionDays: env.ANONYMOUS_PROFILE_RETENTION_DAYS,
});
const store = new DynamoDbJourneyStore({ client: dynamodb, tableName: env.PROFILE_TABLE });
const log = (message: string, fields: Record<string, unknown>) => logger.warn(message, fields);
const runner = new JourneyRunner({
  store,
  catalog: new JourneyCatalog(store, { refreshMs: env.JOURNEY_REFRESH_SECONDS * 1000 }),
  facts: new ProfileFactsLoader({ client: dynamodb, tableName: env.PROFILE_TABLE, tracking }),
  members: new DynamoDbSegmentMembers({ client: dynamodb, tableName: env.PROFILE_TABLE }),
  scanner: new DynamoDbProfileScanner(dynamodb, env.PROFILE_TABLE),
  backfills: new BusBackfillPublisher(eventBridge, env.EVENT_BUS_NAME),
  effects: new JourneyEffects({
    messages: new MessageQueue(
      new DynamoDbMessagingStore({
        client: dynamodb,
        tableName: env.PROFILE_TABLE,
        messageRetentionDays: env.MESSAGE_RETENTION_DAYS,
      }),
      new SqsSendQueue(sqs, env.SEND_QUEUE_URL),
    ),
    banners: new DynamoDbBannerStore({ client: dynamodb, tableName: env.PROFILE_TABLE }),
    webhooks: new WebhookQueue(
      new DynamoDbWebhookStore(dynamodb, env.PROFILE_TABLE),
      new SqsDeliveryJobSender(sqs, env.WEBHOOK_QUEUE_URL),
    ),
    profiles: new JourneyProfileWriter({
      tracking,
      ingest: new IngestService(tracking),
      client: dynamodb,
      tableName: env.PROFILE_TABLE,
    }),
    events: new BusJourneyEvents(eventBridge, env.EVENT_BUS_NAME),
    log,
  }),
  log,
});

/** The EventBridge envelope a rule puts on the queue. */
const envelopeSchema = z.object({
  id: z.string(),
  source: z.string(),
  'detail-type': z.string(),
  time: z.string(),
  detail: z.record(z.string(), z.json()),
});

type Work = { kind: 'timer'; timer: z.infer<typeof timerSchema> } | { kind: 'event'; event: IncomingEvent };

function parse(record: SQSRecord): Work | undefined {
  let body: unknown;
  try {
    body = JSON.parse(record.body);
  } catch {
    return undefined;
  }
  const envelope = envelopeSchema.safeParse(body);
  if (!envelope.success) return undefined;
  const { detail } = envelope.data;
  if (envelope.data['detail-type'] === 'journey.step_due') {
    const timer = timerSchema.safeParse(detail);
    return timer.success ? { kind: 'timer', timer: timer.data } : undefined;
  }
  const dedupeKey = typeof detail.dedupeKey === 'string' ? detail.dedupeKey : envelope.data.id;
  return {
    kind: 'event',
    event: {
      source: envelope.data.source,
      'detail-type': envelope.data['detail-type'],
      detail,
      dedupeKey,
      time: envelope.data.time,
    },
  };
}

function profileOf(work: Work): string {
  if (work.kind === 'timer') return work.timer.profileId;
  const id = work.event.detail.profileId;
  return typeof id === 'string' ? id : '';
}

export async function handler(event: SQSEvent): Promise<SQSBatchResponse> {
  const malformed: string[] = [];
  const items: KeyedWork<Work>[] = [];
  for (const record of event.Records) {
    const work = parse(record);
    if (!work) {
      // Only rules we define write this queue; a body we cannot read goes to the DLQ for inspection.
      logger.error('malformed journey queue message', { sqsMessageId: record.messageId });
      malformed.push(record.messageId);
      continue;
    }
    items.push({ messageId: record.messageId, key: profileOf(work), work });
  }
  const failed = await runByKey({
    items,
    run: (work) => (work.kind === 'timer' ? runner.onTimer(work.timer) : runner.onEvent(work.event)),
    onError: (error, item) =>
      logger.error('journey input failed, will be retried', {
        profileId: item.key,
        sqsMessageId: item.messageId,
        error: error instanceof Error ? error : String(error),
      }),
  });
  return batchFailures([...malformed, ...failed]);
}
