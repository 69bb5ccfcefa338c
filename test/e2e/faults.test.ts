// Fault drills on the local stack: under injected faults nothing accepted is lost or doubled, and parked work replays.
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { promisify } from 'node:util';
import {
  type AttributeValue,
  DynamoDBClient,
  ListTablesCommand,
  ScanCommand,
} from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { FaultsRequest } from '../../lib/local/fault-control.ts';
import {
  admin,
  eventually,
  type LocalStackProcess,
  projectRoot,
  startLocalStackProcess,
} from './support/local-stack-process.ts';

let stack: LocalStackProcess;
let dynamodb: DynamoDBClient;
const servers: Server[] = [];

beforeAll(async () => {
  stack = await startLocalStackProcess({ args: ['--fresh'] });
  dynamodb = new DynamoDBClient({
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    endpoint: stack.local.endpoints.dynamodb,
  });
});
afterAll(async () => {
  dynamodb?.destroy();
  await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
  await stack?.dispose();
});

async function faults(request: FaultsRequest): Promise<void> {
  const response = await fetch(`${stack.local.apiUrl}/_local/faults`, {
    method: 'PUT',
    body: JSON.stringify(request),
  });
  expect(response.status).toBe(200);
}

async function remainingFaults(): Promise<unknown> {
  return (await fetch(`${stack.local.apiUrl}/_local/faults`)).json();
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Sends like analytics-node: a 429 or 5xx is retried with backoff (honouring Retry-After); a 200 means stored.
 * Resolves with the status the call ended with.
 */
async function track(event: Record<string, unknown>): Promise<number> {
  for (let attempt = 1; ; attempt += 1) {
    const response = await fetch(`${stack.local.apiUrl}/v1/batch`, {
      method: 'POST',
      headers: { authorization: `Basic ${Buffer.from(`${stack.local.writeKey}:`).toString('base64')}` },
      body: JSON.stringify({ batch: [event] }),
    });
    await response.arrayBuffer();
    if (response.status === 200 || (response.status < 500 && response.status !== 429) || attempt >= 10)
      return response.status;
    const retryAfter = Number(response.headers.get('retry-after'));
    await sleep(Number.isFinite(retryAfter) && retryAfter > 0 ? retryAfter * 1000 : 100 * 2 ** attempt);
  }
}

/** Stored tracked events per messageId, read straight from DynamoDB Local (not through the fault proxy). */
async function storedEventCounts(messageIds: readonly string[]): Promise<Map<string, number>> {
  const counts = new Map(messageIds.map((id) => [id, 0]));
  const { TableNames = [] } = await dynamodb.send(new ListTablesCommand({}));
  for (const table of TableNames) {
    let start: Record<string, AttributeValue> | undefined;
    do {
      const page = await dynamodb.send(
        new ScanCommand({
          TableName: table,
          FilterExpression: 'begins_with(sk, :evt)',
          ExpressionAttributeValues: { ':evt': { S: 'EVT#' } },
          ProjectionExpression: 'sk',
          ...(start ? { ExclusiveStartKey: start } : {}),
        }),
      );
      for (const item of page.Items ?? []) {
        const messageId = item.sk?.S?.split('#').pop() ?? '';
        if (counts.has(messageId)) counts.set(messageId, (counts.get(messageId) ?? 0) + 1);
      }
      start = page.LastEvaluatedKey;
    } while (start);
  }
  return counts;
}

function trackEvents(n: number, userId: string) {
  return Array.from({ length: n }, (_, i) => ({
    type: 'track',
    messageId: `fault-${randomUUID()}`,
    userId,
    event: 'Fault Drill',
    properties: { i },
  }));
}

async function driveAndCount(n: number): Promise<{ statuses: number[]; counts: Map<string, number> }> {
  const events = trackEvents(n, `drill-${randomUUID()}`);
  const statuses = await Promise.all(events.map((event) => track(event)));
  await faults({});
  const accepted = events.filter((_, i) => statuses[i] === 200).map((e) => e.messageId);
  const counts = await storedEventCounts(accepted);
  return { statuses, counts };
}

describe('tracking under DynamoDB faults', () => {
  it('stores every event that got a 200 exactly once while the table throttles', async () => {
    // More failures than the SDK's three attempts absorb, so some requests answer 503 and the client retries.
    await faults({ dynamodb: [{ error: 'ProvisionedThroughputExceededException', count: 12 }] });

    const { statuses, counts } = await driveAndCount(15);

    expect(statuses.every((s) => s === 200)).toBe(true);
    expect([...counts.values()]).toEqual(Array(15).fill(1));
  });

  it('stores every event that got a 200 exactly once while DynamoDB answers 500 to transactions', async () => {
    await faults({ dynamodb: [{ error: 'InternalServerError', count: 8, operation: 'TransactWriteItems' }] });

    const { statuses, counts } = await driveAndCount(10);

    expect(statuses.every((s) => s === 200)).toBe(true);
    expect([...counts.values()]).toEqual(Array(10).fill(1));
  });
});

describe('domain events under PutEvents partial failures', () => {
  it('publishes every tracked event despite rejected entries, and the profile sees each event once', async () => {
    await faults({ events: { failEntries: 15, errorCode: 'ThrottlingException' } });
    const userId = `bus-${randomUUID()}`;
    const events = trackEvents(6, userId);

    const statuses = await Promise.all(events.map((event) => track(event)));
    await eventually(async () => {
      const left = z.object({ events: z.object({ failEntries: z.number() }) }).parse(await remainingFaults());
      return left.events.failEntries === 0 ? true : undefined;
    }, 30_000);
    await faults({});

    expect(statuses.every((s) => s === 200)).toBe(true);
    const profile = await eventually(async () => {
      const response = await admin(stack, `/admin/profiles?userId=${userId}`);
      return response.status === 200 ? z.object({ id: z.string() }).parse(await response.json()) : undefined;
    }, 30_000);
    const stored = await (await admin(stack, `/admin/profiles/${profile.id}/events`)).json();
    const drill = JSON.stringify(stored).match(/fault-[0-9a-f-]{36}/g) ?? [];
    expect(new Set(drill).size).toBe(6);
    expect([...(await storedEventCounts(events.map((e) => e.messageId))).values()]).toEqual(Array(6).fill(1));
  });
});

/** A receiver on 127.0.0.1; `answer` decides each request's delay and status. */
async function receiver(answer: (n: number) => { delayMs: number; status: number }) {
  const received: Array<{ id: string | undefined; answered: number }> = [];
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      const { delayMs, status } = answer(received.length + 1);
      received.push({ id: req.headers['webhook-id']?.toString(), answered: status });
      setTimeout(() => {
        if (!res.destroyed) res.writeHead(status).end();
      }, delayMs);
    });
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  return { url: `http://127.0.0.1:${port}/hooks`, received };
}

const delivery = z.object({
  status: z.enum(['pending', 'delivered', 'failed']),
  attemptCount: z.number(),
  attempts: z.array(z.object({ statusCode: z.number().nullable() })),
});

async function webhookEndpoint(id: string, url: string): Promise<void> {
  const response = await admin(stack, `/admin/webhooks/${id}`, {
    method: 'PUT',
    body: JSON.stringify({ url }),
  });
  expect(response.status).toBe(201);
}

async function deliver(id: string): Promise<string> {
  const response = await admin(stack, `/admin/webhooks/${id}/deliveries`, {
    method: 'POST',
    body: JSON.stringify({ eventType: 'lead.qualified', payload: { leadId: randomUUID() } }),
  });
  expect(response.status).toBe(202);
  return z.object({ deliveryId: z.string() }).parse(await response.json()).deliveryId;
}

async function deliveryState(id: string, deliveryId: string) {
  return delivery.parse(await (await admin(stack, `/admin/webhooks/${id}/deliveries/${deliveryId}`)).json());
}

const cli = promisify(execFile);
async function nurture(...args: string[]): Promise<string> {
  const { stdout } = await cli(
    'node',
    [
      '--import',
      'tsx',
      'bin/cli.ts',
      'dlq',
      ...args,
      '--endpoint',
      stack.local.endpoints.sqs,
      '--stack',
      'Nurture-dev',
    ],
    { cwd: projectRoot, env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' } },
  );
  return stdout;
}

describe('webhooks under a slow receiver and a crashing deliverer', () => {
  it('retries a receiver slower than the webhook timeout and delivers once it answers in time', async () => {
    const { url, received } = await receiver((n) => ({ delayMs: n === 1 ? 12_000 : 0, status: 200 }));
    await webhookEndpoint('drill-slow', url);

    const deliveryId = await deliver('drill-slow');
    const result = await eventually(async () => {
      const state = await deliveryState('drill-slow', deliveryId);
      return state.status === 'pending' ? undefined : state;
    }, 60_000);

    expect(result.status).toBe('delivered');
    expect(result.attempts.map((a) => a.statusCode)).toEqual([null, 200]);
    expect(received.map((r) => r.id)).toEqual([deliveryId, deliveryId]);
  });

  it('parks a delivery whose deliverer keeps crashing, lists it, and replays it once the fault is gone', async () => {
    const { url, received } = await receiver(() => ({ delayMs: 0, status: 200 }));
    await webhookEndpoint('drill-crash', url);
    // Four receives (the dev stack's maxReceiveCount) all crash before any work: the fifth parks the message.
    await faults({
      functions: [{ function: 'WebhooksDeliver', crash: 'beforeInvoke', count: 4, redeliverAfterSeconds: 0 }],
    });

    const deliveryId = await deliver('drill-crash');
    const listed = await eventually(async () => {
      const out = await nurture('list');
      return /WebhooksDeadLetters\S*\s+1\s/.test(out) ? out : undefined;
    }, 60_000);
    await faults({});
    const shown = await nurture('show', 'WebhooksDeadLetters');
    const replayed = await nurture('replay', 'WebhooksDeadLetters');
    const result = await eventually(async () => {
      const state = await deliveryState('drill-crash', deliveryId);
      return state.status === 'delivered' ? state : undefined;
    }, 30_000);

    expect(listed).toMatch(/WebhooksDeadLetters\S*\s+1\s+\d+\s+Nurture-dev-WebhooksDeliveries/);
    expect(shown).toContain(deliveryId);
    expect(replayed).toContain('Replayed 1 message(s)');
    expect(result.attemptCount).toBe(1);
    expect(received.map((r) => r.id)).toEqual([deliveryId]);
    expect(await nurture('list')).toMatch(/WebhooksDeadLetters\S*\s+0\s/);
  });
});

describe('email under a sender crash', () => {
  it('sends once when the sender dies after SES accepted the email and the batch is delivered again', async () => {
    const saved = await admin(stack, '/admin/templates/drill', {
      method: 'PUT',
      body: JSON.stringify({
        subject: 'Drill {{ message.id }}',
        mjml: '<mjml><mj-body><mj-section><mj-column><mj-text>Hello</mj-text></mj-column></mj-section></mj-body></mjml>',
      }),
    });
    expect(saved.status).toBe(201);
    const address = `drill-${randomUUID()}@example.com`;
    const userId = `drill-${randomUUID()}`;
    expect(
      await track({ type: 'identify', messageId: randomUUID(), userId, traits: { email: address } }),
    ).toBe(200);
    const profile = await eventually(async () => {
      const response = await admin(stack, `/admin/profiles?userId=${userId}`);
      return response.status === 200 ? z.object({ id: z.string() }).parse(await response.json()) : undefined;
    });
    await faults({
      functions: [
        { function: 'MessagingSendEmail', crash: 'afterInvoke', count: 1, redeliverAfterSeconds: 1 },
      ],
    });

    const queued = await admin(stack, '/admin/messages', {
      method: 'POST',
      body: JSON.stringify({ profileId: profile.id, templateId: 'drill', idempotencyKey: randomUUID() }),
    });
    const { messageId } = z.object({ messageId: z.string() }).parse(await queued.json());
    await eventually(async () => {
      const left = z.object({ functions: z.array(z.unknown()) }).parse(await remainingFaults());
      return left.functions.length === 0 ? true : undefined;
    }, 30_000);
    const message = await eventually(async () => {
      const state = z
        .object({ status: z.string(), attempts: z.number() })
        .loose()
        .parse(await (await admin(stack, `/admin/messages/${messageId}`)).json());
      return ['sent', 'delivered'].includes(state.status) ? state : undefined;
    }, 30_000);
    // The redelivered batch ran a second later; give it time to (wrongly) send again.
    await sleep(3000);

    const mailbox = z
      .object({ emails: z.array(z.object({ subject: z.string() })) })
      .parse(await (await fetch(`${stack.local.mailboxUrl}/store`)).json());
    expect(mailbox.emails.filter((m) => m.subject === `Drill ${messageId}`)).toHaveLength(1);
    expect(message.attempts).toBe(1);
  });
});
