// Messaging domain events from message changes: one event per first occurrence, never again on a replay.
import { describe, expect, it } from 'vitest';
import {
  MESSAGING_EVENTS,
  messageFromImage,
  messagingEventsFor,
} from '../../../functions/messaging/domain-events.ts';
import {
  applyEngagement,
  applyFeedback,
  applyUnsubscribe,
  type MessageRecord,
  newMessageRecord,
  recordAccepted,
  recordFailed,
  recordIntent,
  recordSkipped,
  type Transition,
} from '../../../functions/messaging/lifecycle.ts';

const CREATED = '2024-06-10T12:00:00.000Z';
const SENT = '2024-06-10T12:00:02.000Z';
const LATER = '2024-06-10T12:30:00.000Z';

function queued(test = false): MessageRecord {
  return newMessageRecord({
    messageId: 'msg_1',
    profileId: 'prof-1',
    templateId: 'welcome',
    templateVersion: null,
    idempotencyKey: 'onboarding:enr-1:welcome',
    origin: { journeyId: 'onboarding', stepId: 'welcome-email', variant: 'B', campaign: null, run: null },
    toOverride: null,
    test,
    createdAt: CREATED,
  });
}

function sending(test = false): MessageRecord {
  return recordIntent(queued(test), {
    at: CREATED,
    recipientHash: 'hash-1',
    topic: 'marketing',
    templateVersion: 1,
    subject: 'Welcome',
  });
}

function applied(transition: Transition): MessageRecord {
  if (transition === null) throw new Error('expected a change');
  return transition.record;
}

function sent(test = false): MessageRecord {
  return applied(recordAccepted(sending(test), { at: SENT, sesMessageId: 'ses-1' }));
}

const names = (before: MessageRecord | undefined, after: MessageRecord | undefined) =>
  messagingEventsFor(before, after).map((event) => event.detailType);

describe('messaging domain events', () => {
  it('publishes nothing for a message that was only queued or only had its intent recorded', () => {
    expect(names(undefined, queued())).toEqual([]);
    expect(names(queued(), sending())).toEqual([]);
  });

  it('publishes message.sent with the message, its journey step and variant when SES accepts it', () => {
    const events = messagingEventsFor(sending(), sent());

    expect(events).toEqual([
      {
        source: 'nurture.messaging',
        detailType: 'message.sent',
        detail: {
          dedupeKey: 'message.sent:msg_1',
          messageId: 'msg_1',
          profileId: 'prof-1',
          templateId: 'welcome',
          journeyId: 'onboarding',
          stepId: 'welcome-email',
          variant: 'B',
          topic: 'marketing',
          status: 'sent',
          reason: null,
          at: SENT,
          test: false,
        },
      },
    ]);
  });

  it('publishes nothing again when the Send event confirms an already sent message', () => {
    const before = applied(applyFeedback(sending(), { type: 'delivery', at: LATER }));
    const after = applied(applyFeedback(before, { type: 'send', at: SENT, sesMessageId: 'ses-1' }));

    expect(names(before, after)).toEqual([]);
  });

  it('publishes both message.sent and message.bounced when a bounce overtakes the Send event', () => {
    const after = applied(
      applyFeedback(sending(), {
        type: 'bounce',
        at: LATER,
        permanent: true,
        detail: 'Permanent: General',
        feedbackId: 'fb-1',
      }),
    );

    expect(names(sending(), after)).toEqual(['message.sent', 'message.bounced']);
  });

  it('publishes message.delivered on delivery, then only message.complained on a later complaint', () => {
    const delivered = applied(applyFeedback(sent(), { type: 'delivery', at: LATER }));
    const complained = applied(applyFeedback(delivered, { type: 'complaint', at: LATER }));

    expect(names(sent(), delivered)).toEqual(['message.delivered']);
    expect(names(delivered, complained)).toEqual(['message.complained']);
  });

  it('publishes the first open and the first click only, not every one', () => {
    const opened = applyEngagement(sent(), { kind: 'open', machine: false, at: LATER }).record;
    const reopened = applyEngagement(opened, { kind: 'open', machine: false, at: LATER }).record;
    const clicked = applyEngagement(reopened, { kind: 'click', machine: false, at: LATER }).record;
    const reclicked = applyEngagement(clicked, { kind: 'click', machine: false, at: LATER }).record;

    expect(names(sent(), opened)).toEqual(['message.opened', 'message.human_opened']);
    expect(names(opened, reopened)).toEqual([]);
    expect(names(reopened, clicked)).toEqual(['message.clicked']);
    expect(names(clicked, reclicked)).toEqual([]);
  });

  it('publishes message.human_opened on the first human open, after a machine open announced message.opened', () => {
    const scanned = applyEngagement(sent(), { kind: 'open', machine: true, at: LATER }).record;
    const read = applyEngagement(scanned, { kind: 'open', machine: false, at: LATER }).record;
    const reread = applyEngagement(read, { kind: 'open', machine: false, at: LATER }).record;

    expect(names(sent(), scanned)).toEqual(['message.opened']);
    expect(names(scanned, read)).toEqual(['message.human_opened']);
    expect(names(read, reread)).toEqual([]);
  });

  it('publishes message.soft_bounced on the first soft bounce of a message only', () => {
    const softBounce = (feedbackId: string) =>
      ({
        type: 'bounce',
        at: LATER,
        permanent: false,
        detail: 'Transient: MailboxFull',
        feedbackId,
      }) as const;
    const once = applied(applyFeedback(sent(), softBounce('fb-1')));
    const twice = applied(applyFeedback(once, softBounce('fb-2')));

    expect(names(sent(), once)).toEqual(['message.soft_bounced']);
    expect(names(once, twice)).toEqual([]);
  });

  it('publishes contact.unsubscribed once', () => {
    const unsubscribed = applied(applyUnsubscribe(sent(), LATER));

    expect(names(sent(), unsubscribed)).toEqual(['contact.unsubscribed']);
    expect(names(unsubscribed, unsubscribed)).toEqual([]);
  });

  it('publishes message.skipped with the reason when a message is skipped', () => {
    const skipped = applied(recordSkipped(queued(), { at: LATER, reason: 'unsubscribed', detail: 'gone' }));

    const [event, ...rest] = messagingEventsFor(queued(), skipped);

    expect(rest).toEqual([]);
    expect(event).toMatchObject({
      detailType: 'message.skipped',
      detail: { status: 'skipped', reason: 'unsubscribed', at: LATER, topic: null },
    });
  });

  it('publishes message.failed with the SES error code when a message fails', () => {
    const failed = applied(recordFailed(sending(), { at: LATER, reason: 'MessageRejected', detail: 'no' }));

    expect(messagingEventsFor(sending(), failed)).toMatchObject([
      { detailType: 'message.failed', detail: { reason: 'MessageRejected', at: LATER } },
    ]);
  });

  it('publishes nothing when a message item is deleted', () => {
    expect(names(sent(), undefined)).toEqual([]);
  });

  it('marks events from test sends so consumers can ignore them', () => {
    expect(messagingEventsFor(sending(true), sent(true))[0]?.detail.test).toBe(true);
  });

  it('gives a re-published change the same dedupe key', () => {
    const first = messagingEventsFor(sending(), sent());
    const again = messagingEventsFor(sending(), sent());

    expect(again.map((e) => e.detail.dedupeKey)).toEqual(first.map((e) => e.detail.dedupeKey));
  });

  it('emits only events from the catalogue, with details their schemas accept', () => {
    const unsubscribed = applied(applyUnsubscribe(sent(), LATER));
    const everything = applyEngagement(
      applyEngagement(unsubscribed, { kind: 'open', machine: false, at: LATER }).record,
      { kind: 'click', machine: true, at: LATER },
    ).record;
    const events = [
      ...messagingEventsFor(undefined, everything),
      ...messagingEventsFor(
        queued(),
        applied(recordSkipped(queued(), { at: LATER, reason: 'frequency-cap', detail: 'x' })),
      ),
    ];

    expect(events.length).toBeGreaterThan(4);
    for (const event of events) {
      const definition = MESSAGING_EVENTS.find((d) => d.detailType === event.detailType);
      expect(definition?.source).toBe(event.source);
      expect(definition?.detail.parse(event.detail)).toEqual(event.detail);
    }
  });
});

describe('stream images', () => {
  it('reads back the message record a stream image holds', () => {
    const record = sent();

    expect(messageFromImage(JSON.stringify(record))).toEqual(record);
    expect(messageFromImage(undefined)).toBeUndefined();
  });

  it('refuses an image that is not a message record', () => {
    expect(() => messageFromImage(JSON.stringify({ status: 'sent' }))).toThrow();
  });
});
