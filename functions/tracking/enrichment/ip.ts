// Truncates client IP addresses before storage (IPv4 to /24, IPv6 to /48), so no stored address identifies a person.

const IPV4_OCTET = /^(?:0|[1-9]\d{0,2})$/;
const IPV6_GROUP = /^[0-9a-f]{1,4}$/i;

/**
 * The four octets of a dotted-quad IPv4 address, or null. Leading zeros are refused: `010.0.0.1` is octal to some
 * parsers and decimal to others, and no socket or proxy writes addresses that way.
 */
function parseIpv4(text: string): number[] | null {
  const parts = text.split('.');
  if (parts.length !== 4) return null;
  const octets: number[] = [];
  for (const part of parts) {
    if (!IPV4_OCTET.test(part)) return null;
    const octet = Number(part);
    if (octet > 255) return null;
    octets.push(octet);
  }
  return octets;
}

/** Expands the groups on one side of `::` (the last may be an embedded IPv4 address); null when malformed. */
function parseGroups(side: string, allowIpv4Tail: boolean): number[] | null {
  if (side === '') return [];
  const parts = side.split(':');
  const groups: number[] = [];
  for (const [index, part] of parts.entries()) {
    if (allowIpv4Tail && index === parts.length - 1 && part.includes('.')) {
      const octets = parseIpv4(part);
      if (octets === null) return null;
      const [a = 0, b = 0, c = 0, d = 0] = octets;
      groups.push(a * 256 + b, c * 256 + d);
    } else if (IPV6_GROUP.test(part)) {
      groups.push(Number.parseInt(part, 16));
    } else {
      return null;
    }
  }
  return groups;
}

/** The eight 16-bit groups of an IPv6 address, or null. */
function parseIpv6(text: string): number[] | null {
  const halves = text.split('::');
  if (halves.length > 2) return null;
  const [head = '', tail] = halves;
  if (tail === undefined) {
    const groups = parseGroups(head, true);
    return groups !== null && groups.length === 8 ? groups : null;
  }
  const left = parseGroups(head, false);
  const right = parseGroups(tail, true);
  if (left === null || right === null || left.length + right.length > 7) return null;
  return [...left, ...new Array<number>(8 - left.length - right.length).fill(0), ...right];
}

/** RFC 5952 text: lower case, no leading zeros, the longest run of two or more zero groups (first if tied) as `::`. */
function formatIpv6(groups: readonly number[]): string {
  let bestStart = -1;
  let bestLength = 1;
  for (let start = 0; start < groups.length; ) {
    if (groups[start] !== 0) {
      start++;
      continue;
    }
    let end = start;
    while (end < groups.length && groups[end] === 0) end++;
    if (end - start > bestLength) {
      bestStart = start;
      bestLength = end - start;
    }
    start = end;
  }
  const hex = groups.map((group) => group.toString(16));
  if (bestStart === -1) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLength).join(':')}`;
}

/**
 * Strips what surrounds an address in the wild: whitespace, a forwarded-for list (the first entry is the client),
 * brackets and port (`[2001:db8::1]:443`), an IPv4 port (`203.0.113.7:51234`) and an IPv6 zone (`fe80::1%eth0`).
 */
function bareAddress(ip: string): string {
  let text = (ip.split(',')[0] ?? '').trim();
  const bracketed = /^\[([^\]]*)\](?::\d+)?$/.exec(text);
  if (bracketed?.[1] !== undefined) text = bracketed[1];
  else if (/^[\d.]+:\d+$/.test(text)) text = text.slice(0, text.indexOf(':'));
  const zone = text.indexOf('%');
  return zone === -1 ? text : text.slice(0, zone);
}

/**
 * The address with its host part removed: IPv4 keeps its first three octets (`203.0.113.0`), IPv6 its first 48 bits
 * (`2001:db8:85a3::`), an IPv4-mapped IPv6 address (`::ffff:1.2.3.4`) becomes a truncated IPv4 address. Anything that
 * is not an IP address gives null; never throws.
 */
export function truncateIp(ip: string | undefined | null): string | null {
  if (typeof ip !== 'string') return null;
  const text = bareAddress(ip);
  const ipv4 = parseIpv4(text);
  if (ipv4 !== null) return `${ipv4.slice(0, 3).join('.')}.0`;
  const ipv6 = text.includes(':') ? parseIpv6(text) : null;
  if (ipv6 === null) return null;
  const isIpv4Mapped = ipv6.slice(0, 5).every((group) => group === 0) && ipv6[5] === 0xffff;
  if (isIpv4Mapped) {
    const [high = 0, low = 0] = ipv6.slice(6);
    return `${high >> 8}.${high & 0xff}.${low >> 8}.0`;
  }
  return formatIpv6([...ipv6.slice(0, 3), 0, 0, 0, 0, 0]);
}
