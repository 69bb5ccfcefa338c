// The timer sweep over in-memory ports: due timers fire once published, failed ones stay, runs are bounded.
import { describe, expect, it } from 'vitest';
import type { Timer } from '../../../functions/journeys/model.ts';
import { type StepDuePublisher, TimerSweeper } from '../../../functions/journeys/sweeper.ts';

const NOW = new Date('2026-05-01T12:00:00.000Z');

function timer(index: number, dueAt: string): Timer {
  return {
    timerId: `tmr_${String(index).padStart(5, '0')}`,
    dueAt,
    profileId: `prof_${index}`,
    journeyId: 'welcome',
    kind: 'step',
  };
}

function dueTimers(count: number): Timer[] {
  return Array.from({ length: count }, (_, i) =>
    timer(i, new Date(NOW.getTime() - (count - i) * 1000).toISOString()),
  );
}

class MemoryTimerStore {
  constructor(public timers: Timer[]) {}
  reads = 0;

  async dueTimers(now: string, limit: number): Promise<Timer[]> {
    this.reads += 1;
    return this.timers
      .filter((t) => t.dueAt <= now)
      .sort((a, b) => a.dueAt.localeCompare(b.dueAt))
      .slice(0, limit);
  }

  async deleteTimer(gone: Timer): Promise<void> {
    this.timers = this.timers.filter((t) => t.timerId !== gone.timerId);
  }
}

class RecordingPublisher implements StepDuePublisher {
  published: Timer[] = [];
  constructor(private readonly refuses: (timer: Timer) => boolean = () => false) {}

  async publish(timers: readonly Timer[]): Promise<{ failed: readonly Timer[] }> {
    const failed = timers.filter(this.refuses);
    this.published.push(...timers.filter((t) => !this.refuses(t)));
    return { failed };
  }
}

describe('the timer sweep', () => {
  it('publishes every due timer oldest first and deletes them, leaving future timers alone', async () => {
    const future = timer(999, '2026-05-02T00:00:00.000Z');
    const store = new MemoryTimerStore([...dueTimers(250), future]);
    const publisher = new RecordingPublisher();
    const sweeper = new TimerSweeper({ store, publisher, now: () => NOW, batchSize: 100 });

    const result = await sweeper.sweep();

    expect(result).toEqual({ fired: 250, failed: 0, remaining: false });
    expect(publisher.published.map((t) => t.timerId)).toEqual(dueTimers(250).map((t) => t.timerId));
    expect(store.timers).toEqual([future]);
  });

  it('keeps a timer whose publish failed so that the next sweep fires it', async () => {
    const timers = dueTimers(10);
    const unlucky = timers[3]?.timerId;
    const store = new MemoryTimerStore(timers);
    let failing = true;
    const publisher = new RecordingPublisher((t) => failing && t.timerId === unlucky);
    const sweeper = new TimerSweeper({ store, publisher, now: () => NOW, batchSize: 4 });

    const first = await sweeper.sweep();
    failing = false;
    const second = await sweeper.sweep();

    expect(first).toEqual({ fired: 9, failed: 1, remaining: false });
    expect(second).toEqual({ fired: 1, failed: 0, remaining: false });
    expect(publisher.published.at(-1)?.timerId).toBe(unlucky);
    expect(store.timers).toEqual([]);
  });

  it('stops a run at once when the publisher refuses a whole batch', async () => {
    const store = new MemoryTimerStore(dueTimers(30));
    const sweeper = new TimerSweeper({
      store,
      publisher: new RecordingPublisher(() => true),
      now: () => NOW,
      batchSize: 10,
    });

    const result = await sweeper.sweep();

    expect(result).toEqual({ fired: 0, failed: 10, remaining: false });
    expect(store.reads).toBe(1);
    expect(store.timers).toHaveLength(30);
  });

  it('handles at most maxPerRun timers in one run and says more are due', async () => {
    const store = new MemoryTimerStore(dueTimers(50));
    const publisher = new RecordingPublisher();
    const sweeper = new TimerSweeper({ store, publisher, now: () => NOW, batchSize: 8, maxPerRun: 20 });

    const result = await sweeper.sweep();

    expect(result).toEqual({ fired: 20, failed: 0, remaining: true });
    expect(store.timers).toHaveLength(30);
  });

  it('reads once and fires nothing when no timer is due', async () => {
    const store = new MemoryTimerStore([timer(1, '2026-06-01T00:00:00.000Z')]);
    const publisher = new RecordingPublisher();
    const sweeper = new TimerSweeper({ store, publisher, now: () => NOW });

    const result = await sweeper.sweep();

    expect(result).toEqual({ fired: 0, failed: 0, remaining: false });
    expect(store.reads).toBe(1);
    expect(publisher.published).toEqual([]);
  });
});
