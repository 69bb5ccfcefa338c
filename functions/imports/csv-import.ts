// Turns CRM CSV rows into Segment identify calls: column mappings, typed trait values, deterministic message ids.
import { Buffer } from 'node:buffer';
import { createHash } from 'node:crypto';
import { DateTime } from 'luxon';
import * as z from 'zod';
import { MAX_EVENT_BYTES } from '../tracking/ingest/body.ts';
import { MAX_ID_LENGTH } from '../tracking/ingest/segment.ts';
import type { JsonObject, JsonValue } from '../tracking/model.ts';

export const TRAIT_TYPES = ['string', 'number', 'integer', 'boolean', 'date', 'json'] as const;
export type TraitType = (typeof TRAIT_TYPES)[number];

/** One `--map column=trait.path[:type]`: where a column's value goes among the traits, and how it is read. */
export interface FieldMapping {
  readonly column: string;
  /** Dot path split into segments: `subscription.endsAt` → ['subscription', 'endsAt']. */
  readonly path: readonly string[];
  readonly type: TraitType;
}

/** Raised for a mapping or a header that makes the whole import impossible; the message is for the operator. */
export class ImportConfigError extends Error {
  override readonly name = 'ImportConfigError';
}

/** Segments that would reach an object's prototype if a trait path were ever applied with plain assignment. */
const FORBIDDEN_SEGMENTS = new Set(['__proto__', 'constructor', 'prototype']);

function isTraitType(value: string): value is TraitType {
  return TRAIT_TYPES.some((type) => type === value);
}

export function parseTraitPath(path: string): string[] {
  const segments = path.split('.');
  for (const segment of segments) {
    if (segment.trim() === '') throw new ImportConfigError(`Trait path "${path}" has an empty segment.`);
    if (FORBIDDEN_SEGMENTS.has(segment)) {
      throw new ImportConfigError(`Trait path "${path}" uses the reserved name "${segment}".`);
    }
  }
  return segments;
}

/** Parses `column=trait.path[:type]`; the column may not contain `=`, the path may not contain `:`. */
export function parseFieldMapping(spec: string): FieldMapping {
  const equals = spec.indexOf('=');
  if (equals <= 0 || equals === spec.length - 1) {
    throw new ImportConfigError(
      `--map "${spec}" must look like column=trait.path or column=trait.path:type.`,
    );
  }
  const column = spec.slice(0, equals);
  const target = spec.slice(equals + 1);
  const colon = target.lastIndexOf(':');
  const path = colon === -1 ? target : target.slice(0, colon);
  const type = colon === -1 ? 'string' : target.slice(colon + 1);
  if (!isTraitType(type)) {
    throw new ImportConfigError(
      `--map "${spec}": unknown type "${type}" (use one of ${TRAIT_TYPES.join(', ')}).`,
    );
  }
  return { column, path: parseTraitPath(path), type };
}

export interface ImportSettings {
  readonly userIdColumn?: string;
  readonly emailColumn?: string;
  /** Column holding each row's event time; without it every row is stamped with the run's start time. */
  readonly timestampColumn?: string;
  readonly mappings: readonly FieldMapping[];
  /** Unmapped columns go in as string traits named after their header. */
  readonly allColumns: boolean;
}

/** What to do with every column of one particular file, checked against its header before any row is read. */
export interface ImportPlan {
  readonly userIdColumn?: string;
  readonly emailColumn?: string;
  readonly timestampColumn?: string;
  readonly fields: readonly FieldMapping[];
}

function isPrefix(shorter: readonly string[], longer: readonly string[]): boolean {
  return shorter.length <= longer.length && shorter.every((segment, i) => longer[i] === segment);
}

/** Checks the settings against the file's header: every named column exists and no two traits collide. */
export function planImport({
  header,
  settings,
}: {
  header: readonly string[];
  settings: ImportSettings;
}): ImportPlan {
  const seen = new Set<string>();
  for (const name of header) {
    if (seen.has(name)) throw new ImportConfigError(`The header names column "${name}" twice.`);
    seen.add(name);
  }
  const { userIdColumn, emailColumn, timestampColumn } = settings;
  if (userIdColumn === undefined && emailColumn === undefined) {
    throw new ImportConfigError(
      'Name the column that identifies each contact: --user-id COLUMN and/or --email COLUMN.',
    );
  }
  const named = [userIdColumn, emailColumn, timestampColumn, ...settings.mappings.map((m) => m.column)];
  const missing = named.filter((column): column is string => column !== undefined && !seen.has(column));
  if (missing.length > 0) {
    throw new ImportConfigError(
      `The file has no column ${missing.map((c) => `"${c}"`).join(', ')} (its header: ${header.join(', ')}).`,
    );
  }

  const mapped = new Set(settings.mappings.map((m) => m.column));
  const identityColumns = new Set([userIdColumn, emailColumn, timestampColumn]);
  const extra: FieldMapping[] = settings.allColumns
    ? header
        .filter((column) => !mapped.has(column) && !identityColumns.has(column))
        .map((column) => {
          if (column.trim() === '' || FORBIDDEN_SEGMENTS.has(column)) {
            throw new ImportConfigError(
              `Column "${column}" cannot become a trait name; map it with --map instead.`,
            );
          }
          return { column, path: [column], type: 'string' as const };
        })
    : [];
  const fields = [...settings.mappings, ...extra];

  const targets: { readonly label: string; readonly path: readonly string[] }[] = [
    ...(emailColumn === undefined ? [] : [{ label: `--email ${emailColumn}`, path: ['email'] }]),
    ...fields.map((field) => ({ label: `column ${field.column}`, path: field.path })),
  ];
  for (const [i, a] of targets.entries()) {
    for (const b of targets.slice(i + 1)) {
      if (isPrefix(a.path, b.path) || isPrefix(b.path, a.path)) {
        throw new ImportConfigError(
          `${a.label} (trait ${a.path.join('.')}) and ${b.label} (trait ${b.path.join('.')}) would overwrite each other.`,
        );
      }
    }
  }
  return {
    ...(userIdColumn === undefined ? {} : { userIdColumn }),
    ...(emailColumn === undefined ? {} : { emailColumn }),
    ...(timestampColumn === undefined ? {} : { timestampColumn }),
    fields,
  };
}

export type Conversion =
  | { readonly ok: true; readonly value: JsonValue }
  | { readonly ok: false; readonly reason: string };

const BOOLEANS: ReadonlyMap<string, boolean> = new Map([
  ['true', true],
  ['yes', true],
  ['1', true],
  ['false', false],
  ['no', false],
  ['0', false],
]);

const jsonValue: z.ZodType<JsonValue> = z.json();

/** A date as ISO 8601 UTC. Times without an offset are read as UTC, so a date alone is midnight UTC. */
export function toIsoDate(text: string): string | undefined {
  const options = { zone: 'utc', setZone: true };
  const candidates = [
    DateTime.fromISO(text, options),
    DateTime.fromRFC2822(text, options),
    DateTime.fromHTTP(text, options),
    DateTime.fromSQL(text, options),
  ];
  const valid = candidates.find((candidate) => candidate.isValid);
  return valid?.toUTC().toISO() ?? undefined;
}

/** Reads one non-empty cell as the mapped type. */
export function convertCell({ text, type }: { text: string; type: TraitType }): Conversion {
  const value = text.trim();
  switch (type) {
    case 'string':
      return { ok: true, value: text };
    case 'number': {
      const number = Number(value);
      return Number.isFinite(number) && /^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i.test(value)
        ? { ok: true, value: number }
        : { ok: false, reason: `"${value}" is not a number` };
    }
    case 'integer': {
      const number = Number(value);
      return /^[+-]?\d+$/.test(value) && Number.isSafeInteger(number)
        ? { ok: true, value: number }
        : { ok: false, reason: `"${value}" is not an integer` };
    }
    case 'boolean': {
      const flag = BOOLEANS.get(value.toLowerCase());
      return flag === undefined
        ? { ok: false, reason: `"${value}" is not a boolean (use true/false, yes/no or 1/0)` }
        : { ok: true, value: flag };
    }
    case 'date': {
      const iso = toIsoDate(value);
      return iso === undefined ? { ok: false, reason: `"${value}" is not a date` } : { ok: true, value: iso };
    }
    case 'json': {
      let parsed: unknown;
      try {
        parsed = JSON.parse(value);
      } catch {
        return { ok: false, reason: 'is not valid JSON' };
      }
      const checked = jsonValue.safeParse(parsed);
      return checked.success ? { ok: true, value: checked.data } : { ok: false, reason: 'is not valid JSON' };
    }
  }
}

/** Sets a value at a dot path, creating the objects on the way. Paths were checked by planImport not to collide. */
function setPath(target: JsonObject, path: readonly string[], value: JsonValue): void {
  const [head, ...rest] = path;
  if (head === undefined) return;
  if (rest.length === 0) {
    target[head] = value;
    return;
  }
  const existing = target[head];
  const child: JsonObject =
    typeof existing === 'object' && existing !== null && !Array.isArray(existing) ? existing : {};
  target[head] = child;
  setPath(child, rest, value);
}

/** JSON with object keys sorted at every level, so equal content always hashes the same. */
export function stableJson(value: JsonValue): string {
  if (Array.isArray(value)) return `[${value.map(stableJson).join(',')}]`;
  if (typeof value === 'object' && value !== null) {
    const keys = Object.keys(value).sort();
    return `{${keys.map((key) => `${JSON.stringify(key)}:${stableJson(value[key] ?? null)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

function sha256Hex(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/** Loose on purpose: the CRM is the source of truth; this only catches values that are plainly not addresses. */
const EMAIL_PATTERN = /^[^@\s]+@[^@\s]+\.[^@\s]+$/;

export interface IdentifyCall {
  readonly type: 'identify';
  readonly messageId: string;
  readonly userId?: string;
  readonly anonymousId?: string;
  readonly traits: JsonObject;
  readonly timestamp: string;
}

export interface RowProblem {
  /** The column at fault; empty when the problem is the row as a whole. */
  readonly column: string;
  readonly reason: string;
}

export type RowOutcome =
  | { readonly ok: true; readonly call: IdentifyCall; readonly bytes: number }
  | { readonly ok: false; readonly problems: readonly RowProblem[] };

/**
 * One CSV row as an identify call. Empty cells are left out, so a blank never overwrites a known trait.
 * The messageId hashes the row's identity, traits and (when it comes from the file) timestamp, so re-importing an
 * unchanged row is deduplicated by the API while a changed row is a new identify.
 * Rows with only an email get an anonymousId derived from the address: the tracking API files every call under a
 * userId or anonymousId, and a hash keeps the address out of storage keys.
 */
export function rowToIdentify({
  plan,
  row,
  runStartedAt,
}: {
  plan: ImportPlan;
  row: Readonly<Record<string, string>>;
  /** ISO 8601; the timestamp of rows when the plan has no timestamp column. */
  runStartedAt: string;
}): RowOutcome {
  const problems: RowProblem[] = [];
  const cell = (column: string | undefined): string =>
    column === undefined ? '' : (row[column] ?? '').trim();

  const userId = cell(plan.userIdColumn);
  if (userId.length > MAX_ID_LENGTH) {
    problems.push({ column: plan.userIdColumn ?? '', reason: `is longer than ${MAX_ID_LENGTH} characters` });
  }
  const email = cell(plan.emailColumn);
  if (email !== '' && !EMAIL_PATTERN.test(email)) {
    problems.push({ column: plan.emailColumn ?? '', reason: `"${email}" is not an email address` });
  }
  if (userId === '' && email === '') {
    const columns = [plan.userIdColumn, plan.emailColumn].filter((c): c is string => c !== undefined);
    problems.push({ column: columns.join('|'), reason: `the row has no ${columns.join(' or ')}` });
  }

  let timestamp = runStartedAt;
  if (plan.timestampColumn !== undefined) {
    const text = cell(plan.timestampColumn);
    const iso = text === '' ? undefined : toIsoDate(text);
    if (iso === undefined) {
      problems.push({
        column: plan.timestampColumn,
        reason: text === '' ? 'is empty' : `"${text}" is not a date`,
      });
    } else {
      timestamp = iso;
    }
  }

  const traits: JsonObject = {};
  if (email !== '') traits.email = email;
  for (const field of plan.fields) {
    const text = row[field.column] ?? '';
    if (text.trim() === '') continue;
    const converted = convertCell({ text, type: field.type });
    if (converted.ok) setPath(traits, field.path, converted.value);
    else problems.push({ column: field.column, reason: converted.reason });
  }
  if (problems.length > 0) return { ok: false, problems };

  const identity: { userId: string } | { anonymousId: string } =
    userId !== '' ? { userId } : { anonymousId: `email-${sha256Hex(email.toLowerCase()).slice(0, 32)}` };
  const hashed: JsonObject = {
    ...identity,
    traits,
    ...(plan.timestampColumn === undefined ? {} : { timestamp }),
  };
  const call: IdentifyCall = {
    type: 'identify',
    messageId: `import-${sha256Hex(stableJson(hashed)).slice(0, 32)}`,
    ...identity,
    traits,
    timestamp,
  };
  const bytes = Buffer.byteLength(JSON.stringify(call));
  if (bytes > MAX_EVENT_BYTES) {
    return {
      ok: false,
      problems: [
        { column: '', reason: `the row becomes ${bytes} bytes, above the API's ${MAX_EVENT_BYTES}` },
      ],
    };
  }
  return { ok: true, call, bytes };
}

/** One line of the error report: the reason a row was not imported, with the row as it stood in the file. */
export interface RowError {
  /** 1 for the first data row after the header. */
  readonly row: number;
  /** Line in the file where the row ends. */
  readonly line: number;
  readonly column: string;
  readonly reason: string;
  readonly original: string;
}

export const ERROR_REPORT_HEADER = 'row,line,column,reason,original\n';

function csvField(value: string): string {
  return /[",\r\n]/.test(value) || /^\s|\s$/.test(value) ? `"${value.replaceAll('"', '""')}"` : value;
}

export function errorReportLine(error: RowError): string {
  const original = error.original.replace(/^[\r\n]+|[\r\n]+$/g, '');
  return `${[String(error.row), String(error.line), error.column, error.reason, original].map(csvField).join(',')}\n`;
}
