// SSRF rules: webhooks go to public http(s) hosts only, unless a development stack allows private ones.
import { describe, expect, it } from 'vitest';
import {
  checkWebhookTarget,
  isPrivateAddress,
  RefusedWebhookTargetError,
} from '../../../../functions/messaging/webhooks/targets.ts';

const resolvesTo =
  (...addresses: string[]) =>
  async () =>
    addresses;
const production = { allowPrivate: false };
const development = { allowPrivate: true };

describe('private addresses', () => {
  it.each([
    '127.0.0.1',
    '127.255.255.254',
    '10.1.2.3',
    '172.16.0.1',
    '172.31.255.255',
    '192.168.1.1',
    '169.254.169.254',
    '100.64.0.1',
    '0.0.0.0',
    '224.0.0.1',
    '255.255.255.255',
    '::1',
    '::',
    'fe80::1',
    'fe80::1%eth0',
    'fd00:ec2::254',
    'fc00::1',
    'ff02::1',
    '::ffff:127.0.0.1',
    '::ffff:a9fe:a9fe',
    '::ffff:10.0.0.1',
    '2002:7f00:1::',
    '64:ff9b::c0a8:101',
  ])('counts %s as private', (address) => {
    expect(isPrivateAddress(address)).toBe(true);
  });

  it.each([
    '8.8.8.8',
    '1.1.1.1',
    '172.32.0.1',
    '172.15.255.255',
    '100.128.0.1',
    '2606:4700:4700::1111',
    '::ffff:8.8.8.8',
    '64:ff9b::808:808',
    '2002:808:808::',
  ])('counts %s as public', (address) => {
    expect(isPrivateAddress(address)).toBe(false);
  });

  it('counts anything that is not an IP address as private, so that it is never trusted', () => {
    expect(isPrivateAddress('example.com')).toBe(true);
  });
});

describe('checking a webhook URL', () => {
  it('accepts an https URL whose host resolves to public addresses only', async () => {
    const url = await checkWebhookTarget('https://hooks.example.com/nurture?x=1', {
      ...production,
      lookup: resolvesTo('93.184.216.34', '2606:2800:220:1::1'),
    });

    expect(url.toString()).toBe('https://hooks.example.com/nurture?x=1');
  });

  it.each([
    ['a relative URL', '/hooks'],
    ['ftp', 'ftp://example.com/hook'],
    ['file', 'file:///etc/passwd'],
    ['javascript', 'javascript:alert(1)'],
  ])('refuses %s', async (_what, url) => {
    await expect(checkWebhookTarget(url, { ...production, lookup: resolvesTo('8.8.8.8') })).rejects.toThrow(
      RefusedWebhookTargetError,
    );
  });

  it.each([
    ['the metadata address', 'http://169.254.169.254/latest/meta-data/'],
    ['a decimal loopback', 'http://2130706433/'],
    ['a hexadecimal loopback', 'http://0x7f.1/'],
    ['an IPv6 loopback', 'http://[::1]:8080/'],
    ['an IPv4-mapped loopback', 'http://[::ffff:127.0.0.1]/'],
    ['a private network address', 'https://10.0.0.5/hook'],
  ])('refuses %s written as a literal host', async (_what, url) => {
    await expect(checkWebhookTarget(url, { ...production, lookup: resolvesTo('8.8.8.8') })).rejects.toThrow(
      /loopback, private or link-local|metadata/,
    );
  });

  it('refuses a host name that resolves to a private address among public ones', async () => {
    await expect(
      checkWebhookTarget('https://rebind.example.com/', {
        ...production,
        lookup: resolvesTo('93.184.216.34', '127.0.0.1'),
      }),
    ).rejects.toThrow(/loopback, private or link-local/);
  });

  it('refuses a host name that does not resolve', async () => {
    const lookup = async (): Promise<string[]> => {
      throw new Error('ENOTFOUND');
    };

    await expect(checkWebhookTarget('https://nowhere.invalid/', { ...production, lookup })).rejects.toThrow(
      'url host nowhere.invalid does not resolve',
    );
  });

  it('accepts loopback and private receivers when the stack allows private targets', async () => {
    const url = await checkWebhookTarget('http://127.0.0.1:8080/hook', {
      ...development,
      lookup: resolvesTo(),
    });

    expect(url.host).toBe('127.0.0.1:8080');
  });

  it('refuses the cloud metadata addresses even when private targets are allowed', async () => {
    await expect(
      checkWebhookTarget('http://169.254.169.254/', { ...development, lookup: resolvesTo() }),
    ).rejects.toThrow(/metadata/);
    await expect(
      checkWebhookTarget('http://metadata.example/', { ...development, lookup: resolvesTo('fd00:ec2::254') }),
    ).rejects.toThrow(/metadata/);
  });
});
