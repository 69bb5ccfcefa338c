// Webhook requests against real HTTP receivers, and the retry/park cycle on the SQS emulator and DynamoDB Local.
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import {
  CreateQueueCommand,
  DeleteMessageCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
} from '@aws-sdk/client-sqs';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { WebhookDeliverer } from '../../../functions/messaging/webhooks/deliver.ts';
import { DynamoDbWebhookStore } from '../../../functions/messaging/webhooks/dynamodb-store.ts';
import { postWebhook } from '../../../functions/messaging/webhooks/http-post.ts';
import { deliveryJobSchema } from '../../../functions/messaging/webhooks/model.ts';
import { WebhookQueue } from '../../../functions/messaging/webhooks/queue.ts';
import { newWebhookSecret, verifyWebhook } from '../../../functions/messaging/webhooks/signature.ts';
import { SqsDeliveryJobSender, SqsRetryTimer } from '../../../functions/messaging/webhooks/sqs-adapters.ts';
import { createProfileStoreTable, dynamodb, sqs, uniqueName } from '../clients.ts';

interface Received {
  readonly headers: IncomingMessage['headers'];
  readonly body: string;
}

const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise((resolve) => s.close(resolve))));
});

/** A receiver on loopback that answers each request with the next status (the last one repeats). */
async function receiver(
  statuses: number[],
  respond?: (res: ServerResponse, status: number) => void,
): Promise<{ url: string; received: Received[] }> {
  const received: Received[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => {
      body += chunk.toString();
    });
    req.on('end', () => {
      received.push({ headers: req.headers, body });
      const status = statuses.length > 1 ? (statuses.shift() ?? 500) : (statuses[0] ?? 500);
      if (respond) respond(res, status);
      else res.writeHead(status).end('ok');
    });
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  return { url: `http://127.0.0.1:${port}/hook`, received };
}

const allowPrivate = { allowPrivate: true };
const request = { headers: { 'content-type': 'application/json' }, body: '{"a":1}', timeoutMs: 2000 };

describe('one webhook request', () => {
  it("reports the receiver's status and sends the body and headers as given", async () => {
    const { url, received } = await receiver([202]);

    const result = await postWebhook({
      ...request,
      url,
      headers: { ...request.headers, 'webhook-id': 'whd_1' },
      policy: allowPrivate,
    });

    expect(result).toMatchObject({ statusCode: 202, error: null, retryAfterSeconds: null });
    expect(received).toHaveLength(1);
    expect(received[0]?.body).toBe('{"a":1}');
    expect(received[0]?.headers).toMatchObject({ 'webhook-id': 'whd_1', 'content-type': 'application/json' });
  });

  it('does not follow a redirect: it is a failed attempt and the other URL is never called', async () => {
    const target = await receiver([200]);
    const { url } = await receiver([302], (res, status) =>
      res.writeHead(status, { location: target.url }).end(),
    );

    const result = await postWebhook({ ...request, url, policy: allowPrivate });

    expect(result.statusCode).toBe(302);
    expect(target.received).toEqual([]);
  });

  it('gives up when the receiver does not answer within the timeout', async () => {
    const { url } = await receiver([200], () => {
      // never answers
    });

    const result = await postWebhook({ ...request, url, timeoutMs: 300, policy: allowPrivate });

    expect(result).toMatchObject({ statusCode: null, error: 'no response within 0.3 s' });
    expect(result.durationMs).toBeLessThan(2000);
  });

  it('reads a Retry-After in seconds', async () => {
    const { url } = await receiver([429], (res, status) =>
      res.writeHead(status, { 'retry-after': '120' }).end(),
    );

    expect((await postWebhook({ ...request, url, policy: allowPrivate })).retryAfterSeconds).toBe(120);
  });

  it('refuses a loopback receiver unless private targets are allowed, without connecting', async () => {
    const { url, received } = await receiver([200]);
    const byName = url.replace('127.0.0.1', 'localhost');

    const literal = await postWebhook({ ...request, url, policy: { allowPrivate: false } });
    const resolved = await postWebhook({ ...request, url: byName, policy: { allowPrivate: false } });

    expect(literal).toMatchObject({ statusCode: null, error: expect.stringMatching(/^refused: /) });
    expect(resolved).toMatchObject({ statusCode: null, error: expect.stringMatching(/^refused: /) });
    expect(received).toEqual([]);
  });

  it('reports a refused connection', async () => {
    const { url } = await receiver([200]);
    await Promise.all(servers.splice(0).map((s) => new Promise((resolve) => s.close(resolve))));

    expect(await postWebhook({ ...request, url, policy: allowPrivate })).toMatchObject({
      statusCode: null,
      error: 'ECONNREFUSED',
    });
  });
});

describe('retrying through the queue', () => {
  const tableName = uniqueName('webhook-delivery');
  const store = new DynamoDbWebhookStore(dynamodb, tableName);
  const maxAttempts = 3;
  let queueUrl = '';
  let dlqUrl = '';

  beforeAll(async () => {
    await createProfileStoreTable(tableName);
    const name = uniqueName('webhooks');
    dlqUrl = (await sqs.send(new CreateQueueCommand({ QueueName: `${name}-dlq` }))).QueueUrl ?? '';
    queueUrl =
      (
        await sqs.send(
          new CreateQueueCommand({
            QueueName: name,
            Attributes: {
              VisibilityTimeout: '30',
              RedrivePolicy: JSON.stringify({
                deadLetterTargetArn: `arn:aws:sqs:us-east-1:000000000000:${name}-dlq`,
                maxReceiveCount: String(maxAttempts),
              }),
            },
          }),
        )
      ).QueueUrl ?? '';
  });

  async function endpointFor(url: string) {
    const endpoint = {
      id: `ep-${randomUUID().slice(0, 8)}`,
      url,
      description: '',
      secret: newWebhookSecret(),
      status: 'active' as const,
      createdAt: new Date().toISOString(),
      updatedAt: new Date().toISOString(),
    };
    await store.saveEndpoint(endpoint, 0);
    return endpoint;
  }

  /** Plays the event source mapping: receive, deliver, delete what is acknowledged; until the queue is empty. */
  async function drain(deliverer: WebhookDeliverer): Promise<void> {
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline) {
      const { Messages = [] } = await sqs.send(
        new ReceiveMessageCommand({
          QueueUrl: queueUrl,
          MaxNumberOfMessages: 10,
          WaitTimeSeconds: 1,
          MessageSystemAttributeNames: ['ApproximateReceiveCount'],
        }),
      );
      for (const message of Messages) {
        const job = deliveryJobSchema.parse(JSON.parse(message.Body ?? ''));
        const report = await deliverer.deliver({
          ...job,
          receiveCount: Number(message.Attributes?.ApproximateReceiveCount),
          receiptHandle: message.ReceiptHandle ?? '',
        });
        if (report.ack)
          await sqs.send(
            new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: message.ReceiptHandle }),
          );
      }
      const { Attributes } = await sqs.send(
        new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['All'] }),
      );
      const left =
        Number(Attributes?.ApproximateNumberOfMessages) +
        Number(Attributes?.ApproximateNumberOfMessagesNotVisible);
      if (Messages.length === 0 && left === 0) return;
    }
    throw new Error('the queue did not drain in time');
  }

  function deliverer() {
    return new WebhookDeliverer({
      store,
      post: postWebhook,
      timer: new SqsRetryTimer(sqs, queueUrl),
      schedule: { maxAttempts, baseSeconds: 1, maxSeconds: 1 },
      timeoutMs: 2000,
      policy: allowPrivate,
      userAgent: 'Nurture-Webhooks/test',
    });
  }

  it('stops at the first success: two failures then a 200 make three signed attempts', async () => {
    const { url, received } = await receiver([500, 503, 200]);
    const endpoint = await endpointFor(url);
    const queue = new WebhookQueue(store, new SqsDeliveryJobSender(sqs, queueUrl));
    const { delivery } = await queue.enqueue({
      endpointId: endpoint.id,
      eventType: 'lead.qualified',
      payload: { id: 1 },
    });

    await drain(deliverer());

    const stored = await store.getDelivery(endpoint.id, delivery.deliveryId);
    expect(stored?.value).toMatchObject({ status: 'delivered', attemptCount: 3 });
    expect(stored?.value.attempts.map((a) => a.statusCode)).toEqual([500, 503, 200]);
    expect(received).toHaveLength(3);
    const last = received[2];
    expect(
      verifyWebhook({ secret: endpoint.secret, headers: last?.headers ?? {}, body: last?.body ?? '' }),
    ).toBe(true);
  });

  it('parks a delivery that fails every attempt: failed with its reason, and its job in the DLQ', async () => {
    const { url, received } = await receiver([500]);
    const endpoint = await endpointFor(url);
    const queue = new WebhookQueue(store, new SqsDeliveryJobSender(sqs, queueUrl));
    const { delivery } = await queue.enqueue({
      endpointId: endpoint.id,
      eventType: 'lead.qualified',
      payload: {},
    });

    await drain(deliverer());

    const stored = await store.getDelivery(endpoint.id, delivery.deliveryId);
    const { Messages = [] } = await sqs.send(
      new ReceiveMessageCommand({ QueueUrl: dlqUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1 }),
    );
    expect(stored?.value).toMatchObject({
      status: 'failed',
      attemptCount: 3,
      failedReason: 'parked after 3 attempts (last: HTTP 500)',
    });
    expect(received).toHaveLength(3);
    expect(Messages.map((m) => JSON.parse(m.Body ?? ''))).toContainEqual({
      deliveryId: delivery.deliveryId,
      endpointId: endpoint.id,
    });
  });
});
