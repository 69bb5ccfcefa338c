// Reads JSON Lines (NDJSON) exports: splits text into numbered lines, parses each into an object, reads dot paths.
import { isJsonObject, parseJsonText } from '../tracking/ingest/body.ts';
import type { JsonObject, JsonValue } from '../tracking/model.ts';
import type { FieldReader } from './csv-import.ts';

/** Longer lines cannot become a call under the API's 32 KiB event limit; keeping only this much bounds memory. */
export const MAX_LINE_CHARS = 1024 * 1024;

export interface TextLine {
  readonly text: string;
  /** 1-based line number in the file. */
  readonly line: number;
  /** The line was cut at MAX_LINE_CHARS; `text` holds only its start. */
  readonly tooLong: boolean;
}

/**
 * Cuts a stream of text chunks into lines (`\n` or `\r\n`) without ever holding more than one line,
 * so a file of any size, or a single endless line, keeps memory flat.
 */
export class LineSplitter {
  private carry = '';
  private tooLong = false;
  private line = 0;

  constructor(private readonly maxLineChars: number = MAX_LINE_CHARS) {}

  push(chunk: string): TextLine[] {
    const lines: TextLine[] = [];
    let start = 0;
    for (let end = chunk.indexOf('\n'); end !== -1; end = chunk.indexOf('\n', start)) {
      this.append(chunk.slice(start, end));
      lines.push(this.take());
      start = end + 1;
    }
    this.append(chunk.slice(start));
    return lines;
  }

  /** The last line, when the file does not end with a newline. */
  end(): TextLine[] {
    return this.carry === '' && !this.tooLong ? [] : [this.take()];
  }

  private append(text: string): void {
    if (this.tooLong) return;
    this.carry += text;
    if (this.carry.length > this.maxLineChars) {
      this.carry = this.carry.slice(0, this.maxLineChars);
      this.tooLong = true;
    }
  }

  private take(): TextLine {
    this.line += 1;
    const text = this.carry.endsWith('\r') ? this.carry.slice(0, -1) : this.carry;
    const taken = { text, line: this.line, tooLong: this.tooLong };
    this.carry = '';
    this.tooLong = false;
    return taken;
  }
}

export type LineOutcome =
  | { readonly ok: true; readonly record: JsonObject }
  | { readonly ok: false; readonly reason: string };

/** One line as a record: it must be a JSON object (prototype-polluting keys are dropped, as the API does). */
export function parseJsonLine(line: TextLine): LineOutcome {
  if (line.tooLong) return { ok: false, reason: `the line is longer than ${MAX_LINE_CHARS} characters` };
  const parsed = parseJsonText(line.text);
  if (!parsed.ok) return { ok: false, reason: `not JSON: ${parsed.error}` };
  if (!isJsonObject(parsed.value)) {
    return { ok: false, reason: 'not a JSON object: each line must be one record like {"email": ...}' };
  }
  return { ok: true, record: parsed.value };
}

/** Reads `subscription.ends_at` as record.subscription.ends_at; only the record's own keys are followed. */
export function jsonFieldReader(record: JsonObject): FieldReader {
  return (path) => {
    let value: JsonValue | undefined = record;
    for (const segment of path.split('.')) {
      if (!isJsonObject(value) || !Object.hasOwn(value, segment)) return undefined;
      value = value[segment];
    }
    return value;
  };
}
