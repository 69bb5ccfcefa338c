// The journey engine as a marketer sees it: who enters, which way they go, what is sent, and what is never repeated.
import { describe, expect, it } from 'vitest';
import type { JourneyDefinitionInput } from '../../../functions/journeys/definition.ts';
import { dryRun, enter, react, resume, type StepResult } from '../../../functions/journeys/engine.ts';
import type { Enrollment } from '../../../functions/journeys/model.ts';
import { context, dueTimer, promoter, renewalOffer, tracked } from './fixtures.ts';

const ENTRY_TIME = '2025-07-02T05:00:00Z'; // 07:00 in Berlin
const TEN_IN_BERLIN = '2025-07-02T08:00:00.000Z';

function committed(result: StepResult): Enrollment {
  expect(result.changed).toBe(true);
  if (!result.enrollment) throw new Error('no enrollment to commit');
  return result.enrollment;
}

/** A promoter who entered and got the offer at 10:00; now waiting for the click. */
function awaitingClick(): Enrollment {
  const entered = committed(enter(context({ now: ENTRY_TIME }), undefined, 'trigger-1'));
  return committed(resume(context({ now: TEN_IN_BERLIN }), entered, dueTimer(entered.waiting)));
}

function kinds(result: StepResult): string[] {
  return result.effects.map((effect) => effect.kind);
}

describe('the renewal-offer journey', () => {
  it('enters a high-value promoter and waits until 10:00 in their own time zone', () => {
    const result = enter(context({ now: ENTRY_TIME }), undefined, 'trigger-1');

    const enrollment = committed(result);
    expect(enrollment).toMatchObject({ status: 'active', run: 1, nodeId: 'morning', version: 1 });
    expect(enrollment.waiting).toMatchObject({ kind: 'wait', nodeId: 'morning', until: TEN_IN_BERLIN });
    expect(result.setTimers).toEqual([
      expect.objectContaining({ timerId: enrollment.waiting?.timerId, dueAt: TEN_IN_BERLIN, kind: 'step' }),
    ]);
    expect(result.effects).toEqual([]);
  });

  it('leaves out a customer worth less than the threshold and says why', () => {
    const ctx = context({ now: ENTRY_TIME, facts: promoter({ traits: { clv: 1200 } }) });

    const result = enter(ctx, undefined, 'trigger-1');

    expect(result.changed).toBe(false);
    expect(result.enrollment).toBeUndefined();
    expect(result.trace[0]?.reason).toContain('traits.clv = 1200 is not ≥ 5000');
  });

  it('leaves out a customer whose last good NPS answer is older than 90 days', () => {
    const events = [{ event: 'nps.submitted', properties: { score: 10 }, at: '2025-03-01T00:00:00Z' }];
    const ctx = context({ now: ENTRY_TIME, facts: promoter({ events }) });

    const result = enter(ctx, undefined, 'trigger-1');

    expect(result.changed).toBe(false);
    expect(result.trace[0]?.reason).toContain('0 "nps.submitted" events in P90D');
  });

  it('leaves out a detractor: only NPS answers of 7 or more count', () => {
    const events = [{ event: 'nps.submitted', properties: { score: 3 }, at: '2025-06-20T00:00:00Z' }];

    const result = enter(context({ now: ENTRY_TIME, facts: promoter({ events }) }), undefined, 'trigger-1');

    expect(result.changed).toBe(false);
  });

  it('sends the offer and shows the banner at 10:00, then waits a week for the click', () => {
    const entered = committed(enter(context({ now: ENTRY_TIME }), undefined, 'trigger-1'));

    const result = resume(context({ now: TEN_IN_BERLIN }), entered, dueTimer(entered.waiting));

    const enrollment = committed(result);
    expect(kinds(result)).toEqual(['sendEmail', 'setBanner']);
    expect(result.effects[0]).toMatchObject({
      templateId: 'renewal-offer',
      campaign: 'renewal-offer',
      templateVersion: null,
    });
    expect(result.effects[1]).toMatchObject({
      placement: 'dashboard-top',
      expiresAt: '2025-08-01T08:00:00.000Z',
    });
    expect(new Set(result.effects.map((effect) => effect.key)).size).toBe(2);
    expect(enrollment.waiting).toMatchObject({ kind: 'waitForEvent', until: '2025-07-09T08:00:00.000Z' });
    expect(enrollment.pendingEffects).toEqual(result.effects);
    expect(result.deleteTimers.map((timer) => timer.timerId)).toEqual([entered.waiting?.timerId]);
  });

  it('tells sales when the offer is clicked and completes the journey', () => {
    const waiting = awaitingClick();

    const result = react(
      context({ now: '2025-07-03T09:00:00Z' }),
      waiting,
      tracked({ event: 'offer.clicked', key: 'click-1', at: '2025-07-03T09:00:00Z' }),
    );

    const enrollment = committed(result);
    expect(result.effects).toEqual([
      expect.objectContaining({
        kind: 'webhook',
        endpointId: 'crm',
        payload: { profileId: 'p-1', userId: 'u-1', journeyId: 'renewal-offer', nodeId: 'tellSales', run: 1 },
      }),
    ]);
    expect(enrollment).toMatchObject({ status: 'completed', exitReason: 'completed', nodeId: 'done' });
    expect(result.counters).toContainEqual({ nodeId: 'await', counter: 'waiting', variant: null, delta: -1 });
    expect(result.counters).toContainEqual({ nodeId: 'done', counter: 'exited', variant: null, delta: 1 });
  });

  it('sends the reminder when nobody clicks within the week', () => {
    const waiting = awaitingClick();

    const result = resume(context({ now: '2025-07-09T08:00:00Z' }), waiting, dueTimer(waiting.waiting));

    expect(result.effects).toEqual([
      expect.objectContaining({ kind: 'sendEmail', templateId: 'renewal-reminder' }),
    ]);
    expect(committed(result).status).toBe('completed');
  });

  it('ignores events the journey is not waiting for', () => {
    const waiting = awaitingClick();

    const result = react(
      context({ now: '2025-07-03T09:00:00Z' }),
      waiting,
      tracked({ event: 'page.viewed', key: 'view-1', at: '2025-07-03T09:00:00Z' }),
    );

    expect(result.changed).toBe(false);
  });
});

describe('goals', () => {
  it('take a profile out of a wait, cancel its timer and clear its banners', () => {
    const waiting = awaitingClick();

    const result = react(
      context({ now: '2025-07-04T09:00:00Z' }),
      waiting,
      tracked({ event: 'renewal.accepted', key: 'renewed-1', at: '2025-07-04T09:00:00Z' }),
    );

    const enrollment = committed(result);
    expect(enrollment).toMatchObject({
      status: 'exited',
      exitReason: 'goal',
      goalId: 'renewed',
      waiting: null,
    });
    expect(result.deleteTimers.map((timer) => timer.timerId)).toEqual([waiting.waiting?.timerId]);
    expect(kinds(result)).toEqual(['clearBanners']);
    expect(result.counters).toEqual([
      { nodeId: 'await', counter: 'waiting', variant: null, delta: -1 },
      { nodeId: 'await', counter: 'goal', variant: null, delta: 1 },
    ]);
  });

  it('keep a profile out that has already reached a condition goal', () => {
    const definition: JourneyDefinitionInput = {
      ...renewalOffer,
      goals: [{ id: 'renewed', condition: { trait: 'renewed', op: 'eq', value: true } }],
    };
    const ctx = context({ definition, now: ENTRY_TIME, facts: promoter({ traits: { renewed: true } }) });

    const result = enter(ctx, undefined, 'trigger-1');

    expect(result.changed).toBe(false);
    expect(result.trace[0]?.reason).toContain('goal renewed already reached');
  });

  it('end a wait when the timer finds the condition goal reached', () => {
    const definition: JourneyDefinitionInput = {
      ...renewalOffer,
      goals: [{ id: 'renewed', condition: { trait: 'renewed', op: 'eq', value: true } }],
    };
    const entered = committed(enter(context({ definition, now: ENTRY_TIME }), undefined, 'trigger-1'));
    const ctx = context({ definition, now: TEN_IN_BERLIN, facts: promoter({ traits: { renewed: true } }) });

    const result = resume(ctx, entered, dueTimer(entered.waiting));

    expect(committed(result)).toMatchObject({ status: 'exited', goalId: 'renewed' });
    expect(kinds(result)).toEqual(['clearBanners']);
  });
});

describe('replays', () => {
  it('a repeated trigger changes nothing', () => {
    const entered = committed(enter(context({ now: ENTRY_TIME }), undefined, 'trigger-1'));

    const replay = enter(context({ now: '2025-07-02T05:00:05Z' }), entered, 'trigger-1');

    expect(replay.changed).toBe(false);
    expect(replay.effects).toEqual([]);
  });

  it('a repeated event changes nothing', () => {
    const waiting = awaitingClick();
    const click = tracked({ event: 'offer.clicked', key: 'click-1', at: '2025-07-03T09:00:00Z' });
    const clicked = committed(react(context({ now: '2025-07-03T09:00:00Z' }), waiting, click));

    const replay = react(context({ now: '2025-07-03T09:00:10Z' }), clicked, click);

    expect(replay.changed).toBe(false);
    expect(replay.effects).toEqual([]);
  });

  it('a timer from a wait that is already over is ignored', () => {
    const entered = committed(enter(context({ now: ENTRY_TIME }), undefined, 'trigger-1'));
    const oldTimer = dueTimer(entered.waiting);
    const waiting = committed(resume(context({ now: TEN_IN_BERLIN }), entered, oldTimer));

    const replay = resume(context({ now: '2025-07-02T08:00:30Z' }), waiting, oldTimer);

    expect(replay.changed).toBe(false);
    expect(replay.trace[0]?.reason).toContain('stale timer');
  });

  it('a trigger for a profile already in the journey does not start a second run', () => {
    const entered = committed(enter(context({ now: ENTRY_TIME }), undefined, 'trigger-1'));

    const again = enter(context({ now: ENTRY_TIME }), entered, 'trigger-2');

    expect(again.changed).toBe(false);
    expect(again.trace[0]?.reason).toBe('already enrolled');
  });
});

describe('re-entry', () => {
  const quick: JourneyDefinitionInput = {
    name: 'Welcome',
    triggers: [{ type: 'event', match: { event: 'signed.up' } }],
    start: 'hello',
    nodes: {
      hello: { type: 'sendEmail', templateId: 'welcome', next: 'done' },
      done: { type: 'exit' },
    },
  };
  const finished = (definition: JourneyDefinitionInput): Enrollment =>
    committed(enter(context({ definition, now: '2025-01-01T12:00:00Z' }), undefined, 'signup-1'));

  it('is refused by default once a profile went through the journey', () => {
    const done = finished(quick);

    const result = enter(context({ definition: quick, now: '2025-06-01T12:00:00Z' }), done, 'signup-2');

    expect(result.changed).toBe(false);
  });

  it('starts a new run after the previous one ended when re-entry is afterExit', () => {
    const definition = { ...quick, entry: { reentry: { mode: 'afterExit' as const } } };
    const done = finished(definition);

    const result = enter(context({ definition, now: '2025-01-01T12:05:00Z' }), done, 'signup-2');

    expect(committed(result)).toMatchObject({ run: 2, version: 2, status: 'completed' });
    expect(result.effects[0]?.key).toContain(':2:');
  });

  it('waits the given number of days before a profile may enter again', () => {
    const definition = { ...quick, entry: { reentry: { mode: 'afterDays' as const, days: 30 } } };
    const done = finished(definition);

    const tooSoon = enter(context({ definition, now: '2025-01-30T12:00:00Z' }), done, 'signup-2');
    const later = enter(context({ definition, now: '2025-01-31T12:00:00Z' }), done, 'signup-3');

    expect(tooSoon.changed).toBe(false);
    expect(later.changed).toBe(true);
  });
});

describe('a paused journey', () => {
  it('holds a profile before the next send and looks again in 15 minutes', () => {
    const entered = committed(enter(context({ now: ENTRY_TIME }), undefined, 'trigger-1'));

    const result = resume(
      context({ now: TEN_IN_BERLIN, status: 'paused' }),
      entered,
      dueTimer(entered.waiting),
    );

    expect(result.effects).toEqual([]);
    expect(committed(result).waiting).toMatchObject({
      kind: 'paused',
      nodeId: 'offer',
      until: '2025-07-02T08:15:00.000Z',
    });
  });

  it('sends what it held once the journey is active again', () => {
    const entered = committed(enter(context({ now: ENTRY_TIME }), undefined, 'trigger-1'));
    const held = committed(
      resume(context({ now: TEN_IN_BERLIN, status: 'paused' }), entered, dueTimer(entered.waiting)),
    );

    const result = resume(context({ now: '2025-07-02T08:15:00Z' }), held, dueTimer(held.waiting));

    expect(kinds(result)).toEqual(['sendEmail', 'setBanner']);
    expect(result.counters.filter((c) => c.nodeId === 'offer' && c.counter === 'entered')).toEqual([]);
  });
});

describe('frequency caps and quiet hours', () => {
  const digest = (overrides: Partial<JourneyDefinitionInput>): JourneyDefinitionInput => ({
    name: 'Digest',
    triggers: [{ type: 'event', match: { event: 'digest.due' } }],
    entry: { reentry: { mode: 'afterExit' } },
    start: 'send',
    nodes: {
      send: { type: 'sendEmail', templateId: 'digest', next: 'done' },
      done: { type: 'exit' },
    },
    ...overrides,
  });
  /** Runs the journey once per given time, each run starting from the last one's state. */
  const runAt = (definition: JourneyDefinitionInput, times: string[]): StepResult[] => {
    let existing: Enrollment | undefined;
    return times.map((now, index) => {
      const result = enter(context({ definition, now }), existing, `due-${index}`);
      existing = result.enrollment ?? existing;
      return result;
    });
  };

  it('skips a send over the cap and goes on', () => {
    const definition = digest({ frequencyCap: { max: 2, window: 'P1D', onCap: 'skip' } });

    const results = runAt(definition, [
      '2025-07-01T09:00:00Z',
      '2025-07-01T10:00:00Z',
      '2025-07-01T11:00:00Z',
    ]);

    const third = results[2];
    expect(third && kinds(third)).toEqual([]);
    expect(third?.counters).toContainEqual({ nodeId: 'send', counter: 'skipped', variant: null, delta: 1 });
    expect(third?.trace.map((t) => t.reason)).toContainEqual(
      expect.stringContaining('skipped: frequency cap'),
    );
    expect(third?.enrollment?.status).toBe('completed');
  });

  it('delays a send over the cap until the oldest send leaves the window', () => {
    const definition = digest({ frequencyCap: { max: 2, window: 'P1D', onCap: 'delay' } });

    const results = runAt(definition, [
      '2025-07-01T09:00:00Z',
      '2025-07-01T10:00:00Z',
      '2025-07-01T11:00:00Z',
    ]);

    const third = results[2];
    expect(third?.effects).toEqual([]);
    expect(third?.enrollment?.waiting).toMatchObject({
      kind: 'frequencyCap',
      until: '2025-07-02T09:00:00.000Z',
    });
  });

  it('counts sends only inside the window', () => {
    const definition = digest({ frequencyCap: { max: 1, window: 'PT12H', onCap: 'skip' } });

    const results = runAt(definition, ['2025-07-01T09:00:00Z', '2025-07-02T09:00:00Z']);

    expect(results[1] && kinds(results[1])).toEqual(['sendEmail']);
  });

  it('holds an email due in quiet hours until they end in the profile time zone, then sends it', () => {
    const definition = digest({ quietHours: { start: '21:00', end: '08:00' } });
    // 23:30 in Berlin
    const held = committed(enter(context({ definition, now: '2025-07-01T21:30:00Z' }), undefined, 'due-0'));

    const result = resume(context({ definition, now: '2025-07-02T06:00:00Z' }), held, dueTimer(held.waiting));

    expect(held.waiting).toMatchObject({
      kind: 'quietHours',
      nodeId: 'send',
      until: '2025-07-02T06:00:00.000Z',
    });
    expect(held.pendingEffects).toEqual([]);
    expect(kinds(result)).toEqual(['sendEmail']);
  });
});

describe('other steps', () => {
  const steps = (nodes: JourneyDefinitionInput['nodes'], start: string): JourneyDefinitionInput => ({
    name: 'Steps',
    triggers: [{ type: 'event', match: { event: 'go' } }],
    start,
    nodes,
  });

  it('puts a holdout share of the audience out of the journey, counted at the split', () => {
    const definition = steps(
      {
        split: {
          type: 'split',
          variants: [{ name: 'A', weight: 1e-6, next: 'send' }],
          holdout: { weight: 1_000_000 },
        },
        send: { type: 'sendEmail', templateId: 't', next: 'done' },
        done: { type: 'exit' },
      },
      'split',
    );

    const result = enter(context({ definition, now: ENTRY_TIME }), undefined, 'go-1');

    expect(committed(result)).toMatchObject({ status: 'exited', exitReason: 'holdout', variant: 'holdout' });
    expect(result.effects).toEqual([]);
    expect(result.counters).toContainEqual({
      nodeId: 'split',
      counter: 'exited',
      variant: 'holdout',
      delta: 1,
    });
  });

  it('adds score points in the commit rather than as an effect, and sets traits and stage by effect', () => {
    const definition = steps(
      {
        update: {
          type: 'updateProfile',
          setTraits: { offered: true },
          setStage: 'opportunity',
          addScore: { name: 'engagement', points: 5 },
          next: 'done',
        },
        done: { type: 'exit' },
      },
      'update',
    );

    const result = enter(context({ definition, now: ENTRY_TIME }), undefined, 'go-1');

    expect(result.scores).toEqual([{ name: 'engagement', points: 5 }]);
    expect(kinds(result)).toEqual(['setTraits', 'setStage']);
  });

  it('continues at once when a wait for a date trait finds no date', () => {
    const definition = steps(
      {
        wait: { type: 'wait', untilDate: { attribute: 'trial.endsAt', offset: '-P1D' }, next: 'send' },
        send: { type: 'sendEmail', templateId: 't', next: 'done' },
        done: { type: 'exit' },
      },
      'wait',
    );

    const result = enter(context({ definition, now: ENTRY_TIME }), undefined, 'go-1');

    expect(kinds(result)).toEqual(['sendEmail']);
    expect(result.trace.map((t) => t.reason)).toContain('traits.trial.endsAt is not a date');
  });
});

describe('dry run', () => {
  it('walks a promoter through the offer to the reminder and says why at each step', () => {
    const { status: _, ...ctx } = context({ now: ENTRY_TIME });

    const result = dryRun(ctx);

    expect(result.enters).toBe(true);
    expect(result.reason).toBe('completes the journey');
    expect(result.path.map((entry) => entry.decision)).toEqual([
      'entered',
      'wait',
      'send',
      'banner',
      'wait',
      'timeout',
      'send',
      'exit',
    ]);
    expect(result.path[2]?.reason).toContain('renewal-offer');
  });

  it('takes the event branch when the awaited event is assumed', () => {
    const { status: _, ...ctx } = context({ now: ENTRY_TIME });

    const result = dryRun(ctx, { assumeEvents: ['offer.clicked'] });

    expect(result.path.map((entry) => entry.decision)).toContain('webhook');
  });

  it('explains why a profile would not enter', () => {
    const { status: _, ...ctx } = context({ now: ENTRY_TIME, facts: promoter({ traits: { clv: 10 } }) });

    const result = dryRun(ctx);

    expect(result).toMatchObject({ enters: false, reason: expect.stringContaining('traits.clv = 10') });
  });
});
