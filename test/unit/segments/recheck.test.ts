// The recheck sweep: due timers handed to evaluation at least once, removed only after they were handed over.
import { describe, expect, it } from 'vitest';
import { type DueRecheck, RecheckSweeper, recheckSortKey } from '../../../functions/segments/recheck.ts';

const NOW = new Date('2026-05-01T12:00:00.000Z');

function index(entries: DueRecheck[]) {
  const stored = [...entries];
  return {
    stored,
    due: async (now: string, limit: number) =>
      stored
        .filter((e) => e.dueAt <= now)
        .sort((a, b) => recheckSortKey(a).localeCompare(recheckSortKey(b)))
        .slice(0, limit),
    remove: async (recheck: DueRecheck) => {
      stored.splice(stored.indexOf(recheck), 1);
    },
  };
}

const due = (profileId: string, minutesAgo: number): DueRecheck => ({
  profileId,
  segmentId: 'fans',
  dueAt: new Date(NOW.getTime() - minutesAgo * 60_000).toISOString(),
});

describe('the segment recheck sweep', () => {
  it('hands over every due timer, oldest first, and leaves the ones not yet due', async () => {
    const later = { profileId: 'p-3', segmentId: 'fans', dueAt: '2026-05-02T00:00:00.000Z' };
    const timers = index([due('p-1', 1), due('p-2', 5), later]);
    const sent: string[] = [];
    const sweeper = new RecheckSweeper({
      index: timers,
      sender: {
        send: async (batch) => {
          sent.push(...batch.map((r) => r.profileId));
          return { failed: [] };
        },
      },
      now: () => NOW,
    });

    const result = await sweeper.sweep();

    expect(sent).toEqual(['p-2', 'p-1']);
    expect(result).toEqual({ fired: 2, failed: 0, remaining: false });
    expect(timers.stored).toEqual([later]);
  });

  it('keeps a timer the queue refused, so the next sweep fires it', async () => {
    const refused = due('p-1', 1);
    const timers = index([refused, due('p-2', 1)]);
    const sweeper = new RecheckSweeper({
      index: timers,
      sender: { send: async (batch) => ({ failed: batch.filter((r) => r.profileId === 'p-1') }) },
      now: () => NOW,
    });

    const result = await sweeper.sweep();

    expect(result).toMatchObject({ fired: 1, failed: 1 });
    expect(timers.stored).toEqual([refused]);
  });

  it('stops at its limit per run and says more is due', async () => {
    const timers = index([due('p-1', 3), due('p-2', 2), due('p-3', 1)]);
    const sweeper = new RecheckSweeper({
      index: timers,
      sender: { send: async () => ({ failed: [] }) },
      now: () => NOW,
      batchSize: 1,
      maxPerRun: 2,
    });

    expect(await sweeper.sweep()).toEqual({ fired: 2, failed: 0, remaining: true });
    expect(timers.stored).toHaveLength(1);
  });
});
