// Invariants of segment membership over random histories: arrival order never matters, and recheckAt is never late.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { FactEvent, ProfileFacts } from '../../../functions/journeys/model.ts';
import { addDuration, subtractDuration } from '../../../functions/journeys/time.ts';
import { type SegmentRule, segmentRuleSchema } from '../../../functions/segments/definition.ts';
import {
  evaluateMembership,
  type MembershipConsent,
  membershipChange,
} from '../../../functions/segments/membership.ts';

const START = Date.parse('2025-01-01T00:00:00.000Z');
const HOUR = 3_600_000;
// Events, dates and the evaluation moment share a few days, so most windows hold something that is about to change.
const CONSENT: MembershipConsent = { profile: null, email: 'jane@example.com', address: null };

const eventArbitrary: fc.Arbitrary<FactEvent> = fc.record({
  event: fc.constantFrom('page.viewed', 'trial.started', 'nps.submitted'),
  properties: fc.record({ score: fc.integer({ min: 0, max: 10 }) }),
  at: fc.integer({ min: 0, max: 10 * 24 }).map((hours) => new Date(START + hours * HOUR).toISOString()),
});

const countArbitrary = fc.record({
  op: fc.constantFrom('gte', 'lte', 'eq', 'gt', 'lt'),
  value: fc.integer({ min: 0, max: 4 }),
});

const WINDOWS = ['PT12H', 'P1D', 'P3D', 'P7D', 'P1M'] as const;
const windowArbitrary = fc.constantFrom(...WINDOWS);

/** Leaves whose answer moves with time on its own: event counts in windows and date windows on a trait. */
const leafArbitrary: fc.Arbitrary<unknown> = fc.oneof(
  fc.record({
    events: fc.record({ event: fc.constantFrom('page.viewed', 'trial.started', 'nps.submitted') }),
    within: windowArbitrary,
    count: countArbitrary,
  }),
  fc.record({
    events: fc.record({
      event: fc.constant('nps.submitted'),
      where: fc.constant([{ property: 'score', op: 'gte', value: 9 }]),
    }),
    within: windowArbitrary,
  }),
  fc.record({
    trait: fc.constant('renewsAt'),
    op: fc.constantFrom('withinNext', 'withinLast'),
    value: windowArbitrary,
  }),
  fc.record({ trait: fc.constant('plan'), op: fc.constant('eq'), value: fc.constantFrom('pro', 'free') }),
);

const ruleArbitrary: fc.Arbitrary<SegmentRule> = fc
  .letrec<{ rule: unknown }>((tie) => ({
    rule: fc.oneof(
      { depthSize: 'small', withCrossShrink: true },
      leafArbitrary,
      fc.record({ all: fc.array(tie('rule'), { minLength: 1, maxLength: 3 }) }),
      fc.record({ any: fc.array(tie('rule'), { minLength: 1, maxLength: 3 }) }),
      fc.record({ not: tie('rule') }),
    ),
  }))
  .rule.map((rule) => segmentRuleSchema.parse(rule));

/** Flat combinations of time-bound leaves, where a wrong combination of their moments shows quickest. */
const shallowRuleArbitrary: fc.Arbitrary<SegmentRule> = fc
  .oneof(
    fc.record({ all: fc.array(leafArbitrary, { minLength: 2, maxLength: 3 }) }),
    fc.record({ any: fc.array(leafArbitrary, { minLength: 2, maxLength: 3 }) }),
  )
  .map((rule) => segmentRuleSchema.parse(rule));

const traitsArbitrary = fc.record({
  plan: fc.constantFrom('pro', 'free'),
  renewsAt: fc
    .integer({ min: -10 * 24, max: 30 * 24 })
    .map((hours) => new Date(START + hours * HOUR).toISOString()),
});

/** Events in time order, and the same events in the order they happened to arrive. */
const historyArbitrary = fc
  .array(eventArbitrary, { maxLength: 12 })
  .map((events) => [...events].sort((a, b) => a.at.localeCompare(b.at)))
  .chain((events) =>
    fc.record({
      events: fc.constant(events),
      arrival: fc.shuffledSubarray(events, { minLength: events.length, maxLength: events.length }),
    }),
  );

function profile(events: readonly FactEvent[], traits: ProfileFacts['traits']): ProfileFacts {
  return { profileId: 'p-1', userId: null, traits, scores: {}, stage: null, segments: [], events };
}

/** Every moment some leaf could flip (and the instants around it): where a late recheckAt would show. */
function boundaries(events: readonly FactEvent[], traits: { renewsAt: string }): number[] {
  const dates = [...events.map((event) => event.at), traits.renewsAt].map((at) => new Date(at));
  return WINDOWS.flatMap((window) =>
    dates.flatMap((date) => [
      date.getTime(),
      addDuration(date, window).getTime(),
      subtractDuration(date, window).getTime(),
    ]),
  ).flatMap((moment) => [moment, moment + 1]);
}

function decide({ rule, facts, now }: { rule: SegmentRule; facts: ProfileFacts; now: number }) {
  return evaluateMembership({ segment: { rule }, facts, consent: CONSENT, now: new Date(now) });
}

describe('segment membership over random histories', () => {
  it('ends the same whatever order the events arrive in, evaluated after each one', () => {
    fc.assert(
      fc.property(
        ruleArbitrary,
        traitsArbitrary,
        historyArbitrary,
        fc.integer({ min: 0, max: 12 * 24 }),
        (rule, traits, { events, arrival }, nowHours) => {
          const now = START + nowHours * HOUR;
          const once = decide({ rule, facts: profile(events, traits), now });
          let member: boolean | undefined;
          let seen: FactEvent[] = [];
          let last = once;
          for (const event of arrival) {
            seen = [event, ...seen];
            last = decide({ rule, facts: profile(seen, traits), now });
            const change = membershipChange(member, last.member);
            if (change !== null) member = change === 'entered';
          }
          if (events.length > 0) expect(member ?? false).toBe(once.member);
          expect(last).toEqual(once);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('never changes before recheckAt, and changes at it for a single time-bound condition', () => {
    fc.assert(
      fc.property(
        fc.oneof(ruleArbitrary, shallowRuleArbitrary),
        traitsArbitrary,
        fc.array(eventArbitrary, { maxLength: 12 }),
        fc.integer({ min: 0, max: 12 * 24 }),
        (rule, traits, events, nowHours) => {
          const facts = profile(events, traits);
          const now = START + nowHours * HOUR;
          const decision = decide({ rule, facts, now });
          const horizon = decision.recheckAt?.getTime() ?? now + 150 * 24 * HOUR;
          expect(horizon).toBeGreaterThan(now);
          const moments = [...new Set(boundaries(events, traits))].filter(
            (moment) => moment > now && moment < horizon,
          );
          for (const moment of [...moments, horizon - 1])
            expect(decide({ rule, facts, now: moment }).member).toBe(decision.member);
          const isLeaf = !('all' in rule || 'any' in rule || 'not' in rule);
          if (isLeaf && decision.recheckAt !== null)
            expect(decide({ rule, facts, now: horizon }).member).not.toBe(decision.member);
        },
      ),
      { numRuns: 300 },
    );
  }, 60_000);
});
