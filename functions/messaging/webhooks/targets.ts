// Which URLs a webhook may be sent to: http(s) only, and never (unless allowed) to loopback, private or link-local hosts.
import { isIP } from 'node:net';

export class RefusedWebhookTargetError extends Error {
  override name = 'RefusedWebhookTargetError';
}

/** Resolves a host name to every address it has (A and AAAA). */
export type AddressLookup = (hostname: string) => Promise<readonly string[]>;

export interface TargetPolicy {
  /** Development stacks deliver to receivers on the same machine; production never does. */
  readonly allowPrivate: boolean;
}

/** A CIDR block: base address, prefix length, and the family's width in bits. */
type Range = readonly [base: bigint, bits: number, width: 32 | 128];

function v4(address: string): bigint {
  return address.split('.').reduce((value, part) => (value << 8n) | BigInt(Number(part)), 0n);
}

function range4(cidr: string): Range {
  const [address = '', bits = '32'] = cidr.split('/');
  return [v4(address), Number(bits), 32];
}

function range6(cidr: string): Range {
  const [address = '', bits = '128'] = cidr.split('/');
  return [v6(address), Number(bits), 128];
}

/** An IPv6 address as a 128-bit number; accepts `::` shortening, a trailing dotted IPv4 part and a zone id. */
function v6(address: string): bigint {
  let text = address.split('%')[0] ?? '';
  const dotted = text.match(/(\d+\.\d+\.\d+\.\d+)$/);
  if (dotted?.[1]) {
    const tail = v4(dotted[1]);
    text = `${text.slice(0, -dotted[1].length)}${(tail >> 16n).toString(16)}:${(tail & 0xffffn).toString(16)}`;
  }
  const [head = '', rest] = text.split('::');
  const left = head === '' ? [] : head.split(':');
  const right = rest === undefined || rest === '' ? [] : rest.split(':');
  const missing = 8 - left.length - right.length;
  const groups = rest === undefined ? left : [...left, ...Array<string>(missing).fill('0'), ...right];
  return groups.reduce((value, group) => (value << 16n) | BigInt(Number.parseInt(group, 16)), 0n);
}

function inRange(value: bigint, [base, bits, width]: Range): boolean {
  const shift = BigInt(width - bits);
  return value >> shift === base >> shift;
}

/** Not reachable on the public internet (RFC 6890 special-purpose blocks, multicast, reserved). */
const PRIVATE_V4: readonly Range[] = [
  '0.0.0.0/8',
  '10.0.0.0/8',
  '100.64.0.0/10',
  '127.0.0.0/8',
  '169.254.0.0/16',
  '172.16.0.0/12',
  '192.0.0.0/24',
  '192.0.2.0/24',
  '192.88.99.0/24',
  '192.168.0.0/16',
  '198.18.0.0/15',
  '198.51.100.0/24',
  '203.0.113.0/24',
  '224.0.0.0/4',
  '240.0.0.0/4',
].map(range4);

const PRIVATE_V6: readonly Range[] = [
  '::/128',
  '::1/128',
  '64:ff9b:1::/48',
  '100::/64',
  '2001::/32',
  '2001:db8::/32',
  'fc00::/7',
  'fe80::/10',
  'fec0::/10',
  'ff00::/8',
].map(range6);

/** IPv6 forms that carry an IPv4 address: judged by that address (`::ffff:127.0.0.1` is loopback). */
const EMBEDDING_V4: ReadonlyArray<{ range: Range; shift: bigint }> = [
  { range: range6('::ffff:0:0/96'), shift: 0n },
  { range: range6('::/96'), shift: 0n },
  { range: range6('64:ff9b::/96'), shift: 0n },
  { range: range6('2002::/16'), shift: 80n },
];

/**
 * Cloud metadata and credential endpoints: refused even where private targets are allowed, since reaching them
 * from a function could hand its credentials to whoever configured the webhook.
 */
const METADATA: ReadonlySet<string> = new Set(['169.254.169.254', '169.254.170.2', 'fd00:ec2::254']);

function isPrivateV4(value: bigint): boolean {
  return PRIVATE_V4.some((r) => inRange(value, r));
}

/** True for addresses a webhook must not reach by default: loopback, private, link-local, reserved. */
export function isPrivateAddress(address: string): boolean {
  const family = isIP(address.split('%')[0] ?? '');
  if (family === 4) return isPrivateV4(v4(address));
  if (family !== 6) return true;
  const value = v6(address);
  for (const { range, shift } of EMBEDDING_V4) {
    if (inRange(value, range)) return isPrivateV4((value >> shift) & 0xffffffffn);
  }
  return PRIVATE_V6.some((r) => inRange(value, r));
}

function isMetadataAddress(address: string): boolean {
  const family = isIP(address.split('%')[0] ?? '');
  if (family === 4) return METADATA.has(address);
  if (family !== 6) return false;
  const value = v6(address);
  if (inRange(value, range6('::ffff:0:0/96'))) {
    const embedded = value & 0xffffffffn;
    return [...METADATA].some((m) => isIP(m) === 4 && v4(m) === embedded);
  }
  return [...METADATA].some((m) => isIP(m) === 6 && v6(m) === value);
}

/** Throws RefusedWebhookTargetError when the policy forbids this resolved address. */
export function checkAddress(address: string, policy: TargetPolicy): void {
  if (isMetadataAddress(address))
    throw new RefusedWebhookTargetError('url points at a cloud metadata address');
  if (!policy.allowPrivate && isPrivateAddress(address))
    throw new RefusedWebhookTargetError('url resolves to a loopback, private or link-local address');
}

/** The host as an address when the URL names one literally (`[::1]` loses its brackets), else undefined. */
export function literalAddress(url: URL): string | undefined {
  const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
  return isIP(host) === 0 ? undefined : host;
}

/** Parses a webhook URL: absolute, http or https, with a host. */
export function parseWebhookUrl(text: string): URL {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new RefusedWebhookTargetError('url is not an absolute URL');
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:')
    throw new RefusedWebhookTargetError('url must use http or https');
  if (url.hostname === '') throw new RefusedWebhookTargetError('url has no host');
  return url;
}

/**
 * Checks a URL before it is saved or used: the scheme, and every address its host is or resolves to. The sender
 * checks the address it actually connects to as well, since DNS can answer differently a second later.
 */
export async function checkWebhookTarget(
  text: string,
  options: TargetPolicy & { lookup: AddressLookup },
): Promise<URL> {
  const url = parseWebhookUrl(text);
  const literal = literalAddress(url);
  let addresses: readonly string[];
  if (literal !== undefined) addresses = [literal];
  else {
    try {
      addresses = await options.lookup(url.hostname);
    } catch {
      throw new RefusedWebhookTargetError(`url host ${url.hostname} does not resolve`);
    }
  }
  if (addresses.length === 0)
    throw new RefusedWebhookTargetError(`url host ${url.hostname} does not resolve`);
  for (const address of addresses) checkAddress(address, options);
  return url;
}
