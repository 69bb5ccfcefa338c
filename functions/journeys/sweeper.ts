// The timer sweep: publishes `journey.step_due` for every due timer and removes the timers that were published.
import type { Timer } from './model.ts';
import type { JourneyStore } from './store.ts';

/** Publishes one `journey.step_due` per timer (the adapter chunks for PutEvents) and says which ones failed. */
export interface StepDuePublisher {
  publish(timers: readonly Timer[]): Promise<{ failed: readonly Timer[] }>;
}

export interface SweepResult {
  /** Timers published and deleted. */
  readonly fired: number;
  /** Timers the publisher refused; they stay stored and fire on a later sweep. */
  readonly failed: number;
  /** The run stopped at `maxPerRun` while timers may still be due: sweep again soon. */
  readonly remaining: boolean;
}

export interface TimerSweeperDeps {
  readonly store: Pick<JourneyStore, 'dueTimers' | 'deleteTimer'>;
  readonly publisher: StepDuePublisher;
  readonly now: () => Date;
  /** Timers read and published at a time (default 100). */
  readonly batchSize?: number;
  /** Timers handled in one run at most (default 10,000), so one invocation stays within its time limit. */
  readonly maxPerRun?: number;
}

/** Deletes run this many at a time: enough to be quick, few enough not to throttle a fresh on-demand table. */
const DELETE_CONCURRENCY = 25;

const timerKey = (timer: Timer) => `${timer.profileId}\n${timer.timerId}\n${timer.dueAt}`;

/**
 * At-least-once: a timer is deleted only after it was published, so a crash or a failed publish leaves it to fire
 * again on the next sweep; the journey engine ignores a step that was already applied.
 */
export class TimerSweeper {
  private readonly batchSize: number;
  private readonly maxPerRun: number;

  constructor(private readonly deps: TimerSweeperDeps) {
    this.batchSize = deps.batchSize ?? 100;
    this.maxPerRun = deps.maxPerRun ?? 10_000;
    if (this.batchSize < 1 || this.maxPerRun < 1)
      throw new Error('batchSize and maxPerRun must be at least 1');
  }

  async sweep(): Promise<SweepResult> {
    const now = this.deps.now().toISOString();
    // Failed timers stay due; remembering them keeps this run from reading and retrying them without end.
    const failedKeys = new Set<string>();
    let fired = 0;
    while (fired + failedKeys.size < this.maxPerRun) {
      const wanted = Math.min(this.batchSize, this.maxPerRun - fired - failedKeys.size);
      const due = await this.deps.store.dueTimers(now, wanted + failedKeys.size);
      const batch = due.filter((timer) => !failedKeys.has(timerKey(timer))).slice(0, wanted);
      if (batch.length === 0) return { fired, failed: failedKeys.size, remaining: false };

      const { failed } = await this.deps.publisher.publish(batch);
      const failedNow = new Set(failed.map(timerKey));
      for (const key of failedNow) failedKeys.add(key);
      const published = batch.filter((timer) => !failedNow.has(timerKey(timer)));
      for (let i = 0; i < published.length; i += DELETE_CONCURRENCY) {
        await Promise.all(
          published.slice(i, i + DELETE_CONCURRENCY).map((timer) => this.deps.store.deleteTimer(timer)),
        );
      }
      fired += published.length;
      // Nothing got through: the publisher is failing; the next sweep retries rather than this one hammering it.
      if (published.length === 0) return { fired, failed: failedKeys.size, remaining: false };
    }
    return { fired, failed: failedKeys.size, remaining: true };
  }
}
