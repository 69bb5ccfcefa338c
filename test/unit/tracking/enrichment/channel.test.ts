// Channel classification by the KPIS.md table: every rule matched and missed, first rule wins, and never a throw.
import { describe, expect, it } from 'vitest';
import {
  CHANNEL_RULES,
  classifyTouch,
  type TouchInput,
} from '../../../../functions/tracking/enrichment/channel.ts';
import type { Channel } from '../../../../functions/tracking/model.ts';

const PAGE = 'https://www.example.com/pricing';
const ALL_CHANNELS: readonly Channel[] = [
  'paid search',
  'paid social',
  'display',
  'affiliate',
  'email',
  'organic social',
  'organic search',
  'referral',
  'direct',
  'other',
];

/** A landing on the pricing page with this query string. */
function landing(query: string, referrer?: string): TouchInput {
  return { url: `${PAGE}?${query}`, referrer };
}

function from(referrer: string): TouchInput {
  return { url: PAGE, referrer };
}

const CASES: ReadonlyArray<readonly [string, TouchInput, Channel]> = [
  // paid search
  ['google cpc', landing('utm_source=google&utm_medium=cpc'), 'paid search'],
  ['bing ppc', landing('utm_source=bing&utm_medium=ppc'), 'paid search'],
  ['duckduckgo paidsearch', landing('utm_source=duckduckgo&utm_medium=paidsearch'), 'paid search'],
  ['yahoo.com paid-search', landing('utm_source=yahoo.com&utm_medium=paid-search'), 'paid search'],
  ['www.google.co.uk sem', landing('utm_source=www.google.co.uk&utm_medium=sem'), 'paid search'],
  ['Google CPC in any case', landing('utm_source=Google&utm_medium=CPC'), 'paid search'],
  ['upper-case UTM names', landing('UTM_SOURCE=google&UTM_MEDIUM=cpc'), 'paid search'],
  ['a gclid alone', landing('gclid=EAIaIQobChMI'), 'paid search'],
  ['an msclkid alone', landing('msclkid=8f3c1a'), 'paid search'],
  ['a gbraid (Google Ads on iOS)', landing('gbraid=0AAAAA'), 'paid search'],
  ['a wbraid (Google Ads on iOS web)', landing('wbraid=CjkKCQ'), 'paid search'],
  ['an upper-case GCLID', landing('GCLID=EAIaIQ'), 'paid search'],
  ['a gclid from a Facebook referrer', landing('gclid=abc', 'https://l.facebook.com/'), 'paid search'],
  ['a gclid on an email-tagged link', landing('gclid=abc&utm_medium=email&utm_source=news'), 'paid search'],
  [
    'cpc from Segment context.campaign',
    { url: PAGE, campaign: { source: 'google', medium: 'cpc' } },
    'paid search',
  ],
  [
    'cpc without source from a Google referrer',
    landing('utm_medium=cpc', 'https://www.google.com/'),
    'paid search',
  ],
  ['google cpc with padded values', landing('utm_source=%20google%20&utm_medium=%20cpc'), 'paid search'],
  ['cpc from an unknown source', landing('utm_source=newsletter&utm_medium=cpc'), 'other'],
  ['an empty gclid', landing('gclid='), 'direct'],
  ['an fbclid alone', landing('fbclid=IwAR0abc'), 'direct'],
  [
    'an fbclid from a Facebook referrer',
    landing('fbclid=IwAR0abc', 'https://l.facebook.com/'),
    'organic social',
  ],
  ['a dclid alone', landing('dclid=CJ3k'), 'direct'],
  ['google with medium paid', landing('utm_source=google&utm_medium=paid'), 'other'],
  ['cpc from google-ads (not a host or bare name)', landing('utm_source=google-ads&utm_medium=cpc'), 'other'],
  // paid social
  ['facebook cpc', landing('utm_source=facebook&utm_medium=cpc'), 'paid social'],
  ['fb paid (Meta site_source_name)', landing('utm_source=fb&utm_medium=paid'), 'paid social'],
  ['linkedin paid-social', landing('utm_source=linkedin&utm_medium=paid-social'), 'paid social'],
  ['instagram.com paidsocial', landing('utm_source=instagram.com&utm_medium=paidsocial'), 'paid social'],
  ['ig ppc', landing('utm_source=ig&utm_medium=ppc'), 'paid social'],
  ['TikTok PAID in any case', landing('utm_source=TikTok&utm_medium=PAID'), 'paid social'],
  ['youtube paid', landing('utm_source=youtube&utm_medium=paid'), 'paid social'],
  ['l.facebook.com as utm_source', landing('utm_source=l.facebook.com&utm_medium=cpc'), 'paid social'],
  [
    'paidsocial without source from Facebook',
    landing('utm_medium=paidsocial', 'https://l.facebook.com/'),
    'paid social',
  ],
  ['paid-social from an unknown source', landing('utm_source=partner&utm_medium=paid-social'), 'other'],
  ['paid from a search engine source', landing('utm_source=bing&utm_medium=paid-social'), 'other'],
  // display
  ['display', landing('utm_source=gdn&utm_medium=display'), 'display'],
  ['banner', landing('utm_source=partner&utm_medium=banner'), 'display'],
  ['cpm', landing('utm_medium=cpm'), 'display'],
  ['cpm from google (cpm is not paid search)', landing('utm_source=google&utm_medium=cpm'), 'display'],
  ['Display in any case', landing('utm_medium=Display'), 'display'],
  ['displays (not listed)', landing('utm_medium=displays'), 'other'],
  // affiliate
  ['affiliate', landing('utm_source=partner&utm_medium=affiliate'), 'affiliate'],
  ['Affiliate in any case', landing('utm_medium=AFFILIATE'), 'affiliate'],
  ['affiliates (not listed)', landing('utm_medium=affiliates'), 'other'],
  // email
  ['email', landing('utm_source=newsletter&utm_medium=email'), 'email'],
  ['e-mail', landing('utm_medium=e-mail'), 'email'],
  ['newsletter', landing('utm_medium=newsletter&utm_campaign=may'), 'email'],
  [
    'email from a Google referrer (medium wins)',
    landing('utm_medium=email', 'https://www.google.com/'),
    'email',
  ],
  ['email in Segment context.campaign', { url: PAGE, campaign: { medium: 'Email', name: 'may' } }, 'email'],
  ['mail (not listed)', landing('utm_medium=mail'), 'other'],
  // organic social
  ['social', landing('utm_source=partner&utm_medium=social'), 'organic social'],
  ['social-network', landing('utm_medium=social-network'), 'organic social'],
  ['sm', landing('utm_medium=sm'), 'organic social'],
  ['a Facebook link shim referrer', from('https://l.facebook.com/'), 'organic social'],
  ['a t.co referrer', from('https://t.co/AbC123'), 'organic social'],
  ['a LinkedIn feed referrer', from('https://www.linkedin.com/feed/'), 'organic social'],
  ['the LinkedIn Android app', from('android-app://com.linkedin.android/'), 'organic social'],
  ['an old.reddit.com referrer', from('https://old.reddit.com/r/marketing/'), 'organic social'],
  ['an upper-case X referrer', from('HTTPS://X.COM/someone'), 'organic social'],
  ['a referrer that only ends like facebook.com', from('https://notfacebook.com/'), 'referral'],
  ['a referrer that starts like facebook.com', from('https://facebook.com.evil.example/'), 'referral'],
  // organic search
  ['organic', landing('utm_source=newsletter&utm_medium=organic'), 'organic search'],
  ['a www.google.nl referrer', from('https://www.google.nl/'), 'organic search'],
  ['a www.google.co.uk referrer', from('https://www.google.co.uk/'), 'organic search'],
  ['a www.google.com.au referrer', from('https://www.google.com.au/'), 'organic search'],
  ['a duckduckgo referrer', from('https://duckduckgo.com/'), 'organic search'],
  ['a bing search referrer', from('https://www.bing.com/search?q=nurture'), 'organic search'],
  ['a yandex referrer', from('https://yandex.ru/'), 'organic search'],
  ['a Brave Search referrer', from('https://search.brave.com/'), 'organic search'],
  ['an upper-case Google referrer', from('HTTPS://WWW.GOOGLE.DE/'), 'organic search'],
  [
    'the Google Android app',
    from('android-app://com.google.android.googlequicksearchbox/'),
    'organic search',
  ],
  ['a referrer without scheme', from('www.google.com/'), 'organic search'],
  [
    'an unknown medium from Google (referrer rule first)',
    landing('utm_medium=foo', 'https://google.com/'),
    'organic search',
  ],
  ['a google.evil.com referrer', from('https://google.evil.com/'), 'referral'],
  // referral
  ['referral', landing('utm_source=partner&utm_medium=referral'), 'referral'],
  ['a news site referrer', from('https://news.ycombinator.com/item?id=1'), 'referral'],
  ['brave.com (the browser site, not search)', from('https://brave.com/'), 'referral'],
  ['a sister subdomain without siteHost', from('https://blog.example.com/post'), 'referral'],
  ['an unknown medium from a news site', landing('utm_medium=foo', 'https://news.example.org/'), 'referral'],
  // direct
  ['nothing at all', {}, 'direct'],
  ['a page without UTM or referrer', { url: PAGE }, 'direct'],
  ['a referrer on the same host', from('https://www.example.com/blog'), 'direct'],
  ['a referrer on the same host without www', from('https://example.com/'), 'direct'],
  ['a referrer on the same host in capitals', from('https://WWW.EXAMPLE.COM/'), 'direct'],
  [
    'a referrer on a siteHost subdomain',
    { ...from('https://blog.example.com/'), siteHost: 'example.com' },
    'direct',
  ],
  [
    'a siteHost referrer without a page',
    { referrer: 'https://shop.example.com/', siteHost: 'Example.com' },
    'direct',
  ],
  ['an about:blank referrer', from('about:blank'), 'direct'],
  ['a malformed referrer', from('not a url'), 'direct'],
  ['a malformed page URL', { url: 'http://exa mple.com/?utm_medium=email' }, 'direct'],
  ['an empty context.campaign', { url: PAGE, campaign: {} }, 'direct'],
  ['blank UTM values', landing('utm_source=&utm_medium=%20'), 'direct'],
  ['unrelated query parameters', landing('ref=homepage&page=2'), 'direct'],
  // other
  ['utm_campaign only', landing('utm_campaign=spring'), 'other'],
  ['utm_source only', landing('utm_source=newsletter'), 'other'],
  ['utm_term only', landing('utm_term=crm'), 'other'],
  ['utm_content only', landing('utm_content=hero'), 'other'],
  ['an unknown medium', landing('utm_medium=podcast'), 'other'],
  ['a campaign name in context.campaign', { url: PAGE, campaign: { name: 'spring' } }, 'other'],
  [
    'an unknown medium with an internal referrer',
    landing('utm_medium=qr', 'https://www.example.com/'),
    'other',
  ],
];

describe('channel classification', () => {
  it.each(CASES)('classifies %s', (_name, input, expected) => {
    expect(classifyTouch(input).channel).toBe(expected);
  });

  it('covers every channel with at least one positive case', () => {
    const covered = new Set(CASES.map(([, , channel]) => channel));

    expect(ALL_CHANNELS.filter((channel) => !covered.has(channel))).toEqual([]);
  });
});

describe('the channel table as data', () => {
  it('lists every channel once, in the KPIS.md order', () => {
    expect(CHANNEL_RULES.map((rule) => rule.channel)).toEqual(ALL_CHANNELS);
  });

  it('gives every rule at least one condition', () => {
    expect(CHANNEL_RULES.filter((rule) => rule.anyOf.length === 0)).toEqual([]);
  });
});

describe('touch details', () => {
  it('takes the landing page from the URL path without the query', () => {
    const touch = classifyTouch(landing('utm_source=google&utm_medium=cpc#plans'));

    expect(touch.landingPage).toBe('/pricing');
  });

  it('accepts a bare path as the page URL', () => {
    const touch = classifyTouch({ url: '/signup?utm_medium=email&utm_campaign=may' });

    expect(touch).toMatchObject({ landingPage: '/signup', channel: 'email', campaign: 'may' });
  });

  it('reports a missing page URL as no landing page', () => {
    expect(classifyTouch({ referrer: 'https://www.google.com/' }).landingPage).toBeNull();
  });

  it('reports a non-hierarchical page URL as no landing page', () => {
    expect(classifyTouch({ url: 'javascript:void(0)' }).landingPage).toBeNull();
  });

  it('strips the query string, fragment and credentials from the referrer', () => {
    const touch = classifyTouch(from('https://user:secret@www.bing.com/search?q=private+words#top'));

    expect(touch.referrer).toBe('https://www.bing.com/search');
  });

  it('keeps a non-default port in the referrer', () => {
    expect(classifyTouch(from('http://partner.example.org:8080/list?x=1')).referrer).toBe(
      'http://partner.example.org:8080/list',
    );
  });

  it('reports an internal referrer as no referrer', () => {
    expect(classifyTouch(from('https://www.example.com/blog?page=2')).referrer).toBeNull();
  });

  it('reports the campaign as utm_campaign, as sent', () => {
    expect(classifyTouch(landing('utm_campaign=%20Spring%20Sale%20&utm_medium=email')).campaign).toBe(
      'Spring Sale',
    );
  });

  it('reports no campaign when utm_campaign is absent', () => {
    expect(classifyTouch(landing('utm_medium=email')).campaign).toBeNull();
  });

  it('reports source and medium in lower case', () => {
    const touch = classifyTouch(landing('utm_source=Google&utm_medium=CPC'));

    expect(touch).toMatchObject({ source: 'google', medium: 'cpc' });
  });

  it('reports the external referrer host as the source when there is no utm_source', () => {
    const touch = classifyTouch(from('https://www.google.nl/'));

    expect(touch).toMatchObject({ source: 'www.google.nl', medium: null });
  });

  it('reports google / cpc for a gclid without UTM parameters', () => {
    expect(classifyTouch(landing('gclid=abc'))).toMatchObject({ source: 'google', medium: 'cpc' });
  });

  it('reports bing / cpc for an msclkid without UTM parameters', () => {
    expect(classifyTouch(landing('msclkid=abc'))).toMatchObject({ source: 'bing', medium: 'cpc' });
  });

  it('reports no source or medium for a direct visit', () => {
    expect(classifyTouch({ url: PAGE })).toEqual({
      channel: 'direct',
      campaign: null,
      landingPage: '/pricing',
      referrer: null,
      source: null,
      medium: null,
    });
  });

  it('prefers Segment context.campaign over the URL query', () => {
    const touch = classifyTouch({
      url: `${PAGE}?utm_medium=display&utm_campaign=url`,
      campaign: { medium: 'email', name: 'context', source: null },
    });

    expect(touch).toMatchObject({ channel: 'email', campaign: 'context' });
  });

  it('reads the URL query when context.campaign has only empty values', () => {
    const touch = classifyTouch({ url: `${PAGE}?utm_medium=email`, campaign: { source: '', medium: '  ' } });

    expect(touch.channel).toBe('email');
  });

  it('uses the first of repeated UTM parameters', () => {
    expect(classifyTouch(landing('utm_medium=email&utm_medium=display')).channel).toBe('email');
  });
});

/** A small deterministic generator, so a failing input can be reproduced from its seed. */
function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

const FRAGMENTS = [
  'https://',
  'http://',
  '//',
  'android-app://',
  'javascript:',
  'www.',
  'google',
  'facebook',
  '.com',
  '.co.uk',
  '.',
  '/',
  '?',
  '&',
  '=',
  '#',
  '%',
  '%zz',
  '%20',
  ':',
  '@',
  '[',
  ']',
  ' ',
  'utm_medium',
  'utm_source',
  'gclid',
  'cpc',
  'email',
  'é',
  '😀',
  '\u0000',
  '\n',
];

function randomText(random: () => number): string {
  const length = Math.floor(random() * 12);
  let text = '';
  for (let i = 0; i < length; i++) text += FRAGMENTS[Math.floor(random() * FRAGMENTS.length)] ?? '';
  return text;
}

describe('classification of arbitrary input', () => {
  it('never throws and always returns a known channel', () => {
    const random = seededRandom(20240601);
    for (let i = 0; i < 3000; i++) {
      const input: TouchInput = {
        url: randomText(random),
        referrer: randomText(random),
        campaign: random() < 0.3 ? { source: randomText(random), medium: randomText(random) } : null,
        siteHost: random() < 0.5 ? randomText(random) : null,
      };

      const touch = classifyTouch(input);

      expect(ALL_CHANNELS).toContain(touch.channel);
      expect(touch.referrer === null || !touch.referrer.includes('?')).toBe(true);
      expect(touch.landingPage === null || !touch.landingPage.includes('?')).toBe(true);
    }
  });

  it('classifies a visit without UTM parameters, click ids or referrer as direct', () => {
    const random = seededRandom(7);
    for (let i = 0; i < 1000; i++) {
      const path = randomText(random).replace(/[?#]/g, '');

      expect(classifyTouch({ url: `https://www.example.com/${path}` }).channel).toBe('direct');
    }
  });
});
