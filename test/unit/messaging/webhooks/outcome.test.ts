// What one attempt means: 2xx delivers; anything else retries with backoff until the last attempt parks it.
import { describe, expect, it } from 'vitest';
import { attemptOutcome, isSuccess } from '../../../../functions/messaging/webhooks/outcome.ts';

const schedule = { maxAttempts: 8, baseSeconds: 30, maxSeconds: 3600 };
const highest = () => 0.999_999;

describe('classifying an attempt', () => {
  it.each([200, 201, 202, 204, 299])('counts HTTP %i as delivered', (statusCode) => {
    expect(attemptOutcome({ statusCode, error: null, attempt: 1, schedule })).toEqual({ kind: 'delivered' });
  });

  it('counts a success on the last attempt as delivered, not parked', () => {
    expect(attemptOutcome({ statusCode: 200, error: null, attempt: 8, schedule })).toEqual({
      kind: 'delivered',
    });
  });

  it.each([
    [301, null],
    [302, null],
    [400, null],
    [410, null],
    [429, null],
    [500, null],
    [503, null],
    [null, 'ECONNREFUSED'],
    [null, 'no response within 10 s'],
  ])(
    'retries after HTTP %s / %s: redirects are not followed and any failure may be temporary',
    (statusCode, error) => {
      const outcome = attemptOutcome({ statusCode, error, attempt: 1, schedule });

      expect(outcome.kind).toBe('retry');
      expect(isSuccess(statusCode)).toBe(false);
    },
  );

  it('waits at most twice as long after each failure, up to the maximum', () => {
    const ceilings = [1, 2, 3, 4, 5, 6, 7].map((attempt) => {
      const outcome = attemptOutcome({ statusCode: 500, error: null, attempt, schedule, random: highest });
      return outcome.kind === 'retry' ? outcome.delaySeconds : -1;
    });

    expect(ceilings).toEqual([30, 60, 120, 240, 480, 960, 1920]);
  });

  it('parks the delivery when the last attempt fails, saying how often it tried and what came back', () => {
    expect(attemptOutcome({ statusCode: 503, error: null, attempt: 8, schedule })).toEqual({
      kind: 'park',
      reason: 'parked after 8 attempts (last: HTTP 503)',
    });
    expect(attemptOutcome({ statusCode: null, error: 'ETIMEDOUT', attempt: 9, schedule })).toEqual({
      kind: 'park',
      reason: 'parked after 9 attempts (last: ETIMEDOUT)',
    });
  });

  it("honours a receiver's Retry-After when it asks for longer than the backoff, but never beyond the maximum", () => {
    const longer = attemptOutcome({
      statusCode: 429,
      error: null,
      attempt: 1,
      schedule,
      retryAfterSeconds: 600,
    });
    const excessive = attemptOutcome({
      statusCode: 503,
      error: null,
      attempt: 1,
      schedule,
      retryAfterSeconds: 86_400,
    });
    const shorter = attemptOutcome({
      statusCode: 429,
      error: null,
      attempt: 3,
      schedule,
      retryAfterSeconds: 1,
      random: highest,
    });

    expect(longer).toEqual({ kind: 'retry', delaySeconds: 600 });
    expect(excessive).toEqual({ kind: 'retry', delaySeconds: 3600 });
    expect(shorter).toEqual({ kind: 'retry', delaySeconds: 120 });
  });
});
