// Locally, SES publishes the sending events the real service would: the mailbox simulator's outcomes, in the
// EventBridge format, only for the event types a configuration set's destinations take.
import { App, Stack } from 'aws-cdk-lib';
import { EventBus } from 'aws-cdk-lib/aws-events';
import {
  CfnConfigurationSetEventDestination,
  ConfigurationSet,
  ConfigurationSetEventDestination,
  EmailIdentity,
  EmailSendingEvent,
  EventDestination,
  Identity,
} from 'aws-cdk-lib/aws-ses';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  type AcceptedEmail,
  busEventsFor,
  type SesConfigurationSet,
  type SesEventType,
  sesEventsFor,
  simulatorOutcome,
} from '../../../lib/local/ses-events.ts';
import { SesFaults } from '../../../lib/local/ses-gateway.ts';
import { TemplateError, TemplateModel } from '../../../lib/local/template.ts';
import { readSesConfigurationSets } from '../../../lib/local/template-resources.ts';

const ACCOUNT = '000000000000';
const REGION = 'us-east-1';
const SENT_AT = new Date('2026-03-01T10:00:00.000Z');
const AT = new Date('2026-03-01T10:00:01.250Z');

function email(overrides: Partial<AcceptedEmail> = {}): AcceptedEmail {
  return {
    messageId: 'ses-123456789',
    sentAt: SENT_AT,
    from: 'Acme <news@acme.example>',
    to: ['Ada <ada@example.com>'],
    recipients: ['Ada <ada@example.com>'],
    subject: 'Spring offers',
    headers: [{ name: 'List-Unsubscribe', value: '<https://acme.example/u>' }],
    emailTags: [{ name: 'nurture-message-id', value: 'msg-1' }],
    configurationSetName: 'nurture-sending',
    sourceIp: '127.0.0.1',
    callerIdentity: 'local',
    ...overrides,
  };
}

const context = { accountId: ACCOUNT, region: REGION, at: AT };

function configurationSet(...destinations: Array<readonly SesEventType[]>): SesConfigurationSet {
  return {
    name: 'nurture-sending',
    arn: `arn:aws:ses:${REGION}:${ACCOUNT}:configuration-set/nurture-sending`,
    eventBridgeDestinations: destinations.map((types, i) => ({
      name: `destination-${i}`,
      eventTypes: new Set(types),
    })),
  };
}

describe('mailbox simulator', () => {
  it.each([
    ['bounce@simulator.amazonses.com', 'bounce'],
    ['bounce+journey-7@simulator.amazonses.com', 'bounce'],
    ['Test <BOUNCE@Simulator.AmazonSES.com>', 'bounce'],
    ['complaint+x@simulator.amazonses.com', 'complaint'],
    ['suppressionlist@simulator.amazonses.com', 'suppressed'],
    ['ooto@simulator.amazonses.com', 'delivered'],
    ['success+label@simulator.amazonses.com', 'delivered'],
    ['bounce@example.com', 'delivered'],
    ['ada@example.com', 'delivered'],
  ])('treats %s as %s', (address, outcome) => {
    expect(simulatorOutcome(address)).toBe(outcome);
  });
});

describe('SES sending events', () => {
  it('records the send first, with the configuration set, the source and every email tag in the mail object', () => {
    const [send] = sesEventsFor(email(), context);

    expect(send).toMatchObject({
      type: 'send',
      detailType: 'Email Sent',
      detail: {
        eventType: 'Send',
        send: {},
        mail: {
          timestamp: '2026-03-01T10:00:00.000Z',
          source: 'Acme <news@acme.example>',
          sendingAccountId: ACCOUNT,
          messageId: 'ses-123456789',
          destination: ['ada@example.com'],
          headersTruncated: false,
          commonHeaders: {
            from: ['Acme <news@acme.example>'],
            to: ['Ada <ada@example.com>'],
            messageId: 'ses-123456789',
            subject: 'Spring offers',
          },
          tags: {
            'ses:configuration-set': ['nurture-sending'],
            'ses:source-ip': ['127.0.0.1'],
            'ses:from-domain': ['acme.example'],
            'ses:caller-identity': ['local'],
            'nurture-message-id': ['msg-1'],
          },
        },
      },
    });
  });

  it('keeps the headers the sender added', () => {
    const [send] = sesEventsFor(email(), context);

    expect(send?.detail.mail).toMatchObject({
      headers: expect.arrayContaining([{ name: 'List-Unsubscribe', value: '<https://acme.example/u>' }]),
    });
  });

  it('delivers to an ordinary address with the processing time since the send', () => {
    const events = sesEventsFor(email(), context);

    expect(events.map((e) => e.detailType)).toEqual(['Email Sent', 'Email Delivered']);
    expect(events[1]?.detail.delivery).toEqual({
      timestamp: AT.toISOString(),
      processingTimeMillis: 1250,
      recipients: ['ada@example.com'],
      smtpResponse: '250 2.6.0 Message received',
      reportingMTA: expect.any(String),
    });
  });

  it('bounces the simulator bounce address permanently with status 5.1.1', () => {
    const recipient = 'bounce+a@simulator.amazonses.com';
    const events = sesEventsFor(email({ to: [recipient], recipients: [recipient] }), context);

    expect(events.map((e) => e.detailType)).toEqual(['Email Sent', 'Email Bounced']);
    expect(events[1]?.detail.bounce).toMatchObject({
      bounceType: 'Permanent',
      bounceSubType: 'General',
      bouncedRecipients: [{ emailAddress: recipient, action: 'failed', status: '5.1.1' }],
      timestamp: AT.toISOString(),
      feedbackId: expect.any(String),
    });
  });

  it('bounces the suppression list address as on the account suppression list', () => {
    const recipient = 'suppressionlist@simulator.amazonses.com';
    const events = sesEventsFor(email({ to: [recipient], recipients: [recipient] }), context);

    expect(events[1]?.detail.bounce).toMatchObject({
      bounceType: 'Permanent',
      bounceSubType: 'OnAccountSuppressionList',
    });
  });

  it('delivers to the complaint address, then records an abuse complaint', () => {
    const recipient = 'complaint@simulator.amazonses.com';
    const events = sesEventsFor(email({ to: [recipient], recipients: [recipient] }), context);

    expect(events.map((e) => e.detailType)).toEqual([
      'Email Sent',
      'Email Delivered',
      'Email Complaint Received',
    ]);
    expect(events[2]?.detail.complaint).toMatchObject({
      complainedRecipients: [{ emailAddress: recipient }],
      complaintFeedbackType: 'abuse',
      timestamp: AT.toISOString(),
      arrivalDate: AT.toISOString(),
    });
  });

  it('gives each recipient of one email its own outcome', () => {
    const recipients = ['ada@example.com', 'bounce@simulator.amazonses.com'];
    const events = sesEventsFor(email({ to: recipients, recipients }), context);

    expect(events.map((e) => e.detailType)).toEqual(['Email Sent', 'Email Delivered', 'Email Bounced']);
  });
});

describe('publishing to the default bus', () => {
  const events = sesEventsFor(email(), context);

  it('wraps each event as EventBridge does for aws.ses, naming the configuration set as the resource', () => {
    const [sent] = busEventsFor({ events, configurationSet: configurationSet(['send']), ...context });

    expect(sent).toEqual({
      version: '0',
      id: expect.any(String),
      'detail-type': 'Email Sent',
      source: 'aws.ses',
      account: ACCOUNT,
      time: '2026-03-01T10:00:01Z',
      region: REGION,
      resources: [`arn:aws:ses:${REGION}:${ACCOUNT}:configuration-set/nurture-sending`],
      detail: events[0]?.detail,
    });
  });

  it('publishes only the event types the destination takes', () => {
    const published = busEventsFor({ events, configurationSet: configurationSet(['delivery']), ...context });

    expect(published.map((e) => e['detail-type'])).toEqual(['Email Delivered']);
  });

  it('publishes once per destination', () => {
    const published = busEventsFor({
      events,
      configurationSet: configurationSet(['send'], ['send', 'delivery']),
      ...context,
    });

    expect(published.map((e) => e['detail-type'])).toEqual(['Email Sent', 'Email Sent', 'Email Delivered']);
  });

  it('publishes nothing for a configuration set without an EventBridge destination', () => {
    expect(busEventsFor({ events, configurationSet: configurationSet(), ...context })).toEqual([]);
  });
});

const defaultBus = (stack: Stack) => EventBus.fromEventBusName(stack, 'DefaultBus', 'default');

/** One fixture stack per case, synthesized once: CDK synthesis is the slow part of these tests. */
const fixtures: Record<string, (stack: Stack) => void> = {
  Unnamed: (stack) => {
    new ConfigurationSet(stack, 'Sending');
  },
  Named: (stack) => {
    const set = new ConfigurationSet(stack, 'Sending', { configurationSetName: 'nurture-sending' });
    const destination = EventDestination.eventBus(defaultBus(stack));
    new ConfigurationSetEventDestination(stack, 'Feedback', {
      configurationSet: set,
      destination,
      events: [EmailSendingEvent.SEND, EmailSendingEvent.BOUNCE, EmailSendingEvent.RENDERING_FAILURE],
    });
    new ConfigurationSetEventDestination(stack, 'Paused', {
      configurationSet: set,
      destination,
      enabled: false,
    });
  },
  CustomBus: (stack) => {
    // The L2 construct refuses this; a hand-written template can still say it.
    const set = new ConfigurationSet(stack, 'Sending', { configurationSetName: 'nurture-sending' });
    new CfnConfigurationSetEventDestination(stack, 'ToCustomBus', {
      configurationSetName: set.configurationSetName,
      eventDestination: {
        enabled: true,
        matchingEventTypes: ['send'],
        eventBridgeDestination: {
          eventBusArn: new EventBus(stack, 'Custom', { eventBusName: 'nurture' }).eventBusArn,
        },
      },
    });
  },
  Identity: (stack) => {
    new EmailIdentity(stack, 'Sender', { identity: Identity.domain('acme.example') });
  },
};
const templates = new Map<string, unknown>();

beforeAll(() => {
  const app = new App();
  for (const [name, build] of Object.entries(fixtures)) {
    build(new Stack(app, name, { env: { region: REGION, account: ACCOUNT } }));
  }
  const assembly = app.synth();
  for (const name of Object.keys(fixtures)) templates.set(name, assembly.getStackByName(name).template);
}, 120_000);

/** A fresh model each time: reading configuration sets teaches the model their names. */
function model(fixture: string): TemplateModel {
  return new TemplateModel(templates.get(fixture), {
    stackName: fixture,
    region: REGION,
    accountId: ACCOUNT,
  });
}

function logicalIdOf(templateModel: TemplateModel, type: string): string {
  const resource = templateModel.ofType(type)[0];
  if (!resource) throw new Error(`the fixture has no ${type}`);
  return resource.logicalId;
}

describe('configuration sets from the template', () => {
  it('names a configuration set without a name the way Ref resolves it, so a function given the Ref finds it', () => {
    const unnamed = model('Unnamed');
    const ref = unnamed.ref(logicalIdOf(unnamed, 'AWS::SES::ConfigurationSet'));

    const [set] = readSesConfigurationSets(unnamed);

    expect(set?.name).toBe(ref);
    expect(set?.arn).toBe(`arn:aws:ses:${REGION}:${ACCOUNT}:configuration-set/${ref}`);
  });

  it('makes a Ref to a named configuration set resolve to its name, as CloudFormation does', () => {
    const named = model('Named');

    readSesConfigurationSets(named);

    expect(named.resolve({ Ref: logicalIdOf(named, 'AWS::SES::ConfigurationSet') })).toBe('nurture-sending');
  });

  it('reads the event types of each enabled EventBridge destination and skips disabled ones', () => {
    const sets = readSesConfigurationSets(model('Named'));

    expect(sets).toEqual([
      {
        name: 'nurture-sending',
        arn: `arn:aws:ses:${REGION}:${ACCOUNT}:configuration-set/nurture-sending`,
        eventBridgeDestinations: [
          { name: expect.any(String), eventTypes: new Set(['send', 'bounce', 'renderingFailure']) },
        ],
      },
    ]);
  });

  it('refuses an EventBridge destination on a bus other than the default one, which SES cannot publish to', () => {
    const customBus = model('CustomBus');

    expect(() => readSesConfigurationSets(customBus)).toThrow(TemplateError);
    expect(() => readSesConfigurationSets(customBus)).toThrow(
      /only to the default event bus, not to nurture/,
    );
  });

  it('ignores email identities, which need nothing locally', () => {
    expect(readSesConfigurationSets(model('Identity'))).toEqual([]);
  });
});

describe('SES faults', () => {
  it('throttles the next calls, then resets the ones after, then lets calls through', () => {
    const faults = new SesFaults();
    faults.set({ throttle: 1, resetAfterAccept: 1, delayMs: 5 });

    const kinds = [1, 2, 3].map(() => faults.takeForSendEmail());

    expect(kinds).toEqual([
      { kind: 'throttle', delayMs: 5 },
      { kind: 'resetAfterAccept', delayMs: 5 },
      { kind: 'none', delayMs: 5 },
    ]);
  });

  it('shows what remains, and setting replaces every earlier setting', () => {
    const faults = new SesFaults();
    faults.set({ throttle: 3, delayMs: 100 });
    faults.takeForSendEmail();
    const remaining = faults.remaining();

    faults.set({ resetAfterAccept: 2 });

    expect(remaining).toEqual({ throttle: 2, resetAfterAccept: 0, delayMs: 100 });
    expect(faults.remaining()).toEqual({ throttle: 0, resetAfterAccept: 2, delayMs: 0 });
  });
});
