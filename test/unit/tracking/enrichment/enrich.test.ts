// Enrichment of a normalized event: which field each fact is read from, and how the pieces combine.
import { describe, expect, it } from 'vitest';
import { enrich } from '../../../../functions/tracking/enrichment/index.ts';
import type { JsonObject, NormalizedEvent } from '../../../../functions/tracking/model.ts';

const RECEIVED_AT = new Date('2024-06-01T12:00:00.000Z');
const IPHONE =
  'Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1';
const WINDOWS_CHROME =
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36';
const GOOGLEBOT = 'Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)';

function event(overrides: Partial<NormalizedEvent> = {}): NormalizedEvent {
  return {
    type: 'track',
    protocol: 'segment',
    messageId: 'msg-1',
    anonymousId: 'anon-1',
    event: 'Order Completed',
    traits: {},
    properties: {},
    context: {},
    ...overrides,
  };
}

function browserPage(context: JsonObject, properties: JsonObject = {}): NormalizedEvent {
  return event({ type: 'page', event: undefined, properties, context });
}

describe('enrichment of a browser page view', () => {
  const pageView = browserPage({
    userAgent: IPHONE,
    ip: '203.0.113.42',
    page: {
      url: 'https://www.example.com/pricing?utm_source=newsletter',
      referrer: 'https://l.facebook.com/l.php?u=x',
    },
    campaign: { source: 'facebook', medium: 'paid', name: 'Spring' },
  });

  it('combines time, touch, device, bot flag and truncated IP', () => {
    const enrichment = enrich(
      { ...pageView, sentAt: '2024-06-01T12:00:05.000Z', clientTimestamp: '2024-06-01T12:00:00.000Z' },
      { receivedAt: RECEIVED_AT, sourceIp: '198.51.100.7', userAgentHeader: WINDOWS_CHROME },
    );

    expect(enrichment).toEqual({
      eventTime: '2024-06-01T11:59:55.000Z',
      receivedAt: '2024-06-01T12:00:00.000Z',
      touch: {
        channel: 'paid social',
        campaign: 'Spring',
        landingPage: '/pricing',
        referrer: 'https://l.facebook.com/l.php',
        source: 'facebook',
        medium: 'paid',
      },
      device: 'mobile',
      isBot: false,
      ip: '203.0.113.0',
      browser: 'Mobile Safari',
      os: 'iOS',
    });
  });
});

describe('where enrichment reads each fact', () => {
  it('takes the user agent from the request header when the context has none', () => {
    const enrichment = enrich(browserPage({}), { receivedAt: RECEIVED_AT, userAgentHeader: IPHONE });

    expect(enrichment).toMatchObject({ device: 'mobile', browser: 'Mobile Safari', os: 'iOS', isBot: false });
  });

  it('takes the IP from the connection when the context has none', () => {
    expect(enrich(event(), { receivedAt: RECEIVED_AT, sourceIp: '198.51.100.7' }).ip).toBe('198.51.100.0');
  });

  it('reports no IP when neither the context nor the connection has one', () => {
    expect(enrich(event(), { receivedAt: RECEIVED_AT }).ip).toBeNull();
  });

  it('reads the page URL and referrer from the properties of a page call without context.page', () => {
    const pageView = browserPage(
      {},
      { url: 'https://www.example.com/blog/post', referrer: 'https://www.google.nl/' },
    );

    const { touch } = enrich(pageView, { receivedAt: RECEIVED_AT });

    expect(touch).toMatchObject({ channel: 'organic search', landingPage: '/blog/post' });
  });

  it('ignores properties.url on a track call, where it describes something else', () => {
    const tracked = event({ properties: { url: 'https://example.com/product?utm_medium=email' } });

    expect(enrich(tracked, { receivedAt: RECEIVED_AT }).touch.channel).toBe('direct');
  });

  it('prefers context.page over page properties', () => {
    const pageView = browserPage(
      { page: { url: 'https://www.example.com/from-context' } },
      { url: 'https://www.example.com/from-properties' },
    );

    expect(enrich(pageView, { receivedAt: RECEIVED_AT }).touch.landingPage).toBe('/from-context');
  });

  it('reads UTM parameters from the page URL when the context has no campaign', () => {
    const pageView = browserPage({
      page: { url: 'https://www.example.com/?utm_medium=email&utm_campaign=may' },
    });

    expect(enrich(pageView, { receivedAt: RECEIVED_AT }).touch).toMatchObject({
      channel: 'email',
      campaign: 'may',
    });
  });

  it('reads a numeric campaign name as text', () => {
    const pageView = browserPage({ campaign: { medium: 'email', name: 2024 } });

    expect(enrich(pageView, { receivedAt: RECEIVED_AT }).touch.campaign).toBe('2024');
  });

  it('ignores context fields of the wrong shape', () => {
    const odd = browserPage({
      userAgent: 42,
      ip: ['203.0.113.1'],
      page: 'https://example.com/',
      campaign: [1, 2],
    });

    expect(enrich(odd, { receivedAt: RECEIVED_AT })).toMatchObject({
      device: 'desktop',
      ip: null,
      isBot: false,
      touch: { channel: 'direct', landingPage: null },
    });
  });

  it('reads only fields of the event itself, never inherited ones', () => {
    const inherited: JsonObject = Object.create({ ip: '203.0.113.9', userAgent: GOOGLEBOT });

    expect(enrich(event({ context: inherited }), { receivedAt: RECEIVED_AT })).toMatchObject({
      ip: null,
      isBot: false,
    });
  });

  it('treats a referrer on the workspace site as internal', () => {
    const pageView = browserPage({
      page: { url: 'https://shop.example.com/cart', referrer: 'https://www.example.com/pricing' },
    });

    expect(enrich(pageView, { receivedAt: RECEIVED_AT, siteHost: 'example.com' }).touch.channel).toBe(
      'direct',
    );
  });

  it('uses receivedAt as the event time when the client sent no timestamp', () => {
    expect(enrich(event(), { receivedAt: RECEIVED_AT }).eventTime).toBe('2024-06-01T12:00:00.000Z');
  });
});

describe('bot flag', () => {
  it('flags a crawler identified by context.userAgent', () => {
    expect(enrich(browserPage({ userAgent: GOOGLEBOT }), { receivedAt: RECEIVED_AT }).isBot).toBe(true);
  });

  it('flags a crawler that fetched a pixel', () => {
    const pixel = event({ type: 'page', protocol: 'pixel' });

    expect(enrich(pixel, { receivedAt: RECEIVED_AT, userAgentHeader: GOOGLEBOT }).isBot).toBe(true);
  });

  it('flags a script that fetched a pixel', () => {
    const pixel = event({ type: 'page', protocol: 'pixel' });

    expect(enrich(pixel, { receivedAt: RECEIVED_AT, userAgentHeader: 'curl/8.4.0' }).isBot).toBe(true);
  });

  it('flags a browser-like crawler header on the tracking API', () => {
    const snowplow = event({ protocol: 'snowplow' });

    expect(enrich(snowplow, { receivedAt: RECEIVED_AT, userAgentHeader: GOOGLEBOT }).isBot).toBe(true);
  });

  it.each([
    ['analytics-node', 'analytics-node-next/latest'],
    ['RudderStack node', 'analytics-node/3.0.13'],
    ['a Python script', 'python-requests/2.31.0'],
    ['no header at all', undefined],
  ])('does not flag a server-side order sent by %s as a bot', (_name, header) => {
    const order = event({ userId: 'user-1', properties: { revenue: 120 } });

    expect(enrich(order, { receivedAt: RECEIVED_AT, userAgentHeader: header }).isBot).toBe(false);
  });

  it('lets context.userAgent vouch for a browser even when the header is a library', () => {
    const relayed = browserPage({ userAgent: WINDOWS_CHROME });

    expect(enrich(relayed, { receivedAt: RECEIVED_AT, userAgentHeader: 'axios/1.6.0' }).isBot).toBe(false);
  });
});

describe('device of a mobile app event', () => {
  it('counts an iOS app on an iPhone as mobile', () => {
    const screen = event({
      type: 'screen',
      context: { device: { type: 'ios', model: 'iPhone14,5' }, os: { name: 'iOS', version: '17.1' } },
    });

    expect(
      enrich(screen, { receivedAt: RECEIVED_AT, userAgentHeader: 'MyApp/3 CFNetwork/1410.0.3' }),
    ).toMatchObject({
      device: 'mobile',
      os: 'iOS',
      browser: null,
      isBot: false,
    });
  });

  it('counts an iOS app on an iPad as tablet', () => {
    const screen = event({ type: 'screen', context: { device: { type: 'ios', model: 'iPad13,1' } } });

    expect(enrich(screen, { receivedAt: RECEIVED_AT })).toMatchObject({ device: 'tablet', os: 'iOS' });
  });

  it('counts an Android app as mobile', () => {
    const screen = event({ type: 'screen', context: { os: { name: 'Android' } } });

    expect(enrich(screen, { receivedAt: RECEIVED_AT }).device).toBe('mobile');
  });

  it('lets a browser user agent in the context win over the device description', () => {
    const pageView = browserPage({ userAgent: WINDOWS_CHROME, device: { type: 'android' } });

    expect(enrich(pageView, { receivedAt: RECEIVED_AT }).device).toBe('desktop');
  });

  it('counts a server event without any device hint as desktop', () => {
    expect(enrich(event(), { receivedAt: RECEIVED_AT }).device).toBe('desktop');
  });
});
