// Email links: the open pixel, tracked click redirects and one-click unsubscribes, each through a signed token.
import { describe, expect, it } from 'vitest';
import { addressHash } from '../../../functions/messaging/address.ts';
import {
  EmailEngagement,
  type EngagementRequest,
  type ProfileActivity,
} from '../../../functions/messaging/engagement.ts';
import {
  type MessageRecord,
  newMessageRecord,
  recordAccepted,
  recordIntent,
} from '../../../functions/messaging/lifecycle.ts';
import { type LinkToken, TokenSigner } from '../../../functions/messaging/tokens.ts';
import { InMemoryMessagingStore } from './support/in-memory-stores.ts';

// Fixtures ------------------------------------------------------------------------------------------------------

const SECRET = 'engagement-secret-0123456789abcdefghijkl';
const SENT_AT = new Date('2024-06-10T12:00:00.000Z');
const A_MINUTE_LATER = new Date('2024-06-10T12:01:00.000Z');
const EMAIL = 'jane.doe@example.com';
const GIF = 'R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7';
const DESTINATION = 'https://shop.example.com/sale?utm_source=nurture&utm_medium=email';

const BROWSER =
  'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/125.0.0.0 Safari/537.36';
const APPLE_PRIVACY_PROXY = 'Mozilla/5.0';
const LINK_SCANNER = 'Barracuda Sentinel (EE)';

const signer = new TokenSigner([SECRET]);
const foreignSigner = new TokenSigner(['someone-elses-secret-0123456789abcdefgh']);

const openToken = (messageId = 'msg_1'): LinkToken => ({ kind: 'open', messageId, profileId: 'prof-1' });
const clickToken = (messageId = 'msg_1'): LinkToken => ({
  kind: 'click',
  messageId,
  profileId: 'prof-1',
  url: DESTINATION,
  linkIndex: 2,
});
const unsubscribeToken = (topic: 'marketing' | 'transactional' = 'marketing'): LinkToken => ({
  kind: 'unsubscribe',
  messageId: 'msg_1',
  profileId: 'prof-1',
  addressHash: addressHash(EMAIL),
  topic,
});

/** A token whose body was altered after signing: the tag no longer matches. */
function tampered(token: LinkToken): string {
  const signed = signer.sign(token);
  const dot = signed.indexOf('.');
  const body = signed.slice(0, dot);
  const flipped = `${body.slice(0, -2)}${body.at(-2) === 'A' ? 'B' : 'A'}${body.at(-1)}`;
  return `${flipped}${signed.slice(dot)}`;
}

function sentMessage(overrides: { test?: boolean; messageId?: string } = {}): MessageRecord {
  const queued = newMessageRecord({
    messageId: overrides.messageId ?? 'msg_1',
    profileId: 'prof-1',
    templateId: 'welcome',
    templateVersion: null,
    idempotencyKey: 'k',
    origin: {
      journeyId: 'onboarding',
      stepId: 'welcome-email',
      variant: 'A',
      campaign: 'spring-sale',
      run: null,
    },
    toOverride: null,
    test: overrides.test ?? false,
    createdAt: SENT_AT.toISOString(),
  });
  const sending = recordIntent(queued, {
    at: SENT_AT.toISOString(),
    recipientHash: addressHash(EMAIL),
    topic: 'marketing',
    templateVersion: 1,
    subject: 'Spring sale',
  });
  const accepted = recordAccepted(sending, { at: SENT_AT.toISOString(), sesMessageId: 'ses-1' });
  if (accepted === null) throw new Error('unreachable');
  return accepted.record;
}

function setup(options: { activityFails?: boolean; test?: boolean } = {}) {
  const store = new InMemoryMessagingStore();
  store.put(sentMessage({ test: options.test }));
  const activities: ProfileActivity[] = [];
  const errors: string[] = [];
  const engagement = new EmailEngagement({
    signer: async () => signer,
    messages: store,
    addresses: store,
    recordActivity: async (activity) => {
      if (options.activityFails) throw new Error('tracking store unavailable');
      activities.push(activity);
    },
    onError: (message) => errors.push(message),
    transparentGif: GIF,
  });
  let requests = 0;
  const request = (input: {
    path: string;
    method?: string;
    userAgent?: string;
    ip?: string;
    at?: Date;
  }): EngagementRequest => {
    requests += 1;
    return {
      method: input.method ?? 'GET',
      path: input.path,
      headers: input.userAgent === undefined ? {} : { 'User-Agent': input.userAgent },
      body: input.method === 'POST' ? 'List-Unsubscribe=One-Click' : undefined,
      sourceIp: input.ip ?? '198.51.100.7',
      requestId: `req-${requests}`,
      receivedAt: input.at ?? A_MINUTE_LATER,
    };
  };
  const message = async () => {
    const record = await store.getMessage('msg_1');
    if (record === undefined) throw new Error('message missing');
    return record;
  };
  return { store, engagement, activities, errors, request, message };
}

const path = (kind: 'o' | 'c' | 'u', token: string) => `/e/${kind}/${encodeURIComponent(token)}`;

// The open pixel ------------------------------------------------------------------------------------------------

describe('the open pixel', () => {
  it('answers with the transparent GIF and counts a person’s open', async () => {
    const { engagement, request, store, activities, message } = setup();

    const response = await engagement.handle(
      request({ path: path('o', signer.sign(openToken())), userAgent: BROWSER }),
    );

    expect(response).toEqual({
      status: 200,
      headers: { 'content-type': 'image/gif', 'cache-control': 'no-store, private' },
      body: GIF,
      isBase64Encoded: true,
    });
    expect((await message()).opens).toBe(1);
    expect(store.countersOf('msg_1')).toMatchObject({ opens: 1, opened: 1, humanOpened: 1 });
    expect(activities).toMatchObject([
      {
        profileId: 'prof-1',
        event: 'Email Opened',
        properties: { messageId: 'msg_1', templateId: 'welcome', machine: false, machineReason: null },
        messageId: 'open-req-1',
        at: A_MINUTE_LATER,
        campaign: 'spring-sale',
      },
    ]);
  });

  const garbage: Array<[string, string]> = [
    ['random text', 'not-a-token'],
    ['broken percent-encoding', '%E0%A4%A'],
    ['a tampered token', encodeURIComponent(tampered(openToken()))],
    ['a token signed with another secret', encodeURIComponent(foreignSigner.sign(openToken()))],
    ['a click token', encodeURIComponent(signer.sign(clickToken()))],
    ['a token with the tag cut off', encodeURIComponent(signer.sign(openToken()).split('.')[0] ?? '')],
  ];
  for (const [name, raw] of garbage) {
    it(`still answers the GIF for ${name}, and counts nothing`, async () => {
      const { engagement, request, store, activities } = setup();

      const response = await engagement.handle(request({ path: `/e/o/${raw}`, userAgent: BROWSER }));

      expect(response).toMatchObject({ status: 200, body: GIF, headers: { 'content-type': 'image/gif' } });
      expect(store.countersOf('msg_1')).toEqual({});
      expect(activities).toEqual([]);
    });
  }

  it('answers the GIF for a valid token of a message that no longer exists', async () => {
    const { engagement, request, activities } = setup();

    const response = await engagement.handle(
      request({ path: path('o', signer.sign(openToken('msg_gone'))) }),
    );

    expect(response).toMatchObject({ status: 200, body: GIF });
    expect(activities).toEqual([]);
  });

  it('answers the GIF even when the open cannot be recorded, and reports the error', async () => {
    const { engagement, request, store, errors } = setup();
    store.getMessage = async () => {
      throw new Error('DynamoDB unavailable');
    };

    const response = await engagement.handle(request({ path: path('o', signer.sign(openToken())) }));

    expect(response).toMatchObject({ status: 200, body: GIF });
    expect(errors).toEqual(['open not recorded']);
  });

  it('counts Apple Mail Privacy Protection prefetches as machine opens, not human ones', async () => {
    const { engagement, request, store, activities } = setup();

    await engagement.handle(
      request({
        path: path('o', signer.sign(openToken())),
        userAgent: APPLE_PRIVACY_PROXY,
        ip: '17.58.0.10',
      }),
    );

    expect(store.countersOf('msg_1')).toEqual({ opens: 1, opened: 1, machineOpens: 1 });
    expect(activities[0]?.properties).toMatchObject({ machine: true, machineReason: 'apple-mpp' });
  });

  it('counts a person’s open after a machine’s as the first human open', async () => {
    const { engagement, request, store } = setup();
    const token = signer.sign(openToken());
    await engagement.handle(request({ path: path('o', token), userAgent: APPLE_PRIVACY_PROXY }));

    await engagement.handle(request({ path: path('o', token), userAgent: BROWSER }));

    expect(store.countersOf('msg_1')).toEqual({
      opens: 2,
      opened: 1,
      machineOpens: 1,
      humanOpened: 1,
    });
  });
});

// Click redirects -----------------------------------------------------------------------------------------------

describe('tracked links', () => {
  it('redirects to the signed destination and counts a person’s click', async () => {
    const { engagement, request, store, activities } = setup();

    const response = await engagement.handle(
      request({ path: path('c', signer.sign(clickToken())), userAgent: BROWSER }),
    );

    expect(response).toEqual({
      status: 302,
      headers: {
        location: DESTINATION,
        'cache-control': 'no-store, private',
        'referrer-policy': 'no-referrer',
      },
      body: '',
    });
    expect(store.countersOf('msg_1')).toEqual({
      clicks: 1,
      clicked: 1,
      humanClicked: 1,
      humanOpened: 1,
      opened: 1,
    });
    expect(activities).toMatchObject([
      {
        event: 'Email Link Clicked',
        properties: { url: DESTINATION, linkIndex: 2, machine: false, stepId: 'welcome-email', variant: 'A' },
        messageId: 'click-req-1',
      },
    ]);
  });

  it('refuses a tampered link with 400 and redirects nowhere', async () => {
    const { engagement, request, store, activities } = setup();

    const response = await engagement.handle(
      request({ path: path('c', tampered(clickToken())), userAgent: BROWSER }),
    );

    expect(response.status).toBe(400);
    expect(response.headers.location).toBeUndefined();
    expect(response.headers['content-type']).toContain('text/html');
    expect(response.body).toContain('This link is not valid');
    expect(store.countersOf('msg_1')).toEqual({});
    expect(activities).toEqual([]);
  });

  it('refuses an open token on the click path with 400', async () => {
    const { engagement, request } = setup();

    const response = await engagement.handle(request({ path: path('c', signer.sign(openToken())) }));

    expect(response.status).toBe(400);
  });

  it('still redirects and counts the click when the profile activity cannot be recorded', async () => {
    const { engagement, request, store, errors } = setup({ activityFails: true });

    const response = await engagement.handle(
      request({ path: path('c', signer.sign(clickToken())), userAgent: BROWSER }),
    );

    expect(response).toMatchObject({ status: 302, headers: { location: DESTINATION } });
    expect(store.countersOf('msg_1')).toMatchObject({ clicks: 1, clicked: 1, humanClicked: 1 });
    expect(errors).toEqual(['click not recorded']);
  });

  it('counts a mail security scanner’s click as a machine click', async () => {
    const { engagement, request, store, activities } = setup();

    await engagement.handle(request({ path: path('c', signer.sign(clickToken())), userAgent: LINK_SCANNER }));

    expect(store.countersOf('msg_1')).toEqual({ clicks: 1, clicked: 1, machineClicks: 1 });
    expect(activities[0]?.properties).toMatchObject({ machine: true, machineReason: 'security-scanner' });
  });

  it('counts a click within seconds of sending as a machine click, even from a browser', async () => {
    const { engagement, request, store } = setup();

    await engagement.handle(
      request({
        path: path('c', signer.sign(clickToken())),
        userAgent: BROWSER,
        at: new Date(SENT_AT.getTime() + 2_000),
      }),
    );

    expect(store.countersOf('msg_1')).toMatchObject({ machineClicks: 1 });
    expect(store.countersOf('msg_1').humanClicked).toBeUndefined();
  });

  it('counts only the first person’s click as clicked, every click as a click', async () => {
    const { engagement, request, store } = setup();
    const token = signer.sign(clickToken());

    await engagement.handle(request({ path: path('c', token), userAgent: BROWSER }));
    await engagement.handle(request({ path: path('c', token), userAgent: BROWSER }));

    expect(store.countersOf('msg_1')).toMatchObject({ clicks: 2, clicked: 1, humanClicked: 1 });
  });

  it('redirects test sends without counting them or recording profile activity', async () => {
    const { engagement, request, store, activities, message } = setup({ test: true });

    const response = await engagement.handle(
      request({ path: path('c', signer.sign(clickToken())), userAgent: BROWSER }),
    );

    expect(response.status).toBe(302);
    expect((await message()).clicks).toBe(1);
    expect(store.countersOf('msg_1')).toEqual({});
    expect(activities).toEqual([]);
  });
});

// Unsubscribes --------------------------------------------------------------------------------------------------

describe('unsubscribe links', () => {
  it('only shows a confirmation page on GET, because link scanners follow GETs', async () => {
    const { engagement, request, store, activities, message } = setup();
    const unsubscribePath = path('u', signer.sign(unsubscribeToken()));

    const response = await engagement.handle(request({ path: unsubscribePath, userAgent: LINK_SCANNER }));

    expect(response.status).toBe(200);
    expect(response.body).toContain('<form method="post"');
    expect(response.body).toContain(`action="${unsubscribePath}"`);
    expect(await store.getAddress(addressHash(EMAIL))).toBeNull();
    expect((await message()).unsubscribedAt).toBeNull();
    expect(store.countersOf('msg_1')).toEqual({});
    expect(activities).toEqual([]);
  });

  it('unsubscribes the address on POST and records it on the message and the profile', async () => {
    const { engagement, request, store, activities, message } = setup();

    const response = await engagement.handle(
      request({ path: path('u', signer.sign(unsubscribeToken())), method: 'POST' }),
    );

    expect(response.status).toBe(200);
    expect(response.body).toContain('You are unsubscribed');
    expect((await store.getAddress(addressHash(EMAIL)))?.unsubscribed).toEqual({
      marketing: A_MINUTE_LATER.toISOString(),
    });
    expect((await message()).unsubscribedAt).toBe(A_MINUTE_LATER.toISOString());
    expect(store.countersOf('msg_1')).toEqual({ unsubscribed: 1 });
    expect(activities).toMatchObject([
      {
        profileId: 'prof-1',
        event: 'Unsubscribed',
        properties: { topic: 'marketing', messageId: 'msg_1' },
        messageId: 'unsubscribe-msg_1-marketing',
      },
    ]);
  });

  it('treats a second POST as done: same page, no second count, no second activity', async () => {
    const { engagement, request, store, activities } = setup();
    const unsubscribePath = path('u', signer.sign(unsubscribeToken()));
    await engagement.handle(request({ path: unsubscribePath, method: 'POST' }));

    const again = await engagement.handle(
      request({ path: unsubscribePath, method: 'POST', at: new Date('2024-06-11T08:00:00.000Z') }),
    );

    expect(again.status).toBe(200);
    expect(again.body).toContain('You are unsubscribed');
    expect((await store.getAddress(addressHash(EMAIL)))?.unsubscribed.marketing).toBe(
      A_MINUTE_LATER.toISOString(),
    );
    expect(store.countersOf('msg_1')).toEqual({ unsubscribed: 1 });
    expect(activities).toHaveLength(1);
  });

  it('unsubscribes only from the topic the link names', async () => {
    const { engagement, request, store } = setup();

    await engagement.handle(
      request({ path: path('u', signer.sign(unsubscribeToken('transactional'))), method: 'POST' }),
    );

    expect((await store.getAddress(addressHash(EMAIL)))?.unsubscribed).toEqual({
      transactional: A_MINUTE_LATER.toISOString(),
    });
  });

  it('refuses a tampered unsubscribe link with 400 and changes nothing', async () => {
    const { engagement, request, store, activities } = setup();

    const response = await engagement.handle(
      request({ path: path('u', tampered(unsubscribeToken())), method: 'POST' }),
    );

    expect(response.status).toBe(400);
    expect(await store.getAddress(addressHash(EMAIL))).toBeNull();
    expect(activities).toEqual([]);
  });
});

describe('other paths', () => {
  it('answers 404 for a path that is not an email link', async () => {
    const { engagement, request } = setup();

    const response = await engagement.handle(request({ path: '/e/x/anything' }));

    expect(response.status).toBe(404);
  });
});
