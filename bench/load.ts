// `npm run load`: Segment batches at a bounded rate against the local stack; proves sent = stored, reports latency.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import {
  type AttributeValue,
  DynamoDBClient,
  ListTablesCommand,
  ScanCommand,
} from '@aws-sdk/client-dynamodb';
import autocannon, { type Context, type Result } from 'autocannon';
import * as z from 'zod';

const projectRoot = fileURLToPath(new URL('..', import.meta.url));

export interface LoadTarget {
  readonly apiUrl: string;
  readonly adminToken: string;
  readonly dynamodbEndpoint: string;
}

export interface LoadOptions {
  readonly durationSeconds: number;
  /** Requests per second across all connections. */
  readonly rate: number;
  readonly eventsPerRequest: number;
  /** @default 4 (each connection can keep one collect instance busy; 2 cores run few at once) */
  readonly connections?: number;
  /** Distinct anonymous visitors the traffic is spread over (events of one visitor contend for one profile). */
  readonly visitors?: number;
}

export interface LoadReport {
  readonly requests: number;
  readonly statusCounts: Readonly<Record<string, number>>;
  /** Requests that got no answer in time (connection errors and timeouts); their batches are retried. */
  readonly noAnswer: number;
  readonly errorRate: number;
  readonly latencyMs: {
    readonly p50: number;
    readonly p90: number;
    readonly p99: number;
    readonly max: number;
  };
  readonly achievedRate: number;
  readonly eventsSent: number;
  /** Events whose batch got a 2xx, from the load or from a retry of a 429/5xx/unanswered batch. */
  readonly eventsAcknowledged: number;
  readonly batchesRetried: number;
  /** Events never acknowledged even after retries: excluded from the loss count, reported. */
  readonly eventsUnacknowledged: number;
  readonly eventsStored: number;
  /** Acknowledged events that are not stored: must be 0. */
  readonly lost: number;
}

interface Batch {
  readonly id: number;
  readonly body: string;
  readonly messageIds: readonly string[];
}

const sourceAnswer = z.object({ id: z.string(), writeKey: z.string() });

/** One realistic Segment batch: a page view, product views and, now and then, an identify of the visitor. */
function segmentBatch(options: { runId: string; id: number; visitor: number; events: number }): Batch {
  const anonymousId = `${options.runId}-visitor-${options.visitor}`;
  const sentAt = new Date().toISOString();
  const context = {
    // A documentation address (RFC 5737): it is truncated before storage like any client address.
    ip: `198.51.100.${options.visitor % 250}`,
    userAgent:
      'Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15',
    page: {
      url: `https://shop.example.com/products/${options.id % 40}?utm_source=newsletter&utm_medium=email`,
      referrer: 'https://www.google.com/',
      path: `/products/${options.id % 40}`,
    },
    library: { name: 'nurture-load', version: '1' },
  };
  const batch = Array.from({ length: options.events }, (_, i) => {
    const messageId = `${options.runId}-${options.id}-${i}`;
    const common = { messageId, anonymousId, timestamp: sentAt, context };
    if (i === 0) return { ...common, type: 'page', name: 'Product' };
    if (i === options.events - 1 && options.id % 10 === 0) {
      return {
        ...common,
        type: 'identify',
        userId: `${options.runId}-user-${options.visitor}`,
        traits: { plan: 'trial' },
      };
    }
    return {
      ...common,
      type: 'track',
      event: 'Product Viewed',
      properties: { productId: `p-${options.id % 40}`, price: 19.9, currency: 'EUR' },
    };
  });
  return {
    id: options.id,
    body: JSON.stringify({ batch, sentAt }),
    messageIds: batch.map((e) => e.messageId),
  };
}

async function createSource(target: LoadTarget): Promise<{ id: string; writeKey: string }> {
  const response = await fetch(`${target.apiUrl}/admin/sources`, {
    method: 'POST',
    headers: { authorization: `Bearer ${target.adminToken}`, 'content-type': 'application/json' },
    body: JSON.stringify({ name: `load test ${new Date().toISOString()}` }),
  });
  if (response.status !== 201)
    throw new Error(`creating a source failed: ${response.status} ${await response.text()}`);
  return sourceAnswer.parse(await response.json());
}

/** The local profile table: the one table DynamoDB Local holds for the stack. */
async function profileTableName(dynamodb: DynamoDBClient): Promise<string> {
  const { TableNames = [] } = await dynamodb.send(new ListTablesCommand({}));
  const table = TableNames.find((name) => name.includes('ProfileStore')) ?? TableNames[0];
  if (table === undefined) throw new Error('DynamoDB Local holds no table');
  return table;
}

/** Message ids of the events stored for a source (event items are `EVT#<sourceId>#<messageId>`). */
export async function storedMessageIds(target: LoadTarget, sourceId: string): Promise<Set<string>> {
  const dynamodb = new DynamoDBClient({
    endpoint: target.dynamodbEndpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
  try {
    const tableName = await profileTableName(dynamodb);
    const prefix = `EVT#${sourceId}#`;
    const ids = new Set<string>();
    let startKey: Record<string, AttributeValue> | undefined;
    do {
      const page = await dynamodb.send(
        new ScanCommand({
          TableName: tableName,
          FilterExpression: 'begins_with(sk, :prefix)',
          ExpressionAttributeValues: { ':prefix': { S: prefix } },
          ProjectionExpression: 'sk',
          ExclusiveStartKey: startKey,
        }),
      );
      for (const item of page.Items ?? []) {
        const sk = item.sk?.S;
        if (sk !== undefined) ids.add(sk.slice(prefix.length));
      }
      startKey = page.LastEvaluatedKey;
    } while (startKey !== undefined);
    return ids;
  } finally {
    dynamodb.destroy();
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Sends a batch again, as a Segment client would after a 429/5xx or no answer: same messageIds, Retry-After honoured. */
async function retry(batch: Batch, url: string, authorization: string): Promise<boolean> {
  for (let attempt = 0; attempt < 8; attempt++) {
    try {
      const response = await fetch(url, {
        method: 'POST',
        headers: { authorization, 'content-type': 'application/json' },
        body: batch.body,
        signal: AbortSignal.timeout(30_000),
      });
      await response.arrayBuffer();
      if (response.ok) return true;
      if (response.status < 500 && response.status !== 429) return false;
      const after = Number(response.headers.get('retry-after'));
      await sleep(Number.isFinite(after) && after > 0 ? after * 1000 : 500 * 2 ** attempt);
    } catch {
      await sleep(500 * 2 ** attempt);
    }
  }
  return false;
}

/** Runs the load against a started stack and checks every acknowledged event was stored. */
export async function runLoad(target: LoadTarget, options: LoadOptions): Promise<LoadReport> {
  const source = await createSource(target);
  const runId = `load${Date.now().toString(36)}`;
  const visitors = options.visitors ?? 500;
  const authorization = `Basic ${Buffer.from(`${source.writeKey}:`).toString('base64')}`;
  const url = `${target.apiUrl}/v1/batch`;

  const connections = options.connections ?? 4;
  const acknowledged = new Set<string>();
  let next = 0;
  let eventsSent = 0;
  // Warm-up: one batch per connection, twice, so cold starts of the collect instances are not measured as load.
  for (let round = 0; round < 2; round++) {
    const warmUp = Array.from({ length: connections }, () => {
      const id = next++;
      return segmentBatch({ runId, id, visitor: id % visitors, events: options.eventsPerRequest });
    });
    eventsSent += warmUp.reduce((sum, batch) => sum + batch.messageIds.length, 0);
    const outcomes = await Promise.all(warmUp.map((batch) => retry(batch, url, authorization)));
    outcomes.forEach((ok, index) => {
      const batch = warmUp[index];
      if (ok && batch) for (const m of batch.messageIds) acknowledged.add(m);
    });
  }

  const inFlight = new Map<number, Batch>();
  const toRetry: Batch[] = [];

  const result = await new Promise<Result>((resolve, reject) => {
    autocannon(
      {
        url,
        connections,
        duration: options.durationSeconds,
        overallRate: options.rate,
        timeout: 30,
        requests: [
          {
            method: 'POST',
            headers: { authorization, 'content-type': 'application/json' },
            setupRequest: (request, context: Context) => {
              const id = next++;
              const batch = segmentBatch({
                runId,
                id,
                visitor: id % visitors,
                events: options.eventsPerRequest,
              });
              inFlight.set(id, batch);
              eventsSent += batch.messageIds.length;
              context.batchId = id;
              return { ...request, body: batch.body };
            },
            onResponse: (status, _body, context: Context) => {
              const id = typeof context.batchId === 'number' ? context.batchId : -1;
              const batch = inFlight.get(id);
              if (batch === undefined) return;
              inFlight.delete(id);
              if (status >= 200 && status < 300) for (const m of batch.messageIds) acknowledged.add(m);
              else if (status === 429 || status >= 500) toRetry.push(batch);
            },
          },
        ],
      },
      (error, output) => (error ? reject(error) : resolve(output)),
    );
  });

  // Batches cut off by the end of the run or a timeout never got an answer: a client would send them again.
  const pending = [...toRetry, ...inFlight.values()];
  const retried = pending.length;
  for (let i = 0; i < pending.length; i += 4) {
    const group = pending.slice(i, i + 4);
    const outcomes = await Promise.all(group.map((batch) => retry(batch, url, authorization)));
    outcomes.forEach((ok, index) => {
      const batch = group[index];
      if (ok && batch) for (const m of batch.messageIds) acknowledged.add(m);
    });
  }

  // 200 means stored, so counts are final at once; polling until two counts agree guards against a slow scan.
  let stored = await storedMessageIds(target, source.id);
  for (let round = 0; round < 10; round++) {
    await sleep(1000);
    const again = await storedMessageIds(target, source.id);
    if (again.size === stored.size) break;
    stored = again;
  }
  const lost = [...acknowledged].filter((m) => !stored.has(m)).length;
  const statusCounts = Object.fromEntries(
    Object.entries(result.statusCodeStats ?? {}).map(([code, { count }]) => [code, Number(count)]),
  );
  const answered = Object.values(statusCounts).reduce((a, b) => a + b, 0);
  const failed = Object.entries(statusCounts)
    .filter(([code]) => Number(code) >= 400)
    .reduce((sum, [, count]) => sum + count, 0);
  const requests = answered + result.errors;
  return {
    requests,
    statusCounts,
    noAnswer: result.errors,
    errorRate: requests === 0 ? 0 : (failed + result.errors) / requests,
    latencyMs: {
      p50: result.latency.p50,
      p90: result.latency.p90,
      p99: result.latency.p99,
      max: result.latency.max,
    },
    achievedRate: answered / result.duration,
    eventsSent,
    eventsAcknowledged: acknowledged.size,
    batchesRetried: retried,
    eventsUnacknowledged: eventsSent - acknowledged.size,
    eventsStored: stored.size,
    lost,
  };
}

export function formatReport(report: LoadReport, extra: Readonly<Record<string, string>> = {}): string {
  const count = (code: string) => report.statusCounts[code] ?? 0;
  const byClass = (prefix: string) =>
    Object.entries(report.statusCounts)
      .filter(([code]) => code.startsWith(prefix))
      .reduce((sum, [, n]) => sum + n, 0);
  const lines: Array<[string, string]> = [
    ['requests sent', String(report.requests)],
    ['achieved rate', `${report.achievedRate.toFixed(1)} req/s`],
    ['2xx / 4xx / 5xx', `${byClass('2')} / ${byClass('4')} / ${byClass('5')}`],
    ['429 / 503', `${count('429')} / ${count('503')}`],
    ['no answer (errors, timeouts)', String(report.noAnswer)],
    ['error rate', `${(report.errorRate * 100).toFixed(2)} %`],
    [
      'latency p50 / p90 / p99 / max',
      `${report.latencyMs.p50} / ${report.latencyMs.p90} / ${report.latencyMs.p99} / ${report.latencyMs.max} ms`,
    ],
    ['events sent', String(report.eventsSent)],
    ['batches retried (429/5xx/no answer)', String(report.batchesRetried)],
    ['events acknowledged (2xx)', String(report.eventsAcknowledged)],
    ['events never acknowledged (excluded)', String(report.eventsUnacknowledged)],
    ['events stored', String(report.eventsStored)],
    ['lost (acknowledged, not stored)', String(report.lost)],
    ...Object.entries(extra),
  ];
  const width = Math.max(...lines.map(([label]) => label.length));
  return lines.map(([label, value]) => `  ${label.padEnd(width)}  ${value}`).join('\n');
}

/** Resident memory of a process and all its descendants (Linux `ps`), in MB. */
function treeRssMb(rootPid: number): number {
  const rows = execFileSync('ps', ['-e', '-o', 'pid=,ppid=,rss='], { encoding: 'utf8' })
    .trim()
    .split('\n')
    .map((line) => line.trim().split(/\s+/).map(Number));
  const inTree = new Set([rootPid]);
  let grew = true;
  while (grew) {
    grew = false;
    for (const [pid, ppid] of rows) {
      if (pid !== undefined && ppid !== undefined && inTree.has(ppid) && !inTree.has(pid)) {
        inTree.add(pid);
        grew = true;
      }
    }
  }
  const kb = rows
    .filter(([pid]) => pid !== undefined && inTree.has(pid))
    .reduce((sum, [, , rss]) => sum + (rss ?? 0), 0);
  return kb / 1024;
}

const localJson = z.object({
  apiUrl: z.string(),
  adminToken: z.string(),
  endpoints: z.object({ dynamodb: z.string() }),
});

/** `npm start --fresh` on free loopback ports in a temporary data directory, in its own process group. */
async function startStack(dataDirectory: string): Promise<{ child: ChildProcess; target: LoadTarget }> {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', 'bin/local.ts', '--quiet', '--fresh', '--port', '0'],
    {
      cwd: projectRoot,
      env: { ...process.env, NURTURE_DATA_DIR: dataDirectory },
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  const path = join(dataDirectory, 'local.json');
  const deadline = Date.now() + 300_000;
  while (!existsSync(path) || !output.includes('Press Ctrl-C')) {
    if (child.exitCode !== null) throw new Error(`the local stack exited:\n${output}`);
    if (Date.now() > deadline) throw new Error(`the local stack did not start in 5 minutes:\n${output}`);
    await sleep(250);
  }
  const local = localJson.parse(JSON.parse(readFileSync(path, 'utf8')));
  return {
    child,
    target: {
      apiUrl: local.apiUrl,
      adminToken: local.adminToken,
      dynamodbEndpoint: local.endpoints.dynamodb,
    },
  };
}

async function stopStack(child: ChildProcess): Promise<void> {
  const pid = child.pid;
  if (pid === undefined || child.exitCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  process.kill(-pid, 'SIGINT');
  await Promise.race([exited, sleep(15_000)]);
  if (child.exitCode === null) process.kill(-pid, 'SIGKILL');
}

const HELP = `Usage: npm run load [-- options]

Starts the local stack (fresh, temporary data directory, loopback), creates a source, POSTs Segment batches at a fixed
rate with autocannon, retries what got 429/5xx or no answer, then checks every acknowledged event is stored.

Options:
  --duration <s>   seconds of load (default 180)
  --rate <n>       requests per second (default 5: what 2 shared cores sustain with the whole stack local)
  --events <n>     events per batch (default 5)
  --connections <n> concurrent connections (default 4)
  -h, --help       show this help

Exits 1 when an acknowledged event is not stored.`;

function positive(name: string, text: string | undefined, fallback: number): number {
  const value = text === undefined ? fallback : Number(text);
  if (!Number.isFinite(value) || value <= 0)
    throw new Error(`--${name} must be a positive number, got "${text}"`);
  return value;
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      duration: { type: 'string' },
      rate: { type: 'string' },
      events: { type: 'string' },
      connections: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
  });
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  const options = {
    durationSeconds: positive('duration', values.duration, 180),
    rate: positive('rate', values.rate, 5),
    eventsPerRequest: Math.round(positive('events', values.events, 5)),
    connections: Math.round(positive('connections', values.connections, 4)),
  };
  const dataDirectory = mkdtempSync(join(tmpdir(), 'nurture-load-'));
  console.log('Starting the local stack (fresh data in a temporary directory)...');
  const { child, target } = await startStack(dataDirectory);
  let peakRss = 0;
  const sampler = setInterval(() => {
    if (child.pid !== undefined) peakRss = Math.max(peakRss, treeRssMb(child.pid));
  }, 2000);
  try {
    const idleRss = child.pid === undefined ? 0 : treeRssMb(child.pid);
    console.log(
      `Load: ${options.rate} req/s × ${options.eventsPerRequest} events for ${options.durationSeconds} s over ${options.connections} connections...`,
    );
    const report = await runLoad(target, options);
    clearInterval(sampler);
    console.log(
      formatReport(report, {
        'stack RSS idle / peak (all processes)': `${idleRss.toFixed(0)} / ${peakRss.toFixed(0)} MB`,
        'load generator RSS': `${(process.memoryUsage().rss / 1024 / 1024).toFixed(0)} MB`,
      }),
    );
    if (report.lost > 0) {
      console.error(`FAIL: ${report.lost} acknowledged events were not stored.`);
      return 1;
    }
    return 0;
  } finally {
    clearInterval(sampler);
    await stopStack(child);
    rmSync(dataDirectory, { recursive: true, force: true });
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  main().then(
    (code) => process.exit(code),
    (error: unknown) => {
      console.error(error instanceof Error ? error.message : error);
      process.exit(1);
    },
  );
}
