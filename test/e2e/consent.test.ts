// Consent end to end: a consent banner on a real page in Chromium, evidence on the profile, and an operator's withdrawal
// through the admin API stopping the visitor's banner, segment membership and marketing email within seconds.
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import { Ajv2020 } from 'ajv/dist/2020.js';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { closeServer } from '../../lib/local/json-protocol.ts';
import { launchChromium } from './support/chromium.ts';
import {
  admin,
  eventually,
  type LocalStackProcess,
  startLocalStackProcess,
} from './support/local-stack-process.ts';

const openapi = z
  .object({ components: z.object({ schemas: z.record(z.string(), z.record(z.string(), z.unknown())) }) })
  .parse(JSON.parse(readFileSync(new URL('../../docs/openapi.json', import.meta.url), 'utf8')));
const ajv = new Ajv2020({ strict: false, allErrors: true });

/** Asserts a response's status and that its JSON body matches the named component schema of docs/openapi.json. */
async function conforms(response: Response, status: number, schemaName: string): Promise<unknown> {
  const body: unknown = await response.json();
  const schema = openapi.components.schemas[schemaName];
  if (!schema) throw new Error(`no component ${schemaName}`);
  const validate = ajv.getSchema(`urn:nurture:schema:${schemaName}`) ?? ajv.compile(schema);
  expect(response.status, JSON.stringify(body)).toBe(status);
  expect(validate(body), `${schemaName}: ${JSON.stringify(validate.errors)}`).toBe(true);
  return body;
}

const ProfileConsent = z.object({
  profileId: z.string(),
  purposes: z.object({ tracking: z.string(), emailMarketing: z.string(), personalization: z.string() }),
  evidence: z.record(z.string(), z.unknown()).nullable(),
  history: z.array(z.object({ source: z.string(), evidence: z.record(z.string(), z.unknown()).nullable() })),
});
const VisitorIds = z.object({ anonymousId: z.string().nullable(), userId: z.string().nullable() });
const Message = z.object({ status: z.string(), reason: z.string().nullable() }).loose();

const BANNER_VERSION = '2025-05-consent-v3';
/**
 * The site's consent banner, as a consent platform would do it: buttons that announce the visitor's choice as a
 * `nurture:consent` DOM event, with the evidence a DPO needs (banner version and a hash of the text shown).
 */
const CONSENT_BANNER = `<div id="cmp">We use analytics and personalise offers.
  <button id="accept" type="button">Accept all</button><button id="refuse" type="button">Refuse</button></div>
<script>
  function answer(granted) {
    window.dispatchEvent(new CustomEvent('nurture:consent', { detail: {
      categoryPreferences: { analytics: granted, personalization: granted, marketing: granted },
      evidence: { method: 'banner', bannerVersion: '${BANNER_VERSION}', textHash: 'sha256:5d1c07' },
    } }));
    document.getElementById('cmp').remove();
  }
  document.getElementById('accept').onclick = function () { answer(true); };
  document.getElementById('refuse').onclick = function () { answer(false); };
</script>
<div id="hero"></div>`;

const NEWS_MJML = `<mjml><mj-body><mj-section><mj-column>
  <mj-text>Hello {{ traits.firstName | default: "there" }}, this week's offers.</mj-text>
  <mj-text><a href="{{ unsubscribe_url }}">Unsubscribe</a></mj-text>
</mj-column></mj-section></mj-body></mjml>`;

let stack: LocalStackProcess;
let website: { server: http.Server; url: string };
let browser: Browser;

async function startWebsite(
  local: LocalStackProcess['local'],
): Promise<{ server: http.Server; url: string }> {
  const snippet = `<script src="${local.apiUrl}/v1/snippet.js" data-write-key="${local.writeKey}" async></script>`;
  const server = http.createServer((request, response) => {
    if ((request.url ?? '/').split('?')[0] !== '/shop') {
      response.writeHead(404).end();
      return;
    }
    response
      .writeHead(200, { 'content-type': 'text/html; charset=utf-8' })
      .end(
        `<!doctype html><html><head><meta charset="utf-8"><title>Shop</title>${snippet}</head><body>${CONSENT_BANNER}</body></html>`,
      );
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('the website has no port');
  return { server, url: `http://127.0.0.1:${address.port}` };
}

beforeAll(async () => {
  stack = await startLocalStackProcess({ args: ['--fresh'] });
  website = await startWebsite(stack.local);
  browser = await launchChromium();
  const template = await admin(stack, '/admin/templates/weekly-offers', {
    method: 'PUT',
    body: JSON.stringify({ subject: 'This week at the shop', mjml: NEWS_MJML }),
  });
  expect(template.status).toBe(201);
  const segment = await admin(stack, '/admin/segments/personalizable', {
    method: 'PUT',
    body: JSON.stringify({
      id: 'personalizable',
      name: 'May be personalized',
      rule: { purpose: 'personalization', state: 'granted' },
    }),
  });
  expect(segment.status).toBe(201);
}, 180_000);

afterAll(async () => {
  await browser?.close();
  if (website) await closeServer(website.server);
  await stack?.dispose();
});

describe('consent from a banner on the site to every channel', { timeout: 90_000 }, () => {
  let context: BrowserContext;
  let page: Page;
  const apiRequests: string[] = [];
  const userId = `user-${randomUUID()}`;
  const email = `consent-${randomUUID()}@example.com`;
  let profileId = '';

  beforeAll(async () => {
    // Headless Chromium's own user agent reads as a bot, which the API keeps out of profiles.
    context = await browser.newContext({
      userAgent: `Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/${browser.version()} Safari/537.36`,
    });
    page = await context.newPage();
    page.on('request', (request) => {
      const url = new URL(request.url());
      if (url.origin === new URL(stack.local.apiUrl).origin && url.pathname !== '/v1/snippet.js')
        apiRequests.push(`${request.method()} ${url.pathname}`);
    });
  });

  afterAll(async () => {
    await context?.close();
  });

  it('sends no request and sets no cookie before the visitor answers the consent banner', async () => {
    await page.goto(`${website.url}/shop?utm_campaign=may&email=${encodeURIComponent(email)}`);
    await page.waitForFunction('window.analytics && window.analytics.initialized === true');
    await page.evaluate("analytics.track('Viewed Offer')");
    await new Promise((resolve) => setTimeout(resolve, 750));

    expect(apiRequests).toEqual([]);
    expect(await context.cookies()).toEqual([]);
  });

  it("puts the banner's choice on the profile with its evidence: banner version, text hash and page", async () => {
    await page.click('#accept');
    await page.evaluate(`analytics.identify('${userId}', { email: '${email}', firstName: 'Ada' })`);

    profileId = await eventually(async () => {
      const found = await admin(stack, `/admin/profiles?userId=${userId}`);
      if (found.status !== 200) return undefined;
      const profile = z.object({ id: z.string(), emails: z.array(z.string()) }).parse(await found.json());
      return profile.emails.includes(email) ? profile.id : undefined;
    }, 20_000);
    const consent = await eventually(async () => {
      const answer = ProfileConsent.parse(
        await conforms(await admin(stack, `/admin/profiles/${profileId}/consent`), 200, 'ProfileConsent'),
      );
      return answer.evidence === null ? undefined : answer;
    });

    expect(consent.purposes).toEqual({
      tracking: 'granted',
      emailMarketing: 'granted',
      personalization: 'granted',
    });
    // The page is recorded without its query string, which here carries the visitor's email address.
    expect(consent.evidence).toEqual({
      method: 'banner',
      bannerVersion: BANNER_VERSION,
      textHash: 'sha256:5d1c07',
      url: `${website.url}/shop`,
    });
    const { anonymousId } = VisitorIds.parse(await page.evaluate('analytics.user()'));
    expect(anonymousId).not.toBeNull();
    expect((await context.cookies()).map((cookie) => cookie.name).sort()).toEqual([
      'nurture_aid',
      'nurture_consent',
      'nurture_uid',
    ]);
  });

  it('stops the banner, the segment and marketing email within seconds of a withdrawal through the admin API', async () => {
    const assigned = await admin(stack, `/admin/profiles/${profileId}/banners/hero`, {
      method: 'PUT',
      body: JSON.stringify({ title: 'Just for you', body: '10% off your favourite brand' }),
    });
    expect(assigned.status).toBe(200);
    expect(await page.evaluate("analytics.content('hero', '#hero').then((c) => c && c.title)")).toBe(
      'Just for you',
    );
    await eventually(async () => {
      const segments = z
        .object({ segments: z.array(z.object({ segmentId: z.string() })) })
        .parse(await (await admin(stack, `/admin/profiles/${profileId}/segments`)).json());
      return segments.segments.some((s) => s.segmentId === 'personalizable') ? true : undefined;
    }, 30_000);

    const withdrawn = await admin(stack, `/admin/profiles/${profileId}/consent`, {
      method: 'PUT',
      body: JSON.stringify({
        purposes: { personalization: false, emailMarketing: false },
        source: 'crm',
        evidence: { method: 'phone', reference: 'call-2291' },
      }),
    });
    const answer = ProfileConsent.parse(await conforms(withdrawn, 200, 'ProfileConsent'));
    const started = Date.now();

    expect(answer.purposes).toEqual({
      tracking: 'granted',
      emailMarketing: 'denied',
      personalization: 'denied',
    });
    expect(answer.history.map((change) => change.source).at(-1)).toBe('crm');
    expect(await page.evaluate("analytics.content('hero', '#hero')")).toBeNull();
    const queued = await admin(stack, '/admin/messages', {
      method: 'POST',
      body: JSON.stringify({ profileId, templateId: 'weekly-offers', idempotencyKey: randomUUID() }),
    });
    expect(queued.status).toBe(202);
    const { messageId } = z.object({ messageId: z.string() }).parse(await queued.json());
    const message = await eventually(async () => {
      const current = Message.parse(await (await admin(stack, `/admin/messages/${messageId}`)).json());
      return ['skipped', 'sent', 'delivered'].includes(current.status) ? current : undefined;
    }, 30_000);
    expect(message).toMatchObject({ status: 'skipped', reason: 'consent-withheld' });
    await eventually(async () => {
      const segments = z
        .object({ segments: z.array(z.object({ segmentId: z.string() })) })
        .parse(await (await admin(stack, `/admin/profiles/${profileId}/segments`)).json());
      return segments.segments.some((s) => s.segmentId === 'personalizable') ? undefined : true;
    }, 15_000);
    expect(Date.now() - started).toBeLessThan(15_000);
  });

  it('tells the API when the visitor withdraws in the browser, and keeps only that decision', async () => {
    const before = z
      .object({ counters: z.object({ events: z.number() }) })
      .parse(await (await admin(stack, `/admin/profiles/${profileId}`)).json()).counters.events;

    await page.evaluate("analytics.consent({ analytics: false }); analytics.track('Viewed Docs')");

    const consent = await eventually(async () => {
      const answer = ProfileConsent.parse(
        await (await admin(stack, `/admin/profiles/${profileId}/consent`)).json(),
      );
      return answer.purposes.tracking === 'denied' ? answer : undefined;
    });
    expect(consent.purposes.tracking).toBe('denied');
    expect(await context.cookies()).toEqual([]);
    const after = z
      .object({ counters: z.object({ events: z.number() }) })
      .parse(await (await admin(stack, `/admin/profiles/${profileId}`)).json()).counters.events;
    expect(after).toBe(before);
  });
});
