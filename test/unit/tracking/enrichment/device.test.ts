// Device class, browser and OS from real user agents, and which user agents count as bots.
import { describe, expect, it } from 'vitest';
import {
  type DeviceDetection,
  detectBot,
  detectDevice,
} from '../../../../functions/tracking/enrichment/device.ts';

const UA = {
  iPhoneSafari:
    'Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1',
  iPhoneFacebookApp:
    'Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 [FBAN/FBIOS;FBAV/440.0.0.33.117;FBDV/iPhone14,5;FBMD/iPhone;FBSN/iOS;FBSV/17.1]',
  iPadSafari:
    'Mozilla/5.0 (iPad; CPU OS 16_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/16.6 Mobile/15E148 Safari/604.1',
  androidPhoneChrome:
    'Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Mobile Safari/537.36',
  pixelChrome:
    'Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.6099.144 Mobile Safari/537.36',
  androidTabletChrome:
    'Mozilla/5.0 (Linux; Android 13; SM-X700) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36',
  kindleFireSilk:
    'Mozilla/5.0 (Linux; Android 9; KFMAWI) AppleWebKit/537.36 (KHTML, like Gecko) Silk/120.3.1 like Chrome/120.0.6099.116 Safari/537.36',
  windowsChrome:
    'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36',
  windowsEdge:
    'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36 Edg/120.0.2210.91',
  macSafari:
    'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Safari/605.1.15',
  linuxFirefox: 'Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0',
  samsungSmartTv:
    'Mozilla/5.0 (SMART-TV; Linux; Tizen 6.0) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/4.0 Chrome/76.0.3809.146 TV Safari/537.36',
  playStation5: 'Mozilla/5.0 (PlayStation; PlayStation 5/2.26) AppleWebKit/605.1.15 (KHTML, like Gecko)',
  galaxyWatch:
    'Mozilla/5.0 (Linux; Android 11; SM-R860) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/100.0 Mobile Safari/537.36',
  googlebot: 'Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)',
  googlebotSmartphone:
    'Mozilla/5.0 (Linux; Android 6.0.1; Nexus 5X Build/MMB29P) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.6099.71 Mobile Safari/537.36 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)',
  bingbot: 'Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)',
  headlessChrome:
    'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/120.0.0.0 Safari/537.36',
  curl: 'curl/8.4.0',
  pythonRequests: 'python-requests/2.31.0',
  analyticsNode: 'analytics-node-next/latest',
} as const;

describe('device detection', () => {
  it.each<readonly [string, string, DeviceDetection]>([
    ['an iPhone', UA.iPhoneSafari, { device: 'mobile', browser: 'Mobile Safari', os: 'iOS' }],
    [
      'the Facebook in-app browser',
      UA.iPhoneFacebookApp,
      { device: 'mobile', browser: 'Facebook', os: 'iOS' },
    ],
    ['an iPad', UA.iPadSafari, { device: 'tablet', browser: 'Mobile Safari', os: 'iOS' }],
    ['an Android phone', UA.androidPhoneChrome, { device: 'mobile', browser: 'Chrome', os: 'Android' }],
    ['a Pixel phone', UA.pixelChrome, { device: 'mobile', browser: 'Chrome', os: 'Android' }],
    ['an Android tablet', UA.androidTabletChrome, { device: 'tablet', browser: 'Chrome', os: 'Android' }],
    ['a Kindle Fire', UA.kindleFireSilk, { device: 'tablet', browser: 'Silk', os: 'Android' }],
    ['Chrome on Windows', UA.windowsChrome, { device: 'desktop', browser: 'Chrome', os: 'Windows' }],
    ['Edge on Windows', UA.windowsEdge, { device: 'desktop', browser: 'Edge', os: 'Windows' }],
    ['Safari on macOS', UA.macSafari, { device: 'desktop', browser: 'Safari', os: 'Mac OS' }],
    ['Firefox on Linux', UA.linuxFirefox, { device: 'desktop', browser: 'Firefox', os: 'Linux' }],
    ['a smart TV', UA.samsungSmartTv, { device: 'desktop', browser: 'Samsung Internet', os: 'Tizen' }],
    ['a games console', UA.playStation5, { device: 'desktop', browser: 'WebKit', os: 'PlayStation' }],
    ['a smartwatch', UA.galaxyWatch, { device: 'mobile', browser: 'Chrome', os: 'Android' }],
    ['Googlebot', UA.googlebot, { device: 'desktop', browser: null, os: null }],
    ['curl', UA.curl, { device: 'desktop', browser: null, os: null }],
  ])('recognises %s', (_name, userAgent, expected) => {
    expect(detectDevice(userAgent)).toEqual(expected);
  });

  it.each([
    ['an empty', ''],
    ['a blank', '   '],
    ['a missing', undefined],
  ])('reports %s user agent as desktop with no browser or OS', (_name, userAgent) => {
    expect(detectDevice(userAgent)).toEqual({ device: 'desktop', browser: null, os: null });
  });

  it('counts iPadOS Safari, which sends a macOS user agent, as desktop', () => {
    expect(detectDevice(UA.macSafari).device).toBe('desktop');
  });

  it('handles an absurdly long user agent quickly', () => {
    const started = performance.now();

    const detection = detectDevice(`${UA.iPhoneSafari} ${'x'.repeat(1_000_000)}`);

    expect(detection.device).toBe('mobile');
    expect(performance.now() - started).toBeLessThan(500);
  });
});

describe('bot detection', () => {
  it.each([
    ['Googlebot', UA.googlebot],
    ['Googlebot smartphone', UA.googlebotSmartphone],
    ['bingbot', UA.bingbot],
    ['headless Chrome', UA.headlessChrome],
    ['curl', UA.curl],
    ['python-requests', UA.pythonRequests],
  ])('flags %s as a bot', (_name, userAgent) => {
    expect(detectBot(userAgent)).toBe(true);
  });

  it.each([
    ['Safari on an iPhone', UA.iPhoneSafari],
    ['the Facebook in-app browser', UA.iPhoneFacebookApp],
    ['Chrome on Android', UA.androidPhoneChrome],
    ['Chrome on Windows', UA.windowsChrome],
    ['Safari on macOS', UA.macSafari],
    ['a smart TV', UA.samsungSmartTv],
  ])('does not flag %s as a bot', (_name, userAgent) => {
    expect(detectBot(userAgent)).toBe(false);
  });

  it.each([
    ['missing', undefined],
    ['empty', ''],
    ['blank', '  '],
  ])('does not flag an event whose user agent is %s (server-side events have none)', (_name, userAgent) => {
    expect(detectBot(userAgent)).toBe(false);
  });

  it('flags a server library user agent, so callers must not pass one for server-side events', () => {
    expect(detectBot(UA.analyticsNode)).toBe(true);
  });
});
