// Data subject rights on the local stack: a tracked and identified visitor is exported through the admin API,
// erased with the CLI, is gone from profile lookups, and mail to their address is refused as suppressed.
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  admin,
  eventually,
  type LocalStackProcess,
  projectRoot,
  startLocalStackProcess,
} from './support/local-stack-process.ts';

let stack: LocalStackProcess;

const exported = z
  .object({
    person: z.object({
      userIds: z.array(z.string()),
      anonymousIds: z.array(z.string()),
      emails: z.array(z.string()),
    }),
    counts: z.record(z.string(), z.number()),
    traits: z.array(z.unknown()),
  })
  .loose();
const message = z.object({ status: z.string(), reason: z.string().nullable() }).loose();

function basic(writeKey: string): string {
  return `Basic ${Buffer.from(`${writeKey}:`).toString('base64')}`;
}

async function track(path: string, body: Record<string, unknown>): Promise<void> {
  const response = await fetch(`${stack.local.apiUrl}${path}`, {
    method: 'POST',
    headers: { authorization: basic(stack.local.writeKey), 'content-type': 'application/json' },
    body: JSON.stringify({ messageId: randomUUID(), ...body }),
  });
  expect(response.status).toBe(200);
}

async function profileIdOf(userId: string): Promise<string> {
  const response = await admin(stack, `/admin/profiles?userId=${encodeURIComponent(userId)}`);
  expect(response.status).toBe(200);
  return z.object({ id: z.string() }).parse(await response.json()).id;
}

/** `npm run nurture -- erase ...` as an operator types it, pointed at this stack by flags. */
async function eraseWithCli(email: string): Promise<string> {
  const { NURTURE_API_URL: _url, NURTURE_ADMIN_TOKEN: _token, ...env } = process.env;
  const { stdout } = await promisify(execFile)(
    'npx',
    [
      'tsx',
      'bin/cli.ts',
      'erase',
      '--email',
      email,
      '--reason',
      'GDPR erasure request, ticket 4711',
      '--by',
      'dpo',
      '--api',
      stack.local.apiUrl,
      '--admin-token',
      stack.local.adminToken,
    ],
    { cwd: projectRoot, env },
  );
  return stdout;
}

beforeAll(async () => {
  stack = await startLocalStackProcess({ args: ['--fresh'] });
  const saved = await admin(stack, '/admin/templates/privacy-notice', {
    method: 'PUT',
    body: JSON.stringify({
      subject: 'Hello {{ traits.firstName }}',
      mjml: '<mjml><mj-body><mj-section><mj-column><mj-text>Hi</mj-text></mj-column></mj-section></mj-body></mjml>',
    }),
  });
  expect(saved.status).toBe(201);
}, 180_000);

afterAll(async () => {
  await stack?.dispose();
});

describe('a data subject request', () => {
  const anonymousId = `anon-${randomUUID()}`;
  const userId = `user-${randomUUID()}`;
  const email = `ada.${randomUUID().slice(0, 8)}@example.com`;

  it('exports everything held about a tracked visitor as a JSON attachment', async () => {
    await track('/v1/page', { anonymousId, name: 'Pricing' });
    await track('/v1/identify', { anonymousId, userId, traits: { email, firstName: 'Ada' } });
    await profileIdOf(userId);

    const response = await admin(stack, `/admin/privacy/export?email=${encodeURIComponent(email)}`);
    const document = exported.parse(await response.json());

    expect(response.status).toBe(200);
    expect(response.headers.get('content-disposition')).toMatch(/^attachment; filename="nurture-export-/);
    expect(document.person).toMatchObject({
      userIds: [userId],
      anonymousIds: [anonymousId],
      emails: [email],
    });
    expect(document.counts).toMatchObject({ profile: 1, event: 2 });
    expect(JSON.stringify(document.traits)).toContain('Ada');
  });

  it('erases the person with the CLI, after which no profile lookup finds them', async () => {
    const output = await eraseWithCli(email);

    expect(output).toMatch(/^Erased \d+ items .*1 address kept suppressed \(hashed\)\. Audit record era_/);
    for (const query of [
      `userId=${userId}`,
      `anonymousId=${anonymousId}`,
      `email=${encodeURIComponent(email)}`,
    ]) {
      const lookup = await admin(stack, `/admin/profiles?${query}`);
      expect(lookup.status, query).toBe(404);
    }
    const again = await admin(stack, `/admin/privacy/export?userId=${userId}`);
    expect(again.status).toBe(404);
  });

  it('lists the erasure in the audit without naming the person', async () => {
    const response = await admin(stack, '/admin/privacy/audit');
    const text = await response.text();

    expect(response.status).toBe(200);
    expect(text).toContain('ticket 4711');
    for (const id of [email, userId, anonymousId]) expect(text).not.toContain(id);
  });

  it('refuses to send to the erased address, even to a new profile that gives it again', async () => {
    const newcomer = `user-${randomUUID()}`;
    await track('/v1/identify', { userId: newcomer, traits: { email, firstName: 'Ada' } });
    const profileId = await eventually(async () => {
      const lookup = await admin(stack, `/admin/profiles?userId=${newcomer}`);
      return lookup.status === 200 ? z.object({ id: z.string() }).parse(await lookup.json()).id : undefined;
    });

    const sent = await admin(stack, '/admin/messages', {
      method: 'POST',
      body: JSON.stringify({ profileId, templateId: 'privacy-notice', idempotencyKey: randomUUID() }),
    });
    const { messageId } = z.object({ messageId: z.string() }).parse(await sent.json());
    const settled = await eventually(async () => {
      const current = message.parse(await (await admin(stack, `/admin/messages/${messageId}`)).json());
      return ['skipped', 'sent', 'delivered'].includes(current.status) ? current : undefined;
    }, 30_000);

    expect(sent.status).toBe(202);
    expect(settled).toMatchObject({ status: 'skipped', reason: 'suppressed-manual' });
  });
});
