// What ingest adds to a normalized event: corrected time, channel touch, device, bot flag and truncated IP.
import type { DeviceType, Enrichment, JsonObject, JsonValue, NormalizedEvent } from '../model.ts';
import { type CampaignInput, classifyTouch } from './channel.ts';
import { type DeviceDetection, detectBot, detectDevice } from './device.ts';
import { correctedEventTime } from './event-time.ts';
import { truncateIp } from './ip.ts';

export interface EnrichOptions {
  /** When our API received the request. */
  readonly receivedAt: Date;
  /** The connection's client address, used when the event has no `context.ip`. */
  readonly sourceIp?: string;
  /** The request's User-Agent header, used when the event has no `context.userAgent`. */
  readonly userAgentHeader?: string;
  /** The workspace's site domain, so that referrers from its other subdomains count as internal. */
  readonly siteHost?: string;
}

function isJsonObject(value: JsonValue | undefined): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** An own property only: a key such as `constructor` must never reach Object.prototype. */
function valueAt(source: JsonObject | null, key: string): JsonValue | undefined {
  return source !== null && Object.hasOwn(source, key) ? source[key] : undefined;
}

function objectAt(source: JsonObject | null, key: string): JsonObject | null {
  const value = valueAt(source, key);
  return isJsonObject(value) ? value : null;
}

function stringAt(source: JsonObject | null, key: string): string | undefined {
  const value = valueAt(source, key);
  return typeof value === 'string' && value.trim() !== '' ? value : undefined;
}

/** A UTM value: a string, or a number some client parsed it into (`utm_campaign=2024`), as text. */
function utmValueAt(source: JsonObject, key: string): string | undefined {
  const value = valueAt(source, key);
  return typeof value === 'number' && Number.isFinite(value) ? String(value) : stringAt(source, key);
}

interface VisitorUserAgent {
  readonly userAgent: string | undefined;
  readonly from: 'context' | 'header' | 'none';
  readonly canFlagBot: boolean;
}

function visitorUserAgent(event: NormalizedEvent, header: string | undefined): VisitorUserAgent {
  const fromContext = stringAt(event.context, 'userAgent');
  if (fromContext !== undefined) return { userAgent: fromContext, from: 'context', canFlagBot: true };
  if (header === undefined || header.trim() === '') {
    return { userAgent: undefined, from: 'none', canFlagBot: false };
  }
  const canFlagBot = event.protocol === 'pixel' || /^mozilla\//i.test(header.trim());
  return { userAgent: header, from: 'header', canFlagBot };
}

/**
 * Mobile SDKs (Segment, RudderStack, React Native, Flutter) send no user agent but describe the device in
 * `context.device` / `context.os`: `type: "ios" | "android"`, `model: "iPad13,1"`. Android tablets cannot be told
 * from phones this way and count as mobile, which is the same bucket for "mobile traffic".
 */
function deviceFromAppContext(context: JsonObject): DeviceDetection | null {
  const device = objectAt(context, 'device');
  const osName = stringAt(objectAt(context, 'os'), 'name');
  const platform = (stringAt(device, 'type') ?? osName)?.toLowerCase();
  if (platform !== 'ios' && platform !== 'ipados' && platform !== 'android') return null;
  const isIpad =
    platform === 'ipados' || (stringAt(device, 'model')?.toLowerCase().startsWith('ipad') ?? false);
  const kind: DeviceType = isIpad ? 'tablet' : 'mobile';
  return { device: kind, browser: null, os: osName ?? (platform === 'android' ? 'Android' : 'iOS') };
}

function campaignFrom(context: JsonObject): CampaignInput | null {
  const campaign = objectAt(context, 'campaign');
  if (campaign === null) return null;
  return {
    source: utmValueAt(campaign, 'source'),
    medium: utmValueAt(campaign, 'medium'),
    name: utmValueAt(campaign, 'name'),
    term: utmValueAt(campaign, 'term'),
    content: utmValueAt(campaign, 'content'),
  };
}

/**
 * Enriches one event. Sources, first present wins: user agent from `context.userAgent`, else a mobile SDK's
 * `context.device`/`context.os` (device and OS only), else the request header;
 * IP from `context.ip`, else the connection; page URL and referrer from `context.page`, else (page calls)
 * `properties.url` / `properties.referrer`; UTM parameters from `context.campaign`, else the page URL's query.
 */
export function enrich(event: NormalizedEvent, options: EnrichOptions): Enrichment {
  const { context } = event;
  const page = objectAt(context, 'page');
  const pageProperties = event.type === 'page' ? event.properties : null;

  const visitor = visitorUserAgent(event, options.userAgentHeader);
  // An app's own description of its device beats whatever HTTP stack it happened to send with.
  const device =
    (visitor.from === 'context' ? null : deviceFromAppContext(context)) ?? detectDevice(visitor.userAgent);

  return {
    eventTime: correctedEventTime({
      receivedAt: options.receivedAt,
      sentAt: event.sentAt,
      timestamp: event.clientTimestamp,
    }),
    receivedAt: options.receivedAt.toISOString(),
    touch: classifyTouch({
      url: stringAt(page, 'url') ?? stringAt(pageProperties, 'url'),
      referrer: stringAt(page, 'referrer') ?? stringAt(pageProperties, 'referrer'),
      campaign: campaignFrom(context),
      siteHost: options.siteHost,
    }),
    device: device.device,
    isBot: visitor.canFlagBot && detectBot(visitor.userAgent),
    ip: truncateIp(stringAt(context, 'ip') ?? options.sourceIp),
    browser: device.browser,
    os: device.os,
  };
}
