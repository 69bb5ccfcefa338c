// Keeps sending under the SES account's per-second rate: a token bucket per sender instance and its share of the rate.
export interface TokenBucketOptions {
  readonly ratePerSecond: number;
  /** Sends allowed back to back after a quiet spell; at least 1. */
  readonly burst: number;
  /** Clock in milliseconds. @default Date.now */
  readonly now?: () => number;
}

function defaultSleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * A token bucket kept as its theoretical arrival time (GCRA): one number instead of a token count and a timestamp.
 * `take` reserves a slot even when it must wait, so callers that take one after another queue up behind each other
 * instead of all waking at once and overshooting.
 */
export class TokenBucket {
  private readonly intervalMs: number;
  private readonly burstMs: number;
  private readonly now: () => number;
  /** When the bucket will be full again once every reserved send has happened. */
  private arrival = Number.NEGATIVE_INFINITY;

  constructor({ ratePerSecond, burst, now = Date.now }: TokenBucketOptions) {
    if (!(Number.isFinite(ratePerSecond) && ratePerSecond > 0))
      throw new RangeError(`ratePerSecond must be a positive number, got ${ratePerSecond}`);
    if (!(Number.isInteger(burst) && burst >= 1))
      throw new RangeError(`burst must be an integer of at least 1, got ${burst}`);
    this.intervalMs = 1000 / ratePerSecond;
    this.burstMs = burst * this.intervalMs;
    this.now = now;
  }

  /** Reserves the next send and returns how many whole milliseconds to wait before making it (0: send now). */
  take(): number {
    const now = this.now();
    const earliest = Math.max(now, this.arrival + this.intervalMs - this.burstMs);
    // Timers take whole milliseconds, so the wait is rounded up and the bucket is charged for the rounded send time:
    // charging for the exact time would let rounded sends bunch up past the limit in short windows.
    const wait = Math.max(0, Math.ceil(earliest - now));
    this.arrival = Math.max(this.arrival, now + wait) + this.intervalMs;
    return wait;
  }

  /** Reserves the next send and resolves once it may happen. */
  async acquire(sleep: (ms: number) => Promise<void> = defaultSleep): Promise<void> {
    const wait = this.take();
    if (wait > 0) await sleep(wait);
  }
}

/**
 * Each sender instance keeps its own bucket in memory, and the SQS event source mapping's maximum concurrency caps
 * how many instances run at once, so giving each instance rate ÷ concurrency keeps their sum within the account's
 * rate without any shared counter. SES tolerates short bursts above the rate, which absorbs the instances' bursts.
 */
export function perInstanceRate({
  accountRate,
  maxConcurrency,
}: {
  readonly accountRate: number;
  readonly maxConcurrency: number;
}): number {
  if (!(Number.isFinite(accountRate) && accountRate > 0))
    throw new RangeError(`accountRate must be a positive number, got ${accountRate}`);
  if (!(Number.isInteger(maxConcurrency) && maxConcurrency >= 1))
    throw new RangeError(`maxConcurrency must be a positive integer, got ${maxConcurrency}`);
  return accountRate / maxConcurrency;
}
