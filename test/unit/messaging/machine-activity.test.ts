// Machine opens and clicks: what privacy proxies, prefetchers and link scanners look like, and what people look like.
import { describe, expect, it } from 'vitest';
import {
  classifyClick,
  classifyOpen,
  MIN_HUMAN_CLICK_DELAY_MS,
  type TrackingRequest,
} from '../../../functions/messaging/machine-activity.ts';

// Real user agents, as mail clients, proxies and scanners send them ------------------------------------------------

const CHROME_WINDOWS =
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36';
const SAFARI_IOS =
  'Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1';
/** Apple Mail on iOS loading images itself (Mail Privacy Protection off). */
const APPLE_MAIL_IOS =
  'Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148';
const OUTLOOK_DESKTOP = 'Mozilla/4.0 (compatible; ms-office; MSOffice 16)';
const OUTLOOK_DESKTOP_NEW = 'Microsoft Office/16.0 (Windows NT 10.0; Microsoft Outlook 16.0.17328; Pro)';
const GMAIL_IMAGE_PROXY =
  'Mozilla/5.0 (Windows NT 5.1; rv:11.0) Gecko Firefox/11.0 (via ggpht.com GoogleImageProxy)';
const APPLE_MPP = 'Mozilla/5.0';
const GOOGLEBOT = 'Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)';
const HEADLESS_CHROME =
  'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/120.0.0.0 Safari/537.36';
const CURL = 'curl/8.4.0';
const BARRACUDA = 'Barracuda Sentinel (EE)';
const MIMECAST = 'Mimecast-Link-Scanner';
const PROOFPOINT = 'Mozilla/5.0 (compatible; Proofpoint URL Defense)';
const TREND_MICRO = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) Trend Micro Email Security';
const OFFICE_EXISTENCE_DISCOVERY =
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/70.0.3538.102 Safari/537.36 Edge/18.19582 Microsoft Office Existence Discovery';

const HOME_IP = '203.0.113.24';
const APPLE_PROXY_IP = '17.58.63.100';
const GOOGLE_PROXY_IP = '66.249.84.12';

const SENT_AT = new Date('2024-06-10T12:00:00.000Z');

function request(overrides: Partial<TrackingRequest> = {}): TrackingRequest {
  return {
    userAgent: CHROME_WINDOWS,
    ip: HOME_IP,
    method: 'GET',
    sentAt: SENT_AT,
    at: new Date(SENT_AT.getTime() + 3 * 60_000),
    ...overrides,
  };
}

const HUMAN = { machine: false, reason: null };

// Opens -------------------------------------------------------------------------------------------------------------

describe('opens', () => {
  it.each([
    ['Chrome on Windows', CHROME_WINDOWS],
    ['Safari on iOS', SAFARI_IOS],
    ['Apple Mail on iOS without privacy protection', APPLE_MAIL_IOS],
    ['Outlook desktop', OUTLOOK_DESKTOP],
    ['Outlook desktop (Microsoft Office agent)', OUTLOOK_DESKTOP_NEW],
  ])('counts an open from %s as a person', (_client, userAgent) => {
    expect(classifyOpen(request({ userAgent }))).toEqual(HUMAN);
  });

  it('counts an open through Gmail’s image proxy as a person, though the proxy fetched it', () => {
    expect(classifyOpen(request({ userAgent: GMAIL_IMAGE_PROXY, ip: GOOGLE_PROXY_IP }))).toEqual(HUMAN);
  });

  it('flags Apple Mail Privacy Protection’s prefetch by its bare user agent', () => {
    expect(classifyOpen(request({ userAgent: APPLE_MPP, ip: HOME_IP }))).toEqual({
      machine: true,
      reason: 'apple-mpp',
    });
  });

  it.each([APPLE_PROXY_IP, '17.0.0.1', '17.255.255.255', '::ffff:17.58.63.100'])(
    'flags an open from Apple’s network %s as privacy-protection prefetch',
    (ip) => {
      expect(classifyOpen(request({ userAgent: SAFARI_IOS, ip }))).toEqual({
        machine: true,
        reason: 'apple-mpp',
      });
    },
  );

  it.each(['170.1.2.3', '117.58.63.100', '18.0.0.1', '2001:db8::17', 'not-an-ip'])(
    'does not mistake %s for Apple’s network',
    (ip) => {
      expect(classifyOpen(request({ userAgent: SAFARI_IOS, ip }))).toEqual(HUMAN);
    },
  );

  it.each([
    ['Googlebot', GOOGLEBOT],
    ['headless Chrome', HEADLESS_CHROME],
    ['curl', CURL],
  ])('flags an open by %s as a bot', (_name, userAgent) => {
    expect(classifyOpen(request({ userAgent }))).toEqual({ machine: true, reason: 'bot' });
  });

  it('flags an open by a mail security gateway as a scanner', () => {
    expect(classifyOpen(request({ userAgent: BARRACUDA }))).toEqual({
      machine: true,
      reason: 'security-scanner',
    });
  });

  it('flags a HEAD request for the pixel', () => {
    expect(classifyOpen(request({ method: 'HEAD' }))).toEqual({ machine: true, reason: 'head-request' });
  });

  it.each([undefined, '', '   '])('flags an open without a user agent (%j)', (userAgent) => {
    expect(classifyOpen(request({ userAgent }))).toEqual({ machine: true, reason: 'no-user-agent' });
  });

  it('counts an open seconds after the send as a person: people open from notifications', () => {
    expect(classifyOpen(request({ at: new Date(SENT_AT.getTime() + 1_000) }))).toEqual(HUMAN);
  });
});

// Clicks ------------------------------------------------------------------------------------------------------------

describe('clicks', () => {
  it.each([
    ['Chrome on Windows', CHROME_WINDOWS],
    ['Safari on iOS', SAFARI_IOS],
  ])('counts a click from %s minutes after the send as a person', (_browser, userAgent) => {
    expect(classifyClick(request({ userAgent }))).toEqual(HUMAN);
  });

  it.each([
    ['Barracuda', BARRACUDA],
    ['Mimecast', MIMECAST],
    ['Proofpoint', PROOFPOINT],
    ['Trend Micro', TREND_MICRO],
    ['Microsoft Office existence discovery', OFFICE_EXISTENCE_DISCOVERY],
    ['Office’s link probe', OUTLOOK_DESKTOP],
    ['Outlook’s link preview', OUTLOOK_DESKTOP_NEW],
  ])('flags a click by %s as a security scanner', (_scanner, userAgent) => {
    expect(classifyClick(request({ userAgent }))).toEqual({ machine: true, reason: 'security-scanner' });
  });

  it.each([
    ['Googlebot', GOOGLEBOT],
    ['headless Chrome', HEADLESS_CHROME],
    ['curl', CURL],
  ])('flags a click by %s as a bot', (_name, userAgent) => {
    expect(classifyClick(request({ userAgent }))).toEqual({ machine: true, reason: 'bot' });
  });

  it('flags a click within seconds of the send, when only a scanner could have clicked', () => {
    const at = new Date(SENT_AT.getTime() + MIN_HUMAN_CLICK_DELAY_MS - 1);

    expect(classifyClick(request({ at }))).toEqual({ machine: true, reason: 'too-fast' });
  });

  it('counts a click exactly at the threshold as a person', () => {
    const at = new Date(SENT_AT.getTime() + MIN_HUMAN_CLICK_DELAY_MS);

    expect(classifyClick(request({ at }))).toEqual(HUMAN);
  });

  it('flags a click stamped before the send', () => {
    expect(classifyClick(request({ at: new Date(SENT_AT.getTime() - 500) }))).toEqual({
      machine: true,
      reason: 'too-fast',
    });
  });

  it('cannot judge speed when the send time is unknown', () => {
    expect(classifyClick(request({ sentAt: null, at: SENT_AT }))).toEqual(HUMAN);
  });

  it('flags a HEAD request on a tracked link', () => {
    expect(classifyClick(request({ method: 'head' }))).toEqual({ machine: true, reason: 'head-request' });
  });

  it('flags a click without a user agent', () => {
    expect(classifyClick(request({ userAgent: undefined }))).toEqual({
      machine: true,
      reason: 'no-user-agent',
    });
  });

  it('does not flag a click from Apple’s network: privacy protection fetches images, never links', () => {
    expect(classifyClick(request({ userAgent: SAFARI_IOS, ip: APPLE_PROXY_IP }))).toEqual(HUMAN);
  });
});
