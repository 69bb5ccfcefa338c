// Per-source rate limits on the tracking API: a token bucket per source, held in each collect function instance.
//
// Why in memory and not a DynamoDB counter: a global counter costs a write per request and turns every busy source
// into one hot item, against the collect path's budget (≤ 2 write units per event) and DESIGN's "hot keys are
// sharded". The price is that the limit holds per instance: N warm instances admit up to N × the limit. The stage
// throttle of API Gateway is the global ceiling; this bucket stops one source (a leaked write key, a runaway client)
// from taking an instance's whole capacity. README "Security" explains the trade-off to operators.
import * as z from 'zod';

export interface RateLimit {
  /** Events refilled per second. */
  readonly eventsPerSecond: number;
  /** Bucket size: how many events may arrive at once after a quiet spell. */
  readonly burst: number;
}

export const rateLimitSchema = z
  .object({
    eventsPerSecond: z.number().positive().max(100_000),
    burst: z.number().int().positive().max(1_000_000),
  })
  .refine((limit) => limit.burst >= limit.eventsPerSecond, {
    message: 'burst must be at least eventsPerSecond',
    path: ['burst'],
  }) satisfies z.ZodType<RateLimit>;

export type Admission =
  | { readonly admitted: true }
  | { readonly admitted: false; readonly retryAfterSeconds: number };

/**
 * A token bucket. A request of `events` is admitted when the bucket holds that many tokens, or is full when the
 * request is larger than the whole bucket: a batch bigger than the burst must not be refused forever (clients retry
 * a 429 with the same batch). The tokens then go negative, and the source waits the debt off.
 */
export class TokenBucket {
  private tokens: number;
  private updatedAt: number;

  constructor(
    readonly limit: RateLimit,
    nowMs: number,
  ) {
    this.tokens = limit.burst;
    this.updatedAt = nowMs;
  }

  take(events: number, nowMs: number): Admission {
    const elapsedSeconds = Math.max(0, nowMs - this.updatedAt) / 1000;
    this.tokens = Math.min(this.limit.burst, this.tokens + elapsedSeconds * this.limit.eventsPerSecond);
    this.updatedAt = Math.max(this.updatedAt, nowMs);
    const needed = Math.min(events, this.limit.burst);
    if (this.tokens >= needed) {
      this.tokens -= events;
      return { admitted: true };
    }
    return {
      admitted: false,
      retryAfterSeconds: Math.max(1, Math.ceil((needed - this.tokens) / this.limit.eventsPerSecond)),
    };
  }
}

/** Beyond this many sources in one instance the buckets start over, so memory stays bounded. */
const MAX_BUCKETS = 10_000;

/** One bucket per source; a changed limit (PATCH /admin/sources/{id}) starts a new, full bucket. */
export class SourceRateLimiter {
  private readonly buckets = new Map<string, TokenBucket>();

  admit(input: {
    readonly sourceId: string;
    /** Undefined: the source is not limited. */
    readonly limit: RateLimit | undefined;
    readonly events: number;
    readonly nowMs: number;
  }): Admission {
    if (input.limit === undefined || input.events <= 0) return { admitted: true };
    let bucket = this.buckets.get(input.sourceId);
    if (
      bucket === undefined ||
      bucket.limit.eventsPerSecond !== input.limit.eventsPerSecond ||
      bucket.limit.burst !== input.limit.burst
    ) {
      if (this.buckets.size >= MAX_BUCKETS) this.buckets.clear();
      bucket = new TokenBucket(input.limit, input.nowMs);
      this.buckets.set(input.sourceId, bucket);
    }
    return bucket.take(input.events, input.nowMs);
  }
}
