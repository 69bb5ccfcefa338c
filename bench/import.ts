// Import benchmark: 100,000 generated CRM rows (1% bad) through the import CLI into an in-process /v1/batch.
import { closeSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseFieldMapping } from '../functions/imports/csv-import.ts';
import { parseJsonText } from '../functions/tracking/ingest/body.ts';
import { parseSegmentRequest } from '../functions/tracking/ingest/segment.ts';
import type { NormalizedEvent } from '../functions/tracking/model.ts';
import { type ImportFormat, type ImportOptions, runImport } from '../lib/cli/import.ts';

export const BENCH_WRITE_KEY = 'wk_import_bench';

/** A stand-in for the tracking API's POST /v1/batch that validates bodies with the API's own parser. */
export interface FakeBatchApi {
  readonly url: string;
  /** messageIds of every call accepted, each once, as the API's dedupe would store them. */
  readonly stored: ReadonlySet<string>;
  /** Calls accepted per type. */
  readonly callsByType: ReadonlyMap<string, number>;
  /** The accepted calls as the API normalized them, in arrival order; kept only when asked for. */
  readonly events: readonly NormalizedEvent[];
  readonly requests: () => number;
  stop(): Promise<void>;
}

export async function startFakeBatchApi({
  keepEvents = false,
}: {
  keepEvents?: boolean;
} = {}): Promise<FakeBatchApi> {
  const stored = new Set<string>();
  const events: NormalizedEvent[] = [];
  const callsByType = new Map<string, number>();
  let requests = 0;
  const reply = (response: ServerResponse, status: number, body: unknown): void => {
    response.writeHead(status, { 'content-type': 'application/json' });
    response.end(JSON.stringify(body));
  };
  const handle = async (request: IncomingMessage, response: ServerResponse): Promise<void> => {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(Buffer.from(chunk));
    requests += 1;
    if (request.headers.authorization !== `Basic ${Buffer.from(`${BENCH_WRITE_KEY}:`).toString('base64')}`) {
      return reply(response, 401, { success: false, error: 'Unknown or revoked write key' });
    }
    const text = parseJsonText(Buffer.concat(chunks).toString('utf8'));
    if (!text.ok) return reply(response, 400, { success: false, error: text.error });
    const parsed = parseSegmentRequest({ path: request.url ?? '', body: text.value });
    if ('error' in parsed) return reply(response, 400, { success: false, error: parsed.error });
    const errors: { index: number; error: string }[] = [];
    let accepted = 0;
    let duplicates = 0;
    for (const verdict of parsed.events) {
      if (!verdict.ok) {
        errors.push({ index: verdict.index, error: verdict.error });
        continue;
      }
      const { messageId, type } = verdict.event;
      if (stored.has(messageId)) {
        duplicates += 1;
        continue;
      }
      stored.add(messageId);
      if (keepEvents) events.push(verdict.event);
      callsByType.set(type, (callsByType.get(type) ?? 0) + 1);
      accepted += 1;
    }
    return reply(response, 200, { success: true, accepted, duplicates, rejected: errors.length, errors });
  };
  const server = createServer((request, response) => {
    handle(request, response).catch((error: unknown) => {
      reply(response, 500, { success: false, error: error instanceof Error ? error.message : 'failed' });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('the fake API has no TCP address');
  return {
    url: `http://127.0.0.1:${address.port}`,
    stored,
    callsByType,
    events,
    requests: () => requests,
    stop: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** Every BAD_ROW_EVERY-th row is broken, each in exactly one way, so the error report has one line per bad row. */
export const BAD_ROW_EVERY = 100;

/** How the n-th bad row is broken, in turn; each leaves exactly one problem for the report. */
const CSV_BREAKAGES = [
  (i: number) => `c-${i},not-an-address,10,2027-02-01,pro,ext-${i}`,
  (i: number) => `c-${i},c${i}@example.com,lots,2027-02-01,pro,ext-${i}`,
  (i: number) => `c-${i},c${i}@example.com,10,soon,pro,ext-${i}`,
  () => `,,10,2027-02-01,pro,`,
  (i: number) => `c-${i},c${i}@example.com,10,2027-02-01,pro,ext-${i},one column too many`,
] as const;

const JSONL_BREAKAGES = [
  (i: number) => JSON.stringify({ id: `c-${i}`, email: 'not-an-address', clv: 10 }),
  (i: number) => JSON.stringify({ id: `c-${i}`, email: `c${i}@example.com`, clv: 'lots' }),
  (i: number) => JSON.stringify({ id: `c-${i}`, subscription: { ends_at: 'soon' } }),
  () => JSON.stringify({ clv: 10 }),
  (i: number) => `{"id": "c-${i}", "email": `,
] as const;

export const CSV_FIXTURE_HEADER = 'customer_id,email,clv,subscription_ends,plan,external_id';

export interface ImportFixture {
  readonly rows: number;
  readonly badRows: number;
}

/**
 * Writes `rows` CRM contacts (every row a distinct contact) as CSV or JSON Lines, in chunks so that generating
 * the file does not itself weigh on the memory being measured.
 */
export function writeImportFixture({
  path,
  rows,
  format,
}: {
  path: string;
  rows: number;
  format: ImportFormat;
}): ImportFixture {
  const fd = openSync(path, 'w');
  let badRows = 0;
  try {
    let chunk = format === 'csv' ? `${CSV_FIXTURE_HEADER}\n` : '';
    for (let i = 1; i <= rows; i += 1) {
      const bad = i % BAD_ROW_EVERY === 0;
      const turn = Math.floor(i / BAD_ROW_EVERY);
      let line: string;
      if (format === 'csv') {
        const breakage = CSV_BREAKAGES[turn % CSV_BREAKAGES.length];
        line =
          bad && breakage !== undefined
            ? breakage(i)
            : `c-${i},c${i}@example.com,${i % 5000}.5,2027-0${(i % 9) + 1}-01,${i % 3 === 0 ? 'team' : 'pro'},ext-${i}`;
      } else {
        const breakage = JSONL_BREAKAGES[turn % JSONL_BREAKAGES.length];
        line =
          bad && breakage !== undefined
            ? breakage(i)
            : JSON.stringify({
                id: `c-${i}`,
                email: `c${i}@example.com`,
                clv: (i % 5000) + 0.5,
                subscription: { ends_at: `2027-0${(i % 9) + 1}-01`, plan: i % 3 === 0 ? 'team' : 'pro' },
                crm: { id: `ext-${i}` },
              });
      }
      if (bad) badRows += 1;
      chunk += `${line}\n`;
      if (chunk.length > 1 << 20) {
        writeSync(fd, chunk);
        chunk = '';
      }
    }
    writeSync(fd, chunk);
  } finally {
    closeSync(fd);
  }
  return { rows, badRows };
}

/** The mapping an operator would give for the fixture of each format. */
export function fixtureImportOptions({
  file,
  format,
  apiUrl,
}: {
  file: string;
  format: ImportFormat;
  apiUrl: string;
}): ImportOptions {
  const api = { url: apiUrl, writeKey: BENCH_WRITE_KEY };
  if (format === 'csv') {
    return {
      file,
      userIdColumn: 'customer_id',
      emailColumn: 'email',
      externalIdColumn: 'external_id',
      mappings: [
        'clv=clv:number',
        'subscription_ends=subscription.endsAt:date',
        'plan=subscription.plan',
      ].map(parseFieldMapping),
      allColumns: false,
      batchSize: 500,
      api,
    };
  }
  return {
    file,
    userIdColumn: 'id',
    emailColumn: 'email',
    externalIdColumn: 'crm.id',
    mappings: [
      'clv=clv:number',
      'subscription.ends_at=subscription.endsAt:date',
      'subscription.plan=subscription.plan',
    ].map(parseFieldMapping),
    allColumns: false,
    batchSize: 500,
    api,
  };
}

/** Samples resident memory while work runs: the figure that shows whether memory stays flat. */
export async function measurePeakRss<T>(work: () => Promise<T>): Promise<{ result: T; peakRss: number }> {
  let peakRss = process.memoryUsage().rss;
  const sampler = setInterval(() => {
    peakRss = Math.max(peakRss, process.memoryUsage().rss);
  }, 25);
  try {
    const result = await work();
    return { result, peakRss: Math.max(peakRss, process.memoryUsage().rss) };
  } finally {
    clearInterval(sampler);
  }
}

const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MB`;

/** Imports 100,000 rows per format; prints and returns rows/s and peak RSS (reported, never asserted). */
export async function benchImport({
  rows = 100_000,
}: {
  rows?: number;
} = {}): Promise<Record<string, number>> {
  const directory = mkdtempSync(join(tmpdir(), 'nurture-bench-import-'));
  const api = await startFakeBatchApi();
  const results: Record<string, number> = {};
  try {
    console.log(
      `\nimport of ${rows.toLocaleString('en-US')} generated rows (1% bad) into an in-process /v1/batch:`,
    );
    for (const format of ['csv', 'jsonl'] as const) {
      const file = join(directory, `contacts.${format}`);
      const fixture = writeImportFixture({ path: file, rows, format });
      const rssBefore = process.memoryUsage().rss;
      const started = performance.now();
      const { result: summary, peakRss } = await measurePeakRss(() =>
        runImport(fixtureImportOptions({ file, format, apiUrl: api.url }), {
          stderr: { isTTY: false, write: () => true },
        }),
      );
      const seconds = (performance.now() - started) / 1000;
      const rowsPerSecond = Math.round(summary.rowsRead / seconds);
      console.log(
        `  ${format.padEnd(5)} ${summary.rowsSent} sent, ${summary.rowsSkipped} reported (expected ${fixture.badRows}), ` +
          `${seconds.toFixed(1)} s, ${rowsPerSecond.toLocaleString('en-US')} rows/s, ` +
          `peak RSS ${mb(peakRss)} (${mb(peakRss - rssBefore)} above the start)`,
      );
      results[`${format}RowsPerSecond`] = rowsPerSecond;
      results[`${format}PeakRssBytes`] = peakRss;
      results[`${format}RssGrowthBytes`] = peakRss - rssBefore;
    }
  } finally {
    await api.stop();
    rmSync(directory, { recursive: true, force: true });
  }
  return results;
}
