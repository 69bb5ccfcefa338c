// Marketing costs and reference values as marketers enter them: JSON and CSV, with every problem named.
import { describe, expect, it } from 'vitest';
import { kpiDayKeys } from '../../../functions/kpis/dynamodb-day-store.ts';
import {
  CostInputError,
  costsFromCsv,
  costsFromJson,
  mergeCosts,
  referenceValuesSchema,
} from '../../../functions/kpis/settings.ts';

function problemsOf(run: () => unknown): readonly string[] {
  try {
    run();
  } catch (error) {
    if (error instanceof CostInputError) return error.problems;
    throw error;
  }
  throw new Error('expected a CostInputError');
}

describe('costs as JSON', () => {
  it('reads channel and campaign costs per day or month, in the workspace currency unless one is named', () => {
    const entries = costsFromJson(
      {
        entries: [
          { channel: 'paid search', month: '2026-05', amount: 310 },
          { campaign: 'spring', day: '2026-05-04', amount: 25.5, currency: 'usd' },
        ],
      },
      'EUR',
    );

    expect(entries).toEqual([
      { scope: 'channel', name: 'paid search', period: '2026-05', amount: 310, currency: 'EUR' },
      { scope: 'campaign', name: 'spring', period: '2026-05-04', amount: 25.5, currency: 'USD' },
    ]);
  });

  it('names every bad entry at once: unknown channel, both scopes, no period, negative amount', () => {
    const problems = problemsOf(() =>
      costsFromJson(
        {
          entries: [
            { channel: 'tv', day: '2026-05-04', amount: 1 },
            { channel: 'display', campaign: 'x', day: '2026-05-04', amount: 1 },
            { channel: 'display', amount: 1 },
            { channel: 'display', day: '2026-02-30', amount: -1 },
          ],
        },
        'EUR',
      ),
    );

    expect(problems).toHaveLength(4);
    expect(problems[0]).toMatch(/^entries\[0\]: channel/);
    expect(problems[1]).toMatch(/^entries\[1\]: .*either channel or campaign/);
    expect(problems[2]).toMatch(/^entries\[2\]: .*either day or month/);
    expect(problems[3]).toMatch(/^entries\[3\]: .*day must be a date.*amount/);
  });

  it('refuses a body without entries', () => {
    expect(problemsOf(() => costsFromJson({ entries: [] }, 'EUR'))).toEqual([
      'body must be { "entries": [1–5000 costs] }',
    ]);
  });
});

describe('costs as CSV', () => {
  it('reads the columns the header names, in any order, with empty cells as absent', () => {
    const csv =
      'amount,channel,campaign,month,day,currency\n120,organic social,,2026-06,,\n9.5,,summer,,2026-06-02,GBP\n';

    expect(costsFromCsv(csv, 'EUR')).toEqual([
      { scope: 'channel', name: 'organic social', period: '2026-06', amount: 120, currency: 'EUR' },
      { scope: 'campaign', name: 'summer', period: '2026-06-02', amount: 9.5, currency: 'GBP' },
    ]);
  });

  it('names the line of each bad row, counting the header as line 1', () => {
    const csv = 'channel,day,amount\ndirect,2026-06-01,10\ndirect,2026-06-02,ten\nnowhere,2026-06-03,5\n';

    const problems = problemsOf(() => costsFromCsv(csv, 'EUR'));

    expect(problems).toHaveLength(2);
    expect(problems[0]).toMatch(/^line 3: amount/);
    expect(problems[1]).toMatch(/^line 4: channel/);
  });

  it('refuses a header with unknown columns or without amount', () => {
    expect(problemsOf(() => costsFromCsv('channel,day,cost\ndirect,2026-06-01,1\n', 'EUR'))[0]).toMatch(
      /^line 1: .*unknown: cost/,
    );
  });

  it('keeps the last of two rows for the same channel and period', () => {
    const csv = 'channel,month,amount\ndisplay,2026-06,100\ndisplay,2026-06,80\n';

    expect(costsFromCsv(csv, 'EUR')).toEqual([
      { scope: 'channel', name: 'display', period: '2026-06', amount: 80, currency: 'EUR' },
    ]);
  });
});

describe('merging costs', () => {
  it('replaces a stored entry for the same channel or campaign and period and keeps the rest', () => {
    const stored = [
      { scope: 'channel', name: 'display', period: '2026-06', amount: 100, currency: 'EUR' },
      { scope: 'campaign', name: 'display', period: '2026-06', amount: 7, currency: 'EUR' },
    ] as const;

    const merged = mergeCosts(stored, [
      { scope: 'channel', name: 'display', period: '2026-06', amount: 90, currency: 'EUR' },
    ]);

    expect(merged).toEqual([
      { scope: 'channel', name: 'display', period: '2026-06', amount: 90, currency: 'EUR' },
      { scope: 'campaign', name: 'display', period: '2026-06', amount: 7, currency: 'EUR' },
    ]);
  });
});

describe('reference values', () => {
  it('accepts shares between 0 and 1 with the low traffic-to-lead bound not above the high one', () => {
    const valid = {
      trafficToLeadRatio: { low: 0.05, high: 0.1 },
      landingPageConversionRate: { typical: 0.2 },
    };

    expect(referenceValuesSchema.safeParse(valid).success).toBe(true);
    expect(
      referenceValuesSchema.safeParse({ ...valid, trafficToLeadRatio: { low: 0.2, high: 0.1 } }).success,
    ).toBe(false);
    expect(
      referenceValuesSchema.safeParse({ ...valid, landingPageConversionRate: { typical: 10 } }).success,
    ).toBe(false);
  });
});

describe('KPI day store keys', () => {
  it('keeps all KPI days under one partition sorted by day, so a range is one Query', () => {
    expect(kpiDayKeys.day('2026-06-01')).toEqual({ pk: { S: 'KPIDAY' }, sk: { S: '2026-06-01' } });
  });

  it('keys a cost by scope, name and period, so entering it again replaces it', () => {
    expect(kpiDayKeys.cost({ scope: 'campaign', name: 'spring', period: '2026-06' })).toEqual({
      pk: { S: 'KPICOST' },
      sk: { S: 'campaign#spring#2026-06' },
    });
  });
});
