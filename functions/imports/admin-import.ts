// Imports a small CSV or JSON Lines file held in memory, row by row, and counts what each row did to its profile.
import { Readable } from 'node:stream';
import { correctedEventTime } from '../tracking/enrichment/event-time.ts';
import { normalizeSegmentEvent } from '../tracking/ingest/segment.ts';
import type { IngestRequest } from '../tracking/ingest-service.ts';
import {
  type EnrichedEvent,
  IMPORT_LIBRARY_NAME,
  type JsonObject,
  type NormalizedEvent,
  type Touch,
} from '../tracking/model.ts';
import {
  type ImportCall,
  ImportConfigError,
  type ImportPlan,
  type ImportSettings,
  planImport,
  rowTimestamp,
  rowToCalls,
} from './csv-import.ts';
import { csvRows, jsonLinesRows, type SourceRow } from './source-rows.ts';

/** Above either limit the admin API answers 413 and points to the CLI, which streams files of any size. */
export const MAX_ADMIN_IMPORT_BYTES = 4 * 1024 * 1024;
export const MAX_ADMIN_IMPORT_ROWS = 10_000;
/** Row errors listed in the answer; the counts still cover every row. */
export const MAX_LISTED_ROW_ERRORS = 1000;
/** Contacts imported at once; the rows of one contact always go one after another, in file order. */
const CONCURRENT_CONTACTS = 32;
/** No row starts with less time left than this, so that the answer (with what was done) beats the timeout. */
export const TIME_MARGIN_MS = 3000;

export type AdminImportFormat = 'csv' | 'jsonl';

/** The file has more rows than a synchronous import takes. */
export class ImportTooLargeError extends Error {
  override readonly name = 'ImportTooLargeError';
}

/** What a row did: a new profile, new data on an existing one, nothing (imported before), or nothing (an error). */
export type RowResult = 'created' | 'updated' | 'unchanged' | 'failed';

export interface AdminImportRowError {
  /** 1 for the first data row. */
  readonly row: number;
  /** Line in the file where the row ends; 0 when unknown. */
  readonly line: number;
  /** The column (CSV) or field path (JSON Lines) at fault; empty when the row as a whole is. */
  readonly field: string;
  readonly message: string;
}

export interface AdminImportReport {
  readonly rows: number;
  readonly created: number;
  readonly updated: number;
  readonly unchanged: number;
  readonly failed: number;
  /** Rows not started because time ran out: sending the same file again imports them (and leaves the rest unchanged). */
  readonly notStarted: number;
  /** False when time ran out before every row was imported. */
  readonly complete: boolean;
  /** At most MAX_LISTED_ROW_ERRORS, in row order. */
  readonly errors: readonly AdminImportRowError[];
  readonly errorsTruncated: boolean;
}

export interface AdminImportPorts {
  /** Whether the contact (or account stand-in) that a call is filed under has a profile already. */
  exists(call: ImportCall): Promise<boolean>;
  /** Ingests one row's events exactly once (IngestService.ingest); duplicates are rows imported before. */
  ingest(
    events: readonly EnrichedEvent[],
    request: IngestRequest,
  ): Promise<{ readonly accepted: number; readonly duplicates: number }>;
}

/** What the tracking API's enrichment gives a call with no page, user agent or IP: a row of a file is no visit. */
const NO_VISIT: Touch = {
  channel: 'direct',
  campaign: null,
  landingPage: null,
  referrer: null,
  source: null,
  medium: null,
};

function callJson(call: ImportCall): JsonObject {
  return {
    type: call.type,
    messageId: call.messageId,
    ...(call.userId === undefined ? {} : { userId: call.userId }),
    ...(call.anonymousId === undefined ? {} : { anonymousId: call.anonymousId }),
    ...(call.type === 'group' ? { groupId: call.groupId } : {}),
    traits: call.traits,
    timestamp: call.timestamp,
  };
}

/**
 * One row's calls as the events POST /v1/batch would store for the CLI: validated and normalized by the Segment
 * parser, with the enrichment of a request that has no page, user agent or IP. `errors` index the calls.
 */
export function importEvents({
  calls,
  sourceId,
  receivedAt,
  libraryVersion,
}: {
  calls: readonly ImportCall[];
  sourceId: string;
  receivedAt: Date;
  libraryVersion: string;
}): { events: EnrichedEvent[]; errors: Array<{ index: number; error: string }> } {
  const sentAt = receivedAt.toISOString();
  const batch = {
    context: { library: { name: IMPORT_LIBRARY_NAME, version: libraryVersion }, source: 'admin-api' },
    sentAt,
  };
  const events: EnrichedEvent[] = [];
  const errors: Array<{ index: number; error: string }> = [];
  for (const [index, call] of calls.entries()) {
    const outcome = normalizeSegmentEvent({ raw: callJson(call), protocol: 'segment', batch });
    if (!outcome.ok) {
      errors.push({ index, error: outcome.error });
      continue;
    }
    const { writeKey: _none, ...event }: NormalizedEvent = outcome.event;
    events.push({
      ...event,
      sourceId,
      enrichment: {
        eventTime: correctedEventTime({ receivedAt, sentAt: event.sentAt, timestamp: event.clientTimestamp }),
        receivedAt: sentAt,
        touch: NO_VISIT,
        device: 'desktop',
        isBot: false,
        ip: null,
        browser: null,
        os: null,
      },
    });
  }
  return { events, errors };
}

type ReadableRow = Extract<SourceRow, { readable: true }>;

async function readRows({
  text,
  format,
  settings,
}: {
  text: string;
  format: AdminImportFormat;
  settings: ImportSettings;
}): Promise<{ plan: ImportPlan | undefined; rows: SourceRow[] }> {
  let plan = format === 'jsonl' ? planImport({ header: undefined, settings }) : undefined;
  const source =
    format === 'jsonl'
      ? jsonLinesRows({ input: Readable.from([text]), skipRows: 0 })
      : csvRows({
          input: Readable.from([text]),
          skipRows: 0,
          onHeader: (header) => {
            plan = planImport({ header, settings });
          },
        });
  const rows: SourceRow[] = [];
  for await (const row of source) {
    rows.push(row);
    if (rows.length > MAX_ADMIN_IMPORT_ROWS) {
      throw new ImportTooLargeError(
        `The file has more than ${MAX_ADMIN_IMPORT_ROWS.toLocaleString('en-US')} rows; import it with the CLI (npm run nurture -- import FILE, docs/import.md).`,
      );
    }
  }
  return { plan, rows };
}

/** The key a row's contact is stored under, so that rows of one contact are applied in file order. */
function contactKey(calls: readonly ImportCall[]): string {
  const call = calls.find((c) => c.type === 'identify') ?? calls[0];
  return call === undefined ? '' : `${call.userId ?? ''}\u0000${call.anonymousId ?? ''}`;
}

async function inParallel<T>(items: readonly T[], work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const workers = Array.from({ length: Math.min(CONCURRENT_CONTACTS, items.length) }, async () => {
    while (next < items.length) {
      const item = items[next++];
      if (item !== undefined) await work(item);
    }
  });
  await Promise.all(workers);
}

/**
 * Imports every row of a file with the CLI's reading, mapping and conversion (source-rows.ts, csv-import.ts), the
 * tracking API's Segment parser and the same ingest (with enrichment), and reports per row. Idempotent like the CLI: a row's messageIds come from its content,
 * so importing the same file again leaves every row unchanged. Throws ImportConfigError for settings the file
 * cannot satisfy and ImportTooLargeError beyond MAX_ADMIN_IMPORT_ROWS, both before anything is written.
 */
export async function importFile({
  text,
  format,
  settings,
  ports,
  now,
  timeLeftMs = () => Number.POSITIVE_INFINITY,
  sourceId,
  libraryVersion,
}: {
  text: string;
  format: AdminImportFormat;
  settings: ImportSettings;
  ports: AdminImportPorts;
  now: Date;
  /** Time left to answer in (Lambda's getRemainingTimeInMillis). @default no limit */
  timeLeftMs?: () => number;
  /** The source the rows are filed under: with the messageId, the dedupe key. */
  sourceId: string;
  /** Recorded as `context.library.version`, as the CLI does. */
  libraryVersion: string;
}): Promise<AdminImportReport> {
  const { plan, rows } = await readRows({ text, format, settings });
  if (plan === undefined) throw new ImportConfigError('The file is empty: a CSV file needs a header row.');
  const results = new Map<number, RowResult>();
  const errors: AdminImportRowError[] = [];
  const fail = (row: number, rowErrors: readonly AdminImportRowError[]): void => {
    results.set(row, 'failed');
    errors.push(...rowErrors);
  };

  const byContact = new Map<string, Array<{ row: ReadableRow; calls: readonly ImportCall[] }>>();
  for (const source of rows) {
    if (!source.readable) {
      const { row, line, column, reason } = source.error;
      fail(row, [{ row, line, field: column, message: reason }]);
      continue;
    }
    // The CLI's stamping: rows of the file get strictly increasing times, so a later row of a contact wins.
    const defaultTimestamp = rowTimestamp({ runStartedAt: now, row: source.row, rowsAtMost: rows.length });
    const outcome = rowToCalls({ plan, record: source.record, defaultTimestamp });
    if (!outcome.ok) {
      fail(
        source.row,
        outcome.problems.map((p) => ({
          row: source.row,
          line: source.line,
          field: p.column,
          message: p.reason,
        })),
      );
      continue;
    }
    const key = contactKey(outcome.calls);
    const list = byContact.get(key) ?? [];
    list.push({ row: source, calls: outcome.calls });
    byContact.set(key, list);
  }

  await inParallel([...byContact.values()], async (contactRows) => {
    for (const { row, calls } of contactRows) {
      if (timeLeftMs() < TIME_MARGIN_MS) return;
      const first = calls.find((c) => c.type === 'identify') ?? calls[0];
      const existed = first === undefined ? false : await ports.exists(first);
      // Received "when sent": each row's event time is exactly the timestamp the import gave it.
      const { events, errors: refused } = importEvents({ calls, sourceId, receivedAt: now, libraryVersion });
      if (refused.length > 0) {
        fail(
          row.row,
          refused.map(({ error }) => ({ row: row.row, line: row.line, field: '', message: error })),
        );
        continue;
      }
      const identifies = new Map(
        events.filter((e) => e.type === 'identify').map((e) => [e.messageId, { trigger: 'import' as const }]),
      );
      const delivery = await ports.ingest(events, { identifies });
      if (delivery.accepted === 0 && delivery.duplicates > 0) {
        results.set(row.row, 'unchanged');
      } else {
        results.set(row.row, existed ? 'updated' : 'created');
      }
    }
  });

  const count = (result: RowResult): number => [...results.values()].filter((r) => r === result).length;
  errors.sort((a, b) => a.row - b.row);
  return {
    rows: rows.length,
    created: count('created'),
    updated: count('updated'),
    unchanged: count('unchanged'),
    failed: count('failed'),
    notStarted: rows.length - results.size,
    complete: results.size === rows.length,
    errors: errors.slice(0, MAX_LISTED_ROW_ERRORS),
    errorsTruncated: errors.length > MAX_LISTED_ROW_ERRORS,
  };
}
