// Sender: consumes the send queue in batches and sends each message once through SES, at the configured rate.
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SESv2Client } from '@aws-sdk/client-sesv2';
import { ChangeMessageVisibilityCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import * as z from 'zod';
import { DynamoDbJourneyRuns } from '../journeys/run-reader.ts';
import { SesEmailGateway } from '../messaging/aws-adapters.ts';
import { retryDelaySeconds } from '../messaging/backoff.ts';
import { DynamoDbMessagingStore } from '../messaging/dynamodb-store.ts';
import { sendQueueMessageSchema } from '../messaging/enqueue.ts';
import { DEFAULT_CONSENT_POLICY } from '../messaging/policy.ts';
import { perInstanceRate, TokenBucket } from '../messaging/rate-limit.ts';
import { TrackingRecipientReader } from '../messaging/recipients.ts';
import { EmailSender } from '../messaging/sender.ts';
import { MessageRenderer } from '../messaging/templates/render.ts';
import { readEnvironment } from '../shared/environment.ts';
import { logger } from '../shared/logger.ts';
import { loadTokenSigner } from '../shared/signing.ts';
import { DynamoDbTrackingStore } from '../tracking/dynamodb-store.ts';
import { IngestService } from '../tracking/ingest-service.ts';

const csv = z.string().transform((v) =>
  v
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean),
);

const env = readEnvironment({
  PROFILE_TABLE: z.string().min(1),
  SEND_QUEUE_URL: z.string().min(1),
  SIGNING_SECRET_ARN: z.string().min(1),
  SENDER_EMAIL: z.string().min(3),
  CONFIGURATION_SET: z.string().min(1),
  TRACKING_BASE_URL: z.url(),
  SES_SEND_RATE: z.coerce.number().positive(),
  SENDER_MAX_CONCURRENCY: z.coerce.number().int().min(2),
  FREQUENCY_CAP_MAX: z.coerce.number().int().min(0).default(0),
  FREQUENCY_CAP_WINDOW_HOURS: z.coerce.number().positive().default(24),
  CONFIRM_GRACE_SECONDS: z.coerce.number().int().min(1).default(300),
  MESSAGE_RETENTION_DAYS: z.coerce.number().int().positive().default(396),
  EVENT_RETENTION_DAYS: z.coerce.number().int().positive().default(396),
  UTM_SOURCE: z.string().min(1).default('nurture'),
  CONSENT_CATEGORIES: csv.optional(),
  REQUIRE_OPT_IN: z.enum(['true', 'false']).default('false'),
});

const dynamodb = new DynamoDBClient({});
const sqs = new SQSClient({ useQueueUrlAsEndpoint: false });
// One attempt: if SES's answer is lost, the SDK must not send again; the intent record decides instead.
const ses = new SESv2Client({ maxAttempts: 1 });
const store = new DynamoDbMessagingStore({
  client: dynamodb,
  tableName: env.PROFILE_TABLE,
  messageRetentionDays: env.MESSAGE_RETENTION_DAYS,
});
const tracking = new DynamoDbTrackingStore({
  client: dynamodb,
  tableName: env.PROFILE_TABLE,
  eventRetentionDays: env.EVENT_RETENTION_DAYS,
});
const renderer = new MessageRenderer();
const bucket = new TokenBucket({
  ratePerSecond: perInstanceRate({
    accountRate: env.SES_SEND_RATE,
    maxConcurrency: env.SENDER_MAX_CONCURRENCY,
  }),
  burst: 1,
});

const sender = new EmailSender({
  messages: store,
  addresses: store,
  templates: store,
  recipients: new TrackingRecipientReader(tracking, new IngestService(tracking)),
  renderer: {
    render: async (input) =>
      renderer.render({
        ...input,
        trackingBaseUrl: env.TRACKING_BASE_URL,
        signer: await loadTokenSigner(env.SIGNING_SECRET_ARN),
      }),
  },
  email: new SesEmailGateway(ses, { from: env.SENDER_EMAIL, configurationSet: env.CONFIGURATION_SET }),
  rateLimit: () => bucket.acquire(),
  journeys: new DynamoDbJourneyRuns(dynamodb, env.PROFILE_TABLE),
  settings: {
    frequencyCap:
      env.FREQUENCY_CAP_MAX > 0
        ? { max: env.FREQUENCY_CAP_MAX, windowHours: env.FREQUENCY_CAP_WINDOW_HOURS }
        : null,
    consentPolicy: {
      categories: env.CONSENT_CATEGORIES ?? DEFAULT_CONSENT_POLICY.categories,
      requireOptIn: env.REQUIRE_OPT_IN === 'true',
    },
    confirmGraceSeconds: env.CONFIRM_GRACE_SECONDS,
    utmSource: env.UTM_SOURCE,
    track: { opens: true, clicks: true },
  },
});

async function processRecord(record: SQSRecord): Promise<boolean> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(record.body);
  } catch {
    parsed = undefined;
  }
  const body = sendQueueMessageSchema.safeParse(parsed);
  if (!body.success) {
    // Only our own code writes this queue; a malformed body goes to the DLQ for inspection, not into the void.
    logger.error('malformed send queue message', { sqsMessageId: record.messageId });
    return false;
  }
  const { messageId } = body.data;
  const outcome = await sender.process(messageId);
  if (outcome.kind === 'done') {
    logger.info('message processed', { messageId, status: outcome.status });
    return true;
  }
  const receives = Number(record.attributes.ApproximateReceiveCount) || 1;
  const delay = Math.max(
    outcome.delaySeconds,
    outcome.backoff ? retryDelaySeconds({ attempt: receives, baseSeconds: 2, maxSeconds: 300 }) : 0,
  );
  logger.info('message will be retried', { messageId, reason: outcome.reason, delaySeconds: delay });
  await sqs.send(
    new ChangeMessageVisibilityCommand({
      QueueUrl: env.SEND_QUEUE_URL,
      ReceiptHandle: record.receiptHandle,
      VisibilityTimeout: Math.min(delay, 43_200),
    }),
  );
  return false;
}

export async function handler(event: SQSEvent): Promise<SQSBatchResponse> {
  const results = await Promise.allSettled(event.Records.map((record) => processRecord(record)));
  const batchItemFailures: SQSBatchResponse['batchItemFailures'] = [];
  results.forEach((result, index) => {
    const record = event.Records[index];
    if (record === undefined) return;
    if (result.status === 'rejected')
      logger.error(
        'message failed, will be retried',
        result.reason instanceof Error ? result.reason : String(result.reason),
      );
    if (result.status === 'rejected' || !result.value)
      batchItemFailures.push({ itemIdentifier: record.messageId });
  });
  return { batchItemFailures };
}
