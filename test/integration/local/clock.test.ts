// Moving the local clock against the real emulators: timers fire in due order, queues settle, and requests signed
// with a date 90 days ahead are still accepted by DynamoDB Local, fauxqs and aws-ses-v2-local.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DeleteItemCommand, GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { SESv2Client, SendEmailCommand } from '@aws-sdk/client-sesv2';
import {
  CreateQueueCommand,
  GetQueueUrlCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import type { SQSEvent } from 'aws-lambda';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import * as z from 'zod';
import { timerPartition, timerShard, timerSortKey } from '../../../functions/journeys/timer-keys.ts';
import { advanceThroughTimers, earliestTimer, LocalClock } from '../../../lib/local/clock.ts';
import { LOCAL_CREDENTIALS, LOCAL_REGION } from '../../../lib/local/emulators.ts';
import { FunctionPool } from '../../../lib/local/lambda/function-pool.ts';
import { type LocalStack, startLocalStack } from '../../../lib/local/local-stack.ts';
import { SqsEventSource } from '../../../lib/local/sqs-event-source.ts';
import type { InvokeResult } from '../../../lib/local/types.ts';
import { synthesizeFixtureApp } from '../../fixtures/fixture-app.ts';
import { createProfileStoreTable, dynamodb, endpoints, sqs, uniqueName } from '../clients.ts';

const DAY_MS = 24 * 60 * 60 * 1000;

afterEach(() => {
  vi.useRealTimers();
});

describe('stepping through the timer index', () => {
  let tableName: string;
  beforeAll(async () => {
    tableName = uniqueName('clock-timers');
    await createProfileStoreTable(tableName);
  });

  async function putTimer(profileId: string, dueAt: Date): Promise<{ pk: string; sk: string }> {
    const key = {
      pk: timerPartition(timerShard(profileId)),
      sk: timerSortKey(dueAt.toISOString(), `${profileId}-timer`),
    };
    await dynamodb.send(
      new PutItemCommand({ TableName: tableName, Item: { pk: { S: key.pk }, sk: { S: key.sk } } }),
    );
    return key;
  }

  it('finds no timer in an empty index', async () => {
    const emptyTable = uniqueName('clock-empty');
    await createProfileStoreTable(emptyTable);

    expect(await earliestTimer({ dynamodb, tableName: emptyTable })).toBeUndefined();
  });

  it('visits timers in different shards in due order and sets the clock to each due time', async () => {
    const clock = new LocalClock();
    const start = clock.now();
    // Profiles chosen to land in different shards, the later timer written first.
    const later = { profileId: 'profile-later', dueAt: new Date(start.getTime() + 10 * DAY_MS) };
    let early = { profileId: 'profile-early-0', dueAt: new Date(start.getTime() + 3 * DAY_MS) };
    for (let i = 1; timerShard(early.profileId) === timerShard(later.profileId); i += 1)
      early = { ...early, profileId: `profile-early-${i}` };
    const keys = new Map([
      [later.profileId, await putTimer(later.profileId, later.dueAt)],
      [early.profileId, await putTimer(early.profileId, early.dueAt)],
    ]);
    const fired: Array<{ profileId: string; clockAt: string }> = [];

    const result = await advanceThroughTimers({
      clock,
      target: new Date(start.getTime() + 90 * DAY_MS),
      earliestDue: () => earliestTimer({ dynamodb, tableName }),
      // The sweep: fires and deletes what is due at the clock's time.
      fireDue: async () => {
        for (const timer of [early, later]) {
          const key = keys.get(timer.profileId);
          if (!key || timer.dueAt > clock.now()) continue;
          keys.delete(timer.profileId);
          await dynamodb.send(
            new DeleteItemCommand({ TableName: tableName, Key: { pk: { S: key.pk }, sk: { S: key.sk } } }),
          );
          fired.push({ profileId: timer.profileId, clockAt: clock.now().toISOString() });
        }
      },
    });

    expect(fired.map((f) => f.profileId)).toEqual([early.profileId, later.profileId]);
    expect(fired.map((f) => Date.parse(f.clockAt) - start.getTime())).toEqual([
      expect.closeTo(3 * DAY_MS, -4),
      expect.closeTo(10 * DAY_MS, -4),
    ]);
    expect(result.steps).toBe(2);
    expect(result.now.getTime() - start.getTime()).toBeGreaterThanOrEqual(90 * DAY_MS);
  });
});

// With one attempt, the first request is the one signed with the skewed date; the SDK corrects its clock offset from
// the answer's Date header only afterwards.
describe('requests signed with a date 90 days ahead', () => {
  it('are accepted by DynamoDB Local from a function sandbox on the shifted clock', async () => {
    const tableName = uniqueName('clock-skew');
    await createProfileStoreTable(tableName);
    const clock = new LocalClock();
    clock.advance('P90D');
    const pool = new FunctionPool(
      {
        logicalId: 'Sdk',
        functionName: 'sdk',
        functionArn: 'arn:aws:lambda:us-east-1:000000000000:function:sdk',
        codeDirectory: fileURLToPath(new URL('../../fixtures/functions/', import.meta.url)),
        handler: 'sdk.putItem',
        timeoutSeconds: 20,
        memorySize: 256,
        environment: { TABLE_NAME: tableName },
        maxConcurrency: 1,
        logGroupName: '/aws/lambda/sdk',
      },
      {
        AWS_REGION: LOCAL_REGION,
        AWS_ACCESS_KEY_ID: LOCAL_CREDENTIALS.accessKeyId,
        AWS_SECRET_ACCESS_KEY: LOCAL_CREDENTIALS.secretAccessKey,
        AWS_ENDPOINT_URL_DYNAMODB: endpoints.dynamodb,
      },
      () => {},
      { clockBuffer: clock.buffer },
    );

    try {
      const result = await pool.invoke({ pk: 'shifted' });

      expect(result).toMatchObject({ ok: true, value: { stored: 'shifted' } });
      const stored = await dynamodb.send(
        new GetItemCommand({ TableName: tableName, Key: { pk: { S: 'shifted' }, sk: { S: 'fixture' } } }),
      );
      expect(stored.Item).toBeDefined();
    } finally {
      await pool.close();
    }
  });

  it('are accepted by fauxqs', async () => {
    const client = new SQSClient({
      region: LOCAL_REGION,
      credentials: LOCAL_CREDENTIALS,
      endpoint: endpoints.sqs,
      useQueueUrlAsEndpoint: false,
      maxAttempts: 1,
    });
    vi.useFakeTimers({ toFake: ['Date'], now: Date.now() + 90 * DAY_MS });

    const queue = await client.send(new CreateQueueCommand({ QueueName: uniqueName('clock-skew') }));
    const sent = await client.send(new SendMessageCommand({ QueueUrl: queue.QueueUrl, MessageBody: '{}' }));

    expect(sent.MessageId).toBeDefined();
  });

  it('are accepted by aws-ses-v2-local', async () => {
    const ses = new SESv2Client({
      region: LOCAL_REGION,
      credentials: LOCAL_CREDENTIALS,
      endpoint: endpoints.sesv2,
      maxAttempts: 1,
    });
    vi.useFakeTimers({ toFake: ['Date'], now: Date.now() + 90 * DAY_MS });

    const sent = await ses.send(
      new SendEmailCommand({
        FromEmailAddress: 'news@acme.example',
        Destination: { ToAddresses: ['success@simulator.amazonses.com'] },
        Content: { Simple: { Subject: { Data: 'Ninety days later' }, Body: { Text: { Data: 'Hello' } } } },
      }),
    );

    expect(sent.MessageId).toBeDefined();
  });
});

describe('an SQS event source going idle', () => {
  const sources: SqsEventSource[] = [];
  afterEach(async () => {
    await Promise.all(sources.splice(0).map((source) => source.stop()));
  });

  async function sourceOn(handled: string[]) {
    const name = uniqueName('clock-idle');
    const queue = await sqs.send(new CreateQueueCommand({ QueueName: name }));
    const queueUrl = queue.QueueUrl ?? '';
    const source = new SqsEventSource(
      {
        logicalId: 'IdleSource',
        functionLogicalId: 'Worker',
        queueUrl,
        queueArn: `arn:aws:sqs:us-east-1:000000000000:${name}`,
        batchSize: 10,
        maximumBatchingWindowSeconds: 0,
        reportBatchItemFailures: false,
        maximumConcurrency: 2,
        filters: [],
        enabled: true,
      },
      sqs,
      async (event: SQSEvent): Promise<InvokeResult> => {
        await new Promise((resolve) => setTimeout(resolve, 300));
        handled.push(...event.Records.map((r) => r.body));
        return { ok: true, value: null, durationMs: 300 };
      },
      LOCAL_REGION,
      () => {},
    );
    sources.push(source);
    return { source, queueUrl };
  }

  it('is idle only once every waiting message was handled', async () => {
    const handled: string[] = [];
    const { source, queueUrl } = await sourceOn(handled);
    for (const body of ['a', 'b', 'c'])
      await sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: body }));

    source.start();
    await source.idle();

    expect([...handled].sort()).toEqual(['a', 'b', 'c']);
  });

  it('does not wait for a message delayed beyond the grace period', async () => {
    const handled: string[] = [];
    const { source, queueUrl } = await sourceOn(handled);
    await sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: 'later', DelaySeconds: 60 }));
    source.start();
    const started = performance.now();

    await source.idle(500);

    expect(performance.now() - started).toBeLessThan(5000);
    expect(handled).toEqual([]);
  });
});

describe('the local stack clock endpoint', () => {
  const work = mkdtempSync(join(tmpdir(), 'nurture-clock-stack-'));
  const assemblyDirectory = join(work, 'cdk.out');
  let stack: LocalStack | undefined;

  async function start(): Promise<LocalStack> {
    stack = await startLocalStack({
      projectRoot: fileURLToPath(new URL('../../..', import.meta.url)),
      dataDirectory: join(work, 'data'),
      assemblyDirectory,
      port: 0,
    });
    return stack;
  }

  beforeAll(async () => {
    synthesizeFixtureApp(assemblyDirectory);
    await start();
  });

  afterAll(async () => {
    await stack?.stop();
    rmSync(work, { recursive: true, force: true });
  });

  const clockSchema = z.object({ now: z.iso.datetime(), offsetMs: z.number(), steps: z.number().optional() });

  async function postClock(body: unknown): Promise<Response> {
    return fetch(`${stack?.apiUrl}/_local/clock`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
  }

  it('moves the clock forward and fires a nightly schedule that became due once, stamped with the shifted time', async () => {
    const before = Date.now();

    const response = await postClock({ advance: 'P2D' });

    expect(response.status).toBe(200);
    const answer = clockSchema.parse(await response.json());
    expect(answer.offsetMs).toBeGreaterThanOrEqual(2 * DAY_MS - 1000);
    expect(Date.parse(answer.now) - before).toBeGreaterThanOrEqual(2 * DAY_MS);
    const client = new SQSClient({
      region: LOCAL_REGION,
      credentials: LOCAL_CREDENTIALS,
      endpoint: stack?.endpoints.sqs,
      useQueueUrlAsEndpoint: false,
    });
    const { QueueUrl } = await client.send(new GetQueueUrlCommand({ QueueName: 'fixture-scheduled' }));
    const { Messages = [] } = await client.send(
      new ReceiveMessageCommand({ QueueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1 }),
    );
    expect(Messages).toHaveLength(1);
    const event = z.object({ time: z.string() }).parse(JSON.parse(Messages[0]?.Body ?? 'null'));
    expect(Date.parse(event.time) - before).toBeGreaterThan(DAY_MS);
  });

  it('answers 400 with what it expects for a body it cannot use', async () => {
    const response = await postClock({ advance: 'two weeks' });

    expect(response.status).toBe(400);
    expect(await response.json()).toEqual({ message: expect.stringContaining('ISO 8601 duration') });
  });

  it('refuses to move the clock back', async () => {
    const response = await postClock({ to: '2020-01-01T00:00:00Z' });

    expect(response.status).toBe(400);
  });

  it('keeps the shifted time across a restart', async () => {
    const offsetBefore = stack?.clock.offsetMs ?? 0;
    await stack?.stop();

    await start();
    const response = await fetch(`${stack?.apiUrl}/_local/clock`);

    expect(clockSchema.parse(await response.json()).offsetMs).toBe(offsetBefore);
  });
});
