// Counters at write time: the day an input belongs to, distinct counts, and order- and replay-independence.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { countersFor, dayOf } from '../../../functions/kpis/counters.ts';
import { kpiInputsFrom } from '../../../functions/kpis/inputs.ts';
import { type DomainEvent, play, stageChanged, tracked } from './fixtures.ts';

describe('the day of a KPI input', () => {
  it('is the calendar day in the workspace time zone, not in UTC', () => {
    expect(dayOf('2026-05-04T23:30:00.000Z', 'Europe/Berlin')).toBe('2026-05-05');
    expect(dayOf('2026-05-04T23:30:00.000Z', 'UTC')).toBe('2026-05-04');
    expect(dayOf('2026-05-05T03:00:00.000Z', 'America/New_York')).toBe('2026-05-04');
  });

  it('puts a session that starts before midnight on that day and its next page view on the next', async () => {
    const session = { channel: 'direct', campaign: null, landingPage: '/', device: 'desktop' };
    const store = await play(
      [
        tracked({
          key: 'a',
          profileId: 'p',
          at: '2026-05-04T21:50:00.000Z',
          sessionStart: true,
          landingPage: '/',
        }),
        tracked({ key: 'b', profileId: 'p', at: '2026-05-04T22:10:00.000Z', session }),
      ],
      { timeZone: 'Europe/Berlin' },
    );

    const first = await store.readDay('2026-05-04');
    const second = await store.readDay('2026-05-05');

    const all = (day: typeof first, metric: string) =>
      day.counters.find((c) => c.metric === metric && c.dimension === 'all')?.total ?? 0;
    expect([all(first, 'sessions'), all(first, 'pageViews')]).toEqual([1, 1]);
    expect([all(second, 'sessions'), all(second, 'pageViews')]).toEqual([0, 1]);
  });
});

describe('counter increments', () => {
  it('count no session for a tracked event that does not say it started one', () => {
    const [input] = kpiInputsFrom(
      'event.tracked',
      tracked({ key: 'a', profileId: 'p', at: '2026-05-04T10:00:00Z' }).detail,
    );

    expect(input?.kind).toBe('pageViewed');
  });

  it('keep money per currency, defaulting to the workspace currency', () => {
    const [order] = kpiInputsFrom(
      'event.tracked',
      tracked({
        key: 'o',
        profileId: 'p',
        at: '2026-05-04T10:00:00Z',
        type: 'track',
        event: 'Order Completed',
        properties: { total: 42 },
      }).detail,
    );
    if (order === undefined) throw new Error('an order is a KPI input');

    const revenue = countersFor(order, { timeZone: 'UTC', currency: 'CHF' }).filter(
      (c) => c.metric === 'revenue',
    );

    expect(new Set(revenue.map((c) => `${c.currency}:${c.by}`))).toEqual(new Set(['CHF:42']));
  });

  it('do not count a deal.won track event as revenue (won deals arrive as lead.revenue_attributed)', () => {
    const inputs = kpiInputsFrom(
      'event.tracked',
      tracked({
        key: 'd',
        profileId: 'p',
        at: '2026-05-04T10:00:00Z',
        type: 'track',
        event: 'deal.won',
        properties: { dealId: 'd1', revenue: 500 },
      }).detail,
    );

    expect(inputs).toEqual([]);
  });

  it('count a new lead once per profile, even when it reaches lead again on a later day', async () => {
    const store = await play([
      stageChanged({ key: '1', profileId: 'p', at: '2026-05-04T10:00:00Z', from: null, to: 'lead' }),
      stageChanged({
        key: '2',
        profileId: 'p',
        at: '2026-05-04T11:00:00Z',
        from: 'lead',
        to: 'disqualified',
      }),
      stageChanged({
        key: '3',
        profileId: 'p',
        at: '2026-05-06T10:00:00Z',
        from: 'disqualified',
        to: 'lead',
      }),
    ]);

    const later = await store.readDay('2026-05-06');
    const first = await store.readDay('2026-05-04');

    const leads = (day: typeof first) =>
      day.counters.find((c) => c.metric === 'newLeads' && c.dimension === 'all')?.total ?? 0;
    expect([leads(first), leads(later)]).toEqual([1, 0]);
  });
});

const profiles = ['p1', 'p2', 'p3'];
const channels = ['direct', 'organic search', 'paid social', 'organic social'] as const;

/** A pool of distinct events; each profile becomes a lead at most once and orders at most once (see docs/kpis.md). */
const poolArbitrary = fc
  .array(
    fc.record({
      profile: fc.constantFrom(...profiles),
      channel: fc.constantFrom(...channels),
      hour: fc.integer({ min: 0, max: 47 }),
      kind: fc.constantFrom('session', 'page', 'order', 'lead'),
    }),
    { maxLength: 25 },
  )
  .map((specs) => {
    const seen = new Set<string>();
    const events: DomainEvent[] = [];
    specs.forEach((spec, index) => {
      const at = new Date(Date.UTC(2026, 4, 4, spec.hour)).toISOString();
      const session = { channel: spec.channel, campaign: null, landingPage: '/x', device: 'mobile' };
      const once = `${spec.kind}:${spec.profile}`;
      if (spec.kind === 'lead' || spec.kind === 'order') {
        if (seen.has(once)) return;
        seen.add(once);
      }
      if (spec.kind === 'lead')
        events.push(
          stageChanged({ key: String(index), profileId: spec.profile, at, from: null, to: 'lead', session }),
        );
      else
        events.push(
          tracked({
            key: String(index),
            profileId: spec.profile,
            at,
            type: spec.kind === 'order' ? 'track' : 'page',
            event: spec.kind === 'order' ? 'Order Completed' : undefined,
            properties: spec.kind === 'order' ? { revenue: 10.1, currency: 'EUR' } : {},
            sessionStart: spec.kind === 'session',
            channel: spec.channel,
            landingPage: '/x',
            session,
          }),
        );
    });
    return events;
  });

async function snapshot(events: readonly DomainEvent[]) {
  const store = await play(events);
  const days = await Promise.all(['2026-05-04', '2026-05-05'].map((day) => store.readDay(day)));
  return days.map((day) =>
    day.counters
      .map((c) => `${c.metric}|${c.currency}|${c.dimension}|${c.value}=${Math.round(c.total * 1e6) / 1e6}`)
      .sort(),
  );
}

describe('applying KPI inputs', () => {
  it('gives the same counters in any order and with any replays', async () => {
    await fc.assert(
      fc.asyncProperty(
        poolArbitrary.chain((pool) =>
          fc.tuple(
            fc.constant(pool),
            fc.shuffledSubarray([...pool, ...pool, ...pool], { minLength: 0 }).map((replayed) => replayed),
          ),
        ),
        async ([pool, replays]) => {
          const reordered = [...replays, ...[...pool].reverse()];

          const [expected, actual] = await Promise.all([snapshot(pool), snapshot(reordered)]);

          expect(actual).toEqual(expected);
        },
      ),
      { numRuns: 150 },
    );
  });
});
