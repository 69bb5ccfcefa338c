// The browser snippet in real headless Chromium: consent first, Segment-shaped events, delivery that survives navigation.
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import http from 'node:http';
import { text } from 'node:stream/consumers';
import vm from 'node:vm';
import { transform } from 'esbuild';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { pixelUrl } from '../../functions/tracking/snippet/pixel-url.ts';
import { QUEUE_STUB, renderSnippet } from '../../functions/tracking/snippet/snippet-source.ts';
import { closeServer } from '../../lib/local/json-protocol.ts';
import { launchChromium } from './support/chromium.ts';

const CONSENT_EVENT = 'Segment Consent Preference Updated';
const LANDING_QUERY = '?utm_source=newsletter&utm_medium=email&utm_campaign=spring';

/** Exactly what the snippet may send: a strict Segment message, so any extra or missing field fails a test. */
const Message = z.strictObject({
  type: z.enum(['page', 'track', 'identify', 'alias', 'group']),
  messageId: z.uuidv4(),
  anonymousId: z.uuidv4(),
  userId: z.string().optional(),
  event: z.string().optional(),
  name: z.string().optional(),
  groupId: z.string().optional(),
  previousId: z.string().optional(),
  properties: z.record(z.string(), z.unknown()),
  traits: z.record(z.string(), z.unknown()).optional(),
  context: z.strictObject({
    page: z.strictObject({
      path: z.string(),
      referrer: z.string(),
      search: z.string(),
      title: z.string(),
      url: z.string(),
    }),
    userAgent: z.string().min(1),
    locale: z.string().min(1),
    library: z.strictObject({ name: z.literal('nurture.js'), version: z.literal('0.1.0') }),
    campaign: z.record(z.string(), z.string()).optional(),
    consent: z.strictObject({ categoryPreferences: z.record(z.string(), z.boolean()) }).optional(),
  }),
  timestamp: z.iso.datetime(),
  sentAt: z.iso.datetime(),
  writeKey: z.string(),
});
type Message = z.infer<typeof Message>;

const Envelope = z.object({ writeKey: z.string().optional(), event: z.string().optional() });
const VisitorIds = z.strictObject({ anonymousId: z.string().nullable(), userId: z.string().nullable() });

interface ReceivedRequest {
  readonly method: string;
  readonly path: string;
  readonly contentType: string | undefined;
  readonly body: string;
}

interface Delivery {
  readonly path: string;
  readonly contentType: string | undefined;
  readonly message: Message;
}

function parseJson(body: string): unknown {
  try {
    return JSON.parse(body);
  } catch {
    return undefined;
  }
}

async function listen(handler: http.RequestListener): Promise<{ server: http.Server; url: string }> {
  const server = http.createServer(handler);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('the test server has no port');
  return { server, url: `http://127.0.0.1:${address.port}` };
}

/**
 * The tracking API: serves the snippet and records every request it answered. It can refuse a named event once,
 * or take its time over one, so a request the browser abandons meanwhile is never counted as delivered.
 */
class FakeTrackingApi {
  readonly received: ReceivedRequest[] = [];
  private readonly refuseOnce = new Set<string>();
  private readonly slowEvents = new Set<string>();
  private snippet = '';
  private server: http.Server | undefined;
  url = '';

  async start(): Promise<void> {
    const { server, url } = await listen((request, response) => void this.handle(request, response));
    this.server = server;
    this.url = url;
    this.snippet = renderSnippet({ apiHost: url });
  }

  stop(): Promise<void> {
    return this.server ? closeServer(this.server) : Promise.resolve();
  }

  /** The next delivery of this track event gets a 503, as under pressure. */
  refuseNext(event: string): void {
    this.refuseOnce.add(event);
  }

  /** Deliveries of this track event are answered after half a second, as a busy API would. */
  answerSlowly(event: string): void {
    this.slowEvents.add(event);
  }

  /** Deliveries carrying this write key, in arrival order, each checked against the Segment shape. */
  deliveriesFor(writeKey: string): Delivery[] {
    return this.received.flatMap((request) => {
      if (request.method !== 'POST') return [];
      const json = parseJson(request.body);
      if (Envelope.safeParse(json).data?.writeKey !== writeKey) return [];
      return [{ path: request.path, contentType: request.contentType, message: Message.parse(json) }];
    });
  }

  messagesFor(writeKey: string): Message[] {
    return this.deliveriesFor(writeKey).map((delivery) => delivery.message);
  }

  private async handle(request: http.IncomingMessage, response: http.ServerResponse): Promise<void> {
    const body = await text(request);
    const path = (request.url ?? '/').split('?')[0] ?? '/';
    const method = request.method ?? 'GET';
    const event = Envelope.safeParse(parseJson(body)).data?.event;
    if (event !== undefined && this.slowEvents.has(event)) {
      await new Promise((resolve) => setTimeout(resolve, 500));
      if (request.socket.destroyed) return; // the browser abandoned the request: not delivered
    }
    this.received.push({ method, path, contentType: request.headers['content-type'], body });
    if (method === 'GET' && path === '/v1/snippet.js') {
      response.writeHead(200, { 'content-type': 'text/javascript; charset=utf-8' }).end(this.snippet);
    } else if (method === 'POST' && path.startsWith('/v1/')) {
      const refused = event !== undefined && this.refuseOnce.delete(event);
      response
        .writeHead(refused ? 503 : 200, {
          'access-control-allow-origin': '*',
          'content-type': 'application/json',
        })
        .end('{}');
    } else {
      response.writeHead(404).end();
    }
  }
}

/** The customer's website, on another origin than the API so that any CORS preflight would show. */
class FakeWebsite {
  private readonly pages = new Map<string, string>();
  private server: http.Server | undefined;
  url = '';

  async start(): Promise<void> {
    const { server, url } = await listen((request, response) => {
      const html = this.pages.get((request.url ?? '/').split('?')[0] ?? '/');
      if (html === undefined) response.writeHead(404).end();
      else response.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(html);
    });
    this.server = server;
    this.url = url;
  }

  stop(): Promise<void> {
    return this.server ? closeServer(this.server) : Promise.resolve();
  }

  publish(path: string, page: { title: string; head?: string; body?: string }): string {
    this.pages.set(
      path,
      `<!doctype html><html><head><meta charset="utf-8"><title>${page.title}</title>${page.head ?? ''}</head>` +
        `<body>${page.body ?? ''}</body></html>`,
    );
    return `${this.url}${path}`;
  }
}

const api = new FakeTrackingApi();
const website = new FakeWebsite();

function snippetTag(attributes: string): string {
  return `<script src="${api.url}/v1/snippet.js" ${attributes} async></script>`;
}

/** Gives stray requests (there should be none) time to reach the API before asserting that nothing came. */
function settle(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 300));
}

const POLL = { timeout: 3_000, interval: 25 };

// A real browser is slower than pure code, most of all on a busy CI machine.
describe('the browser snippet in Chromium', { timeout: 15_000 }, () => {
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let writeKey: string;

  beforeAll(async () => {
    await Promise.all([api.start(), website.start()]);
    browser = await launchChromium();
  }, 30_000);

  afterAll(async () => {
    await browser?.close();
    await Promise.all([api.stop(), website.stop()]);
  });

  beforeEach(async () => {
    writeKey = `wk_${randomUUID()}`;
    context = await browser.newContext();
    page = await context.newPage();
  });

  afterEach(async () => {
    await context.close();
  });

  /** Publishes a page of this test's site carrying the snippet, and opens it. */
  async function visit(
    name: string,
    options: { query?: string; attributes?: string; head?: string; body?: string } = {},
  ): Promise<void> {
    const url = website.publish(`/${writeKey}/${name}`, {
      title: `Nurture ${name}`,
      head: (options.head ?? '') + snippetTag(options.attributes ?? `data-write-key="${writeKey}"`),
      body: options.body ?? '',
    });
    await page.goto(url + (options.query ?? ''));
    await page.waitForFunction('window.analytics && window.analytics.initialized === true');
  }

  async function visitorIds(): Promise<z.infer<typeof VisitorIds>> {
    return VisitorIds.parse(await page.evaluate('window.analytics.user()'));
  }

  async function cookie(name: string) {
    return (await context.cookies()).find((candidate) => candidate.name === name);
  }

  /** Consents and waits for the automatic page view and the consent event. */
  async function consentToAnalytics(): Promise<void> {
    await page.evaluate('analytics.consent({ analytics: true })');
    await expect.poll(() => api.messagesFor(writeKey).length, POLL).toBe(2);
  }

  function messages(): Message[] {
    return api.messagesFor(writeKey);
  }

  function tracked(event: string): Message[] {
    return messages().filter((message) => message.type === 'track' && message.event === event);
  }

  describe('before the visitor has consented', () => {
    it('sends nothing and stores nothing in cookies or web storage', async () => {
      await visit('landing', { query: LANDING_QUERY });

      await page.evaluate("analytics.track('Viewed Pricing'); analytics.identify('user-1', { plan: 'pro' })");
      await settle();

      expect(messages()).toEqual([]);
      expect(await page.evaluate('document.cookie')).toBe('');
      expect(await context.cookies()).toEqual([]);
      expect(await page.evaluate('localStorage.length + sessionStorage.length')).toBe(0);
      expect((await visitorIds()).anonymousId).toBeNull();
    });
  });

  describe('when the visitor consents to analytics', () => {
    it('sends one page view carrying the landing campaign and the consent object', async () => {
      await visit('landing', { query: LANDING_QUERY });

      await page.evaluate('analytics.consent({ analytics: true, marketing: false })');

      await expect.poll(() => messages().length, POLL).toBe(2);
      const pageViews = api.deliveriesFor(writeKey).filter((delivery) => delivery.message.type === 'page');
      expect(pageViews).toHaveLength(1);
      const [pageView] = pageViews;
      const landingUrl = `${website.url}/${writeKey}/landing${LANDING_QUERY}`;
      expect(pageView?.path).toBe('/v1/p');
      expect(pageView?.message).toMatchObject({
        properties: {
          path: `/${writeKey}/landing`,
          referrer: '',
          search: LANDING_QUERY,
          title: 'Nurture landing',
          url: landingUrl,
        },
        context: {
          page: { path: `/${writeKey}/landing`, search: LANDING_QUERY, url: landingUrl },
          campaign: { name: 'spring', source: 'newsletter', medium: 'email' },
          consent: { categoryPreferences: { analytics: true, marketing: false } },
        },
        writeKey,
      });
    });

    it('keeps the anonymous id in a first-party nurture_aid cookie for a year', async () => {
      await visit('landing');

      await consentToAnalytics();

      const [pageView] = messages().filter((message) => message.type === 'page');
      const aid = await cookie('nurture_aid');
      expect(aid).toMatchObject({ value: pageView?.anonymousId, path: '/', sameSite: 'Lax', secure: false });
      const yearFromNow = Date.now() / 1000 + 365 * 24 * 3600;
      expect(Math.abs((aid?.expires ?? 0) - yearFromNow)).toBeLessThan(60);
      expect((await visitorIds()).anonymousId).toBe(pageView?.anonymousId);
    });

    it("records the choice as Segment's Consent Preference Updated track event", async () => {
      await visit('landing');

      await page.evaluate('analytics.consent({ analytics: true, functional: true })');

      await expect.poll(() => tracked(CONSENT_EVENT).length, POLL).toBe(1);
      const preferences = { analytics: true, functional: true };
      expect(tracked(CONSENT_EVENT)[0]).toMatchObject({
        properties: { consent: { categoryPreferences: preferences } },
        context: { consent: { categoryPreferences: preferences } },
      });
    });

    it('sends calls that were queued by the stub before the script loaded, in the order they were made', async () => {
      await page.addInitScript(`
        window.sentBeacons = [];
        const sendBeacon = navigator.sendBeacon.bind(navigator);
        navigator.sendBeacon = (url, data) => { window.sentBeacons.push(data); return sendBeacon(url, data); };`);
      await visit('landing', {
        head: `<script>${QUEUE_STUB}
          analytics.identify('user-7', { plan: 'pro' });
          analytics.track('Viewed Pricing', { tier: 'pro' });
          analytics.track('Started Trial');
          window.queuedBeforeLoad = Array.isArray(window.analytics) && window.analytics.length;</script>`,
      });

      await page.evaluate('analytics.consent({ analytics: true })');

      await expect.poll(() => messages().length, POLL).toBe(5);
      expect(await page.evaluate('window.queuedBeforeLoad')).toBe(3);
      const sentInOrder = z
        .array(z.string())
        .parse(await page.evaluate('Promise.all(window.sentBeacons.map((blob) => blob.text()))'))
        .map((body) => Message.parse(JSON.parse(body)));
      expect(sentInOrder.map((message) => [message.type, message.event ?? message.userId])).toEqual([
        ['identify', 'user-7'],
        ['track', 'Viewed Pricing'],
        ['track', 'Started Trial'],
        ['page', 'user-7'],
        ['track', CONSENT_EVENT],
      ]);
      expect(sentInOrder.every((message) => message.userId === 'user-7')).toBe(true);
    });

    it('remembers the consent and the anonymous id on the next page the visitor opens', async () => {
      await visit('landing');
      await consentToAnalytics();
      const { anonymousId } = await visitorIds();

      await visit('pricing');

      await expect.poll(() => messages().filter((message) => message.type === 'page').length, POLL).toBe(2);
      const secondView = messages().find((message) => message.context.page.path === `/${writeKey}/pricing`);
      expect(secondView).toMatchObject({
        anonymousId,
        context: { consent: { categoryPreferences: { analytics: true } } },
      });
      expect(tracked(CONSENT_EVENT)).toHaveLength(1);
    });
  });

  describe('once tracking is allowed', () => {
    it('sends track and identify calls in Segment shape as text/plain requests without a preflight', async () => {
      await visit('landing');
      await consentToAnalytics();

      await page.evaluate(`
        analytics.track('Signed Up', { plan: 'pro' });
        analytics.identify('user-42', { email: 'ada@example.com' });
        analytics.track('Invited Teammate');`);

      await expect.poll(() => messages().length, POLL).toBe(5);
      const deliveries = api.deliveriesFor(writeKey);
      const byEvent = (event: string) => deliveries.find((delivery) => delivery.message.event === event);
      expect(byEvent('Signed Up')).toMatchObject({ path: '/v1/t', message: { properties: { plan: 'pro' } } });
      expect(byEvent('Signed Up')?.message.userId).toBeUndefined();
      expect(deliveries.find((delivery) => delivery.message.type === 'identify')).toMatchObject({
        path: '/v1/i',
        message: { userId: 'user-42', traits: { email: 'ada@example.com' } },
      });
      expect(byEvent('Invited Teammate')?.message.userId).toBe('user-42');
      expect(deliveries.map((delivery) => delivery.contentType)).toEqual(deliveries.map(() => 'text/plain'));
      expect(api.received.filter((request) => request.method === 'OPTIONS')).toEqual([]);
    });

    it('keeps the user id in the nurture_uid cookie only after identify', async () => {
      await visit('landing');
      await consentToAnalytics();
      const before = await cookie('nurture_uid');

      await page.evaluate("analytics.identify('user-42')");

      expect(before).toBeUndefined();
      expect(await cookie('nurture_uid')).toMatchObject({ value: 'user-42', sameSite: 'Lax', path: '/' });
    });

    it('sends alias and group calls to their one-letter paths', async () => {
      await visit('landing');
      await consentToAnalytics();
      const { anonymousId } = await visitorIds();

      await page.evaluate("analytics.alias('user-5'); analytics.group('acme', { plan: 'enterprise' })");

      await expect.poll(() => messages().length, POLL).toBe(4);
      const deliveries = api.deliveriesFor(writeKey);
      expect(deliveries.find((delivery) => delivery.message.type === 'alias')).toMatchObject({
        path: '/v1/a',
        message: { userId: 'user-5', previousId: anonymousId },
      });
      expect(deliveries.find((delivery) => delivery.message.type === 'group')).toMatchObject({
        path: '/v1/g',
        message: { groupId: 'acme', traits: { plan: 'enterprise' } },
      });
    });

    it('forgets the user and starts a new anonymous id on reset', async () => {
      await visit('landing');
      await consentToAnalytics();
      await page.evaluate("analytics.identify('user-9')");
      const before = await visitorIds();

      await page.evaluate("analytics.reset(); analytics.track('Browsed Anonymously')");

      const after = await visitorIds();
      expect(after.userId).toBeNull();
      expect(after.anonymousId).not.toBe(before.anonymousId);
      expect(await cookie('nurture_uid')).toBeUndefined();
      expect((await cookie('nurture_aid'))?.value).toBe(after.anonymousId);
      await expect.poll(() => tracked('Browsed Anonymously').length, POLL).toBe(1);
      expect(tracked('Browsed Anonymously')[0]).toMatchObject({ anonymousId: after.anonymousId });
      expect(tracked('Browsed Anonymously')[0]?.userId).toBeUndefined();
    });

    it('delivers a track call made right before the visitor follows a link away', async () => {
      website.publish(`/${writeKey}/elsewhere`, { title: 'A page without the snippet' });
      await visit('landing', {
        body: `<a id="upgrade" href="/${writeKey}/elsewhere" onclick="analytics.track('Clicked Upgrade')">Upgrade</a>`,
      });
      await consentToAnalytics();
      api.answerSlowly('Clicked Upgrade');

      await Promise.all([page.waitForURL(`**/${writeKey}/elsewhere`), page.click('#upgrade')]);

      await expect.poll(() => tracked('Clicked Upgrade').length, POLL).toBe(1);
    });

    it('delivers a track call made while the page is being left', async () => {
      website.publish(`/${writeKey}/elsewhere`, { title: 'A page without the snippet' });
      await visit('landing', {
        body: `<a id="upgrade" href="/${writeKey}/elsewhere">Upgrade</a>
          <script>addEventListener('pagehide', () => analytics.track('Left Landing Page'));</script>`,
      });
      await consentToAnalytics();
      api.answerSlowly('Left Landing Page');

      await Promise.all([page.waitForURL(`**/${writeKey}/elsewhere`), page.click('#upgrade')]);

      await expect.poll(() => tracked('Left Landing Page').length, POLL).toBe(1);
    });

    it('retries a delivery the API refused, with the same messageId and no preflight', async () => {
      await visit('landing');
      await consentToAnalytics();
      api.refuseNext('Exported Report');

      // Too large for a beacon, so it goes through fetch, whose response the snippet can see.
      await page.evaluate("analytics.track('Exported Report', { rows: 'x'.repeat(70000) })");

      await expect.poll(() => tracked('Exported Report').length, POLL).toBe(2);
      const [refused, retried] = api
        .deliveriesFor(writeKey)
        .filter((delivery) => delivery.message.event === 'Exported Report');
      expect(retried?.message.messageId).toBe(refused?.message.messageId);
      expect(retried?.contentType).toBe('text/plain');
      expect(api.received.filter((request) => request.method === 'OPTIONS')).toEqual([]);
    });
  });

  describe('when the visitor declines', () => {
    it('sends nothing and sets no cookie', async () => {
      await visit('landing', { query: LANDING_QUERY });
      await page.evaluate("analytics.track('Viewed Pricing')");

      await page.evaluate("analytics.consent({ analytics: false }); analytics.track('Viewed Docs')");
      await settle();

      expect(messages()).toEqual([]);
      expect(await context.cookies()).toEqual([]);
      expect(await visitorIds()).toEqual({ anonymousId: null, userId: null });
    });

    it('deletes the cookies and stops sending when consent is withdrawn', async () => {
      await visit('landing');
      await consentToAnalytics();
      await page.evaluate("analytics.identify('user-3')");

      await page.evaluate("analytics.consent({ analytics: false }); analytics.track('Viewed Docs')");
      await settle();

      expect(await context.cookies()).toEqual([]);
      expect(tracked('Viewed Docs')).toEqual([]);
    });
  });

  describe('configuration', () => {
    it('sends no automatic page view when data-auto-page is false', async () => {
      await visit('landing', { attributes: `data-write-key="${writeKey}" data-auto-page="false"` });

      await page.evaluate('analytics.consent({ analytics: true })');
      await expect.poll(() => tracked(CONSENT_EVENT).length, POLL).toBe(1);
      await settle();

      expect(messages().filter((message) => message.type === 'page')).toEqual([]);
    });

    it('tracks without asking, and without a consent object, when window.nurtureConfig turns consent off', async () => {
      await visit('landing', {
        head: `<script>window.nurtureConfig = { writeKey: '${writeKey}', consentRequired: false };</script>`,
        attributes: '',
      });

      await expect.poll(() => messages().length, POLL).toBe(1);

      const [pageView] = messages();
      expect(pageView?.type).toBe('page');
      expect(pageView?.context.consent).toBeUndefined();
      expect((await cookie('nurture_aid'))?.value).toBe(pageView?.anonymousId);
    });

    it('creates version 4 ids when crypto.randomUUID is unavailable, as on plain-http sites', async () => {
      await page.addInitScript("Object.defineProperty(Crypto.prototype, 'randomUUID', { value: undefined })");
      await visit('landing');

      await consentToAnalytics();

      // The Message schema requires version 4 UUIDs for messageId and anonymousId.
      const [first, second] = messages();
      expect(first?.messageId).not.toBe(second?.messageId);
      expect(await page.evaluate('typeof crypto.randomUUID')).toBe('undefined');
    });
  });
});

describe('the snippet source', () => {
  it('stays under 8 KB once minified', async () => {
    const { code } = await transform(renderSnippet({ apiHost: 'https://api.example.com' }), {
      minify: true,
      loader: 'js',
    });

    expect(Buffer.byteLength(code)).toBeLessThan(8 * 1024);
  });

  it('uses no syntax newer than ES2017', async () => {
    const source = renderSnippet({ apiHost: 'https://api.example.com' });

    const [asEs2017, asEsNext] = await Promise.all([
      transform(source, { loader: 'js', target: 'es2017' }),
      transform(source, { loader: 'js', target: 'esnext' }),
    ]);

    // esbuild only rewrites syntax the target lacks, so any difference is newer syntax.
    expect(asEs2017.code).toBe(asEsNext.code);
  });

  it('posts to the API host it was rendered with, whatever characters that host contains', () => {
    // biome-ignore lint/suspicious/noTemplateCurlyInString: a literal dollar-brace must survive the snippet's own template.
    const apiHost = 'https://api.example.com/"\'\\\n\u2028\u2029</script>${x}`';
    const beacons: string[] = [];
    const window = {
      nurtureConfig: { writeKey: 'wk_test', consentRequired: false },
      crypto: globalThis.crypto,
      console,
    };
    const sandbox = vm.createContext({
      window,
      document: { currentScript: null, cookie: '', referrer: '', title: 'Home' },
      navigator: { userAgent: 'test', language: 'en', sendBeacon: (url: string) => beacons.push(url) > 0 },
      location: { search: '', protocol: 'https:', pathname: '/', href: 'https://site.example/' },
      URLSearchParams,
      Blob,
    });

    vm.runInContext(renderSnippet({ apiHost }), sandbox);

    expect(beacons).toEqual([`${apiHost}/v1/p`]);
  });
});

describe('pixel URLs', () => {
  it('carry the call and the write key as base64url JSON the API can decode', () => {
    const event = {
      event: 'Email Opened',
      userId: 'user-1',
      properties: { subject: 'Grüße ?>~ from Nurture' },
    };

    const url = new URL(
      pixelUrl({ apiHost: 'https://api.example.com', writeKey: 'wk_1', type: 'track', event }),
    );

    const data = url.searchParams.get('data') ?? '';
    expect(data).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(JSON.parse(Buffer.from(data, 'base64url').toString('utf8'))).toEqual({
      ...event,
      writeKey: 'wk_1',
    });
  });

  it('point at the pixel route for the call type under the API host', () => {
    const url = pixelUrl({ apiHost: 'https://api.example.com/', writeKey: 'wk_1', type: 'page' });

    expect(url.startsWith('https://api.example.com/v1/pixel/page?data=')).toBe(true);
  });
});
