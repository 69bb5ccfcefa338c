// KPI settings entered by marketers: marketing costs (JSON or CSV) and reference values, parsed and merged.
import { parse as parseCsv } from 'csv-parse/sync';
import { DateTime } from 'luxon';
import * as z from 'zod';
import { CHANNELS } from '../tracking/schemas.ts';
import type { ReferenceValues } from './query.ts';
import type { CostEntry } from './rollup.ts';

/** A problem with the entries, with every bad entry or CSV line listed so a marketer can fix them at once. */
export class CostInputError extends Error {
  override name = 'CostInputError';
  constructor(readonly problems: readonly string[]) {
    super(problems.join('; '));
  }
}

const MAX_COST_ENTRIES = 5000;

const isDay = (value: string) =>
  /^\d{4}-\d{2}-\d{2}$/.test(value) && DateTime.fromISO(value, { zone: 'utc' }).isValid;
const isMonth = (value: string) =>
  /^\d{4}-\d{2}$/.test(value) && DateTime.fromISO(`${value}-01`, { zone: 'utc' }).isValid;

const blankToUndefined = (value: unknown) =>
  typeof value === 'string' && value.trim() === '' ? undefined : value;
const optionalText = z.preprocess(blankToUndefined, z.string().trim().min(1).max(256).optional());

/** One cost as the API takes it: a channel or a campaign, a day or a month, an amount and a currency. */
export const costInputSchema = z
  .object({
    channel: z.preprocess(blankToUndefined, z.enum(CHANNELS).optional()),
    campaign: optionalText,
    day: z.preprocess(blankToUndefined, z.string().refine(isDay, 'must be a date YYYY-MM-DD').optional()),
    month: z.preprocess(blankToUndefined, z.string().refine(isMonth, 'must be a month YYYY-MM').optional()),
    amount: z.preprocess(
      (value) => (typeof value === 'string' && value.trim() !== '' ? Number(value) : value),
      z.number().finite().min(0),
    ),
    currency: z.preprocess(
      blankToUndefined,
      z
        .string()
        .regex(/^[A-Za-z]{3}$/, 'must be a three-letter ISO 4217 code')
        .transform((code) => code.toUpperCase())
        .optional(),
    ),
  })
  .refine((cost) => (cost.channel === undefined) !== (cost.campaign === undefined), {
    message: 'give either channel or campaign',
  })
  .refine((cost) => (cost.day === undefined) !== (cost.month === undefined), {
    message: 'give either day or month',
  });
export type CostInput = z.input<typeof costInputSchema>;

function issues(error: z.ZodError): string {
  return error.issues.map((issue) => `${issue.path.join('.') || 'entry'} ${issue.message}`).join(', ');
}

function toEntry(cost: z.output<typeof costInputSchema>, currency: string): CostEntry {
  return {
    scope: cost.channel === undefined ? 'campaign' : 'channel',
    name: cost.channel ?? cost.campaign ?? '',
    period: cost.day ?? cost.month ?? '',
    amount: cost.amount,
    currency: cost.currency ?? currency,
  };
}

/** The entries of a JSON body `{ entries: [...] }`; `currency` fills entries that name none. */
export function costsFromJson(body: unknown, currency: string): CostEntry[] {
  const shape = z.object({ entries: z.array(z.unknown()).min(1).max(MAX_COST_ENTRIES) }).safeParse(body);
  if (!shape.success) throw new CostInputError([`body must be { "entries": [1–${MAX_COST_ENTRIES} costs] }`]);
  const problems: string[] = [];
  const entries: CostEntry[] = [];
  shape.data.entries.forEach((raw, index) => {
    const parsed = costInputSchema.safeParse(raw);
    if (parsed.success) entries.push(toEntry(parsed.data, currency));
    else problems.push(`entries[${index}]: ${issues(parsed.error)}`);
  });
  if (problems.length > 0) throw new CostInputError(problems);
  return dedupeCosts(entries);
}

export const COST_CSV_COLUMNS = ['channel', 'campaign', 'day', 'month', 'amount', 'currency'] as const;

/**
 * The entries of a CSV with a header row naming some of `channel,campaign,day,month,amount,currency` (amount
 * required). Problems name their line (the header is line 1).
 */
export function costsFromCsv(text: string, currency: string): CostEntry[] {
  let rows: string[][];
  try {
    rows = parseCsv(text, { bom: true, skip_empty_lines: true, relax_column_count: true, trim: true });
  } catch (error) {
    throw new CostInputError([
      `not readable as CSV: ${error instanceof Error ? error.message : 'parse error'}`,
    ]);
  }
  const [header, ...data] = rows;
  if (header === undefined || data.length === 0)
    throw new CostInputError(['CSV needs a header line and at least one cost']);
  if (data.length > MAX_COST_ENTRIES)
    throw new CostInputError([`at most ${MAX_COST_ENTRIES} costs per upload`]);
  const columns = header.map((name) => name.toLowerCase());
  const unknown = columns.filter((name) => !(COST_CSV_COLUMNS as readonly string[]).includes(name));
  if (unknown.length > 0 || !columns.includes('amount'))
    throw new CostInputError([
      `line 1: the header must name columns from ${COST_CSV_COLUMNS.join(',')} including amount${unknown.length > 0 ? `; unknown: ${unknown.join(',')}` : ''}`,
    ]);
  const problems: string[] = [];
  const entries: CostEntry[] = [];
  data.forEach((row, index) => {
    const record: Record<string, string> = {};
    columns.forEach((name, column) => {
      record[name] = row[column] ?? '';
    });
    const parsed = costInputSchema.safeParse(record);
    if (parsed.success) entries.push(toEntry(parsed.data, currency));
    else problems.push(`line ${index + 2}: ${issues(parsed.error)}`);
  });
  if (problems.length > 0) throw new CostInputError(problems);
  return dedupeCosts(entries);
}

/** Identifies what an entry replaces: the same channel or campaign and the same day or month. */
export function costKey(entry: Pick<CostEntry, 'scope' | 'name' | 'period'>): string {
  return `${entry.scope}#${entry.name}#${entry.period}`;
}

/** The last entry for a key wins, as it would if the entries were sent one after another. */
function dedupeCosts(entries: readonly CostEntry[]): CostEntry[] {
  return [...new Map(entries.map((entry) => [costKey(entry), entry])).values()];
}

/** Stored entries with new ones merged in: a new entry replaces the stored one for its key. */
export function mergeCosts(stored: readonly CostEntry[], updates: readonly CostEntry[]): CostEntry[] {
  return dedupeCosts([...stored, ...updates]);
}

const share = z.number().min(0).max(1);
export const referenceValuesSchema = z
  .object({
    trafficToLeadRatio: z.object({ low: share, high: share }),
    landingPageConversionRate: z.object({ typical: share }),
  })
  .refine((value) => value.trafficToLeadRatio.low <= value.trafficToLeadRatio.high, {
    message: 'trafficToLeadRatio.low must not exceed high',
    path: ['trafficToLeadRatio'],
  }) satisfies z.ZodType<ReferenceValues>;
