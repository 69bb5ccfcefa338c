// The webhook store on DynamoDB Local and the webhook queue on the SQS emulator, through the real AWS SDK.
import { randomUUID } from 'node:crypto';
import { GetItemCommand } from '@aws-sdk/client-dynamodb';
import { CreateQueueCommand, ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import { beforeAll, describe, expect, it } from 'vitest';
import { DynamoDbWebhookStore } from '../../../functions/messaging/webhooks/dynamodb-store.ts';
import type { WebhookDelivery, WebhookEndpoint } from '../../../functions/messaging/webhooks/model.ts';
import { deliveryIdFor, WebhookQueue } from '../../../functions/messaging/webhooks/queue.ts';
import { newWebhookSecret } from '../../../functions/messaging/webhooks/signature.ts';
import { SqsDeliveryJobSender } from '../../../functions/messaging/webhooks/sqs-adapters.ts';
import { WebhookVersionConflictError } from '../../../functions/messaging/webhooks/store.ts';
import { createProfileStoreTable, dynamodb, sqs, uniqueName } from '../clients.ts';

const tableName = uniqueName('webhooks');
const store = new DynamoDbWebhookStore(dynamodb, tableName);
let queueUrl = '';

beforeAll(async () => {
  await createProfileStoreTable(tableName);
  const created = await sqs.send(new CreateQueueCommand({ QueueName: uniqueName('webhook-jobs') }));
  queueUrl = created.QueueUrl ?? '';
});

function newEndpoint(overrides: Partial<WebhookEndpoint> = {}): WebhookEndpoint {
  return {
    id: `ep-${randomUUID().slice(0, 8)}`,
    url: 'https://crm.example.com/hooks',
    description: 'Sales hand-off',
    secret: newWebhookSecret(),
    status: 'active',
    createdAt: new Date().toISOString(),
    updatedAt: new Date().toISOString(),
    ...overrides,
  };
}

function newDelivery(endpointId: string, overrides: Partial<WebhookDelivery> = {}): WebhookDelivery {
  const idempotencyKey = randomUUID();
  return {
    deliveryId: deliveryIdFor(endpointId, idempotencyKey),
    endpointId,
    eventType: 'lead.qualified',
    payload: { leadId: 'lead-1', nested: { list: [1, 'two', null] } },
    idempotencyKey,
    status: 'pending',
    attempts: [],
    attemptCount: 0,
    createdAt: new Date().toISOString(),
    deliveredAt: null,
    failedReason: null,
    ...overrides,
  };
}

async function receiveAll(): Promise<unknown[]> {
  const { Messages } = await sqs.send(
    new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1 }),
  );
  return (Messages ?? []).map((m) => JSON.parse(m.Body ?? 'null'));
}

describe('webhook endpoints in DynamoDB', () => {
  it('creates an endpoint once and reads it back with its secret', async () => {
    const endpoint = newEndpoint();

    await store.saveEndpoint(endpoint, 0);

    expect(await store.getEndpoint(endpoint.id)).toEqual({ value: endpoint, version: 1 });
    await expect(store.saveEndpoint(endpoint, 0)).rejects.toBeInstanceOf(WebhookVersionConflictError);
  });

  it('updates an endpoint only at the version read', async () => {
    const endpoint = newEndpoint();
    await store.saveEndpoint(endpoint, 0);

    await store.saveEndpoint({ ...endpoint, url: 'https://crm.example.com/v2' }, 1);

    await expect(
      store.saveEndpoint({ ...endpoint, url: 'https://stale.example.com' }, 1),
    ).rejects.toBeInstanceOf(WebhookVersionConflictError);
    expect((await store.getEndpoint(endpoint.id))?.value.url).toBe('https://crm.example.com/v2');
  });

  it('lists endpoints oldest first and forgets a deleted one', async () => {
    const first = newEndpoint({ createdAt: '2026-01-01T00:00:00.000Z' });
    const second = newEndpoint({ createdAt: '2026-01-02T00:00:00.000Z' });
    await store.saveEndpoint(second, 0);
    await store.saveEndpoint(first, 0);

    const ids = (await store.listEndpoints()).map((e) => e.id);
    const deleted = await store.deleteEndpoint(first.id);

    expect(ids.indexOf(first.id)).toBeLessThan(ids.indexOf(second.id));
    expect(deleted).toBe(true);
    expect(await store.getEndpoint(first.id)).toBeUndefined();
    expect(await store.deleteEndpoint(first.id)).toBe(false);
  });
});

describe('webhook deliveries in DynamoDB', () => {
  it('writes a delivery once; a second create returns the first untouched', async () => {
    const delivery = newDelivery('ep-deliveries');

    const first = await store.createDelivery(delivery);
    const again = await store.createDelivery({ ...delivery, eventType: 'changed' });

    expect(first).toEqual({ created: true, delivery });
    expect(again).toEqual({ created: false, delivery });
  });

  it('expires a delivery record 30 days after it was created', async () => {
    const delivery = newDelivery('ep-ttl', { createdAt: '2026-03-01T00:00:00.000Z' });
    await store.createDelivery(delivery);

    const { Item } = await dynamodb.send(
      new GetItemCommand({
        TableName: tableName,
        Key: { pk: { S: 'WEBHOOK#ep-ttl' }, sk: { S: `DELIVERY#${delivery.deliveryId}` } },
      }),
    );

    expect(Number(Item?.expiresAt?.N)).toBe(Date.parse('2026-03-31T00:00:00.000Z') / 1000);
  });

  it('records an attempt at the version read and refuses a stale write', async () => {
    const delivery = newDelivery('ep-versions');
    await store.createDelivery(delivery);
    const read = await store.getDelivery('ep-versions', delivery.deliveryId);
    const attempted: WebhookDelivery = {
      ...delivery,
      attempts: [{ at: new Date().toISOString(), statusCode: 500, error: null, durationMs: 30 }],
      attemptCount: 1,
    };

    await store.saveDelivery(attempted, read?.version ?? -1);

    await expect(
      store.saveDelivery({ ...delivery, status: 'delivered' }, read?.version ?? -1),
    ).rejects.toBeInstanceOf(WebhookVersionConflictError);
    expect((await store.getDelivery('ep-versions', delivery.deliveryId))?.value).toEqual(attempted);
  });

  it("lists an endpoint's deliveries newest first, up to the limit, and no other endpoint's", async () => {
    const endpointId = `ep-list-${randomUUID().slice(0, 6)}`;
    const days = ['2026-03-01', '2026-03-03', '2026-03-02'];
    for (const day of days)
      await store.createDelivery(newDelivery(endpointId, { createdAt: `${day}T00:00:00.000Z` }));
    await store.createDelivery(newDelivery('ep-other'));

    const listed = await store.listDeliveries(endpointId, 2);

    expect(listed.map((d) => d.createdAt.slice(0, 10))).toEqual(['2026-03-03', '2026-03-02']);
  });
});

describe('the webhook queue on SQS', () => {
  it('records a delivery, queues its ids, and re-queues a repeat only while it is pending', async () => {
    const endpoint = newEndpoint();
    await store.saveEndpoint(endpoint, 0);
    const queue = new WebhookQueue(store, new SqsDeliveryJobSender(sqs, queueUrl));
    const input = { endpointId: endpoint.id, eventType: 'subscription.extend', payload: { months: 1 } };

    const first = await queue.enqueue({ ...input, idempotencyKey: 'renewal-7' });
    const repeat = await queue.enqueue({ ...input, idempotencyKey: 'renewal-7' });
    const jobsWhilePending = await receiveAll();
    const stored = await store.getDelivery(endpoint.id, first.delivery.deliveryId);
    await store.saveDelivery({ ...first.delivery, status: 'delivered' }, stored?.version ?? -1);
    await queue.enqueue({ ...input, idempotencyKey: 'renewal-7' });
    const jobsAfterDelivery = await receiveAll();

    expect(repeat).toEqual({ created: false, delivery: first.delivery });
    const job = { deliveryId: first.delivery.deliveryId, endpointId: endpoint.id };
    expect(jobsWhilePending).toEqual([job, job]);
    expect(jobsAfterDelivery).toEqual([]);
  });
});
