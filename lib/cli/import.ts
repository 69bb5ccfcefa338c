// Runs an import: streams a CSV or JSON Lines file, sends identify/group batches to /v1/batch with retries, reports.
import { Buffer } from 'node:buffer';
import {
  closeSync,
  createReadStream,
  existsSync,
  openSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { setTimeout as delay } from 'node:timers/promises';
import * as z from 'zod';
import {
  ERROR_REPORT_HEADER,
  errorReportLine,
  type ImportCall,
  ImportConfigError,
  type ImportPlan,
  type ImportSettings,
  planImport,
  type RowError,
  rowTimestamp,
  rowToCalls,
} from '../../functions/imports/csv-import.ts';
import { csvRows, jsonLinesRows } from '../../functions/imports/source-rows.ts';
import { NURTURE_VERSION } from '../../functions/shared/build-info.ts';
import { IMPORT_LIBRARY_NAME } from '../../functions/tracking/model.ts';

/** Below the API's 1 MB floor for batches, with room for the envelope. */
export const MAX_REQUEST_BYTES = 500 * 1024;
export const MAX_ATTEMPTS = 8;
const REQUEST_TIMEOUT_MS = 30_000;
const NON_TTY_PROGRESS_EVERY = 10_000;
const TTY_PROGRESS_INTERVAL_MS = 250;

export interface ApiTarget {
  /** Base URL of the tracking API, e.g. `http://127.0.0.1:4000`. */
  readonly url: string;
  readonly writeKey: string;
}

export const IMPORT_FORMATS = ['csv', 'jsonl'] as const;
export type ImportFormat = (typeof IMPORT_FORMATS)[number];

/** The format named, or else the one the file name says: `.jsonl` and `.ndjson` are JSON Lines, anything else CSV. */
export function formatFor(file: string, format?: ImportFormat): ImportFormat {
  if (format !== undefined) return format;
  return /\.(jsonl|ndjson)$/i.test(file) ? 'jsonl' : 'csv';
}

export interface ImportOptions extends ImportSettings {
  readonly file: string;
  /** @default from the file name (see formatFor) */
  readonly format?: ImportFormat;
  /** Rows per request. @default 100 */
  readonly batchSize?: number;
  /** Parse, map and report without sending anything. */
  readonly dryRun?: boolean;
  /** Skip the rows an interrupted run of the unchanged file already finished. */
  readonly resume?: boolean;
  /** Required unless dryRun. */
  readonly api?: ApiTarget;
}

export interface ProgressStream {
  readonly isTTY?: boolean;
  write(text: string): unknown;
}

/** What the run touches outside itself; tests substitute all of it. */
export interface ImportIo {
  /** @default globalThis.fetch */
  readonly fetch?: typeof fetch;
  /** @default a real timer */
  readonly sleep?: (ms: number) => Promise<void>;
  /** Uniform in [0, 1). @default Math.random */
  readonly random?: () => number;
  /** @default () => new Date() */
  readonly now?: () => Date;
  /** Progress and warnings. @default process.stderr */
  readonly stderr?: ProgressStream;
}

export interface ImportSummary {
  /** Data rows read from the file in this run (resumed rows excluded). */
  readonly rowsRead: number;
  /** Rows the API acknowledged (or that would be sent, in a dry run). */
  readonly rowsSent: number;
  /** Rows written to the error report. */
  readonly rowsSkipped: number;
  readonly rowsResumed: number;
  readonly batches: number;
  readonly durationMs: number;
  readonly errorReportPath?: string;
  readonly dryRun: boolean;
}

/** A failure that ends the run (unreachable API, refused write key, unreadable file); progress is saved first. */
export class ImportFailedError extends Error {
  override readonly name = 'ImportFailedError';
  constructor(
    message: string,
    readonly summary?: ImportSummary,
  ) {
    super(message);
  }
}

const importState = z.object({
  rowsDone: z.number().int().nonnegative(),
  fileSize: z.number(),
  mtime: z.number(),
});
type ImportState = z.infer<typeof importState>;

const batchResponse = z.object({
  errors: z.array(z.object({ index: z.number().int(), error: z.string() })).optional(),
});
const errorResponse = z.object({ error: z.string() });

export function errorReportPathFor(file: string): string {
  return `${file}.errors.csv`;
}

export function statePathFor(file: string): string {
  return `${file}.import-state.json`;
}

interface PendingRow {
  readonly row: number;
  readonly line: number;
  readonly original: string;
  /** One for a contact or subscription; a group call and the member's identify for an account. */
  readonly calls: readonly ImportCall[];
  readonly bytes: number;
}

/** Appends row errors synchronously so they keep file order and never pile up in memory. */
class ErrorReport {
  private fd: number | undefined;
  count = 0;

  constructor(
    readonly path: string,
    private readonly append: boolean,
  ) {
    if (!append) rmSync(path, { force: true });
  }

  /** One row, with every reason it was not imported. */
  add(errors: readonly RowError[]): void {
    if (errors.length === 0) return;
    if (this.fd === undefined) {
      const fresh = !(this.append && existsSync(this.path));
      this.fd = openSync(this.path, fresh ? 'w' : 'a');
      if (fresh) writeSync(this.fd, ERROR_REPORT_HEADER);
    }
    writeSync(this.fd, errors.map(errorReportLine).join(''));
    this.count += 1;
  }

  close(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }
}

class Progress {
  private lastDraw = 0;
  private drawn = false;

  constructor(
    private readonly stream: ProgressStream,
    private readonly startedAt: number,
    private readonly clock: () => number,
  ) {}

  private line(rows: number): string {
    const seconds = Math.max((this.clock() - this.startedAt) / 1000, 0.001);
    return `${rows.toLocaleString('en-US')} rows, ${Math.round(rows / seconds).toLocaleString('en-US')} rows/s`;
  }

  rowRead(rows: number): void {
    if (this.stream.isTTY) {
      const now = this.clock();
      if (now - this.lastDraw < TTY_PROGRESS_INTERVAL_MS) return;
      this.lastDraw = now;
      this.drawn = true;
      this.stream.write(`\r\x1b[K${this.line(rows)}`);
    } else if (rows % NON_TTY_PROGRESS_EVERY === 0) {
      this.stream.write(`${this.line(rows)}\n`);
    }
  }

  finish(): void {
    if (this.drawn) this.stream.write('\r\x1b[K');
  }
}

function basicAuth(writeKey: string): string {
  return `Basic ${Buffer.from(`${writeKey}:`).toString('base64')}`;
}

/** Retry-After as milliseconds: delta-seconds or an HTTP date. */
export function retryAfterMs(header: string | null, now: Date): number | undefined {
  if (header === null || header.trim() === '') return undefined;
  const text = header.trim();
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  const at = Date.parse(text);
  return Number.isNaN(at) ? undefined : Math.max(at - now.getTime(), 0);
}

/** Exponential backoff with equal jitter: half the ceiling is guaranteed, so retries never hammer a busy API. */
export function backoffMs(attempt: number, random: () => number): number {
  const ceiling = Math.min(500 * 2 ** (attempt - 1), 30_000);
  return Math.round(ceiling / 2 + (ceiling / 2) * random());
}

const MAX_RETRY_AFTER_MS = 10 * 60_000;

type Delivery = { readonly status: number; readonly body: string };

class BatchSender {
  batches = 0;

  constructor(
    private readonly api: ApiTarget,
    private readonly io: Required<Omit<ImportIo, 'stderr'>>,
    private readonly report: ErrorReport,
    private readonly envelope: {
      readonly format: ImportFormat;
      /**
       * One sentAt for the whole run when the import stamps the rows itself: the API's clock-skew correction
       * (event time = received − sentAt + timestamp) then keeps the rows in file order across requests. Left out
       * when times come from the file, which the importing machine's clock says nothing about.
       */
      readonly sentAt?: string;
    },
  ) {}

  private endpoint(): string {
    return `${this.api.url.replace(/\/+$/, '')}/v1/batch`;
  }

  /** One request, retried while the failure is temporary. Throws ImportFailedError when it is not. */
  private async post(calls: readonly ImportCall[]): Promise<Delivery> {
    const body = JSON.stringify({
      batch: calls,
      context: {
        library: { name: IMPORT_LIBRARY_NAME, version: NURTURE_VERSION },
        source: this.envelope.format,
      },
      ...(this.envelope.sentAt === undefined ? {} : { sentAt: this.envelope.sentAt }),
    });
    let lastProblem = '';
    for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
      let waitMs: number | undefined;
      try {
        const response = await this.io.fetch(this.endpoint(), {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: basicAuth(this.api.writeKey) },
          body,
          signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
        });
        const text = await response.text();
        const temporary = response.status === 429 || response.status >= 500;
        if (!temporary) return { status: response.status, body: text };
        lastProblem = `HTTP ${response.status}`;
        waitMs = retryAfterMs(response.headers.get('retry-after'), this.io.now());
      } catch (error) {
        lastProblem = error instanceof Error ? error.message : String(error);
      }
      if (attempt < MAX_ATTEMPTS) {
        await this.io.sleep(Math.min(waitMs ?? backoffMs(attempt, this.io.random), MAX_RETRY_AFTER_MS));
      }
    }
    throw new ImportFailedError(
      `The tracking API at ${this.endpoint()} kept failing (${lastProblem}) after ${MAX_ATTEMPTS} attempts.`,
    );
  }

  private reject(rows: readonly PendingRow[], reason: string): void {
    for (const row of rows) {
      this.report.add([{ row: row.row, line: row.line, column: '', reason, original: row.original }]);
    }
  }

  /** Sends rows and returns how many the API acknowledged; rows it refuses go to the error report. */
  async send(rows: readonly PendingRow[]): Promise<number> {
    if (rows.length === 0) return 0;
    this.batches += 1;
    // The API numbers calls, not rows: an account row's two calls both point back to it.
    const owners = rows.flatMap((row) => row.calls.map(() => row));
    const response = await this.post(rows.flatMap((row) => row.calls));
    if (response.status === 200) {
      const parsed = batchResponse.safeParse(safeJson(response.body));
      const errors = parsed.success ? (parsed.data.errors ?? []) : [];
      const refused = new Set<PendingRow>();
      for (const { index, error } of errors) {
        const row = owners[index];
        if (row === undefined || refused.has(row)) continue;
        refused.add(row);
        this.reject([row], `refused by the API: ${error}`);
      }
      return rows.length - refused.size;
    }
    if (response.status === 400 || response.status === 413) {
      const reason = errorResponse.safeParse(safeJson(response.body));
      const message = `refused by the API (${response.status}): ${reason.success ? reason.data.error : response.body.slice(0, 200)}`;
      if (rows.length === 1) {
        this.reject(rows, message);
        return 0;
      }
      // Only the request as a whole is refused: find the rows at fault by sending each on its own.
      let sent = 0;
      for (const row of rows) sent += await this.send([row]);
      return sent;
    }
    if (response.status === 401 || response.status === 403) {
      throw new ImportFailedError(`The tracking API refused the write key (HTTP ${response.status}).`);
    }
    throw new ImportFailedError(
      `The tracking API at ${this.endpoint()} answered HTTP ${response.status}: ${response.body.slice(0, 200)}`,
    );
  }
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function readState(path: string): ImportState | undefined {
  if (!existsSync(path)) return undefined;
  const parsed = importState.safeParse(safeJson(readFileSync(path, 'utf8')));
  return parsed.success ? parsed.data : undefined;
}

function writeState(path: string, state: ImportState): void {
  // Written aside and renamed, so an interruption mid-write never leaves a half file that --resume would distrust.
  writeFileSync(`${path}.tmp`, JSON.stringify(state));
  renameSync(`${path}.tmp`, path);
}

/** An upper bound on the rows of a file (its newlines, plus one), read in a quick streaming pass. */
async function countLines(file: string): Promise<number> {
  let lines = 1;
  for await (const chunk of createReadStream(file)) {
    if (!Buffer.isBuffer(chunk)) continue;
    for (let at = chunk.indexOf(10); at !== -1; at = chunk.indexOf(10, at + 1)) lines += 1;
  }
  return lines;
}

/**
 * Imports one CSV or JSON Lines file. Resolves with the summary once every row is sent or reported; rejects with
 * ImportFailedError (carrying the summary so far) when the run cannot go on. Memory stays flat: the file is
 * streamed and reading waits while a batch is in flight.
 */
export async function runImport(options: ImportOptions, io: ImportIo = {}): Promise<ImportSummary> {
  const clock = io.now ?? (() => new Date());
  const stderr = io.stderr ?? process.stderr;
  const startedAt = clock();
  const batchSize = options.batchSize ?? 100;
  if (!(Number.isInteger(batchSize) && batchSize >= 1)) {
    throw new ImportFailedError(`--batch must be a positive whole number, got ${batchSize}.`);
  }
  const dryRun = options.dryRun ?? false;
  if (!dryRun && options.api === undefined) {
    throw new ImportFailedError('No API to send to: pass --api and --write-key (or run npm start first).');
  }
  const format = formatFor(options.file, options.format);

  let stats: ReturnType<typeof statSync>;
  try {
    stats = statSync(options.file);
  } catch {
    throw new ImportFailedError(`Cannot read ${options.file}.`);
  }
  // JSON Lines have no header: the plan is checked, and config mistakes refused, before anything is read.
  let plan: ImportPlan | undefined;
  if (format === 'jsonl') {
    try {
      plan = planImport({ header: undefined, settings: options });
    } catch (error) {
      if (error instanceof ImportConfigError) throw new ImportFailedError(error.message);
      throw error;
    }
  }
  const statePath = statePathFor(options.file);
  const identity = { fileSize: stats.size, mtime: stats.mtimeMs };
  let skipRows = 0;
  if (options.resume) {
    const state = readState(statePath);
    if (state !== undefined && state.fileSize === identity.fileSize && state.mtime === identity.mtime) {
      skipRows = state.rowsDone;
    } else if (state !== undefined) {
      stderr.write('The file changed since the interrupted run: importing it from the start.\n');
    }
  }
  const stampsRows = options.timestampColumn === undefined;
  const rowsAtMost = stampsRows ? await countLines(options.file) : 0;

  const report = new ErrorReport(errorReportPathFor(options.file), skipRows > 0);
  const sender =
    dryRun || options.api === undefined
      ? undefined
      : new BatchSender(
          options.api,
          {
            fetch: io.fetch ?? globalThis.fetch,
            sleep: io.sleep ?? ((ms) => delay(ms)),
            random: io.random ?? Math.random,
            now: clock,
          },
          report,
          { format, ...(stampsRows ? { sentAt: startedAt.toISOString() } : {}) },
        );
  const progress = new Progress(stderr, startedAt.getTime(), () => clock().getTime());

  let lastRow = skipRows;
  let rowsRead = 0;
  let rowsSent = 0;
  let batches = 0;

  const summary = (): ImportSummary => {
    const durationMs = clock().getTime() - startedAt.getTime();
    return {
      rowsRead,
      rowsSent,
      rowsSkipped: report.count,
      rowsResumed: skipRows,
      batches: sender?.batches ?? batches,
      durationMs,
      dryRun,
      ...(report.count > 0 ? { errorReportPath: report.path } : {}),
    };
  };

  let pending: PendingRow[] = [];
  let pendingBytes = 0;
  const flush = async (rowsDone: number): Promise<void> => {
    const rows = pending;
    pending = [];
    pendingBytes = 0;
    if (rows.length === 0) return;
    if (sender === undefined) {
      batches += 1;
      rowsSent += rows.length;
      return;
    }
    rowsSent += await sender.send(rows);
    writeState(statePath, { rowsDone, ...identity });
  };

  const rows =
    format === 'jsonl'
      ? jsonLinesRows({ input: createReadStream(options.file, { encoding: 'utf8' }), skipRows })
      : csvRows({
          input: createReadStream(options.file),
          skipRows,
          onHeader: (header) => {
            plan = planImport({ header, settings: options });
          },
        });
  try {
    try {
      for await (const source of rows) {
        lastRow = source.row;
        rowsRead += 1;
        progress.rowRead(rowsRead);
        if (!source.readable) {
          report.add([source.error]);
          continue;
        }
        const { row, line, original, record } = source;
        if (plan === undefined) throw new ImportFailedError('The file has no header row.');
        const defaultTimestamp = stampsRows
          ? rowTimestamp({ runStartedAt: startedAt, row, rowsAtMost })
          : startedAt.toISOString();
        const outcome = rowToCalls({ plan, record, defaultTimestamp });
        if (!outcome.ok) {
          report.add(outcome.problems.map((problem) => ({ row, line, original, ...problem })));
          continue;
        }
        const last = pending.at(-1);
        if (last !== undefined && pendingBytes + outcome.bytes + outcome.calls.length > MAX_REQUEST_BYTES) {
          await flush(last.row);
        }
        pending.push({ row, line, original, calls: outcome.calls, bytes: outcome.bytes });
        pendingBytes += outcome.bytes + outcome.calls.length;
        if (pending.length >= batchSize) await flush(row);
      }
    } catch (error) {
      if (error instanceof ImportFailedError) throw error;
      if (error instanceof ImportConfigError) throw new ImportFailedError(error.message);
      const message = error instanceof Error ? error.message : String(error);
      throw new ImportFailedError(`Reading ${options.file} failed: ${message}`);
    }
    if (plan === undefined) throw new ImportFailedError(`${options.file} is empty: it needs a header row.`);
    await flush(lastRow);
    // A finished import leaves nothing to resume.
    if (!dryRun) rmSync(statePath, { force: true });
    return summary();
  } catch (error) {
    await rows.return(undefined);
    const failure =
      error instanceof ImportFailedError
        ? error
        : new ImportFailedError(error instanceof Error ? error.message : String(error));
    throw new ImportFailedError(failure.message, summary());
  } finally {
    progress.finish();
    report.close();
  }
}

/** The lines printed when a run ends. */
export function describeSummary(summary: ImportSummary): string {
  const seconds = summary.durationMs / 1000;
  const rate = seconds > 0 ? Math.round(summary.rowsRead / seconds) : summary.rowsRead;
  const lines = [
    `${summary.dryRun ? 'Dry run: ' : ''}${summary.rowsRead} rows read, ${summary.rowsSent} ${summary.dryRun ? 'would be sent' : 'sent'}, ${summary.rowsSkipped} skipped, ${summary.batches} batches in ${seconds.toFixed(1)} s (${rate} rows/s).`,
  ];
  if (summary.rowsResumed > 0) lines.push(`Resumed after row ${summary.rowsResumed}.`);
  if (summary.errorReportPath !== undefined)
    lines.push(`Rows not imported, with reasons: ${summary.errorReportPath}`);
  return lines.join('\n');
}
