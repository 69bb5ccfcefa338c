// The journey runner over an in-memory store: who enters, what a goal, a wait or a merge does, and what a replay repeats.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  type BackfillRequest,
  backfillRequests,
  type ProfilePage,
  type ProfileScanner,
} from '../../../functions/journeys/backfill.ts';
import { JourneyCatalog } from '../../../functions/journeys/catalog.ts';
import {
  type JourneyDefinitionInput,
  parseJourneyDefinition,
} from '../../../functions/journeys/definition.ts';
import type {
  Effect,
  Enrollment,
  FactEvent,
  IncomingEvent,
  ProfileFacts,
  Timer,
} from '../../../functions/journeys/model.ts';
import {
  type EffectRunner,
  entryTimerId,
  type FactsLoader,
  JourneyRunner,
} from '../../../functions/journeys/runner.ts';
import type { JsonObject } from '../../../functions/tracking/model.ts';
import { JOURNEY_ID as DATED_JOURNEY, promoter, renewalOffer } from './fixtures.ts';
import { InMemoryJourneyStore } from './support/in-memory-store.ts';

const START = '2025-07-01T07:00:00.000Z';
/** The catalog re-reads journey heads this often. */
const REFRESH_MS = 10_000;

/** Invite to a demo, wait three days for the booking, tell sales or nudge; buying ends it wherever the lead is. */
const demoFollowUp: JourneyDefinitionInput = {
  name: 'Demo follow-up',
  triggers: [{ type: 'event', match: { event: 'demo.requested' } }],
  entry: { condition: { trait: 'employees', op: 'gte', value: 10 } },
  goals: [{ id: 'bought', match: { event: 'order.completed' } }],
  start: 'invite',
  nodes: {
    invite: { type: 'sendEmail', templateId: 'demo-invite', next: 'await' },
    await: {
      type: 'waitForEvent',
      match: { event: 'demo.booked' },
      timeout: 'P3D',
      onEvent: 'tellSales',
      onTimeout: 'nudge',
    },
    tellSales: { type: 'webhook', endpointId: 'crm', eventType: 'demo.booked', next: 'done' },
    nudge: { type: 'sendEmail', templateId: 'demo-nudge', next: 'done' },
    done: { type: 'exit' },
  },
};

/** A loyalty banner after a resolved complaint, removed once the customer renews. */
const loyaltyBanner: JourneyDefinitionInput = {
  name: 'Loyalty banner',
  triggers: [{ type: 'event', match: { event: 'complaint.resolved' } }],
  goals: [{ id: 'renewed', match: { event: 'renewal.accepted' } }],
  start: 'banner',
  nodes: {
    banner: {
      type: 'setBanner',
      placement: 'account-home',
      content: { title: 'Thank you for your patience' },
      expiresAfter: 'P30D',
      next: 'linger',
    },
    linger: { type: 'wait', duration: 'P14D', next: 'done' },
    done: { type: 'exit' },
  },
};

/** A survey the day after a resolved complaint; renewing has nothing to do with it. */
const satisfactionSurvey: JourneyDefinitionInput = {
  name: 'Satisfaction survey',
  triggers: [{ type: 'event', match: { event: 'complaint.resolved' } }],
  start: 'later',
  nodes: {
    later: { type: 'wait', duration: 'P1D', next: 'survey' },
    survey: { type: 'sendEmail', templateId: 'complaint-survey', next: 'done' },
    done: { type: 'exit' },
  },
};

function example(name: string): JourneyDefinitionInput {
  return parseJourneyDefinition(
    JSON.parse(
      readFileSync(new URL(`../../../examples/renewal/journeys/${name}.json`, import.meta.url), 'utf8'),
    ),
  );
}

class ProfileDirectory implements FactsLoader {
  private readonly profiles = new Map<string, ProfileFacts>();

  put(facts: ProfileFacts): void {
    this.profiles.set(facts.profileId, facts);
  }

  async load(profileId: string): Promise<ProfileFacts | undefined> {
    return this.profiles.get(profileId);
  }
}

class RecordingEffects implements EffectRunner {
  /** Every call, including one that threw. */
  readonly runs: { profileId: string; journeyId: string; effects: Effect[] }[] = [];
  private failure: Error | undefined;

  throwOnce(error: Error): void {
    this.failure = error;
  }

  async run(enrollment: Enrollment, effects: readonly Effect[]): Promise<void> {
    this.runs.push({
      profileId: enrollment.profileId,
      journeyId: enrollment.journeyId,
      effects: [...effects],
    });
    const failure = this.failure;
    this.failure = undefined;
    if (failure) throw failure;
  }

  all(): Effect[] {
    return this.runs.flatMap((run) => run.effects);
  }
}

function lead(
  profileId: string,
  overrides: { traits?: JsonObject; events?: FactEvent[] } = {},
): ProfileFacts {
  return {
    profileId,
    userId: null,
    traits: { employees: 50, ...overrides.traits },
    scores: {},
    stage: 'lead',
    segments: [],
    events: overrides.events ?? [],
  };
}

async function setUp(journeys: Record<string, JourneyDefinitionInput>, at = START) {
  const clock = { now: new Date(at) };
  const store = new InMemoryJourneyStore(() => clock.now);
  for (const [journeyId, definition] of Object.entries(journeys))
    await store.putVersion(journeyId, parseJourneyDefinition(definition));
  const catalog = new JourneyCatalog(store, { refreshMs: REFRESH_MS, clock: () => clock.now.getTime() });
  const facts = new ProfileDirectory();
  const effects = new RecordingEffects();
  const runner = new JourneyRunner({ store, catalog, facts, effects, now: () => clock.now });
  const advance = (ms: number) => {
    clock.now = new Date(clock.now.getTime() + ms);
  };
  return { clock, store, facts, effects, runner, advance };
}

type World = Awaited<ReturnType<typeof setUp>>;

function tracked(input: { profileId: string; event: string; key: string; at?: string }): IncomingEvent {
  return {
    source: 'nurture.tracking',
    'detail-type': 'event.tracked',
    detail: { type: 'track', event: input.event, properties: {}, profileId: input.profileId },
    dedupeKey: input.key,
    time: input.at ?? START,
  };
}

function identified(input: { profileId: string; key: string }): IncomingEvent {
  return {
    source: 'nurture.tracking',
    'detail-type': 'event.tracked',
    detail: { type: 'identify', event: null, properties: {}, profileId: input.profileId },
    dedupeKey: input.key,
    time: START,
  };
}

function merged(input: { from: string; into: string; key: string }): IncomingEvent {
  return {
    source: 'nurture.tracking',
    'detail-type': 'profile.merged',
    detail: { dedupeKey: input.key, fromProfileId: input.from, intoProfileId: input.into },
    dedupeKey: input.key,
    time: START,
  };
}

async function enrollment(world: World, profileId: string, journeyId: string): Promise<Enrollment> {
  const found = await world.store.getEnrollment(profileId, journeyId);
  if (!found) throw new Error(`${profileId} is not enrolled in ${journeyId}`);
  return found;
}

function stepTimer(enrolled: Enrollment): Timer {
  if (!enrolled.waiting) throw new Error('the enrollment is not waiting');
  return {
    timerId: enrolled.waiting.timerId,
    dueAt: enrolled.waiting.until,
    profileId: enrolled.profileId,
    journeyId: enrolled.journeyId,
    kind: 'step',
  };
}

/** A lead who asked for a demo, got the invitation and now waits for the booking. */
async function awaitingBooking(world: World, profileId = 'p-1'): Promise<Enrollment> {
  world.facts.put(lead(profileId));
  await world.runner.onEvent(tracked({ profileId, event: 'demo.requested', key: `requested-${profileId}` }));
  return enrollment(world, profileId, 'demo-follow-up');
}

describe('entering a journey on an event', () => {
  it('enters a matching profile once and sends its first email; the same event again stores and sends nothing new', async () => {
    const world = await setUp({ 'demo-follow-up': demoFollowUp });
    world.facts.put(lead('p-1'));
    const requested = tracked({ profileId: 'p-1', event: 'demo.requested', key: 'evt-1' });

    await world.runner.onEvent(requested);
    const afterFirst = world.store.snapshot();
    const sentFirst = world.effects.all().map((e) => e.key);
    await world.runner.onEvent(requested);

    const enrolled = await enrollment(world, 'p-1', 'demo-follow-up');
    expect(enrolled).toMatchObject({ status: 'active', run: 1, nodeId: 'await', journeyVersion: 1 });
    expect(sentFirst).toEqual([expect.stringContaining(':invite')]);
    expect(world.store.snapshot()).toEqual(afterFirst);
    expect(world.store.commits).toHaveLength(1);
    // The replay may only finish the committed step's outbox, under the very same keys.
    expect(new Set(world.effects.all().map((e) => e.key))).toEqual(new Set(sentFirst));
    expect(world.store.timers()).toEqual([stepTimer(enrolled)]);
    const stats = await world.store.stats('demo-follow-up', 1);
    expect(stats.nodes.invite?.['']).toMatchObject({ entered: 1, sent: 1 });
  });

  it('does not enrol a profile that fails the entry condition and stores nothing for it', async () => {
    const world = await setUp({ 'demo-follow-up': demoFollowUp });
    world.facts.put(lead('p-1', { traits: { employees: 3 } }));
    const before = world.store.snapshot();

    await world.runner.onEvent(tracked({ profileId: 'p-1', event: 'demo.requested', key: 'evt-1' }));

    expect(await world.store.listEnrollments('p-1')).toEqual([]);
    expect(world.store.snapshot()).toEqual(before);
    expect(world.effects.runs).toEqual([]);
  });

  it('enters nobody while the journey is paused', async () => {
    const world = await setUp({ 'demo-follow-up': demoFollowUp });
    await world.store.setStatus('demo-follow-up', 'paused');
    world.facts.put(lead('p-1'));

    await world.runner.onEvent(tracked({ profileId: 'p-1', event: 'demo.requested', key: 'evt-1' }));

    expect(await world.store.listEnrollments('p-1')).toEqual([]);
    expect(world.effects.runs).toEqual([]);
  });
});

describe('goals', () => {
  it('takes the profile out of every journey whose goal the event reaches, clearing their banners and timers', async () => {
    const world = await setUp({
      'renewal-offer': example('renewal-offer'),
      'loyalty-banner': loyaltyBanner,
      'satisfaction-survey': satisfactionSurvey,
    });
    world.facts.put(
      lead('p-1', {
        traits: { clv: 7200, subscription: { endsAt: '2025-09-15T00:00:00Z' } },
        events: [
          { event: 'nps.submitted', properties: { score: 4 }, at: '2025-06-20T12:00:00Z' },
          { event: 'complaint.resolved', properties: {}, at: START },
        ],
      }),
    );
    await world.runner.onEvent(
      tracked({ profileId: 'p-1', event: 'complaint.resolved', key: 'evt-resolved' }),
    );
    const survey = await enrollment(world, 'p-1', 'satisfaction-survey');
    expect((await world.store.listEnrollments('p-1')).map((e) => e.status)).toEqual([
      'active',
      'active',
      'active',
    ]);
    world.effects.runs.length = 0;

    await world.runner.onEvent(tracked({ profileId: 'p-1', event: 'renewal.accepted', key: 'evt-accepted' }));

    for (const journeyId of ['renewal-offer', 'loyalty-banner'])
      expect(await enrollment(world, 'p-1', journeyId)).toMatchObject({
        status: 'exited',
        exitReason: 'goal',
        goalId: 'renewed',
        waiting: null,
      });
    expect(await enrollment(world, 'p-1', 'satisfaction-survey')).toEqual(survey);
    expect(world.store.timers()).toEqual([stepTimer(survey)]);
    expect(world.effects.runs.map((run) => [run.journeyId, run.effects.map((e) => e.kind)])).toEqual([
      ['renewal-offer', ['clearBanners']],
      ['loyalty-banner', ['clearBanners']],
    ]);
  });
});

describe('waiting for an event', () => {
  it('moves on when the awaited event arrives and deletes the timeout timer', async () => {
    const world = await setUp({ 'demo-follow-up': demoFollowUp });
    await awaitingBooking(world);
    world.effects.runs.length = 0;

    await world.runner.onEvent(tracked({ profileId: 'p-1', event: 'demo.booked', key: 'evt-booked' }));

    expect(await enrollment(world, 'p-1', 'demo-follow-up')).toMatchObject({
      status: 'completed',
      waiting: null,
    });
    expect(world.effects.all()).toEqual([
      expect.objectContaining({ kind: 'webhook', endpointId: 'crm', eventType: 'demo.booked' }),
    ]);
    expect(world.store.timers()).toEqual([]);
  });

  it('ignores a timer that is not the one the enrollment waits for', async () => {
    const world = await setUp({ 'demo-follow-up': demoFollowUp });
    const waiting = await awaitingBooking(world);
    const before = world.store.snapshot();
    const runsBefore = world.effects.runs.length;
    world.advance(4 * 24 * 3600_000);

    await world.runner.onTimer({ ...stepTimer(waiting), timerId: `${stepTimer(waiting).timerId}-old` });

    expect(world.store.snapshot()).toEqual(before);
    expect(world.effects.runs).toHaveLength(runsBefore);
  });

  it('ignores the timeout timer once the awaited event has moved the enrollment on', async () => {
    const world = await setUp({ 'demo-follow-up': demoFollowUp });
    const waiting = await awaitingBooking(world);
    await world.runner.onEvent(tracked({ profileId: 'p-1', event: 'demo.booked', key: 'evt-booked' }));
    const before = world.store.snapshot();
    const runsBefore = world.effects.runs.length;
    world.advance(4 * 24 * 3600_000);

    await world.runner.onTimer(stepTimer(waiting));

    expect(world.store.snapshot()).toEqual(before);
    expect(world.effects.runs).toHaveLength(runsBefore);
  });

  it('sends the nudge when the timeout timer fires first', async () => {
    const world = await setUp({ 'demo-follow-up': demoFollowUp });
    const waiting = await awaitingBooking(world);
    world.effects.runs.length = 0;
    world.advance(3 * 24 * 3600_000);

    await world.runner.onTimer(stepTimer(waiting));

    expect(world.effects.all()).toEqual([
      expect.objectContaining({ kind: 'sendEmail', templateId: 'demo-nudge' }),
    ]);
    expect(await enrollment(world, 'p-1', 'demo-follow-up')).toMatchObject({ status: 'completed' });
  });
});

describe('concurrent writers and crashes', () => {
  it('retries a step whose commit lost a race, on the enrollment as the other writer left it, and applies it once', async () => {
    const world = await setUp({ 'demo-follow-up': demoFollowUp });
    await awaitingBooking(world);
    world.effects.runs.length = 0;
    world.store.conflictOnNextCommit({
      concurrently: async () => {
        const stored = await enrollment(world, 'p-1', 'demo-follow-up');
        await world.store.commit({
          next: { ...stored, processed: [...stored.processed, 'evt-elsewhere'], version: stored.version + 1 },
          expectedVersion: stored.version,
          setTimers: [],
          deleteTimers: [],
          counters: [],
          scores: [],
        });
      },
    });

    await world.runner.onEvent(tracked({ profileId: 'p-1', event: 'demo.booked', key: 'evt-booked' }));

    const done = await enrollment(world, 'p-1', 'demo-follow-up');
    expect(done).toMatchObject({ status: 'completed', version: 3 });
    expect(done.processed).toEqual(['requested-p-1', 'evt-elsewhere', 'evt-booked']);
    expect(world.effects.all().map((e) => e.kind)).toEqual(['webhook']);
    expect(world.store.timers()).toEqual([]);
  });

  it('keeps a step committed when its effects crash, and a replay runs the same effects again without a second commit', async () => {
    const world = await setUp({ 'demo-follow-up': demoFollowUp });
    world.facts.put(lead('p-1'));
    const requested = tracked({ profileId: 'p-1', event: 'demo.requested', key: 'evt-1' });
    world.effects.throwOnce(new Error('SES is throttling'));

    await expect(world.runner.onEvent(requested)).rejects.toThrow('SES is throttling');
    const committed = await enrollment(world, 'p-1', 'demo-follow-up');
    const crashedKeys = world.effects.runs[0]?.effects.map((e) => e.key);
    await world.runner.onEvent(requested);

    expect(committed).toMatchObject({ status: 'active', nodeId: 'await' });
    expect(committed.pendingEffects.map((e) => e.key)).toEqual(crashedKeys);
    expect(world.store.commits).toHaveLength(1);
    const replays = world.effects.runs.slice(1);
    expect(replays.length).toBeGreaterThan(0);
    for (const replay of replays) expect(replay.effects.map((e) => e.key)).toEqual(crashedKeys);
    expect(await enrollment(world, 'p-1', 'demo-follow-up')).toEqual(committed);
  });
});

describe('date triggers', () => {
  const BEFORE_MOMENT = '2025-06-01T00:00:00.000Z';
  const MOMENT = new Date('2025-07-02T00:00:00.000Z'); // 90 days before 30 September

  function entryTimer(moment: Date): Timer {
    return {
      timerId: entryTimerId({ journeyId: DATED_JOURNEY, profileId: 'p-1', moment }),
      dueAt: moment.toISOString(),
      profileId: 'p-1',
      journeyId: DATED_JOURNEY,
      kind: 'entry',
    };
  }

  it('puts one entry timer at the trait date plus the offset, however often the profile identifies', async () => {
    const world = await setUp({ [DATED_JOURNEY]: renewalOffer }, BEFORE_MOMENT);
    world.facts.put(promoter());

    await world.runner.onEvent(identified({ profileId: 'p-1', key: 'identify-1' }));
    await world.runner.onEvent(identified({ profileId: 'p-1', key: 'identify-2' }));

    expect(world.store.timers()).toEqual([entryTimer(MOMENT)]);
    expect(await world.store.listEnrollments('p-1')).toEqual([]);
  });

  it('enters the profile when the entry timer fires and the trait still says so', async () => {
    const world = await setUp({ [DATED_JOURNEY]: renewalOffer }, BEFORE_MOMENT);
    world.facts.put(promoter());
    await world.runner.onEvent(identified({ profileId: 'p-1', key: 'identify-1' }));
    world.clock.now = MOMENT;

    await world.runner.onTimer(entryTimer(MOMENT));

    const entered = await enrollment(world, 'p-1', DATED_JOURNEY);
    expect(entered).toMatchObject({ status: 'active', run: 1, nodeId: 'morning' });
    expect(entered.processed).toEqual([entryTimer(MOMENT).timerId]);
  });

  it('does not enter on the old timer when the date moved later, and sets the timer for the new moment', async () => {
    const world = await setUp({ [DATED_JOURNEY]: renewalOffer }, BEFORE_MOMENT);
    world.facts.put(promoter());
    await world.runner.onEvent(identified({ profileId: 'p-1', key: 'identify-1' }));
    world.facts.put(promoter({ traits: { subscription: { endsAt: '2025-12-31T00:00:00Z' } } }));
    world.clock.now = MOMENT;

    await world.runner.onTimer(entryTimer(MOMENT));

    expect(await world.store.listEnrollments('p-1')).toEqual([]);
    expect(world.store.timers()).toContainEqual(entryTimer(new Date('2025-10-02T00:00:00.000Z')));
  });
});

describe('new versions', () => {
  it('lets running enrollments finish on the version they started on while newcomers start on the latest', async () => {
    const world = await setUp({ 'demo-follow-up': demoFollowUp });
    await awaitingBooking(world, 'p-1');
    await world.store.putVersion(
      'demo-follow-up',
      parseJourneyDefinition({
        ...demoFollowUp,
        nodes: {
          ...demoFollowUp.nodes,
          invite: { type: 'sendEmail', templateId: 'demo-invite-v2', next: 'await' },
          tellSales: { type: 'webhook', endpointId: 'crm', eventType: 'demo.scheduled', next: 'done' },
        },
      }),
    );
    world.advance(REFRESH_MS + 1);
    world.effects.runs.length = 0;

    await world.runner.onEvent(tracked({ profileId: 'p-1', event: 'demo.booked', key: 'evt-booked' }));
    await awaitingBooking(world, 'p-2');

    expect(await enrollment(world, 'p-1', 'demo-follow-up')).toMatchObject({
      journeyVersion: 1,
      status: 'completed',
    });
    expect(await enrollment(world, 'p-2', 'demo-follow-up')).toMatchObject({ journeyVersion: 2 });
    expect(world.effects.runs.map((run) => [run.profileId, run.effects])).toEqual([
      ['p-1', [expect.objectContaining({ kind: 'webhook', eventType: 'demo.booked' })]],
      ['p-2', [expect.objectContaining({ kind: 'sendEmail', templateId: 'demo-invite-v2' })]],
    ]);
  });
});

describe('profile merges', () => {
  it('moves an active run to the surviving profile with its position and timer, and ends the old one as merged', async () => {
    const world = await setUp({ 'demo-follow-up': demoFollowUp });
    const old = await awaitingBooking(world, 'p-old');
    world.facts.put(lead('p-new'));

    await world.runner.onEvent(merged({ from: 'p-old', into: 'p-new', key: 'merge-1' }));

    expect(await enrollment(world, 'p-new', 'demo-follow-up')).toMatchObject({
      status: 'active',
      nodeId: 'await',
      waiting: old.waiting,
      run: 1,
    });
    expect(await enrollment(world, 'p-old', 'demo-follow-up')).toMatchObject({
      status: 'exited',
      exitReason: 'merged',
      waiting: null,
    });
    expect(world.store.timers()).toEqual([{ ...stepTimer(old), profileId: 'p-new' }]);
  });

  it('just ends the old run when the surviving profile already runs the journey', async () => {
    const world = await setUp({ 'demo-follow-up': demoFollowUp });
    await awaitingBooking(world, 'p-old');
    const survivor = await awaitingBooking(world, 'p-new');

    await world.runner.onEvent(merged({ from: 'p-old', into: 'p-new', key: 'merge-1' }));

    expect(await enrollment(world, 'p-new', 'demo-follow-up')).toEqual(survivor);
    expect(await enrollment(world, 'p-old', 'demo-follow-up')).toMatchObject({
      status: 'exited',
      exitReason: 'merged',
    });
    expect(world.store.timers()).toEqual([stepTimer(survivor)]);
    const stats = await world.store.stats('demo-follow-up', 1);
    expect(stats.nodes.await?.['']?.waiting).toBe(1);
  });

  it('changes nothing when the merge event is replayed', async () => {
    const world = await setUp({ 'demo-follow-up': demoFollowUp });
    await awaitingBooking(world, 'p-old');
    world.facts.put(lead('p-new'));
    const merge = merged({ from: 'p-old', into: 'p-new', key: 'merge-1' });
    await world.runner.onEvent(merge);
    const before = world.store.snapshot();
    const commits = world.store.commits.length;

    await world.runner.onEvent(merge);

    expect(world.store.snapshot()).toEqual(before);
    expect(world.store.commits).toHaveLength(commits);
  });

  it('finishes a merge that crashed between moving the run and ending the old one when the event is replayed', async () => {
    const world = await setUp({ 'demo-follow-up': demoFollowUp });
    const old = await awaitingBooking(world, 'p-old');
    world.facts.put(lead('p-new'));
    const merge = merged({ from: 'p-old', into: 'p-new', key: 'merge-1' });
    world.store.failNextCommit({
      error: new Error('the function timed out'),
      matches: (commit) => commit.next.profileId === 'p-old',
    });
    await expect(world.runner.onEvent(merge)).rejects.toThrow('the function timed out');
    const moved = await enrollment(world, 'p-new', 'demo-follow-up');

    await world.runner.onEvent(merge);

    expect(await enrollment(world, 'p-new', 'demo-follow-up')).toEqual(moved);
    expect(await enrollment(world, 'p-old', 'demo-follow-up')).toMatchObject({ exitReason: 'merged' });
    expect(world.store.timers()).toEqual([{ ...stepTimer(old), profileId: 'p-new' }]);
  });

  it('ends the moved run when the surviving profile reaches the goal', async () => {
    const world = await setUp({ 'demo-follow-up': demoFollowUp });
    await awaitingBooking(world, 'p-old');
    world.facts.put(lead('p-new'));
    await world.runner.onEvent(merged({ from: 'p-old', into: 'p-new', key: 'merge-1' }));

    await world.runner.onEvent(tracked({ profileId: 'p-new', event: 'order.completed', key: 'evt-order' }));

    expect(await enrollment(world, 'p-new', 'demo-follow-up')).toMatchObject({
      status: 'exited',
      exitReason: 'goal',
      goalId: 'bought',
    });
    expect(world.store.timers()).toEqual([]);
  });
});

describe('date-trigger backfill of profiles stored before the journey', () => {
  const NOW = '2025-06-01T00:00:00.000Z';

  /** Two pages of one scan segment: p-1 and p-2, then p-3 (whose date trait is missing). */
  class PagedScanner implements ProfileScanner {
    async page(input: { segment: number; cursor: string | null }): Promise<ProfilePage> {
      if (input.segment !== 0) return { profileIds: [], cursor: null };
      return input.cursor === null
        ? { profileIds: ['p-1', 'p-2'], cursor: 'after-p-2' }
        : { profileIds: ['p-3'], cursor: null };
    }
  }

  async function backfillWorld() {
    const world = await setUp({ [DATED_JOURNEY]: renewalOffer }, NOW);
    const requested: BackfillRequest[] = [];
    const runner = new JourneyRunner({
      store: world.store,
      catalog: new JourneyCatalog(world.store, {
        refreshMs: REFRESH_MS,
        clock: () => world.clock.now.getTime(),
      }),
      facts: world.facts,
      effects: world.effects,
      now: () => world.clock.now,
      scanner: new PagedScanner(),
      backfills: { publish: async (requests) => void requested.push(...requests) },
    });
    world.facts.put(promoter());
    world.facts.put({ ...promoter(), profileId: 'p-2' });
    world.facts.put({ ...promoter({ traits: { subscription: {} } }), profileId: 'p-3' });
    const request = (detail: BackfillRequest) => ({
      source: 'nurture.journeys',
      'detail-type': 'journey.backfill_requested',
      detail: { ...detail },
      dedupeKey: detail.dedupeKey,
      time: NOW,
    });
    return { world, runner, requested, request };
  }

  it('gives every stored profile with the date its entry timer, page by page', async () => {
    const { world, runner, requested, request } = await backfillWorld();
    const [first] = backfillRequests(DATED_JOURNEY, 1);
    if (!first) throw new Error('no backfill request');

    await runner.onEvent(request(first));
    expect(requested).toEqual([expect.objectContaining({ segment: 0, cursor: 'after-p-2' })]);
    const next = requested[0];
    if (!next) throw new Error('no next page');
    await runner.onEvent(request(next));

    expect(world.store.timers().map((t) => [t.profileId, t.kind])).toEqual([
      ['p-1', 'entry'],
      ['p-2', 'entry'],
    ]);
    expect(requested).toHaveLength(1);
  });

  it('does nothing for a version that is no longer the latest (the newer one runs its own backfill)', async () => {
    const { world, runner, requested, request } = await backfillWorld();
    const [first] = backfillRequests(DATED_JOURNEY, 1);
    if (!first) throw new Error('no backfill request');
    await world.store.putVersion(DATED_JOURNEY, parseJourneyDefinition(renewalOffer));

    await runner.onEvent(request(first));

    expect(world.store.timers()).toEqual([]);
    expect(requested).toEqual([]);
  });
});
