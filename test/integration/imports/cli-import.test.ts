// The CSV import against a stand-in /v1/batch: batching, retries, refused rows, the error report and resuming.
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { parse } from 'csv-parse/sync';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import * as z from 'zod';
import { parseFieldMapping } from '../../../functions/imports/csv-import.ts';
import {
  errorReportPathFor,
  ImportFailedError,
  type ImportOptions,
  MAX_ATTEMPTS,
  MAX_REQUEST_BYTES,
  runImport,
  statePathFor,
} from '../../../lib/cli/import.ts';

const WRITE_KEY = 'wk_import_test';
const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));

const identifyCall = z.object({
  type: z.literal('identify'),
  messageId: z.string(),
  userId: z.string().optional(),
  anonymousId: z.string().optional(),
  traits: z.record(z.string(), z.unknown()),
  timestamp: z.string(),
});
const batchBody = z.object({ batch: z.array(identifyCall), context: z.record(z.string(), z.unknown()) });
type IdentifyCall = z.infer<typeof identifyCall>;

/** Imitates the tracking API's /v1/batch: stores by messageId, and misbehaves on request. */
class FakeTrackingApi {
  readonly requests: { readonly bytes: number; readonly calls: IdentifyCall[]; readonly context: unknown }[] =
    [];
  readonly stored = new Map<string, IdentifyCall>();
  /** Answers queued here are given, in order, before the normal behaviour. */
  readonly scripted: { readonly status: number; readonly retryAfter?: string }[] = [];
  /** Every request from this one on (1-based) answers 503. */
  failFromRequest = Number.POSITIVE_INFINITY;
  private readonly server: Server;

  constructor() {
    this.server = createServer((request, response) => {
      void this.handle(request, response);
    });
  }

  async start(): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    const address = this.server.address();
    if (address === null || typeof address === 'string') throw new Error('the fake API has no TCP address');
    return `http://127.0.0.1:${address.port}`;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(Buffer.from(chunk));
    const raw = Buffer.concat(chunks);
    const reply = (status: number, body: unknown, headers: Record<string, string> = {}) => {
      response.writeHead(status, { 'content-type': 'application/json', ...headers });
      response.end(JSON.stringify(body));
    };
    if (request.url !== '/v1/batch' || request.method !== 'POST') return reply(404, { error: 'not found' });
    if (request.headers.authorization !== `Basic ${Buffer.from(`${WRITE_KEY}:`).toString('base64')}`) {
      return reply(401, { success: false, error: 'Unknown or revoked write key' });
    }
    const body = batchBody.parse(JSON.parse(raw.toString('utf8')));
    this.requests.push({ bytes: raw.length, calls: body.batch, context: body.context });
    const scripted = this.scripted.shift();
    if (scripted !== undefined) {
      return reply(
        scripted.status,
        { success: false },
        scripted.retryAfter ? { 'retry-after': scripted.retryAfter } : {},
      );
    }
    if (this.requests.length >= this.failFromRequest)
      return reply(503, { success: false }, { 'retry-after': '0' });
    if (body.batch.some((call) => call.userId === 'REFUSED')) {
      return reply(400, { success: false, error: 'traits.clv must be a number' });
    }
    // Like the real API: an event that can never succeed is refused on its own inside a 200.
    const errors = body.batch.flatMap((call, index) =>
      call.userId === 'PARTLY-REFUSED' ? [{ index, error: 'userId is reserved' }] : [],
    );
    let accepted = 0;
    let duplicates = 0;
    for (const [index, call] of body.batch.entries()) {
      if (errors.some((e) => e.index === index)) continue;
      if (this.stored.has(call.messageId)) duplicates += 1;
      else accepted += 1;
      this.stored.set(call.messageId, call);
    }
    return reply(200, { success: true, accepted, duplicates, rejected: errors.length, errors });
  }
}

let api: FakeTrackingApi;
let apiUrl: string;
let directory: string;
let sleeps: number[];

beforeEach(async () => {
  api = new FakeTrackingApi();
  apiUrl = await api.start();
  directory = mkdtempSync(join(tmpdir(), 'nurture-import-'));
  sleeps = [];
});

afterEach(async () => {
  await api.stop();
  rmSync(directory, { recursive: true, force: true });
});

const HEADER = 'customer_id,email,clv,subscription_ends,plan';

function csvFile(lines: readonly string[], name = 'customers.csv'): string {
  const path = join(directory, name);
  writeFileSync(path, `${[HEADER, ...lines].join('\n')}\n`);
  return path;
}

function customers(count: number): string[] {
  return Array.from({ length: count }, (_, i) => `c-${i + 1},c${i + 1}@example.com,${i * 10},2027-02-01,pro`);
}

function options(file: string, overrides: Partial<ImportOptions> = {}): ImportOptions {
  return {
    file,
    userIdColumn: 'customer_id',
    emailColumn: 'email',
    mappings: [
      parseFieldMapping('clv=clv:number'),
      parseFieldMapping('subscription_ends=subscription.endsAt:date'),
      parseFieldMapping('plan=subscription.plan'),
    ],
    allColumns: false,
    batchSize: 100,
    api: { url: apiUrl, writeKey: WRITE_KEY },
    ...overrides,
  };
}

const quietIo = () => ({
  sleep: async (ms: number) => {
    sleeps.push(ms);
  },
  stderr: { isTTY: false, write: () => true },
});

function errorReport(file: string): string[][] {
  return parse(readFileSync(errorReportPathFor(file), 'utf8'), { columns: false, from_line: 2 });
}

describe('importing a CRM file', () => {
  it('stores one identify per row with nested, typed subscription traits', async () => {
    const file = csvFile(['c-1,ada@example.com,1250.5,2027-02-01,pro']);

    const summary = await runImport(options(file), quietIo());

    expect(summary).toMatchObject({ rowsRead: 1, rowsSent: 1, rowsSkipped: 0, batches: 1 });
    expect([...api.stored.values()]).toEqual([
      expect.objectContaining({
        userId: 'c-1',
        traits: {
          email: 'ada@example.com',
          clv: 1250.5,
          subscription: { endsAt: '2027-02-01T00:00:00.000Z', plan: 'pro' },
        },
      }),
    ]);
  });

  it('names the import library once per request rather than on every call', async () => {
    const file = csvFile(customers(2));

    await runImport(options(file), quietIo());

    expect(api.requests[0]?.context).toEqual({
      library: { name: 'nurture-import', version: expect.any(String) },
      source: 'csv',
    });
  });

  it('sends rows in batches of the requested size', async () => {
    const file = csvFile(customers(250));

    const summary = await runImport(options(file, { batchSize: 100 }), quietIo());

    expect(api.requests.map((r) => r.calls.length)).toEqual([100, 100, 50]);
    expect(summary).toMatchObject({ rowsSent: 250, batches: 3 });
  });

  it('splits batches so that no request exceeds 500 KB', async () => {
    const bio = 'x'.repeat(20_000);
    const path = join(directory, 'long.csv');
    writeFileSync(
      path,
      `customer_id,bio\n${Array.from({ length: 60 }, (_, i) => `c-${i},${bio}`).join('\n')}\n`,
    );

    const summary = await runImport(
      options(path, { emailColumn: undefined, mappings: [parseFieldMapping('bio=bio')] }),
      quietIo(),
    );

    expect(summary.rowsSent).toBe(60);
    expect(api.requests.length).toBeGreaterThan(2);
    expect(Math.max(...api.requests.map((r) => r.bytes))).toBeLessThanOrEqual(MAX_REQUEST_BYTES);
  });

  it('stores each row once when the same file is imported twice', async () => {
    const file = csvFile(customers(30));

    await runImport(options(file), quietIo());
    await runImport(options(file), quietIo());

    expect(api.requests.flatMap((r) => r.calls)).toHaveLength(60);
    expect(api.stored.size).toBe(30);
  });

  it('sends nothing in a dry run but still reports the bad rows', async () => {
    const file = csvFile(['c-1,ada@example.com,lots,2027-02-01,pro', ...customers(3)]);

    const summary = await runImport(options(file, { dryRun: true }), quietIo());

    expect(api.requests).toHaveLength(0);
    expect(summary).toMatchObject({ rowsRead: 4, rowsSent: 3, rowsSkipped: 1, dryRun: true });
  });
});

describe('rows that cannot be imported', () => {
  it('go to the error report with row, line, column, reason and the original text, and the rest is sent', async () => {
    const file = csvFile([
      'c-1,ada@example.com,lots,2027-02-01,pro',
      ',,5,2027-02-01,pro',
      'c-3,c3@example.com,5,2027-02-01,pro,extra column',
      'c-4,c4@example.com,5,2027-02-01,pro',
    ]);

    const summary = await runImport(options(file), quietIo());

    expect(summary).toMatchObject({
      rowsRead: 4,
      rowsSent: 1,
      rowsSkipped: 3,
      errorReportPath: errorReportPathFor(file),
    });
    const report = errorReport(file);
    expect(report.map(([row, line, column]) => [row, line, column])).toEqual([
      ['1', '2', 'clv'],
      ['2', '3', 'customer_id|email'],
      ['3', '4', ''],
    ]);
    expect(report[0]?.[4]).toBe('c-1,ada@example.com,lots,2027-02-01,pro');
    expect(report[2]?.[3]).toMatch(/Invalid Record Length/);
    expect([...api.stored.values()].map((c) => c.userId)).toEqual(['c-4']);
  });

  it('are found row by row when the API refuses a whole batch with 400', async () => {
    const file = csvFile([
      'c-1,a@example.com,1,2027-02-01,pro',
      'REFUSED,r@example.com,1,2027-02-01,pro',
      'c-3,c@example.com,1,2027-02-01,pro',
    ]);

    const summary = await runImport(options(file), quietIo());

    expect(summary).toMatchObject({ rowsSent: 2, rowsSkipped: 1 });
    expect(api.requests.map((r) => r.calls.length)).toEqual([3, 1, 1, 1]);
    expect(errorReport(file)).toEqual([
      [
        '2',
        '3',
        '',
        'refused by the API (400): traits.clv must be a number',
        'REFUSED,r@example.com,1,2027-02-01,pro',
      ],
    ]);
    expect([...api.stored.values()].map((c) => c.userId)).toEqual(['c-1', 'c-3']);
  });

  it('are reported when the API refuses single events inside an accepted batch', async () => {
    const file = csvFile([
      'c-1,a@example.com,1,2027-02-01,pro',
      'PARTLY-REFUSED,p@example.com,1,2027-02-01,pro',
    ]);

    const summary = await runImport(options(file), quietIo());

    expect(summary).toMatchObject({ rowsSent: 1, rowsSkipped: 1, batches: 1 });
    expect(errorReport(file)[0]?.[3]).toBe('refused by the API: userId is reserved');
  });

  it('leave no stale error report behind when a later run has none', async () => {
    const file = csvFile(['c-1,a@example.com,lots,2027-02-01,pro']);
    await runImport(options(file), quietIo());
    writeFileSync(file, `${HEADER}\nc-1,a@example.com,1,2027-02-01,pro\n`);

    const summary = await runImport(options(file), quietIo());

    expect(summary.errorReportPath).toBeUndefined();
    expect(existsSync(errorReportPathFor(file))).toBe(false);
  });
});

describe('an API under pressure', () => {
  it('is retried after the Retry-After it asks for, and every row is stored once', async () => {
    api.scripted.push({ status: 429, retryAfter: '2' });
    const file = csvFile(customers(5));

    const summary = await runImport(options(file), quietIo());

    expect(sleeps).toEqual([2000]);
    expect(summary.rowsSent).toBe(5);
    expect(api.stored.size).toBe(5);
  });

  it('is retried with growing backoff when it gives no Retry-After', async () => {
    api.scripted.push({ status: 503 }, { status: 502 }, { status: 500 });
    const file = csvFile(customers(1));

    await runImport(options(file), { ...quietIo(), random: () => 0.5 });

    expect(sleeps).toEqual([375, 750, 1500]);
    expect(api.stored.size).toBe(1);
  });

  it('fails the run after eight attempts, keeping the progress of acknowledged batches', async () => {
    api.failFromRequest = 3;
    const file = csvFile(customers(50));

    const failure = await runImport(options(file, { batchSize: 10 }), quietIo()).catch(
      (error: unknown) => error,
    );

    expect(failure).toBeInstanceOf(ImportFailedError);
    expect(String(failure)).toMatch(/kept failing \(HTTP 503\) after 8 attempts/);
    expect(sleeps).toHaveLength(MAX_ATTEMPTS - 1);
    expect(JSON.parse(readFileSync(statePathFor(file), 'utf8'))).toMatchObject({ rowsDone: 20 });
  });

  it('resumes after the rows an interrupted run finished, when the file is unchanged', async () => {
    api.failFromRequest = 3;
    const file = csvFile(customers(50));
    await runImport(options(file, { batchSize: 10 }), quietIo()).catch(() => undefined);
    api.failFromRequest = Number.POSITIVE_INFINITY;
    const before = api.requests.length;

    const summary = await runImport(options(file, { batchSize: 10, resume: true }), quietIo());

    const resent = api.requests.slice(before).flatMap((r) => r.calls.map((c) => c.userId));
    expect(resent).toEqual(
      customers(50)
        .slice(20)
        .map((line) => line.split(',')[0]),
    );
    expect(summary).toMatchObject({ rowsResumed: 20, rowsRead: 30, rowsSent: 30 });
    expect(api.stored.size).toBe(50);
    expect(existsSync(statePathFor(file))).toBe(false);
  });

  it('imports from the start on --resume when the file changed since the interrupted run', async () => {
    api.failFromRequest = 2;
    const file = csvFile(customers(20));
    await runImport(options(file, { batchSize: 10 }), quietIo()).catch(() => undefined);
    api.failFromRequest = Number.POSITIVE_INFINITY;
    writeFileSync(file, `${HEADER}\n${customers(25).join('\n')}\n`);

    const summary = await runImport(options(file, { batchSize: 10, resume: true }), quietIo());

    expect(summary).toMatchObject({ rowsResumed: 0, rowsRead: 25 });
  });
});

describe('failures the operator must fix', () => {
  it('stop the run when the write key is refused', async () => {
    const file = csvFile(customers(1));

    const run = runImport(options(file, { api: { url: apiUrl, writeKey: 'wk_wrong' } }), quietIo());

    await expect(run).rejects.toThrow(/refused the write key \(HTTP 401\)/);
  });

  it('stop the run before sending when a mapped column is missing from the header', async () => {
    const file = csvFile(customers(1));

    const run = runImport(options(file, { mappings: [parseFieldMapping('lifetime=clv:number')] }), quietIo());

    await expect(run).rejects.toThrow(/no column "lifetime"/);
    expect(api.requests).toHaveLength(0);
  });
});

describe('progress', () => {
  it('prints a line every 10,000 rows when stderr is not a terminal', async () => {
    const file = csvFile(customers(20_500));
    const lines: string[] = [];

    await runImport(options(file, { batchSize: 500 }), {
      ...quietIo(),
      stderr: { isTTY: false, write: (text: string) => lines.push(text) },
    });

    expect(lines).toEqual([expect.stringMatching(/^10,000 rows, /), expect.stringMatching(/^20,000 rows, /)]);
    expect(api.stored.size).toBe(20_500);
  });
  it('redraws a single line on a terminal and clears it at the end', async () => {
    const file = csvFile(customers(3));
    const writes: string[] = [];
    let ms = Date.parse('2026-11-22T18:00:00.000Z');

    await runImport(options(file), {
      ...quietIo(),
      now: () => {
        ms += 300;
        return new Date(ms);
      },
      stderr: { isTTY: true, write: (text: string) => writes.push(text) },
    });

    expect(
      writes.filter((w) => w.includes('rows/s')).every((w) => w.startsWith('\r') && !w.includes('\n')),
    ).toBe(true);
    expect(writes.filter((w) => w.includes('rows/s')).length).toBeGreaterThan(0);
    expect(writes.at(-1)).toBe('\r\x1b[K');
  });
});

describe('the nurture CLI', () => {
  it('imports a file end to end and points to the error report', async () => {
    const file = csvFile([
      'c-1,ada@example.com,1250.5,2027-02-01,pro',
      'c-2,b@example.com,lots,2027-02-01,pro',
    ]);
    const { NURTURE_API_URL: _url, NURTURE_WRITE_KEY: _key, ...env } = process.env;

    const { stdout } = await promisify(execFile)(
      'npx',
      [
        'tsx',
        'bin/cli.ts',
        'import',
        file,
        '--user-id',
        'customer_id',
        '--email',
        'email',
        '--map',
        'clv=clv:number',
        '--map',
        'subscription_ends=subscription.endsAt:date',
        '--api',
        apiUrl,
        '--write-key',
        WRITE_KEY,
      ],
      { cwd: REPO_ROOT, env },
    );

    expect(stdout).toMatch(/2 rows read, 1 sent, 1 skipped, 1 batches/);
    expect(stdout).toContain(errorReportPathFor(file));
    expect([...api.stored.values()].map((c) => c.traits)).toEqual([
      { email: 'ada@example.com', clv: 1250.5, subscription: { endsAt: '2027-02-01T00:00:00.000Z' } },
    ]);
  });

  it('exits with 1 and a clear message when the write key is refused', async () => {
    const file = csvFile(customers(1));

    const failure = await promisify(execFile)(
      'npx',
      [
        'tsx',
        'bin/cli.ts',
        'import',
        file,
        '--user-id',
        'customer_id',
        '--api',
        apiUrl,
        '--write-key',
        'wk_wrong',
      ],
      { cwd: REPO_ROOT },
    ).catch((error: unknown) => error);

    expect(failure).toMatchObject({ code: 1, stderr: expect.stringMatching(/Import failed: .*write key/) });
  });
});
