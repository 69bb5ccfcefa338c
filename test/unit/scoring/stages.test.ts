// Lifecycle stages: score thresholds, forms, sales and deals move a profile, by hand too; every move is kept and told.
import { describe, expect, it } from 'vitest';
import type { LeadStage } from '../../../functions/journeys/definition.ts';
import { leadStageChanged } from '../../../functions/scoring/domain-events.ts';
import {
  type LeadLifecycle,
  leadSignalFor,
  newLifecycle,
  type StageInput,
  timeInStage,
  transition,
} from '../../../functions/scoring/stages.ts';
import { DAY, emailClick, later, rules, tracked } from './fixtures.ts';

const start = '2026-03-02T10:00:00.000Z';
const now = new Date(start);

function at(stage: LeadStage | null): LeadLifecycle {
  if (stage === null) return newLifecycle('p-1');
  return transition({
    state: newLifecycle('p-1'),
    input: { kind: 'manual', to: stage, reason: 'set up', actor: 'test' },
    now: later(start, -DAY),
  }).state;
}

function scores(combined: number) {
  return { behaviour: combined, fit: 0, combined };
}

function crossing(from: number, to: number, key = 'score-1'): StageInput {
  return { kind: 'scores', previous: scores(from), current: scores(to), thresholds: rules.thresholds, key };
}

describe('score thresholds', () => {
  it('make a lead an MQL when the combined score crosses 100', () => {
    const result = transition({ state: at('lead'), input: crossing(90, 104), now });

    expect(result.state.stage).toBe('mql');
    expect(result.state.history.at(-1)).toMatchObject({
      from: 'lead',
      to: 'mql',
      trigger: 'threshold',
      by: 'nurture.scoring',
      reason: 'combined score 104 reached 100',
    });
  });

  it('move straight to the highest stage crossed, in one move', () => {
    const result = transition({ state: at(null), input: crossing(0, 150), now });

    expect(result.events).toHaveLength(1);
    expect(result.state.stage).toBe('mql');
  });

  it('do nothing while the score stays above the threshold', () => {
    const result = transition({ state: at('recycled'), input: crossing(120, 130), now });

    expect(result.changed).toBe(false);
  });

  it('qualify a recycled lead again when its score crosses the threshold again', () => {
    const result = transition({ state: at('recycled'), input: crossing(80, 101), now });

    expect(result.state.stage).toBe('mql');
  });

  it('never move a profile back down or out of disqualified', () => {
    expect(transition({ state: at('sal'), input: crossing(0, 150), now }).changed).toBe(false);
    expect(transition({ state: at('disqualified'), input: crossing(0, 150), now }).changed).toBe(false);
  });
});

describe('events', () => {
  it('make a subscriber a lead when they submit a form', () => {
    const result = transition({
      state: at('subscriber'),
      input: { kind: 'event', signal: { name: 'form.submitted' }, key: 'f1', by: 'nurture.tracking' },
      now,
    });

    expect(result.state.stage).toBe('lead');
  });

  it('recognise a form submit from the rules lead events', () => {
    expect(leadSignalFor(tracked({ event: 'Form Submitted', key: 'f1', at: start }), rules)).toEqual({
      name: 'form.submitted',
    });
    expect(leadSignalFor(emailClick({ key: 'c1', at: start }), rules)).toBeNull();
  });

  it('make a profile a lead by default when it is first known by an email address', () => {
    const identify = tracked({ event: 'x', key: 'i1', at: start });
    const withEmail = {
      ...identify,
      detail: { ...identify.detail, type: 'identify', event: null, hasEmail: true },
    };
    const withoutEmail = { ...identify, detail: { ...identify.detail, type: 'identify', event: null } };

    const signal = leadSignalFor(withEmail, rules);
    const result =
      signal &&
      transition({
        state: at('subscriber'),
        input: { kind: 'event', signal, key: 'i1', by: 'nurture.scoring' },
        now,
      });

    expect(signal).toEqual({ name: 'lead.event', reason: 'known by an email address' });
    expect(result?.state.history.at(-1)).toMatchObject({ to: 'lead', reason: 'known by an email address' });
    expect(leadSignalFor(withoutEmail, rules)).toBeNull();
  });

  it('stamp a move with the time of the event that caused it, within the history and never in the future', () => {
    const input = {
      kind: 'event',
      signal: { name: 'form.submitted' },
      key: 'f1',
      by: 'nurture.scoring',
    } as const;
    const yesterday = new Date(now.getTime() - 86_400_000);
    const subscriberSince = at('subscriber').history.at(-1)?.at ?? '';

    const late = transition({ state: at('subscriber'), input, now, occurredAt: yesterday });
    const future = transition({
      state: at('subscriber'),
      input,
      now,
      occurredAt: new Date(now.getTime() + 60_000),
    });
    const beforeHistory = transition({ state: at('subscriber'), input, now, occurredAt: new Date(0) });

    expect(late.state.history.at(-1)?.at).toBe(yesterday.toISOString());
    expect(future.state.history.at(-1)?.at).toBe(now.toISOString());
    expect(beforeHistory.state.history.at(-1)?.at).toBe(subscriberSince);
  });

  it('recognise a won deal from a tracked deal.won event', () => {
    expect(leadSignalFor(tracked({ event: 'deal.won', key: 'w1', at: start }), rules)).toEqual({
      name: 'deal.won',
    });
  });

  it('do not make an MQL a lead again when it submits another form', () => {
    const result = transition({
      state: at('mql'),
      input: { kind: 'event', signal: { name: 'form.submitted' }, key: 'f2', by: 'nurture.tracking' },
      now,
    });

    expect(result.changed).toBe(false);
  });

  it('make an MQL sales-accepted', () => {
    const result = transition({
      state: at('mql'),
      input: { kind: 'event', signal: { name: 'sales.accepted' }, key: 's1', by: 'sales:alice' },
      now,
    });

    expect(result.state.history.at(-1)).toMatchObject({ from: 'mql', to: 'sal', by: 'sales:alice' });
  });

  it('recycle or disqualify a lead sales rejected, with the reason', () => {
    const recycle = transition({
      state: at('mql'),
      input: {
        kind: 'event',
        signal: { name: 'sales.rejected', reason: 'no budget this year', outcome: 'recycle' },
        key: 's2',
        by: 'sales',
      },
      now,
    });
    const disqualify = transition({
      state: at('mql'),
      input: {
        kind: 'event',
        signal: { name: 'sales.rejected', reason: 'competitor', outcome: 'disqualify' },
        key: 's3',
        by: 'sales',
      },
      now,
    });

    expect(recycle.state.history.at(-1)).toMatchObject({
      to: 'recycled',
      reason: 'sales rejected: no budget this year',
    });
    expect(disqualify.state.stage).toBe('disqualified');
  });

  it('make anyone a customer when a deal is won, and a customer stays one', () => {
    const won = transition({
      state: at('opportunity'),
      input: { kind: 'event', signal: { name: 'deal.won' }, key: 'w1', by: 'crm' },
      now,
    });
    const lostAfter = transition({
      state: won.state,
      input: { kind: 'event', signal: { name: 'deal.lost', reason: 'other deal' }, key: 'l1', by: 'crm' },
      now,
    });

    expect(won.state.stage).toBe('customer');
    expect(lostAfter.changed).toBe(false);
  });
});

describe('moves by hand', () => {
  it('may go backwards and record who did it and why', () => {
    const result = transition({
      state: at('sql'),
      input: { kind: 'manual', to: 'lead', reason: 'wrong contact at the account', actor: 'user:bob' },
      now,
    });

    expect(result.state.history.at(-1)).toEqual({
      seq: 2,
      from: 'sql',
      to: 'lead',
      at: start,
      reason: 'wrong contact at the account',
      by: 'user:bob',
      trigger: 'manual',
      key: null,
    });
  });

  it('change nothing when the profile is already in that stage', () => {
    const result = transition({
      state: at('lead'),
      input: { kind: 'manual', to: 'lead', reason: 'again', actor: 'user:bob' },
      now,
    });

    expect(result).toMatchObject({ changed: false, events: [] });
  });
});

describe('stage changes', () => {
  it('are announced as lead.stage_changed with a dedupe key per transition', () => {
    const result = transition({ state: at('lead'), input: crossing(90, 104), now });

    expect(result.events).toEqual([
      {
        source: 'nurture.scoring',
        detailType: 'lead.stage_changed',
        detail: {
          dedupeKey: 'p-1:stage:2',
          profileId: 'p-1',
          from: 'lead',
          to: 'mql',
          at: start,
          reason: 'combined score 104 reached 100',
          by: 'nurture.scoring',
          trigger: 'threshold',
        },
      },
    ]);
    expect(leadStageChanged.detail.parse(result.events[0]?.detail)).toEqual(result.events[0]?.detail);
  });

  it('happen once for a replayed input', () => {
    const first = transition({ state: at('lead'), input: crossing(90, 104), now });
    const demoted = transition({
      state: first.state,
      input: { kind: 'manual', to: 'lead', reason: 'too early', actor: 'user:bob' },
      now,
    });

    const replay = transition({ state: demoted.state, input: crossing(90, 104), now });

    expect(replay).toMatchObject({ changed: false, events: [] });
  });
});

describe('time in stage', () => {
  it('adds up each visit to a stage and counts the current one until now', () => {
    let state = newLifecycle('p-1');
    const moves: Array<[LeadStage, number]> = [
      ['lead', 0],
      ['mql', 2],
      ['recycled', 3],
      ['mql', 10],
    ];
    for (const [to, day] of moves)
      state = transition({
        state,
        input: { kind: 'manual', to, reason: 'test', actor: 'test' },
        now: later(start, day * DAY),
      }).state;

    const totals = timeInStage(state.history, later(start, 12 * DAY));

    expect(totals).toEqual({ lead: 2 * DAY, mql: 1 * DAY + 2 * DAY, recycled: 7 * DAY });
  });
});
