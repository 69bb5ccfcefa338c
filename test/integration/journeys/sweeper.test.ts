// The timer sweep over the DynamoDB journey store: due timers fire once, failed ones and future ones stay.
import { randomUUID } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { DynamoDbJourneyStore } from '../../../functions/journeys/dynamodb-store.ts';
import type { Timer } from '../../../functions/journeys/model.ts';
import { type StepDuePublisher, TimerSweeper } from '../../../functions/journeys/sweeper.ts';
import { createProfileStoreTable, dynamodb, uniqueName } from '../clients.ts';

const NOW = new Date('2026-05-01T12:00:00.000Z');

function timer(minutesFromNow: number): Timer {
  return {
    timerId: `tmr_${randomUUID()}`,
    dueAt: new Date(NOW.getTime() + minutesFromNow * 60_000).toISOString(),
    profileId: `prof_${randomUUID()}`,
    journeyId: 'welcome',
    kind: 'step',
  };
}

class RecordingPublisher implements StepDuePublisher {
  published: Timer[] = [];
  constructor(private readonly refused: ReadonlySet<string> = new Set()) {}

  async publish(timers: readonly Timer[]): Promise<{ failed: readonly Timer[] }> {
    this.published.push(...timers.filter((t) => !this.refused.has(t.timerId)));
    return { failed: timers.filter((t) => this.refused.has(t.timerId)) };
  }
}

describe('the timer sweep over DynamoDB', () => {
  let tableName: string;
  let store: DynamoDbJourneyStore;

  beforeAll(async () => {
    tableName = uniqueName('journeys-sweep');
    await createProfileStoreTable(tableName);
    store = new DynamoDbJourneyStore({ client: dynamodb, tableName });
  });

  it('fires every due timer once, in due order, and leaves future timers and refused ones stored', async () => {
    const due = Array.from({ length: 35 }, (_, i) => timer(-60 + i));
    const future = [timer(5), timer(60 * 24)];
    const refused = due[7];
    if (!refused) throw new Error('fixture has no eighth timer');
    for (const t of [...due, ...future]) await store.putTimer(t);
    const publisher = new RecordingPublisher(new Set([refused.timerId]));
    const sweeper = new TimerSweeper({ store, publisher, now: () => NOW, batchSize: 10 });

    const first = await sweeper.sweep();
    const second = await new TimerSweeper({
      store,
      publisher: new RecordingPublisher(),
      now: () => NOW,
    }).sweep();

    expect(first).toEqual({ fired: 34, failed: 1, remaining: false });
    expect(publisher.published.map((t) => t.timerId)).toEqual(
      due.filter((t) => t !== refused).map((t) => t.timerId),
    );
    expect(second).toEqual({ fired: 1, failed: 0, remaining: false });
    expect(await store.earliestTimer()).toEqual(future[0]);
  });
});
