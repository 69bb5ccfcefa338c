// Device class, browser, OS and bot flag from a user agent; uses ua-parser-js v1 (MIT) and isbot v5 (Unlicense).
import { isbot } from 'isbot';
import UAParser from 'ua-parser-js';
import type { DeviceType } from '../model.ts';

export interface DeviceDetection {
  readonly device: DeviceType;
  /** Browser family as ua-parser-js names it (`Chrome`, `Mobile Safari`, `Edge`), without version; null if unknown. */
  readonly browser: string | null;
  /** OS family as ua-parser-js names it (`iOS`, `Android`, `Windows`, `Mac OS`), without version; null if unknown. */
  readonly os: string | null;
}

/**
 * Real user agents are a few hundred characters; anything far longer is junk or an attack on the parsers' regular
 * expressions, and its first kilobyte says all there is to say.
 */
const MAX_USER_AGENT_LENGTH = 1024;

function usable(userAgent: string | undefined): string | null {
  if (typeof userAgent !== 'string') return null;
  const trimmed = userAgent.trim().slice(0, MAX_USER_AGENT_LENGTH);
  return trimmed === '' ? null : trimmed;
}

/**
 * ua-parser-js device types to the three KPIS.md classes. Watches count as mobile (a phone-class screen);
 * smart TVs, consoles, embedded devices and anything unrecognised (desktop browsers report no device type at all)
 * count as desktop. iPadOS 13+ Safari sends a macOS user agent by default, so such iPads are counted as desktop:
 * the user agent alone cannot tell them apart.
 */
function deviceClass(type: string | undefined): DeviceType {
  switch (type) {
    case 'mobile':
    case 'wearable':
      return 'mobile';
    case 'tablet':
      return 'tablet';
    default:
      return 'desktop';
  }
}

function nameOrNull(name: string | undefined): string | null {
  return name === undefined || name === '' ? null : name;
}

/** Desktop, mobile or tablet, with browser and OS, from a user agent; a missing user agent gives desktop and nulls. */
export function detectDevice(userAgent: string | undefined): DeviceDetection {
  const text = usable(userAgent);
  if (text === null) return { device: 'desktop', browser: null, os: null };
  const result = new UAParser(text).getResult();
  return {
    device: deviceClass(result.device.type),
    browser: nameOrNull(result.browser.name),
    os: nameOrNull(result.os.name),
  };
}

/**
 * Whether a user agent is a bot (crawler, monitor, headless browser, HTTP library). Only a present user agent can be
 * a bot: server-side events (analytics-node, RudderStack and Snowplow server trackers) carry none, and they are
 * orders, sign-ups and deals that must count in every KPI. Which user agent to pass is the caller's decision.
 */
export function detectBot(userAgent: string | undefined): boolean {
  const text = usable(userAgent);
  return text !== null && isbot(text);
}
