// The KPI use cases: counting an event once, which days the hourly rollup touches and when a day is final, ranges.
import { describe, expect, it } from 'vitest';
import { InMemoryCounterStore } from '../../../functions/kpis/counter-store.ts';
import { InMemoryKpiDayStore } from '../../../functions/kpis/day-store.ts';
import {
  isFinal,
  openDays,
  rangeProblem,
  recordKpiEvent,
  reportFor,
  rollUpDays,
} from '../../../functions/kpis/service.ts';

const settings = { timeZone: 'UTC', currency: 'EUR' };

function pageView(overrides: Record<string, unknown> = {}) {
  return {
    dedupeKey: 'src:m1',
    profileId: 'p1',
    sourceId: 'src',
    messageId: 'm1',
    type: 'page',
    event: null,
    name: null,
    userId: null,
    anonymousId: 'a1',
    eventTime: '2026-06-01T10:00:00.000Z',
    channel: 'direct',
    campaign: null,
    landingPage: '/',
    device: 'desktop',
    properties: {},
    sessionStart: true,
    session: { channel: 'direct', campaign: null, landingPage: '/', device: 'desktop' },
    firstTouch: { channel: 'direct', campaign: null },
    ...overrides,
  };
}

describe('counting an event', () => {
  it('counts a replayed event once', async () => {
    const counters = new InMemoryCounterStore();
    const days = new InMemoryKpiDayStore();

    const first = await recordKpiEvent({
      counters,
      settings,
      detailType: 'event.tracked',
      detail: pageView(),
    });
    const replay = await recordKpiEvent({
      counters,
      settings,
      detailType: 'event.tracked',
      detail: pageView(),
    });
    await rollUpDays({
      counters,
      days,
      from: '2026-06-01',
      to: '2026-06-01',
      now: new Date(),
      timeZone: 'UTC',
    });
    const report = await reportFor({ days, from: '2026-06-01', to: '2026-06-01', groupBy: 'none' });

    expect([first.applied, replay.applied]).toEqual([true, false]);
    expect(report.totals).toMatchObject({ sessions: 1, visitors: 1, pageViews: 1 });
  });

  it('ignores events KPIs do not count, and refuses a counted event that does not match its schema', async () => {
    const counters = new InMemoryCounterStore();

    const ignored = await recordKpiEvent({
      counters,
      settings,
      detailType: 'profile.identified',
      detail: {},
    });

    expect(ignored).toEqual({ inputs: 0, applied: false });
    await expect(
      recordKpiEvent({ counters, settings, detailType: 'event.tracked', detail: { dedupeKey: 'x' } }),
    ).rejects.toThrow();
  });
});

describe('the hourly rollup', () => {
  it('rolls up yesterday and today of the workspace time zone', () => {
    const now = new Date('2026-06-01T23:30:00Z');

    expect(openDays(now, 'UTC')).toEqual(['2026-05-31', '2026-06-01']);
    expect(openDays(now, 'Europe/Amsterdam')).toEqual(['2026-06-01', '2026-06-02']);
  });

  it('marks a day final two hours after its midnight in the workspace time zone, not before', () => {
    expect(isFinal({ day: '2026-06-01', now: new Date('2026-06-02T01:59:59Z'), timeZone: 'UTC' })).toBe(
      false,
    );
    expect(isFinal({ day: '2026-06-01', now: new Date('2026-06-02T02:00:00Z'), timeZone: 'UTC' })).toBe(true);
    expect(
      isFinal({ day: '2026-06-01', now: new Date('2026-06-02T00:30:00Z'), timeZone: 'Europe/Amsterdam' }),
    ).toBe(true);
  });
});

describe('reports', () => {
  it('shows the reference values a workspace set, else the defaults', async () => {
    const days = new InMemoryKpiDayStore();
    const before = await reportFor({ days, from: '2026-06-01', to: '2026-06-01', groupBy: 'none' });
    const own = {
      trafficToLeadRatio: { low: 0.02, high: 0.04 },
      landingPageConversionRate: { typical: 0.05 },
    };

    await days.putReference(own);
    const after = await reportFor({ days, from: '2026-06-01', to: '2026-06-01', groupBy: 'none' });

    expect(before.reference.trafficToLeadRatio).toEqual({ low: 0.07, high: 0.09 });
    expect(after.reference).toEqual(own);
  });
});

describe('requested ranges', () => {
  it.each([
    ['2026-06-01', '2026-06-01', null],
    ['2026-06-01', '2027-07-05', null],
    ['2026-06-01', '2027-07-06', 'a range covers at most 400 days (this one has 401)'],
    ['2026-06-02', '2026-06-01', 'from must not be after to'],
    ['2026-02-30', '2026-03-01', 'from and to must be dates YYYY-MM-DD'],
    [undefined, '2026-03-01', 'from and to must be dates YYYY-MM-DD'],
  ])('from %s to %s: %s', (from, to, problem) => {
    expect(rangeProblem(from, to)).toBe(problem);
  });
});
