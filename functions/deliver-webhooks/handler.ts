// Webhook deliverer: consumes the webhook queue, POSTs each delivery concurrently, reports the ones to try again.
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SQSClient } from '@aws-sdk/client-sqs';
import type { SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import * as z from 'zod';
import { WebhookDeliverer } from '../messaging/webhooks/deliver.ts';
import { DynamoDbWebhookStore } from '../messaging/webhooks/dynamodb-store.ts';
import { postWebhook } from '../messaging/webhooks/http-post.ts';
import { deliveryJobSchema } from '../messaging/webhooks/model.ts';
import { SqsRetryTimer } from '../messaging/webhooks/sqs-adapters.ts';
import { NURTURE_VERSION } from '../shared/build-info.ts';
import { readEnvironment } from '../shared/environment.ts';
import { logger } from '../shared/logger.ts';

const env = readEnvironment({
  PROFILE_TABLE: z.string().min(1),
  WEBHOOK_QUEUE_URL: z.string().min(1),
  WEBHOOK_TIMEOUT_SECONDS: z.coerce.number().positive().max(60).default(10),
  WEBHOOK_MAX_ATTEMPTS: z.coerce.number().int().min(1).max(1000),
  WEBHOOK_RETRY_BASE_SECONDS: z.coerce.number().positive(),
  WEBHOOK_RETRY_MAX_SECONDS: z.coerce.number().int().min(1).max(43_200).default(3600),
  ALLOW_PRIVATE_WEBHOOK_TARGETS: z.enum(['true', 'false']).default('false'),
});

// The queue URL names the queue; requests go to the SDK's endpoint (the regional one, or AWS_ENDPOINT_URL_SQS),
// never to the host inside the URL.
const sqs = new SQSClient({ useQueueUrlAsEndpoint: false });
const deliverer = new WebhookDeliverer({
  store: new DynamoDbWebhookStore(new DynamoDBClient({}), env.PROFILE_TABLE),
  post: postWebhook,
  timer: new SqsRetryTimer(sqs, env.WEBHOOK_QUEUE_URL),
  schedule: {
    maxAttempts: env.WEBHOOK_MAX_ATTEMPTS,
    baseSeconds: env.WEBHOOK_RETRY_BASE_SECONDS,
    maxSeconds: env.WEBHOOK_RETRY_MAX_SECONDS,
  },
  timeoutMs: env.WEBHOOK_TIMEOUT_SECONDS * 1000,
  policy: { allowPrivate: env.ALLOW_PRIVATE_WEBHOOK_TARGETS === 'true' },
  userAgent: `Nurture-Webhooks/${NURTURE_VERSION}`,
});

/** True when the message is done with (delete it); false leaves it for the next attempt or the DLQ. */
async function processRecord(record: SQSRecord): Promise<boolean> {
  let body: unknown;
  try {
    body = JSON.parse(record.body);
  } catch {
    body = undefined;
  }
  const job = deliveryJobSchema.safeParse(body);
  if (!job.success) {
    // Only our own code writes this queue; a malformed body goes to the DLQ for inspection, not into the void.
    logger.error('malformed webhook queue message', { sqsMessageId: record.messageId });
    return false;
  }
  const receiveCount = Number(record.attributes.ApproximateReceiveCount) || 1;
  const report = await deliverer.deliver({ ...job.data, receiveCount, receiptHandle: record.receiptHandle });
  const keys = { endpointId: job.data.endpointId, deliveryId: job.data.deliveryId, attempt: receiveCount };
  switch (report.result) {
    case 'delivered':
      logger.info('webhook delivered', { ...keys, statusCode: report.statusCode });
      break;
    case 'retry':
      logger.info('webhook attempt failed, will retry', {
        ...keys,
        statusCode: report.statusCode,
        delaySeconds: report.delaySeconds,
      });
      break;
    case 'parked':
      logger.warn('webhook parked in the dead-letter queue', {
        ...keys,
        statusCode: report.statusCode,
        reason: report.reason,
      });
      break;
    case 'endpoint-unavailable':
      logger.warn('webhook not sent', { ...keys, reason: report.reason });
      break;
    case 'already-done':
      logger.info('webhook already handled', { ...keys, status: report.status });
      break;
    case 'unknown-delivery':
      logger.warn('webhook delivery record not found, message dropped', keys);
      break;
  }
  return report.ack;
}

export async function handler(event: SQSEvent): Promise<SQSBatchResponse> {
  // Concurrently, so a batch takes as long as its slowest receiver, not the sum of them all.
  const results = await Promise.allSettled(event.Records.map((record) => processRecord(record)));
  const batchItemFailures: SQSBatchResponse['batchItemFailures'] = [];
  results.forEach((result, index) => {
    const record = event.Records[index];
    if (record === undefined) return;
    if (result.status === 'rejected')
      logger.error('webhook message failed, it comes back after the visibility timeout', {
        sqsMessageId: record.messageId,
        error: result.reason instanceof Error ? result.reason.message : String(result.reason),
      });
    if (result.status === 'rejected' || !result.value)
      batchItemFailures.push({ itemIdentifier: record.messageId });
  });
  return { batchItemFailures };
}
