// Country from IP: the shipped DB-IP table answers as the DB-IP CSV does; reserved and malformed addresses give null.
import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  decodeIpCountryTable,
  encodeIpCountryTable,
  type IpCountryTable,
  ipCountryEnricher,
  loadIpCountryTable,
  lookupCountry,
} from '../../../functions/enrichment/ip-country.ts';

const DBIP = new URL('../../../node_modules/@ip-location-db/dbip-country/', import.meta.url);
const SIXTY_FOUR = 1n << 64n;

interface CsvRange {
  readonly start: bigint;
  readonly end: bigint;
  readonly country: string;
}

/** Every `step`-th row of a DB-IP numeric CSV, so the expectations come from the data rather than from memory. */
function sampleRows(file: string, step: number): CsvRange[] {
  const lines = readFileSync(new URL(file, DBIP), 'utf8').trim().split('\n');
  return lines
    .filter((_, index) => index % step === 0)
    .map((line) => {
      const [start = '', end = '', country = ''] = line.split(',');
      return { start: BigInt(start), end: BigInt(end), country };
    });
}

function ipv4Text(value: bigint): string {
  return [24n, 16n, 8n, 0n].map((shift) => ((value >> shift) & 0xffn).toString()).join('.');
}

function ipv6Text(value: bigint): string {
  return Array.from({ length: 8 }, (_, i) => ((value >> BigInt(112 - i * 16)) & 0xffffn).toString(16)).join(
    ':',
  );
}

let table: IpCountryTable;
let version: string;
beforeAll(() => {
  ({ table, version } = loadIpCountryTable());
});

describe('IPv4 lookups against the DB-IP CSV', () => {
  const rows = sampleRows('dbip-country-ipv4-num.csv', 25_000);

  it.each(rows.map((row) => [ipv4Text(row.start), ipv4Text(row.end), row.country]))(
    'places %s to %s in %s',
    (first, last, country) => {
      expect([lookupCountry(table, first), lookupCountry(table, last)]).toEqual([country, country]);
    },
  );

  it('reads an IPv4 address written as IPv4-mapped IPv6 like the plain address', () => {
    const row = rows[3];
    if (row === undefined) throw new Error('sample too small');

    expect(lookupCountry(table, `::ffff:${ipv4Text(row.start)}`)).toBe(row.country);
  });
});

describe('IPv6 lookups against the DB-IP CSV', () => {
  const rows = sampleRows('dbip-country-ipv6-num.csv', 5_000).filter(
    (row) => row.start % SIXTY_FOUR === 0n && (row.end + 1n) % SIXTY_FOUR === 0n,
  );

  it('samples enough whole-/64 ranges to mean something', () => {
    expect(rows.length).toBeGreaterThan(40);
  });

  it.each(rows.map((row) => [ipv6Text(row.start), ipv6Text(row.end), row.country]))(
    'places %s to %s in %s',
    (first, last, country) => {
      expect([lookupCountry(table, first), lookupCountry(table, last)]).toEqual([country, country]);
    },
  );

  it('accepts a bracketed address with a port', () => {
    const row = rows[0];
    if (row === undefined) throw new Error('sample too small');

    expect(lookupCountry(table, `[${ipv6Text(row.start + 1n)}]:443`)).toBe(row.country);
  });
});

describe('addresses with no country', () => {
  it.each([
    '10.1.2.3',
    '172.16.0.1',
    '192.168.1.1',
    '127.0.0.1',
    '169.254.10.10',
    '0.0.0.0',
    '224.0.0.251',
    '255.255.255.255',
    '::1',
    '::',
    'fe80::1%eth0',
    'fd12:3456:789a::1',
    'ff02::1',
  ])('gives null for the private or reserved address %s', (ip) => {
    expect(lookupCountry(table, ip)).toBeNull();
  });

  it.each([
    '',
    'localhost',
    '1.2.3',
    '256.1.1.1',
    '1.2.3.4.5',
    '01.2.3.4',
    '2001:::1',
    'gggg::1',
    '1:2:3:4:5:6:7:8:9',
  ])('gives null for the malformed address %j', (ip) => {
    expect(lookupCountry(table, ip)).toBeNull();
  });
});

describe('the compact table format', () => {
  const v4 = [
    { start: 16n, end: 31n, country: 'DE' },
    { start: 32n, end: 47n, country: 'FR' },
    { start: 64n, end: 79n, country: 'FR' },
  ];
  const prefix = (p: bigint): bigint => p * SIXTY_FOUR;
  const v6 = [
    { start: prefix(0x2001_0db9_0000_0000n), end: prefix(0x2001_0db9_0000_0002n) + 41n, country: 'NL' },
    { start: prefix(0x2001_0db9_0000_0002n) + 42n, end: prefix(0x2001_0db9_0000_0005n) - 1n, country: 'BE' },
  ];
  const decoded = decodeIpCountryTable(encodeIpCountryTable({ v4, v6 }).bytes);

  it('survives encoding and decoding with its gaps answering null', () => {
    const answers = ['0.0.0.15', '0.0.0.16', '0.0.0.47', '0.0.0.48', '0.0.0.64', '0.0.0.80'].map((ip) =>
      lookupCountry(decoded, ip),
    );

    expect(answers).toEqual([null, 'DE', 'FR', null, 'FR', null]);
  });

  it('gives each IPv6 /64 the country of its first address', () => {
    const answers = ['2001:db9:0:2::ffff', '2001:db9:0:3::', '2001:db9:0:4:ffff::', '2001:db9:0:5::'].map(
      (ip) => lookupCountry(decoded, ip),
    );

    expect(answers).toEqual(['NL', 'BE', 'BE', null]);
  });

  it('refuses bytes that are not a table', () => {
    expect(() => decodeIpCountryTable(Buffer.from('not a table at all'))).toThrow(/not an ip-country table/);
  });
});

describe('the ip-country enricher', () => {
  it('adds the country under the geo namespace, versioned by the DB-IP release', async () => {
    const [row] = sampleRows('dbip-country-ipv4-num.csv', 100_000);
    if (row === undefined) throw new Error('no rows');
    const enricher = ipCountryEnricher({ table, version });

    const result = await enricher.enrich({
      traits: {},
      ip: ipv4Text(row.start),
      context: { now: new Date(), trigger: 'identify' },
    });

    expect(result.additions).toEqual({ geo: { country: row.country } });
    expect(enricher.version).toMatch(/^dbip-country-lite-\d{4}-\d{2}-\d{2}$/);
  });

  it('adds nothing for a private address', async () => {
    const enricher = ipCountryEnricher({ table, version });

    const result = await enricher.enrich({
      traits: {},
      ip: '10.0.0.1',
      context: { now: new Date(), trigger: 'identify' },
    });

    expect(result.additions).toEqual({});
  });
});
