// Starts the local stack as a user does (`npm start`), talks to it over HTTP and the AWS SDK, and stops it.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DynamoDBClient, GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient, PutEventsCommand, TestEventPatternCommand } from '@aws-sdk/client-eventbridge';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';

const projectRoot = fileURLToPath(new URL('../..', import.meta.url));
const dataDirectory = mkdtempSync(join(tmpdir(), 'nurture-e2e-'));
const localJsonPath = join(dataDirectory, 'local.json');
const credentials = { accessKeyId: 'local', secretAccessKey: 'local' };

const localJsonSchema = z.object({
  apiUrl: z.string().url(),
  adminToken: z.string().min(20),
  writeKey: z.string().min(20),
  mailboxUrl: z.string().url(),
  pid: z.number().int(),
  endpoints: z.object({
    dynamodb: z.string().url(),
    sqs: z.string().url(),
    sesv2: z.string().url(),
    events: z.string().url(),
  }),
});
type LocalJson = z.infer<typeof localJsonSchema>;

interface Running {
  child: ChildProcess;
  output: () => string;
  local: LocalJson;
}

/** `npm start` in its own process group, so a signal reaches the whole tree as Ctrl-C in a terminal would. */
function start(
  args: string[] = [],
  env: Record<string, string> = {},
): ChildProcess & { output: () => string } {
  let output = '';
  const child = spawn('npm', ['start', '--', ...args], {
    cwd: projectRoot,
    env: { ...process.env, NURTURE_DATA_DIR: dataDirectory, PORT: '0', ...env },
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout?.on('data', (c: Buffer) => {
    output += c.toString();
  });
  child.stderr?.on('data', (c: Buffer) => {
    output += c.toString();
  });
  return Object.assign(child, { output: () => output });
}

async function startAndWait(args: string[] = [], env: Record<string, string> = {}): Promise<Running> {
  rmSync(localJsonPath, { force: true });
  const child = start(args, env);
  const deadline = Date.now() + 120_000;
  while (!existsSync(localJsonPath) || !child.output().includes('Press Ctrl-C')) {
    if (child.exitCode !== null) throw new Error(`npm start exited early:\n${child.output()}`);
    if (Date.now() > deadline) throw new Error(`npm start did not get ready:\n${child.output()}`);
    await new Promise((r) => setTimeout(r, 200));
  }
  return {
    child,
    output: child.output,
    local: localJsonSchema.parse(JSON.parse(readFileSync(localJsonPath, 'utf8'))),
  };
}

function processGroupAlive(pid: number): boolean {
  try {
    process.kill(-pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function interrupt(running: Running): Promise<number> {
  const pid = running.child.pid ?? 0;
  const started = Date.now();
  process.kill(-pid, 'SIGINT');
  while (processGroupAlive(pid)) {
    if (Date.now() - started > 15_000) throw new Error('the local stack did not stop within 15 s');
    await new Promise((r) => setTimeout(r, 100));
  }
  return Date.now() - started;
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
  stack = await startAndWait(['--fresh', '--quiet']);
});

afterAll(async () => {
  if (stack && processGroupAlive(stack.child.pid ?? 0)) process.kill(-(stack.child.pid ?? 0), 'SIGKILL');
  rmSync(dataDirectory, { recursive: true, force: true });
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

    stack = await startAndWait(['--quiet']);
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

    stack = await startAndWait(['--quiet']);

    const running = dynamoProcesses().trim().split('\n');
    expect(running).toHaveLength(1);
    expect(running[0]).not.toBe(orphan);
  });

  it('starts clean with --fresh and honours NURTURE_ADMIN_TOKEN', async () => {
    await interrupt(stack);

    stack = await startAndWait(['--fresh', '--quiet'], { NURTURE_ADMIN_TOKEN: 'e2e-admin-token-0123456789' });
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
