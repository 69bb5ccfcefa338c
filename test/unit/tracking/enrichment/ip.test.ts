// IP truncation before storage: /24 for IPv4, /48 for IPv6, null for anything that is not an address.
import { describe, expect, it } from 'vitest';
import { truncateIp } from '../../../../functions/tracking/enrichment/ip.ts';

describe('IPv4 truncation', () => {
  it.each([
    ['203.0.113.42', '203.0.113.0'],
    ['203.0.113.0', '203.0.113.0'],
    ['8.8.8.8', '8.8.8.0'],
    ['255.255.255.255', '255.255.255.0'],
    ['0.0.0.0', '0.0.0.0'],
    ['10.1.2.3', '10.1.2.0'],
    ['  192.0.2.99  ', '192.0.2.0'],
    ['203.0.113.42:51234', '203.0.113.0'],
    ['203.0.113.42, 10.0.0.1', '203.0.113.0'],
  ])('truncates %j to %s', (ip, expected) => {
    expect(truncateIp(ip)).toBe(expected);
  });
});

describe('IPv6 truncation', () => {
  it.each([
    ['2001:db8:85a3:8d3:1319:8a2e:370:7348', '2001:db8:85a3::'],
    ['2001:0DB8:85A3:0000:0000:8A2E:0370:7334', '2001:db8:85a3::'],
    ['2001:db8:85a3::8a2e:370:7334', '2001:db8:85a3::'],
    ['2001:db8::1', '2001:db8::'],
    ['2001::1', '2001::'],
    ['::1', '::'],
    ['::', '::'],
    ['fe80::1%eth0', 'fe80::'],
    ['[2001:db8:85a3::1]:443', '2001:db8:85a3::'],
    ['[2001:db8:85a3::1]', '2001:db8:85a3::'],
    ['0:0:1::', '0:0:1::'],
    ['2001:0:0:1:2:3:4:5', '2001::'],
    ['1:2:3:4:5:6:7::', '1:2:3::'],
    ['64:ff9b::192.0.2.33', '64:ff9b::'],
  ])('truncates %s to %s', (ip, expected) => {
    expect(truncateIp(ip)).toBe(expected);
  });

  it.each([
    ['::ffff:1.2.3.4', '1.2.3.0'],
    ['::FFFF:203.0.113.42', '203.0.113.0'],
    ['::ffff:cb00:712a', '203.0.113.0'],
    ['0:0:0:0:0:ffff:203.0.113.42', '203.0.113.0'],
    ['[::ffff:203.0.113.42]:8080', '203.0.113.0'],
  ])('truncates the IPv4-mapped address %s as IPv4, to %s', (ip, expected) => {
    expect(truncateIp(ip)).toBe(expected);
  });
});

describe('addresses that are not IPs', () => {
  it.each([
    '',
    '   ',
    'unknown',
    'localhost',
    '256.1.1.1',
    '1.2.3',
    '1.2.3.4.5',
    '1.2.3.-4',
    '01.2.3.4',
    '1.2.3.4x',
    '1..3.4',
    '1:2:3:4:5:6:7:8:9',
    '1::2::3',
    ':1:2:3:4:5:6:7',
    '12345::',
    'g::1',
    '::ffff:1.2.3.256',
    '1.2.3.4::',
    '[2001:db8::1',
    '2001:db8::1]:80',
  ])('gives null for %j', (ip) => {
    expect(truncateIp(ip)).toBeNull();
  });

  it.each([null, undefined])('gives null for %s', (ip) => {
    expect(truncateIp(ip)).toBeNull();
  });
});

/** A small deterministic generator, so a failing address can be reproduced from its seed. */
function seededIntegers(seed: number): (below: number) => number {
  let state = seed >>> 0;
  return (below) => {
    state = (Math.imul(state, 1_664_525) + 1_013_904_223) >>> 0;
    return state % below;
  };
}

describe('truncation of arbitrary addresses', () => {
  it('never returns an IPv4 address with a non-zero last octet unchanged', () => {
    const next = seededIntegers(42);
    for (let i = 0; i < 2000; i++) {
      const ip = [next(256), next(256), next(256), 1 + next(255)].join('.');

      const truncated = truncateIp(ip);

      expect(truncated).not.toBe(ip);
      expect(truncated).toBe(`${ip.slice(0, ip.lastIndexOf('.'))}.0`);
    }
  });

  it('keeps only the first 48 bits of any IPv6 address', () => {
    const next = seededIntegers(7);
    for (let i = 0; i < 2000; i++) {
      const groups = Array.from({ length: 8 }, () => next(0x10000).toString(16));
      groups[0] = (0x2000 + next(0x1000)).toString(16);

      const truncated = truncateIp(groups.join(':'));

      expect(truncated).toBe(`${groups.slice(0, 3).join(':')}::`);
    }
  });

  it('never throws and returns null or an address on random text', () => {
    const next = seededIntegers(99);
    const alphabet = '0123456789abcdefABCDEF:.[]%, xyz\u0000';
    for (let i = 0; i < 5000; i++) {
      const text = Array.from({ length: next(24) }, () => alphabet[next(alphabet.length)] ?? '').join('');

      const truncated = truncateIp(text);

      expect(
        truncated === null || /^(?:\d{1,3}\.\d{1,3}\.\d{1,3}\.0|[0-9a-f:]*::?[0-9a-f:]*)$/.test(truncated),
      ).toBe(true);
    }
  });
});
