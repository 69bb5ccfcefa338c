// Turning CRM CSV rows into identify calls: mappings, typed traits, row problems and deterministic message ids.
import { parse } from 'csv-parse/sync';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  convertCell,
  errorReportLine,
  ImportConfigError,
  type ImportPlan,
  parseFieldMapping,
  planImport,
  rowToIdentify,
  toIsoDate,
} from '../../../functions/imports/csv-import.ts';

const RUN = '2026-11-22T18:00:00.000Z';

const CRM_PLAN: ImportPlan = planImport({
  header: ['customer_id', 'email', 'clv', 'subscription_ends', 'plan', 'notes'],
  settings: {
    userIdColumn: 'customer_id',
    emailColumn: 'email',
    mappings: [
      parseFieldMapping('clv=clv:number'),
      parseFieldMapping('subscription_ends=subscription.endsAt:date'),
      parseFieldMapping('plan=subscription.plan'),
    ],
    allColumns: false,
  },
});

function crmRow(overrides: Record<string, string> = {}): Record<string, string> {
  return {
    customer_id: 'c-1',
    email: 'ada@example.com',
    clv: '1250.5',
    subscription_ends: '2027-02-01',
    plan: 'pro',
    notes: 'VIP',
    ...overrides,
  };
}

describe('--map specifications', () => {
  it('reads a column into a string trait when no type is given', () => {
    expect(parseFieldMapping('plan=subscription.plan')).toEqual({
      column: 'plan',
      path: ['subscription', 'plan'],
      type: 'string',
    });
  });

  it('reads the type after the last colon', () => {
    expect(parseFieldMapping('ends=subscription.endsAt:date')).toEqual({
      column: 'ends',
      path: ['subscription', 'endsAt'],
      type: 'date',
    });
  });

  it('refuses an unknown type and names the allowed ones', () => {
    expect(() => parseFieldMapping('clv=clv:money')).toThrow(/unknown type "money".*number/);
  });

  it.each(['__proto__', 'constructor', 'prototype'])('refuses a trait path through %s', (segment) => {
    expect(() => parseFieldMapping(`x=a.${segment}.b`)).toThrow(ImportConfigError);
  });

  it('refuses a mapping without a column or without a trait path', () => {
    expect(() => parseFieldMapping('=clv')).toThrow(ImportConfigError);
    expect(() => parseFieldMapping('clv=')).toThrow(ImportConfigError);
    expect(() => parseFieldMapping('clv')).toThrow(ImportConfigError);
  });

  it('refuses an empty segment in a dot path', () => {
    expect(() => parseFieldMapping('plan=subscription..plan')).toThrow(/empty segment/);
  });
});

describe('cell types', () => {
  it('reads a date alone as midnight UTC', () => {
    expect(convertCell({ text: '2027-02-01', type: 'date' })).toEqual({
      ok: true,
      value: '2027-02-01T00:00:00.000Z',
    });
  });

  it('converts a date-time with an offset to UTC', () => {
    expect(toIsoDate('2027-02-01T10:30:00+02:00')).toBe('2027-02-01T08:30:00.000Z');
  });

  it('accepts RFC 2822 and SQL-style dates', () => {
    expect(toIsoDate('Mon, 01 Feb 2027 10:00:00 GMT')).toBe('2027-02-01T10:00:00.000Z');
    expect(toIsoDate('2027-02-01 10:00:00')).toBe('2027-02-01T10:00:00.000Z');
  });

  it('refuses ambiguous or impossible dates', () => {
    expect(toIsoDate('01/02/2027')).toBeUndefined();
    expect(toIsoDate('2027-13-01')).toBeUndefined();
  });

  it('reads numbers with decimals and exponents but not currency text', () => {
    expect(convertCell({ text: ' 1250.5 ', type: 'number' })).toEqual({ ok: true, value: 1250.5 });
    expect(convertCell({ text: '1e3', type: 'number' })).toEqual({ ok: true, value: 1000 });
    expect(convertCell({ text: '€12', type: 'number' }).ok).toBe(false);
    expect(convertCell({ text: 'Infinity', type: 'number' }).ok).toBe(false);
  });

  it('refuses a fraction where an integer is expected', () => {
    expect(convertCell({ text: '3', type: 'integer' })).toEqual({ ok: true, value: 3 });
    expect(convertCell({ text: '3.5', type: 'integer' }).ok).toBe(false);
  });

  it.each([
    ['true', true],
    ['Yes', true],
    ['1', true],
    ['FALSE', false],
    ['no', false],
    ['0', false],
  ])('reads the boolean %s as %s', (text, value) => {
    expect(convertCell({ text, type: 'boolean' })).toEqual({ ok: true, value });
  });

  it('refuses a boolean it cannot read', () => {
    expect(convertCell({ text: 'maybe', type: 'boolean' }).ok).toBe(false);
  });

  it('parses json cells into nested values', () => {
    expect(convertCell({ text: '{"sku":["a","b"]}', type: 'json' })).toEqual({
      ok: true,
      value: { sku: ['a', 'b'] },
    });
    expect(convertCell({ text: '{sku', type: 'json' }).ok).toBe(false);
  });
});

describe('import plans', () => {
  it('names every column the file lacks, with the header it has', () => {
    expect(() =>
      planImport({
        header: ['id', 'mail'],
        settings: {
          userIdColumn: 'customer_id',
          mappings: [parseFieldMapping('clv=clv')],
          allColumns: false,
        },
      }),
    ).toThrow(/no column "customer_id", "clv" \(its header: id, mail\)/);
  });

  it('requires a userId or email column', () => {
    expect(() => planImport({ header: ['a'], settings: { mappings: [], allColumns: false } })).toThrow(
      /--user-id COLUMN and\/or --email COLUMN/,
    );
  });

  it('refuses a header that names a column twice', () => {
    expect(() =>
      planImport({ header: ['id', 'id'], settings: { userIdColumn: 'id', mappings: [], allColumns: false } }),
    ).toThrow(/twice/);
  });

  it('refuses two mappings where one would overwrite the other', () => {
    expect(() =>
      planImport({
        header: ['id', 'plan', 'tier'],
        settings: {
          userIdColumn: 'id',
          mappings: [parseFieldMapping('plan=subscription'), parseFieldMapping('tier=subscription.tier')],
          allColumns: false,
        },
      }),
    ).toThrow(/would overwrite each other/);
  });

  it('refuses a mapping onto the email trait that --email already fills', () => {
    expect(() =>
      planImport({
        header: ['id', 'mail', 'other'],
        settings: { emailColumn: 'mail', mappings: [parseFieldMapping('other=email')], allColumns: false },
      }),
    ).toThrow(/--email mail/);
  });

  it('adds unmapped columns as string traits with --all-columns, leaving identity columns out', () => {
    const plan = planImport({
      header: ['id', 'mail', 'clv', 'city'],
      settings: {
        userIdColumn: 'id',
        emailColumn: 'mail',
        mappings: [parseFieldMapping('clv=clv:number')],
        allColumns: true,
      },
    });

    expect(plan.fields).toEqual([
      { column: 'clv', path: ['clv'], type: 'number' },
      { column: 'city', path: ['city'], type: 'string' },
    ]);
  });
});

describe('rows as identify calls', () => {
  it('builds nested, typed traits with the email among them', () => {
    const outcome = rowToIdentify({ plan: CRM_PLAN, row: crmRow(), runStartedAt: RUN });

    expect(outcome.ok && outcome.call).toMatchObject({
      type: 'identify',
      userId: 'c-1',
      timestamp: RUN,
      traits: {
        email: 'ada@example.com',
        clv: 1250.5,
        subscription: { endsAt: '2027-02-01T00:00:00.000Z', plan: 'pro' },
      },
    });
  });

  it('ignores columns that are not mapped', () => {
    const outcome = rowToIdentify({ plan: CRM_PLAN, row: crmRow(), runStartedAt: RUN });

    expect(outcome.ok && outcome.call.traits).not.toHaveProperty('notes');
  });

  it('trims the userId', () => {
    const outcome = rowToIdentify({
      plan: CRM_PLAN,
      row: crmRow({ customer_id: '  c-9 ' }),
      runStartedAt: RUN,
    });

    expect(outcome.ok && outcome.call.userId).toBe('c-9');
  });

  it('leaves empty cells out so a blank never erases a known trait', () => {
    const outcome = rowToIdentify({ plan: CRM_PLAN, row: crmRow({ clv: '', plan: ' ' }), runStartedAt: RUN });

    expect(outcome.ok && outcome.call.traits).toEqual({
      email: 'ada@example.com',
      subscription: { endsAt: '2027-02-01T00:00:00.000Z' },
    });
  });

  it('files a row with only an email under an anonymousId that does not reveal the address', () => {
    const outcome = rowToIdentify({ plan: CRM_PLAN, row: crmRow({ customer_id: '' }), runStartedAt: RUN });

    expect(outcome.ok && outcome.call.userId).toBeUndefined();
    expect(outcome.ok && outcome.call.anonymousId).toMatch(/^email-[0-9a-f]{32}$/);
    expect(outcome.ok && outcome.call.anonymousId).not.toContain('ada');
  });

  it('gives the same anonymousId to an email whatever its letter case', () => {
    const lower = rowToIdentify({ plan: CRM_PLAN, row: crmRow({ customer_id: '' }), runStartedAt: RUN });
    const upper = rowToIdentify({
      plan: CRM_PLAN,
      row: crmRow({ customer_id: '', email: 'Ada@Example.com' }),
      runStartedAt: RUN,
    });

    expect(lower.ok && lower.call.anonymousId).toBe(upper.ok && upper.call.anonymousId);
  });

  it('reports a row with neither userId nor email', () => {
    const outcome = rowToIdentify({
      plan: CRM_PLAN,
      row: crmRow({ customer_id: '', email: '' }),
      runStartedAt: RUN,
    });

    expect(outcome).toEqual({
      ok: false,
      problems: [{ column: 'customer_id|email', reason: 'the row has no customer_id or email' }],
    });
  });

  it('reports every bad cell of a row at once', () => {
    const outcome = rowToIdentify({
      plan: CRM_PLAN,
      row: crmRow({ email: 'not-an-address', clv: 'lots', subscription_ends: 'soon' }),
      runStartedAt: RUN,
    });

    expect(outcome.ok ? [] : outcome.problems.map((p) => p.column)).toEqual([
      'email',
      'clv',
      'subscription_ends',
    ]);
  });

  it('reports a row too large for the tracking API instead of sending it', () => {
    const plan = planImport({
      header: ['id', 'bio'],
      settings: { userIdColumn: 'id', mappings: [parseFieldMapping('bio=bio')], allColumns: false },
    });

    const outcome = rowToIdentify({ plan, row: { id: 'c-1', bio: 'x'.repeat(40_000) }, runStartedAt: RUN });

    expect(outcome.ok ? '' : outcome.problems[0]?.reason).toMatch(/above the API's 32768/);
  });

  it('takes the event time from the timestamp column when one is named', () => {
    const plan = planImport({
      header: ['id', 'updated'],
      settings: { userIdColumn: 'id', timestampColumn: 'updated', mappings: [], allColumns: false },
    });

    const good = rowToIdentify({ plan, row: { id: 'c-1', updated: '2026-01-05' }, runStartedAt: RUN });
    const bad = rowToIdentify({ plan, row: { id: 'c-1', updated: 'yesterday' }, runStartedAt: RUN });

    expect(good.ok && good.call.timestamp).toBe('2026-01-05T00:00:00.000Z');
    expect(bad.ok).toBe(false);
  });
});

describe('message ids', () => {
  const cells = fc.string({ maxLength: 20 }).filter((s) => s.trim() !== '');

  it('are the same for the same row imported in another run, so the API stores it once', () => {
    fc.assert(
      fc.property(cells, cells, fc.date({ noInvalidDate: true }), (id, plan, otherRun) => {
        const row = crmRow({ customer_id: id, plan });
        const first = rowToIdentify({ plan: CRM_PLAN, row, runStartedAt: RUN });
        const again = rowToIdentify({ plan: CRM_PLAN, row, runStartedAt: otherRun.toISOString() });

        expect(first.ok && first.call.messageId).toBe(again.ok && again.call.messageId);
      }),
    );
  });

  it('change when any mapped value of the row changes', () => {
    fc.assert(
      fc.property(cells, cells, (plan, otherPlan) => {
        fc.pre(plan !== otherPlan);
        const before = rowToIdentify({ plan: CRM_PLAN, row: crmRow({ plan }), runStartedAt: RUN });
        const after = rowToIdentify({ plan: CRM_PLAN, row: crmRow({ plan: otherPlan }), runStartedAt: RUN });

        expect(before.ok && before.call.messageId).not.toBe(after.ok && after.call.messageId);
      }),
    );
  });

  it('do not change when only an unmapped column changes', () => {
    const before = rowToIdentify({ plan: CRM_PLAN, row: crmRow({ notes: 'a' }), runStartedAt: RUN });
    const after = rowToIdentify({ plan: CRM_PLAN, row: crmRow({ notes: 'b' }), runStartedAt: RUN });

    expect(before.ok && before.call.messageId).toBe(after.ok && after.call.messageId);
  });

  it('fit the tracking API id limits', () => {
    const outcome = rowToIdentify({ plan: CRM_PLAN, row: crmRow(), runStartedAt: RUN });

    expect(outcome.ok && outcome.call.messageId).toMatch(/^import-[0-9a-f]{32}$/);
  });
});

describe('the error report', () => {
  it('round-trips any reason and original row through a CSV reader', () => {
    fc.assert(
      fc.property(fc.string(), fc.string(), fc.string(), (column, reason, original) => {
        const cleanOriginal = original.replace(/^[\r\n]+|[\r\n]+$/g, '');
        const line = errorReportLine({ row: 7, line: 9, column, reason, original });

        const [fields] = parse(line, { relax_column_count: false });

        expect(fields).toEqual(['7', '9', column, reason, cleanOriginal]);
      }),
    );
  });
});
