// The sender's journey check against DynamoDB Local: only a run stopped by a goal drops its queued messages.
import { randomUUID } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { DynamoDbJourneyStore } from '../../../functions/journeys/dynamodb-store.ts';
import type { Enrollment } from '../../../functions/journeys/model.ts';
import { DynamoDbJourneyRuns } from '../../../functions/journeys/run-reader.ts';
import { createProfileStoreTable, dynamodb, uniqueName } from '../clients.ts';

const tableName = uniqueName('journey-runs');
const store = new DynamoDbJourneyStore({ client: dynamodb, tableName });
const runs = new DynamoDbJourneyRuns(dynamodb, tableName);
const at = '2027-01-01T12:00:00.000Z';

function enrollment(overrides: Partial<Enrollment>): Enrollment {
  return {
    profileId: `prof_${randomUUID()}`,
    journeyId: 'renewal-offer',
    run: 2,
    journeyVersion: 1,
    status: 'active',
    exitReason: null,
    goalId: null,
    nodeId: 'await',
    waiting: null,
    variant: null,
    enteredAt: at,
    updatedAt: at,
    exitedAt: null,
    history: [],
    processed: [],
    sends: [],
    steps: 3,
    pendingEffects: [],
    version: 1,
    ...overrides,
  };
}

async function stored(overrides: Partial<Enrollment>): Promise<Enrollment> {
  const next = enrollment(overrides);
  await store.commit({ next, expectedVersion: 0, setTimers: [], deleteTimers: [], counters: [], scores: [] });
  return next;
}

describe('whether a queued journey message may still go out', () => {
  beforeAll(() => createProfileStoreTable(tableName));

  it('says no for the run a goal stopped', async () => {
    const e = await stored({ status: 'exited', exitReason: 'goal', goalId: 'renewed' });

    expect(await runs.isRunActive({ profileId: e.profileId, journeyId: e.journeyId, run: 2 })).toBe(false);
  });

  it('says yes for a running run, a run that completed, and an older run of a re-entered profile', async () => {
    const active = await stored({});
    const completed = await stored({ status: 'completed', exitReason: 'completed' });
    const reentered = await stored({ status: 'exited', exitReason: 'goal', run: 3 });

    expect(await runs.isRunActive({ profileId: active.profileId, journeyId: 'renewal-offer', run: 2 })).toBe(
      true,
    );
    expect(
      await runs.isRunActive({ profileId: completed.profileId, journeyId: 'renewal-offer', run: 2 }),
    ).toBe(true);
    expect(
      await runs.isRunActive({ profileId: reentered.profileId, journeyId: 'renewal-offer', run: 2 }),
    ).toBe(true);
  });

  it('says yes when the profile has no enrollment (an erased profile is caught by the recipient check)', async () => {
    expect(await runs.isRunActive({ profileId: 'prof_none', journeyId: 'renewal-offer', run: 1 })).toBe(true);
  });
});
