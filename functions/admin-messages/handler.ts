// Admin API for messages: queue a send, see a message's status and reason, a profile's messages, suppressions.
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SQSClient } from '@aws-sdk/client-sqs';
import * as z from 'zod';
import { addressHash } from '../messaging/address.ts';
import { SqsSendQueue } from '../messaging/aws-adapters.ts';
import { sendMessageRequest } from '../messaging/contract.ts';
import { DynamoDbMessagingStore } from '../messaging/dynamodb-store.ts';
import { MessageQueue } from '../messaging/enqueue.ts';
import { messageView } from '../messaging/views.ts';
import { readEnvironment } from '../shared/environment.ts';
import { HttpError, httpHandler, json } from '../shared/http.ts';
import { parseJsonBody } from '../shared/request.ts';
import { DynamoDbTrackingStore } from '../tracking/dynamodb-store.ts';
import { normalizeEmail } from '../tracking/profile.ts';

const env = readEnvironment({
  PROFILE_TABLE: z.string().min(1),
  SEND_QUEUE_URL: z.string().min(1),
  MESSAGE_RETENTION_DAYS: z.coerce.number().int().positive().default(396),
});
const dynamodb = new DynamoDBClient({});
const store = new DynamoDbMessagingStore({
  client: dynamodb,
  tableName: env.PROFILE_TABLE,
  messageRetentionDays: env.MESSAGE_RETENTION_DAYS,
});
const profiles = new DynamoDbTrackingStore({
  client: dynamodb,
  tableName: env.PROFILE_TABLE,
  eventRetentionDays: 1,
});
const queue = new MessageQueue(
  store,
  new SqsSendQueue(new SQSClient({ useQueueUrlAsEndpoint: false }), env.SEND_QUEUE_URL),
);

const listQuery = z.object({ limit: z.coerce.number().int().min(1).max(200).default(50) });

function addressOf(raw: string | undefined): string {
  const email = normalizeEmail(decodeURIComponent(raw ?? ''));
  if (email === undefined) throw new HttpError(400, 'email is not an email address');
  return addressHash(email);
}

async function suppressionView(hash: string) {
  const state = await store.getAddress(hash);
  return {
    suppressed: state?.suppressed ?? null,
    unsubscribed: state?.unsubscribed ?? {},
    softBounces: state?.softBounces ?? 0,
  };
}

export const handler = httpHandler(async (event) => {
  const id = event.pathParameters?.id ?? '';
  switch (event.routeKey) {
    case 'POST /admin/messages': {
      const input = parseJsonBody(event, sendMessageRequest);
      if (!(await profiles.getProfile(input.profileId)).exists)
        throw new HttpError(404, `profile ${input.profileId} does not exist`);
      if ((await store.get(input.templateId)) === undefined)
        throw new HttpError(404, `template ${input.templateId} does not exist`);
      const { created, record } = await queue.enqueue({
        profileId: input.profileId,
        templateId: input.templateId,
        templateVersion: input.templateVersion ?? null,
        ...(input.idempotencyKey === undefined ? {} : { idempotencyKey: `admin:${input.idempotencyKey}` }),
        origin: { campaign: input.campaign ?? null },
      });
      return json(202, { messageId: record.request.messageId, status: record.status, duplicate: !created });
    }
    case 'GET /admin/messages/{id}': {
      const record = await store.getMessage(id);
      if (record === undefined) throw new HttpError(404, `message ${id} does not exist`);
      return json(200, messageView(record));
    }
    case 'GET /admin/profiles/{id}/messages': {
      const query = listQuery.safeParse(event.queryStringParameters ?? {});
      if (!query.success) throw new HttpError(400, 'limit must be a number from 1 to 200');
      return json(200, { messages: (await store.listByProfile(id, query.data.limit)).map(messageView) });
    }
    case 'GET /admin/suppressions/{email}':
      return json(200, await suppressionView(addressOf(event.pathParameters?.email)));
    case 'PUT /admin/suppressions/{email}': {
      const hash = addressOf(event.pathParameters?.email);
      await store.suppress({ addressHash: hash, reason: 'manual', at: new Date().toISOString() });
      return json(200, await suppressionView(hash));
    }
    case 'DELETE /admin/suppressions/{email}': {
      const hash = addressOf(event.pathParameters?.email);
      await store.unsuppress(hash);
      return json(200, await suppressionView(hash));
    }
    default:
      throw new HttpError(404, `No admin route ${event.routeKey}`);
  }
});
