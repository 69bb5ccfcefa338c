// Invariants of scoring and stages over random inputs: decay only lowers, replays and order change nothing, floors hold.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { LEAD_STAGES } from '../../../functions/journeys/definition.ts';
import type { IncomingEvent } from '../../../functions/journeys/model.ts';
import { parseScoringRules, type ScoringRules } from '../../../functions/scoring/rules.ts';
import {
  applyEvent,
  applyTraits,
  emptyScoreState,
  type ScoreState,
  scoresAt,
} from '../../../functions/scoring/score.ts';
import {
  type LifecycleSignal,
  newLifecycle,
  type StageInput,
  transition,
} from '../../../functions/scoring/stages.ts';
import { b2bRules, DAY, emailClick, pageView, rules, tracked } from './fixtures.ts';

const now = new Date('2026-03-20T12:00:00.000Z');
const HOUR = 60 * 60 * 1000;

/** An event of a kind the B2B rules know (or not), some time in the three weeks before `now`. */
const eventArbitrary = (key: string): fc.Arbitrary<IncomingEvent> =>
  fc
    .record({
      kind: fc.constantFrom('demo', 'unsubscribe', 'pricing', 'click', 'login'),
      hoursAgo: fc.integer({ min: 0, max: 21 * 24 }),
    })
    .map(({ kind, hoursAgo }) => {
      const at = new Date(now.getTime() - hoursAgo * HOUR).toISOString();
      if (kind === 'pricing') return pageView({ url: 'https://example.com/pricing', key, at });
      if (kind === 'click') return emailClick({ key, at });
      const event = { demo: 'Demo Requested', unsubscribe: 'Unsubscribed', login: 'Logged In' }[kind];
      return tracked({ event, key, at });
    });

const eventsArbitrary = fc
  .integer({ min: 0, max: 40 })
  .chain((count) => fc.tuple(...Array.from({ length: count }, (_, index) => eventArbitrary(`e${index}`))));

const traitsArbitrary = fc.record({
  title: fc.constantFrom('VP Sales', 'Student', 'Engineer'),
  company: fc.record({ size: fc.integer({ min: 1, max: 1000 }) }),
  industry: fc.constantFrom('software', 'retail'),
});

/** The B2B rules with random points (negative too) and with or without a cap, decay and weights. */
const rulesArbitrary: fc.Arbitrary<ScoringRules> = fc
  .record({
    points: fc.array(
      fc.integer({ min: -100, max: 100 }).filter((points) => points !== 0),
      {
        minLength: 4,
        maxLength: 4,
      },
    ),
    cap: fc.option(fc.integer({ min: 1, max: 60 }), { nil: undefined }),
    halfLife: fc.option(fc.constantFrom('PT6H', 'P3D', 'P30D'), { nil: undefined }),
    weights: fc.record({ behaviour: fc.constantFrom(0, 0.5, 1, 2), fit: fc.constantFrom(0, 1, 3) }),
  })
  .map(({ points, cap, halfLife, weights }) =>
    parseScoringRules({
      ...b2bRules,
      scores: { weights },
      decay: halfLife === undefined ? undefined : { halfLife },
      behaviour: (b2bRules.behaviour ?? []).map((rule, index) => ({
        ...rule,
        points: points[index] ?? 1,
        cap: cap === undefined ? undefined : { max: cap, per: 'P1D' },
      })),
    }),
  );

function applyAll(events: readonly IncomingEvent[], scoring: ScoringRules = rules): ScoreState {
  return events.reduce(
    (state, event) => applyEvent({ state, event, rules: scoring, now }).state,
    emptyScoreState(scoring.version),
  );
}

function shuffled<T>(items: readonly T[], order: readonly number[]): T[] {
  return items
    .map((item, index) => ({ item, rank: order[index] ?? 0 }))
    .sort((left, right) => left.rank - right.rank)
    .map(({ item }) => item);
}

describe('scoring invariants', () => {
  it('decay never raises a score while no new points arrive', () => {
    fc.assert(
      fc.property(
        rulesArbitrary,
        eventsArbitrary,
        traitsArbitrary,
        fc.integer({ min: 0, max: 90 * 24 }),
        fc.integer({ min: 0, max: 90 * 24 }),
        (scoring, events, traits, firstHours, moreHours) => {
          const state = applyTraits({ state: applyAll(events, scoring), traits, rules: scoring, now }).state;
          const earlier = new Date(now.getTime() + firstHours * HOUR);
          const laterOn = new Date(earlier.getTime() + moreHours * HOUR);

          const before = scoresAt({ state, rules: scoring, now: earlier });
          const after = scoresAt({ state, rules: scoring, now: laterOn });

          expect(after.behaviour).toBeLessThanOrEqual(before.behaviour);
          expect(after.combined).toBeLessThanOrEqual(before.combined);
          expect(after.fit).toBe(before.fit);
        },
      ),
    );
  });

  it('counts an event applied twice, at any point, once', () => {
    fc.assert(
      fc.property(rulesArbitrary, eventsArbitrary, fc.nat(), fc.nat(), (scoring, events, pick, at) => {
        fc.pre(events.length > 0);
        const duplicate = events[pick % events.length];
        if (!duplicate) return;
        const withReplay = [...events];
        withReplay.splice(at % (events.length + 1), 0, duplicate);

        expect(applyAll(withReplay, scoring)).toEqual(applyAll(events, scoring));
      }),
    );
  });

  it('gives the same state whatever order events arrive in, caps included', () => {
    fc.assert(
      fc.property(
        rulesArbitrary,
        eventsArbitrary.chain((events) =>
          fc.tuple(
            fc.constant(events),
            fc.array(fc.double({ noNaN: true }), { minLength: events.length, maxLength: events.length }),
          ),
        ),
        (scoring, [events, order]) => {
          const inOrder = applyAll(events, scoring);
          const reordered = applyAll(shuffled(events, order), scoring);

          expect(reordered).toEqual(inOrder);
          expect(scoresAt({ state: reordered, rules: scoring, now })).toEqual(
            scoresAt({ state: inOrder, rules: scoring, now }),
          );
        },
      ),
    );
  });

  it('never lets behaviour or combined scores go below 0', () => {
    fc.assert(
      fc.property(
        rulesArbitrary,
        eventsArbitrary,
        traitsArbitrary,
        fc.integer({ min: -30 * 24, max: 90 * 24 }),
        (scoring, events, traits, hours) => {
          const state = applyTraits({ state: applyAll(events, scoring), traits, rules: scoring, now }).state;

          const scores = scoresAt({ state, rules: scoring, now: new Date(now.getTime() + hours * HOUR) });

          expect(scores.behaviour).toBeGreaterThanOrEqual(0);
          expect(scores.combined).toBeGreaterThanOrEqual(0);
        },
      ),
    );
  });

  it('keeps a rule within its cap in every period', () => {
    fc.assert(
      fc.property(rulesArbitrary, eventsArbitrary, (scoring, events) => {
        const state = applyAll(events, scoring);

        for (const rule of scoring.behaviour) {
          if (rule.cap === undefined) continue;
          const perDay = new Map<string, number>();
          for (const award of state.awards.filter((candidate) => candidate.ruleId === rule.id)) {
            const day = award.at.slice(0, 10);
            perDay.set(day, (perDay.get(day) ?? 0) + Math.abs(award.points));
          }
          for (const total of perDay.values()) expect(total).toBeLessThanOrEqual(rule.cap.max);
        }
      }),
    );
  });

  it('gives the same scores with a small ledger as with an unbounded one, for events in time order', () => {
    fc.assert(
      fc.property(
        rulesArbitrary,
        eventsArbitrary,
        fc.integer({ min: 1, max: 8 }),
        (scoring, events, ledgerSize) => {
          const inTimeOrder = [...events].sort(
            (left, right) =>
              Date.parse(left.time) - Date.parse(right.time) || (left.dedupeKey < right.dedupeKey ? -1 : 1),
          );
          const bounded = inTimeOrder.reduce(
            (state, event) => applyEvent({ state, event, rules: scoring, now, ledgerSize }).state,
            emptyScoreState(),
          );
          const unbounded = applyAll(inTimeOrder, scoring);
          const later = new Date(now.getTime() + 5 * DAY);

          expect(bounded.awards.length).toBeLessThanOrEqual(ledgerSize);
          const small = scoresAt({ state: bounded, rules: scoring, now: later });
          const full = scoresAt({ state: unbounded, rules: scoring, now: later });
          expect(small.behaviour).toBeCloseTo(full.behaviour, 1);
          expect(small.combined).toBeCloseTo(full.combined, 1);
        },
      ),
    );
  });
});

const signalArbitrary: fc.Arbitrary<LifecycleSignal> = fc.oneof(
  fc.constantFrom<LifecycleSignal>(
    { name: 'form.submitted' },
    { name: 'sales.qualified' },
    { name: 'sales.accepted' },
    { name: 'sales.converted' },
    { name: 'deal.won' },
  ),
  fc.record({
    name: fc.constant('sales.rejected' as const),
    reason: fc.constant('not now'),
    outcome: fc.constantFrom('recycle' as const, 'disqualify' as const),
  }),
  fc.record({ name: fc.constant('deal.lost' as const), reason: fc.constant('price') }),
);

const stageInputArbitrary: fc.Arbitrary<StageInput> = fc.oneof(
  fc
    .record({
      from: fc.integer({ min: 0, max: 200 }),
      to: fc.integer({ min: 0, max: 200 }),
      key: fc.integer({ min: 0, max: 5 }),
    })
    .map(({ from, to, key }) => ({
      kind: 'scores' as const,
      previous: { behaviour: from, fit: 0, combined: from },
      current: { behaviour: to, fit: 0, combined: to },
      thresholds: rules.thresholds,
      key: `score-${key}`,
    })),
  fc
    .record({ signal: signalArbitrary, key: fc.integer({ min: 0, max: 5 }) })
    .map(({ signal, key }) => ({ kind: 'event' as const, signal, key: `event-${key}`, by: 'sales' })),
  fc
    .record({
      to: fc.constantFrom(...LEAD_STAGES),
      key: fc.option(fc.integer({ min: 0, max: 5 }), { nil: undefined }),
    })
    .map(({ to, key }) => ({
      kind: 'manual' as const,
      to,
      reason: 'by hand',
      actor: 'user:bob',
      key: key === undefined ? undefined : `manual-${key}`,
    })),
);

describe('stage invariants', () => {
  it('only ever append to the history, and every change emits exactly one matching event', () => {
    fc.assert(
      fc.property(fc.array(stageInputArbitrary, { maxLength: 30 }), (inputs) => {
        let state = newLifecycle('p-1');
        let minutes = 0;
        for (const input of inputs) {
          minutes += 1;
          const result = transition({ state, input, now: new Date(now.getTime() + minutes * 60_000) });

          expect(result.state.history.slice(0, state.history.length)).toEqual(state.history);
          expect(result.state.history.length - state.history.length).toBe(result.changed ? 1 : 0);
          expect(result.events).toHaveLength(result.changed ? 1 : 0);
          const record = result.state.history.at(-1);
          if (result.changed && record) {
            expect(result.events[0]?.detail).toMatchObject({
              from: record.from,
              to: record.to,
              at: record.at,
            });
            expect(record.to).toBe(result.state.stage);
            expect(record.to).not.toBe(record.from);
          }
          state = result.state;
        }
      }),
    );
  });
});
