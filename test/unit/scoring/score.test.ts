// Scoring a profile: points per behaviour with caps and decay, fit from traits, explanations, and recomputes.
import { describe, expect, it } from 'vitest';
import type { IncomingEvent } from '../../../functions/journeys/model.ts';
import { parseScoringRules } from '../../../functions/scoring/rules.ts';
import {
  applyEvent,
  applyTraits,
  emptyScoreState,
  explain,
  namedScores,
  recompute,
  type ScoreState,
  scoreStateSchema,
  scoresAt,
} from '../../../functions/scoring/score.ts';
import { b2bRules, DAY, emailClick, later, pageView, rules, rulesWithoutDecay, tracked } from './fixtures.ts';

const monday = '2026-03-02T10:00:00.000Z';
const now = new Date(monday);

function applyAll({
  events,
  state = emptyScoreState(rules.version),
  scoring = rules,
  at = now,
}: {
  events: IncomingEvent[];
  state?: ScoreState;
  scoring?: typeof rules;
  at?: Date;
}): ScoreState {
  return events.reduce(
    (current, event) => applyEvent({ state: current, event, rules: scoring, now: at }).state,
    state,
  );
}

function pricingViews(count: number, at = monday): IncomingEvent[] {
  return Array.from({ length: count }, (_, index) =>
    pageView({ url: 'https://example.com/pricing', key: `view-${at}-${index}`, at }),
  );
}

describe('behaviour points', () => {
  it('give a demo request its points', () => {
    const result = applyEvent({
      state: emptyScoreState(),
      event: tracked({ event: 'Demo Requested', key: 'd1', at: monday }),
      rules,
      now,
    });

    expect(result.outcome).toBe('awarded');
    expect(scoresAt({ state: result.state, rules, now }).behaviour).toBe(50);
  });

  it('give email clicks from the bus their points through an event pattern', () => {
    const state = applyAll({
      events: [emailClick({ key: 'c1', at: monday }), emailClick({ key: 'c2', at: monday })],
    });

    expect(scoresAt({ state, rules, now }).behaviour).toBe(10);
  });

  it('give nothing for an event no rule names', () => {
    const result = applyEvent({
      state: emptyScoreState(),
      event: tracked({ event: 'Logged In', key: 'l1', at: monday }),
      rules,
      now,
    });

    expect(result).toMatchObject({ outcome: 'no-rule', awards: [] });
  });

  it('count a replayed event once', () => {
    const demo = tracked({ event: 'Demo Requested', key: 'd1', at: monday });
    const once = applyAll({ events: [demo] });

    const replay = applyEvent({ state: once, event: demo, rules, now });

    expect(replay.outcome).toBe('duplicate');
    expect(replay.state).toBe(once);
  });

  it('halve behaviour points after one half-life and quarter them after two', () => {
    const state = applyAll({ events: [tracked({ event: 'Demo Requested', key: 'd1', at: monday })] });

    expect(scoresAt({ state, rules, now: later(monday, 30 * DAY) }).behaviour).toBe(25);
    expect(scoresAt({ state, rules, now: later(monday, 60 * DAY) }).behaviour).toBe(12.5);
  });

  it('count an event from a client clock ahead of ours as happening now', () => {
    const state = applyAll({
      events: [tracked({ event: 'Demo Requested', key: 'd1', at: '2026-04-01T00:00:00Z' })],
    });

    expect(state.awards[0]?.at).toBe(monday);
  });
});

describe('caps', () => {
  it('stop a rule at its cap within one period', () => {
    const state = applyAll({ events: pricingViews(5), scoring: rulesWithoutDecay });

    expect(scoresAt({ state, rules: rulesWithoutDecay, now }).behaviour).toBe(30);
  });

  it('say an event earned nothing because of the cap', () => {
    const state = applyAll({ events: pricingViews(3), scoring: rulesWithoutDecay });

    const result = applyEvent({
      state,
      event: pageView({ url: 'https://example.com/pricing', key: 'extra', at: '2026-03-02T10:05:00.000Z' }),
      rules: rulesWithoutDecay,
      now: later(monday, DAY / 4),
    });

    expect(result.outcome).toBe('capped');
    expect(result.state).toBe(state);
  });

  it('start again in the next period (a UTC day for P1D)', () => {
    const tuesday = '2026-03-03T00:30:00.000Z';
    const state = applyAll({
      events: [...pricingViews(4), ...pricingViews(4, tuesday)],
      scoring: rulesWithoutDecay,
      at: new Date(tuesday),
    });

    expect(scoresAt({ state, rules: rulesWithoutDecay, now: new Date(tuesday) }).behaviour).toBe(60);
  });

  it('give the capped points to the earliest events, even when a later one arrived first', () => {
    const early = pageView({
      url: 'https://example.com/pricing',
      key: 'early',
      at: '2026-03-02T08:00:00.000Z',
    });
    const late = pricingViews(3, '2026-03-02T09:00:00.000Z');

    const state = applyAll({ events: [...late, early] });

    expect(state.awards.map((award) => award.eventKey)).toEqual([
      'early',
      'view-2026-03-02T09:00:00.000Z-0',
      'view-2026-03-02T09:00:00.000Z-1',
    ]);
  });
});

describe('negative points', () => {
  it('never take the behaviour score below 0', () => {
    const state = applyAll({ events: [tracked({ event: 'Unsubscribed', key: 'u1', at: monday })] });

    expect(scoresAt({ state, rules, now }).behaviour).toBe(0);
  });

  it('count against positive points that come later, because the floor applies to the total', () => {
    const state = applyAll({
      events: [
        tracked({ event: 'Unsubscribed', key: 'u1', at: monday }),
        tracked({ event: 'Demo Requested', key: 'd1', at: monday }),
      ],
    });

    expect(scoresAt({ state, rules, now }).behaviour).toBe(30);
  });
});

describe('fit points', () => {
  const vp = { title: 'VP Marketing', company: { size: 450 }, industry: 'software', country: 'DE' };

  it('add up the fit rules the traits meet', () => {
    const { state, changed } = applyTraits({ state: emptyScoreState(), traits: vp, rules, now });

    expect(changed).toBe(true);
    expect(scoresAt({ state, rules, now }).fit).toBe(45);
  });

  it('do not decay', () => {
    const { state } = applyTraits({ state: emptyScoreState(), traits: vp, rules, now });

    expect(scoresAt({ state, rules, now: later(monday, 365 * DAY) }).fit).toBe(45);
  });

  it('keep the time a rule started to hold while it still holds', () => {
    const first = applyTraits({ state: emptyScoreState(), traits: vp, rules, now }).state;

    const again = applyTraits({
      state: first,
      traits: { ...vp, country: 'FR' },
      rules,
      now: later(monday, DAY),
    });

    expect(again.changed).toBe(false);
    expect(again.state.fit.map((award) => award.since)).toEqual([monday, monday, monday]);
  });

  it('may be negative and lower the combined score, which stays at 0 or above', () => {
    const { state } = applyTraits({ state: emptyScoreState(), traits: { title: 'Student' }, rules, now });

    expect(scoresAt({ state, rules, now })).toEqual({ behaviour: 0, fit: -30, combined: 0 });
  });
});

describe('combined score', () => {
  it('weighs behaviour and fit as the rules say', () => {
    const weighted = parseScoringRules({ ...b2bRules, scores: { weights: { behaviour: 2, fit: 0.5 } } });
    const withFit = applyTraits({
      state: emptyScoreState(),
      traits: { title: 'VP Sales' },
      rules: weighted,
      now,
    });
    const state = applyAll({
      events: [tracked({ event: 'Demo Requested', key: 'd1', at: monday })],
      state: withFit.state,
      scoring: weighted,
    });

    expect(scoresAt({ state, rules: weighted, now })).toEqual({ behaviour: 50, fit: 20, combined: 110 });
  });

  it('is stored under the configured names', () => {
    const renamed = parseScoringRules({ scores: { behaviour: 'engagement', combined: 'lead_score' } });

    expect(namedScores({ behaviour: 1, fit: 2, combined: 3 }, renamed)).toEqual({
      engagement: 1,
      fit: 2,
      lead_score: 3,
    });
  });
});

describe('explanations', () => {
  it('say per rule what it is worth now, how often it scored and when last', () => {
    const state = applyAll({
      events: [
        tracked({ event: 'Demo Requested', key: 'd1', at: '2026-01-31T10:00:00.000Z' }),
        emailClick({ key: 'c1', at: '2026-03-01T10:00:00.000Z' }),
        emailClick({ key: 'c2', at: monday }),
      ],
    });

    const explanation = explain({ state, rules, now });

    expect(explanation.behaviour).toEqual([
      {
        ruleId: 'demo-request',
        description: 'Requested a demo',
        points: 25,
        awards: 1,
        lastAwardAt: '2026-01-31T10:00:00.000Z',
        retired: false,
      },
      expect.objectContaining({ ruleId: 'email-click', awards: 2, lastAwardAt: monday }),
    ]);
    expect(explanation.scores.behaviour).toBeCloseTo(25 + 5 + 5 * 0.5 ** (1 / 30), 2);
  });

  it('say when negative points hold the behaviour score at 0', () => {
    const state = applyAll({ events: [tracked({ event: 'Unsubscribed', key: 'u1', at: monday })] });

    expect(explain({ state, rules, now })).toMatchObject({
      behaviourFloored: true,
      scores: { behaviour: 0 },
    });
  });

  it('list fit rules with their description', () => {
    const { state } = applyTraits({ state: emptyScoreState(), traits: { title: 'VP Sales' }, rules, now });

    expect(explain({ state, rules, now }).fit).toEqual([
      {
        ruleId: 'vp-title',
        description: 'VP or above',
        points: 20,
        awards: 1,
        lastAwardAt: monday,
        retired: false,
      },
    ]);
  });
});

describe('a bounded ledger', () => {
  it('folds the oldest awards into a carried total without changing the scores', () => {
    const events = Array.from({ length: 12 }, (_, day) =>
      tracked({ event: 'Demo Requested', key: `d${day}`, at: later(monday, day * DAY).toISOString() }),
    );
    const end = later(monday, 20 * DAY);
    const unbounded = recompute({ events, traits: {}, rules, now: end });

    const bounded = recompute({ events, traits: {}, rules, now: end, ledgerSize: 4 });

    expect(bounded.awards).toHaveLength(4);
    expect(bounded.carried).toEqual([
      expect.objectContaining({
        ruleId: 'demo-request',
        awards: 8,
        at: later(monday, 7 * DAY).toISOString(),
      }),
    ]);
    expect(scoresAt({ state: bounded, rules, now: end }).behaviour).toBeCloseTo(
      scoresAt({ state: unbounded, rules, now: end }).behaviour,
      2,
    );
    expect(explain({ state: bounded, rules, now: end }).behaviour[0]?.awards).toBe(12);
  });

  it('ignores events older than the folded awards, which it can no longer tell from replays', () => {
    const oldest = tracked({ event: 'Demo Requested', key: 'd0', at: monday });
    const events = [1, 2].map((day) =>
      tracked({ event: 'Demo Requested', key: `d${day}`, at: later(monday, day * DAY).toISOString() }),
    );
    const end = later(monday, 3 * DAY);
    const state = recompute({ events: [oldest, ...events], traits: {}, rules, now: end, ledgerSize: 2 });

    const replay = applyEvent({ state, event: oldest, rules, now: end, ledgerSize: 2 });

    expect(replay.outcome).toBe('too-old');
  });

  it('keeps a capped rule within its cap when the period it shares with new awards was partly folded', () => {
    const state = recompute({
      events: pricingViews(2),
      traits: {},
      rules: rulesWithoutDecay,
      now,
      ledgerSize: 1,
    });

    const next = applyAll({
      events: pricingViews(3, '2026-03-02T11:00:00.000Z'),
      state,
      scoring: rulesWithoutDecay,
      at: later(monday, DAY / 2),
    });

    expect(scoresAt({ state: next, rules: rulesWithoutDecay, now: later(monday, DAY / 2) }).behaviour).toBe(
      30,
    );
  });
});

describe('recompute after a rules change', () => {
  it('replays the events and traits under the new rules and records their version', () => {
    const events = [
      tracked({ event: 'Demo Requested', key: 'd1', at: monday }),
      tracked({ event: 'Webinar Attended', key: 'w1', at: monday }),
    ];
    const changed = parseScoringRules({
      ...b2bRules,
      version: 4,
      decay: undefined,
      behaviour: [{ id: 'webinar', match: { event: 'Webinar Attended' }, points: 40 }],
    });

    const state = recompute({ events, traits: { title: 'VP Sales' }, rules: changed, now });

    expect(state.rulesVersion).toBe(4);
    expect(scoresAt({ state, rules: changed, now })).toEqual({ behaviour: 40, fit: 20, combined: 60 });
  });

  it('produces a state the store can read back through its schema', () => {
    const state = recompute({ events: pricingViews(2), traits: { title: 'VP Sales' }, rules, now });

    expect(scoreStateSchema.parse(JSON.parse(JSON.stringify(state)))).toEqual(state);
  });
});
