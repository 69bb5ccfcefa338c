// Reading SES sending events as EventBridge delivers them: message feedback, suppressions and soft bounces.
import { describe, expect, it } from 'vitest';
import {
  applyFeedback,
  type MessageRecord,
  newMessageRecord,
  recordIntent,
} from '../../../functions/messaging/lifecycle.ts';
import {
  readSesEvent,
  SES_DETAIL_TYPES,
  UnreadableFeedbackError,
} from '../../../functions/messaging/ses-feedback.ts';

// Fixtures: shaped like the examples in the SES developer guide ("Examples of event data that Amazon SES publishes"),
// wrapped in the EventBridge envelope SES uses.

const TAG = 'nurture-message-id';
const SES_MESSAGE_ID = '0100018fe5a3d6a1-3e1f8b0c-6b1e-4c4e-9a77-7d1c2f0e9a10-000000';
const RECIPIENT = 'recipient@example.com';

function mail(overrides: Record<string, unknown> = {}) {
  return {
    timestamp: '2024-06-10T12:00:01.012Z',
    source: 'Acme News <news@acme.example>',
    sourceArn: 'arn:aws:ses:eu-west-1:123456789012:identity/acme.example',
    sendingAccountId: '123456789012',
    messageId: SES_MESSAGE_ID,
    destination: [RECIPIENT],
    headersTruncated: false,
    headers: [
      { name: 'From', value: 'Acme News <news@acme.example>' },
      { name: 'To', value: RECIPIENT },
      { name: 'Subject', value: 'Welcome, Jane' },
      { name: 'MIME-Version', value: '1.0' },
    ],
    commonHeaders: {
      from: ['Acme News <news@acme.example>'],
      to: [RECIPIENT],
      messageId: SES_MESSAGE_ID,
      subject: 'Welcome, Jane',
    },
    tags: {
      'ses:configuration-set': ['nurture'],
      'ses:source-ip': ['192.0.2.0'],
      'ses:from-domain': ['acme.example'],
      'ses:caller-identity': ['nurture-send-email'],
      [TAG]: ['msg_x'],
    },
    ...overrides,
  };
}

function eventBridge(detailType: (typeof SES_DETAIL_TYPES)[number], detail: Record<string, unknown>) {
  return {
    version: '0',
    id: 'e2a7f4c1-0000-4000-8000-1234567890ab',
    'detail-type': detailType,
    source: 'aws.ses',
    account: '123456789012',
    time: '2024-06-10T12:00:05Z',
    region: 'eu-west-1',
    resources: ['arn:aws:ses:eu-west-1:123456789012:configuration-set/nurture'],
    detail,
  };
}

const SEND = eventBridge('Email Sent', { eventType: 'Send', mail: mail(), send: {} });

const DELIVERY = eventBridge('Email Delivered', {
  eventType: 'Delivery',
  mail: mail(),
  delivery: {
    timestamp: '2024-06-10T12:00:03.133Z',
    processingTimeMillis: 2121,
    recipients: [RECIPIENT],
    smtpResponse: '250 2.6.0 Message received',
    reportingMTA: 'mta-1a.eu-west-1.amazonses.com',
  },
});

function bounce(bounceFields: Record<string, unknown>) {
  return eventBridge('Email Bounced', { eventType: 'Bounce', mail: mail(), bounce: bounceFields });
}

const HARD_BOUNCE = bounce({
  bounceType: 'Permanent',
  bounceSubType: 'General',
  bouncedRecipients: [
    {
      emailAddress: RECIPIENT,
      action: 'failed',
      status: '5.1.1',
      diagnosticCode: 'smtp; 550 5.1.1 user unknown',
    },
  ],
  timestamp: '2024-06-10T12:00:04.669Z',
  feedbackId: '0100018fe5a3e0b7-hard-000000',
  reportingMTA: 'dsn; mta.example.com',
});

const SOFT_BOUNCE = bounce({
  bounceType: 'Transient',
  bounceSubType: 'MailboxFull',
  bouncedRecipients: [
    {
      emailAddress: RECIPIENT,
      action: 'failed',
      status: '4.2.2',
      diagnosticCode: 'smtp; 452 4.2.2 Mailbox full',
    },
  ],
  timestamp: '2024-06-10T12:00:04.100Z',
  feedbackId: '0100018fe5a3e0b7-soft-000000',
  reportingMTA: 'dsn; mta.example.com',
});

function complaint(complainedRecipients: Array<{ emailAddress: string }>) {
  return eventBridge('Email Complaint Received', {
    eventType: 'Complaint',
    mail: mail(),
    complaint: {
      feedbackId: '0100018fe5a3f1c2-complaint-000000',
      complaintSubType: null,
      complainedRecipients,
      timestamp: '2024-06-10T13:00:00.000Z',
      userAgent: 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36',
      complaintFeedbackType: 'abuse',
      arrivalDate: '2024-06-10T12:59:59.000Z',
    },
  });
}

const REJECT = eventBridge('Email Rejected', {
  eventType: 'Reject',
  mail: mail(),
  reject: { reason: 'Bad content' },
});

const RENDERING_FAILURE = eventBridge('Email Rendering Failed', {
  eventType: 'Rendering Failure',
  mail: mail(),
  failure: {
    errorMessage: "Attribute 'attributeName' is not present in the rendering data.",
    templateName: 'MyTemplate',
  },
});

const DELIVERY_DELAY = eventBridge('Email Delivery Delayed', {
  eventType: 'DeliveryDelay',
  mail: mail(),
  deliveryDelay: {
    timestamp: '2024-06-10T12:10:00.000Z',
    delayType: 'TransientCommunicationFailure',
    expirationTime: '2024-06-10T18:00:01.000Z',
    delayedRecipients: [
      {
        emailAddress: RECIPIENT,
        status: '4.4.1',
        diagnosticCode: 'smtp; 421 4.4.1 Unable to connect to remote host',
      },
    ],
  },
});

// Tests ---------------------------------------------------------------------------------------------------------

describe('reading SES sending events', () => {
  it('reads a Send event as SES accepting the message, with the SES message id', () => {
    expect(readSesEvent(SEND.detail, TAG)).toEqual({
      messageId: 'msg_x',
      feedback: { type: 'send', at: '2024-06-10T12:00:01.012Z', sesMessageId: SES_MESSAGE_ID },
      suppress: [],
      softBounced: [],
    });
  });

  it('reads a Delivery event with the time the receiving server accepted it', () => {
    expect(readSesEvent(DELIVERY.detail, TAG)).toEqual({
      messageId: 'msg_x',
      feedback: { type: 'delivery', at: '2024-06-10T12:00:03.133Z' },
      suppress: [],
      softBounced: [],
    });
  });

  it('reads a permanent bounce as a hard bounce that suppresses the recipient', () => {
    expect(readSesEvent(HARD_BOUNCE.detail, TAG)).toEqual({
      messageId: 'msg_x',
      feedback: {
        type: 'bounce',
        at: '2024-06-10T12:00:04.669Z',
        permanent: true,
        feedbackId: '0100018fe5a3e0b7-hard-000000',
        detail: 'Permanent: General: smtp; 550 5.1.1 user unknown',
      },
      suppress: [{ email: RECIPIENT, reason: 'bounce' }],
      softBounced: [],
    });
  });

  it('reads a transient bounce as a soft bounce that suppresses nobody', () => {
    expect(readSesEvent(SOFT_BOUNCE.detail, TAG)).toEqual({
      messageId: 'msg_x',
      feedback: {
        type: 'bounce',
        at: '2024-06-10T12:00:04.100Z',
        permanent: false,
        feedbackId: '0100018fe5a3e0b7-soft-000000',
        detail: 'Transient: MailboxFull: smtp; 452 4.2.2 Mailbox full',
      },
      suppress: [],
      softBounced: [RECIPIENT],
    });
  });

  it('does not suppress an address for a bounce SES could not classify', () => {
    const effects = readSesEvent(
      bounce({
        bounceType: 'Undetermined',
        bouncedRecipients: [{ emailAddress: RECIPIENT }],
        timestamp: '2024-06-10T12:00:04.000Z',
        feedbackId: 'fb-undetermined',
      }).detail,
      TAG,
    );

    expect(effects.suppress).toEqual([]);
    expect(effects.feedback).toMatchObject({ type: 'bounce', permanent: false, detail: 'Undetermined' });
  });

  it('normalizes bounced addresses SES reports with a display name or capitals', () => {
    const effects = readSesEvent(
      bounce({
        bounceType: 'Permanent',
        bounceSubType: 'NoEmail',
        bouncedRecipients: [
          { emailAddress: 'Jane Doe <Jane.Doe@Example.COM>' },
          { emailAddress: ' OTHER@example.com ' },
        ],
        timestamp: '2024-06-10T12:00:04.000Z',
        feedbackId: 'fb-2',
      }).detail,
      TAG,
    );

    expect(effects.suppress).toEqual([
      { email: 'jane.doe@example.com', reason: 'bounce' },
      { email: 'other@example.com', reason: 'bounce' },
    ]);
  });

  it('reads a complaint as suppressing the complaining recipient', () => {
    const effects = readSesEvent(complaint([{ emailAddress: RECIPIENT }]).detail, TAG);

    expect(effects).toEqual({
      messageId: 'msg_x',
      feedback: { type: 'complaint', at: '2024-06-10T13:00:00.000Z' },
      suppress: [{ email: RECIPIENT, reason: 'complaint' }],
      softBounced: [],
    });
  });

  it('suppresses the message’s recipients when a complaint names none', () => {
    const effects = readSesEvent(complaint([]).detail, TAG);

    expect(effects.suppress).toEqual([{ email: RECIPIENT, reason: 'complaint' }]);
  });

  it('reads a Reject event with SES’s reason', () => {
    expect(readSesEvent(REJECT.detail, TAG)).toEqual({
      messageId: 'msg_x',
      feedback: { type: 'reject', at: '2024-06-10T12:00:01.012Z', detail: 'Bad content' },
      suppress: [],
      softBounced: [],
    });
  });

  it('reads a Rendering Failure event with SES’s error message', () => {
    expect(readSesEvent(RENDERING_FAILURE.detail, TAG).feedback).toEqual({
      type: 'renderingFailure',
      at: '2024-06-10T12:00:01.012Z',
      detail: "Attribute 'attributeName' is not present in the rendering data.",
    });
  });

  it('reads a DeliveryDelay event with the time of the delay', () => {
    expect(readSesEvent(DELIVERY_DELAY.detail, TAG)).toEqual({
      messageId: 'msg_x',
      feedback: { type: 'deliveryDelay', at: '2024-06-10T12:10:00.000Z' },
      suppress: [],
      softBounced: [],
    });
  });

  it('has no message id for mail Nurture did not send, but still reports its suppressions', () => {
    const foreign = { ...HARD_BOUNCE.detail, mail: mail({ tags: { 'ses:configuration-set': ['nurture'] } }) };

    const effects = readSesEvent(foreign, TAG);

    expect(effects.messageId).toBeNull();
    expect(effects.suppress).toEqual([{ email: RECIPIENT, reason: 'bounce' }]);
  });

  it('refuses events it cannot read, so the handler can log and drop them', () => {
    const open = { eventType: 'Open', mail: mail(), open: { timestamp: '2024-06-10T12:30:00.000Z' } };

    expect(() => readSesEvent(open, TAG)).toThrow(UnreadableFeedbackError);
    expect(() => readSesEvent({ eventType: 'Bounce', mail: mail() }, TAG)).toThrow(UnreadableFeedbackError);
    expect(() => readSesEvent({ eventType: 'Send' }, TAG)).toThrow(UnreadableFeedbackError);
    expect(() => readSesEvent('not an event', TAG)).toThrow(UnreadableFeedbackError);
  });

  it('subscribes to exactly the detail-types it has a reading for', () => {
    const fixtures = [SEND, DELIVERY, HARD_BOUNCE, complaint([]), REJECT, RENDERING_FAILURE, DELIVERY_DELAY];

    expect(new Set(fixtures.map((event) => event['detail-type']))).toEqual(new Set(SES_DETAIL_TYPES));
  });
});

describe('SES events applied to a message', () => {
  function sendingMessage(): MessageRecord {
    const queued = newMessageRecord({
      messageId: 'msg_x',
      profileId: 'prof-1',
      templateId: 'welcome',
      templateVersion: null,
      idempotencyKey: 'k',
      origin: { journeyId: null, stepId: null, variant: null, campaign: null, run: null },
      toOverride: null,
      test: false,
      createdAt: '2024-06-10T12:00:00.000Z',
    });
    return recordIntent(queued, {
      at: '2024-06-10T12:00:00.500Z',
      recipientHash: 'hash',
      topic: 'marketing',
      templateVersion: 1,
      subject: 'Welcome, Jane',
    });
  }

  function applyAll(details: readonly unknown[]): {
    record: MessageRecord;
    counters: Record<string, number>;
  } {
    let record = sendingMessage();
    const counters: Record<string, number> = {};
    for (const detail of details) {
      const transition = applyFeedback(record, readSesEvent(detail, TAG).feedback);
      if (transition === null) continue;
      record = transition.record;
      for (const [name, value] of Object.entries(transition.counters))
        counters[name] = (counters[name] ?? 0) + (value ?? 0);
    }
    return { record, counters };
  }

  it('counts sent once and bounced once when the bounce arrives before the Send event, and repeats', () => {
    const { record, counters } = applyAll([HARD_BOUNCE.detail, SEND.detail, HARD_BOUNCE.detail, SEND.detail]);

    expect(record).toMatchObject({ status: 'bounced', sesMessageId: SES_MESSAGE_ID });
    expect(counters).toEqual({ sent: 1, bounced: 1 });
  });

  it('counts a delivery once when EventBridge delivers it twice', () => {
    const { record, counters } = applyAll([SEND.detail, DELIVERY.detail, DELIVERY.detail]);

    expect(record.status).toBe('delivered');
    expect(counters).toEqual({ sent: 1, delivered: 1 });
  });

  it('counts a repeated soft bounce once', () => {
    const { counters } = applyAll([SEND.detail, SOFT_BOUNCE.detail, SOFT_BOUNCE.detail]);

    expect(counters).toEqual({ sent: 1, softBounced: 1 });
  });

  it('ends complained when a complaint follows a delivery', () => {
    const { record, counters } = applyAll([
      SEND.detail,
      complaint([{ emailAddress: RECIPIENT }]).detail,
      DELIVERY.detail,
    ]);

    expect(record.status).toBe('complained');
    expect(counters).toEqual({ sent: 1, delivered: 1, complained: 1 });
  });
});
