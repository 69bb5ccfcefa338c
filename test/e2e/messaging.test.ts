// Email on the local stack: templates, exactly-once sends under redelivery and crashes, links, unsubscribe, bounces.
import { randomUUID } from 'node:crypto';
import { ListQueuesCommand, SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  admin,
  eventually,
  type LocalStackProcess,
  startLocalStackProcess,
} from './support/local-stack-process.ts';

const CHROME =
  'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36';

const storedEmail = z.object({
  messageId: z.string(),
  destination: z.object({ to: z.array(z.string()) }),
  subject: z.string(),
  body: z.object({ html: z.string().optional(), text: z.string().optional() }),
  headers: z.array(z.object({ name: z.string(), value: z.string() })).optional(),
});
type StoredEmail = z.infer<typeof storedEmail>;
const message = z
  .object({
    messageId: z.string(),
    status: z.string(),
    reason: z.string().nullable(),
    attempts: z.number(),
    opens: z.number(),
    clicks: z.number(),
  })
  .loose();

let stack: LocalStackProcess;

function basic(writeKey: string): string {
  return `Basic ${Buffer.from(`${writeKey}:`).toString('base64')}`;
}

async function mailbox(): Promise<StoredEmail[]> {
  const response = await fetch(`${stack.local.mailboxUrl}/store`);
  return z.object({ emails: z.array(storedEmail) }).parse(await response.json()).emails;
}

async function mailTo(address: string): Promise<StoredEmail[]> {
  return (await mailbox()).filter((email) => email.destination.to.some((to) => to.includes(address)));
}

/** A known contact: identified with an email address and a first name, as a CRM sync would. */
async function contact(traits: Record<string, string>): Promise<string> {
  const userId = `user-${randomUUID()}`;
  const response = await fetch(`${stack.local.apiUrl}/v1/identify`, {
    method: 'POST',
    headers: { authorization: basic(stack.local.writeKey) },
    body: JSON.stringify({ messageId: randomUUID(), userId, traits }),
  });
  expect(response.status).toBe(200);
  const profile = await admin(stack, `/admin/profiles?userId=${userId}`);
  return z.object({ id: z.string() }).parse(await profile.json()).id;
}

async function send(profileId: string, templateId: string, idempotencyKey = randomUUID()) {
  const response = await admin(stack, '/admin/messages', {
    method: 'POST',
    body: JSON.stringify({ profileId, templateId, idempotencyKey }),
  });
  expect(response.status).toBe(202);
  return z.object({ messageId: z.string(), duplicate: z.boolean() }).parse(await response.json());
}

async function messageStatus(messageId: string) {
  return message.parse(await (await admin(stack, `/admin/messages/${messageId}`)).json());
}

async function settled(messageId: string, statuses: readonly string[], timeoutMs = 30_000) {
  return eventually(async () => {
    const current = await messageStatus(messageId);
    return statuses.includes(current.status) ? current : undefined;
  }, timeoutMs);
}

async function faults(ses: Record<string, number>) {
  const response = await fetch(`${stack.local.apiUrl}/_local/faults`, {
    method: 'PUT',
    body: JSON.stringify({ ses }),
  });
  expect(response.status).toBe(200);
}

const RENEWAL_MJML = `<mjml><mj-body><mj-section><mj-column>
  <mj-text>Hello {{ traits.firstName | default: "there" }}, your plan renews soon.</mj-text>
  <mj-button href="https://shop.example.com/renew?plan=pro">Renew now</mj-button>
  <mj-text><a href="{{ unsubscribe_url }}">Unsubscribe</a></mj-text>
</mj-column></mj-section></mj-body></mjml>`;

beforeAll(async () => {
  stack = await startLocalStackProcess({ args: ['--fresh'] });
  const saved = await admin(stack, '/admin/templates/renewal', {
    method: 'PUT',
    body: JSON.stringify({ subject: 'Hi {{ traits.firstName }}, {{ message.id }}', mjml: RENEWAL_MJML }),
  });
  expect(saved.status).toBe(201);
}, 180_000);

afterAll(async () => {
  await stack?.dispose();
});

describe('templates', () => {
  it('refuses a template with errors and lists every one of them', async () => {
    const response = await admin(stack, '/admin/templates/broken', {
      method: 'PUT',
      body: JSON.stringify({
        subject: 'Hi {{ traits.name | nosuchfilter }}',
        mjml: '<mjml><mj-body><mj-bogus/></mj-body></mjml>',
      }),
    });
    expect(response.status).toBe(400);
    const body = z.object({ errors: z.array(z.string()) }).parse(await response.json());
    expect(body.errors.length).toBeGreaterThanOrEqual(2);
  });

  it('previews a template personalized for a profile without tracking anything', async () => {
    const profileId = await contact({ email: `preview-${randomUUID()}@example.com`, firstName: 'Grace' });
    const response = await admin(stack, '/admin/templates/renewal/preview', {
      method: 'POST',
      body: JSON.stringify({ profileId }),
    });
    expect(response.status).toBe(200);
    const preview = z.object({ subject: z.string(), html: z.string() }).parse(await response.json());
    expect(preview.subject).toContain('Hi Grace');
    expect(preview.html).toContain('Hello Grace');
    expect(preview.html).not.toContain('/e/o/');
  });
});

describe('sending', () => {
  let profileId: string;
  let address: string;
  let first: StoredEmail;
  let firstMessageId: string;

  beforeAll(async () => {
    address = `ada-${randomUUID()}@example.com`;
    profileId = await contact({ email: address, firstName: 'Ada' });
  });

  it('sends one personalized email per idempotency key, with the one-click unsubscribe headers', async () => {
    const key = randomUUID();
    const queued = await send(profileId, 'renewal', key);
    const repeated = await send(profileId, 'renewal', key);
    expect(repeated).toEqual({ messageId: queued.messageId, duplicate: true });
    firstMessageId = queued.messageId;

    await settled(queued.messageId, ['delivered']);
    const mail = await mailTo(address);
    expect(mail).toHaveLength(1);
    first = mail[0] as StoredEmail;
    expect(first.subject).toBe(`Hi Ada, ${queued.messageId}`);
    const headers = new Map((first.headers ?? []).map((h) => [h.name.toLowerCase(), h.value]));
    expect(headers.get('list-unsubscribe')).toMatch(/^<https?:\/\/.+\/e\/u\/.+>$/);
    expect(headers.get('list-unsubscribe-post')).toBe('List-Unsubscribe=One-Click');
  });

  it('sends nothing more when the queue delivers the same message again', async () => {
    const sqs = new SQSClient({
      useQueueUrlAsEndpoint: false,
      endpoint: stack.local.endpoints.sqs,
      region: 'us-east-1',
      credentials: { accessKeyId: 'x', secretAccessKey: 'x' },
    });
    const { QueueUrls = [] } = await sqs.send(new ListQueuesCommand({}));
    const sendQueue = QueueUrls.find((url) => /SendQueue/.test(url));
    expect(sendQueue).toBeDefined();
    await sqs.send(
      new SendMessageCommand({
        QueueUrl: sendQueue,
        MessageBody: JSON.stringify({ messageId: firstMessageId }),
      }),
    );
    await new Promise((r) => setTimeout(r, 3000));

    expect(await mailTo(address)).toHaveLength(1);
    expect((await messageStatus(firstMessageId)).attempts).toBe(1);
  });

  it("sends once when the sender loses SES's answer after SES accepted the message", async () => {
    await faults({ resetAfterAccept: 1 });
    const { messageId } = await send(profileId, 'renewal');

    const done = await settled(messageId, ['delivered']);
    // Longer than the dev stage's confirmation grace (10 s): a second attempt would have happened by now.
    await new Promise((r) => setTimeout(r, 12_000));

    expect(done.attempts).toBe(1);
    expect((await mailTo(address)).filter((m) => m.subject.includes(messageId))).toHaveLength(1);
    expect((await messageStatus(messageId)).attempts).toBe(1);
  }, 60_000);

  it('retries SES throttling without losing the message', async () => {
    await faults({ throttle: 2 });
    const { messageId } = await send(profileId, 'renewal');

    await settled(messageId, ['delivered'], 45_000);

    expect((await mailTo(address)).filter((m) => m.subject.includes(messageId))).toHaveLength(1);
  }, 60_000);

  it('redirects a tracked click to the link in the message and refuses a tampered token', async () => {
    const tracked = /href="([^"]*\/e\/c\/[^"]+)"/.exec(first.body.html ?? '')?.[1];
    expect(tracked).toBeDefined();
    const url = (tracked ?? '').replaceAll('&amp;', '&');

    const click = await fetch(url, { redirect: 'manual', headers: { 'user-agent': CHROME } });
    expect(click.status).toBe(302);
    const location = new URL(click.headers.get('location') ?? '');
    expect(location.origin + location.pathname).toBe('https://shop.example.com/renew');
    expect(location.searchParams.get('plan')).toBe('pro');
    expect(location.searchParams.get('utm_medium')).toBe('email');
    expect(location.searchParams.get('utm_source')).toBe('nurture');

    const token = url.slice(url.lastIndexOf('/') + 1);
    const flipped = token.slice(0, 10) + (token[10] === 'A' ? 'B' : 'A') + token.slice(11);
    const tampered = await fetch(url.replace(token, flipped), { redirect: 'manual' });
    expect(tampered.status).toBe(400);

    const pixel = /src="([^"]*\/e\/o\/[^"]+)"/.exec(first.body.html ?? '')?.[1] ?? '';
    const open = await fetch(pixel.replaceAll('&amp;', '&'), { headers: { 'user-agent': CHROME } });
    expect(open.headers.get('content-type')).toBe('image/gif');
    const counted = await messageStatus(firstMessageId);
    expect(counted.clicks).toBe(1);
    expect(counted.opens).toBe(1);
    const events = await eventually(async () => {
      const response = await admin(stack, `/admin/profiles/${profileId}/events`);
      const body = z
        .object({ events: z.array(z.object({ event: z.string().nullable() }).loose()) })
        .parse(await response.json());
      const names = body.events.map((e) => e.event);
      return names.includes('Email Link Clicked') && names.includes('Email Opened') ? names : undefined;
    });
    expect(events).toContain('Email Link Clicked');
  });

  it('unsubscribes with one click, after which no marketing email reaches the address', async () => {
    const header =
      (first.headers ?? []).find((h) => h.name.toLowerCase() === 'list-unsubscribe')?.value ?? '';
    const link = header.slice(1, -1);
    const confirm = await fetch(link);
    expect(confirm.status).toBe(200);
    const page = await confirm.text();
    expect(page).toContain('name="List-Unsubscribe"');
    expect(page).toContain('value="One-Click"');

    const oneClick = await fetch(link, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'List-Unsubscribe=One-Click',
    });
    expect(oneClick.status).toBe(200);
    const state = await admin(stack, `/admin/suppressions/${encodeURIComponent(address)}`);
    expect(
      z.object({ unsubscribed: z.record(z.string(), z.string()) }).parse(await state.json()).unsubscribed,
    ).toHaveProperty('marketing');

    const before = (await mailTo(address)).length;
    const { messageId } = await send(profileId, 'renewal');
    const skipped = await settled(messageId, ['skipped', 'sent', 'delivered']);

    expect(skipped).toMatchObject({ status: 'skipped', reason: 'unsubscribed' });
    expect(await mailTo(address)).toHaveLength(before);
  });
});

describe('feedback', () => {
  it('suppresses an address that hard-bounced, and records why the next send was skipped', async () => {
    const bouncing = `bounce+${randomUUID().slice(0, 8)}@simulator.amazonses.com`;
    const profileId = await contact({ email: bouncing, firstName: 'Bo' });
    const { messageId } = await send(profileId, 'renewal');

    await settled(messageId, ['bounced']);
    const state = await admin(stack, `/admin/suppressions/${encodeURIComponent(bouncing)}`);
    expect(
      z.object({ suppressed: z.object({ reason: z.string() }).nullable() }).parse(await state.json())
        .suppressed,
    ).toMatchObject({ reason: 'bounce' });

    const next = await send(profileId, 'renewal');
    expect(await settled(next.messageId, ['skipped', 'sent', 'delivered'])).toMatchObject({
      status: 'skipped',
      reason: 'suppressed-bounce',
    });
  });

  it('counts sends, deliveries, bounces and clicks per template', async () => {
    const response = await admin(stack, '/admin/templates/renewal/stats');
    const stats = z
      .object({ counters: z.record(z.string(), z.number()) })
      .loose()
      .parse(await response.json());
    expect(stats.counters.sent).toBeGreaterThanOrEqual(4);
    expect(stats.counters.bounced).toBe(1);
    expect(stats.counters.clicked).toBe(1);
    expect(stats.counters.skipped).toBeGreaterThanOrEqual(2);
  });
});
