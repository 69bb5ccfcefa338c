// The search engines and social networks that channel classification recognises, and the KPIS.md host-matching rules.

/**
 * A site recognised by host name (referrer or utm_source) or by bare name (utm_source only).
 * Rendered as-is by the docs, so every entry says why it is there when that is not obvious.
 */
export interface KnownSite {
  /** What a marketer calls it. */
  readonly name: string;
  /**
   * Host names; each also matches all of its subdomains. A trailing `.*` (`google.*`) means that name under any
   * top-level domain, including two-part country domains such as `co.uk` and `com.au`.
   */
  readonly hosts: readonly string[];
  /** Bare names a `utm_source` may use instead of a host (`utm_source=google`). */
  readonly sourceNames: readonly string[];
}

/**
 * Search engines. KPIS.md names google.*, bing.com, duckduckgo.com, yahoo.com, ecosia.org, baidu.com and yandex.*;
 * the rest are engines with their own index or a large national share (Brave, Naver in Korea, Seznam in Czechia,
 * Yahoo! JAPAN, Sogou and 360 in China) or privacy front ends people choose as their default (Startpage, Qwant).
 * AI assistants (chatgpt.com, perplexity.ai) are deliberately absent: their visits are referrals, as in GA4.
 */
export const SEARCH_ENGINES: readonly KnownSite[] = [
  {
    name: 'Google',
    // The Google app on Android reports itself as an android-app:// referrer with its package name.
    hosts: ['google.*', 'com.google.android.googlequicksearchbox'],
    sourceNames: ['google'],
  },
  { name: 'Bing', hosts: ['bing.com'], sourceNames: ['bing'] },
  { name: 'DuckDuckGo', hosts: ['duckduckgo.com'], sourceNames: ['duckduckgo', 'ddg'] },
  { name: 'Yahoo', hosts: ['yahoo.com', 'yahoo.co.jp'], sourceNames: ['yahoo'] },
  { name: 'Ecosia', hosts: ['ecosia.org'], sourceNames: ['ecosia'] },
  { name: 'Baidu', hosts: ['baidu.com'], sourceNames: ['baidu'] },
  { name: 'Yandex', hosts: ['yandex.*', 'ya.ru'], sourceNames: ['yandex'] },
  // Only the search host: brave.com itself is the browser's marketing site.
  { name: 'Brave Search', hosts: ['search.brave.com'], sourceNames: ['brave'] },
  { name: 'Startpage', hosts: ['startpage.com'], sourceNames: ['startpage'] },
  { name: 'Qwant', hosts: ['qwant.com'], sourceNames: ['qwant'] },
  { name: 'Naver', hosts: ['naver.com'], sourceNames: ['naver'] },
  { name: 'Seznam', hosts: ['seznam.cz'], sourceNames: ['seznam'] },
  { name: 'Ask', hosts: ['ask.com'], sourceNames: ['ask'] },
  // aol.com is also a mail and news portal; only its search host counts.
  { name: 'AOL Search', hosts: ['search.aol.com'], sourceNames: [] },
  { name: 'Sogou', hosts: ['sogou.com'], sourceNames: ['sogou'] },
  { name: '360 Search', hosts: ['so.com'], sourceNames: [] },
  { name: 'Kagi', hosts: ['kagi.com'], sourceNames: ['kagi'] },
];

/**
 * Social networks. KPIS.md names facebook.com, instagram.com, linkedin.com, lnkd.in, t.co, twitter.com, x.com,
 * youtube.com, reddit.com, pinterest.com and tiktok.com; the rest are their link shorteners and app referrers, and
 * networks with a following large enough to send traffic. Subdomains (`l.facebook.com`, `m.facebook.com`,
 * `lm.facebook.com`, `old.reddit.com`) match through the subdomain rule.
 */
export const SOCIAL_NETWORKS: readonly KnownSite[] = [
  {
    name: 'Facebook',
    hosts: ['facebook.com', 'fb.com', 'fb.me', 'messenger.com', 'com.facebook.katana'],
    // `fb` is what Meta's own `{{site_source_name}}` URL parameter produces for Facebook placements.
    sourceNames: ['facebook', 'fb', 'messenger'],
  },
  // `ig` is the `{{site_source_name}}` value for Instagram placements.
  { name: 'Instagram', hosts: ['instagram.com', 'com.instagram.android'], sourceNames: ['instagram', 'ig'] },
  { name: 'LinkedIn', hosts: ['linkedin.com', 'lnkd.in', 'com.linkedin.android'], sourceNames: ['linkedin'] },
  {
    name: 'X (Twitter)',
    hosts: ['twitter.com', 'x.com', 't.co', 'com.twitter.android'],
    // Not `t` (t.co): a one-letter source is far more likely a typo or a placeholder than a network.
    sourceNames: ['twitter', 'x'],
  },
  { name: 'YouTube', hosts: ['youtube.com', 'youtu.be'], sourceNames: ['youtube'] },
  { name: 'Reddit', hosts: ['reddit.com', 'redd.it', 'com.reddit.frontpage'], sourceNames: ['reddit'] },
  // Pinterest serves country domains (pinterest.de, pinterest.co.uk) as well as .com.
  { name: 'Pinterest', hosts: ['pinterest.*', 'pin.it'], sourceNames: ['pinterest'] },
  { name: 'TikTok', hosts: ['tiktok.com'], sourceNames: ['tiktok'] },
  // Threads moved from threads.net to threads.com in 2025; both still send traffic.
  { name: 'Threads', hosts: ['threads.net', 'threads.com'], sourceNames: ['threads'] },
  // Only the flagship Mastodon server: the fediverse has thousands of others that no list can keep up with.
  { name: 'Mastodon', hosts: ['mastodon.social'], sourceNames: ['mastodon'] },
  { name: 'Bluesky', hosts: ['bsky.app'], sourceNames: ['bluesky', 'bsky'] },
  { name: 'WhatsApp', hosts: ['whatsapp.com', 'wa.me'], sourceNames: ['whatsapp'] },
  { name: 'Tumblr', hosts: ['tumblr.com'], sourceNames: ['tumblr'] },
  { name: 'VK', hosts: ['vk.com'], sourceNames: ['vk', 'vkontakte'] },
  { name: 'Snapchat', hosts: ['snapchat.com'], sourceNames: ['snapchat'] },
];

/**
 * Second-level labels under which a country code is a two-part public suffix (`co.uk`, `com.au`, `com.tr`, `ne.jp`).
 * Enough for the `name.*` rule without shipping the whole Public Suffix List.
 */
const SECOND_LEVEL_LABELS: ReadonlySet<string> = new Set([
  'co',
  'com',
  'net',
  'org',
  'ac',
  'gov',
  'edu',
  'ne',
  'or',
]);

interface HostMatcher {
  readonly exactHosts: ReadonlySet<string>;
  /** Names listed as `name.*`. */
  readonly anyTldNames: ReadonlySet<string>;
  readonly sourceNames: ReadonlySet<string>;
}

function matcherFor(sites: readonly KnownSite[]): HostMatcher {
  const exactHosts = new Set<string>();
  const anyTldNames = new Set<string>();
  const sourceNames = new Set<string>();
  for (const site of sites) {
    for (const host of site.hosts) {
      if (host.endsWith('.*')) anyTldNames.add(host.slice(0, -2));
      else exactHosts.add(host);
    }
    for (const name of site.sourceNames) sourceNames.add(name);
  }
  return { exactHosts, anyTldNames, sourceNames };
}

const SEARCH_ENGINE_MATCHER = matcherFor(SEARCH_ENGINES);
const SOCIAL_NETWORK_MATCHER = matcherFor(SOCIAL_NETWORKS);

/** A single top-level domain (`nl`, `com`) or a two-part country suffix (`co.uk`). */
function isTopLevelSuffix(labels: readonly string[]): boolean {
  const [first, second] = labels;
  if (first === undefined) return false;
  if (labels.length === 1) return /^[a-z]{2,}$/.test(first);
  return (
    labels.length === 2 && second !== undefined && SECOND_LEVEL_LABELS.has(first) && /^[a-z]{2}$/.test(second)
  );
}

/**
 * Lower-cased host name of a host, a `host:port`, or a whole URL someone pasted into utm_source; null when there
 * is nothing host-like. Never throws.
 */
export function normalizeHost(hostOrUrl: string | null | undefined): string | null {
  if (typeof hostOrUrl !== 'string') return null;
  let host = hostOrUrl.trim().toLowerCase();
  if (host.includes('://')) {
    try {
      host = new URL(host).hostname;
    } catch {
      return null;
    }
  }
  host = host
    .replace(/[/?#].*$/, '')
    .replace(/:\d*$/, '')
    .replace(/\.+$/, '');
  return host === '' ? null : host;
}

function matches(matcher: HostMatcher, hostOrName: string | null | undefined): boolean {
  const host = normalizeHost(hostOrName);
  if (host === null) return false;
  if (!host.includes('.')) return matcher.sourceNames.has(host);
  const labels = host.split('.');
  for (let start = 0; start < labels.length; start++) {
    if (matcher.exactHosts.has(labels.slice(start).join('.'))) return true;
    const label = labels[start];
    if (label !== undefined && matcher.anyTldNames.has(label) && isTopLevelSuffix(labels.slice(start + 1))) {
      return true;
    }
  }
  return false;
}

/**
 * Whether a referrer host or a utm_source names a search engine: a listed host or any subdomain of it, `google.*`
 * and `yandex.*` under any top-level domain, or a bare name (`google`). Case-insensitive.
 */
export function isSearchEngine(hostOrName: string | null | undefined): boolean {
  return matches(SEARCH_ENGINE_MATCHER, hostOrName);
}

/** Whether a referrer host or a utm_source names a social network, by the same rules as {@link isSearchEngine}. */
export function isSocialNetwork(hostOrName: string | null | undefined): boolean {
  return matches(SOCIAL_NETWORK_MATCHER, hostOrName);
}
