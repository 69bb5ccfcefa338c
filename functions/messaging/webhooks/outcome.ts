// What one webhook attempt means for its delivery: delivered, try again later, or park it in the dead-letter queue.
import { retryDelaySeconds } from '../backoff.ts';

export type AttemptOutcome =
  | { readonly kind: 'delivered' }
  | { readonly kind: 'retry'; readonly delaySeconds: number }
  | { readonly kind: 'park'; readonly reason: string };

export interface RetrySchedule {
  /** Attempts in all, the first included; also the queue's maxReceiveCount. */
  readonly maxAttempts: number;
  readonly baseSeconds: number;
  readonly maxSeconds: number;
}

/** Only 2xx counts: a redirect is not followed, and any other answer or none at all is a failed attempt. */
export function isSuccess(statusCode: number | null): boolean {
  return statusCode !== null && statusCode >= 200 && statusCode < 300;
}

/** How an attempt is described in logs, the delivery record and the parking reason. */
export function describeAttempt(attempt: { statusCode: number | null; error: string | null }): string {
  if (attempt.statusCode !== null) return `HTTP ${attempt.statusCode}`;
  return attempt.error ?? 'no response';
}

export function attemptOutcome(input: {
  readonly statusCode: number | null;
  readonly error: string | null;
  /** 1-based: the queue's ApproximateReceiveCount for this message. */
  readonly attempt: number;
  readonly schedule: RetrySchedule;
  /** A receiver's Retry-After (429, 503) is honoured when it asks for longer than the backoff, up to maxSeconds. */
  readonly retryAfterSeconds?: number | null;
  readonly random?: () => number;
}): AttemptOutcome {
  if (isSuccess(input.statusCode)) return { kind: 'delivered' };
  if (input.attempt >= input.schedule.maxAttempts) {
    return {
      kind: 'park',
      reason: `parked after ${input.attempt} attempts (last: ${describeAttempt(input)})`,
    };
  }
  const backoff = retryDelaySeconds({
    attempt: input.attempt,
    baseSeconds: input.schedule.baseSeconds,
    maxSeconds: input.schedule.maxSeconds,
    ...(input.random ? { random: input.random } : {}),
  });
  const asked = Math.min(input.retryAfterSeconds ?? 0, input.schedule.maxSeconds);
  return { kind: 'retry', delaySeconds: Math.max(backoff, asked) };
}
