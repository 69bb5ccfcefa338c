import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import http from 'node:http';
import type { Browser, BrowserContext } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { closeServer } from '../../lib/local/json-protocol.ts';
import { launchChromium } from './support/chromium.ts';
import {
  type LocalJson,
  type LocalStackProcess,
  startLocalStackProcess,
} from './support/local-stack-process.ts';

const Touch = z.object({
  channel: z.string(),
  campaign: z.string().nullable(),
  landingPage: z.string().nullable(),
  source: z.string().nullable(),
  medium: z.string().nullable(),
});
const Profile = z.object({
  id: z.string(),
  userId: z.string().nullable(),
  anonymousIds: z.array(z.string()),
  emails: z.array(z.string()),
  firstTouch: Touch.nullable(),
  counters: z.object({ events: z.number(), pageViews: z.number(), sessions: z.number() }),
  mergedFrom: z.array(z.string()),
});
type Profile = z.infer<typeof Profile>;

/** The customer's website, on another origin than the API, carrying the snippet served by the API. */
async function startWebsite(local: LocalJson): Promise<{ server: http.Server; url: string }> {
  const snippet = `<script src="${local.apiUrl}/v1/snippet.js" data-write-key="${local.writeKey}" async></script>`;
  const pages = new Map<string, string>([
    ['/landing', `<h1>Spring offer</h1><a id="next" href="/second">See the plans</a>`],
    ['/second', `<h1>Plans</h1><button id="signup" type="button">Sign up</button>`],
  ]);
  const server = http.createServer((request, response) => {
    const path = (request.url ?? '/').split('?')[0] ?? '/';
    const body = pages.get(path);
    if (body === undefined) {
      response.writeHead(404).end();
      return;
    }
    response
      .writeHead(200, { 'content-type': 'text/html; charset=utf-8' })
      .end(
        `<!doctype html><html><head><meta charset="utf-8"><title>Acme ${path.slice(1)}</title>${snippet}</head>` +
          `<body>${body}</body></html>`,
      );
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('the website has no port');
  return { server, url: `http://127.0.0.1:${address.port}` };
}

let stack: LocalStackProcess;
let website: { server: http.Server; url: string };
let browser: Browser;

beforeAll(async () => {
  stack = await startLocalStackProcess({ args: ['--fresh'] });
  website = await startWebsite(stack.local);
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
  if (website) await closeServer(website.server);
  await stack?.dispose();
});

async function profileBy(kind: 'userId' | 'anonymousId', value: string): Promise<Profile | undefined> {
  const response = await fetch(`${stack.local.apiUrl}/admin/profiles?${kind}=${encodeURIComponent(value)}`, {
    headers: { authorization: `Bearer ${stack.local.adminToken}` },
  });
  if (response.status === 404) return undefined;
  if (response.status !== 200) throw new Error(`profile lookup answered ${response.status}`);
  return Profile.parse(await response.json());
}

const profileByUserId = (userId: string) => profileBy('userId', userId);
const profileByAnonymousId = (anonymousId: string) => profileBy('anonymousId', anonymousId);

describe('a visitor tracked by the snippet in Chromium', () => {
  let context: BrowserContext;

  beforeAll(async () => {
    // Headless Chromium says "HeadlessChrome" in its user agent, which the API rightly counts as a bot and keeps
    // out of profiles; the visitor this test plays is a person, with the user agent of desktop Chrome.
    context = await browser.newContext({
      userAgent: `Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/${browser.version()} Safari/537.36`,
    });
  });

  afterAll(async () => {
    await context?.close();
  });

  it('sends nothing before consent, then files both page views, the campaign and the identity in one profile', async () => {
    const userId = `user-${randomUUID()}`;
    const email = `e2e-${randomUUID()}@example.com`;
    const page = await context.newPage();
    const trackingRequests: string[] = [];
    page.on('request', (request) => {
      const url = new URL(request.url());
      if (url.origin === new URL(stack.local.apiUrl).origin && url.pathname !== '/v1/snippet.js')
        trackingRequests.push(`${request.method()} ${url.pathname}`);
    });

    await page.goto(`${website.url}/landing?utm_source=newsletter&utm_medium=email&utm_campaign=spring`);
    await page.waitForFunction('window.analytics && window.analytics.initialized === true');
    // Gives a stray request (there should be none) the time to leave the page before asserting that none did.
    await new Promise((resolve) => setTimeout(resolve, 500));
    const beforeConsent = [...trackingRequests];

    await page.evaluate('analytics.consent({ analytics: true })');
    await expect.poll(() => trackingRequests.length, { timeout: 5_000 }).toBeGreaterThanOrEqual(2);
    await Promise.all([page.waitForURL('**/second'), page.click('#next')]);
    await page.waitForFunction('window.analytics && window.analytics.initialized === true');
    await page.evaluate(`analytics.identify(${JSON.stringify(userId)}, { email: ${JSON.stringify(email)} })`);

    expect(beforeConsent).toEqual([]);
    // Polls for the whole picture: while the identify request is still merging, the profile can already hold both
    // page views without the user id.
    await expect
      .poll(() => profileByUserId(userId), { timeout: 10_000, interval: 250 })
      .toMatchObject({
        userId,
        emails: [email],
        firstTouch: {
          channel: 'email',
          campaign: 'spring',
          source: 'newsletter',
          medium: 'email',
          landingPage: '/landing',
        },
        counters: { pageViews: 2, sessions: 1 },
      });
    const profile = await profileByUserId(userId);
    // Both page views, the consent choice and the identify: nothing lost, nothing counted twice.
    expect(profile?.counters.events).toBe(4);
    expect(profile?.anonymousIds).toHaveLength(1);
    const [anonymousId] = profile?.anonymousIds ?? [];
    expect((await profileByAnonymousId(anonymousId ?? ''))?.id).toBe(profile?.id);
    expect(trackingRequests).toEqual(expect.arrayContaining(['POST /v1/p', 'POST /v1/t', 'POST /v1/i']));
  });
});
