// Reads the rows of a CSV or JSON Lines file in order, as readable records or as error-report lines.
import type { Readable } from 'node:stream';
import { parse } from 'csv-parse';
import * as z from 'zod';
import { csvFieldReader, type FieldReader, type RowError } from './csv-import.ts';
import { jsonFieldReader, LineSplitter, parseJsonLine } from './json-lines.ts';

const csvRow = z.record(z.string(), z.string());
/** What csv-parse hands over with `raw: true`. */
const rawRecord = z.object({ record: csvRow, raw: z.string() });

/** What on_record hands on: csv-parse's record (with `raw: true`) and its place in the file. */
const numberedRecord = z.object({ row: z.number(), line: z.number(), parsed: rawRecord });

/** One row of the file as the run sees it, whatever the format: readable, or already an error report line. */
export type SourceRow =
  | {
      readonly readable: true;
      readonly row: number;
      readonly line: number;
      readonly original: string;
      readonly record: FieldReader;
    }
  | { readonly readable: false; readonly row: number; readonly error: RowError };

/**
 * CSV rows in file order. `onHeader` plans the import before the first row. The parser pauses while the consumer
 * works on a row, so memory stays flat; rows csv-parse cannot read are held until the rows before them are out.
 */
export async function* csvRows({
  input,
  skipRows,
  onHeader,
}: {
  /** The file's bytes or text. */
  input: Readable;
  skipRows: number;
  onHeader: (header: string[]) => void;
}): AsyncGenerator<SourceRow> {
  let rowNumber = 0;
  /** Bounded by one input chunk: the parser reports these as it reads, ahead of the rows being handled. */
  let unreadable: RowError[] = [];
  const parser = parse({
    bom: true,
    skip_empty_lines: true,
    relax_column_count: false,
    skip_records_with_error: true,
    // The original text of each row, for the error report.
    raw: true,
    columns: (header: string[]) => {
      onHeader(header);
      return header;
    },
    // Row numbers are given here, in parse order, so skipped and good rows share one sequence.
    on_record: (record: unknown, context) => {
      rowNumber += 1;
      if (rowNumber <= skipRows) return null;
      return { row: rowNumber, line: context.lines, parsed: record };
    },
    on_skip: (error, raw) => {
      rowNumber += 1;
      if (rowNumber <= skipRows) return undefined;
      unreadable.push({
        row: rowNumber,
        line: typeof error?.lines === 'number' ? error.lines : 0,
        column: '',
        reason: error?.message ?? 'unreadable row',
        original: raw ?? '',
      });
      return undefined;
    },
  });
  const source = input;
  source.on('error', (error) => parser.destroy(error));
  source.pipe(parser);
  const due = function* (before: number): Generator<SourceRow> {
    const ready = unreadable.filter((error) => error.row < before);
    if (ready.length === 0) return;
    unreadable = unreadable.filter((error) => error.row >= before);
    for (const error of ready) yield { readable: false, row: error.row, error };
  };
  try {
    for await (const item of parser) {
      const { row, line, parsed } = numberedRecord.parse(item);
      yield* due(row);
      yield { readable: true, row, line, original: parsed.raw, record: csvFieldReader(parsed.record) };
    }
    yield* due(Number.POSITIVE_INFINITY);
  } finally {
    source.destroy();
    parser.destroy();
  }
}

/** Longer originals are cut in the error report: the reason is what the operator needs, not a megabyte of JSON. */
const MAX_REPORTED_LINE_CHARS = 2000;

/** JSON Lines rows in file order; blank lines are not rows. A line that is not a JSON object is reported. */
export async function* jsonLinesRows({
  input,
  skipRows,
}: {
  /** The file as text: a stream with an encoding set, so a character is never split between chunks. */
  input: Readable;
  skipRows: number;
}): AsyncGenerator<SourceRow> {
  const splitter = new LineSplitter();
  let rowNumber = 0;
  const source = input;
  const toRow = (text: string, line: number, tooLong: boolean): SourceRow | undefined => {
    // A byte order mark is how some Windows tools start a UTF-8 file; it is not part of the first record.
    const clean = line === 1 ? text.replace(/^\uFEFF/, '') : text;
    if (clean.trim() === '') return undefined;
    rowNumber += 1;
    if (rowNumber <= skipRows) return undefined;
    const original =
      clean.length > MAX_REPORTED_LINE_CHARS ? `${clean.slice(0, MAX_REPORTED_LINE_CHARS)}…` : clean;
    const outcome = parseJsonLine({ text: clean, line, tooLong });
    if (!outcome.ok) {
      return {
        readable: false,
        row: rowNumber,
        error: { row: rowNumber, line, column: '', reason: outcome.reason, original },
      };
    }
    return { readable: true, row: rowNumber, line, original, record: jsonFieldReader(outcome.record) };
  };
  try {
    for await (const chunk of source) {
      for (const { text, line, tooLong } of splitter.push(String(chunk))) {
        const row = toRow(text, line, tooLong);
        if (row !== undefined) yield row;
      }
    }
    for (const { text, line, tooLong } of splitter.end()) {
      const row = toRow(text, line, tooLong);
      if (row !== undefined) yield row;
    }
  } finally {
    source.destroy();
  }
}
