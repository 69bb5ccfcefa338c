// A message's lifecycle as pure transitions: send intent, SES outcome, feedback events and engagement, with the
// statistics each transition adds exactly once.
import * as z from 'zod';
import { MESSAGE_STATUSES, type MessageRequest, type MessageStatus, TOPICS } from './model.ts';

const origin = z.object({
  journeyId: z.string().nullable(),
  stepId: z.string().nullable(),
  variant: z.string().nullable(),
  campaign: z.string().nullable(),
  /** The journey run that sent it; records stored before journeys existed have none. */
  run: z.number().int().nullable().default(null),
});

export const messageRequestSchema = z.object({
  messageId: z.string(),
  profileId: z.string(),
  templateId: z.string(),
  templateVersion: z.number().int().nullable(),
  idempotencyKey: z.string(),
  origin,
  toOverride: z.string().nullable(),
  test: z.boolean(),
  createdAt: z.string(),
});

const historyEntry = z.object({
  at: z.string(),
  status: z.enum(MESSAGE_STATUSES),
  note: z.string().nullable(),
});

export const messageRecordSchema = z.object({
  request: messageRequestSchema,
  status: z.enum(MESSAGE_STATUSES),
  /** Why the message was skipped or failed: a SkipReason, or an SES error name for failures. */
  reason: z.string().nullable(),
  detail: z.string().nullable(),
  /** Send attempts that recorded an intent; the intent of attempt n is resolved before attempt n+1 starts. */
  attempt: z.number().int(),
  intentAt: z.string().nullable(),
  sesMessageId: z.string().nullable(),
  recipientHash: z.string().nullable(),
  topic: z.enum(TOPICS).nullable(),
  templateVersion: z.number().int().nullable(),
  subject: z.string().nullable(),
  sentAt: z.string().nullable(),
  deliveredAt: z.string().nullable(),
  bouncedAt: z.string().nullable(),
  complainedAt: z.string().nullable(),
  firstOpenedAt: z.string().nullable(),
  firstHumanOpenAt: z.string().nullable(),
  firstClickedAt: z.string().nullable(),
  firstHumanClickAt: z.string().nullable(),
  unsubscribedAt: z.string().nullable(),
  opens: z.number().int(),
  clicks: z.number().int(),
  softBounces: z.number().int(),
  /** Soft-bounce feedback ids already counted: SES events can arrive more than once. */
  softBounceIds: z.array(z.string()).default([]),
  history: z.array(historyEntry),
  updatedAt: z.string(),
  version: z.number().int(),
});
export type MessageRecord = z.infer<typeof messageRecordSchema>;

/** Statistics kept per template, journey, step and variant. */
export const MESSAGE_COUNTERS = [
  'queued',
  'sent',
  'skipped',
  'failed',
  'delivered',
  'bounced',
  'softBounced',
  'complained',
  'rejected',
  'opens',
  'opened',
  'humanOpened',
  'machineOpens',
  'clicks',
  'clicked',
  'humanClicked',
  'machineClicks',
  'unsubscribed',
] as const;
export type MessageCounter = (typeof MESSAGE_COUNTERS)[number];
export type CounterDelta = Partial<Record<MessageCounter, number>>;

/** A new record and what to add to the statistics; `null` when the input changes nothing (a replay). */
export type Transition = { readonly record: MessageRecord; readonly counters: CounterDelta } | null;

const TERMINAL: ReadonlySet<MessageStatus> = new Set([
  'sent',
  'delivered',
  'delayed',
  'bounced',
  'complained',
  'rejected',
  'skipped',
  'failed',
]);

/** Whether the sender is done with a message: SES accepted it, or it was skipped or failed for good. */
export function isSettled(record: MessageRecord): boolean {
  return TERMINAL.has(record.status);
}

const HISTORY_LIMIT = 20;

function advance(
  record: MessageRecord,
  changes: Partial<MessageRecord>,
  at: string,
  note: string | null = null,
): MessageRecord {
  const next = { ...record, ...changes, updatedAt: at, version: record.version + 1 };
  if (changes.status !== undefined && changes.status !== record.status)
    next.history = [...record.history, { at, status: changes.status, note }].slice(-HISTORY_LIMIT);
  return next;
}

export function newMessageRecord(request: MessageRequest): MessageRecord {
  return {
    request,
    status: 'queued',
    reason: null,
    detail: null,
    attempt: 0,
    intentAt: null,
    sesMessageId: null,
    recipientHash: null,
    topic: null,
    templateVersion: request.templateVersion,
    subject: null,
    sentAt: null,
    deliveredAt: null,
    bouncedAt: null,
    complainedAt: null,
    firstOpenedAt: null,
    firstHumanOpenAt: null,
    firstClickedAt: null,
    firstHumanClickAt: null,
    unsubscribedAt: null,
    opens: 0,
    clicks: 0,
    softBounces: 0,
    softBounceIds: [],
    history: [{ at: request.createdAt, status: 'queued', note: null }],
    updatedAt: request.createdAt,
    version: 1,
  };
}

/** The sender is about to call SES: recorded first, so a crash after SES accepted can be recognised. */
export function recordIntent(
  record: MessageRecord,
  input: {
    at: string;
    recipientHash: string;
    topic: MessageRecord['topic'];
    templateVersion: number;
    subject: string;
  },
): MessageRecord {
  return advance(
    record,
    {
      status: 'sending',
      attempt: record.attempt + 1,
      intentAt: input.at,
      recipientHash: input.recipientHash,
      topic: input.topic,
      templateVersion: input.templateVersion,
      subject: input.subject,
    },
    input.at,
    `attempt ${record.attempt + 1}`,
  );
}

/** SES refused with a retryable error (throttling): the intent is void, the message waits in the queue. */
export function releaseIntent(record: MessageRecord, input: { at: string; note: string }): Transition {
  if (record.status !== 'sending') return null;
  return {
    record: advance(record, { status: 'queued', intentAt: null }, input.at, input.note),
    counters: {},
  };
}

/**
 * Whether an attempt may have been accepted by SES without the message knowing yet: one is in flight, or an earlier
 * one lost its answer and a later one was throttled (back to `queued`) or failed. Only an accepted SendEmail
 * produces SES events, so any event for such a message means it went out.
 */
function awaitsConfirmation(record: MessageRecord): boolean {
  if (record.status === 'sending') return true;
  return (
    record.attempt > 0 && record.sentAt === null && (record.status === 'queued' || record.status === 'failed')
  );
}

/**
 * SES accepted the message: from the SendEmail answer, or from SES's own Send event when the answer was lost.
 * Either may come first; the other then only fills in what is missing.
 */
export function recordAccepted(
  record: MessageRecord,
  input: { at: string; sesMessageId: string },
): Transition {
  if (awaitsConfirmation(record)) {
    return {
      record: advance(
        record,
        { status: 'sent', sesMessageId: input.sesMessageId, sentAt: input.at, intentAt: null },
        input.at,
      ),
      counters: record.request.test ? {} : { sent: 1 },
    };
  }
  if (record.sesMessageId === null && isSettled(record) && record.status !== 'skipped')
    return { record: advance(record, { sesMessageId: input.sesMessageId }, input.at), counters: {} };
  return null;
}

/** A message that will not go out (skipped by a check, or failed for good), with its reason. */
function settleUnsent(
  record: MessageRecord,
  status: 'skipped' | 'failed',
  input: { at: string; reason: string; detail: string },
): Transition {
  if (isSettled(record)) return null;
  return {
    record: advance(
      record,
      { status, reason: input.reason, detail: input.detail, intentAt: null },
      input.at,
      input.reason,
    ),
    counters: record.request.test ? {} : { [status]: 1 },
  };
}

export function recordSkipped(
  record: MessageRecord,
  input: { at: string; reason: string; detail: string },
): Transition {
  return settleUnsent(record, 'skipped', input);
}

export function recordFailed(
  record: MessageRecord,
  input: { at: string; reason: string; detail: string },
): Transition {
  return settleUnsent(record, 'failed', input);
}

/** SES sending events, as the feedback function reads them. */
export type SesFeedback =
  | { readonly type: 'send'; readonly at: string; readonly sesMessageId: string }
  | { readonly type: 'delivery'; readonly at: string }
  | { readonly type: 'deliveryDelay'; readonly at: string }
  | {
      readonly type: 'bounce';
      readonly at: string;
      readonly permanent: boolean;
      readonly detail: string;
      readonly feedbackId: string;
    }
  | { readonly type: 'complaint'; readonly at: string }
  | { readonly type: 'reject'; readonly at: string; readonly detail: string }
  | { readonly type: 'renderingFailure'; readonly at: string; readonly detail: string };

/** Later outcomes outrank earlier ones; events arrive in any order and more than once. */
const RANK: Record<MessageStatus, number> = {
  queued: 0,
  sending: 1,
  sent: 2,
  delayed: 3,
  delivered: 4,
  rejected: 5,
  failed: 5,
  skipped: 5,
  bounced: 6,
  complained: 7,
};

function promote(current: MessageStatus, candidate: MessageStatus): MessageStatus {
  return RANK[candidate] > RANK[current] ? candidate : current;
}

export function applyFeedback(record: MessageRecord, feedback: SesFeedback): Transition {
  if (feedback.type === 'send')
    return recordAccepted(record, { at: feedback.at, sesMessageId: feedback.sesMessageId });
  // An outcome can overtake both SES's answer and its Send event: it proves the message was accepted.
  if (awaitsConfirmation(record)) {
    const accepted = advance(record, { status: 'sent', sentAt: feedback.at }, feedback.at);
    const outcome = applyFeedback(accepted, feedback);
    const counters = record.request.test ? {} : { sent: 1 };
    return outcome === null
      ? { record: accepted, counters }
      : { record: outcome.record, counters: { ...outcome.counters, ...counters } };
  }
  const counted = (delta: CounterDelta): CounterDelta => (record.request.test ? {} : delta);
  switch (feedback.type) {
    case 'delivery':
      if (record.deliveredAt !== null) return null;
      return {
        record: advance(
          record,
          { deliveredAt: feedback.at, status: promote(record.status, 'delivered') },
          feedback.at,
        ),
        counters: counted({ delivered: 1 }),
      };
    case 'deliveryDelay':
      if (record.status !== 'sent') return null;
      return { record: advance(record, { status: 'delayed' }, feedback.at), counters: {} };
    case 'bounce':
      if (!feedback.permanent) {
        if (record.softBounceIds.includes(feedback.feedbackId)) return null;
        return {
          record: advance(
            record,
            {
              softBounces: record.softBounces + 1,
              softBounceIds: [...record.softBounceIds, feedback.feedbackId].slice(-HISTORY_LIMIT),
            },
            feedback.at,
          ),
          counters: counted({ softBounced: 1 }),
        };
      }
      if (record.bouncedAt !== null) return null;
      return {
        record: advance(
          record,
          {
            bouncedAt: feedback.at,
            status: promote(record.status, 'bounced'),
            reason: 'bounce',
            detail: feedback.detail,
          },
          feedback.at,
          'hard bounce',
        ),
        counters: counted({ bounced: 1 }),
      };
    case 'complaint':
      if (record.complainedAt !== null) return null;
      return {
        record: advance(
          record,
          { complainedAt: feedback.at, status: promote(record.status, 'complained'), reason: 'complaint' },
          feedback.at,
          'complaint',
        ),
        counters: counted({ complained: 1 }),
      };
    case 'reject':
    case 'renderingFailure': {
      if (record.status === 'rejected' || record.status === 'failed') return null;
      const status = feedback.type === 'reject' ? 'rejected' : 'failed';
      return {
        record: advance(
          record,
          {
            status,
            reason: feedback.type === 'reject' ? 'rejected' : 'rendering-failure',
            detail: feedback.detail,
          },
          feedback.at,
          feedback.type,
        ),
        counters: counted(feedback.type === 'reject' ? { rejected: 1 } : { failed: 1 }),
      };
    }
  }
}

/** An open or click from the tracked links; machine activity is counted apart so KPIs can exclude it. */
export function applyEngagement(
  record: MessageRecord,
  input: { kind: 'open' | 'click'; machine: boolean; at: string },
): { record: MessageRecord; counters: CounterDelta } {
  const counters: CounterDelta = {};
  const changes: Partial<MessageRecord> = {};
  if (input.kind === 'open') {
    changes.opens = record.opens + 1;
    counters.opens = 1;
    if (record.firstOpenedAt === null) {
      changes.firstOpenedAt = input.at;
      counters.opened = 1;
    }
    if (input.machine) counters.machineOpens = 1;
    else if (record.firstHumanOpenAt === null) {
      changes.firstHumanOpenAt = input.at;
      counters.humanOpened = 1;
    }
  } else {
    changes.clicks = record.clicks + 1;
    counters.clicks = 1;
    if (record.firstClickedAt === null) {
      changes.firstClickedAt = input.at;
      counters.clicked = 1;
    }
    if (input.machine) counters.machineClicks = 1;
    else if (record.firstHumanClickAt === null) {
      changes.firstHumanClickAt = input.at;
      counters.humanClicked = 1;
      // A human click proves a human open even when the open pixel was blocked or proxied; and an open, so human
      // opens stay a subset of opens (KPIS.md).
      if (record.firstHumanOpenAt === null) {
        changes.firstHumanOpenAt = input.at;
        counters.humanOpened = 1;
      }
      if (record.firstOpenedAt === null) {
        changes.firstOpenedAt = input.at;
        counters.opened = 1;
      }
    }
  }
  return { record: advance(record, changes, input.at), counters: record.request.test ? {} : counters };
}

export function applyUnsubscribe(record: MessageRecord, at: string): Transition {
  if (record.unsubscribedAt !== null) return null;
  return {
    record: advance(record, { unsubscribedAt: at }, at),
    counters: record.request.test ? {} : { unsubscribed: 1 },
  };
}
