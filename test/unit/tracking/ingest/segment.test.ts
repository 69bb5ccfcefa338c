// Parsing Segment HTTP API requests from Segment's and RudderStack's libraries into normalized events.
import { describe, expect, it } from 'vitest';
import {
  derivedMessageId,
  type EventVerdict,
  type ParsedRequest,
  parseSegmentRequest,
  toIsoTime,
} from '../../../../functions/tracking/ingest/segment.ts';
import type { NormalizedEvent } from '../../../../functions/tracking/model.ts';

const LIBRARY = { name: '@segment/analytics-node', version: '3.1.0' };
const METADATA = { nodeVersion: 'v20.20.2', jsRuntime: 'node' };

/** What @segment/analytics-node 3.1.0 POSTed to /v1/batch for identify, track, page, group, alias, screen (captured). */
const SEGMENT_NODE_BATCH = {
  batch: [
    {
      timestamp: '2026-11-22T18:18:16.303Z',
      integrations: {},
      type: 'identify',
      userId: 'user-42',
      traits: { email: 'ada@example.com', plan: 'pro' },
      context: { ip: '203.0.113.7', library: LIBRARY },
      messageId: 'node-next-1795371496303-038b4eac-2a41-49d3-bc36-7052af7a57c2',
      _metadata: METADATA,
    },
    {
      timestamp: '2024-05-01T10:00:00.000Z',
      integrations: {},
      event: 'Order Completed',
      type: 'track',
      properties: { revenue: 99.5, currency: 'EUR' },
      context: { library: LIBRARY },
      userId: 'user-42',
      messageId: 'node-next-1795371496304-4eac2a41-79d3-4c36-b052-af7a57c279ac',
      _metadata: METADATA,
    },
    {
      timestamp: '2026-11-22T18:18:16.304Z',
      integrations: {},
      type: 'page',
      properties: { url: 'https://example.com/pricing?utm_source=news', category: 'Docs' },
      category: 'Docs',
      name: 'Pricing',
      context: { library: LIBRARY },
      anonymousId: 'anon-7',
      messageId: 'node-next-1795371496304-2a4179d3-bc36-4052-af7a-57c279ac7b5f',
      _metadata: METADATA,
    },
    {
      timestamp: '2026-11-22T18:18:16.305Z',
      integrations: {},
      type: 'group',
      traits: { name: 'Acme' },
      groupId: 'acme',
      context: { library: LIBRARY },
      userId: 'user-42',
      messageId: 'node-next-1795371496305-79d3bc36-7052-4f7a-97c2-79ac7b5f3ced',
      _metadata: METADATA,
    },
    {
      timestamp: '2026-11-22T18:18:16.305Z',
      integrations: {},
      userId: 'user-42',
      type: 'alias',
      previousId: 'anon-7',
      context: { library: LIBRARY },
      messageId: 'node-next-1795371496305-bc367052-af7a-47c2-b9ac-7b5f3ceda29b',
      _metadata: METADATA,
    },
    {
      timestamp: '2026-11-22T18:18:16.305Z',
      integrations: {},
      type: 'screen',
      properties: {},
      name: 'Home',
      context: { library: LIBRARY },
      userId: 'user-42',
      messageId: 'node-next-1795371496305-7052af7a-57c2-49ac-bb5f-3ceda29bc3c0',
      _metadata: METADATA,
    },
  ],
  writeKey: 'seg_write_key_123',
  sentAt: '2026-11-22T18:18:16.310Z',
};

const RUDDER_LIBRARY = { name: 'analytics-node', version: '3.0.13' };

/** What @rudderstack/rudder-sdk-node 3.0.13 sent (captured, after gunzip): no writeKey, originalTimestamp. */
const RUDDERSTACK_BATCH = {
  batch: [
    {
      userId: 'user-42',
      event: 'Signed Up',
      properties: { plan: 'pro' },
      type: 'track',
      context: { library: RUDDER_LIBRARY },
      channel: 'server',
      _metadata: { nodeVersion: '20.20.2' },
      originalTimestamp: '2026-11-22T18:18:16.449Z',
      messageId: '41f82bec-ad7c-4f5a-af67-fd486a92d789',
      sentAt: '2026-11-22T18:18:16.463Z',
    },
    {
      anonymousId: 'anon-7',
      name: 'Home',
      properties: { url: 'https://example.com/' },
      type: 'page',
      context: { library: RUDDER_LIBRARY },
      channel: 'server',
      _metadata: { nodeVersion: '20.20.2' },
      originalTimestamp: '2026-11-22T18:18:16.449Z',
      messageId: 'e1122628-50db-4005-a953-f4bf4798073e',
      sentAt: '2026-11-22T18:18:16.463Z',
    },
    {
      userId: 'user-42',
      previousId: 'anon-7',
      type: 'alias',
      context: { library: RUDDER_LIBRARY },
      channel: 'server',
      _metadata: { nodeVersion: '20.20.2' },
      originalTimestamp: '2026-11-22T18:18:16.449Z',
      messageId: '46fb30ac-75ce-485a-8bc8-6257f1012d66',
      sentAt: '2026-11-22T18:18:16.463Z',
    },
  ],
  timestamp: '2026-11-22T18:18:16.463Z',
  sentAt: '2026-11-22T18:18:16.463Z',
};

/** What @segment/analytics-next posts to /v1/t (see its segmentio plugin's normalize): writeKey in the body. */
const ANALYTICS_JS_TRACK = {
  timestamp: '2024-05-01T10:00:00.120Z',
  integrations: {},
  type: 'track',
  event: 'Signed Up',
  properties: { plan: 'pro' },
  context: {
    page: {
      path: '/pricing',
      referrer: 'https://www.google.com/',
      search: '?utm_source=news&utm_medium=email',
      title: 'Pricing',
      url: 'https://example.com/pricing?utm_source=news&utm_medium=email',
    },
    userAgent: 'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36',
    locale: 'en-GB',
    library: { name: 'analytics.js', version: 'next-1.70.0' },
    campaign: { source: 'news', medium: 'email' },
  },
  messageId: 'ajs-next-1714557600120-8f1c2b0e-5b8c-4a7e-9f0a-3d2c1b0a9f8e',
  anonymousId: '5d0a1c4e-7b1f-4f5e-9a1e-2b3c4d5e6f70',
  userId: null,
  writeKey: 'browser_write_key',
  sentAt: '2024-05-01T10:00:00.130Z',
  _metadata: { bundled: ['Segment.io'], unbundled: [], bundledIds: [] },
};

function parsed(
  request: Parameters<typeof parseSegmentRequest>[0],
): Exclude<ParsedRequest, { error: string }> {
  const result = parseSegmentRequest(request);
  if ('error' in result) throw new Error(`unexpected request error: ${result.error}`);
  return result;
}

function accepted(verdict: EventVerdict | undefined): NormalizedEvent {
  if (verdict === undefined || !verdict.ok)
    throw new Error(`expected an accepted event, got ${JSON.stringify(verdict)}`);
  return verdict.event;
}

function rejection(verdict: EventVerdict | undefined): string {
  if (verdict === undefined || verdict.ok)
    throw new Error(`expected a rejected event, got ${JSON.stringify(verdict)}`);
  return verdict.error;
}

/** A one-event batch, to test one field at a time. */
function single(event: Record<string, unknown>): EventVerdict | undefined {
  return parsed({ path: '/v1/batch', body: { batch: [event] } }).events[0];
}

describe('a @segment/analytics-node batch', () => {
  const result = parsed({ path: '/v1/batch', body: SEGMENT_NODE_BATCH });

  it('accepts all six call types and reports the batch write key and sentAt', () => {
    expect(result.events.map((verdict) => verdict.ok)).toEqual([true, true, true, true, true, true]);
    expect(result.batchWriteKey).toBe('seg_write_key_123');
    expect(result.batchSentAt).toBe('2026-11-22T18:18:16.310Z');
  });

  it('normalizes an identify with its traits', () => {
    expect(accepted(result.events[0])).toEqual({
      type: 'identify',
      protocol: 'segment',
      messageId: 'node-next-1795371496303-038b4eac-2a41-49d3-bc36-7052af7a57c2',
      userId: 'user-42',
      traits: { email: 'ada@example.com', plan: 'pro' },
      properties: {},
      context: { ip: '203.0.113.7', library: LIBRARY },
      clientTimestamp: '2026-11-22T18:18:16.303Z',
      sentAt: '2026-11-22T18:18:16.310Z',
      writeKey: 'seg_write_key_123',
    });
  });

  it('normalizes a track with its event name, properties and the client timestamp', () => {
    expect(accepted(result.events[1])).toMatchObject({
      type: 'track',
      event: 'Order Completed',
      properties: { revenue: 99.5, currency: 'EUR' },
      clientTimestamp: '2024-05-01T10:00:00.000Z',
    });
  });

  it('normalizes page, group, alias and screen', () => {
    expect(accepted(result.events[2])).toMatchObject({
      type: 'page',
      name: 'Pricing',
      anonymousId: 'anon-7',
    });
    expect(accepted(result.events[3])).toMatchObject({
      type: 'group',
      groupId: 'acme',
      traits: { name: 'Acme' },
    });
    expect(accepted(result.events[4])).toMatchObject({
      type: 'alias',
      userId: 'user-42',
      previousId: 'anon-7',
    });
    expect(accepted(result.events[5])).toMatchObject({ type: 'screen', name: 'Home' });
  });

  it('keeps unknown top-level fields out of the event', () => {
    const event = accepted(result.events[2]);

    expect(event).not.toHaveProperty('category');
    expect(event).not.toHaveProperty('integrations');
    expect(event).not.toHaveProperty('_metadata');
  });
});

describe('a @rudderstack/rudder-sdk-node batch', () => {
  const result = parsed({ path: '/v1/batch', body: RUDDERSTACK_BATCH });

  it('takes originalTimestamp as the client time and each event its own sentAt', () => {
    expect(accepted(result.events[0])).toEqual({
      type: 'track',
      protocol: 'segment',
      messageId: '41f82bec-ad7c-4f5a-af67-fd486a92d789',
      userId: 'user-42',
      event: 'Signed Up',
      traits: {},
      properties: { plan: 'pro' },
      context: { library: RUDDER_LIBRARY },
      clientTimestamp: '2026-11-22T18:18:16.449Z',
      sentAt: '2026-11-22T18:18:16.463Z',
    });
  });

  it('has no write key in the body: Basic auth carries it', () => {
    expect(result.batchWriteKey).toBeUndefined();
    expect(accepted(result.events[1])).not.toHaveProperty('writeKey');
  });

  it('accepts its page and alias calls', () => {
    expect(accepted(result.events[1])).toMatchObject({ type: 'page', name: 'Home', anonymousId: 'anon-7' });
    expect(accepted(result.events[2])).toMatchObject({
      type: 'alias',
      previousId: 'anon-7',
      userId: 'user-42',
    });
  });

  it('takes identify traits from context.traits when a mobile SDK sends them only there', () => {
    const event = accepted(
      single({ type: 'identify', userId: 'u-1', context: { traits: { email: 'a@b.c' } } }),
    );

    expect(event.traits).toEqual({ email: 'a@b.c' });
  });
});

describe('@segment/analytics-next single-event and batch endpoints', () => {
  it('accepts a /v1/t event with the write key in the body and a null userId', () => {
    const result = parsed({ path: '/v1/t', body: ANALYTICS_JS_TRACK });

    const event = accepted(result.events[0]);
    expect(event).toMatchObject({
      type: 'track',
      event: 'Signed Up',
      anonymousId: '5d0a1c4e-7b1f-4f5e-9a1e-2b3c4d5e6f70',
      writeKey: 'browser_write_key',
      sentAt: '2024-05-01T10:00:00.130Z',
      context: { page: { title: 'Pricing' }, campaign: { source: 'news' } },
    });
    expect(event).not.toHaveProperty('userId');
    expect(result.batchWriteKey).toBe('browser_write_key');
  });

  it('accepts a /v1/b batch, whose events lost their own sentAt', () => {
    const { sentAt: _sentAt, writeKey: _writeKey, ...event } = ANALYTICS_JS_TRACK;

    const result = parsed({
      path: '/v1/b',
      body: { writeKey: 'browser_write_key', batch: [event], sentAt: '2024-05-01T10:00:05.000Z' },
    });

    expect(accepted(result.events[0])).toMatchObject({
      writeKey: 'browser_write_key',
      sentAt: '2024-05-01T10:00:05.000Z',
    });
  });

  it.each([
    ['/v1/i', 'identify'],
    ['/v1/t', 'track'],
    ['/v1/p', 'page'],
    ['/v1/s', 'screen'],
    ['/v1/g', 'group'],
    ['/v1/a', 'alias'],
    ['/v1/identify', 'identify'],
    ['/v1/track', 'track'],
    ['/v1/page', 'page'],
    ['/v1/screen', 'screen'],
    ['/v1/group', 'group'],
    ['/v1/alias', 'alias'],
  ])('takes the type from the path %s when the body has none', (path, type) => {
    const body = { userId: 'u-1', previousId: 'p-1', groupId: 'g-1', event: 'E', messageId: 'm-1' };

    expect(accepted(parsed({ path, body }).events[0]).type).toBe(type);
  });

  it('accepts a body type that repeats the path', () => {
    expect(accepted(parsed({ path: '/v1/p', body: { type: 'page', userId: 'u' } }).events[0]).type).toBe(
      'page',
    );
  });

  it('rejects an event whose type contradicts the path', () => {
    const error = rejection(parsed({ path: '/v1/track', body: { type: 'identify', userId: 'u' } }).events[0]);

    expect(error).toMatch(/contradicts the endpoint/);
  });

  it.each(['/prod/v1/batch', '/v1/batch/', '/v1/batch?x=1', '/v1/BATCH'])(
    'tolerates a stage prefix, a trailing slash or a query string: %s',
    (path) => {
      expect(parsed({ path, body: SEGMENT_NODE_BATCH }).events).toHaveLength(6);
    },
  );
});

describe('requests that can never succeed', () => {
  it.each(['/v1/constructor', '/v1/__proto__', '/v1/pixel', '/v2/batch', '/v1/import', '/'])(
    'refuses the unknown endpoint %s',
    (path) => {
      expect(parseSegmentRequest({ path, body: SEGMENT_NODE_BATCH })).toEqual({
        error: expect.stringMatching(/Unknown tracking endpoint/),
      });
    },
  );

  it.each([
    ['an array', []],
    ['a string', 'batch'],
    ['null', null],
  ])('refuses a body that is %s', (_what, body) => {
    expect(parseSegmentRequest({ path: '/v1/batch', body })).toEqual({
      error: expect.stringMatching(/JSON object/),
    });
  });

  it('refuses a batch that is not an array', () => {
    expect(parseSegmentRequest({ path: '/v1/batch', body: { batch: { type: 'track' } } })).toEqual({
      error: expect.stringMatching(/"batch" array/),
    });
  });

  it('refuses an empty batch', () => {
    expect(parseSegmentRequest({ path: '/v1/batch', body: { batch: [] } })).toEqual({
      error: expect.stringMatching(/empty/),
    });
  });
});

describe('one bad event never costs its siblings', () => {
  it('judges each event of a mixed batch on its own', () => {
    const good = { type: 'track', event: 'Viewed', userId: 'u', messageId: 'm' };

    const result = parsed({
      path: '/v1/batch',
      body: { batch: [good, 42, null, { type: 'track', userId: 'u' }, ['x'], { type: 'nonsense' }, good] },
    });

    expect(result.events.map((verdict) => [verdict.index, verdict.ok])).toEqual([
      [0, true],
      [1, false],
      [2, false],
      [3, false],
      [4, false],
      [5, false],
      [6, true],
    ]);
  });

  it('rejects an event above 32 KiB of JSON and keeps the one next to it', () => {
    const big = { type: 'track', event: 'Big', userId: 'u', properties: { blob: 'x'.repeat(33 * 1024) } };
    const small = { type: 'track', event: 'Small', userId: 'u' };

    const result = parsed({ path: '/v1/batch', body: { batch: [big, small] } });

    expect(rejection(result.events[0])).toMatch(/the limit is 32768 bytes/);
    expect(accepted(result.events[1]).event).toBe('Small');
  });

  it('accepts an event of exactly 32 KiB', () => {
    const event = { type: 'track', event: 'Edge', userId: 'u', properties: { blob: '' } };
    const padding = 32 * 1024 - JSON.stringify(event).length;

    const verdict = single({ ...event, properties: { blob: 'x'.repeat(padding) } });

    expect(verdict?.ok).toBe(true);
  });
});

describe('validating each call type', () => {
  it.each([
    ['a track without event', { type: 'track', userId: 'u' }, /event is required/],
    ['a track with an empty event', { type: 'track', userId: 'u', event: '  ' }, /event must not be empty/],
    ['a track whose event is a number', { type: 'track', userId: 'u', event: 5 }, /event must be a string/],
    ['an alias without previousId', { type: 'alias', userId: 'u' }, /previousId is required/],
    ['an alias without userId', { type: 'alias', previousId: 'p' }, /userId is required/],
    ['a group without groupId', { type: 'group', userId: 'u' }, /groupId is required/],
    ['an identify without any id', { type: 'identify', traits: {} }, /userId or anonymousId is required/],
    [
      'a page with empty ids',
      { type: 'page', userId: '', anonymousId: null },
      /userId or anonymousId is required/,
    ],
    [
      'properties that are an array',
      { type: 'track', userId: 'u', event: 'E', properties: [1] },
      /properties must be an object/,
    ],
    [
      'properties that are a string',
      { type: 'track', userId: 'u', event: 'E', properties: 'x' },
      /properties must be an object/,
    ],
    ['traits that are a number', { type: 'identify', userId: 'u', traits: 1 }, /traits must be an object/],
    ['context that is a string', { type: 'page', userId: 'u', context: 'web' }, /context must be an object/],
    [
      'a userId that is an object',
      { type: 'identify', userId: { id: 1 } },
      /userId must be a string or a number/,
    ],
    [
      'an anonymousId that is a boolean',
      { type: 'page', anonymousId: true },
      /anonymousId must be a string or a number/,
    ],
    [
      'a messageId that is an object',
      { type: 'page', userId: 'u', messageId: {} },
      /messageId must be a string or a number/,
    ],
    ['a name that is a number', { type: 'page', userId: 'u', name: 3 }, /name must be a string/],
    [
      'a timestamp that is not a date',
      { type: 'page', userId: 'u', timestamp: 'yesterday' },
      /timestamp must be an ISO 8601/,
    ],
    [
      'a timestamp on 31 February',
      { type: 'page', userId: 'u', timestamp: '2024-02-31T10:00:00Z' },
      /timestamp/,
    ],
    [
      'a timestamp that is an object',
      { type: 'page', userId: 'u', timestamp: {} },
      /timestamp must be an ISO 8601/,
    ],
    ['an id beyond 256 characters', { type: 'page', userId: 'u'.repeat(257) }, /userId must be at most 256/],
    ['an unknown type', { type: 'purchase', userId: 'u' }, /type must be one of/],
    ['no type on /v1/batch', { userId: 'u' }, /type is required/],
  ])('rejects %s with a reason', (_what, event, reason) => {
    expect(rejection(single(event))).toMatch(reason);
  });

  it('coerces numeric ids to strings, as Segment libraries do', () => {
    const event = accepted(single({ type: 'group', userId: 42, groupId: 7, messageId: 1001 }));

    expect(event).toMatchObject({ userId: '42', groupId: '7', messageId: '1001' });
  });

  it('treats null properties, traits and context as empty', () => {
    const event = accepted(
      single({ type: 'track', event: 'E', userId: 'u', properties: null, context: null }),
    );

    expect(event).toMatchObject({ properties: {}, traits: {}, context: {} });
  });

  it('accepts the type in any case', () => {
    expect(accepted(single({ type: 'Track', event: 'E', userId: 'u' })).type).toBe('track');
  });

  it('ignores an unreadable sentAt instead of rejecting the event: it only corrects clock skew', () => {
    const event = accepted(single({ type: 'page', userId: 'u', sentAt: 'soon' }));

    expect(event).not.toHaveProperty('sentAt');
  });

  it('applies batch-level context to every event, the event keys winning', () => {
    const result = parsed({
      path: '/v1/batch',
      body: {
        context: { ip: '198.51.100.1', library: { name: 'curl' } },
        batch: [{ type: 'page', userId: 'u', context: { ip: '203.0.113.9' } }],
      },
    });

    expect(accepted(result.events[0]).context).toEqual({ ip: '203.0.113.9', library: { name: 'curl' } });
  });

  it('drops prototype-polluting keys from a body handed over without decodeBody', () => {
    const body: unknown = JSON.parse(
      '{"batch":[{"type":"track","event":"E","userId":"u","properties":{"__proto__":{"polluted":1},"a":1}}]}',
    );

    const event = accepted(parsed({ path: '/v1/batch', body }).events[0]);

    expect(event.properties).toEqual({ a: 1 });
    expect(Object.prototype).not.toHaveProperty('polluted');
  });
});

describe('event times', () => {
  it.each([
    ['ISO with milliseconds and Z', '2024-05-01T10:00:00.123Z', '2024-05-01T10:00:00.123Z'],
    ['Python isoformat with microseconds', '2024-05-01T12:00:00.123456+02:00', '2024-05-01T10:00:00.123Z'],
    ['Go RFC 3339 with nanoseconds', '2024-05-01T10:00:00.123456789Z', '2024-05-01T10:00:00.123Z'],
    ['PHP date("c")', '2024-05-01T10:00:00+00:00', '2024-05-01T10:00:00.000Z'],
    ['an offset without colon', '2024-05-01T05:00:00-0500', '2024-05-01T10:00:00.000Z'],
    ['no zone, read as UTC', '2024-05-01T10:00:00', '2024-05-01T10:00:00.000Z'],
    ['a space instead of T', '2024-05-01 10:00:00Z', '2024-05-01T10:00:00.000Z'],
    ['a date alone', '2024-05-01', '2024-05-01T00:00:00.000Z'],
    ['epoch milliseconds', 1714557600123, '2024-05-01T10:00:00.123Z'],
    ['epoch milliseconds as text', '1714557600123', '2024-05-01T10:00:00.123Z'],
    ['epoch seconds, too small to be milliseconds', 1714557600, '2024-05-01T10:00:00.000Z'],
  ])('reads %s', (_what, input, expected) => {
    expect(toIsoTime(input)).toBe(expected);
  });

  it.each([['tomorrow'], ['2024-13-01T00:00:00Z'], ['2024-05-01T25:00:00Z'], [''], [null], [{}], [true]])(
    'refuses %j',
    (input) => {
      expect(toIsoTime(input)).toBeUndefined();
    },
  );
});

describe('messageIds for clients that send none', () => {
  const event = { type: 'track', event: 'Clicked', userId: 'u', timestamp: '2024-05-01T10:00:00Z' };

  it('derives the same id when the request is retried with a new sentAt, metadata and write key', () => {
    const first = accepted(
      parsed({ path: '/v1/batch', body: { batch: [{ ...event, sentAt: '2024-05-01T10:00:01Z' }] } })
        .events[0],
    );
    const retry = accepted(
      parsed({
        path: '/v1/batch',
        body: {
          batch: [{ ...event, sentAt: '2024-05-01T10:05:00Z', _metadata: { retryCount: 1 }, writeKey: 'k' }],
        },
      }).events[0],
    );

    expect(first.messageId).toMatch(/^derived-[0-9a-f]{32}$/);
    expect(retry.messageId).toBe(first.messageId);
  });

  it('derives the same id whatever the key order', () => {
    const reordered = { timestamp: event.timestamp, userId: 'u', event: 'Clicked', type: 'track' };

    expect(accepted(single(reordered)).messageId).toBe(accepted(single(event)).messageId);
  });

  it('derives the same id on /v1/track without type as in a batch with type track', () => {
    const { type: _type, ...untyped } = event;

    expect(accepted(parsed({ path: '/v1/track', body: untyped }).events[0]).messageId).toBe(
      accepted(single(event)).messageId,
    );
  });

  it('derives different ids for different events', () => {
    expect(derivedMessageId({ ...event, event: 'Other' }, 'track')).not.toBe(
      derivedMessageId(event, 'track'),
    );
  });

  it("keeps the client's own messageId", () => {
    expect(accepted(single({ ...event, messageId: 'mine' })).messageId).toBe('mine');
  });
});

describe('robustness (seeded property test)', () => {
  /** mulberry32: a tiny deterministic PRNG, so a failure replays exactly. */
  function random(seed: number): () => number {
    let state = seed >>> 0;
    return () => {
      state = (state + 0x6d2b79f5) >>> 0;
      let t = state;
      t = Math.imul(t ^ (t >>> 15), t | 1);
      t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
  }

  const KEYS = [
    'type',
    'event',
    'userId',
    'anonymousId',
    'messageId',
    'timestamp',
    'originalTimestamp',
    'sentAt',
    'properties',
    'traits',
    'context',
    'groupId',
    'previousId',
    'name',
    'writeKey',
    'batch',
    '__proto__',
    'constructor',
    'x',
  ];
  const STRINGS = [
    '',
    'track',
    'identify',
    'page',
    'alias',
    'group',
    'screen',
    'u-1',
    '2024-05-01T10:00:00Z',
    '1714557600000',
    'not a date',
    '\u0000',
    '💥',
  ];

  function value(next: () => number, depth: number): unknown {
    const pick = Math.floor(next() * (depth > 3 ? 5 : 8));
    switch (pick) {
      case 0:
        return null;
      case 1:
        return next() < 0.5;
      case 2:
        return next() < 0.5 ? Math.floor(next() * 2e12) : (next() - 0.5) * 1e300;
      case 3:
      case 4:
        return STRINGS[Math.floor(next() * STRINGS.length)];
      case 5:
        return Array.from({ length: Math.floor(next() * 4) }, () => value(next, depth + 1));
      default: {
        const object: Record<string, unknown> = {};
        const size = Math.floor(next() * 6);
        for (let i = 0; i < size; i++) {
          // defineProperty makes even `__proto__` an own key, as JSON.parse does.
          Object.defineProperty(object, KEYS[Math.floor(next() * KEYS.length)] ?? 'x', {
            value: value(next, depth + 1),
            enumerable: true,
            configurable: true,
            writable: true,
          });
        }
        return object;
      }
    }
  }

  const PATHS = ['/v1/batch', '/v1/b', '/v1/t', '/v1/identify', '/v1/a', '/v1/g', '/v1/p', '/v1/nope'];

  it('never throws on random JSON values and judges every batch item exactly once', () => {
    const next = random(20240501);
    const seen = { accepted: 0, rejected: 0, refused: 0 };
    for (let run = 0; run < 3000; run++) {
      const path = PATHS[run % PATHS.length] ?? '/v1/batch';
      const inner = value(next, 0);
      const body = run % 3 === 0 ? { batch: Array.isArray(inner) ? inner : [inner, value(next, 1)] } : inner;

      const result = parseSegmentRequest({ path, body });

      if (!('error' in result)) {
        const isBatchPath = path.endsWith('/batch') || path.endsWith('/b');
        const items = typeof body === 'object' && body !== null && 'batch' in body ? body.batch : undefined;
        const expected = isBatchPath && Array.isArray(items) ? items.length : 1;
        expect(result.events.map((verdict) => verdict.index)).toEqual([...Array(expected).keys()]);
        for (const verdict of result.events) seen[verdict.ok ? 'accepted' : 'rejected']++;
      } else {
        seen.refused++;
      }
    }
    // The generator reaches every outcome, so the property is not vacuous.
    expect(seen.accepted).toBeGreaterThan(0);
    expect(seen.rejected).toBeGreaterThan(0);
    expect(seen.refused).toBeGreaterThan(0);
    expect(Object.prototype).not.toHaveProperty('polluted');
  });
});
