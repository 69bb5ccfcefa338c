#!/usr/bin/env -S npx tsx
// Plays the renewal-offer use case against `npm start`'s stack: `node --import tsx examples/renewal/play.ts`.
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { localJson, RenewalScenario, readCustomers } from './scenario.ts';

const root = fileURLToPath(new URL('../..', import.meta.url));
const dataDirectory = process.env.NURTURE_DATA_DIR ?? join(root, '.nurture');
const localFile = join(dataDirectory, 'local.json');
if (!existsSync(localFile)) {
  console.error('No local stack is running: start one with `npm start` in another terminal first.');
  process.exit(1);
}
const stack = localJson.parse(JSON.parse(readFileSync(localFile, 'utf8')));

// The subscription system: receives subscription.extend deliveries.
const deliveries: Array<{ type: string; data: Record<string, unknown> }> = [];
const receiver = createServer((req, res) => {
  let body = '';
  req.on('data', (chunk: Buffer) => {
    body += chunk.toString();
  });
  req.on('end', () => {
    const parsed: unknown = JSON.parse(body);
    if (typeof parsed === 'object' && parsed !== null) {
      const type = String(Reflect.get(parsed, 'type'));
      const data: unknown = Reflect.get(parsed, 'data');
      deliveries.push({ type, data: typeof data === 'object' && data !== null ? { ...data } : {} });
      console.log(
        `  ← subscription system received ${type} for ${String(Reflect.get(data ?? {}, 'userId'))}`,
      );
    }
    res.writeHead(204).end();
  });
});
await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
const webhookUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hooks`;

const suffix = randomBytes(3).toString('hex');
const customers = readCustomers(suffix);
const scenario = new RenewalScenario(stack, {
  workDirectory: join(dataDirectory, 'examples'),
  log: (line) => console.log(`• ${line}`),
});
const byName = (name: string) => {
  const customer = customers.find((c) => c.first_name === name);
  if (!customer) throw new Error(`no customer ${name} in customers.csv`);
  return customer;
};

async function report(title: string): Promise<void> {
  console.log(`\n${title}`);
  for (const c of customers) {
    const mails = await scenario.mailTo(c);
    const banner = await scenario.banner(c);
    const enrollment = await scenario.enrollment(c, 'renewal-offer');
    const where = enrollment
      ? `${enrollment.status}${enrollment.exitReason ? ` (${enrollment.exitReason})` : ''} at ${enrollment.nodeId}`
      : 'not enrolled';
    console.log(
      `  ${c.first_name.padEnd(6)} emails: ${mails.length}  banner: ${banner ? 'yes' : 'no '}  journey: ${where}`,
    );
  }
}

try {
  await scenario.advanceToNoon();
  await scenario.setup({ webhookUrl });
  await scenario.importCustomers(customers);
  await scenario.sendServiceSignals(customers);
  await scenario.advance('PT1S');
  await report('After the CRM import and the customer-service signals (offers wait for 10:00 local time):');

  await scenario.accept(byName('Frank'));
  await scenario.advance('P1D');
  await report('One day later:');

  await scenario.accept(byName('Alice'));
  await scenario.advance('PT1M');
  await report('Alice accepted the offer:');

  await scenario.advance('P120D');
  await report('120 days later (Carol is now within three months of her end date):');
  console.log(`\nWebhook deliveries: ${deliveries.length}`);
  console.log(`Journey statistics: GET ${stack.apiUrl}/admin/journeys/renewal-offer/stats`);
  console.log(`Mailbox: ${stack.mailboxUrl}`);
} finally {
  receiver.close();
}
