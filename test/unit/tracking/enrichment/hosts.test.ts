// Search-engine and social-network recognition: the documented lists and the KPIS.md host-matching rules.
import { describe, expect, it } from 'vitest';
import {
  isSearchEngine,
  isSocialNetwork,
  normalizeHost,
  SEARCH_ENGINES,
  SOCIAL_NETWORKS,
} from '../../../../functions/tracking/enrichment/hosts.ts';

describe('search engines', () => {
  it.each([
    'google.com',
    'www.google.com',
    'www.google.nl',
    'google.de',
    'www.google.co.uk',
    'www.google.com.au',
    'google.com.br',
    'google.co.jp',
    'news.google.com',
    'WWW.GOOGLE.FR',
    'www.google.com.',
    'www.google.com:443',
    'https://www.google.com/search?q=nurture',
    'com.google.android.googlequicksearchbox',
    'bing.com',
    'www.bing.com',
    'cn.bing.com',
    'duckduckgo.com',
    'html.duckduckgo.com',
    'yahoo.com',
    'search.yahoo.com',
    'fr.search.yahoo.com',
    'search.yahoo.co.jp',
    'ecosia.org',
    'www.ecosia.org',
    'baidu.com',
    'm.baidu.com',
    'yandex.ru',
    'yandex.com',
    'yandex.com.tr',
    'ya.ru',
    'search.brave.com',
    'www.startpage.com',
    'www.qwant.com',
    'search.naver.com',
    'search.seznam.cz',
    'ask.com',
    'search.aol.com',
    'kagi.com',
  ])('recognises %s as a search engine', (host) => {
    expect(isSearchEngine(host)).toBe(true);
  });

  it.each([
    'google',
    'Google',
    ' GOOGLE ',
    'bing',
    'duckduckgo',
    'ddg',
    'yahoo',
    'ecosia',
    'baidu',
    'yandex',
    'brave',
    'qwant',
    'naver',
    'seznam',
  ])('recognises the bare utm_source %s as a search engine', (name) => {
    expect(isSearchEngine(name)).toBe(true);
  });

  it.each([
    'notgoogle.com',
    'google.evil.com',
    'google.com.evil.com',
    'www.google',
    'google.co.u',
    'brave.com',
    'aol.com',
    'mail.aol.com',
    'bingo.com',
    'chatgpt.com',
    'perplexity.ai',
    'facebook.com',
    'googleads',
    'adwords',
    'newsletter',
    '',
    '   ',
    '.',
    '...',
    'https://',
  ])('does not treat %j as a search engine', (host) => {
    expect(isSearchEngine(host)).toBe(false);
  });

  it.each([null, undefined])('does not treat %s as a search engine', (host) => {
    expect(isSearchEngine(host)).toBe(false);
  });
});

describe('social networks', () => {
  it.each([
    'facebook.com',
    'www.facebook.com',
    'l.facebook.com',
    'lm.facebook.com',
    'm.facebook.com',
    'fb.com',
    'fb.me',
    'com.facebook.katana',
    'instagram.com',
    'l.instagram.com',
    'linkedin.com',
    'www.linkedin.com',
    'lnkd.in',
    'com.linkedin.android',
    't.co',
    'twitter.com',
    'mobile.twitter.com',
    'x.com',
    'youtube.com',
    'm.youtube.com',
    'youtu.be',
    'reddit.com',
    'old.reddit.com',
    'pinterest.com',
    'www.pinterest.de',
    'pinterest.co.uk',
    'pin.it',
    'tiktok.com',
    'www.tiktok.com',
    'threads.net',
    'www.threads.com',
    'mastodon.social',
    'bsky.app',
    'web.whatsapp.com',
    'wa.me',
    'L.FACEBOOK.COM',
  ])('recognises %s as a social network', (host) => {
    expect(isSocialNetwork(host)).toBe(true);
  });

  it.each([
    'facebook',
    'Facebook',
    'fb',
    'instagram',
    'ig',
    'linkedin',
    'twitter',
    'x',
    'youtube',
    'reddit',
    'pinterest',
    'tiktok',
    'threads',
    'bluesky',
    'whatsapp',
  ])('recognises the bare utm_source %s as a social network', (name) => {
    expect(isSocialNetwork(name)).toBe(true);
  });

  it.each([
    'notfacebook.com',
    'facebook.com.evil.example',
    'tt.co',
    'co',
    't',
    'xx.com',
    'box.com',
    'mastodon.online',
    'google.com',
    'linkedin',
  ])('does not treat %s as a social network unless listed', (host) => {
    expect(isSocialNetwork(host)).toBe(host === 'linkedin');
  });
});

describe('the documented lists', () => {
  it('name each listed site in exactly one list', () => {
    const searchHosts = SEARCH_ENGINES.flatMap((site) => site.hosts);
    const socialHosts = SOCIAL_NETWORKS.flatMap((site) => site.hosts);

    expect(searchHosts.filter((host) => socialHosts.includes(host))).toEqual([]);
  });

  it('keep every bare name unique across both lists', () => {
    const names = [...SEARCH_ENGINES, ...SOCIAL_NETWORKS].flatMap((site) => site.sourceNames);

    expect(new Set(names).size).toBe(names.length);
  });

  it('are written in lower case, so matching can lower-case only its input', () => {
    const entries = [...SEARCH_ENGINES, ...SOCIAL_NETWORKS].flatMap((site) => [
      ...site.hosts,
      ...site.sourceNames,
    ]);

    expect(entries.filter((entry) => entry !== entry.toLowerCase())).toEqual([]);
  });

  it('recognise every listed host by its own list', () => {
    const concrete = (host: string) => host.replace(/\.\*$/, '.com');

    for (const site of SEARCH_ENGINES)
      for (const host of site.hosts) expect(isSearchEngine(concrete(host))).toBe(true);
    for (const site of SOCIAL_NETWORKS) {
      for (const host of site.hosts) expect(isSocialNetwork(concrete(host))).toBe(true);
    }
  });

  it('recognise every site KPIS.md names', () => {
    const kpiSearchEngines = [
      'google.com',
      'google.nl',
      'bing.com',
      'duckduckgo.com',
      'yahoo.com',
      'ecosia.org',
    ];
    const kpiSocialNetworks = [
      'facebook.com',
      'instagram.com',
      'linkedin.com',
      'lnkd.in',
      't.co',
      'twitter.com',
    ];
    const moreKpiSocialNetworks = ['x.com', 'youtube.com', 'reddit.com', 'pinterest.com', 'tiktok.com'];

    expect([...kpiSearchEngines, 'baidu.com', 'yandex.ru'].filter((host) => !isSearchEngine(host))).toEqual(
      [],
    );
    expect([...kpiSocialNetworks, ...moreKpiSocialNetworks].filter((host) => !isSocialNetwork(host))).toEqual(
      [],
    );
  });
});

describe('host normalization', () => {
  it.each([
    ['WWW.Example.COM', 'www.example.com'],
    ['example.com:8080', 'example.com'],
    ['example.com.', 'example.com'],
    ['https://User@Example.com:8443/path?q=1', 'example.com'],
    ['example.com/path', 'example.com'],
    ['  example.com  ', 'example.com'],
  ])('reads %s as the host %s', (input, expected) => {
    expect(normalizeHost(input)).toBe(expected);
  });

  it.each(['', '   ', 'http://', 'https://exa mple.com', null, undefined])('reads %j as no host', (input) => {
    expect(normalizeHost(input)).toBeNull();
  });
});
