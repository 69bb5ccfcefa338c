// Ranges of days: costs spread over a month's days, and ratios computed from summed parts rather than averaged.
import { describe, expect, it } from 'vitest';
import { kpiReport } from '../../../functions/kpis/query.ts';
import { dailyCosts, emptyKpiDay, type KpiDay } from '../../../functions/kpis/rollup.ts';
import { normalCdf, twoProportionPValue } from '../../../functions/kpis/significance.ts';

describe('costs', () => {
  it('spread a month evenly over its days and take a day entry in full', () => {
    const entries = [
      { scope: 'channel' as const, name: 'paid search', period: '2026-02', amount: 280, currency: 'EUR' },
      { scope: 'channel' as const, name: 'paid search', period: '2026-02-10', amount: 7, currency: 'EUR' },
      { scope: 'campaign' as const, name: 'spring', period: '2026-03', amount: 31, currency: 'USD' },
    ];

    expect(dailyCosts(entries, '2026-02-09')).toEqual({
      channel: { 'paid search': { EUR: 10 } },
      campaign: {},
    });
    expect(dailyCosts(entries, '2026-02-10')).toEqual({
      channel: { 'paid search': { EUR: 17 } },
      campaign: {},
    });
    expect(dailyCosts(entries, '2026-03-31')).toEqual({ channel: {}, campaign: { spring: { USD: 1 } } });
  });

  it('of a whole month add back to the month in a range report', () => {
    const entries = [
      { scope: 'channel' as const, name: 'display', period: '2026-05', amount: 100, currency: 'EUR' },
    ];

    const report = kpiReport({
      days: [],
      from: '2026-05-01',
      to: '2026-05-31',
      groupBy: 'none',
      costs: entries,
    });

    expect(report.totals.cost).toEqual({ EUR: 100 });
  });
});

function dayWith(day: string, parts: { visitors: number; newLeads: number }): KpiDay {
  const result = emptyKpiDay(day);
  result.overall.visitors = parts.visitors;
  result.overall.newLeads = parts.newLeads;
  return result;
}

describe('ratios over a range', () => {
  it('divide summed numerators by summed denominators instead of averaging daily ratios', () => {
    const days = [
      dayWith('2026-05-01', { visitors: 100, newLeads: 10 }),
      dayWith('2026-05-02', { visitors: 900, newLeads: 9 }),
    ];

    const report = kpiReport({ days, from: '2026-05-01', to: '2026-05-02', groupBy: 'day', costs: [] });

    expect(report.totals.trafficToLeadRatio).toBe(19 / 1000);
    expect(report.rows.map((row) => row.trafficToLeadRatio)).toEqual([0.1, 0.01]);
  });

  it('are null where the denominator is zero', () => {
    const report = kpiReport({ days: [], from: '2026-05-01', to: '2026-05-01', groupBy: 'none', costs: [] });

    expect([report.totals.trafficToLeadRatio, report.totals.mqlToSql, report.email.rates.opened]).toEqual([
      null,
      null,
      null,
    ]);
  });

  it('ignore days outside the range', () => {
    const days = [
      dayWith('2026-04-30', { visitors: 5, newLeads: 5 }),
      dayWith('2026-05-01', { visitors: 4, newLeads: 1 }),
    ];

    const report = kpiReport({ days, from: '2026-05-01', to: '2026-05-01', groupBy: 'none', costs: [] });

    expect(report.totals.trafficToLeadRatio).toBe(0.25);
  });
});

describe('significance', () => {
  it('computes the normal CDF to within 1e-7', () => {
    expect(normalCdf(0)).toBeCloseTo(0.5, 7);
    expect(normalCdf(1.96)).toBeCloseTo(0.9750021048517795, 7);
    expect(normalCdf(-1)).toBeCloseTo(0.15865525393145707, 7);
  });

  it('gives the two-sided p-value of a two-proportion z-test', () => {
    expect(twoProportionPValue({ successes: 45, trials: 100 }, { successes: 30, trials: 100 })).toBeCloseTo(
      0.02845973691631057,
      6,
    );
    expect(
      twoProportionPValue({ successes: 200, trials: 1000 }, { successes: 250, trials: 1000 }),
    ).toBeCloseTo(0.007419649261025693, 6);
  });

  it('is 1 for equal proportions and undefined without trials or variance', () => {
    expect(twoProportionPValue({ successes: 5, trials: 10 }, { successes: 50, trials: 100 })).toBeCloseTo(
      1,
      7,
    );
    expect(twoProportionPValue({ successes: 0, trials: 0 }, { successes: 1, trials: 2 })).toBeNull();
    expect(twoProportionPValue({ successes: 3, trials: 3 }, { successes: 4, trials: 4 })).toBeNull();
  });
});
