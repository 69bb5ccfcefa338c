// Schedule triggers over DynamoDB Local: a firing enters a segment's members once, in bounded batches, then re-arms.
import { randomUUID } from 'node:crypto';
import { PutItemCommand } from '@aws-sdk/client-dynamodb';
import { beforeAll, describe, expect, it } from 'vitest';
import { JourneyCatalog } from '../../../functions/journeys/catalog.ts';
import { parseJourneyDefinition } from '../../../functions/journeys/definition.ts';
import { DynamoDbJourneyStore } from '../../../functions/journeys/dynamodb-store.ts';
import { ProfileFactsLoader } from '../../../functions/journeys/facts-store.ts';
import type { Effect, Enrollment, Timer } from '../../../functions/journeys/model.ts';
import { type EffectRunner, JourneyRunner } from '../../../functions/journeys/runner.ts';
import { DynamoDbSegmentMembers } from '../../../functions/journeys/segment-members.ts';
import { DynamoDbTrackingStore } from '../../../functions/tracking/dynamodb-store.ts';
import { emptyProfile, emptyTraits } from '../../../functions/tracking/profile.ts';
import { createProfileStoreTable, dynamodb, uniqueName } from '../clients.ts';

const PUBLISHED = new Date('2026-05-01T12:00:00.000Z');
/** The first Monday 09:00 in Berlin after publication, and the one a week later. */
const FIRST_FIRE = '2026-05-04T07:00:00.000Z';
const SECOND_FIRE = '2026-05-11T07:00:00.000Z';
const FAR_FUTURE = '2100-01-01T00:00:00.000Z';

/** Weekly to the segment's pro members; re-entry after exit, so only the firing's key keeps a replay out. */
const newsletter = (segment: string) =>
  parseJourneyDefinition({
    name: 'Weekly newsletter',
    triggers: [
      { type: 'segment', segment },
      { type: 'schedule', expression: 'cron(0 9 ? * MON *)', timeZone: 'Europe/Berlin', segment },
    ],
    entry: { condition: { trait: 'plan', op: 'eq', value: 'pro' }, reentry: { mode: 'afterExit' } },
    start: 'send',
    nodes: { send: { type: 'sendEmail', templateId: 'newsletter', next: 'done' }, done: { type: 'exit' } },
  });

class RecordingEffects implements EffectRunner {
  readonly runs = new Set<string>();

  async run(enrollment: Enrollment, _effects: readonly Effect[]): Promise<void> {
    this.runs.add(`${enrollment.profileId}#${enrollment.run}`);
  }
}

describe('schedule triggers over DynamoDB', () => {
  const tableName = uniqueName('journeys-schedule');
  let clock = PUBLISHED;
  const now = () => clock;
  const store = new DynamoDbJourneyStore({ client: dynamodb, tableName, now });
  const tracking = new DynamoDbTrackingStore({ client: dynamodb, tableName, eventRetentionDays: 30 });
  const facts = new ProfileFactsLoader({ client: dynamodb, tableName, tracking });

  beforeAll(() => createProfileStoreTable(tableName));

  function runnerWith(options: { effects: EffectRunner; pageSize?: number; batchLimit?: number }) {
    return new JourneyRunner({
      store,
      catalog: new JourneyCatalog(store, { refreshMs: 0 }),
      facts,
      effects: options.effects,
      members: new DynamoDbSegmentMembers({ client: dynamodb, tableName, pageSize: options.pageSize }),
      scheduleBatchLimit: options.batchLimit,
      now,
    });
  }

  async function profile(plan: string): Promise<string> {
    const id = `p${randomUUID()}`;
    await tracking.putProfile({ ...emptyProfile(id), version: 1 }, { expectedVersion: 0, claims: [] });
    await tracking.putTraits({ ...emptyTraits(id), traits: { plan }, version: 1 }, 0);
    return id;
  }

  async function join(segment: string, profileId: string): Promise<void> {
    for (const [pk, sk] of [
      [`SEGMENT#${segment}`, `MEMBER#${profileId}`],
      [`PROFILE#${profileId}`, `SEGMENT#${segment}`],
    ] as const)
      await dynamodb.send(
        new PutItemCommand({ TableName: tableName, Item: { pk: { S: pk }, sk: { S: sk } } }),
      );
  }

  async function timersOf(journeyId: string): Promise<Timer[]> {
    return (await store.dueTimers(FAR_FUTURE, 1000)).filter((t) => t.journeyId === journeyId);
  }

  /** What the sweep does: delete the timer once published; the journey function then handles it. */
  async function fire(runner: JourneyRunner, timer: Timer): Promise<void> {
    clock = new Date(timer.dueAt);
    await store.deleteTimer(timer);
    await runner.onTimer(timer);
  }

  async function publish(segment: string) {
    clock = PUBLISHED;
    const journeyId = `news-${randomUUID().slice(0, 8)}`;
    const version = await store.putVersion(journeyId, newsletter(segment));
    return { journeyId, version };
  }

  async function runsOf(journeyId: string, profileIds: readonly string[]) {
    return Promise.all(profileIds.map(async (id) => (await store.getEnrollment(id, journeyId))?.run));
  }

  it('arms the next Monday for a published version, and arming again writes the same timer', async () => {
    const { journeyId, version } = await publish(uniqueName('seg'));
    const runner = runnerWith({ effects: new RecordingEffects() });

    await runner.armSchedules(version);
    clock = new Date('2026-05-03T18:00:00.000Z');
    await runner.armSchedules(version);

    expect((await timersOf(journeyId)).map((t) => t.timerId)).toEqual([`s:${journeyId}:1:1:${FIRST_FIRE}`]);
  });

  it('enters exactly the segment’s members that meet the entry condition, once, even when replayed', async () => {
    const segment = uniqueName('seg');
    const { journeyId, version } = await publish(segment);
    const members = [await profile('pro'), await profile('pro'), await profile('pro')];
    const basicMember = await profile('basic');
    const outsider = await profile('pro');
    for (const id of [...members, basicMember]) await join(segment, id);
    const effects = new RecordingEffects();
    const runner = runnerWith({ effects });
    const [timer] = await runner.armSchedules(version);
    if (!timer) throw new Error('the journey armed no schedule');

    await fire(runner, timer);
    await runner.onTimer(timer);

    expect(await runsOf(journeyId, members)).toEqual([1, 1, 1]);
    expect(await runsOf(journeyId, [basicMember, outsider])).toEqual([undefined, undefined]);
    expect([...effects.runs].sort()).toEqual(members.map((id) => `${id}#1`).sort());
    expect((await timersOf(journeyId)).map((t) => t.timerId)).toEqual([`s:${journeyId}:1:1:${SECOND_FIRE}`]);
  });

  it('continues a segment larger than one batch from the last member handled, then arms the next firing', async () => {
    const segment = uniqueName('seg');
    const { journeyId, version } = await publish(segment);
    const members: string[] = [];
    for (let i = 0; i < 5; i += 1) members.push(await profile('pro'));
    for (const id of members) await join(segment, id);
    const ordered = [...members].sort();
    const runner = runnerWith({ effects: new RecordingEffects(), pageSize: 2, batchLimit: 3 });
    const [timer] = await runner.armSchedules(version);
    if (!timer) throw new Error('the journey armed no schedule');

    await fire(runner, timer);
    const afterFirstBatch = await runsOf(journeyId, ordered);
    const [continuation, ...others] = await timersOf(journeyId);
    if (!continuation) throw new Error('no continuation timer was put');
    await fire(runner, continuation);

    expect(afterFirstBatch).toEqual([1, 1, 1, undefined, undefined]);
    expect(others).toEqual([]);
    expect(continuation).toMatchObject({
      timerId: `s:${journeyId}:1:1:${FIRST_FIRE}:after=${ordered[2]}`,
      dueAt: FIRST_FIRE,
      kind: 'schedule',
    });
    expect(await runsOf(journeyId, ordered)).toEqual([1, 1, 1, 1, 1]);
    expect((await timersOf(journeyId)).map((t) => t.timerId)).toEqual([`s:${journeyId}:1:1:${SECOND_FIRE}`]);
  });

  it('enters nobody while the journey is paused but keeps the weekly cadence armed', async () => {
    const segment = uniqueName('seg');
    const { journeyId, version } = await publish(segment);
    const member = await profile('pro');
    await join(segment, member);
    const runner = runnerWith({ effects: new RecordingEffects() });
    const [timer] = await runner.armSchedules(version);
    if (!timer) throw new Error('the journey armed no schedule');
    await store.setStatus(journeyId, 'paused');

    await fire(runner, timer);

    expect(await runsOf(journeyId, [member])).toEqual([undefined]);
    expect((await timersOf(journeyId)).map((t) => t.timerId)).toEqual([`s:${journeyId}:1:1:${SECOND_FIRE}`]);
  });

  it('ends the cadence of a version once a newer one is published', async () => {
    const segment = uniqueName('seg');
    const { journeyId, version } = await publish(segment);
    const member = await profile('pro');
    await join(segment, member);
    const runner = runnerWith({ effects: new RecordingEffects() });
    const [timer] = await runner.armSchedules(version);
    if (!timer) throw new Error('the journey armed no schedule');
    await store.putVersion(journeyId, newsletter(segment));

    await fire(runner, timer);

    expect(await runsOf(journeyId, [member])).toEqual([undefined]);
    expect(await timersOf(journeyId)).toEqual([]);
  });
});
