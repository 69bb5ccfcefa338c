// Banners on the local stack: assigned through the admin API, fetched by visitors with a write key, clicked, counted.
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import { Ajv2020 } from 'ajv/dist/2020.js';
import type { Browser, BrowserContext } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { QUEUE_STUB } from '../../functions/tracking/snippet/snippet-source.ts';
import { closeServer } from '../../lib/local/json-protocol.ts';
import { launchChromium } from './support/chromium.ts';
import { admin, type LocalStackProcess, startLocalStackProcess } from './support/local-stack-process.ts';

const document = z
  .object({ components: z.object({ schemas: z.record(z.string(), z.record(z.string(), z.unknown())) }) })
  .parse(JSON.parse(readFileSync(new URL('../../docs/openapi.json', import.meta.url), 'utf8')));
const ajv = new Ajv2020({ strict: false, allErrors: true });

/** Asserts a response's status and that its JSON body matches the named component schema of docs/openapi.json. */
async function conforms(response: Response, status: number, schemaName: string): Promise<unknown> {
  const body: unknown = await response.json();
  const schema = document.components.schemas[schemaName];
  if (!schema) throw new Error(`no component ${schemaName}`);
  const validate = ajv.getSchema(`urn:nurture:schema:${schemaName}`) ?? ajv.compile(schema);
  expect(response.status, JSON.stringify(body)).toBe(status);
  expect(validate(body), `${schemaName}: ${JSON.stringify(validate.errors)}`).toBe(true);
  return body;
}

const BannerContent = z.object({
  id: z.string(),
  title: z.string(),
  body: z.string(),
  html: z.string().nullable(),
  cta: z.object({ label: z.string(), url: z.string() }).nullable(),
});
const BannerList = z.object({
  profileId: z.string(),
  banners: z.array(
    z.object({ bannerId: z.string(), placement: z.string(), impressions: z.number(), clicks: z.number() }),
  ),
});
const ProfileEvents = z.object({
  events: z.array(z.object({ event: z.string().nullable(), properties: z.record(z.string(), z.unknown()) })),
});

/** A visitor's browser as the API sees it from Node: a desktop Chrome, so views are a person's, not a bot's. */
const CHROME =
  'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36';

let stack: LocalStackProcess;
const visitorA = randomUUID();
const visitorB = randomUUID();
let profileA: string;

function basic(writeKey: string): string {
  return `Basic ${Buffer.from(`${writeKey}:`).toString('base64')}`;
}

/** Tracks a page view for an anonymous visitor and answers the profile it created. */
async function trackVisitor(anonymousId: string): Promise<string> {
  const tracked = await fetch(`${stack.local.apiUrl}/v1/page`, {
    method: 'POST',
    headers: { authorization: basic(stack.local.writeKey), 'user-agent': CHROME },
    body: JSON.stringify({ messageId: randomUUID(), anonymousId, properties: { path: '/pricing' } }),
  });
  expect(tracked.status).toBe(200);
  const profile = await admin(stack, `/admin/profiles?anonymousId=${anonymousId}`);
  return z.object({ id: z.string() }).parse(await profile.json()).id;
}

async function assign(profileId: string, placement: string, banner: Record<string, unknown>) {
  return admin(stack, `/admin/profiles/${profileId}/banners/${placement}`, {
    method: 'PUT',
    body: JSON.stringify(banner),
  });
}

/** What a site's page asks for, with the write key in the query as the snippet sends it. */
function contentFor(placement: string, visitor: string, init: RequestInit = {}): Promise<Response> {
  const query = new URLSearchParams({ anonymousId: visitor, writeKey: stack.local.writeKey });
  return fetch(`${stack.local.apiUrl}/v1/content/${placement}?${query}`, {
    ...init,
    headers: { 'user-agent': CHROME, ...init.headers },
  });
}

async function bannersOf(profileId: string) {
  return BannerList.parse(
    await conforms(await admin(stack, `/admin/profiles/${profileId}/banners`), 200, 'BannerList'),
  );
}

beforeAll(async () => {
  stack = await startLocalStackProcess({ args: ['--fresh'] });
  profileA = await trackVisitor(visitorA);
  await trackVisitor(visitorB);
});

afterAll(async () => {
  await stack?.dispose();
});

describe('banners', () => {
  it('go only to the profile they were assigned to', async () => {
    const assigned = await assign(profileA, 'homepage-hero', {
      title: 'Spring offer',
      body: '20% off this week',
      cta: { label: 'Get the offer', url: 'https://shop.example.com/spring?utm_source=site' },
    });
    await conforms(assigned, 200, 'Banner');

    const forA = await contentFor('homepage-hero', visitorA);
    const forB = await contentFor('homepage-hero', visitorB);
    const forStranger = await contentFor('homepage-hero', randomUUID());
    const otherPlacement = await contentFor('sidebar', visitorA);

    const content = BannerContent.parse(await conforms(forA, 200, 'BannerContent'));
    expect(forA.headers.get('cache-control')).toBe('no-store');
    expect(content).toMatchObject({ title: 'Spring offer', body: '20% off this week', html: null });
    expect(content.cta?.url.startsWith(`${stack.local.apiUrl}/e/b/`)).toBe(true);
    expect(forB.status).toBe(204);
    expect(forStranger.status).toBe(204);
    expect(otherPlacement.status).toBe(204);
  });

  it('are answered to a caller with the write key in Basic auth or the query, and refused without one', async () => {
    await assign(profileA, 'auth-check', { title: 'Hello' });
    const url = `${stack.local.apiUrl}/v1/content/auth-check?anonymousId=${visitorA}`;

    const withBasic = await fetch(url, { headers: { authorization: basic(stack.local.writeKey) } });
    const missing = await fetch(url);
    const unknown = await fetch(`${url}&writeKey=wk_not_a_key_0123456789`);
    const bothIds = await fetch(`${url}&userId=u1&writeKey=${stack.local.writeKey}`);

    expect(withBasic.status).toBe(200);
    await conforms(missing, 401, 'Error');
    await conforms(unknown, 401, 'Error');
    await conforms(bothIds, 400, 'Error');
  });

  it('answer browsers on other origins, as the API allows them', async () => {
    await assign(profileA, 'cors-check', { title: 'Hello' });

    const response = await contentFor('cors-check', visitorA, {
      headers: { origin: 'https://www.example.com' },
    });

    expect(response.status).toBe(200);
    expect(response.headers.get('access-control-allow-origin')).toBe('*');
  });

  it('send a click on the call to action through a tracked link to its destination, and refuse a tampered link', async () => {
    await assign(profileA, 'click-check', {
      title: 'Upgrade',
      cta: { label: 'See plans', url: 'https://shop.example.com/plans?from=banner' },
    });
    const content = BannerContent.parse(await (await contentFor('click-check', visitorA)).json());
    const link = content.cta?.url ?? '';

    const followed = await fetch(link, { redirect: 'manual', headers: { 'user-agent': CHROME } });
    const tampered = await fetch(`${link.slice(0, -3)}${link.endsWith('AAA') ? 'BBB' : 'AAA'}`, {
      redirect: 'manual',
    });

    expect(followed.status).toBe(302);
    expect(followed.headers.get('location')).toBe('https://shop.example.com/plans?from=banner');
    expect(tampered.status).toBe(400);
    expect(tampered.headers.get('content-type')).toContain('text/html');
    expect(tampered.headers.get('location')).toBeNull();
  });

  it('are not shown once they have expired', async () => {
    await conforms(
      await assign(profileA, 'expired-offer', {
        title: 'Last week’s offer',
        expiresAt: new Date(Date.now() - 60_000).toISOString(),
      }),
      200,
      'Banner',
    );

    const response = await contentFor('expired-offer', visitorA);

    expect(response.status).toBe(204);
    expect((await bannersOf(profileA)).banners.map((b) => b.placement)).not.toContain('expired-offer');
  });

  it("count views and clicks in the profile's banner list, and file them as profile events", async () => {
    const bannerId = `counted-${randomUUID().slice(0, 8)}`;
    await assign(profileA, 'counted', {
      title: 'Counted',
      bannerId,
      cta: { label: 'Go', url: 'https://shop.example.com/counted' },
    });

    const first = BannerContent.parse(await (await contentFor('counted', visitorA)).json());
    await contentFor('counted', visitorA);
    await fetch(first.cta?.url ?? '', { redirect: 'manual', headers: { 'user-agent': CHROME } });

    const listed = (await bannersOf(profileA)).banners.find((b) => b.bannerId === bannerId);
    expect(listed).toMatchObject({ placement: 'counted', impressions: 2, clicks: 1 });
    const events = ProfileEvents.parse(
      await (await admin(stack, `/admin/profiles/${profileA}/events?limit=1000`)).json(),
    ).events.filter((e) => e.properties.bannerId === bannerId);
    expect(events.map((e) => e.event).sort()).toEqual(['Banner Clicked', 'Banner Viewed', 'Banner Viewed']);
    expect(events.find((e) => e.event === 'Banner Viewed')?.properties).toEqual({
      bannerId,
      placement: 'counted',
    });
  });

  it('are withdrawn by deleting them', async () => {
    await assign(profileA, 'withdrawn', { title: 'Soon gone' });

    const deleted = await admin(stack, `/admin/profiles/${profileA}/banners/withdrawn`, { method: 'DELETE' });

    expect(deleted.status).toBe(204);
    expect((await contentFor('withdrawn', visitorA)).status).toBe(204);
  });

  it('are refused for unknown profiles, bad placements and links that are not web addresses', async () => {
    await conforms(await assign(`prof_${randomUUID()}`, 'hero', { title: 'Nobody' }), 404, 'Error');
    await conforms(await assign(profileA, 'Not A Placement', { title: 'Bad' }), 400, 'Error');
    await conforms(
      await assign(profileA, 'hero', { title: 'Bad', cta: { label: 'Run', url: 'javascript:alert(1)' } }),
      400,
      'Error',
    );
    await conforms(
      await assign(profileA, 'hero', { title: 'Bad', ttlHours: 1, expiresAt: '2030-01-01T00:00:00Z' }),
      400,
      'Error',
    );
  });
});

describe('the snippet rendering a banner in Chromium', () => {
  let browser: Browser;
  let context: BrowserContext;
  let website: { server: http.Server; url: string };

  /** The customer's site, on another origin than the API: a slot, and the stub calling content before load. */
  async function startWebsite(): Promise<{ server: http.Server; url: string }> {
    const server = http.createServer((_request, response) => {
      response.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(
        `<!doctype html><html><head><meta charset="utf-8"><title>Acme</title></head><body>
<div id="slot"></div>
<script>${QUEUE_STUB}
window.events = [];
document.addEventListener('nurture:content', function (e) { window.events.push(e.detail); });
analytics.content('homepage-promo', '#slot');</script>
<script src="${stack.local.apiUrl}/v1/snippet.js" data-write-key="${stack.local.writeKey}" data-auto-page="false" async></script>
</body></html>`,
      );
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const address = server.address();
    if (address === null || typeof address === 'string') throw new Error('the website has no port');
    return { server, url: `http://127.0.0.1:${address.port}` };
  }

  /** A returning visitor who consented before: the snippet picks up their anonymous id from its cookie. */
  async function visitAs(anonymousId: string) {
    await context.clearCookies();
    await context.addCookies([
      { name: 'nurture_aid', value: anonymousId, url: website.url },
      { name: 'nurture_consent', value: encodeURIComponent('{"analytics":true}'), url: website.url },
    ]);
    const page = await context.newPage();
    await page.goto(`${website.url}/`);
    await page.waitForFunction('window.events.length > 0');
    return page;
  }

  beforeAll(async () => {
    website = await startWebsite();
    browser = await launchChromium();
    context = await browser.newContext({ userAgent: CHROME });
    await assign(profileA, 'homepage-promo', {
      title: 'Hello <b>there</b>',
      body: 'A body with <script>alert(1)</script> in it',
      html: '<em class="operator">Operator markup</em>',
      cta: { label: 'Claim', url: 'https://shop.example.com/claim' },
    });
  });

  afterAll(async () => {
    await context?.close();
    await browser?.close();
    if (website) await closeServer(website.server);
  });

  it("renders the visitor's banner into the element, with title and body as text and a tracked link", async () => {
    const page = await visitAs(visitorA);

    const rendered = await page.evaluate(`(() => {
      const slot = document.querySelector('#slot');
      return {
        title: slot.querySelector('.nurture-banner-title').textContent,
        titleElements: slot.querySelectorAll('.nurture-banner-title *').length,
        bodyElements: slot.querySelectorAll('.nurture-banner-body *').length,
        html: slot.querySelector('.nurture-banner-html em.operator')?.textContent ?? null,
        link: slot.querySelector('a.nurture-banner-cta').href,
        label: slot.querySelector('a.nurture-banner-cta').textContent,
        event: window.events[0].placement,
      };
    })()`);

    expect(rendered).toMatchObject({
      title: 'Hello <b>there</b>',
      titleElements: 0,
      bodyElements: 0,
      html: 'Operator markup',
      label: 'Claim',
      event: 'homepage-promo',
    });
    expect(z.object({ link: z.string() }).parse(rendered).link.startsWith(`${stack.local.apiUrl}/e/b/`)).toBe(
      true,
    );
  });

  it('renders nothing for a visitor without a banner, and still tells the page', async () => {
    const page = await visitAs(visitorB);

    const outcome = await page.evaluate(
      `({ html: document.querySelector('#slot').innerHTML, content: window.events[0].content })`,
    );

    expect(outcome).toEqual({ html: '', content: null });
  });
});
