// Classifies where a visit came from (channel, campaign, landing page, referrer) by the KPIS.md channel table.
import type { Channel, Touch } from '../model.ts';
import { isSearchEngine, isSocialNetwork, normalizeHost } from './hosts.ts';

export type SiteKind = 'search engine' | 'social network';

/** One way a channel rule can match; a rule matches when any of its conditions holds. */
export type ChannelCondition =
  /** utm_medium is one of `mediums` and, when `sourceIs` is set, the visit's source is that kind of site. */
  | { readonly kind: 'utm_medium'; readonly mediums: readonly string[]; readonly sourceIs?: SiteKind }
  /** One of these ad-click identifiers is in the page URL. */
  | { readonly kind: 'click id'; readonly parameters: readonly string[] }
  /** The referrer is on another site, and of this kind. */
  | { readonly kind: 'external referrer'; readonly referrerIs: SiteKind | 'any' }
  | { readonly kind: 'no UTM parameters and no external referrer' }
  | { readonly kind: 'UTM parameters present' };

export interface ChannelRule {
  readonly channel: Channel;
  readonly anyOf: readonly ChannelCondition[];
}

/**
 * Google Ads auto-tagging adds gclid, or on iOS traffic its privacy-preserving replacements gbraid/wbraid (which
 * mean exactly what gclid means); Microsoft Advertising adds msclkid. fbclid is deliberately absent: Facebook
 * appends it to every outbound link, organic posts included, so it says nothing about payment. dclid (Display &
 * Video 360) is absent too: the table has no click-id rule for display, so such visits classify by their UTMs.
 */
const CLICK_ID_ENGINES: ReadonlyMap<string, string> = new Map([
  ['gclid', 'google'],
  ['gbraid', 'google'],
  ['wbraid', 'google'],
  ['msclkid', 'bing'],
]);

/** The KPIS.md channel table as data, in order: the first rule that matches wins. Docs render this. */
export const CHANNEL_RULES: readonly ChannelRule[] = [
  {
    channel: 'paid search',
    anyOf: [
      {
        kind: 'utm_medium',
        mediums: ['cpc', 'ppc', 'paidsearch', 'paid-search', 'sem'],
        sourceIs: 'search engine',
      },
      { kind: 'click id', parameters: [...CLICK_ID_ENGINES.keys()] },
    ],
  },
  {
    channel: 'paid social',
    anyOf: [
      {
        kind: 'utm_medium',
        mediums: ['cpc', 'ppc', 'paid', 'paid-social', 'paidsocial'],
        sourceIs: 'social network',
      },
    ],
  },
  { channel: 'display', anyOf: [{ kind: 'utm_medium', mediums: ['display', 'banner', 'cpm'] }] },
  { channel: 'affiliate', anyOf: [{ kind: 'utm_medium', mediums: ['affiliate'] }] },
  { channel: 'email', anyOf: [{ kind: 'utm_medium', mediums: ['email', 'e-mail', 'newsletter'] }] },
  {
    channel: 'organic social',
    anyOf: [
      { kind: 'utm_medium', mediums: ['social', 'social-network', 'sm'] },
      { kind: 'external referrer', referrerIs: 'social network' },
    ],
  },
  {
    channel: 'organic search',
    anyOf: [
      { kind: 'utm_medium', mediums: ['organic'] },
      { kind: 'external referrer', referrerIs: 'search engine' },
    ],
  },
  {
    channel: 'referral',
    anyOf: [
      { kind: 'utm_medium', mediums: ['referral'] },
      { kind: 'external referrer', referrerIs: 'any' },
    ],
  },
  { channel: 'direct', anyOf: [{ kind: 'no UTM parameters and no external referrer' }] },
  { channel: 'other', anyOf: [{ kind: 'UTM parameters present' }] },
];

/** UTM values as Segment puts them in `context.campaign` (utm_campaign is `name`). */
export interface CampaignInput {
  readonly source?: string | null;
  readonly medium?: string | null;
  readonly name?: string | null;
  readonly term?: string | null;
  readonly content?: string | null;
}

export interface TouchInput {
  /** The page URL; UTM parameters and click ids are read from its query. A bare path (`/pricing?a=b`) is accepted. */
  readonly url?: string | null;
  readonly referrer?: string | null;
  /** When absent or empty, UTM parameters come from the page URL's query instead. */
  readonly campaign?: CampaignInput | null;
  /** The site's own domain: a referrer on it or any of its subdomains is internal. */
  readonly siteHost?: string | null;
}

/** What the rules look at, extracted once. */
interface Signals {
  /** Lower-cased utm_medium. */
  readonly medium: string | null;
  /** Lower-cased utm_source, else the external referrer's host (as GA does), for the rules that need a source. */
  readonly source: string | null;
  readonly hasUtm: boolean;
  readonly clickIds: ReadonlySet<string>;
  readonly externalReferrerHost: string | null;
}

const PLACEHOLDER_BASE = 'https://relative.invalid';

function urlOrNull(text: string, base?: string): URL | null {
  try {
    return new URL(text, base);
  } catch {
    return null;
  }
}

/** Parses an absolute URL, a protocol-relative one, or a scheme-less `host.tld/path`; null instead of throwing. */
function parseAbsoluteUrl(text: string): URL | null {
  if (text.startsWith('//')) return urlOrNull(`https:${text}`);
  const isSchemeless = /^[a-z0-9-]+(?:\.[a-z0-9-]+)+(?::\d+)?(?:[/?#]|$)/i.test(text);
  return urlOrNull(text) ?? (isSchemeless ? urlOrNull(`https://${text}`) : null);
}

interface PageUrl {
  /** Null for a bare path, whose host is unknown. */
  readonly host: string | null;
  readonly path: string | null;
  readonly query: URLSearchParams;
}

function parsePageUrl(value: string | null | undefined): PageUrl | null {
  const text = typeof value === 'string' ? value.trim() : '';
  if (text === '') return null;
  if (text.startsWith('/') && !text.startsWith('//')) {
    const relative = urlOrNull(text, PLACEHOLDER_BASE);
    return relative === null ? null : { host: null, path: relative.pathname, query: relative.searchParams };
  }
  const url = parseAbsoluteUrl(text);
  if (url === null) return null;
  // `javascript:`, `about:blank` and the like have no path worth reporting.
  const path = url.pathname.startsWith('/') ? url.pathname : null;
  return { host: normalizeHost(url.hostname), path, query: url.searchParams };
}

/** Query parameters with lower-cased names; the first occurrence of a name wins. */
function lowerCaseQuery(query: URLSearchParams | undefined): ReadonlyMap<string, string> {
  const result = new Map<string, string>();
  if (query === undefined) return result;
  for (const [name, value] of query) {
    const key = name.toLowerCase();
    if (!result.has(key)) result.set(key, value);
  }
  return result;
}

function present(value: string | null | undefined): string | null {
  if (typeof value !== 'string') return null;
  const trimmed = value.trim();
  return trimmed === '' ? null : trimmed;
}

interface Utm {
  readonly source: string | null;
  readonly medium: string | null;
  readonly campaign: string | null;
  readonly term: string | null;
  readonly content: string | null;
}

function utmFrom(campaign: CampaignInput | null | undefined, query: ReadonlyMap<string, string>): Utm {
  const fromCampaign: Utm = {
    source: present(campaign?.source),
    medium: present(campaign?.medium),
    campaign: present(campaign?.name),
    term: present(campaign?.term),
    content: present(campaign?.content),
  };
  if (Object.values(fromCampaign).some((value) => value !== null)) return fromCampaign;
  return {
    source: present(query.get('utm_source')),
    medium: present(query.get('utm_medium')),
    campaign: present(query.get('utm_campaign')),
    term: present(query.get('utm_term')),
    content: present(query.get('utm_content')),
  };
}

function withoutWww(host: string): string {
  return host.startsWith('www.') ? host.slice(4) : host;
}

function isInternal(referrerHost: string, pageHost: string | null, siteHost: string | null): boolean {
  const referrer = withoutWww(referrerHost);
  if (pageHost !== null && referrer === withoutWww(pageHost)) return true;
  if (siteHost === null) return false;
  const site = withoutWww(siteHost);
  return referrer === site || referrer.endsWith(`.${site}`);
}

function isKind(kind: SiteKind, hostOrName: string | null): boolean {
  return kind === 'search engine' ? isSearchEngine(hostOrName) : isSocialNetwork(hostOrName);
}

function holds(condition: ChannelCondition, signals: Signals): boolean {
  switch (condition.kind) {
    case 'utm_medium':
      return (
        signals.medium !== null &&
        condition.mediums.includes(signals.medium) &&
        (condition.sourceIs === undefined || isKind(condition.sourceIs, signals.source))
      );
    case 'click id':
      return condition.parameters.some((parameter) => signals.clickIds.has(parameter));
    case 'external referrer':
      return (
        signals.externalReferrerHost !== null &&
        (condition.referrerIs === 'any' || isKind(condition.referrerIs, signals.externalReferrerHost))
      );
    case 'no UTM parameters and no external referrer':
      return !signals.hasUtm && signals.externalReferrerHost === null;
    case 'UTM parameters present':
      return signals.hasUtm;
  }
}

/** The channel of a set of signals: the first matching rule of {@link CHANNEL_RULES}. */
function channelOf(signals: Signals): Channel {
  const rule = CHANNEL_RULES.find((candidate) =>
    candidate.anyOf.some((condition) => holds(condition, signals)),
  );
  // Unreachable: with no UTM a visit is referral or direct, with UTM at worst other. Kept for the type checker.
  return rule?.channel ?? 'other';
}

/**
 * Where a visit came from, by the KPIS.md channel table. Never throws: a malformed URL or referrer counts as absent.
 *
 * - `source` is utm_source, else `google`/`bing` for a click id, else the external referrer's host; `medium` is
 *   utm_medium, else `cpc` for a click id. Both lower-cased, as they are matched case-insensitively.
 * - `campaign` is utm_campaign as sent (trimmed): campaign names are the marketer's own labels.
 * - A referrer on the page's own host (ignoring `www.`) or on `siteHost` and its subdomains is internal and
 *   treated as no referrer: `referrer` is then null.
 */
export function classifyTouch(input: TouchInput): Touch {
  const page = parsePageUrl(input.url);
  const query = lowerCaseQuery(page?.query);
  const utm = utmFrom(input.campaign, query);

  const referrerText = present(input.referrer);
  const referrerUrl = referrerText === null ? null : parseAbsoluteUrl(referrerText);
  const referrerHost = referrerUrl === null ? null : normalizeHost(referrerUrl.hostname);
  const siteHost = normalizeHost(input.siteHost);
  const externalReferrerHost =
    referrerHost !== null && !isInternal(referrerHost, page?.host ?? null, siteHost) ? referrerHost : null;

  const clickIds = new Set([...CLICK_ID_ENGINES.keys()].filter((parameter) => present(query.get(parameter))));
  const [firstClickId] = clickIds;
  const clickIdEngine = firstClickId === undefined ? null : (CLICK_ID_ENGINES.get(firstClickId) ?? null);

  const medium = utm.medium?.toLowerCase() ?? null;
  const signals: Signals = {
    medium,
    source: utm.source?.toLowerCase() ?? externalReferrerHost,
    hasUtm: Object.values(utm).some((value) => value !== null),
    clickIds,
    externalReferrerHost,
  };

  return {
    channel: channelOf(signals),
    campaign: utm.campaign,
    landingPage: page?.path ?? null,
    referrer:
      referrerUrl === null || externalReferrerHost === null
        ? null
        : `${referrerUrl.protocol}//${referrerUrl.host}${referrerUrl.pathname}`,
    source: utm.source?.toLowerCase() ?? clickIdEngine ?? externalReferrerHost,
    medium: medium ?? (clickIdEngine === null ? null : 'cpc'),
  };
}
