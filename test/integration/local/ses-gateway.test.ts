// The local SES endpoint, driven by the real SES v2 client: the mailbox simulator's events reach the default bus,
// unknown configuration sets are refused, and injected faults behave as throttling and lost answers do on AWS.
import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import {
  NotFoundException,
  SESv2Client,
  SESv2ServiceException,
  SendEmailCommand,
  TooManyRequestsException,
} from '@aws-sdk/client-sesv2';
import { App, Stack } from 'aws-cdk-lib';
import { EventBus } from 'aws-cdk-lib/aws-events';
import { ConfigurationSet, EmailSendingEvent, EventDestination } from 'aws-cdk-lib/aws-ses';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import * as z from 'zod';
import { LOCAL_ACCOUNT_ID, LOCAL_CREDENTIALS, LOCAL_REGION, startSes } from '../../../lib/local/emulators.ts';
import { LocalEventBus } from '../../../lib/local/event-bus.ts';
import { parseEventPattern } from '../../../lib/local/event-pattern.ts';
import { closeServer } from '../../../lib/local/json-protocol.ts';
import { controlFaults, SesGateway } from '../../../lib/local/ses-gateway.ts';
import { TemplateModel } from '../../../lib/local/template.ts';
import { readSesConfigurationSets } from '../../../lib/local/template-resources.ts';

/** Takes every event type. */
const ALL_EVENTS = 'nurture-all-events';
/** Takes sends and bounces only. */
const SENDS_AND_BOUNCES = 'nurture-sends-and-bounces';
const FROM = 'Acme <news@acme.example>';

const busEventSchema = z.object({
  'detail-type': z.string(),
  source: z.string(),
  account: z.string(),
  region: z.string(),
  resources: z.array(z.string()),
  detail: z.looseObject({
    eventType: z.string(),
    mail: z.looseObject({ messageId: z.string(), tags: z.record(z.string(), z.array(z.string())) }),
  }),
});
type PublishedEvent = z.infer<typeof busEventSchema>;

const storeSchema = z.object({
  emails: z.array(z.looseObject({ messageId: z.string(), subject: z.string() })),
});

const received: PublishedEvent[] = [];
let stopEmulator: () => Promise<void>;
let gateway: SesGateway;
let bus: LocalEventBus;
let ses: SESv2Client;

function synthesizeSending(): TemplateModel {
  const app = new App();
  const stack = new Stack(app, 'SesGatewayFixture', {
    env: { region: LOCAL_REGION, account: LOCAL_ACCOUNT_ID },
  });
  const defaultBus = EventBus.fromEventBusName(stack, 'DefaultBus', 'default');
  new ConfigurationSet(stack, 'AllEvents', { configurationSetName: ALL_EVENTS }).addEventDestination(
    'ToBus',
    {
      destination: EventDestination.eventBus(defaultBus),
    },
  );
  new ConfigurationSet(stack, 'SendsAndBounces', {
    configurationSetName: SENDS_AND_BOUNCES,
  }).addEventDestination('ToBus', {
    destination: EventDestination.eventBus(defaultBus),
    events: [EmailSendingEvent.SEND, EmailSendingEvent.BOUNCE],
  });
  const template: unknown = app.synth().getStackByName('SesGatewayFixture').template;
  return new TemplateModel(template, {
    stackName: 'SesGatewayFixture',
    region: LOCAL_REGION,
    accountId: LOCAL_ACCOUNT_ID,
  });
}

beforeAll(async () => {
  const emulator = await startSes({ port: 0 });
  stopEmulator = emulator.stop;
  const match = { source: ['aws.ses'] };
  bus = new LocalEventBus({
    region: LOCAL_REGION,
    accountId: LOCAL_ACCOUNT_ID,
    buses: [],
    rules: [
      {
        name: 'ses-feedback',
        arn: `arn:aws:events:${LOCAL_REGION}:${LOCAL_ACCOUNT_ID}:rule/ses-feedback`,
        eventBusName: 'default',
        pattern: parseEventPattern(match),
        patternText: JSON.stringify(match),
        enabled: true,
        targets: [{ id: 'Feedback', arn: `arn:aws:sqs:${LOCAL_REGION}:${LOCAL_ACCOUNT_ID}:ses-feedback` }],
      },
    ],
    deliver: async ({ payload }) => {
      received.push(busEventSchema.parse(JSON.parse(payload)));
    },
  });
  gateway = new SesGateway({
    emulatorUrl: emulator.url,
    configurationSets: readSesConfigurationSets(synthesizeSending()),
    bus,
    accountId: LOCAL_ACCOUNT_ID,
    region: LOCAL_REGION,
  });
  await gateway.start(0);
  ses = new SESv2Client({
    region: LOCAL_REGION,
    credentials: LOCAL_CREDENTIALS,
    endpoint: gateway.url,
    maxAttempts: 1,
  });
});

afterEach(() => {
  gateway.faults.clear();
});

afterAll(async () => {
  ses?.destroy();
  await gateway?.stop();
  await bus?.drain();
  await stopEmulator?.();
});

/** Sends one email tagged with a fresh Nurture message id; the subject is unique too, to find it in the mailbox. */
function sendEmail(input: { to: string; configurationSet?: string }) {
  const nurtureMessageId = randomUUID();
  const subject = `Spring offers ${nurtureMessageId}`;
  const command = new SendEmailCommand({
    FromEmailAddress: FROM,
    Destination: { ToAddresses: [input.to] },
    Content: { Simple: { Subject: { Data: subject }, Body: { Text: { Data: 'Hello from Acme' } } } },
    ...(input.configurationSet ? { ConfigurationSetName: input.configurationSet } : {}),
    EmailTags: [{ Name: 'nurture-message-id', Value: nurtureMessageId }],
  });
  return { nurtureMessageId, subject, result: ses.send(command) };
}

function taggedWith(nurtureMessageId: string): PublishedEvent[] {
  return received.filter((e) => e.detail.mail.tags['nurture-message-id']?.[0] === nurtureMessageId);
}

/** Polls until the bus delivered at least `count` events for the message, or three seconds have passed. */
async function eventsFor(nurtureMessageId: string, count: number): Promise<PublishedEvent[]> {
  const deadline = Date.now() + 3000;
  while (taggedWith(nurtureMessageId).length < count && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  return taggedWith(nurtureMessageId);
}

/** Everything published so far has reached the bus's targets. */
async function settled(): Promise<void> {
  await gateway.drain();
  await bus.drain();
}

async function mailboxSubjects(): Promise<string[]> {
  const response = await fetch(`${gateway.url}/store`);
  return storeSchema.parse(await response.json()).emails.map((e) => e.subject);
}

function errorOf(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => {
      throw new Error('expected the call to fail');
    },
    (error: unknown) => error,
  );
}

describe('SES gateway: events from the mailbox simulator', () => {
  it('publishes Email Sent and Email Bounced for the bounce address, tagged with the Nurture message id', async () => {
    const sent = sendEmail({ to: 'bounce+gateway@simulator.amazonses.com', configurationSet: ALL_EVENTS });
    const { MessageId } = await sent.result;

    const events = await eventsFor(sent.nurtureMessageId, 2);

    expect(events.map((e) => e['detail-type'])).toEqual(['Email Sent', 'Email Bounced']);
    expect(events[1]).toMatchObject({
      source: 'aws.ses',
      account: LOCAL_ACCOUNT_ID,
      region: LOCAL_REGION,
      resources: [`arn:aws:ses:${LOCAL_REGION}:${LOCAL_ACCOUNT_ID}:configuration-set/${ALL_EVENTS}`],
      detail: {
        eventType: 'Bounce',
        mail: {
          messageId: MessageId,
          source: FROM,
          destination: ['bounce+gateway@simulator.amazonses.com'],
          commonHeaders: { subject: sent.subject },
          tags: { 'ses:configuration-set': [ALL_EVENTS], 'nurture-message-id': [sent.nurtureMessageId] },
        },
        bounce: { bounceType: 'Permanent', bounceSubType: 'General' },
      },
    });
  });

  it('publishes Email Sent and Email Delivered for an ordinary address', async () => {
    const sent = sendEmail({ to: 'ada@example.com', configurationSet: ALL_EVENTS });
    await sent.result;

    const events = await eventsFor(sent.nurtureMessageId, 2);

    expect(events.map((e) => e['detail-type'])).toEqual(['Email Sent', 'Email Delivered']);
  });

  it('publishes a delivery, then an abuse complaint, for the complaint address', async () => {
    const sent = sendEmail({ to: 'complaint@simulator.amazonses.com', configurationSet: ALL_EVENTS });
    await sent.result;

    const events = await eventsFor(sent.nurtureMessageId, 3);

    expect(events.map((e) => e['detail-type'])).toEqual([
      'Email Sent',
      'Email Delivered',
      'Email Complaint Received',
    ]);
    expect(events[2]?.detail).toMatchObject({ complaint: { complaintFeedbackType: 'abuse' } });
  });

  it('does not publish event types the configuration set does not take', async () => {
    const sent = sendEmail({ to: 'ada@example.com', configurationSet: SENDS_AND_BOUNCES });
    await sent.result;

    await settled();

    expect(taggedWith(sent.nurtureMessageId).map((e) => e['detail-type'])).toEqual(['Email Sent']);
  });

  it('publishes nothing for an email sent without a configuration set, and still delivers it to the mailbox', async () => {
    const sent = sendEmail({ to: 'ada@example.com' });
    await sent.result;

    await settled();

    expect(taggedWith(sent.nurtureMessageId)).toEqual([]);
    expect(await mailboxSubjects()).toContain(sent.subject);
  });

  it('refuses a configuration set the template does not declare, as SES does', async () => {
    const sent = sendEmail({ to: 'ada@example.com', configurationSet: 'nope' });

    const error = await errorOf(sent.result);

    expect(error).toBeInstanceOf(NotFoundException);
    expect(error).toMatchObject({ message: 'Configuration set nope does not exist.' });
    expect(await mailboxSubjects()).not.toContain(sent.subject);
  });
});

describe('SES gateway: injected faults', () => {
  it('throttles the next sends with TooManyRequestsException and stores nothing', async () => {
    gateway.faults.set({ throttle: 1 });
    const throttled = sendEmail({ to: 'ada@example.com', configurationSet: ALL_EVENTS });

    const error = await errorOf(throttled.result);
    await settled();

    expect(error).toBeInstanceOf(TooManyRequestsException);
    expect(await mailboxSubjects()).not.toContain(throttled.subject);
    expect(taggedWith(throttled.nurtureMessageId)).toEqual([]);
    expect(gateway.faults.remaining().throttle).toBe(0);
  });

  it('sends normally once the throttled calls are used up', async () => {
    gateway.faults.set({ throttle: 1 });
    await errorOf(sendEmail({ to: 'ada@example.com' }).result);

    const next = sendEmail({ to: 'ada@example.com' });

    await expect(next.result).resolves.toMatchObject({ MessageId: expect.any(String) });
  });

  it('loses the answer after accepting: the caller sees a network error, the mailbox has the email, the send is published', async () => {
    gateway.faults.set({ resetAfterAccept: 1 });
    const sent = sendEmail({ to: 'ada@example.com', configurationSet: ALL_EVENTS });

    const error = await errorOf(sent.result);
    const events = await eventsFor(sent.nurtureMessageId, 2);

    expect(error).toBeInstanceOf(Error);
    expect(error).not.toBeInstanceOf(SESv2ServiceException);
    expect(await mailboxSubjects()).toContain(sent.subject);
    expect(events.map((e) => e['detail-type'])).toEqual(['Email Sent', 'Email Delivered']);
  });

  it('delays every answer by delayMs', async () => {
    gateway.faults.set({ delayMs: 150 });
    const started = performance.now();

    await sendEmail({ to: 'ada@example.com' }).result;

    expect(performance.now() - started).toBeGreaterThanOrEqual(150);
  });
});

describe('SES gateway: everything else passes through', () => {
  it('serves the mailbox page of the emulator', async () => {
    const response = await fetch(gateway.url);

    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toContain('text/html');
  });

  it('serves the mailbox store with the emails sent through the gateway', async () => {
    const sent = sendEmail({ to: 'ada@example.com' });
    const { MessageId } = await sent.result;

    const response = await fetch(`${gateway.url}/store`);
    const store = storeSchema.parse(await response.json());

    expect(store.emails).toContainEqual(
      expect.objectContaining({ messageId: MessageId, subject: sent.subject }),
    );
  });
});

describe('the /_local/faults control endpoint', () => {
  let control: Server;
  let url: string;

  beforeAll(async () => {
    control = createServer((req, res) => {
      void controlFaults(req, gateway.faults).then(({ status, body }) => {
        res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
      });
    });
    await new Promise<void>((resolve) => control.listen(0, '127.0.0.1', resolve));
    const address = control.address();
    url = `http://127.0.0.1:${typeof address === 'object' && address !== null ? address.port : 0}/_local/faults`;
  });

  afterAll(() => closeServer(control));

  it('replaces the SES faults on PUT and shows the remaining counts on GET', async () => {
    await fetch(url, { method: 'PUT', body: JSON.stringify({ ses: { throttle: 2, delayMs: 5 } }) });
    await errorOf(sendEmail({ to: 'ada@example.com' }).result);

    const shown = await (await fetch(url)).json();

    expect(shown).toEqual({ ses: { throttle: 1, resetAfterAccept: 0, delayMs: 5 } });
  });

  it('clears every fault on DELETE', async () => {
    gateway.faults.set({ throttle: 3, resetAfterAccept: 1 });

    const cleared = await (await fetch(url, { method: 'DELETE' })).json();

    expect(cleared).toEqual({ ses: { throttle: 0, resetAfterAccept: 0, delayMs: 0 } });
  });

  it('refuses a negative count and leaves the faults as they were', async () => {
    gateway.faults.set({ throttle: 1 });

    const response = await fetch(url, { method: 'PUT', body: JSON.stringify({ ses: { throttle: -1 } }) });

    expect(response.status).toBe(400);
    expect(gateway.faults.remaining().throttle).toBe(1);
  });
});
