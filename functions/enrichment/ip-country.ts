// Country from a client IP address: binary search over a compact DB-IP Lite range table shipped with the function.
import { isIPv4, isIPv6 } from 'node:net';
import { endianness } from 'node:os';
import type { Enricher, EnrichmentResult } from './enricher.ts';
import { DATA_FILES, DEFAULT_DATA_DIR, readDataFile, readManifest } from './shipped-data.ts';

/** One row of the DB-IP CSV: an inclusive range of addresses as numbers, and its ISO 3166-1 alpha-2 country. */
export interface IpCountryRange {
  readonly start: bigint;
  readonly end: bigint;
  readonly country: string;
}

/**
 * Sorted range starts with the index of their country; index 0 means "no country" (unallocated or reserved space).
 * IPv6 is kept at /64 granularity as two 32-bit halves: almost every DB-IP IPv6 range starts on a /64 boundary
 * (all but ~0.1%), and a /64 is one network, so nothing is lost that a country lookup could tell apart, while a
 * 64-bit key halves the table and avoids BigInt on the lookup path.
 */
export interface IpCountryTable {
  readonly countries: readonly string[];
  readonly v4Starts: Uint32Array;
  readonly v4Countries: Uint8Array;
  readonly v6High: Uint32Array;
  readonly v6Low: Uint32Array;
  readonly v6Countries: Uint8Array;
}

const MAGIC = 'NIPC';
const FORMAT_VERSION = 1;
const NO_COUNTRY = '--';
const MAX_V4 = 0xffff_ffffn;
const MAX_V6_PREFIX = (1n << 64n) - 1n;
const IS_LITTLE_ENDIAN = endianness() === 'LE';

interface TableEntry {
  readonly start: bigint;
  readonly country: string;
}

/**
 * Range starts with explicit "no country" entries for the gaps, adjacent equal countries merged. For IPv6 the unit
 * is a /64 prefix and each prefix takes the country of its first address: a range that starts inside a /64 counts
 * from the next /64, and one that lies within a single /64 without its first address is dropped.
 */
function tableEntries(ranges: readonly IpCountryRange[], unitBits: bigint, max: bigint): TableEntry[] {
  const sorted = [...ranges].sort((a, b) => (a.start < b.start ? -1 : a.start > b.start ? 1 : 0));
  const unit = 1n << unitBits;
  const entries: TableEntry[] = [];
  const push = (start: bigint, country: string): void => {
    if (entries.at(-1)?.country !== country) entries.push({ start, country });
  };
  let next = 0n;
  for (const range of sorted) {
    const first = (range.start + unit - 1n) >> unitBits;
    const last = range.end >> unitBits;
    if (first > last || last < next) continue;
    if (first > next) push(next, NO_COUNTRY);
    push(first > next ? first : next, range.country);
    next = last + 1n;
  }
  if (next <= max) push(next, NO_COUNTRY);
  return entries;
}

/**
 * The binary table file: magic, format version, country count and codes, entry counts, then columns (IPv4 start
 * deltas, IPv4 countries, IPv6 high-half deltas, IPv6 low halves, IPv6 countries), all little-endian. Columns and
 * deltas are what let Brotli shrink the file about fourfold.
 */
export function encodeIpCountryTable(input: {
  readonly v4: readonly IpCountryRange[];
  readonly v6: readonly IpCountryRange[];
}): { bytes: Buffer; v4Entries: number; v6Entries: number } {
  const v4 = tableEntries(input.v4, 0n, MAX_V4);
  const v6 = tableEntries(input.v6, 64n, MAX_V6_PREFIX);
  const named = new Set([...v4, ...v6].map((entry) => entry.country).filter((code) => code !== NO_COUNTRY));
  const countries = [NO_COUNTRY, ...[...named].sort()];
  if (countries.length > 255) throw new Error(`too many countries for a one-byte index: ${countries.length}`);
  const index = new Map(countries.map((code, position) => [code, position]));
  const header = 4 + 1 + 1 + countries.length * 2 + 8;
  const bytes = Buffer.alloc(header + v4.length * 5 + v6.length * 9);
  let offset = bytes.write(MAGIC, 0, 'latin1');
  offset = bytes.writeUInt8(FORMAT_VERSION, offset);
  offset = bytes.writeUInt8(countries.length, offset);
  for (const code of countries) offset += bytes.write(code, offset, 'latin1');
  offset = bytes.writeUInt32LE(v4.length, offset);
  offset = bytes.writeUInt32LE(v6.length, offset);
  let previous = 0n;
  for (const entry of v4) {
    offset = bytes.writeUInt32LE(Number(entry.start - previous), offset);
    previous = entry.start;
  }
  for (const entry of v4) offset = bytes.writeUInt8(index.get(entry.country) ?? 0, offset);
  let previousHigh = 0;
  for (const entry of v6) {
    const high = Number(entry.start >> 32n);
    offset = bytes.writeUInt32LE(high - previousHigh, offset);
    previousHigh = high;
  }
  for (const entry of v6) offset = bytes.writeUInt32LE(Number(entry.start & 0xffff_ffffn), offset);
  for (const entry of v6) offset = bytes.writeUInt8(index.get(entry.country) ?? 0, offset);
  return { bytes, v4Entries: v4.length, v6Entries: v6.length };
}

/**
 * A little-endian uint32 column copied into its own (aligned) buffer in one memcpy; reading it value by value took
 * most of the cold-start time. Every Lambda architecture is little-endian, so the bytes are the values.
 */
function uint32Column(bytes: Buffer, offset: number, count: number): Uint32Array {
  if (!IS_LITTLE_ENDIAN) {
    return Uint32Array.from({ length: count }, (_, i) => bytes.readUInt32LE(offset + i * 4));
  }
  const start = bytes.byteOffset + offset;
  return new Uint32Array(bytes.buffer.slice(start, start + count * 4));
}

/** Turns deltas into running sums in place; uint32 storage wraps exactly as the encoder's subtraction did. */
function undoDeltas(column: Uint32Array): void {
  let sum = 0;
  for (let i = 0; i < column.length; i++) {
    sum = (sum + (column[i] ?? 0)) >>> 0;
    column[i] = sum;
  }
}

function maximum(column: Uint8Array): number {
  let largest = 0;
  for (const value of column) if (value > largest) largest = value;
  return largest;
}

export function decodeIpCountryTable(bytes: Buffer): IpCountryTable {
  const fail = (why: string): never => {
    throw new Error(`ip-country table: ${why}`);
  };
  if (bytes.length < 14 || bytes.toString('latin1', 0, 4) !== MAGIC) fail('not an ip-country table');
  if (bytes.readUInt8(4) !== FORMAT_VERSION) fail(`unsupported format ${bytes.readUInt8(4)}`);
  const countryCount = bytes.readUInt8(5);
  let offset = 6;
  const countries: string[] = [];
  for (let i = 0; i < countryCount; i++, offset += 2)
    countries.push(bytes.toString('latin1', offset, offset + 2));
  const v4Count = bytes.readUInt32LE(offset);
  const v6Count = bytes.readUInt32LE(offset + 4);
  offset += 8;
  if (bytes.length !== offset + v4Count * 5 + v6Count * 9) fail('length does not match its entry counts');
  const v4Starts = uint32Column(bytes, offset, v4Count);
  offset += v4Count * 4;
  const v4Countries = Uint8Array.from(bytes.subarray(offset, offset + v4Count));
  offset += v4Count;
  const v6High = uint32Column(bytes, offset, v6Count);
  offset += v6Count * 4;
  const v6Low = uint32Column(bytes, offset, v6Count);
  offset += v6Count * 4;
  const v6Countries = Uint8Array.from(bytes.subarray(offset, offset + v6Count));
  undoDeltas(v4Starts);
  undoDeltas(v6High);
  if (maximum(v4Countries) >= countryCount || maximum(v6Countries) >= countryCount) {
    fail('country index out of range');
  }
  return { countries, v4Starts, v4Countries, v6High, v6Low, v6Countries };
}

/** The table and its data version, read once (at cold start) from the shipped data directory. */
export function loadIpCountryTable(dataDir: URL = DEFAULT_DATA_DIR): {
  table: IpCountryTable;
  version: string;
} {
  const manifest = readManifest(dataDir);
  const table = decodeIpCountryTable(readDataFile(dataDir, DATA_FILES.ipCountry));
  return { table, version: `dbip-country-lite-${manifest.ipCountry.version}` };
}

function parseIpv4(text: string): number | null {
  if (!isIPv4(text)) return null;
  return text.split('.').reduce((value, octet) => value * 256 + Number(octet), 0);
}

/** The upper 64 bits of an IPv6 address as two 32-bit halves, or the IPv4 address inside `::ffff:a.b.c.d`. */
function parseIpv6(text: string): { high: number; low: number } | { ipv4: number } | null {
  if (!isIPv6(text)) return null;
  const [head = '', tail] = text.split('::');
  const groupsOf = (side: string): number[] =>
    side === ''
      ? []
      : side.split(':').flatMap((part) => {
          if (!part.includes('.')) return [Number.parseInt(part, 16)];
          const ipv4 = parseIpv4(part) ?? 0;
          return [Math.floor(ipv4 / 0x10000), ipv4 % 0x10000];
        });
  const left = groupsOf(head);
  const right = tail === undefined ? [] : groupsOf(tail);
  const groups = [...left, ...new Array<number>(8 - left.length - right.length).fill(0), ...right];
  const [g0 = 0, g1 = 0, g2 = 0, g3 = 0, g4 = 0, g5 = 0, g6 = 0, g7 = 0] = groups;
  if (g0 === 0 && g1 === 0 && g2 === 0 && g3 === 0 && g4 === 0 && g5 === 0xffff)
    return { ipv4: g6 * 0x10000 + g7 };
  return { high: g0 * 0x10000 + g1, low: g2 * 0x10000 + g3 };
}

/** Index of the last entry whose start is at or below the key, or -1. */
function lastAtOrBelow(count: number, isAtOrBelow: (index: number) => boolean): number {
  let low = 0;
  let high = count - 1;
  let found = -1;
  while (low <= high) {
    const middle = (low + high) >>> 1;
    if (isAtOrBelow(middle)) {
      found = middle;
      low = middle + 1;
    } else {
      high = middle - 1;
    }
  }
  return found;
}

function countryAt(table: IpCountryTable, code: number | undefined): string | null {
  const country = code === undefined ? undefined : table.countries[code];
  return country === undefined || country === NO_COUNTRY ? null : country;
}

function lookupIpv4(table: IpCountryTable, address: number): string | null {
  const index = lastAtOrBelow(table.v4Starts.length, (i) => (table.v4Starts[i] ?? 0) <= address);
  return countryAt(table, table.v4Countries[index]);
}

/**
 * The ISO 3166-1 alpha-2 country of an IPv4 or IPv6 address (brackets and an IPv6 zone are tolerated), or null for
 * private, reserved, unallocated or malformed addresses. Never throws.
 */
export function lookupCountry(table: IpCountryTable, ip: string): string | null {
  let text = ip.trim();
  const bracketed = /^\[([^\]]+)\](?::\d+)?$/.exec(text);
  if (bracketed?.[1] !== undefined) text = bracketed[1];
  const zone = text.indexOf('%');
  if (zone !== -1) text = text.slice(0, zone);
  const ipv4 = parseIpv4(text);
  if (ipv4 !== null) return lookupIpv4(table, ipv4);
  const ipv6 = parseIpv6(text);
  if (ipv6 === null) return null;
  if ('ipv4' in ipv6) return lookupIpv4(table, ipv6.ipv4);
  const index = lastAtOrBelow(table.v6High.length, (i) => {
    const high = table.v6High[i] ?? 0;
    return high < ipv6.high || (high === ipv6.high && (table.v6Low[i] ?? 0) <= ipv6.low);
  });
  return countryAt(table, table.v6Countries[index]);
}

export const IP_COUNTRY_ENRICHER_NAME = 'ip-country';

/** Adds `geo.country` from the client IP (before truncation); adds nothing when there is no IP or no country. */
export function ipCountryEnricher(input: {
  readonly table: IpCountryTable;
  readonly version: string;
}): Enricher {
  return {
    name: IP_COUNTRY_ENRICHER_NAME,
    version: input.version,
    async enrich({ ip }): Promise<EnrichmentResult> {
      const country = ip === undefined ? null : lookupCountry(input.table, ip);
      return { additions: country === null ? {} : { geo: { country } } };
    },
  };
}
