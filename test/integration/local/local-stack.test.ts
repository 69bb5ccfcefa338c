// The local stack runs what a synthesized template declares: routes, rules with input transformers, queues with
// redrive, SQS event sources with partial batch failures, and schedules fired on demand.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import {
  GetQueueUrlCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LOCAL_CREDENTIALS } from '../../../lib/local/emulators.ts';
import { type LocalStack, startLocalStack } from '../../../lib/local/local-stack.ts';
import { FIXTURE_BUS, synthesizeFixtureApp } from '../../fixtures/fixture-app.ts';

const work = mkdtempSync(join(tmpdir(), 'nurture-fixture-'));
const assemblyDirectory = join(work, 'cdk.out');
let stack: LocalStack;
let sqs: SQSClient;
let events: EventBridgeClient;

async function start(fresh: boolean): Promise<void> {
  stack = await startLocalStack({
    projectRoot: fileURLToPath(new URL('../../..', import.meta.url)),
    dataDirectory: join(work, 'data'),
    assemblyDirectory,
    port: 0,
    fresh,
  });
  const common = { region: 'us-east-1', credentials: LOCAL_CREDENTIALS };
  sqs = new SQSClient({ ...common, endpoint: stack.endpoints.sqs, useQueueUrlAsEndpoint: false });
  events = new EventBridgeClient({ ...common, endpoint: stack.endpoints.events });
}

beforeAll(async () => {
  synthesizeFixtureApp(assemblyDirectory);
  await start(true);
});

afterAll(async () => {
  await stack?.stop();
  rmSync(work, { recursive: true, force: true });
});

async function receive(queueName: string, waitSeconds = 1): Promise<unknown[]> {
  const { QueueUrl } = await sqs.send(new GetQueueUrlCommand({ QueueName: queueName }));
  const { Messages } = await sqs.send(
    new ReceiveMessageCommand({ QueueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: waitSeconds }),
  );
  return (Messages ?? []).map((m) => JSON.parse(m.Body ?? 'null'));
}

describe('local stack running a synthesized template', () => {
  it('serves an HTTP API route with path parameters through the bundled function', async () => {
    const response = await fetch(`${stack.apiUrl}/echo/ada?x=1`);
    const body = await response.json();

    expect(response.status).toBe(200);
    expect(body).toMatchObject({
      event: {
        routeKey: 'GET /echo/{name}',
        pathParameters: { name: 'ada' },
        queryStringParameters: { x: '1' },
      },
    });
  });

  it('routes a bus event through a transforming rule into a queue whose consumer reports failures to the DLQ', async () => {
    await events.send(
      new PutEventsCommand({
        Entries: [
          {
            EventBusName: FIXTURE_BUS,
            Source: 'fixture',
            DetailType: 'work.requested',
            Detail: '{"id":"ok-1","fail":false}',
          },
          {
            EventBusName: FIXTURE_BUS,
            Source: 'fixture',
            DetailType: 'work.requested',
            Detail: '{"id":"bad-1","fail":true}',
          },
        ],
      }),
    );

    const deadline = Date.now() + 20_000;
    let deadLettered: unknown[] = [];
    while (deadLettered.length === 0 && Date.now() < deadline) deadLettered = await receive('fixture-dlq');

    expect(deadLettered).toEqual([{ id: 'bad-1', fail: true }]);
    expect(await receive('fixture-work', 0)).toEqual([]);
  });

  it('lists the schedules of the template and fires one on demand with the scheduled-event shape', async () => {
    const listed = await (await fetch(`${stack.apiUrl}/_local/schedules`)).json();
    const run = await fetch(`${stack.apiUrl}/_local/schedules/fixture-nightly/run`, { method: 'POST' });
    const [delivered] = await receive('fixture-scheduled');

    expect(listed).toMatchObject({
      schedules: [
        {
          name: 'fixture-nightly',
          expression: 'cron(0 3 * * ? *)',
          enabled: true,
          nextRun: expect.any(String),
        },
      ],
    });
    expect(run.status).toBe(200);
    expect(delivered).toMatchObject({ source: 'aws.events', 'detail-type': 'Scheduled Event', detail: {} });
  });

  it('answers an unknown schedule with 404', async () => {
    const response = await fetch(`${stack.apiUrl}/_local/schedules/nope/run`, { method: 'POST' });

    expect(response.status).toBe(404);
  });

  it('keeps queued messages across a restart', async () => {
    const { QueueUrl } = await sqs.send(new GetQueueUrlCommand({ QueueName: 'fixture-scheduled' }));
    const marker = `restart-${Date.now()}`;
    await sqs.send(new SendMessageCommand({ QueueUrl, MessageBody: JSON.stringify({ marker }) }));

    await stack.stop();
    await start(false);
    const afterRestart = await receive('fixture-scheduled');

    expect(afterRestart).toContainEqual({ marker });
  });
});
