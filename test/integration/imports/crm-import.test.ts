// JSON Lines, accounts, subscriptions and external ids imported into a /v1/batch that parses bodies like ours; 100k rows.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  BENCH_WRITE_KEY,
  type FakeBatchApi,
  fixtureImportOptions,
  measurePeakRss,
  startFakeBatchApi,
  writeImportFixture,
} from '../../../bench/import.ts';
import { parseFieldMapping } from '../../../functions/imports/csv-import.ts';
import { errorReportPathFor, type ImportOptions, runImport } from '../../../lib/cli/import.ts';

let api: FakeBatchApi;
let directory: string;

beforeEach(async () => {
  api = await startFakeBatchApi({ keepEvents: true });
  directory = mkdtempSync(join(tmpdir(), 'nurture-crm-import-'));
});

afterEach(async () => {
  await api.stop();
  rmSync(directory, { recursive: true, force: true });
});

const quietIo = { stderr: { isTTY: false, write: () => true } };

function file(name: string, lines: readonly string[]): string {
  const path = join(directory, name);
  writeFileSync(path, `${lines.join('\n')}\n`);
  return path;
}

function options(path: string, overrides: Partial<ImportOptions>): ImportOptions {
  return {
    file: path,
    mappings: [],
    allColumns: false,
    api: { url: api.url, writeKey: BENCH_WRITE_KEY },
    ...overrides,
  };
}

function errorReport(path: string): string[][] {
  return parse(readFileSync(errorReportPathFor(path), 'utf8'), { from_line: 2 });
}

describe('a JSON Lines export', () => {
  it('maps nested fields by dot path into nested, typed traits', async () => {
    const path = file('contacts.jsonl', [
      JSON.stringify({
        id: 'c-1',
        email: 'ada@example.com',
        subscription: { ends_at: '2027-02-01', seats: 5 },
      }),
    ]);

    const summary = await runImport(
      options(path, {
        userIdColumn: 'id',
        emailColumn: 'email',
        mappings: ['subscription.ends_at=subscription.endsAt:date', 'subscription.seats=seats:integer'].map(
          parseFieldMapping,
        ),
      }),
      quietIo,
    );

    expect(summary).toMatchObject({ rowsRead: 1, rowsSent: 1, rowsSkipped: 0 });
    expect(api.events.map((event) => [event.type, event.userId, event.traits])).toEqual([
      [
        'identify',
        'c-1',
        { email: 'ada@example.com', subscription: { endsAt: '2027-02-01T00:00:00.000Z' }, seats: 5 },
      ],
    ]);
  });

  it('reports malformed lines with their line numbers and imports the rest', async () => {
    const path = file('contacts.ndjson', [
      JSON.stringify({ id: 'c-1' }),
      '',
      '{"id": "c-2", ',
      '["c-3"]',
      JSON.stringify({ id: 'c-4' }),
    ]);

    const summary = await runImport(options(path, { userIdColumn: 'id' }), quietIo);

    expect(summary).toMatchObject({ rowsRead: 4, rowsSent: 2, rowsSkipped: 2 });
    expect(errorReport(path).map(([row, line, , reason, original]) => [row, line, reason, original])).toEqual(
      [
        ['2', '3', expect.stringMatching(/^not JSON/), '{"id": "c-2", '],
        ['3', '4', expect.stringMatching(/^not a JSON object/), '["c-3"]'],
      ],
    );
    expect(api.events.map((event) => event.userId)).toEqual(['c-1', 'c-4']);
  });

  it('is read as JSON Lines whatever its name when --format jsonl is given', async () => {
    const path = file('export.txt', [JSON.stringify({ id: 'c-1' })]);

    const summary = await runImport(options(path, { format: 'jsonl', userIdColumn: 'id' }), quietIo);

    expect(summary.rowsSent).toBe(1);
  });
});

describe('accounts', () => {
  it('become group calls, and the members they name get the company trait', async () => {
    const path = file('accounts.csv', [
      'account_id,name,employees,contact_email',
      'acc-1,Acme,120,ada@acme.example',
      'acc-2,Globex,15,',
    ]);

    const summary = await runImport(
      options(path, {
        kind: 'accounts',
        groupIdColumn: 'account_id',
        emailColumn: 'contact_email',
        mappings: ['name=name', 'employees=employees:integer'].map(parseFieldMapping),
      }),
      quietIo,
    );

    expect(summary).toMatchObject({ rowsRead: 2, rowsSent: 2, rowsSkipped: 0 });
    expect(
      api.events.map((event) => [event.type, event.groupId, event.anonymousId?.split('-')[0], event.traits]),
    ).toEqual([
      ['group', 'acc-1', 'email', { name: 'Acme', employees: 120 }],
      [
        'identify',
        undefined,
        'email',
        { email: 'ada@acme.example', company: { id: 'acc-1', name: 'Acme', employees: 120 } },
      ],
      ['group', 'acc-2', 'account', { name: 'Globex', employees: 15 }],
    ]);
  });
});

describe('subscriptions', () => {
  it('set subscription traits on the contact they reference by external id', async () => {
    const path = file('subscriptions.csv', ['crm_id,plan,ends', 'C-77,pro,2027-02-01']);

    await runImport(
      options(path, {
        kind: 'subscriptions',
        externalIdColumn: 'crm_id',
        source: 'hubspot',
        mappings: ['plan=plan', 'ends=endsAt:date'].map(parseFieldMapping),
      }),
      quietIo,
    );

    expect(api.events).toEqual([
      expect.objectContaining({
        type: 'identify',
        anonymousId: expect.stringMatching(/^ext-[0-9a-f]{32}$/),
        traits: {
          externalIds: { hubspot: 'C-77' },
          subscription: { plan: 'pro', endsAt: '2027-02-01T00:00:00.000Z' },
        },
      }),
    ]);
  });
});

describe('rows repeating a contact', () => {
  it('are sent in file order with increasing times, so the later row wins on the profile', async () => {
    const path = file('contacts.csv', ['id,plan', 'c-1,basic', 'c-2,pro', 'c-1,team']);

    await runImport(
      options(path, { userIdColumn: 'id', mappings: [parseFieldMapping('plan=plan')], batchSize: 1 }),
      quietIo,
    );

    const forC1 = api.events.filter((event) => event.userId === 'c-1');
    expect(forC1.map((event) => event.traits.plan)).toEqual(['basic', 'team']);
    expect(String(forC1[0]?.clientTimestamp) < String(forC1[1]?.clientTimestamp)).toBe(true);
    expect(new Set(forC1.map((event) => event.sentAt)).size).toBe(1);
  });
});

describe('a 100,000-row CRM export with bad rows', () => {
  it.each(['csv', 'jsonl'] as const)(
    'as %s sends every good row once and reports every bad one, with memory reported',
    async (format) => {
      await api.stop();
      api = await startFakeBatchApi();
      const path = join(directory, `contacts.${format}`);
      const fixture = writeImportFixture({ path, rows: 100_000, format });
      const rssBefore = process.memoryUsage().rss;

      const { result: summary, peakRss } = await measurePeakRss(() =>
        runImport(fixtureImportOptions({ file: path, format, apiUrl: api.url }), quietIo),
      );

      console.log(
        `${format}: 100,000 rows in ${(summary.durationMs / 1000).toFixed(1)} s, RSS growth ${((peakRss - rssBefore) / 1024 / 1024).toFixed(1)} MB`,
      );
      expect(fixture.badRows).toBe(1000);
      expect(summary).toMatchObject({ rowsRead: 100_000, rowsSent: 99_000, rowsSkipped: 1000 });
      expect(api.stored.size).toBe(99_000);
      expect(readFileSync(errorReportPathFor(path), 'utf8').trimEnd().split('\n')).toHaveLength(1 + 1000);
    },
    120_000,
  );
});
