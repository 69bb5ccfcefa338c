// Turns CRM rows (CSV or JSON Lines) into Segment identify and group calls: mappings, typed traits, dedupe keys.
import { Buffer } from 'node:buffer';
import { createHash } from 'node:crypto';
import { DateTime } from 'luxon';
import * as z from 'zod';
import { ENRICHMENT_TRAIT } from '../enrichment/enricher.ts';
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
  // Only enrichers write it, so that no file can forge where a country or a free-mail flag came from.
  if (segments[0] === ENRICHMENT_TRAIT) {
    throw new ImportConfigError(
      `Trait path "${path}" is reserved for enrichment (docs/enrichment.md); map the column to another trait.`,
    );
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

/** What the rows of a file describe; each kind becomes different Segment calls (see docs/import.md). */
export const RECORD_KINDS = ['contacts', 'accounts', 'subscriptions'] as const;
export type RecordKind = (typeof RECORD_KINDS)[number];

export function isRecordKind(value: string): value is RecordKind {
  return RECORD_KINDS.some((kind) => kind === value);
}

/** Where external ids are kept unless `--source` names the system: trait `externalIds.crm`. */
export const DEFAULT_SOURCE = 'crm';
/** A source becomes a trait key and part of an anonymousId hash: short and plain keeps both predictable. */
const SOURCE_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;

export interface ImportSettings {
  /** @default 'contacts' */
  readonly kind?: RecordKind;
  readonly userIdColumn?: string;
  readonly emailColumn?: string;
  /** The source system's own id of the contact: kept as trait `externalIds.<source>` and used as a dedupe key. */
  readonly externalIdColumn?: string;
  /** accounts only: the account's id, sent as the group call's groupId. */
  readonly groupIdColumn?: string;
  /** Names the source system in `externalIds.<source>`. @default 'crm' */
  readonly source?: string;
  /** Column holding each row's event time; without it every row is stamped by the run (see rowTimestamp). */
  readonly timestampColumn?: string;
  readonly mappings: readonly FieldMapping[];
  /** Unmapped columns go in as string traits named after their header (CSV only). */
  readonly allColumns: boolean;
}

/** What to do with every column of one particular file, checked against its header before any row is read. */
export interface ImportPlan {
  readonly kind: RecordKind;
  readonly userIdColumn?: string;
  readonly emailColumn?: string;
  readonly externalIdColumn?: string;
  readonly groupIdColumn?: string;
  readonly source: string;
  readonly timestampColumn?: string;
  readonly fields: readonly FieldMapping[];
}

function isPrefix(shorter: readonly string[], longer: readonly string[]): boolean {
  return shorter.length <= longer.length && shorter.every((segment, i) => longer[i] === segment);
}

/** Subscription files describe one thing, so their mappings land under `subscription` unless they say so already. */
function underSubscription(mapping: FieldMapping): FieldMapping {
  return mapping.path[0] === 'subscription'
    ? mapping
    : { ...mapping, path: ['subscription', ...mapping.path] };
}

function checkIdentityColumns(settings: ImportSettings, kind: RecordKind): void {
  const { userIdColumn, emailColumn, externalIdColumn, groupIdColumn } = settings;
  if (kind === 'accounts') {
    if (groupIdColumn === undefined) {
      throw new ImportConfigError('Name the column that identifies each account: --group-id COLUMN.');
    }
    return;
  }
  if (groupIdColumn !== undefined) {
    throw new ImportConfigError(`--group-id is for --kind accounts; this import is of ${kind}.`);
  }
  if (userIdColumn === undefined && emailColumn === undefined && externalIdColumn === undefined) {
    throw new ImportConfigError(
      'Name the column that identifies each contact: --user-id COLUMN and/or --email COLUMN (or --external-id COLUMN).',
    );
  }
}

/**
 * Checks the settings against the file: every named column exists and no two traits collide.
 * `header` is the CSV header; JSON Lines files have none (undefined), and their columns are dot paths into each
 * line's object, checked only for shape.
 */
export function planImport({
  header,
  settings,
}: {
  header: readonly string[] | undefined;
  settings: ImportSettings;
}): ImportPlan {
  const kind = settings.kind ?? 'contacts';
  const source = settings.source ?? DEFAULT_SOURCE;
  if (!SOURCE_PATTERN.test(source)) {
    throw new ImportConfigError(`--source "${source}" must be 1 to 64 letters, digits, "_" or "-".`);
  }
  checkIdentityColumns(settings, kind);
  const { userIdColumn, emailColumn, externalIdColumn, groupIdColumn, timestampColumn } = settings;
  const named = [
    userIdColumn,
    emailColumn,
    externalIdColumn,
    groupIdColumn,
    timestampColumn,
    ...settings.mappings.map((m) => m.column),
  ].filter((column): column is string => column !== undefined);

  const seen = new Set<string>();
  if (header === undefined) {
    if (settings.allColumns) {
      throw new ImportConfigError(
        '--all-columns needs a CSV header; with JSON Lines, map each field with --map.',
      );
    }
    for (const column of named) {
      if (column.split('.').some((segment) => segment.trim() === '')) {
        throw new ImportConfigError(`Field path "${column}" has an empty segment.`);
      }
    }
  } else {
    for (const name of header) {
      if (seen.has(name)) throw new ImportConfigError(`The header names column "${name}" twice.`);
      seen.add(name);
    }
    const missing = named.filter((column) => !seen.has(column));
    if (missing.length > 0) {
      throw new ImportConfigError(
        `The file has no column ${missing.map((c) => `"${c}"`).join(', ')} (its header: ${header.join(', ')}).`,
      );
    }
  }

  const mapped = new Set(settings.mappings.map((m) => m.column));
  const identityColumns = new Set([
    userIdColumn,
    emailColumn,
    externalIdColumn,
    groupIdColumn,
    timestampColumn,
  ]);
  const extra: FieldMapping[] =
    settings.allColumns && header !== undefined
      ? header
          .filter((column) => !mapped.has(column) && !identityColumns.has(column))
          .map((column) => {
            if (column.trim() === '' || FORBIDDEN_SEGMENTS.has(column) || column === ENRICHMENT_TRAIT) {
              throw new ImportConfigError(
                `Column "${column}" cannot become a trait name; map it with --map instead.`,
              );
            }
            return { column, path: [column], type: 'string' as const };
          })
      : [];
  const declared = [...settings.mappings, ...extra];
  const fields = kind === 'subscriptions' ? declared.map(underSubscription) : declared;

  // Account traits go on the group call, apart from the member's own email and external id.
  const contactTargets =
    kind === 'accounts'
      ? []
      : [
          ...(emailColumn === undefined ? [] : [{ label: `--email ${emailColumn}`, path: ['email'] }]),
          ...(externalIdColumn === undefined
            ? []
            : [{ label: `--external-id ${externalIdColumn}`, path: ['externalIds', source] }]),
        ];
  const targets: { readonly label: string; readonly path: readonly string[] }[] = [
    ...contactTargets,
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
    kind,
    source,
    ...(userIdColumn === undefined ? {} : { userIdColumn }),
    ...(emailColumn === undefined ? {} : { emailColumn }),
    ...(externalIdColumn === undefined ? {} : { externalIdColumn }),
    ...(groupIdColumn === undefined ? {} : { groupIdColumn }),
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

/** How a row reads one of its fields: a CSV cell by header, a JSON Lines value by dot path. Absent is undefined. */
export type FieldReader = (column: string) => JsonValue | undefined;

export function csvFieldReader(row: Readonly<Record<string, string>>): FieldReader {
  return (column) => row[column];
}

/** A value from a JSON Lines record as the mapped type. `empty` means the field is left out of the call. */
export function convertValue({
  value,
  type,
}: {
  value: JsonValue | undefined;
  type: TraitType;
}): Conversion | { readonly empty: true } {
  if (value === undefined || value === null) return { empty: true };
  if (typeof value === 'string')
    return value.trim() === '' ? { empty: true } : convertCell({ text: value, type });
  if (type === 'json') return { ok: true, value };
  if (typeof value === 'number') {
    if (type === 'number' || type === 'string')
      return { ok: true, value: type === 'string' ? String(value) : value };
    if (type === 'integer' && Number.isSafeInteger(value)) return { ok: true, value };
    if (type === 'boolean' && (value === 0 || value === 1)) return { ok: true, value: value === 1 };
    return {
      ok: false,
      reason: `${value} is not ${type === 'date' ? 'a date (use an ISO 8601 string)' : `a ${type}`}`,
    };
  }
  if (typeof value === 'boolean') {
    if (type === 'boolean') return { ok: true, value };
    if (type === 'string') return { ok: true, value: String(value) };
    return { ok: false, reason: `${value} is not a ${type}` };
  }
  return { ok: false, reason: `is ${Array.isArray(value) ? 'a list' : 'an object'}; map it as :json` };
}

interface CallBase {
  readonly messageId: string;
  readonly userId?: string;
  readonly anonymousId?: string;
  readonly traits: JsonObject;
  readonly timestamp: string;
}

export interface IdentifyCall extends CallBase {
  readonly type: 'identify';
}

/** An account: the member (or the account's stand-in, see rowToCalls) belongs to group `groupId`. */
export interface GroupCall extends CallBase {
  readonly type: 'group';
  readonly groupId: string;
}

export type ImportCall = IdentifyCall | GroupCall;

type Identity = { readonly userId: string } | { readonly anonymousId: string };

export interface RowProblem {
  /** The column at fault; empty when the problem is the row as a whole. */
  readonly column: string;
  readonly reason: string;
}

export type RowOutcome =
  | { readonly ok: true; readonly calls: readonly ImportCall[]; readonly bytes: number }
  | { readonly ok: false; readonly problems: readonly RowProblem[] };

/**
 * The key a contact is stored under, in order of trust: the userId, then the source system's external id, then
 * the email. The last two become anonymousIds: the tracking API files every call under a userId or anonymousId,
 * and a hash keeps ids and addresses out of storage keys while the same contact always gets the same key.
 */
function contactIdentity({
  userId,
  externalId,
  email,
  source,
}: {
  userId: string;
  externalId: string;
  email: string;
  source: string;
}): Identity | undefined {
  if (userId !== '') return { userId };
  if (externalId !== '')
    return { anonymousId: `ext-${sha256Hex(`${source}\u0000${externalId}`).slice(0, 32)}` };
  if (email !== '') return { anonymousId: `email-${sha256Hex(email.toLowerCase()).slice(0, 32)}` };
  return undefined;
}

/**
 * One row as Segment calls. Empty cells are left out, so a blank never overwrites a known trait.
 * - contacts: one identify with the mapped traits (and `email`, `externalIds.<source>`).
 * - subscriptions: the same, the mapped traits living under `subscription` (see planImport).
 * - accounts: a group call with the mapped traits as account traits; when the row names a member, also an identify
 *   setting the member's `company` trait (`{ id: groupId, ...account traits }`, Segment's reserved trait). An
 *   account row without a member is filed under a stand-in anonymousId `account-<hash of groupId>`.
 * Each messageId hashes the call's identity, traits and (when it comes from the file) timestamp, so re-importing an
 * unchanged row is deduplicated by the API while a changed row is a new call.
 */
export function rowToCalls({
  plan,
  record,
  defaultTimestamp,
}: {
  plan: ImportPlan;
  record: FieldReader;
  /** ISO 8601; the timestamp of the row when the plan has no timestamp column (see rowTimestamp). */
  defaultTimestamp: string;
}): RowOutcome {
  const problems: RowProblem[] = [];
  const text = (column: string | undefined): string => {
    if (column === undefined) return '';
    const value = record(column);
    if (value === undefined || value === null) return '';
    if (typeof value === 'string') return value.trim();
    if (typeof value === 'number' || typeof value === 'boolean') return String(value);
    problems.push({ column, reason: `is ${Array.isArray(value) ? 'a list' : 'an object'}, not text` });
    return '';
  };
  const id = (column: string | undefined): string => {
    const value = text(column);
    if (value.length > MAX_ID_LENGTH) {
      problems.push({ column: column ?? '', reason: `is longer than ${MAX_ID_LENGTH} characters` });
    }
    return value;
  };

  const userId = id(plan.userIdColumn);
  const externalId = id(plan.externalIdColumn);
  const email = text(plan.emailColumn);
  if (email !== '' && !EMAIL_PATTERN.test(email)) {
    problems.push({ column: plan.emailColumn ?? '', reason: `"${email}" is not an email address` });
  }
  const groupId = id(plan.groupIdColumn);
  if (plan.kind === 'accounts') {
    if (groupId === '' && plan.groupIdColumn !== undefined) {
      problems.push({ column: plan.groupIdColumn, reason: 'is empty: the row names no account' });
    }
  } else if (userId === '' && email === '' && externalId === '') {
    const columns = [plan.userIdColumn, plan.emailColumn, plan.externalIdColumn].filter(
      (c): c is string => c !== undefined,
    );
    problems.push({ column: columns.join('|'), reason: `the row has no ${columns.join(' or ')}` });
  }

  let timestamp = defaultTimestamp;
  if (plan.timestampColumn !== undefined) {
    const when = text(plan.timestampColumn);
    const iso = when === '' ? undefined : toIsoDate(when);
    if (iso === undefined) {
      problems.push({
        column: plan.timestampColumn,
        reason: when === '' ? 'is empty' : `"${when}" is not a date`,
      });
    } else {
      timestamp = iso;
    }
  }

  const mapped: JsonObject = {};
  for (const field of plan.fields) {
    const converted = convertValue({ value: record(field.column), type: field.type });
    if ('empty' in converted) continue;
    if (converted.ok) setPath(mapped, field.path, converted.value);
    else problems.push({ column: field.column, reason: converted.reason });
  }
  if (problems.length > 0) return { ok: false, problems };

  const contactTraits: JsonObject = {
    ...(email === '' ? {} : { email }),
    ...(externalId === '' ? {} : { externalIds: { [plan.source]: externalId } }),
  };
  const member = contactIdentity({ userId, externalId, email, source: plan.source });
  const stamp: JsonObject = plan.timestampColumn === undefined ? {} : { timestamp };
  const calls: ImportCall[] = [];
  if (plan.kind === 'accounts') {
    const identity = member ?? { anonymousId: `account-${sha256Hex(groupId).slice(0, 32)}` };
    const hashed: JsonObject = { type: 'group', groupId, ...identity, traits: mapped, ...stamp };
    calls.push({
      type: 'group',
      messageId: messageIdOf(hashed),
      groupId,
      ...identity,
      traits: mapped,
      timestamp,
    });
    if (member !== undefined) {
      const traits: JsonObject = { ...contactTraits, company: { ...mapped, id: groupId } };
      const hashedIdentify: JsonObject = { ...member, traits, ...stamp };
      calls.push({ type: 'identify', messageId: messageIdOf(hashedIdentify), ...member, traits, timestamp });
    }
  } else if (member !== undefined) {
    const traits: JsonObject = { ...contactTraits, ...mapped };
    const hashed: JsonObject = { ...member, traits, ...stamp };
    calls.push({ type: 'identify', messageId: messageIdOf(hashed), ...member, traits, timestamp });
  }

  let bytes = 0;
  for (const call of calls) {
    const size = Buffer.byteLength(JSON.stringify(call));
    if (size > MAX_EVENT_BYTES) {
      return {
        ok: false,
        problems: [
          { column: '', reason: `the row becomes ${size} bytes, above the API's ${MAX_EVENT_BYTES}` },
        ],
      };
    }
    bytes += size;
  }
  return { ok: true, calls, bytes };
}

function messageIdOf(hashed: JsonObject): string {
  return `import-${sha256Hex(stableJson(hashed)).slice(0, 32)}`;
}

/**
 * The timestamp of a row whose file gives none: the run's start, minus one millisecond per row that may still
 * follow it. Rows of one file then have strictly increasing times, so when two rows describe the same contact the
 * later row's traits win (the profile keeps, per trait, the value with the latest event time) without holding
 * earlier rows in memory. `rowsAtMost` is any upper bound on the file's rows (its line count).
 */
export function rowTimestamp({
  runStartedAt,
  row,
  rowsAtMost,
}: {
  runStartedAt: Date;
  row: number;
  rowsAtMost: number;
}): string {
  return new Date(runStartedAt.getTime() - Math.max(rowsAtMost - row, 0)).toISOString();
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
