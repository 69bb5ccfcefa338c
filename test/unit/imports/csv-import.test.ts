// Turning CRM CSV rows into identify calls: mappings, typed traits, row problems and deterministic message ids.
import { parse } from 'csv-parse/sync';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  convertCell,
  csvFieldReader,
  errorReportLine,
  type FieldReader,
  ImportConfigError,
  type ImportPlan,
  type ImportSettings,
  parseFieldMapping,
  planImport,
  rowTimestamp,
  rowToCalls,
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

function crmRow(overrides: Record<string, string> = {}): FieldReader {
  return csvFieldReader({
    customer_id: 'c-1',
    email: 'ada@example.com',
    clv: '1250.5',
    subscription_ends: '2027-02-01',
    plan: 'pro',
    notes: 'VIP',
    ...overrides,
  });
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
    const outcome = rowToCalls({ plan: CRM_PLAN, record: crmRow(), defaultTimestamp: RUN });

    expect(outcome.ok && outcome.calls[0]).toMatchObject({
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
    const outcome = rowToCalls({ plan: CRM_PLAN, record: crmRow(), defaultTimestamp: RUN });

    expect(outcome.ok && outcome.calls[0]?.traits).not.toHaveProperty('notes');
  });

  it('trims the userId', () => {
    const outcome = rowToCalls({
      plan: CRM_PLAN,
      record: crmRow({ customer_id: '  c-9 ' }),
      defaultTimestamp: RUN,
    });

    expect(outcome.ok && outcome.calls[0]?.userId).toBe('c-9');
  });

  it('leaves empty cells out so a blank never erases a known trait', () => {
    const outcome = rowToCalls({
      plan: CRM_PLAN,
      record: crmRow({ clv: '', plan: ' ' }),
      defaultTimestamp: RUN,
    });

    expect(outcome.ok && outcome.calls[0]?.traits).toEqual({
      email: 'ada@example.com',
      subscription: { endsAt: '2027-02-01T00:00:00.000Z' },
    });
  });

  it('files a row with only an email under an anonymousId that does not reveal the address', () => {
    const outcome = rowToCalls({
      plan: CRM_PLAN,
      record: crmRow({ customer_id: '' }),
      defaultTimestamp: RUN,
    });

    expect(outcome.ok && outcome.calls[0]?.userId).toBeUndefined();
    expect(outcome.ok && outcome.calls[0]?.anonymousId).toMatch(/^email-[0-9a-f]{32}$/);
    expect(outcome.ok && outcome.calls[0]?.anonymousId).not.toContain('ada');
  });

  it('gives the same anonymousId to an email whatever its letter case', () => {
    const lower = rowToCalls({ plan: CRM_PLAN, record: crmRow({ customer_id: '' }), defaultTimestamp: RUN });
    const upper = rowToCalls({
      plan: CRM_PLAN,
      record: crmRow({ customer_id: '', email: 'Ada@Example.com' }),
      defaultTimestamp: RUN,
    });

    expect(lower.ok && lower.calls[0]?.anonymousId).toBe(upper.ok && upper.calls[0]?.anonymousId);
  });

  it('reports a row with neither userId nor email', () => {
    const outcome = rowToCalls({
      plan: CRM_PLAN,
      record: crmRow({ customer_id: '', email: '' }),
      defaultTimestamp: RUN,
    });

    expect(outcome).toEqual({
      ok: false,
      problems: [{ column: 'customer_id|email', reason: 'the row has no customer_id or email' }],
    });
  });

  it('reports every bad cell of a row at once', () => {
    const outcome = rowToCalls({
      plan: CRM_PLAN,
      record: crmRow({ email: 'not-an-address', clv: 'lots', subscription_ends: 'soon' }),
      defaultTimestamp: RUN,
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

    const outcome = rowToCalls({
      plan,
      record: csvFieldReader({ id: 'c-1', bio: 'x'.repeat(40_000) }),
      defaultTimestamp: RUN,
    });

    expect(outcome.ok ? '' : outcome.problems[0]?.reason).toMatch(/above the API's 32768/);
  });

  it('takes the event time from the timestamp column when one is named', () => {
    const plan = planImport({
      header: ['id', 'updated'],
      settings: { userIdColumn: 'id', timestampColumn: 'updated', mappings: [], allColumns: false },
    });

    const good = rowToCalls({
      plan,
      record: csvFieldReader({ id: 'c-1', updated: '2026-01-05' }),
      defaultTimestamp: RUN,
    });
    const bad = rowToCalls({
      plan,
      record: csvFieldReader({ id: 'c-1', updated: 'yesterday' }),
      defaultTimestamp: RUN,
    });

    expect(good.ok && good.calls[0]?.timestamp).toBe('2026-01-05T00:00:00.000Z');
    expect(bad.ok).toBe(false);
  });
});

describe('message ids', () => {
  const cells = fc.string({ maxLength: 20 }).filter((s) => s.trim() !== '');

  it('are the same for the same row imported in another run, so the API stores it once', () => {
    fc.assert(
      fc.property(cells, cells, fc.date({ noInvalidDate: true }), (id, plan, otherRun) => {
        const row = crmRow({ customer_id: id, plan });
        const first = rowToCalls({ plan: CRM_PLAN, record: row, defaultTimestamp: RUN });
        const again = rowToCalls({ plan: CRM_PLAN, record: row, defaultTimestamp: otherRun.toISOString() });

        expect(first.ok && first.calls[0]?.messageId).toBe(again.ok && again.calls[0]?.messageId);
      }),
    );
  });

  it('change when any mapped value of the row changes', () => {
    fc.assert(
      fc.property(cells, cells, (plan, otherPlan) => {
        fc.pre(plan !== otherPlan);
        const before = rowToCalls({ plan: CRM_PLAN, record: crmRow({ plan }), defaultTimestamp: RUN });
        const after = rowToCalls({
          plan: CRM_PLAN,
          record: crmRow({ plan: otherPlan }),
          defaultTimestamp: RUN,
        });

        expect(before.ok && before.calls[0]?.messageId).not.toBe(after.ok && after.calls[0]?.messageId);
      }),
    );
  });

  it('do not change when only an unmapped column changes', () => {
    const before = rowToCalls({ plan: CRM_PLAN, record: crmRow({ notes: 'a' }), defaultTimestamp: RUN });
    const after = rowToCalls({ plan: CRM_PLAN, record: crmRow({ notes: 'b' }), defaultTimestamp: RUN });

    expect(before.ok && before.calls[0]?.messageId).toBe(after.ok && after.calls[0]?.messageId);
  });

  it('fit the tracking API id limits', () => {
    const outcome = rowToCalls({ plan: CRM_PLAN, record: crmRow(), defaultTimestamp: RUN });

    expect(outcome.ok && outcome.calls[0]?.messageId).toMatch(/^import-[0-9a-f]{32}$/);
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

describe('record kinds and dedupe keys', () => {
  const plan = (
    settings: Partial<ImportSettings>,
    header: string[] | undefined = ['id', 'mail', 'ext', 'acc', 'name', 'plan'],
  ) => planImport({ header, settings: { mappings: [], allColumns: false, ...settings } });

  it('files a contact without userId under its external id, kept as externalIds.<source>', () => {
    const outcome = rowToCalls({
      plan: plan({ userIdColumn: 'id', emailColumn: 'mail', externalIdColumn: 'ext', source: 'hubspot' }),
      record: csvFieldReader({ id: '', mail: 'ada@example.com', ext: 'H-1' }),
      defaultTimestamp: RUN,
    });

    expect(outcome.ok && outcome.calls).toEqual([
      expect.objectContaining({
        anonymousId: expect.stringMatching(/^ext-[0-9a-f]{32}$/),
        traits: { email: 'ada@example.com', externalIds: { hubspot: 'H-1' } },
      }),
    ]);
  });

  it('gives the same external id from two sources two different keys', () => {
    const keyFor = (source: string) => {
      const outcome = rowToCalls({
        plan: plan({ externalIdColumn: 'ext', source }),
        record: csvFieldReader({ ext: '42' }),
        defaultTimestamp: RUN,
      });
      return outcome.ok ? outcome.calls[0]?.anonymousId : undefined;
    };

    expect(keyFor('hubspot')).not.toBe(keyFor('salesforce'));
  });

  it('puts subscription mappings under the subscription trait unless they are there already', () => {
    const subscriptions = plan({
      kind: 'subscriptions',
      userIdColumn: 'id',
      mappings: [parseFieldMapping('plan=plan'), parseFieldMapping('name=subscription.name')],
    });

    expect(subscriptions.fields.map((field) => field.path.join('.'))).toEqual([
      'subscription.plan',
      'subscription.name',
    ]);
  });

  it('sends an account with no member under a stand-in id derived from the account', () => {
    const outcome = rowToCalls({
      plan: plan({
        kind: 'accounts',
        groupIdColumn: 'acc',
        emailColumn: 'mail',
        mappings: [parseFieldMapping('name=name')],
      }),
      record: csvFieldReader({ acc: 'acc-1', mail: '', name: 'Acme' }),
      defaultTimestamp: RUN,
    });

    expect(outcome.ok && outcome.calls).toEqual([
      expect.objectContaining({
        type: 'group',
        groupId: 'acc-1',
        anonymousId: expect.stringMatching(/^account-/),
        traits: { name: 'Acme' },
      }),
    ]);
  });

  it('reports an account row without an account id', () => {
    const outcome = rowToCalls({
      plan: plan({ kind: 'accounts', groupIdColumn: 'acc' }),
      record: csvFieldReader({ acc: ' ' }),
      defaultTimestamp: RUN,
    });

    expect(outcome.ok ? [] : outcome.problems.map((p) => p.column)).toEqual(['acc']);
  });

  it('refuses an accounts import without --group-id, and --group-id on contacts', () => {
    expect(() => plan({ kind: 'accounts', emailColumn: 'mail' })).toThrow(/--group-id COLUMN/);
    expect(() => plan({ groupIdColumn: 'acc', userIdColumn: 'id' })).toThrow(/for --kind accounts/);
  });

  it('refuses a source name that could not be a plain trait key', () => {
    expect(() => plan({ userIdColumn: 'id', source: '__proto__.x' })).toThrow(/--source/);
  });

  it('refuses --all-columns for a file without a header', () => {
    expect(() =>
      planImport({ header: undefined, settings: { userIdColumn: 'id', mappings: [], allColumns: true } }),
    ).toThrow(/--all-columns needs a CSV header/);
  });
});

describe('row timestamps stamped by the run', () => {
  it('increase with the row and never pass the start of the run', () => {
    fc.assert(
      fc.property(fc.nat(100_000), fc.nat(100_000), (a, b) => {
        fc.pre(a < b);
        const at = (row: number) => rowTimestamp({ runStartedAt: new Date(RUN), row, rowsAtMost: 100_001 });

        expect(at(a) < at(b)).toBe(true);
        expect(at(b) <= RUN).toBe(true);
      }),
    );
  });
});
