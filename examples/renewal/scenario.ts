// The renewal-offer use case as steps against a running local stack: setup, CRM import, signals, time, results.
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'csv-parse/sync';
import * as z from 'zod';

export const exampleDirectory = fileURLToPath(new URL('.', import.meta.url));
const projectRoot = fileURLToPath(new URL('../..', import.meta.url));

export interface StackAccess {
  readonly apiUrl: string;
  readonly adminToken: string;
  readonly writeKey: string;
  readonly mailboxUrl: string;
}

export const localJson = z.object({
  apiUrl: z.string(),
  adminToken: z.string(),
  writeKey: z.string(),
  mailboxUrl: z.string(),
});

/** One row of customers.csv: CRM fields, plus what the customer-service and subscription systems will report. */
const customerRow = z.object({
  customer_id: z.string().min(1),
  email: z.string().min(3),
  first_name: z.string(),
  clv: z.string(),
  subscription_ends_in_days: z.coerce.number().int(),
  plan: z.string(),
  timezone: z.string(),
  nps: z.coerce.number().int().min(0).max(10),
  complaint: z.enum(['resolved', 'opened', '']),
  accepts: z.enum(['while-waiting', '']),
});
export type Customer = z.infer<typeof customerRow> & { readonly userId: string; readonly address: string };

const storedEmail = z.object({
  destination: z.object({ to: z.array(z.string()) }),
  subject: z.string(),
  body: z.object({ html: z.string().optional(), text: z.string().optional() }).loose(),
});
export type StoredEmail = z.infer<typeof storedEmail>;

/**
 * Customer ids and addresses get a per-run suffix, so the scenario can run again on a stack that keeps its data
 * (entry rules would rightly keep last run's customers out).
 */
export function readCustomers(suffix: string): Customer[] {
  const rows: unknown = parse(readFileSync(join(exampleDirectory, 'customers.csv')), {
    columns: true,
    skip_empty_lines: true,
  });
  return z
    .array(customerRow)
    .parse(rows)
    .map((row) => ({
      ...row,
      userId: `${row.customer_id}_${suffix}`,
      address: row.email.replace('@', `+${suffix}@`),
    }));
}

export class RenewalScenario {
  constructor(
    readonly stack: StackAccess,
    readonly options: { readonly workDirectory: string; readonly log?: (line: string) => void },
  ) {}

  private log(line: string): void {
    this.options.log?.(line);
  }

  async admin(path: string, init: { method?: string; body?: unknown } = {}): Promise<Response> {
    return fetch(`${this.stack.apiUrl}${path}`, {
      method: init.method ?? 'GET',
      headers: { authorization: `Bearer ${this.stack.adminToken}`, 'content-type': 'application/json' },
      ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }),
    });
  }

  private async adminOk(path: string, init: { method?: string; body?: unknown } = {}): Promise<unknown> {
    const response = await this.admin(path, init);
    const text = await response.text();
    if (!response.ok) throw new Error(`${init.method ?? 'GET'} ${path}: ${response.status} ${text}`);
    return text === '' ? null : JSON.parse(text);
  }

  /** The template, the subscription system's webhook endpoint, and both journeys. */
  async setup(input: { webhookUrl: string }): Promise<void> {
    await this.adminOk('/admin/templates/renewal-offer', {
      method: 'PUT',
      body: {
        subject: '{{ traits.firstName | default: "Hello" }}, 20% off another year',
        mjml: readFileSync(join(exampleDirectory, 'templates', 'renewal-offer.mjml'), 'utf8'),
        topic: 'marketing',
      },
    });
    await this.adminOk('/admin/webhooks/subscriptions', {
      method: 'PUT',
      body: { url: input.webhookUrl, description: 'Subscription system: extends accepted renewals' },
    });
    for (const id of ['renewal-offer', 'renewal-accepted']) {
      const definition: unknown = JSON.parse(
        readFileSync(join(exampleDirectory, 'journeys', `${id}.json`), 'utf8'),
      );
      await this.adminOk(`/admin/journeys/${id}`, { method: 'PUT', body: definition });
    }
    this.log(
      'published template renewal-offer, webhook endpoint subscriptions, journeys renewal-offer and renewal-accepted',
    );
  }

  async now(): Promise<Date> {
    const response = await fetch(`${this.stack.apiUrl}/_local/clock`);
    const body = z.object({ now: z.string() }).parse(await response.json());
    return new Date(body.now);
  }

  async advance(duration: string): Promise<void> {
    const response = await fetch(`${this.stack.apiUrl}/_local/clock`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ advance: duration }),
    });
    if (!response.ok) throw new Error(`advancing the clock: ${response.status} ${await response.text()}`);
    this.log(`clock advanced by ${duration}: now ${(await this.now()).toISOString()}`);
  }

  /**
   * Moves the clock to the next noon UTC, so the story does not depend on the hour it runs at: offers wait for
   * 10:00 in each customer's time zone, which is then the next morning for every customer in customers.csv.
   */
  async advanceToNoon(): Promise<void> {
    const now = await this.now();
    const noon = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate(), 12));
    if (noon <= now) noon.setUTCDate(noon.getUTCDate() + 1);
    const response = await fetch(`${this.stack.apiUrl}/_local/clock`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ to: noon.toISOString() }),
    });
    if (!response.ok) throw new Error(`moving the clock: ${response.status} ${await response.text()}`);
    this.log(`clock moved to ${noon.toISOString()}`);
  }

  /** Writes the CRM export with end dates relative to the stack's clock and imports it with the CLI. */
  async importCustomers(customers: readonly Customer[]): Promise<string> {
    const now = await this.now();
    mkdirSync(this.options.workDirectory, { recursive: true });
    const file = join(this.options.workDirectory, `crm-export-${Date.now()}.csv`);
    const lines = ['customer_id,email,first_name,clv,subscription_ends,plan,timezone'];
    for (const c of customers) {
      const ends = new Date(now.getTime() + c.subscription_ends_in_days * 86_400_000)
        .toISOString()
        .slice(0, 10);
      lines.push([c.userId, c.address, c.first_name, c.clv, ends, c.plan, c.timezone].join(','));
    }
    writeFileSync(file, `${lines.join('\n')}\n`);
    await run(process.execPath, [
      '--import',
      'tsx',
      join(projectRoot, 'bin', 'cli.ts'),
      'import',
      file,
      '--user-id',
      'customer_id',
      '--email',
      'email',
      '--map',
      'first_name=firstName',
      '--map',
      'clv=clv:number',
      '--map',
      'subscription_ends=subscription.endsAt:date',
      '--map',
      'plan=subscription.plan',
      '--map',
      'timezone=timezone',
      '--api',
      this.stack.apiUrl,
      '--write-key',
      this.stack.writeKey,
    ]);
    this.log(`imported ${customers.length} customers from ${file}`);
    return file;
  }

  /** What the customer-service system reports: NPS scores and complaints, through the track API. */
  async sendServiceSignals(customers: readonly Customer[]): Promise<void> {
    const batch: unknown[] = [];
    for (const c of customers) {
      batch.push(track(c.userId, 'nps.submitted', { score: c.nps, survey: 'quarterly' }));
      if (c.complaint !== '')
        batch.push(track(c.userId, 'complaint.opened', { ticket: `T-${c.customer_id}` }));
      if (c.complaint === 'resolved')
        batch.push(track(c.userId, 'complaint.resolved', { ticket: `T-${c.customer_id}` }));
    }
    await this.sendBatch(batch);
    this.log(`sent ${batch.length} customer-service signals`);
  }

  /** The customer accepted the renewal offer (the subscription system or the renewal page says so). */
  async accept(customer: Customer): Promise<void> {
    await this.sendBatch([track(customer.userId, 'renewal.accepted', { offer: 'loyal20' })]);
    this.log(`${customer.first_name} accepted the renewal offer`);
  }

  private async sendBatch(batch: readonly unknown[]): Promise<void> {
    const response = await fetch(`${this.stack.apiUrl}/v1/batch`, {
      method: 'POST',
      headers: {
        authorization: `Basic ${Buffer.from(`${this.stack.writeKey}:`).toString('base64')}`,
        'content-type': 'application/json',
      },
      body: JSON.stringify({ batch }),
    });
    if (response.status !== 200)
      throw new Error(`POST /v1/batch: ${response.status} ${await response.text()}`);
  }

  async mailbox(): Promise<StoredEmail[]> {
    const response = await fetch(`${this.stack.mailboxUrl}/store`);
    return z.object({ emails: z.array(storedEmail) }).parse(await response.json()).emails;
  }

  async mailTo(customer: Customer): Promise<StoredEmail[]> {
    return (await this.mailbox()).filter((e) => e.destination.to.some((to) => to.includes(customer.address)));
  }

  async profileId(customer: Customer): Promise<string | undefined> {
    const response = await this.admin(`/admin/profiles?userId=${encodeURIComponent(customer.userId)}`);
    if (response.status === 404) return undefined;
    return z.object({ id: z.string() }).parse(await response.json()).id;
  }

  /** The banner the in-app placement shows the customer, as the snippet would fetch it. */
  async banner(customer: Customer): Promise<{ title: string } | null> {
    const response = await fetch(
      `${this.stack.apiUrl}/v1/content/account-home?userId=${encodeURIComponent(customer.userId)}&writeKey=${this.stack.writeKey}`,
    );
    if (response.status === 204) return null;
    if (response.status !== 200) throw new Error(`GET /v1/content: ${response.status}`);
    return z.object({ title: z.string() }).parse(await response.json());
  }

  async enrollment(customer: Customer, journeyId: string) {
    const id = await this.profileId(customer);
    if (!id) return undefined;
    const body = z
      .object({
        enrollments: z.array(
          z
            .object({
              journeyId: z.string(),
              status: z.string(),
              exitReason: z.string().nullable(),
              nodeId: z.string(),
              run: z.number(),
            })
            .loose(),
        ),
      })
      .parse(await this.adminOk(`/admin/profiles/${id}/journeys`));
    return body.enrollments.find((e) => e.journeyId === journeyId);
  }

  async stats(journeyId: string): Promise<unknown> {
    return this.adminOk(`/admin/journeys/${journeyId}/stats`);
  }
}

function track(userId: string, event: string, properties: Record<string, unknown>) {
  return {
    type: 'track',
    userId,
    event,
    properties,
    messageId: `${event}-${userId}-${Math.random().toString(36).slice(2)}`,
  };
}

function run(command: string, args: readonly string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: projectRoot, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.on('error', reject);
    child.on('exit', (code) =>
      code === 0
        ? resolve()
        : reject(new Error(`${args.slice(2, 4).join(' ')} exited with ${code}:\n${output}`)),
    );
  });
}
