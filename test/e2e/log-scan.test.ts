// Logs hold no personal data: real traffic through the local stack, then every function log and the API access log
// are scanned for email addresses and IP addresses.
import { randomUUID } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  admin,
  eventually,
  type LocalStackProcess,
  startLocalStackProcess,
} from './support/local-stack-process.ts';

let stack: LocalStackProcess;

const suffix = randomUUID().slice(0, 8);
const EMAIL = `grace.hopper.${suffix}@example.org`;
const IPV4 = '203.0.113.77';
const IPV6 = '2001:db8:85a3:8d3:1319:8a2e:370:7348';
/** The local stack's own addresses and the sender address: not about any person. */
const ALLOWED_IPS = new Set(['127.0.0.1', '0.0.0.0', '::1', '::']);
const ALLOWED_EMAILS = new Set(['nurture@example.com']);

const EMAIL_PATTERN = /[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}/g;
const IPV4_PATTERN = /(?<![\d.])\d{1,3}(?:\.\d{1,3}){3}(?![\d.])/g;
/** Runs of hex digits, dots and at least two colons: candidates that `isIP` then confirms as IPv6. */
const IPV6_CANDIDATE = /[0-9A-Fa-f.]*:[0-9A-Fa-f:.]*:[0-9A-Fa-f:.]*/g;

/** Truncated addresses (IPv4 /24, IPv6 /48) are what tracking stores; they no longer identify anyone. */
function isTruncated(ip: string): boolean {
  return /\.0$/.test(ip) || /^(?:[0-9a-f]{1,4}:){1,3}:$/i.test(ip);
}

/** The personal data one line of log output holds, if any. */
function personalDataIn(line: string): string[] {
  const emails = [...line.matchAll(EMAIL_PATTERN)].map((m) => m[0]).filter((e) => !ALLOWED_EMAILS.has(e));
  const ipv4 = [...line.matchAll(IPV4_PATTERN)].map((m) => m[0]).filter((ip) => isIP(ip) === 4);
  const ipv6 = [...line.matchAll(IPV6_CANDIDATE)].map((m) => m[0]).filter((ip) => isIP(ip) === 6);
  return [...emails, ...ipv4, ...ipv6].filter((found) => !ALLOWED_IPS.has(found) && !isTruncated(found));
}

/** Function logs (`logs/functions/*.log`), the API access log and the process's own output, line by line. */
function capturedLogs(): Array<{ file: string; line: string }> {
  const logs = join(stack.dataDirectory, 'logs');
  const files = [
    ...readdirSync(join(logs, 'functions')).map((name) => join(logs, 'functions', name)),
    join(logs, 'api-access.ndjson'),
  ].filter((file) => existsSync(file));
  return [
    ...files.flatMap((file) =>
      readFileSync(file, 'utf8')
        .split('\n')
        .map((line) => ({ file, line })),
    ),
    ...stack
      .output()
      .split('\n')
      .map((line) => ({ file: 'npm start output', line })),
  ];
}

async function collect(type: string, body: Record<string, unknown>): Promise<void> {
  const response = await fetch(`${stack.local.apiUrl}/v1/${type}`, {
    method: 'POST',
    headers: {
      authorization: `Basic ${Buffer.from(`${stack.local.writeKey}:`).toString('base64')}`,
      'content-type': 'application/json',
    },
    body: JSON.stringify({ messageId: randomUUID(), ...body }),
  });
  expect(response.status).toBe(200);
}

beforeAll(async () => {
  stack = await startLocalStackProcess({ args: ['--fresh'] });
}, 180_000);

afterAll(async () => {
  await stack?.dispose();
});

describe('logs', () => {
  it('hold no email address or IP address after tracking, an email send, an export and an erasure', async () => {
    const anonymousId = `anon-${suffix}`;
    const userId = `user-${suffix}`;
    await collect('page', {
      anonymousId,
      name: 'Pricing',
      context: { ip: IPV4, page: { url: 'https://shop.example.com/pricing' } },
    });
    await collect('identify', {
      anonymousId,
      userId,
      traits: { email: EMAIL, firstName: 'Grace' },
      context: { ip: IPV4 },
    });
    await collect('track', {
      userId,
      event: 'Demo Requested',
      properties: { email: EMAIL },
      context: { ip: IPV6 },
    });
    // A bad request too: validation errors are logged and must not echo the input.
    const rejected = await fetch(`${stack.local.apiUrl}/v1/track`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        writeKey: stack.local.writeKey,
        userId: EMAIL,
        event: 42,
        context: { ip: IPV4 },
      }),
    });
    expect(rejected.status).toBeLessThan(500);
    const profileId = await eventually(async () => {
      const lookup = await admin(stack, `/admin/profiles?userId=${userId}`);
      return lookup.status === 200 ? z.object({ id: z.string() }).parse(await lookup.json()).id : undefined;
    });
    const template = await admin(stack, '/admin/templates/log-scan', {
      method: 'PUT',
      body: JSON.stringify({
        subject: 'Hello {{ traits.firstName }}',
        mjml: '<mjml><mj-body><mj-section><mj-column><mj-text>Hi</mj-text></mj-column></mj-section></mj-body></mjml>',
      }),
    });
    expect(template.status).toBe(201);
    const sent = await admin(stack, '/admin/messages', {
      method: 'POST',
      body: JSON.stringify({ profileId, templateId: 'log-scan', idempotencyKey: randomUUID() }),
    });
    const { messageId } = z.object({ messageId: z.string() }).parse(await sent.json());
    await eventually(async () => {
      const current = z
        .object({ status: z.string() })
        .loose()
        .parse(await (await admin(stack, `/admin/messages/${messageId}`)).json());
      return ['sent', 'delivered'].includes(current.status) ? current : undefined;
    }, 30_000);
    const exported = await admin(stack, `/admin/privacy/export?email=${encodeURIComponent(EMAIL)}`);
    expect(exported.status).toBe(200);
    const erased = await admin(stack, '/admin/privacy/erasure', {
      method: 'POST',
      body: JSON.stringify({ email: EMAIL, reason: 'log scan', requestedBy: 'test' }),
    });
    expect(erased.status).toBe(200);
    // Let stream consumers, journeys and the feedback function finish what the traffic caused.
    await new Promise((resolve) => setTimeout(resolve, 3000));

    const logs = capturedLogs();
    const leaks = logs.flatMap(({ file, line }) =>
      personalDataIn(line).map((found) => `${found} in ${file}: ${line.slice(0, 400)}`),
    );

    expect(logs.filter(({ file }) => file.endsWith('api-access.ndjson')).length).toBeGreaterThan(5);
    // Proof the scan read what the traffic caused: the functions that served it wrote logs.
    const functionFiles = new Set(logs.filter(({ line }) => line.trim() !== '').map(({ file }) => file));
    expect(
      [...functionFiles].filter((file) => file.includes(`${join('logs', 'functions')}`)).length,
    ).toBeGreaterThan(3);
    expect(leaks).toEqual([]);
  }, 180_000);

  it('would find an email address, an IPv4 and an IPv6 address in a log line', () => {
    expect(personalDataIn(`{"message":"x","email":"${EMAIL}","ip":"${IPV4}","v6":"${IPV6}"}`)).toEqual([
      EMAIL,
      IPV4,
      IPV6,
    ]);
    expect(personalDataIn('{"ip":"::ffff:203.0.113.77","short":"2001:db8::1"}')).toEqual(
      expect.arrayContaining(['::ffff:203.0.113.77', '2001:db8::1']),
    );
  });

  it('lets loopback addresses, truncated addresses and timestamps pass', () => {
    expect(
      personalDataIn(
        '{"at":"2026-05-01T10:00:00.000Z","url":"http://127.0.0.1:4000","ip":"203.0.113.0","v6":"2001:db8:85a3::","lo":"[::1]:4000"}',
      ),
    ).toEqual([]);
  });
});
