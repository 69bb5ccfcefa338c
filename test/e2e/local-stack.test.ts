// Starts the local stack as a user does (`npm start`), talks to it over HTTP and the AWS SDK, and stops it.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DynamoDBClient, GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient, PutEventsCommand, TestEventPatternCommand } from '@aws-sdk/client-eventbridge';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  type LocalStackProcess,
  spawnNpmStart,
  startLocalStackProcess,
} from './support/local-stack-process.ts';

const dataDirectory = mkdtempSync(join(tmpdir(), 'nurture-e2e-'));
const localJsonPath = join(dataDirectory, 'local.json');
const credentials = { accessKeyId: 'local', secretAccessKey: 'local' };

type Running = LocalStackProcess;

function start(args: string[] = [], env: Record<string, string> = {}) {
  return spawnNpmStart({ args, env, dataDirectory });
}

function startAndWait(
  args: string[] = [],
  env: Record<string, string> = {},
  sharedAssembly = true,
): Promise<Running> {
  return startLocalStackProcess({ args, env, dataDirectory, sharedAssembly });
}

function interrupt(running: Running): Promise<number> {
  return running.stop();
}

function dynamoProcesses(): string {
  try {
    return execFileSync('pgrep', ['-af', `DynamoDBLocal.*${dataDirectory}`], { encoding: 'utf8' });
  } catch {
    return '';
  }
}

let stack: Running;

/** The profile table's name, as the admin API reports it. */
async function profileTable(running: Running): Promise<string> {
  const response = await fetch(`${running.local.apiUrl}/admin/status`, {
    headers: { authorization: `Bearer ${running.local.adminToken}` },
  });
  return z.object({ profileTable: z.string() }).parse(await response.json()).profileTable;
}

beforeAll(async () => {
  // The first start synthesizes the CDK app itself, as `npm start` does for a user; restarts reuse the suite's assembly.
  stack = await startAndWait(['--fresh'], {}, false);
});

afterAll(async () => {
  await stack?.dispose();
});

describe('npm start', () => {
  it('serves GET /health on the API URL it wrote to local.json', async () => {
    const response = await fetch(`${stack.local.apiUrl}/health`);

    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ status: 'ok', service: 'nurture', stage: 'dev' });
  });

  it('guards the admin API with the admin token from local.json', async () => {
    const url = `${stack.local.apiUrl}/admin/status`;

    const missing = await fetch(url);
    const wrong = await fetch(url, { headers: { authorization: 'Bearer not-the-token' } });
    const right = await fetch(url, { headers: { authorization: `Bearer ${stack.local.adminToken}` } });

    expect(missing.status).toBe(401);
    expect(wrong.status).toBe(403);
    expect(right.status).toBe(200);
    expect(await right.json()).toMatchObject({ stage: 'dev', eventBus: 'nurture-dev' });
  });

  it('delivers an event put on the local bus to the rule target the template declares', async () => {
    const events = new EventBridgeClient({
      region: 'us-east-1',
      credentials,
      endpoint: stack.local.endpoints.events,
    });
    const marker = `e2e-${Date.now()}`;

    const result = await events.send(
      new PutEventsCommand({
        Entries: [
          {
            EventBusName: 'nurture-dev',
            Source: 'nurture.e2e',
            DetailType: 'e2e.ran',
            Detail: JSON.stringify({ marker }),
          },
        ],
      }),
    );
    const eventLog = () =>
      readdirSync(join(dataDirectory, 'logs'))
        .filter((f) => f.includes('EventLog') && f.endsWith('.ndjson'))
        .map((f) => readFileSync(join(dataDirectory, 'logs', f), 'utf8'))
        .join('');
    const deadline = Date.now() + 10_000;
    while (!eventLog().includes(marker) && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 100));

    expect(result.FailedEntryCount).toBe(0);
    expect(eventLog()).toContain(marker);
  });

  it('answers TestEventPattern on the local bus', async () => {
    const events = new EventBridgeClient({
      region: 'us-east-1',
      credentials,
      endpoint: stack.local.endpoints.events,
    });

    const { Result } = await events.send(
      new TestEventPatternCommand({
        EventPattern: JSON.stringify({ source: [{ prefix: 'nurture.' }] }),
        Event: JSON.stringify({
          id: '1',
          account: '000000000000',
          source: 'nurture.tracking',
          time: '2026-11-22T00:00:00Z',
          region: 'us-east-1',
          'detail-type': 'event.tracked',
          resources: [],
          detail: {},
        }),
      }),
    );

    expect(Result).toBe(true);
  });

  it('refuses to start on a port that is in use, saying which one', async () => {
    const blocker: Server = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const address = blocker.address();
    const port = typeof address === 'object' && address ? address.port : 0;

    const child = start([], {
      PORT: String(port),
      NURTURE_DATA_DIR: mkdtempSync(join(tmpdir(), 'nurture-port-')),
    });
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    blocker.close();

    expect(code).not.toBe(0);
    expect(child.output()).toContain(`Port ${port} (API) is already in use`);
  });

  it('stops on Ctrl-C within a few seconds, leaves no process behind, and keeps data and tokens for the next start', async () => {
    const dynamodb = new DynamoDBClient({
      region: 'us-east-1',
      credentials,
      endpoint: stack.local.endpoints.dynamodb,
    });
    const tableName = await profileTable(stack);
    await dynamodb.send(
      new PutItemCommand({
        TableName: tableName,
        Item: { pk: { S: 'PROFILE#e2e' }, sk: { S: 'PROFILE' } },
      }),
    );
    const before = stack.local;

    const stoppedInMs = await interrupt(stack);
    expect(stoppedInMs).toBeLessThan(10_000);
    expect(dynamoProcesses()).toBe('');
    expect(existsSync(localJsonPath)).toBe(false);

    stack = await startAndWait();
    const restarted = new DynamoDBClient({
      region: 'us-east-1',
      credentials,
      endpoint: stack.local.endpoints.dynamodb,
    });
    const { Item } = await restarted.send(
      new GetItemCommand({
        TableName: tableName,
        Key: { pk: { S: 'PROFILE#e2e' }, sk: { S: 'PROFILE' } },
      }),
    );

    expect(Item?.pk?.S).toBe('PROFILE#e2e');
    expect(stack.local.adminToken).toBe(before.adminToken);
    expect(stack.local.writeKey).toBe(before.writeKey);
  });

  it('stops the DynamoDB Local left behind by a runner killed with SIGKILL on the next start', async () => {
    process.kill(stack.local.pid, 'SIGKILL');
    await new Promise((r) => setTimeout(r, 500));
    const orphan = dynamoProcesses().trim();
    expect(orphan.split('\n')).toHaveLength(1);

    stack = await startAndWait();

    const running = dynamoProcesses().trim().split('\n');
    expect(running).toHaveLength(1);
    expect(running[0]).not.toBe(orphan);
  });

  it('starts clean with --fresh and honours NURTURE_ADMIN_TOKEN', async () => {
    await interrupt(stack);

    stack = await startAndWait(['--fresh'], { NURTURE_ADMIN_TOKEN: 'e2e-admin-token-0123456789' });
    const dynamodb = new DynamoDBClient({
      region: 'us-east-1',
      credentials,
      endpoint: stack.local.endpoints.dynamodb,
    });
    const { Item } = await dynamodb.send(
      new GetItemCommand({
        TableName: await profileTable(stack),
        Key: { pk: { S: 'PROFILE#e2e' }, sk: { S: 'PROFILE' } },
      }),
    );
    const admin = await fetch(`${stack.local.apiUrl}/admin/status`, {
      headers: { authorization: 'Bearer e2e-admin-token-0123456789' },
    });

    expect(Item).toBeUndefined();
    expect(admin.status).toBe(200);
    await interrupt(stack);
  });
});
