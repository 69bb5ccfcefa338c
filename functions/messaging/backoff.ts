// How long a failed delivery waits before its next attempt: exponential backoff with full jitter, in whole seconds.

/** The longest SQS lets a message stay invisible (ChangeMessageVisibility), so no delay may exceed it. */
export const MAX_VISIBILITY_TIMEOUT_SECONDS = 43_200;

/**
 * A delay drawn uniformly between 1 second and min(base × 2^(attempt−1), maxSeconds, 12 h). Full jitter rather than a
 * fixed schedule so that deliveries which failed together (a receiver's outage) do not all retry together.
 */
export function retryDelaySeconds({
  attempt,
  baseSeconds,
  maxSeconds,
  random = Math.random,
}: {
  /** 1 for the retry after the first failure. */
  readonly attempt: number;
  readonly baseSeconds: number;
  readonly maxSeconds: number;
  /** Uniform in [0, 1). @default Math.random */
  readonly random?: () => number;
}): number {
  if (!(Number.isInteger(attempt) && attempt >= 1))
    throw new RangeError(`attempt must be an integer of at least 1, got ${attempt}`);
  if (!(Number.isFinite(baseSeconds) && baseSeconds > 0))
    throw new RangeError(`baseSeconds must be a positive number, got ${baseSeconds}`);
  if (!(maxSeconds >= 1)) throw new RangeError(`maxSeconds must be at least 1, got ${maxSeconds}`);
  // 2 ** attempt overflows to Infinity for absurd attempts, which the caps absorb.
  const ceiling = Math.floor(
    Math.min(baseSeconds * 2 ** (attempt - 1), maxSeconds, MAX_VISIBILITY_TIMEOUT_SECONDS),
  );
  const drawn = Math.ceil(Math.min(Math.max(random(), 0), 1) * ceiling);
  return Math.min(Math.max(drawn, 1), Math.max(ceiling, 1));
}
