// Lead scoring and the sales hand-off on the local stack: behaviour and fit points, MQL, the webhook, sales decisions.
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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
let receiver: Server;
const handoffs: Array<{ type: string; data: Record<string, unknown> }> = [];

const RULES = {
  behaviour: [
    { id: 'pricing-page', page: { urlPattern: '/pricing*' }, points: 30, cap: { max: 60, per: 'P1D' } },
    { id: 'demo-request', match: { event: 'Demo Requested' }, points: 60 },
  ],
  fit: [
    { id: 'vp', condition: { trait: 'title', op: 'contains', value: 'VP' }, points: 20 },
    // Third-party data scores too: a company address (not free mail) is a better fit.
    {
      id: 'business-email',
      condition: { trait: 'enrichment.email.freeMail', op: 'eq', value: false },
      points: 10,
    },
  ],
  decay: { halfLife: 'P30D' },
};

const lead = z.object({
  profileId: z.string(),
  stage: z.string().nullable(),
  history: z.array(z.object({ to: z.string(), reason: z.string() }).loose()),
  explanation: z.object({}).loose(),
});

function basic(): string {
  return `Basic ${Buffer.from(`${stack.local.writeKey}:`).toString('base64')}`;
}

async function send(batch: unknown[]): Promise<void> {
  const response = await fetch(`${stack.local.apiUrl}/v1/batch`, {
    method: 'POST',
    headers: { authorization: basic(), 'content-type': 'application/json' },
    body: JSON.stringify({ batch }),
  });
  expect(response.status).toBe(200);
}

async function settle(): Promise<void> {
  const response = await fetch(`${stack.local.apiUrl}/_local/clock`, {
    method: 'POST',
    body: JSON.stringify({ advance: 'PT1S' }),
  });
  expect(response.status).toBe(200);
}

async function prospect(title: string): Promise<{ userId: string; profileId: string }> {
  const userId = `lead-${randomUUID()}`;
  await send([
    {
      type: 'identify',
      userId,
      messageId: randomUUID(),
      traits: { email: `${userId}@acme.example`, title, name: 'Pat Doe', company: 'Acme' },
    },
  ]);
  const response = await admin(stack, `/admin/profiles?userId=${userId}`);
  const profileId = z.object({ id: z.string() }).parse(await response.json()).id;
  return { userId, profileId };
}

async function leadOf(profileId: string) {
  const response = await admin(stack, `/admin/profiles/${profileId}/lead`);
  expect(response.status).toBe(200);
  return lead.parse(await response.json());
}

beforeAll(async () => {
  receiver = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => {
      body += chunk.toString();
    });
    req.on('end', () => {
      const parsed = z
        .object({ type: z.string(), data: z.record(z.string(), z.unknown()) })
        .safeParse(JSON.parse(body));
      if (parsed.success) handoffs.push(parsed.data);
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  stack = await startLocalStackProcess();
  const port = (receiver.address() as AddressInfo).port;
  expect(
    (
      await admin(stack, '/admin/webhooks/sales', {
        method: 'PUT',
        body: JSON.stringify({
          url: `http://127.0.0.1:${port}/crm`,
          description: 'CRM: new qualified leads',
        }),
      })
    ).status,
  ).toBe(201);
  expect(
    (await admin(stack, '/admin/scoring/rules', { method: 'PUT', body: JSON.stringify(RULES) })).status,
  ).toBe(201);
  // New rules start a background rescore; the tests below begin once it has finished (a rescore racing a live
  // qualification can qualify a lead twice: a known issue, docs/scoring.md "Changing rules").
  await eventually(async () => {
    const progress = await admin(stack, '/admin/scoring/recompute');
    const { state } = z.object({ state: z.string() }).parse(await progress.json());
    return state === 'done' ? true : undefined;
  }, 60_000);
}, 240_000);

afterAll(async () => {
  await stack?.dispose();
  receiver?.close();
});

describe('lead scoring and the sales hand-off', () => {
  it('refuses scoring rules with a problem, naming it', async () => {
    const response = await admin(stack, '/admin/scoring/rules', {
      method: 'PUT',
      body: JSON.stringify({ behaviour: [{ id: 'x', match: { event: 'A' }, points: 0 }] }),
    });

    expect(response.status).toBe(400);
    expect(await response.text()).toMatch(/points/);
  });

  it('scores behaviour and fit, qualifies the lead at 100 points, and hands it to sales once', async () => {
    const { userId, profileId } = await prospect('VP Marketing');

    await send([
      {
        type: 'page',
        userId,
        messageId: randomUUID(),
        properties: { path: '/pricing', url: 'https://acme.example/pricing' },
      },
      { type: 'track', userId, messageId: randomUUID(), event: 'Demo Requested', properties: {} },
    ]);
    await settle();

    const state = await eventually(async () => {
      const current = await leadOf(profileId);
      return current.stage === 'mql' ? current : undefined;
    }, 30_000);
    expect(state.history.map((h) => h.to)).toContain('mql');
    expect(JSON.stringify(state.explanation)).toContain('demo-request');
    const handoff = await eventually(
      async () => handoffs.find((h) => h.data.profileId === profileId),
      30_000,
    );
    expect(handoff.type).toBe('lead.qualified');
    expect(JSON.stringify(handoff.data)).toContain(`${userId}@acme.example`);

    await send([{ type: 'track', userId, messageId: randomUUID(), event: 'Demo Requested', properties: {} }]);
    await settle();
    expect(handoffs.filter((h) => h.data.profileId === profileId)).toHaveLength(1);
  });

  it('lets sales accept a lead (SAL), reject one with a reason (recycled), and move a stage back by hand', async () => {
    const accepted = await prospect('VP Sales');
    const rejected = await prospect('Intern');

    const accept = await admin(stack, `/admin/leads/${accepted.profileId}/accept`, {
      method: 'POST',
      body: '{}',
    });
    expect(accept.status).toBe(200);
    expect((await leadOf(accepted.profileId)).stage).toBe('sal');

    const noReason = await admin(stack, `/admin/leads/${rejected.profileId}/reject`, {
      method: 'POST',
      body: '{}',
    });
    expect(noReason.status).toBe(400);
    const reject = await admin(stack, `/admin/leads/${rejected.profileId}/reject`, {
      method: 'POST',
      body: JSON.stringify({ reason: 'no budget this year' }),
    });
    expect(reject.status).toBe(200);
    const recycled = await leadOf(rejected.profileId);
    expect(recycled.stage).toBe('recycled');
    expect(recycled.history.at(-1)?.reason).toContain('no budget');

    const back = await admin(stack, `/admin/profiles/${accepted.profileId}/stage`, {
      method: 'POST',
      body: JSON.stringify({
        stage: 'mql',
        reason: 'sales asked for more nurturing',
        by: 'jane@acme.example',
      }),
    });
    expect(back.status).toBe(200);
    const moved = await leadOf(accepted.profileId);
    expect(moved.stage).toBe('mql');
    expect(moved.history.map((h) => h.to).slice(-2)).toEqual(['sal', 'mql']);
  });

  it('answers 404 for a profile that does not exist', async () => {
    expect((await admin(stack, '/admin/profiles/prof_missing/lead')).status).toBe(404);
  });
});

const timeline = z.object({
  profileId: z.string(),
  stage: z.string().nullable(),
  entries: z.array(
    z.object({
      at: z.string(),
      kind: z.string(),
      summary: z.string(),
      detail: z.record(z.string(), z.unknown()),
    }),
  ),
});

describe('a contact from a CRM file to a won deal', () => {
  it('is imported, enriched, scored, handed to sales, closed, and shows that whole history', async () => {
    const userId = `crm-${randomUUID()}`;
    const directory = mkdtempSync(join(tmpdir(), 'nurture-crm-'));
    const file = join(directory, 'contacts.csv');
    writeFileSync(
      file,
      `customer_id,email,title,company\n${userId},ana.lima@globex.example,VP Operations,Globex\n`,
    );
    try {
      await promisify(execFile)(
        process.execPath,
        [
          '--import',
          'tsx',
          'bin/cli.ts',
          'import',
          file,
          '--user-id',
          'customer_id',
          '--email',
          'email',
          '--map',
          'title=title',
          '--map',
          'company=company',
          '--api',
          stack.local.apiUrl,
          '--write-key',
          stack.local.writeKey,
        ],
        { cwd: projectRoot },
      );
    } finally {
      rmSync(directory, { recursive: true, force: true });
    }
    const found = await admin(stack, `/admin/profiles?userId=${userId}`);
    expect(found.status).toBe(200);
    const profile = z
      .object({ id: z.string(), traits: z.record(z.string(), z.unknown()) })
      .parse(await found.json());
    expect(profile.traits).toMatchObject({
      title: 'VP Operations',
      enrichment: { email: { domain: 'globex.example', freeMail: false } },
    });
    const profileId = profile.id;

    await send([
      { type: 'page', userId, messageId: randomUUID(), properties: { path: '/pricing' } },
      { type: 'track', userId, messageId: randomUUID(), event: 'Demo Requested', properties: {} },
    ]);
    await settle();
    await eventually(async () => ((await leadOf(profileId)).stage === 'mql' ? true : undefined), 30_000);
    const handoff = await eventually(
      async () => handoffs.find((h) => h.data.profileId === profileId),
      30_000,
    );
    expect(JSON.stringify(handoff.data)).toContain('business-email');
    for (const decision of ['accept', 'convert'])
      expect(
        (await admin(stack, `/admin/leads/${profileId}/${decision}`, { method: 'POST', body: '{}' })).status,
      ).toBe(200);
    await send([
      {
        type: 'track',
        userId,
        messageId: randomUUID(),
        event: 'deal.won',
        properties: { dealId: `deal-${userId}`, revenue: 24000, currency: 'EUR' },
      },
    ]);
    await settle();
    await eventually(async () => ((await leadOf(profileId)).stage === 'customer' ? true : undefined), 30_000);

    const response = await admin(stack, `/admin/profiles/${profileId}/timeline`);
    expect(response.status).toBe(200);
    const history = timeline.parse(await response.json());
    expect(history.stage).toBe('customer');
    const oldestFirst = [...history.entries].reverse();
    const stages = oldestFirst.filter((e) => e.kind === 'stage').map((e) => e.detail.to);
    expect(stages.slice(-4)).toEqual(['mql', 'sal', 'opportunity', 'customer']);
    const summaries = oldestFirst.map((e) => e.summary);
    expect(summaries).toContainEqual(expect.stringMatching(/^enriched email by email-domain/));
    expect(summaries).toContainEqual('+10 fit points (rule business-email)');
    expect(summaries).toContainEqual('+20 fit points (rule vp)');
    expect(summaries).toContainEqual('+60 behaviour points (rule demo-request)');
    expect(summaries).toContainEqual(expect.stringMatching(/^page view \/pricing/));
    expect(summaries.at(-1)).toMatch(/stage opportunity → customer/);
    const won = oldestFirst.find((e) => e.summary.startsWith('tracked "deal.won"'));
    expect(won?.detail.properties).toMatchObject({ revenue: 24000, currency: 'EUR' });
  });
});
