// Sending under the SES rate: the token bucket each sender instance keeps, and the instance's share of the rate.
import { describe, expect, it } from 'vitest';
import { perInstanceRate, TokenBucket } from '../../../functions/messaging/rate-limit.ts';

/** A clock the test moves by hand. */
function fakeClock(start = 1_000_000): { now: () => number; advance: (ms: number) => void } {
  let time = start;
  return {
    now: () => time,
    advance: (ms) => {
      time += ms;
    },
  };
}

/** Deterministic pseudo-random numbers in [0, 1) (mulberry32), so a failing run can be replayed from its seed. */
function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The most sends any closed window of `windowMs` holds; the busiest window always starts at a send. */
function busiestWindow(sendTimes: readonly number[], windowMs: number): number {
  const sorted = [...sendTimes].sort((a, b) => a - b);
  let busiest = 0;
  let end = 0;
  for (let start = 0; start < sorted.length; start += 1) {
    const from = sorted[start] ?? 0;
    while (end < sorted.length && (sorted[end] ?? 0) <= from + windowMs) end += 1;
    busiest = Math.max(busiest, end - start);
  }
  return busiest;
}

/**
 * The first window, of any length, holding more than burst + rate × length sends, or null. Every window that could
 * break the limit runs from one send to another, so checking each pair of sends checks every window.
 */
function overfullWindow({
  sendTimes,
  ratePerSecond,
  burst,
}: {
  readonly sendTimes: readonly number[];
  readonly ratePerSecond: number;
  readonly burst: number;
}): string | null {
  const sorted = [...sendTimes].sort((a, b) => a - b);
  for (let first = 0; first < sorted.length; first += 1)
    for (let last = first + 1; last < sorted.length; last += 1) {
      const lengthMs = (sorted[last] ?? 0) - (sorted[first] ?? 0);
      const sends = last - first + 1;
      if (sends > burst + (ratePerSecond * lengthMs) / 1000)
        return `${sends} sends in ${lengthMs} ms at ${ratePerSecond}/s with burst ${burst}`;
    }
  return null;
}

describe('token bucket', () => {
  it('lets a burst through at once after a quiet spell', () => {
    const clock = fakeClock();
    const bucket = new TokenBucket({ ratePerSecond: 10, burst: 3, now: clock.now });

    const waits = [bucket.take(), bucket.take(), bucket.take()];

    expect(waits).toEqual([0, 0, 0]);
  });

  it('spaces sends beyond the burst at the rate', () => {
    const clock = fakeClock();
    const bucket = new TokenBucket({ ratePerSecond: 10, burst: 2, now: clock.now });
    bucket.take();
    bucket.take();

    const waits = [bucket.take(), bucket.take(), bucket.take()];

    expect(waits).toEqual([100, 200, 300]);
  });

  it('refills as time passes, up to the burst and no further', () => {
    const clock = fakeClock();
    const bucket = new TokenBucket({ ratePerSecond: 10, burst: 2, now: clock.now });
    bucket.take();
    bucket.take();
    clock.advance(60_000);

    const waits = [bucket.take(), bucket.take(), bucket.take()];

    expect(waits).toEqual([0, 0, 100]);
  });

  it('rounds a fractional wait up to a whole millisecond, never down', () => {
    const clock = fakeClock();
    const bucket = new TokenBucket({ ratePerSecond: 3, burst: 1, now: clock.now });
    bucket.take();

    expect(bucket.take()).toBe(334);
  });

  it('makes acquire sleep for the reserved wait and not at all when a token is free', async () => {
    const clock = fakeClock();
    const bucket = new TokenBucket({ ratePerSecond: 4, burst: 1, now: clock.now });
    const sleeps: number[] = [];
    const sleep = async (ms: number): Promise<void> => {
      sleeps.push(ms);
    };

    await bucket.acquire(sleep);
    await bucket.acquire(sleep);

    expect(sleeps).toEqual([250]);
  });

  it.each([
    { ratePerSecond: 0, burst: 1 },
    { ratePerSecond: -1, burst: 1 },
    { ratePerSecond: Number.NaN, burst: 1 },
    { ratePerSecond: 10, burst: 0 },
    { ratePerSecond: 10, burst: 1.5 },
  ])('refuses a bucket that could never send or never stop (%o)', (options) => {
    expect(() => new TokenBucket(options)).toThrow(RangeError);
  });

  it('never lets more than burst + rate × t sends into any window t, nor rate + burst into any second (seeded property test)', () => {
    const random = seededRandom(14);
    for (let run = 0; run < 200; run += 1) {
      // Mostly SES-like rates, sometimes faster than a millisecond clock can space sends.
      const ratePerSecond = random() < 0.8 ? 0.5 + random() * 50 : 50 + random() * 2000;
      const burst = 1 + Math.floor(random() * 10);
      const clock = fakeClock(Math.floor(random() * 1e9));
      const bucket = new TokenBucket({ ratePerSecond, burst, now: clock.now });
      const sendTimes: number[] = [];
      for (let call = 0; call < 300; call += 1) {
        // Callers arrive in clumps and lulls; each sends once its reserved wait is over.
        if (random() < 0.3) clock.advance(Math.floor(random() * 2000));
        sendTimes.push(clock.now() + bucket.take());
      }

      expect(overfullWindow({ sendTimes, ratePerSecond, burst }), `run ${run}`).toBeNull();
      expect(busiestWindow(sendTimes, 1000), `run ${run}`).toBeLessThanOrEqual(ratePerSecond + burst);
    }
  });

  it('sends at the full rate under sustained demand', () => {
    const clock = fakeClock();
    const bucket = new TokenBucket({ ratePerSecond: 14, burst: 1, now: clock.now });
    const sendTimes: number[] = [];
    for (let call = 0; call < 141; call += 1) {
      const wait = bucket.take();
      clock.advance(wait);
      sendTimes.push(clock.now());
    }

    const elapsedSeconds = ((sendTimes.at(-1) ?? 0) - (sendTimes[0] ?? 0)) / 1000;

    // 140 intervals of 1/14 s, each rounded up by under a millisecond.
    expect(elapsedSeconds).toBeGreaterThanOrEqual(10);
    expect(elapsedSeconds).toBeLessThan(10.15);
  });
});

describe('per-instance rate', () => {
  it('divides the account rate among the instances the event source mapping allows', () => {
    expect(perInstanceRate({ accountRate: 14, maxConcurrency: 2 })).toBe(7);
  });

  it('keeps the instances together within the account rate', () => {
    const share = perInstanceRate({ accountRate: 50, maxConcurrency: 3 });

    expect(share * 3).toBeLessThanOrEqual(50);
    expect(share * 3).toBeCloseTo(50);
  });

  it.each([
    { accountRate: 0, maxConcurrency: 2 },
    { accountRate: 14, maxConcurrency: 0 },
    { accountRate: 14, maxConcurrency: 2.5 },
  ])('refuses a configuration that cannot send (%o)', (options) => {
    expect(() => perInstanceRate(options)).toThrow(RangeError);
  });
});
