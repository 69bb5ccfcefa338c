// Tells machine opens and clicks (privacy proxies, prefetchers, link scanners) from people's, so KPIs can leave them out.
import { isbot } from 'isbot';

export interface TrackingRequest {
  readonly userAgent: string | undefined;
  readonly ip: string | undefined;
  /** HTTP method of the pixel or link request. */
  readonly method: string;
  /** When SES accepted the message, if known. */
  readonly sentAt: Date | null;
  readonly at: Date;
}

export type MachineReason =
  | 'apple-mpp'
  | 'bot'
  | 'head-request'
  | 'too-fast'
  | 'no-user-agent'
  | 'security-scanner';

export type MachineVerdict =
  | { readonly machine: true; readonly reason: MachineReason }
  | { readonly machine: false; readonly reason: null };

/** Link scanners follow every link the moment the message lands; nobody reads and clicks within this. */
export const MIN_HUMAN_CLICK_DELAY_MS = 5_000;

const HUMAN: MachineVerdict = { machine: false, reason: null };

function machine(reason: MachineReason): MachineVerdict {
  return { machine: true, reason };
}

/** Same cap as device detection: a real user agent is a few hundred characters, the rest is junk. */
const MAX_USER_AGENT_LENGTH = 1024;

function usable(userAgent: string | undefined): string | null {
  const trimmed = userAgent?.trim().slice(0, MAX_USER_AGENT_LENGTH) ?? '';
  return trimmed === '' ? null : trimmed;
}

/** Mail security gateways, some of which isbot knows and some it does not; named so reports can say which. */
const SECURITY_SCANNER =
  /barracuda|mimecast|proofpoint|ppurldefense|trend ?micro|forcepoint|symantec|mcafee|ironport|sophos|fortiguard|fortinet|zscaler|safelinks|microsoft-urlanalyzer|cloudmark|vade ?secure|libraesva|hornetsecurity/i;

/**
 * Office apps probe a link before handing it to the browser, and Outlook and Teams fetch previews; the person's own
 * click then arrives from the browser. Clicks only: Outlook desktop loads images, so a real open, with this agent.
 */
const OFFICE_LINK_PROBE = /microsoft office|ms-office|msoffice/i;

/**
 * Gmail fetches images through its proxy when the reader opens the message, not at delivery: a person's open, which
 * isbot (rightly, for web analytics) calls a bot.
 */
const GMAIL_IMAGE_PROXY = /GoogleImageProxy/;

/**
 * Apple Mail Privacy Protection fetches every image at delivery, from Apple's 17.0.0.0/8 network, with a bare
 * `Mozilla/5.0` user agent. IPv4-mapped IPv6 is accepted because some proxies in front of the API report it.
 */
function isAppleMpp(userAgent: string, ip: string | undefined): boolean {
  if (userAgent === 'Mozilla/5.0') return true;
  const v4 = ip?.trim().replace(/^::ffff:/i, '');
  const octets = v4?.split('.');
  return (
    octets !== undefined &&
    octets.length === 4 &&
    octets.every((octet) => /^\d{1,3}$/.test(octet) && Number(octet) <= 255) &&
    Number(octets[0]) === 17
  );
}

function isHead(method: string): boolean {
  return method.trim().toUpperCase() === 'HEAD';
}

/**
 * Whether an open-pixel request is a machine's. Timing is not used: a person alerted by a notification can open a
 * message within seconds, and Apple's prefetch is recognised by its network instead.
 */
export function classifyOpen(request: TrackingRequest): MachineVerdict {
  if (isHead(request.method)) return machine('head-request');
  const userAgent = usable(request.userAgent);
  if (userAgent === null) return machine('no-user-agent');
  if (isAppleMpp(userAgent, request.ip)) return machine('apple-mpp');
  if (GMAIL_IMAGE_PROXY.test(userAgent)) return HUMAN;
  if (SECURITY_SCANNER.test(userAgent)) return machine('security-scanner');
  if (isbot(userAgent)) return machine('bot');
  return HUMAN;
}

/** Whether a tracked-link request is a machine's: scanners announce themselves, or give themselves away by speed. */
export function classifyClick(request: TrackingRequest): MachineVerdict {
  if (isHead(request.method)) return machine('head-request');
  const userAgent = usable(request.userAgent);
  if (userAgent === null) return machine('no-user-agent');
  if (SECURITY_SCANNER.test(userAgent) || OFFICE_LINK_PROBE.test(userAgent))
    return machine('security-scanner');
  if (isbot(userAgent)) return machine('bot');
  // Also catches a click stamped before the send (clock skew): no person clicks a link they have not received.
  if (request.sentAt !== null && request.at.getTime() - request.sentAt.getTime() < MIN_HUMAN_CLICK_DELAY_MS)
    return machine('too-fast');
  return HUMAN;
}
