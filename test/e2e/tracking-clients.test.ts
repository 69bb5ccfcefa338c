import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import http from 'node:http';
import { join } from 'node:path';
import { buffer } from 'node:stream/consumers';
import RudderAnalytics from '@rudderstack/rudder-sdk-node';
import { Analytics } from '@segment/analytics-node';
import { buildPageView, buildStructEvent, newTracker } from '@snowplow/node-tracker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { closeServer } from '../../lib/local/json-protocol.ts';
import { type LocalStackProcess, startLocalStackProcess } from './support/local-stack-process.ts';

const Profile = z.object({
  id: z.string(),
  userId: z.string().nullable(),
  anonymousIds: z.array(z.string()),
  emails: z.array(z.string()),
  traits: z.record(z.string(), z.unknown()),
  counters: z.object({ events: z.number(), pageViews: z.number(), sessions: z.number() }),
  mergedFrom: z.array(z.string()),
});
type Profile = z.infer<typeof Profile>;

const ProfileEvents = z.object({
  profileId: z.string(),
  events: z.array(
    z.object({
      messageId: z.string(),
      type: z.string(),
      event: z.string().nullable(),
      properties: z.record(z.string(), z.unknown()),
      traits: z.record(z.string(), z.unknown()),
    }),
  ),
});

/** What the tracking API answers to a POST. */
const CollectAnswer = z.object({
  success: z.boolean(),
  accepted: z.number(),
  duplicates: z.number(),
  rejected: z.number(),
  errors: z.array(z.object({ index: z.number(), error: z.string() })),
});

const BusEvent = z.object({ 'detail-type': z.string(), detail: z.record(z.string(), z.unknown()) });

interface ProxiedRequest {
  readonly method: string;
  readonly url: string;
  readonly headers: http.IncomingHttpHeaders;
  readonly body: Buffer;
  readonly upstreamStatus: number;
  readonly upstreamBody: string;
  readonly answeredStatus: number;
}

const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'transfer-encoding']);

/**
 * A reverse proxy in front of the API that records every request it forwards, byte for byte. It can answer 503 to
 * the first request matching a rule after forwarding it, as a load balancer timing out on a slow backend would:
 * the events are stored, but the client hears a failure and retries.
 */
class RecordingProxy {
  readonly requests: ProxiedRequest[] = [];
  private refuseFirst: ((request: http.IncomingMessage) => boolean) | undefined;
  private server: http.Server | undefined;
  url = '';

  constructor(private readonly target: string) {}

  async start(): Promise<void> {
    const server = http.createServer((request, response) => void this.forward(request, response));
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const address = server.address();
    if (address === null || typeof address === 'string') throw new Error('the proxy has no port');
    this.server = server;
    this.url = `http://127.0.0.1:${address.port}`;
  }

  stop(): Promise<void> {
    return this.server ? closeServer(this.server) : Promise.resolve();
  }

  /** The next request matching `rule` is forwarded, and its client gets a 503 whatever the API answered. */
  refuseFirstMatching(rule: (request: http.IncomingMessage) => boolean): void {
    this.refuseFirst = rule;
  }

  private async forward(request: http.IncomingMessage, response: http.ServerResponse): Promise<void> {
    const body = await buffer(request);
    const target = new URL(request.url ?? '/', this.target);
    const upstream = await new Promise<http.IncomingMessage>((resolve, reject) => {
      const outgoing = http.request(target, {
        method: request.method,
        headers: { ...request.headers, host: target.host },
      });
      outgoing.on('response', resolve);
      outgoing.on('error', reject);
      outgoing.end(body);
    });
    const upstreamBody = await buffer(upstream);
    const refuse = this.refuseFirst?.(request) === true;
    if (refuse) this.refuseFirst = undefined;
    const answeredStatus = refuse ? 503 : (upstream.statusCode ?? 502);
    this.requests.push({
      method: request.method ?? 'GET',
      url: request.url ?? '/',
      headers: request.headers,
      body,
      upstreamStatus: upstream.statusCode ?? 0,
      upstreamBody: upstreamBody.toString('utf8'),
      answeredStatus,
    });
    if (refuse) {
      response
        .writeHead(503, { 'content-type': 'application/json' })
        .end('{"message":"Service Unavailable"}');
      return;
    }
    const headers = Object.fromEntries(
      Object.entries(upstream.headers).filter(([name]) => !HOP_BY_HOP.has(name.toLowerCase())),
    );
    response.writeHead(answeredStatus, headers).end(upstreamBody);
  }
}

let stack: LocalStackProcess;
let apiUrl: string;
let writeKey: string;

beforeAll(async () => {
  stack = await startLocalStackProcess({ args: ['--fresh'] });
  ({ apiUrl, writeKey } = stack.local);
});

afterAll(async () => {
  await stack?.dispose();
});

async function admin(path: string): Promise<{ status: number; text: string }> {
  const response = await fetch(`${apiUrl}${path}`, {
    headers: { authorization: `Bearer ${stack.local.adminToken}` },
  });
  return { status: response.status, text: await response.text() };
}

async function profileBy(kind: 'userId' | 'anonymousId' | 'email', value: string): Promise<Profile> {
  const { status, text } = await admin(`/admin/profiles?${kind}=${encodeURIComponent(value)}`);
  if (status !== 200) throw new Error(`GET /admin/profiles?${kind}=${value} answered ${status}: ${text}`);
  return Profile.parse(JSON.parse(text));
}

async function eventsOf(profileId: string): Promise<z.infer<typeof ProfileEvents>['events']> {
  const { status, text } = await admin(`/admin/profiles/${encodeURIComponent(profileId)}/events?limit=1000`);
  if (status !== 200) throw new Error(`GET /admin/profiles/${profileId}/events answered ${status}: ${text}`);
  return ProfileEvents.parse(JSON.parse(text)).events;
}

function basicAuth(key: string): string {
  return `Basic ${Buffer.from(`${key}:`).toString('base64')}`;
}

/** A raw POST to the tracking API, authenticated with the local write key unless told otherwise. */
async function post(
  path: string,
  body: string,
  key: string = writeKey,
): Promise<{ status: number; text: string }> {
  const response = await fetch(`${apiUrl}${path}`, {
    method: 'POST',
    headers: { authorization: basicAuth(key), 'content-type': 'application/json' },
    body,
  });
  return { status: response.status, text: await response.text() };
}

/** An analytics-node client that records every delivery failure it reports. */
function segmentClient(host: string, settings: { flushAt?: number } = {}) {
  const client = new Analytics({
    writeKey,
    host,
    flushAt: settings.flushAt ?? 1,
    flushInterval: 100,
    maxRetries: 3,
  });
  const failures: unknown[] = [];
  client.on('error', (error) => failures.push(error));
  return { client, failures };
}

function uniqueIds() {
  const id = randomUUID();
  return { userId: `user-${id}`, email: `e2e-${id}@example.com` };
}

describe('@segment/analytics-node', () => {
  it('builds one known profile from identify, track, page, group and alias, merging the anonymous visits before them', async () => {
    const { userId, email } = uniqueIds();
    const browsingAnonymousId = randomUUID();
    const aliasedAnonymousId = randomUUID();
    // One batch for the five known calls, as analytics-node sends them by default (parallel requests: see below).
    const { client, failures } = segmentClient(apiUrl, { flushAt: 5 });

    client.page({ anonymousId: browsingAnonymousId, name: 'Pricing', properties: { path: '/pricing' } });
    client.track({ anonymousId: aliasedAnonymousId, event: 'Viewed Docs' });
    await client.flush();
    const anonymousBefore = await profileBy('anonymousId', browsingAnonymousId);
    const aliasedBefore = await profileBy('anonymousId', aliasedAnonymousId);

    client.identify({
      userId,
      anonymousId: browsingAnonymousId,
      traits: { email, plan: 'pro', name: 'Ada' },
    });
    client.track({ userId, event: 'Signed Up', properties: { plan: 'pro' } });
    client.page({ userId, name: 'Dashboard', properties: { path: '/dashboard' } });
    client.group({ userId, groupId: 'acme', traits: { name: 'Acme' } });
    client.alias({ previousId: aliasedAnonymousId, userId });
    await client.closeAndFlush();

    expect(failures).toEqual([]);
    expect(anonymousBefore).toMatchObject({ userId: null, counters: { events: 1, pageViews: 1 } });
    const profile = await profileBy('userId', userId);
    expect(profile).toMatchObject({
      userId,
      emails: [email],
      traits: { email, plan: 'pro', name: 'Ada' },
      counters: { events: 7, pageViews: 2 },
    });
    expect([...profile.anonymousIds].sort()).toEqual([browsingAnonymousId, aliasedAnonymousId].sort());
    // Two anonymous profiles with history became one known profile: one of them may live on as the known profile
    // (a first identify can claim it), the rest were merged into it.
    expect(profile.mergedFrom.length).toBeGreaterThanOrEqual(1);
    expect([profile.id, ...profile.mergedFrom]).toEqual(
      expect.arrayContaining([anonymousBefore.id, aliasedBefore.id]),
    );
    expect((await profileBy('anonymousId', aliasedAnonymousId)).id).toBe(profile.id);
    expect((await profileBy('anonymousId', browsingAnonymousId)).id).toBe(profile.id);
    expect((await profileBy('email', email)).id).toBe(profile.id);
  });

  it('keeps every event of users whose identify and next events arrive in parallel requests', async () => {
    const people = Array.from({ length: 6 }, () => ({ ...uniqueIds(), anonymousId: randomUUID() }));
    const { client, failures } = segmentClient(apiUrl, { flushAt: 1 });

    for (const person of people) client.page({ anonymousId: person.anonymousId, name: 'Landing' });
    await client.flush();
    for (const { userId, anonymousId } of people) {
      client.identify({ userId, anonymousId, traits: { plan: 'pro' } });
      client.track({ userId, event: 'Signed Up' });
      client.track({ userId, event: 'Invited Teammate' });
    }
    await client.closeAndFlush();

    expect(failures).toEqual([]);
    const events = await Promise.all(
      people.map(async ({ userId }) => (await profileBy('userId', userId)).counters.events),
    );
    expect(events).toEqual(people.map(() => 4));
  });
});

describe('@rudderstack/rudder-sdk-node', () => {
  it('lands gzip, form-labelled batches from its default configuration in one profile', async () => {
    const { userId, email } = uniqueIds();
    const anonymousId = randomUUID();
    // The proxy only records what the SDK puts on the wire; it passes every byte through unchanged.
    const proxy = new RecordingProxy(apiUrl);
    await proxy.start();
    const client = new RudderAnalytics(writeKey, { dataPlaneUrl: proxy.url, logLevel: 'error' });

    try {
      client.identify({ userId, anonymousId, traits: { email, company: 'Acme' } });
      client.track({ userId, anonymousId, event: 'Order Completed', properties: { revenue: 42 } });
      await client.flush();
    } finally {
      await proxy.stop();
    }

    // The SDK sends its first event at once and batches the rest: every request is a gzip body labelled as a form.
    expect(proxy.requests.length).toBeGreaterThanOrEqual(1);
    for (const request of proxy.requests) {
      expect(request).toMatchObject({ method: 'POST', url: '/v1/batch', upstreamStatus: 200 });
      expect(request.headers['content-encoding']).toBe('gzip');
      expect(request.headers['content-type']).toBe('application/x-www-form-urlencoded');
    }
    const answers = proxy.requests.map((request) => CollectAnswer.parse(JSON.parse(request.upstreamBody)));
    expect(answers.reduce((sum, answer) => sum + answer.accepted, 0)).toBe(2);
    expect(answers.every((answer) => answer.rejected === 0)).toBe(true);
    const profile = await profileBy('userId', userId);
    expect(profile).toMatchObject({
      userId,
      anonymousIds: [anonymousId],
      emails: [email],
      traits: { email, company: 'Acme' },
      counters: { events: 2 },
    });
    expect((await eventsOf(profile.id)).map((event) => event.event ?? event.type).sort()).toEqual([
      'Order Completed',
      'identify',
    ]);
  });
});

describe('@snowplow/node-tracker', () => {
  async function trackWithSnowplow(eventMethod: 'post' | 'get') {
    const { userId } = uniqueIds();
    const domainUserId = randomUUID();
    const proxy = new RecordingProxy(apiUrl);
    await proxy.start();
    const failures: unknown[] = [];
    const tracker = newTracker(
      // Snowplow trackers send no write key: the app id is the source's write key.
      { namespace: `e2e-${eventMethod}`, appId: writeKey },
      {
        endpoint: '127.0.0.1',
        protocol: 'http',
        port: Number(new URL(proxy.url).port),
        eventMethod,
        bufferSize: eventMethod === 'post' ? 3 : 1,
        onRequestFailure: (failure) => failures.push(failure),
      },
    );
    tracker.setUserId(userId);
    tracker.setDomainUserId(domainUserId);
    try {
      tracker.track(buildPageView({ pageUrl: 'https://shop.example.com/', pageTitle: 'Home' }));
      tracker.track(buildPageView({ pageUrl: 'https://shop.example.com/cart', pageTitle: 'Cart' }));
      tracker.track(buildStructEvent({ category: 'checkout', action: 'start', label: 'cart', value: 42 }));
      await tracker.flush();
    } finally {
      await proxy.stop();
    }
    return { userId, domainUserId, failures, requests: proxy.requests };
  }

  it('lands POSTed tp2 batches in the profile of the tracker user id, with page views counted', async () => {
    const { userId, domainUserId, failures, requests } = await trackWithSnowplow('post');

    expect(failures).toEqual([]);
    expect(requests.map((request) => `${request.method} ${request.url}`)).toEqual([
      'POST /com.snowplowanalytics.snowplow/tp2',
    ]);
    expect(requests.every((request) => request.upstreamStatus === 200)).toBe(true);
    const profile = await profileBy('userId', userId);
    expect(profile).toMatchObject({
      userId,
      anonymousIds: [domainUserId],
      counters: { events: 3, pageViews: 2 },
    });
    const checkout = (await eventsOf(profile.id)).find((event) => event.event === 'checkout:start');
    expect(checkout?.properties).toMatchObject({
      category: 'checkout',
      action: 'start',
      label: 'cart',
      value: 42,
    });
  });

  it('lands GET /i pixels in the profile of the tracker user id, with page views counted', async () => {
    const { userId, domainUserId, failures, requests } = await trackWithSnowplow('get');

    expect(failures).toEqual([]);
    expect(requests.map((request) => `${request.method} ${request.url.split('?')[0]}`)).toEqual([
      'GET /i',
      'GET /i',
      'GET /i',
    ]);
    expect(requests.every((request) => request.upstreamStatus === 200)).toBe(true);
    const profile = await profileBy('userId', userId);
    expect(profile).toMatchObject({
      userId,
      anonymousIds: [domainUserId],
      counters: { events: 3, pageViews: 2 },
    });
  });
});

describe('a 503 after the events were stored', () => {
  it('is retried by analytics-node with the same messageIds and leaves no duplicate', async () => {
    const { userId } = uniqueIds();
    const messageIds = [randomUUID(), randomUUID(), randomUUID()];
    const proxy = new RecordingProxy(apiUrl);
    await proxy.start();
    proxy.refuseFirstMatching((request) => request.method === 'POST' && request.url === '/v1/batch');
    const { client, failures } = segmentClient(proxy.url, { flushAt: messageIds.length });

    try {
      for (const [index, messageId] of messageIds.entries())
        client.track({ userId, messageId, event: 'Exported Report', properties: { index } });
      await client.closeAndFlush({ timeout: 20_000 });
    } finally {
      await proxy.stop();
    }

    expect(failures).toEqual([]);
    const batches = proxy.requests.filter(
      (request) => request.method === 'POST' && request.url === '/v1/batch',
    );
    expect(batches.length).toBeGreaterThanOrEqual(2);
    const [refused, retried] = batches;
    expect(refused).toMatchObject({ upstreamStatus: 200, answeredStatus: 503 });
    expect(retried).toMatchObject({ upstreamStatus: 200, answeredStatus: 200 });
    const sentIds = (request: ProxiedRequest | undefined) =>
      z
        .object({ batch: z.array(z.object({ messageId: z.string() })) })
        .parse(JSON.parse(request?.body.toString('utf8') ?? ''))
        .batch.map((event) => event.messageId);
    expect(sentIds(retried)).toEqual(sentIds(refused));
    expect(CollectAnswer.parse(JSON.parse(retried?.upstreamBody ?? ''))).toMatchObject({
      accepted: 0,
      duplicates: messageIds.length,
    });
    const profile = await profileBy('userId', userId);
    expect(profile.counters.events).toBe(messageIds.length);
    const listed = (await eventsOf(profile.id)).map((event) => event.messageId);
    expect([...listed].sort()).toEqual([...messageIds].sort());
  });
});

describe('hostile input', () => {
  it('answers 400 to a body that is not JSON', async () => {
    const { status, text } = await post('/v1/batch', '{"batch": [{"type": "track",');

    expect(status).toBe(400);
    expect(z.object({ error: z.string() }).parse(JSON.parse(text)).error).toMatch(/JSON/);
  });

  it('drops __proto__ and constructor keys without polluting anything', async () => {
    const { userId, email } = uniqueIds();
    // Raw JSON text: a JavaScript object literal would turn "__proto__" into a prototype, not a key.
    const track = `{"userId":"${userId}","event":"Hostile Keys","properties":{"__proto__":{"polluted":"yes"},"constructor":{"prototype":{"polluted":"yes"}},"plan":"pro"}}`;
    const identify = `{"userId":"${userId}","traits":{"__proto__":{"polluted":"yes"},"constructor":{"polluted":"yes"},"email":"${email}"}}`;

    const answers = [await post('/v1/track', track), await post('/v1/identify', identify)];

    expect(answers.map((answer) => answer.status)).toEqual([200, 200]);
    expect(Reflect.get({}, 'polluted')).toBeUndefined();
    const { text: profileText } = await admin(`/admin/profiles?userId=${encodeURIComponent(userId)}`);
    expect(profileText).not.toContain('__proto__');
    expect(profileText).not.toContain('polluted');
    const profile = Profile.parse(JSON.parse(profileText));
    // Only the email survives from the client; enrichment is the server's own trait (docs/enrichment.md).
    const { enrichment, ...fromClient } = profile.traits;
    expect(fromClient).toEqual({ email });
    expect(Object.keys(enrichment ?? {})).toEqual(['email']);
    expect(profile.counters.events).toBe(2);
    const tracked = (await eventsOf(profile.id)).find((event) => event.event === 'Hostile Keys');
    expect(tracked?.properties).toEqual({ plan: 'pro' });
  });

  it('rejects an event with a wrongly typed userId, counting it, while its sibling is accepted', async () => {
    const { userId } = uniqueIds();
    const batch = JSON.stringify({
      batch: [
        { type: 'track', userId: { id: userId }, event: 'Typed Wrong' },
        { type: 'track', userId, event: 'Typed Right' },
      ],
    });
    const alone = JSON.stringify({ userId: { id: userId }, traits: { plan: 'pro' } });

    const mixed = await post('/v1/batch', batch);
    const single = await post('/v1/identify', alone);

    expect(mixed.status).toBe(200);
    expect(CollectAnswer.parse(JSON.parse(mixed.text))).toMatchObject({
      accepted: 1,
      rejected: 1,
      errors: [{ index: 0, error: expect.stringContaining('userId') }],
    });
    expect(single.status).toBe(400);
    expect(CollectAnswer.parse(JSON.parse(single.text))).toMatchObject({ accepted: 0, rejected: 1 });
    expect((await profileBy('userId', userId)).counters.events).toBe(1);
  });

  it('accepts a 2 MB batch of valid events', async () => {
    const { userId } = uniqueIds();
    const padding = 'x'.repeat(29_000);
    const events = Array.from({ length: 72 }, (_, index) => ({
      type: 'track',
      userId,
      messageId: randomUUID(),
      event: 'Imported Row',
      properties: { index, padding },
    }));
    const body = JSON.stringify({ batch: events });

    const { status, text } = await post('/v1/batch', body);

    expect(Buffer.byteLength(body)).toBeGreaterThan(2 * 1024 * 1024);
    expect(status).toBe(200);
    expect(CollectAnswer.parse(JSON.parse(text))).toMatchObject({ accepted: events.length, rejected: 0 });
    expect((await profileBy('userId', userId)).counters.events).toBe(events.length);
  });

  it('answers 413 to a 5 MB body', async () => {
    const { userId } = uniqueIds();
    const padding = 'x'.repeat(29_000);
    const events = Array.from({ length: 181 }, (_, index) => ({
      type: 'track',
      userId,
      event: 'Imported Row',
      properties: { index, padding },
    }));
    const body = JSON.stringify({ batch: events });

    const { status } = await post('/v1/batch', body);

    expect(Buffer.byteLength(body)).toBeGreaterThan(5 * 1024 * 1024);
    expect(status).toBe(413);
    expect((await admin(`/admin/profiles?userId=${userId}`)).status).toBe(404);
  });

  it('answers a pixel with broken base64 with the GIF', async () => {
    const response = await fetch(`${apiUrl}/v1/pixel/track?data=%%%`);

    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('image/gif');
    expect(
      Buffer.from(await response.arrayBuffer())
        .subarray(0, 6)
        .toString('latin1'),
    ).toBe('GIF89a');
  });

  it('answers 401 to an unknown write key, and the GIF to a pixel carrying one, storing nothing', async () => {
    const { userId } = uniqueIds();
    const unknownKey = `wk_unknown_${randomUUID()}`;
    const data = Buffer.from(
      JSON.stringify({ writeKey: unknownKey, userId, event: 'Opened Email' }),
    ).toString('base64url');

    const api = await post('/v1/track', JSON.stringify({ userId, event: 'Signed Up' }), unknownKey);
    const pixel = await fetch(`${apiUrl}/v1/pixel/track?data=${data}`);

    expect(api.status).toBe(401);
    expect(pixel.status).toBe(200);
    expect(pixel.headers.get('content-type')).toBe('image/gif');
    expect((await admin(`/admin/profiles?userId=${userId}`)).status).toBe(404);
  });

  it('rejects a 40 KB event on its own while its siblings are accepted', async () => {
    const { userId } = uniqueIds();
    const body = JSON.stringify({
      batch: [
        { type: 'track', userId, event: 'Before' },
        { type: 'track', userId, event: 'Huge', properties: { blob: 'y'.repeat(40 * 1024) } },
        { type: 'track', userId, event: 'After' },
      ],
    });

    const { status, text } = await post('/v1/batch', body);

    expect(status).toBe(200);
    expect(CollectAnswer.parse(JSON.parse(text))).toMatchObject({
      accepted: 2,
      rejected: 1,
      errors: [{ index: 1, error: expect.stringContaining('limit') }],
    });
    const profile = await profileBy('userId', userId);
    expect((await eventsOf(profile.id)).map((event) => event.event).sort()).toEqual(['After', 'Before']);
  });
});

describe('domain events', () => {
  function busLog(): Array<z.infer<typeof BusEvent>> {
    const directory = join(stack.dataDirectory, 'logs');
    if (!existsSync(directory)) return [];
    return readdirSync(directory)
      .filter((file) => file.includes('EventLog') && file.endsWith('.ndjson'))
      .flatMap((file) => readFileSync(join(directory, file), 'utf8').split('\n'))
      .filter((line) => line.trim() !== '')
      .map((line) => BusEvent.parse(JSON.parse(line)));
  }

  it('publishes event.tracked for a tracked message and profile.merged when a second anonymous visitor joins a known one', async () => {
    const { userId } = uniqueIds();
    const firstAnonymousId = randomUUID();
    const secondAnonymousId = randomUUID();
    const messageId = randomUUID();
    const { client, failures } = segmentClient(apiUrl);

    client.page({ anonymousId: firstAnonymousId, messageId, name: 'Landing' });
    client.page({ anonymousId: secondAnonymousId, name: 'Landing' });
    await client.flush();
    const first = await profileBy('anonymousId', firstAnonymousId);
    const second = await profileBy('anonymousId', secondAnonymousId);
    client.identify({ userId, anonymousId: firstAnonymousId });
    await client.flush();
    // The person is known now, so their other anonymous profile can only be merged into theirs.
    client.alias({ previousId: secondAnonymousId, userId });
    await client.closeAndFlush();
    const known = await profileBy('userId', userId);

    expect(failures).toEqual([]);
    const tracked = () =>
      busLog().find(
        (event) => event['detail-type'] === 'event.tracked' && event.detail.messageId === messageId,
      );
    const merged = () =>
      busLog().find(
        (event) =>
          event['detail-type'] === 'profile.merged' &&
          event.detail.fromProfileId === second.id &&
          event.detail.intoProfileId === known.id,
      );
    await expect.poll(tracked, { timeout: 10_000, interval: 200 }).toBeDefined();
    await expect.poll(merged, { timeout: 10_000, interval: 200 }).toBeDefined();
    expect(tracked()?.detail).toMatchObject({
      profileId: first.id,
      type: 'page',
      anonymousId: firstAnonymousId,
    });
  });
});
