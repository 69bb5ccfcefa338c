// The journey store against DynamoDB Local: versions, enrollments committed with timers, counters and scores.
import { randomUUID } from 'node:crypto';
import { GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseJourneyDefinition } from '../../../functions/journeys/definition.ts';
import { DynamoDbJourneyStore } from '../../../functions/journeys/dynamodb-store.ts';
import { ProfileFactsLoader } from '../../../functions/journeys/facts-store.ts';
import type { CounterChange, Enrollment, Timer } from '../../../functions/journeys/model.ts';
import { EnrollmentConflictError, JourneyNotFoundError } from '../../../functions/journeys/store.ts';
import { DynamoDbTrackingStore } from '../../../functions/tracking/dynamodb-store.ts';
import type { EnrichedEvent } from '../../../functions/tracking/model.ts';
import { emptyProfile, emptyTraits } from '../../../functions/tracking/profile.ts';
import { createProfileStoreTable, dynamodb, uniqueName } from '../clients.ts';

const now = new Date('2026-05-01T12:00:00.000Z');

const definition = (name: string) =>
  parseJourneyDefinition({
    name,
    triggers: [{ type: 'segment', segment: 'trial' }],
    start: 'wait',
    nodes: { wait: { type: 'wait', duration: 'P1D', next: 'done' }, done: { type: 'exit' } },
  });

const journeyId = () => `journey-${randomUUID().slice(0, 8)}`;
const profileId = () => `prof_${randomUUID()}`;

function enrollment(
  overrides: Partial<Enrollment> & Pick<Enrollment, 'profileId' | 'journeyId'>,
): Enrollment {
  return {
    run: 1,
    journeyVersion: 1,
    status: 'active',
    exitReason: null,
    goalId: null,
    nodeId: 'wait',
    waiting: { kind: 'wait', nodeId: 'wait', until: '2026-05-02T12:00:00.000Z', timerId: 'tmr_1' },
    variant: null,
    enteredAt: now.toISOString(),
    updatedAt: now.toISOString(),
    exitedAt: null,
    history: [{ at: now.toISOString(), nodeId: 'wait', outcome: 'waiting' }],
    processed: ['trigger:1'],
    sends: [],
    steps: 1,
    pendingEffects: [
      {
        kind: 'sendEmail',
        key: 'k1',
        templateId: 'welcome',
        templateVersion: null,
        nodeId: 'wait',
        variant: null,
        campaign: 'welcome',
      },
    ],
    version: 1,
    ...overrides,
  };
}

function stepTimer(profile: string, journey: string, dueAt: string, timerId = `tmr_${randomUUID()}`): Timer {
  return { timerId, dueAt, profileId: profile, journeyId: journey, kind: 'step' };
}

const emptyCommit = { setTimers: [], deleteTimers: [], counters: [], scores: [] };

describe('journey definitions', () => {
  const tableName = uniqueName('journeys-defs');
  const store = new DynamoDbJourneyStore({ client: dynamodb, tableName, now: () => now });
  beforeAll(() => createProfileStoreTable(tableName));

  it('stores each new definition as the next version and points the head at it', async () => {
    const id = journeyId();

    const first = await store.putVersion(id, definition('Welcome'));
    const second = await store.putVersion(id, definition('Welcome, edited'));

    expect([first.version, second.version]).toEqual([1, 2]);
    expect(await store.getHead(id)).toEqual({
      journeyId: id,
      status: 'active',
      latestVersion: 2,
      createdAt: now.toISOString(),
      updatedAt: now.toISOString(),
    });
    expect((await store.getVersion(id, 1))?.definition.name).toBe('Welcome');
    expect((await store.getVersion(id, 2))?.definition).toEqual(definition('Welcome, edited'));
    expect(await store.getVersion(id, 3)).toBeUndefined();
  });

  it('gives every concurrent edit its own version', async () => {
    const id = journeyId();

    const versions = await Promise.all([1, 2, 3].map((n) => store.putVersion(id, definition(`Edit ${n}`))));

    expect(versions.map((v) => v.version).sort()).toEqual([1, 2, 3]);
    expect((await store.getHead(id))?.latestVersion).toBe(3);
  });

  it('lists the heads of all journeys', async () => {
    const ids = [journeyId(), journeyId()];
    for (const id of ids) await store.putVersion(id, definition(id));

    const heads = await store.listHeads();

    expect(heads.map((h) => h.journeyId)).toEqual(expect.arrayContaining(ids));
  });

  it('pauses a journey and keeps it paused when a new version is stored', async () => {
    const id = journeyId();
    await store.putVersion(id, definition('Welcome'));

    const paused = await store.setStatus(id, 'paused');
    await store.putVersion(id, definition('Welcome v2'));

    expect(paused.status).toBe('paused');
    expect(await store.getHead(id)).toMatchObject({ status: 'paused', latestVersion: 2 });
  });

  it('refuses to pause a journey that does not exist', async () => {
    await expect(store.setStatus(journeyId(), 'paused')).rejects.toBeInstanceOf(JourneyNotFoundError);
  });
});

describe('enrollment commits', () => {
  const tableName = uniqueName('journeys-enrollments');
  const store = new DynamoDbJourneyStore({ client: dynamodb, tableName, now: () => now });
  beforeAll(() => createProfileStoreTable(tableName));

  it('creates an enrollment in the profile partition and reads it back', async () => {
    const profile = profileId();
    const next = enrollment({ profileId: profile, journeyId: 'welcome' });

    await store.commit({ ...emptyCommit, next, expectedVersion: 0 });

    expect(await store.getEnrollment(profile, 'welcome')).toEqual(next);
    const { Item } = await dynamodb.send(
      new GetItemCommand({
        TableName: tableName,
        Key: { pk: { S: `PROFILE#${profile}` }, sk: { S: 'ENROLLMENT#welcome' } },
      }),
    );
    expect(Item?.v?.N).toBe('1');
  });

  it('lists every enrollment of a profile', async () => {
    const profile = profileId();
    for (const journey of ['welcome', 'renewal'])
      await store.commit({
        ...emptyCommit,
        next: enrollment({ profileId: profile, journeyId: journey }),
        expectedVersion: 0,
      });

    const listed = await store.listEnrollments(profile);

    expect(listed.map((e) => e.journeyId).sort()).toEqual(['renewal', 'welcome']);
    expect(await store.listEnrollments(profileId())).toEqual([]);
  });

  it('updates an enrollment that is still at the expected version', async () => {
    const profile = profileId();
    const first = enrollment({ profileId: profile, journeyId: 'welcome' });
    await store.commit({ ...emptyCommit, next: first, expectedVersion: 0 });
    const second = { ...first, status: 'completed' as const, exitReason: 'completed' as const, version: 2 };

    await store.commit({ ...emptyCommit, next: second, expectedVersion: 1 });

    expect(await store.getEnrollment(profile, 'welcome')).toEqual(second);
  });

  it('refuses a commit whose expected version moved on, and one that would create an existing enrollment', async () => {
    const profile = profileId();
    const first = enrollment({ profileId: profile, journeyId: 'welcome' });
    await store.commit({ ...emptyCommit, next: first, expectedVersion: 0 });
    await store.commit({ ...emptyCommit, next: { ...first, steps: 2, version: 2 }, expectedVersion: 1 });

    const stale = await store
      .commit({ ...emptyCommit, next: { ...first, steps: 9, version: 2 }, expectedVersion: 1 })
      .catch((error: unknown) => error);
    const duplicate = await store
      .commit({ ...emptyCommit, next: first, expectedVersion: 0 })
      .catch((error: unknown) => error);

    expect(stale).toBeInstanceOf(EnrollmentConflictError);
    expect(duplicate).toBeInstanceOf(EnrollmentConflictError);
    expect((await store.getEnrollment(profile, 'welcome'))?.steps).toBe(2);
  });

  it('writes nothing else of a refused commit', async () => {
    const profile = profileId();
    const first = enrollment({ profileId: profile, journeyId: 'welcome' });
    await store.commit({ ...emptyCommit, next: first, expectedVersion: 0 });
    const timer = stepTimer(profile, 'welcome', '2020-01-01T00:00:00.000Z');

    await expect(
      store.commit({
        ...emptyCommit,
        next: { ...first, version: 2 },
        expectedVersion: 7,
        setTimers: [timer],
        scores: [{ name: 'engagement', points: 5 }],
      }),
    ).rejects.toBeInstanceOf(EnrollmentConflictError);

    const due = await store.dueTimers('2020-01-01T00:00:00.000Z', 100);
    expect(due).not.toContainEqual(timer);
  });

  it('sets and deletes timers in the same commit as the enrollment', async () => {
    const profile = profileId();
    const first = enrollment({ profileId: profile, journeyId: 'welcome' });
    const oldTimer = stepTimer(profile, 'welcome', '2021-03-01T00:00:00.000Z');
    await store.commit({ ...emptyCommit, next: first, expectedVersion: 0, setTimers: [oldTimer] });
    const newTimer = stepTimer(profile, 'welcome', '2021-03-02T00:00:00.000Z');

    await store.commit({
      ...emptyCommit,
      next: { ...first, version: 2 },
      expectedVersion: 1,
      setTimers: [newTimer],
      deleteTimers: [oldTimer],
    });

    const due = (await store.dueTimers('2021-03-31T00:00:00.000Z', 1000)).filter(
      (t) => t.profileId === profile,
    );
    expect(due).toEqual([newTimer]);
  });

  it('adds score points to the lead item, where the facts loader reads them', async () => {
    const profile = profileId();
    const first = enrollment({ profileId: profile, journeyId: 'welcome' });
    const loader = new ProfileFactsLoader({
      client: dynamodb,
      tableName,
      tracking: new DynamoDbTrackingStore({ client: dynamodb, tableName, eventRetentionDays: 30 }),
    });

    await store.commit({
      ...emptyCommit,
      next: first,
      expectedVersion: 0,
      scores: [
        { name: 'engagement', points: 5 },
        { name: 'engagement', points: 3 },
        { name: 'fit', points: -2 },
      ],
    });
    await store.commit({
      ...emptyCommit,
      next: { ...first, version: 2 },
      expectedVersion: 1,
      scores: [{ name: 'engagement', points: 10 }],
    });

    expect(await loader.readLeadState(profile)).toEqual({ scores: { engagement: 18, fit: -2 }, stage: null });
  });

  it('refuses a commit larger than one DynamoDB transaction', async () => {
    const profile = profileId();
    const timers = Array.from({ length: 100 }, (_, i) =>
      stepTimer(profile, 'welcome', `2030-01-01T00:00:${String(i % 60).padStart(2, '0')}.000Z`),
    );

    await expect(
      store.commit({
        ...emptyCommit,
        next: enrollment({ profileId: profile, journeyId: 'welcome' }),
        expectedVersion: 0,
        setTimers: timers,
      }),
    ).rejects.toThrow(/transaction limit/);
  });
});

describe('journey statistics', () => {
  const tableName = uniqueName('journeys-stats');
  const store = new DynamoDbJourneyStore({ client: dynamodb, tableName, now: () => now });
  beforeAll(() => createProfileStoreTable(tableName));

  async function enter(journey: string, journeyVersion: number, counters: CounterChange[]): Promise<void> {
    await store.commit({
      ...emptyCommit,
      next: enrollment({ profileId: profileId(), journeyId: journey, journeyVersion }),
      expectedVersion: 0,
      counters,
    });
  }

  it('sums counters per node and variant across shards, per version and over all versions', async () => {
    const id = journeyId();
    await store.putVersion(id, definition('v1'));
    await store.putVersion(id, definition('v2'));
    const entered: CounterChange = { nodeId: 'start', counter: 'entered', variant: null, delta: 1 };
    for (let i = 0; i < 20; i += 1) await enter(id, 1, [entered]);
    for (let i = 0; i < 5; i += 1)
      await enter(id, 2, [
        entered,
        { nodeId: 'split', counter: 'sent', variant: 'B', delta: 1 },
        { nodeId: 'split', counter: 'sent', variant: 'B', delta: 1 },
        { nodeId: 'wait', counter: 'waiting', variant: null, delta: 1 },
      ]);
    await enter(id, 2, [{ nodeId: 'wait', counter: 'waiting', variant: null, delta: -1 }]);

    const v1 = await store.stats(id, 1);
    const all = await store.stats(id, null);

    expect(v1).toEqual({ nodes: { start: { '': { entered: 20 } } } });
    expect(all).toEqual({
      nodes: {
        start: { '': { entered: 25 } },
        split: { B: { sent: 10 } },
        wait: { '': { waiting: 4 } },
      },
    });
  });

  it('reports no counters for a journey nobody entered', async () => {
    expect(await store.stats(journeyId(), null)).toEqual({ nodes: {} });
  });
});

describe('the timer index', () => {
  const tableName = uniqueName('journeys-timers');
  const store = new DynamoDbJourneyStore({ client: dynamodb, tableName, now: () => now });
  beforeAll(() => createProfileStoreTable(tableName));

  it('answers only due timers, oldest first across shards, at most the limit', async () => {
    const times = Array.from({ length: 40 }, (_, i) => new Date(Date.UTC(2026, 0, 1, 0, i)).toISOString());
    // Many profiles, so the timers spread over the shards.
    const timers = times.map((dueAt) => stepTimer(profileId(), 'welcome', dueAt));
    for (const timer of [...timers].reverse()) await store.putTimer(timer);
    const cutoff = times[29] ?? '';

    const due = await store.dueTimers(cutoff, 1000);
    const firstTen = await store.dueTimers(cutoff, 10);

    expect(due).toEqual(timers.slice(0, 30));
    expect(firstTen).toEqual(timers.slice(0, 10));
    expect(await store.earliestTimer()).toEqual(timers[0]);
  });

  it('forgets a deleted timer', async () => {
    const timer = stepTimer(profileId(), 'welcome', '2025-06-01T00:00:00.000Z');
    await store.putTimer(timer);

    await store.deleteTimer(timer);

    expect(await store.dueTimers('2025-12-31T00:00:00.000Z', 1000)).not.toContainEqual(timer);
  });

  it('has no earliest timer when none is stored', async () => {
    const emptyTable = uniqueName('journeys-empty');
    await createProfileStoreTable(emptyTable);
    const empty = new DynamoDbJourneyStore({ client: dynamodb, tableName: emptyTable });

    expect(await empty.earliestTimer()).toBeUndefined();
  });
});

describe('profile facts', () => {
  const tableName = uniqueName('journeys-facts');
  beforeAll(() => createProfileStoreTable(tableName));

  function trackedEvent(overrides: Partial<EnrichedEvent>): EnrichedEvent {
    return {
      type: 'track',
      protocol: 'segment',
      messageId: randomUUID(),
      userId: 'user-1',
      traits: {},
      properties: {},
      context: {},
      sourceId: 'web',
      enrichment: {
        eventTime: '2026-04-30T10:00:00.000Z',
        receivedAt: '2026-04-30T10:00:00.000Z',
        touch: {
          channel: 'direct',
          campaign: null,
          landingPage: null,
          referrer: null,
          source: null,
          medium: null,
        },
        device: 'desktop',
        isBot: false,
        ip: null,
        browser: null,
        os: null,
      },
      ...overrides,
    };
  }

  it('gathers traits, tracked events, scores, stage and segments of a profile', async () => {
    const profile = profileId();
    const events = [
      trackedEvent({ event: 'Trial Started', properties: { plan: 'pro' } }),
      trackedEvent({ type: 'page', name: 'Pricing' }),
    ];
    const loader = new ProfileFactsLoader({
      client: dynamodb,
      tableName,
      tracking: {
        getProfile: async (id) => ({
          value: { ...emptyProfile(id), userId: 'user-1' },
          claims: [],
          exists: true,
        }),
        getTraits: async (id) => ({
          value: { ...emptyTraits(id), traits: { plan: 'pro' } },
          claims: [],
          exists: true,
        }),
        listEvents: async () => ({ events, truncated: false }),
      },
    });
    await dynamodb.send(
      new PutItemCommand({
        TableName: tableName,
        Item: {
          pk: { S: `PROFILE#${profile}` },
          sk: { S: 'LEAD' },
          stage: { S: 'mql' },
          score_fit: { N: '12' },
        },
      }),
    );
    for (const segment of ['trial-users', 'pricing-visitors'])
      await dynamodb.send(
        new PutItemCommand({
          TableName: tableName,
          Item: { pk: { S: `PROFILE#${profile}` }, sk: { S: `SEGMENT#${segment}` } },
        }),
      );

    const withEvents = await loader.load(profile, { events: true });
    const withoutEvents = await loader.load(profile, { events: false });

    expect(withEvents).toEqual({
      profileId: profile,
      userId: 'user-1',
      traits: { plan: 'pro' },
      scores: { fit: 12 },
      stage: 'mql',
      segments: ['pricing-visitors', 'trial-users'],
      events: [{ event: 'Trial Started', properties: { plan: 'pro' }, at: '2026-04-30T10:00:00.000Z' }],
    });
    expect(withoutEvents.events).toEqual([]);
  });
});
