// The sending events SES publishes to EventBridge for an accepted email, with the mailbox simulator's outcomes.
import { randomBytes, randomUUID } from 'node:crypto';
import type { BusEvent } from './event-bus.ts';

/** Event types as a configuration set's event destination names them (CloudFormation's MatchingEventTypes). */
export const SES_EVENT_TYPES = [
  'send',
  'reject',
  'bounce',
  'complaint',
  'delivery',
  'open',
  'click',
  'renderingFailure',
  'deliveryDelay',
  'subscription',
] as const;

export type SesEventType = (typeof SES_EVENT_TYPES)[number];

/** A configuration set as the template declares it, with the event types each EventBridge destination takes. */
export interface SesConfigurationSet {
  readonly name: string;
  readonly arn: string;
  /** Each enabled destination on the default bus; SES publishes once per destination. */
  readonly eventBridgeDestinations: ReadonlyArray<{
    readonly name: string;
    readonly eventTypes: ReadonlySet<SesEventType>;
  }>;
}

/** What SES knows about an email it accepted, when it publishes the email's events. */
export interface AcceptedEmail {
  /** The id SendEmail returned to the caller. */
  readonly messageId: string;
  readonly sentAt: Date;
  /** The From header, possibly with a display name. */
  readonly from: string;
  /** The To header values, possibly with display names. */
  readonly to: readonly string[];
  /** Every envelope recipient (To, Cc, Bcc), possibly with display names. */
  readonly recipients: readonly string[];
  readonly subject: string;
  /** Headers the sender added. */
  readonly headers: ReadonlyArray<{ readonly name: string; readonly value: string }>;
  readonly emailTags: ReadonlyArray<{ readonly name: string; readonly value: string }>;
  readonly configurationSetName: string;
  readonly sourceIp: string;
  readonly callerIdentity: string;
}

/** One event record, before the EventBridge envelope. */
export interface SesEvent {
  readonly type: SesEventType;
  readonly detailType: string;
  readonly detail: Record<string, unknown>;
}

/** What the mailbox simulator does with a recipient; every address outside it is delivered. */
export type SimulatorOutcome = 'delivered' | 'bounce' | 'complaint' | 'suppressed';

const SIMULATOR_DOMAIN = 'simulator.amazonses.com';
const REPORTING_MTA = 'a0-0.smtp-out.amazonses.com';

/** The bare address in a header value such as `Ada <ada@example.com>`. */
export function emailAddressOf(value: string): string {
  const bracketed = value.match(/<([^<>]+)>\s*$/);
  return (bracketed?.[1] ?? value).trim();
}

/**
 * The simulator addresses of https://docs.aws.amazon.com/ses/latest/dg/send-an-email-from-console.html#send-email-simulator;
 * a label (`bounce+journey-1@...`) lets tests tell their messages apart and behaves like the base address.
 */
export function simulatorOutcome(recipient: string): SimulatorOutcome {
  const address = emailAddressOf(recipient).toLowerCase();
  const at = address.lastIndexOf('@');
  if (at < 0 || address.slice(at + 1) !== SIMULATOR_DOMAIN) return 'delivered';
  const mailbox = address.slice(0, at).split('+')[0];
  switch (mailbox) {
    case 'bounce':
      return 'bounce';
    case 'complaint':
      return 'complaint';
    case 'suppressionlist':
      return 'suppressed';
    default:
      return 'delivered';
  }
}

function feedbackId(): string {
  return `${randomBytes(8).toString('hex')}-${randomUUID()}-000000`;
}

function domainOf(address: string): string {
  return address.slice(address.lastIndexOf('@') + 1);
}

function mailObject(email: AcceptedEmail, accountId: string, region: string): Record<string, unknown> {
  const source = emailAddressOf(email.from);
  const tags: Record<string, string[]> = {
    'ses:operation': ['SendEmail'],
    'ses:configuration-set': [email.configurationSetName],
    'ses:source-ip': [email.sourceIp],
    'ses:from-domain': [domainOf(source)],
    'ses:caller-identity': [email.callerIdentity],
  };
  for (const tag of email.emailTags) tags[tag.name] = [tag.value];
  return {
    timestamp: email.sentAt.toISOString(),
    source: email.from,
    sourceArn: `arn:aws:ses:${region}:${accountId}:identity/${domainOf(source)}`,
    sendingAccountId: accountId,
    messageId: email.messageId,
    destination: email.recipients.map(emailAddressOf),
    headersTruncated: false,
    headers: [
      { name: 'From', value: email.from },
      ...(email.to.length > 0 ? [{ name: 'To', value: email.to.join(', ') }] : []),
      { name: 'Subject', value: email.subject },
      { name: 'MIME-Version', value: '1.0' },
      ...email.headers.map((h) => ({ name: h.name, value: h.value })),
    ],
    commonHeaders: {
      from: [email.from],
      to: [...email.to],
      messageId: email.messageId,
      subject: email.subject,
    },
    tags,
  };
}

function deliveryOf(recipient: string, email: AcceptedEmail, at: Date): Record<string, unknown> {
  return {
    timestamp: at.toISOString(),
    processingTimeMillis: Math.max(0, at.getTime() - email.sentAt.getTime()),
    recipients: [recipient],
    smtpResponse: '250 2.6.0 Message received',
    reportingMTA: REPORTING_MTA,
  };
}

function bounceOf(recipient: string, outcome: 'bounce' | 'suppressed', at: Date): Record<string, unknown> {
  const suppressed = outcome === 'suppressed';
  return {
    bounceType: 'Permanent',
    bounceSubType: suppressed ? 'OnAccountSuppressionList' : 'General',
    bouncedRecipients: [
      {
        emailAddress: recipient,
        action: 'failed',
        status: '5.1.1',
        diagnosticCode: suppressed
          ? 'Amazon SES did not send the message to this address because it is on the suppression list for your account.'
          : 'smtp; 550 5.1.1 user unknown',
      },
    ],
    timestamp: at.toISOString(),
    feedbackId: feedbackId(),
    reportingMTA: suppressed ? 'dns; amazonses.com' : `dns; ${REPORTING_MTA}`,
  };
}

function complaintOf(recipient: string, at: Date): Record<string, unknown> {
  return {
    complainedRecipients: [{ emailAddress: recipient }],
    timestamp: at.toISOString(),
    feedbackId: feedbackId(),
    complaintSubType: null,
    userAgent: 'Amazon SES Mailbox Simulator',
    complaintFeedbackType: 'abuse',
    arrivalDate: at.toISOString(),
  };
}

/**
 * Every event SES records for an accepted email, in the order it happens: the send, then per recipient a delivery,
 * a bounce, or a delivery followed by a complaint. Which of them are published depends on the destinations.
 */
export function sesEventsFor(
  email: AcceptedEmail,
  context: { readonly accountId: string; readonly region: string; readonly at: Date },
): SesEvent[] {
  const mail = mailObject(email, context.accountId, context.region);
  const events: SesEvent[] = [
    { type: 'send', detailType: 'Email Sent', detail: { eventType: 'Send', mail, send: {} } },
  ];
  const delivered = (recipient: string): SesEvent => ({
    type: 'delivery',
    detailType: 'Email Delivered',
    detail: { eventType: 'Delivery', mail, delivery: deliveryOf(recipient, email, context.at) },
  });
  for (const recipient of email.recipients.map(emailAddressOf)) {
    const outcome = simulatorOutcome(recipient);
    switch (outcome) {
      case 'delivered':
        events.push(delivered(recipient));
        break;
      case 'bounce':
      case 'suppressed':
        events.push({
          type: 'bounce',
          detailType: 'Email Bounced',
          detail: { eventType: 'Bounce', mail, bounce: bounceOf(recipient, outcome, context.at) },
        });
        break;
      case 'complaint':
        events.push(delivered(recipient), {
          type: 'complaint',
          detailType: 'Email Complaint Received',
          detail: { eventType: 'Complaint', mail, complaint: complaintOf(recipient, context.at) },
        });
        break;
    }
  }
  return events;
}

/** The events the configuration set's EventBridge destinations take, in EventBridge's envelope from `aws.ses`. */
export function busEventsFor(input: {
  readonly events: readonly SesEvent[];
  readonly configurationSet: SesConfigurationSet;
  readonly accountId: string;
  readonly region: string;
  readonly at: Date;
}): BusEvent[] {
  const busEvents: BusEvent[] = [];
  for (const destination of input.configurationSet.eventBridgeDestinations) {
    for (const event of input.events) {
      if (!destination.eventTypes.has(event.type)) continue;
      busEvents.push({
        version: '0',
        id: randomUUID(),
        'detail-type': event.detailType,
        source: 'aws.ses',
        account: input.accountId,
        // EventBridge's time format: ISO 8601 without milliseconds.
        time: `${input.at.toISOString().slice(0, 19)}Z`,
        region: input.region,
        resources: [input.configurationSet.arn],
        detail: event.detail,
      });
    }
  }
  return busEvents;
}
