// A message's lifecycle: which transitions happen, and that every statistic is counted exactly once per message.
import { describe, expect, it } from 'vitest';
import {
  applyEngagement,
  applyFeedback,
  applyUnsubscribe,
  type CounterDelta,
  isSettled,
  type MessageRecord,
  newMessageRecord,
  recordAccepted,
  recordFailed,
  recordIntent,
  recordSkipped,
  releaseIntent,
  type SesFeedback,
  type Transition,
} from '../../../functions/messaging/lifecycle.ts';
import type { MessageRequest, MessageStatus } from '../../../functions/messaging/model.ts';

// Fixtures ------------------------------------------------------------------------------------------------------

const CREATED = '2024-06-10T12:00:00.000Z';
const INTENT = '2024-06-10T12:00:05.000Z';
const SENT = '2024-06-10T12:00:06.000Z';
const LATER = '2024-06-10T12:01:00.000Z';

function request(overrides: Partial<MessageRequest> = {}): MessageRequest {
  return {
    messageId: 'msg_welcome_1',
    profileId: 'prof-1',
    templateId: 'welcome',
    templateVersion: null,
    idempotencyKey: 'journey-1:step-1:prof-1',
    origin: { journeyId: 'journey-1', stepId: 'step-1', variant: 'A', campaign: null, run: null },
    toOverride: null,
    test: false,
    createdAt: CREATED,
    ...overrides,
  };
}

function queued(overrides: Partial<MessageRequest> = {}): MessageRecord {
  return newMessageRecord(request(overrides));
}

/** A message whose intent is recorded: the sender is about to call SES. */
function sending(overrides: Partial<MessageRequest> = {}): MessageRecord {
  return recordIntent(queued(overrides), {
    at: INTENT,
    recipientHash: 'hash-1',
    topic: 'marketing',
    templateVersion: 3,
    subject: 'Welcome aboard',
  });
}

function sent(overrides: Partial<MessageRequest> = {}): MessageRecord {
  return applied(recordAccepted(sending(overrides), { at: SENT, sesMessageId: 'ses-1' }));
}

function applied(transition: Transition): MessageRecord {
  if (transition === null) throw new Error('expected the transition to change the record');
  return transition.record;
}

const send = (at = SENT): SesFeedback => ({ type: 'send', at, sesMessageId: 'ses-1' });
const delivery = (at = LATER): SesFeedback => ({ type: 'delivery', at });
const hardBounce = (at = LATER): SesFeedback => ({
  type: 'bounce',
  at,
  permanent: true,
  detail: 'Permanent: General: smtp; 550 5.1.1 user unknown',
  feedbackId: 'fb-hard',
});
const softBounce = (feedbackId: string): SesFeedback => ({
  type: 'bounce',
  at: LATER,
  permanent: false,
  detail: 'Transient: MailboxFull',
  feedbackId,
});
const complaint = (at = LATER): SesFeedback => ({ type: 'complaint', at });
const delay = (at = LATER): SesFeedback => ({ type: 'deliveryDelay', at });

/** Applies feedback events in order, as the feedback function does, and sums what they counted. */
function feed(
  start: MessageRecord,
  events: readonly SesFeedback[],
): { record: MessageRecord; counters: CounterDelta } {
  let record = start;
  const counters: Record<string, number> = {};
  for (const event of events) {
    const transition = applyFeedback(record, event);
    if (transition === null) continue;
    record = transition.record;
    for (const [name, value] of Object.entries(transition.counters))
      counters[name] = (counters[name] ?? 0) + (value ?? 0);
  }
  return { record, counters };
}

/** Deterministic pseudo-random numbers in [0, 1) (mulberry32), so a failing run can be replayed from its seed. */
function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// Sending -------------------------------------------------------------------------------------------------------

describe('a new message', () => {
  it('starts queued at version 1 with its creation in the history', () => {
    const record = queued();

    expect(record).toMatchObject({ status: 'queued', version: 1, attempt: 0, intentAt: null });
    expect(record.history).toEqual([{ at: CREATED, status: 'queued', note: null }]);
    expect(isSettled(record)).toBe(false);
  });
});

describe('the send intent', () => {
  it('records the attempt, recipient, topic, template version and subject before SES is called', () => {
    const record = sending();

    expect(record).toMatchObject({
      status: 'sending',
      attempt: 1,
      intentAt: INTENT,
      recipientHash: 'hash-1',
      topic: 'marketing',
      templateVersion: 3,
      subject: 'Welcome aboard',
      version: 2,
    });
    expect(record.history.at(-1)).toEqual({ at: INTENT, status: 'sending', note: 'attempt 1' });
  });

  it('is released back to the queue when SES throttles, so the message is retried and not lost', () => {
    const released = applied(releaseIntent(sending(), { at: LATER, note: 'TooManyRequestsException' }));

    expect(released).toMatchObject({ status: 'queued', intentAt: null, attempt: 1, version: 3 });
    expect(released.history.at(-1)).toEqual({
      at: LATER,
      status: 'queued',
      note: 'TooManyRequestsException',
    });
  });

  it('cannot be released once SES accepted the message', () => {
    expect(releaseIntent(sent(), { at: LATER, note: 'late throttle' })).toBeNull();
  });

  it('counts the next attempt after a released intent', () => {
    const released = applied(releaseIntent(sending(), { at: LATER, note: 'throttled' }));

    const retried = recordIntent(released, {
      at: LATER,
      recipientHash: 'hash-1',
      topic: 'marketing',
      templateVersion: 3,
      subject: 'Welcome aboard',
    });

    expect(retried).toMatchObject({ status: 'sending', attempt: 2 });
  });
});

describe('SES accepting a message', () => {
  it('marks the message sent with the SES message id and counts it as sent', () => {
    const transition = recordAccepted(sending(), { at: SENT, sesMessageId: 'ses-1' });

    expect(transition?.record).toMatchObject({ status: 'sent', sesMessageId: 'ses-1', sentAt: SENT });
    expect(transition?.counters).toEqual({ sent: 1 });
    expect(isSettled(applied(transition))).toBe(true);
  });

  it('changes nothing when the Send event confirms what the SendEmail answer already recorded', () => {
    expect(recordAccepted(sent(), { at: LATER, sesMessageId: 'ses-1' })).toBeNull();
  });

  it('only fills in the SES id when the Send event arrives after an outcome, counting nothing', () => {
    const bounced = applied(applyFeedback(sending(), hardBounce()));

    const transition = recordAccepted(bounced, { at: LATER, sesMessageId: 'ses-1' });

    expect(transition?.record).toMatchObject({ status: 'bounced', sesMessageId: 'ses-1' });
    expect(transition?.counters).toEqual({});
  });

  it('does not turn a skipped message into a sent one', () => {
    const skipped = applied(recordSkipped(queued(), { at: LATER, reason: 'unsubscribed', detail: 'gone' }));

    expect(recordAccepted(skipped, { at: LATER, sesMessageId: 'ses-1' })).toBeNull();
  });

  it('does not count a test send in the statistics', () => {
    const transition = recordAccepted(sending({ test: true }), { at: SENT, sesMessageId: 'ses-1' });

    expect(transition?.record.status).toBe('sent');
    expect(transition?.counters).toEqual({});
  });
});

describe('messages that are not sent', () => {
  it('records a skip with its reason and detail and counts it once', () => {
    const transition = recordSkipped(queued(), {
      at: LATER,
      reason: 'unsubscribed',
      detail: 'The recipient unsubscribed from marketing email.',
    });

    expect(transition?.record).toMatchObject({
      status: 'skipped',
      reason: 'unsubscribed',
      detail: 'The recipient unsubscribed from marketing email.',
    });
    expect(transition?.counters).toEqual({ skipped: 1 });
    expect(recordSkipped(applied(transition), { at: LATER, reason: 'unsubscribed', detail: 'x' })).toBeNull();
  });

  it('records a permanent failure with the SES error code and clears the intent', () => {
    const transition = recordFailed(sending(), {
      at: LATER,
      reason: 'MessageRejected',
      detail: 'Email address is not verified.',
    });

    expect(transition?.record).toMatchObject({ status: 'failed', reason: 'MessageRejected', intentAt: null });
    expect(transition?.counters).toEqual({ failed: 1 });
  });

  it('never skips or fails a message SES already accepted', () => {
    expect(recordSkipped(sent(), { at: LATER, reason: 'frequency-cap', detail: 'x' })).toBeNull();
    expect(recordFailed(sent(), { at: LATER, reason: 'MessageRejected', detail: 'x' })).toBeNull();
  });

  it('does not count skipped or failed test sends', () => {
    const skipped = recordSkipped(queued({ test: true }), { at: LATER, reason: 'unsubscribed', detail: 'x' });
    const failed = recordFailed(sending({ test: true }), { at: LATER, reason: 'render-failed', detail: 'x' });

    expect(skipped?.counters).toEqual({});
    expect(failed?.counters).toEqual({});
  });
});

// Feedback ------------------------------------------------------------------------------------------------------

describe('SES feedback', () => {
  it('counts a bounce that overtakes the Send event as sent once and bounced once', () => {
    const { record, counters } = feed(sending(), [hardBounce(), send()]);

    expect(record).toMatchObject({ status: 'bounced', sesMessageId: 'ses-1', reason: 'bounce' });
    expect(record.sentAt).not.toBeNull();
    expect(counters).toEqual({ sent: 1, bounced: 1 });
  });

  it('counts a delivery that overtakes the Send event as sent and delivered', () => {
    const { record, counters } = feed(sending(), [delivery(), send()]);

    expect(record).toMatchObject({ status: 'delivered', deliveredAt: LATER, sesMessageId: 'ses-1' });
    expect(counters).toEqual({ sent: 1, delivered: 1 });
  });

  it('counts a duplicated delivery event once', () => {
    const { record, counters } = feed(sent(), [delivery(), delivery(), delivery('2024-06-10T12:02:00.000Z')]);

    expect(record.deliveredAt).toBe(LATER);
    expect(counters).toEqual({ delivered: 1 });
  });

  it('counts a soft bounce once per feedback id, however often SES repeats it', () => {
    const { record, counters } = feed(sent(), [
      softBounce('fb-1'),
      softBounce('fb-1'),
      softBounce('fb-2'),
      softBounce('fb-1'),
    ]);

    expect(record).toMatchObject({ status: 'sent', softBounces: 2, softBounceIds: ['fb-1', 'fb-2'] });
    expect(counters).toEqual({ softBounced: 2 });
  });

  it('counts a repeated hard bounce once and keeps its diagnostic as the detail', () => {
    const { record, counters } = feed(sent(), [hardBounce(), hardBounce('2024-06-10T12:05:00.000Z')]);

    expect(record).toMatchObject({
      status: 'bounced',
      bouncedAt: LATER,
      detail: 'Permanent: General: smtp; 550 5.1.1 user unknown',
    });
    expect(counters).toEqual({ bounced: 1 });
  });

  it('lets a complaint outrank a delivery whichever arrives first', () => {
    const deliveredFirst = feed(sent(), [delivery(), complaint()]);
    const complainedFirst = feed(sent(), [complaint(), delivery()]);

    for (const { record, counters } of [deliveredFirst, complainedFirst]) {
      expect(record).toMatchObject({ status: 'complained', reason: 'complaint', deliveredAt: LATER });
      expect(counters).toEqual({ delivered: 1, complained: 1 });
    }
  });

  it('shows a delivery delay only until the message is delivered', () => {
    const delayed = feed(sent(), [delay()]);
    const deliveredAfterDelay = feed(sent(), [delay(), delivery()]);
    const delayAfterDelivery = feed(sent(), [delivery(), delay()]);

    expect(delayed.record.status).toBe('delayed');
    expect(delayed.counters).toEqual({});
    expect(deliveredAfterDelay.record.status).toBe('delivered');
    expect(delayAfterDelivery.record.status).toBe('delivered');
  });

  it('records a rejection by SES with its reason and counts it once', () => {
    const { record, counters } = feed(sent(), [
      { type: 'reject', at: LATER, detail: 'Bad content' },
      { type: 'reject', at: LATER, detail: 'Bad content' },
    ]);

    expect(record).toMatchObject({ status: 'rejected', reason: 'rejected', detail: 'Bad content' });
    expect(counters).toEqual({ rejected: 1 });
  });

  it('records a rendering failure as a failed message', () => {
    const { record, counters } = feed(sent(), [
      { type: 'renderingFailure', at: LATER, detail: "Attribute 'name' is not present" },
    ]);

    expect(record).toMatchObject({ status: 'failed', reason: 'rendering-failure' });
    expect(counters).toEqual({ failed: 1 });
  });

  it('counts a delivery of an earlier attempt as sent when a later attempt was throttled', () => {
    // Attempt 1 was accepted but its answer was lost; after the grace period attempt 2 was throttled and released.
    const released = applied(releaseIntent(sending(), { at: LATER, note: 'TooManyRequestsException' }));

    const { record, counters } = feed(released, [delivery()]);

    expect(record).toMatchObject({ status: 'delivered', deliveredAt: LATER });
    expect(record.sentAt).not.toBeNull();
    expect(counters).toEqual({ sent: 1, delivered: 1 });
  });

  it('keeps test sends out of the feedback statistics', () => {
    const { record, counters } = feed(sending({ test: true }), [delivery(), complaint(), softBounce('fb-1')]);

    expect(record.status).toBe('complained');
    expect(counters).toEqual({});
  });

  it('counts every statistic at most once for any order and repetition of realistic feedback', () => {
    const random = seededRandom(20240610);
    for (let run = 0; run < 300; run += 1) {
      // What SES said about one message: a Send event, then some outcomes, each possibly repeated.
      const pool: SesFeedback[] = [send()];
      if (random() < 0.6) pool.push(delivery());
      if (random() < 0.3) pool.push(hardBounce());
      if (random() < 0.3) pool.push(complaint());
      if (random() < 0.3) pool.push(delay());
      const softIds = ['fb-a', 'fb-b', 'fb-c'].filter(() => random() < 0.3);
      for (const id of softIds) pool.push(softBounce(id));
      const events = pool.flatMap((event) => (random() < 0.4 ? [event, event] : [event]));
      for (let i = events.length - 1; i > 0; i -= 1) {
        const j = Math.floor(random() * (i + 1));
        [events[i], events[j]] = [events[j] as SesFeedback, events[i] as SesFeedback];
      }
      const start = random() < 0.5 ? sending() : sent();
      const startedSent = start.status === 'sent';

      const { record, counters } = feed(start, events);

      const has = (type: SesFeedback['type']) => pool.some((event) => event.type === type);
      const hardBounced = pool.some((event) => event.type === 'bounce' && event.permanent);
      const context = `run ${run}: ${JSON.stringify(events.map((e) => e.type))}`;
      expect(counters.sent ?? 0, context).toBe(startedSent ? 0 : 1);
      expect(counters.delivered ?? 0, context).toBe(has('delivery') ? 1 : 0);
      expect(counters.bounced ?? 0, context).toBe(hardBounced ? 1 : 0);
      expect(counters.complained ?? 0, context).toBe(has('complaint') ? 1 : 0);
      expect(counters.softBounced ?? 0, context).toBe(softIds.length);
      // The final status is the strongest outcome SES reported, whatever the order of arrival.
      const outcomes: Array<[MessageStatus, boolean]> = [
        ['complained', has('complaint')],
        ['bounced', hardBounced],
        ['delivered', has('delivery')],
        ['delayed', has('deliveryDelay')],
      ];
      expect(record.status, context).toBe(outcomes.find(([, happened]) => happened)?.[0] ?? 'sent');
      expect(record.sesMessageId, context).toBe('ses-1');
    }
  });
});

// Engagement ----------------------------------------------------------------------------------------------------

describe('opens and clicks', () => {
  it('counts the first human open as opened and human-opened, later opens only as opens', () => {
    const first = applyEngagement(sent(), { kind: 'open', machine: false, at: LATER });
    const second = applyEngagement(first.record, { kind: 'open', machine: false, at: LATER });

    expect(first.counters).toEqual({ opens: 1, opened: 1, humanOpened: 1 });
    expect(first.record).toMatchObject({ opens: 1, firstOpenedAt: LATER, firstHumanOpenAt: LATER });
    expect(second.counters).toEqual({ opens: 1 });
    expect(second.record.opens).toBe(2);
  });

  it('counts a machine open apart and not as a human open', () => {
    const machine = applyEngagement(sent(), { kind: 'open', machine: true, at: LATER });
    const human = applyEngagement(machine.record, { kind: 'open', machine: false, at: LATER });

    expect(machine.counters).toEqual({ opens: 1, opened: 1, machineOpens: 1 });
    expect(machine.record.firstHumanOpenAt).toBeNull();
    expect(human.counters).toEqual({ opens: 1, humanOpened: 1 });
  });

  it('treats a human click as proof of an open and a human open when the pixel was blocked', () => {
    const { record, counters } = applyEngagement(sent(), { kind: 'click', machine: false, at: LATER });

    expect(counters).toEqual({ clicks: 1, clicked: 1, humanClicked: 1, humanOpened: 1, opened: 1 });
    expect(record).toMatchObject({
      clicks: 1,
      firstClickedAt: LATER,
      firstHumanOpenAt: LATER,
      firstOpenedAt: LATER,
      opens: 0,
    });
  });

  it('counts a scanner click apart and not as a human click', () => {
    const { record, counters } = applyEngagement(sent(), { kind: 'click', machine: true, at: LATER });

    expect(counters).toEqual({ clicks: 1, clicked: 1, machineClicks: 1 });
    expect(record.firstHumanClickAt).toBeNull();
  });

  it('does not count engagement with a test send', () => {
    const { record, counters } = applyEngagement(sent({ test: true }), {
      kind: 'click',
      machine: false,
      at: LATER,
    });

    expect(record.clicks).toBe(1);
    expect(counters).toEqual({});
  });
});

describe('unsubscribes', () => {
  it('records the first unsubscribe from a message and counts it once', () => {
    const first = applyUnsubscribe(sent(), LATER);

    expect(first?.record.unsubscribedAt).toBe(LATER);
    expect(first?.counters).toEqual({ unsubscribed: 1 });
    expect(applyUnsubscribe(applied(first), '2024-06-10T13:00:00.000Z')).toBeNull();
  });
});

describe('the history', () => {
  it('keeps the latest 20 status changes so a record never grows without bound', () => {
    let record = queued();
    for (let attempt = 1; attempt <= 15; attempt += 1) {
      record = recordIntent(record, {
        at: `2024-06-10T12:${String(attempt).padStart(2, '0')}:00.000Z`,
        recipientHash: 'hash-1',
        topic: 'marketing',
        templateVersion: 1,
        subject: 'Hi',
      });
      record = applied(releaseIntent(record, { at: LATER, note: 'throttled' }));
    }

    expect(record.history).toHaveLength(20);
    expect(record.history.at(-1)).toEqual({ at: LATER, status: 'queued', note: 'throttled' });
    expect(record.version).toBe(31);
  });
});
