// The renewal-offer use case end to end on the local stack, with the clock: CRM import, signals, goals, webhook.
import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { type Customer, RenewalScenario, readCustomers } from '../../examples/renewal/scenario.ts';
import { type LocalStackProcess, startLocalStackProcess } from './support/local-stack-process.ts';

let stack: LocalStackProcess;
let scenario: RenewalScenario;
let receiver: Server;
const deliveries: Array<{ type: string; userId: unknown; profileId: unknown }> = [];
const customers = readCustomers(randomBytes(3).toString('hex'));

function customer(name: string): Customer {
  const found = customers.find((c) => c.first_name === name);
  if (!found) throw new Error(`no customer ${name}`);
  return found;
}

const extensionsFor = (c: Customer) =>
  deliveries.filter((d) => d.type === 'subscription.extend' && d.userId === c.userId);

const stats = z.object({
  nodes: z.array(
    z
      .object({
        nodeId: z.string(),
        entered: z.number(),
        sent: z.number(),
        goal: z.number(),
        waiting: z.number(),
      })
      .loose(),
  ),
});

beforeAll(async () => {
  receiver = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => {
      body += chunk.toString();
    });
    req.on('end', () => {
      const parsed = z
        .object({ type: z.string(), data: z.object({ userId: z.unknown(), profileId: z.unknown() }).loose() })
        .safeParse(JSON.parse(body));
      if (parsed.success)
        deliveries.push({
          type: parsed.data.type,
          userId: parsed.data.data.userId,
          profileId: parsed.data.data.profileId,
        });
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  stack = await startLocalStackProcess();
  scenario = new RenewalScenario(stack.local, { workDirectory: join(stack.dataDirectory, 'examples') });
  await scenario.advanceToNoon();
  await scenario.setup({ webhookUrl: `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hooks` });
  await scenario.importCustomers(customers);
  await scenario.sendServiceSignals(customers);
  await scenario.advance('PT1S');
}, 240_000);

afterAll(async () => {
  await stack?.dispose();
  receiver?.close();
});

describe('the renewal offer', () => {
  it('enrolls exactly the high-value customers at churn risk, who wait for 10:00 before anything is sent', async () => {
    for (const name of ['Alice', 'Frank']) {
      expect(await scenario.enrollment(customer(name), 'renewal-offer'), name).toMatchObject({
        status: 'active',
        nodeId: 'morning',
        run: 1,
      });
    }
    // Low CLV, a good NPS score, a complaint still open, an end date more than three months away.
    for (const name of ['Bob', 'Dan', 'Erin', 'Carol'])
      expect(await scenario.enrollment(customer(name), 'renewal-offer'), name).toBeUndefined();
    expect(await scenario.mailbox()).toHaveLength(0);
  });

  it('changes nothing when the customer-service system sends the same signals again', async () => {
    await scenario.sendServiceSignals(customers);
    await scenario.advance('PT1S');

    expect(await scenario.enrollment(customer('Alice'), 'renewal-offer')).toMatchObject({
      run: 1,
      nodeId: 'morning',
    });
    expect(await scenario.enrollment(customer('Bob'), 'renewal-offer')).toBeUndefined();
  });

  it('lets a customer who accepts while waiting leave at once, and extends the subscription once', async () => {
    await scenario.accept(customer('Frank'));
    await scenario.advance('PT1S');

    expect(await scenario.enrollment(customer('Frank'), 'renewal-offer')).toMatchObject({
      status: 'exited',
      exitReason: 'goal',
    });
    expect(extensionsFor(customer('Frank'))).toHaveLength(1);
  });

  it('sends Alice exactly one email and shows her the banner the next morning; nobody else gets anything', async () => {
    await scenario.advance('P1D');

    const alice = customer('Alice');
    const mails = await scenario.mailTo(alice);
    expect(mails).toHaveLength(1);
    expect(mails[0]?.subject).toBe('Alice, 20% off another year');
    expect(mails[0]?.body.html).toContain('Premium');
    expect(await scenario.banner(alice)).toMatchObject({ title: 'A thank-you for staying with us' });
    for (const name of ['Bob', 'Carol', 'Dan', 'Erin', 'Frank']) {
      expect(await scenario.mailTo(customer(name)), name).toHaveLength(0);
      expect(await scenario.banner(customer(name)), name).toBeNull();
    }
    expect(await scenario.enrollment(alice, 'renewal-offer')).toMatchObject({
      status: 'active',
      nodeId: 'await',
    });
  });

  it('after renewal.accepted fires the webhook once, clears the banner, and sends nothing more', async () => {
    const alice = customer('Alice');
    await scenario.accept(alice);
    await scenario.accept(alice);
    await scenario.advance('PT1S');

    expect(extensionsFor(alice)).toHaveLength(1);
    expect(await scenario.enrollment(alice, 'renewal-offer')).toMatchObject({
      status: 'exited',
      exitReason: 'goal',
    });
    expect(await scenario.banner(alice)).toBeNull();

    await scenario.advance('P40D');
    expect(await scenario.mailTo(alice)).toHaveLength(1);
    expect(extensionsFor(alice)).toHaveLength(1);
  });

  it('enters Carol when her end date comes within three months (a date trigger), and mails her once', async () => {
    const carol = customer('Carol');
    expect(await scenario.enrollment(carol, 'renewal-offer')).toBeUndefined();

    await scenario.advance('P80D');

    expect(await scenario.mailTo(carol)).toHaveLength(1);
    expect(await scenario.banner(carol)).toMatchObject({ title: 'A thank-you for staying with us' });
    for (const name of ['Bob', 'Dan', 'Erin', 'Frank'])
      expect(await scenario.mailTo(customer(name)), name).toHaveLength(0);
  });

  it('counts per node who entered, who was sent the offer and who reached the goal', async () => {
    const body = stats.parse(await scenario.stats('renewal-offer'));
    const node = (id: string) => body.nodes.find((n) => n.nodeId === id);

    expect(node('morning')).toMatchObject({ entered: 3, goal: 1 });
    expect(node('email')).toMatchObject({ sent: 2 });
    expect(node('banner')).toMatchObject({ sent: 2 });
    expect(node('await')).toMatchObject({ goal: 1, waiting: 1 });
  });

  it('explains with a dry run why a customer would not enter, node by node, without sending anything', async () => {
    const bob = await scenario.profileId(customer('Bob'));
    const response = await scenario.admin('/admin/journeys/renewal-offer/validate', {
      method: 'POST',
      body: { profileId: bob },
    });

    expect(response.status).toBe(200);
    const body = z
      .object({ valid: z.literal(true), dryRun: z.object({ enters: z.boolean(), reason: z.string() }) })
      .parse(await response.json());
    expect(body.dryRun.enters).toBe(false);
    expect(body.dryRun.reason).toMatch(/clv/);
    expect(await scenario.mailTo(customer('Bob'))).toHaveLength(0);
  });

  it('refuses a broken journey with every problem listed, and keeps the stored version', async () => {
    const response = await scenario.admin('/admin/journeys/renewal-offer', {
      method: 'PUT',
      body: {
        name: 'Broken',
        triggers: [{ type: 'event', match: { event: 'x' } }],
        start: 'a',
        nodes: { a: { type: 'wait', duration: 'P1D', next: 'missing' }, b: { type: 'exit' } },
      },
    });

    expect(response.status).toBe(400);
    expect(await response.text()).toContain('missing');
    const stored = z
      .object({ version: z.number(), name: z.string() })
      .parse(await (await scenario.admin('/admin/journeys/renewal-offer')).json());
    expect(stored).toEqual({ version: 1, name: expect.stringContaining('renewal offer') });
  });

  it('pauses and resumes a journey', async () => {
    const paused = await scenario.admin('/admin/journeys/renewal-offer/pause', { method: 'POST' });
    expect(await paused.json()).toMatchObject({ status: 'paused' });
    const resumed = await scenario.admin('/admin/journeys/renewal-offer/resume', { method: 'POST' });
    expect(await resumed.json()).toMatchObject({ status: 'active' });
  });
});
