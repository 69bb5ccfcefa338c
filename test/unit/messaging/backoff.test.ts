// Retry delays for failed deliveries: growing, jittered, whole seconds, and never beyond what SQS allows.
import { describe, expect, it } from 'vitest';
import { MAX_VISIBILITY_TIMEOUT_SECONDS, retryDelaySeconds } from '../../../functions/messaging/backoff.ts';

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

const almostOne = () => 0.999_999;

describe('retry delay', () => {
  it('doubles the longest possible delay with every attempt', () => {
    const ceilings = [1, 2, 3, 4, 5].map((attempt) =>
      retryDelaySeconds({ attempt, baseSeconds: 10, maxSeconds: 10_000, random: almostOne }),
    );

    expect(ceilings).toEqual([10, 20, 40, 80, 160]);
  });

  it('waits at least one second even when the jitter draws zero', () => {
    expect(retryDelaySeconds({ attempt: 3, baseSeconds: 10, maxSeconds: 600, random: () => 0 })).toBe(1);
  });

  it('spreads delays across the whole range (full jitter)', () => {
    const delays = [0.1, 0.5, 0.9].map((draw) =>
      retryDelaySeconds({ attempt: 4, baseSeconds: 10, maxSeconds: 600, random: () => draw }),
    );

    expect(delays).toEqual([8, 40, 72]);
  });

  it('stops growing at maxSeconds', () => {
    expect(retryDelaySeconds({ attempt: 12, baseSeconds: 30, maxSeconds: 900, random: almostOne })).toBe(900);
  });

  it('never exceeds the longest visibility timeout SQS accepts, whatever maxSeconds says', () => {
    expect(
      retryDelaySeconds({ attempt: 40, baseSeconds: 60, maxSeconds: 1_000_000, random: almostOne }),
    ).toBe(MAX_VISIBILITY_TIMEOUT_SECONDS);
  });

  it('survives an attempt count so large the exponent overflows', () => {
    expect(retryDelaySeconds({ attempt: 5000, baseSeconds: 1, maxSeconds: 300, random: almostOne })).toBe(
      300,
    );
  });

  it('stays in range when the random source misbehaves', () => {
    const high = retryDelaySeconds({ attempt: 2, baseSeconds: 5, maxSeconds: 60, random: () => 7 });
    const low = retryDelaySeconds({ attempt: 2, baseSeconds: 5, maxSeconds: 60, random: () => -3 });

    expect([high, low]).toEqual([10, 1]);
  });

  it('always returns whole seconds between 1 and the cap (seeded property test)', () => {
    const random = seededRandom(43_200);
    for (let run = 0; run < 5000; run += 1) {
      const attempt = 1 + Math.floor(random() * 40);
      const baseSeconds = 0.1 + random() * 120;
      const maxSeconds = 1 + Math.floor(random() * 100_000);

      const delay = retryDelaySeconds({ attempt, baseSeconds, maxSeconds, random });

      const cap = Math.max(
        1,
        Math.min(baseSeconds * 2 ** (attempt - 1), maxSeconds, MAX_VISIBILITY_TIMEOUT_SECONDS),
      );
      expect(Number.isInteger(delay), `run ${run}`).toBe(true);
      expect(delay, `run ${run}`).toBeGreaterThanOrEqual(1);
      expect(delay, `run ${run}`).toBeLessThanOrEqual(cap);
    }
  });

  it.each([
    { attempt: 0, baseSeconds: 1, maxSeconds: 60 },
    { attempt: 1.5, baseSeconds: 1, maxSeconds: 60 },
    { attempt: 1, baseSeconds: 0, maxSeconds: 60 },
    { attempt: 1, baseSeconds: 1, maxSeconds: 0 },
  ])('refuses arguments no schedule could honour (%o)', (options) => {
    expect(() => retryDelaySeconds(options)).toThrow(RangeError);
  });
});
