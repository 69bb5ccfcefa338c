// Per-source rate limits: the token bucket, and what the tracking API answers when a source is over its limit.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Collector, type CollectPorts, type CollectRequest } from '../../../functions/tracking/collect.ts';
import type { IngestResult } from '../../../functions/tracking/ingest-service.ts';
import type { EnrichedEvent } from '../../../functions/tracking/model.ts';
import {
  type RateLimit,
  rateLimitSchema,
  SourceRateLimiter,
  TokenBucket,
} from '../../../functions/tracking/source-rate-limit.ts';

const T0 = 1_717_416_000_000;

describe('the token bucket of a source', () => {
  const limit: RateLimit = { eventsPerSecond: 10, burst: 20 };

  it('admits a burst up to its size at once', () => {
    const bucket = new TokenBucket(limit, T0);

    expect(bucket.take(20, T0)).toEqual({ admitted: true });
  });

  it('refuses the event after the burst and says when to retry', () => {
    const bucket = new TokenBucket(limit, T0);
    bucket.take(20, T0);

    expect(bucket.take(1, T0)).toEqual({ admitted: false, retryAfterSeconds: 1 });
  });

  it('refills at its rate: a second later ten more events go through, not eleven', () => {
    const bucket = new TokenBucket(limit, T0);
    bucket.take(20, T0);

    expect(bucket.take(10, T0 + 1000)).toEqual({ admitted: true });
    expect(bucket.take(1, T0 + 1000).admitted).toBe(false);
  });

  it('never holds more than its burst after a long quiet spell', () => {
    const bucket = new TokenBucket(limit, T0);

    expect(bucket.take(20, T0 + 3_600_000)).toEqual({ admitted: true });
    expect(bucket.take(1, T0 + 3_600_000).admitted).toBe(false);
  });

  it('admits a batch larger than the whole bucket when the bucket is full, so a retry can succeed', () => {
    const bucket = new TokenBucket(limit, T0);

    expect(bucket.take(50, T0)).toEqual({ admitted: true });
  });

  it('makes the source wait off a batch larger than the bucket before the next event', () => {
    const bucket = new TokenBucket(limit, T0);
    bucket.take(50, T0);

    // 50 taken from 20: 30 in debt, plus one event, at 10 per second.
    expect(bucket.take(1, T0)).toEqual({ admitted: false, retryAfterSeconds: 4 });
    expect(bucket.take(1, T0 + 3100)).toEqual({ admitted: true });
  });

  it('never admits more than burst + rate × elapsed events over any run of requests', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.record({ gapMs: fc.integer({ min: 0, max: 2000 }), events: fc.integer({ min: 1, max: 20 }) }),
          {
            maxLength: 60,
          },
        ),
        (requests) => {
          const bucket = new TokenBucket(limit, T0);
          let now = T0;
          let admitted = 0;
          for (const request of requests) {
            now += request.gapMs;
            if (bucket.take(request.events, now).admitted) admitted += request.events;
          }
          return admitted <= limit.burst + ((now - T0) / 1000) * limit.eventsPerSecond;
        },
      ),
    );
  });
});

describe('rate limits per source', () => {
  const tight: RateLimit = { eventsPerSecond: 1, burst: 2 };

  it('limits one source without slowing another down', () => {
    const limiter = new SourceRateLimiter();
    for (let i = 0; i < 2; i++) limiter.admit({ sourceId: 'src_noisy', limit: tight, events: 1, nowMs: T0 });

    expect(limiter.admit({ sourceId: 'src_noisy', limit: tight, events: 1, nowMs: T0 }).admitted).toBe(false);
    expect(limiter.admit({ sourceId: 'src_quiet', limit: tight, events: 1, nowMs: T0 }).admitted).toBe(true);
  });

  it('never limits a source without a limit', () => {
    const limiter = new SourceRateLimiter();

    for (let i = 0; i < 1000; i++) {
      expect(limiter.admit({ sourceId: 'src_free', limit: undefined, events: 100, nowMs: T0 }).admitted).toBe(
        true,
      );
    }
  });

  it('applies a raised limit at once instead of keeping the old bucket', () => {
    const limiter = new SourceRateLimiter();
    limiter.admit({ sourceId: 'src_shop', limit: tight, events: 2, nowMs: T0 });

    const raised = { eventsPerSecond: 100, burst: 200 };

    expect(limiter.admit({ sourceId: 'src_shop', limit: raised, events: 50, nowMs: T0 }).admitted).toBe(true);
  });
});

describe('a rate limit as the admin API accepts it', () => {
  it('accepts a rate with a burst at least as large', () => {
    expect(rateLimitSchema.safeParse({ eventsPerSecond: 0.5, burst: 5 }).success).toBe(true);
  });

  it.each([
    ['a burst below the rate', { eventsPerSecond: 10, burst: 5 }],
    ['a zero rate', { eventsPerSecond: 0, burst: 5 }],
    ['a fractional burst', { eventsPerSecond: 1, burst: 2.5 }],
  ])('refuses %s', (_what, limit) => {
    expect(rateLimitSchema.safeParse(limit).success).toBe(false);
  });
});

/** Ports where `src_limited` (key wk_limited_0123456789) is over its limit and `src_open` (wk_open_0123456789) is not. */
class LimitedPorts implements CollectPorts {
  readonly ingested: EnrichedEvent[] = [];
  readonly counted: Array<{ sourceId: string; rejected: number; rateLimited?: number }> = [];

  async sourceForWriteKey(writeKey: string): Promise<string | undefined> {
    return { wk_limited_0123456789: 'src_limited', wk_open_0123456789: 'src_open' }[writeKey];
  }

  async ingest(events: readonly EnrichedEvent[]): Promise<IngestResult> {
    this.ingested.push(...events);
    return { accepted: events.length, duplicates: 0, bots: 0, consentWithheld: 0, merges: [] };
  }

  async countRejected(counts: { sourceId: string; rejected: number; rateLimited?: number }) {
    this.counted.push(counts);
  }

  async admit({ sourceId }: { sourceId: string }) {
    return sourceId === 'src_limited'
      ? { admitted: false as const, retryAfterSeconds: 3 }
      : { admitted: true as const };
  }
}

function request(input: { method: string; path: string; query?: Record<string, string>; body?: unknown }) {
  return {
    method: input.method,
    path: input.path,
    headers: { 'content-type': 'application/json' },
    query: input.query ?? {},
    body: input.body === undefined ? undefined : JSON.stringify(input.body),
    isBase64Encoded: false,
    receivedAt: new Date(T0),
    requestId: 'req-1',
  } satisfies CollectRequest;
}

const track = (writeKey: string) => ({ writeKey, userId: 'user-42', event: 'Signed Up', messageId: 'm-1' });

describe('the tracking API over a source rate limit', () => {
  it('answers 429 with Retry-After and stores nothing, so the client retries the whole request', async () => {
    const ports = new LimitedPorts();

    const response = await new Collector(ports).handle(
      request({ method: 'POST', path: '/v1/track', body: track('wk_limited_0123456789') }),
    );

    expect(response.status).toBe(429);
    expect(response.headers['retry-after']).toBe('3');
    expect(ports.ingested).toEqual([]);
  });

  it('stores the events of a source under its limit', async () => {
    const ports = new LimitedPorts();

    const response = await new Collector(ports).handle(
      request({ method: 'POST', path: '/v1/track', body: track('wk_open_0123456789') }),
    );

    expect(response.status).toBe(200);
    expect(ports.ingested).toHaveLength(1);
  });

  it('still answers a pixel with the GIF, and counts the dropped event on the source', async () => {
    const ports = new LimitedPorts();
    const data = Buffer.from(JSON.stringify(track('wk_limited_0123456789'))).toString('base64');

    const response = await new Collector(ports).handle(
      request({ method: 'GET', path: '/v1/pixel/track', query: { data } }),
    );

    expect(response).toMatchObject({ status: 200, headers: { 'content-type': 'image/gif' } });
    expect(ports.ingested).toEqual([]);
    expect(ports.counted).toEqual([{ sourceId: 'src_limited', rejected: 0, rateLimited: 1 }]);
  });
});
