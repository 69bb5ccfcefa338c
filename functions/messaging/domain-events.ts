// The messaging domain events (catalogue entries), derived from changes of message items in the store (the outbox).
import * as z from 'zod';
import { defineDomainEvent } from '../shared/events.ts';
import { type MessageRecord, messageRecordSchema } from './lifecycle.ts';
import { MESSAGE_STATUSES, TOPICS } from './model.ts';

const messageDetail = z.object({
  /** Consumers dedupe on this: the same change re-published carries the same key. */
  dedupeKey: z.string(),
  messageId: z.string(),
  profileId: z.string(),
  templateId: z.string(),
  journeyId: z.string().nullable(),
  stepId: z.string().nullable(),
  variant: z.string().nullable(),
  topic: z.enum(TOPICS).nullable(),
  status: z.enum(MESSAGE_STATUSES),
  reason: z.string().nullable(),
  at: z.string(),
  test: z.boolean(),
});

const define = (detailType: string) =>
  defineDomainEvent({ detailType, source: 'nurture.messaging', detail: messageDetail });

export const messageSent = define('message.sent');
export const messageDelivered = define('message.delivered');
export const messageBounced = define('message.bounced');
export const messageComplained = define('message.complained');
export const messageOpened = define('message.opened');
/** The first open by a person (not a mail scanner or privacy proxy), from `firstHumanOpenAt`. */
export const messageHumanOpened = define('message.human_opened');
/** The first soft (transient) bounce of a message; a later hard bounce still publishes `message.bounced`. */
export const messageSoftBounced = define('message.soft_bounced');
export const messageClicked = define('message.clicked');
export const messageSkipped = define('message.skipped');
export const messageFailed = define('message.failed');
export const contactUnsubscribed = define('contact.unsubscribed');

export const MESSAGING_EVENTS = [
  messageSent,
  messageDelivered,
  messageBounced,
  messageComplained,
  messageOpened,
  messageHumanOpened,
  messageClicked,
  messageSoftBounced,
  messageSkipped,
  messageFailed,
  contactUnsubscribed,
] as const;

export interface MessagingDomainEvent {
  readonly source: 'nurture.messaging';
  readonly detailType: string;
  readonly detail: z.infer<typeof messageDetail>;
}

/** Reads the record a message item's stream image holds (attribute `m`, JSON). */
export function messageFromImage(json: string | undefined): MessageRecord | undefined {
  return json === undefined ? undefined : messageRecordSchema.parse(JSON.parse(json));
}

/** One event per first occurrence: first open and first click, not every one (those are tracked events). */
export function messagingEventsFor(
  before: MessageRecord | undefined,
  after: MessageRecord | undefined,
): MessagingDomainEvent[] {
  if (after === undefined) return [];
  const events: MessagingDomainEvent[] = [];
  const emit = (definition: { detailType: string }, at: string | null) => {
    if (at === null) return;
    const { request } = after;
    events.push({
      source: 'nurture.messaging',
      detailType: definition.detailType,
      detail: {
        dedupeKey: `${definition.detailType}:${request.messageId}`,
        messageId: request.messageId,
        profileId: request.profileId,
        templateId: request.templateId,
        journeyId: request.origin.journeyId,
        stepId: request.origin.stepId,
        variant: request.origin.variant,
        topic: after.topic,
        status: after.status,
        reason: after.reason,
        at,
        test: request.test,
      },
    });
  };
  const first = (
    field:
      | 'sentAt'
      | 'deliveredAt'
      | 'bouncedAt'
      | 'complainedAt'
      | 'firstOpenedAt'
      | 'firstHumanOpenAt'
      | 'firstClickedAt'
      | 'unsubscribedAt',
  ) => ((before?.[field] ?? null) === null ? after[field] : null);
  emit(messageSent, first('sentAt'));
  emit(messageDelivered, first('deliveredAt'));
  emit(messageBounced, first('bouncedAt'));
  emit(messageComplained, first('complainedAt'));
  emit(messageOpened, first('firstOpenedAt'));
  emit(messageHumanOpened, first('firstHumanOpenAt'));
  // Once per message, like the other outcomes: KPIs count messages that soft-bounced, not feedback notices.
  if ((before?.softBounces ?? 0) === 0 && after.softBounces > 0) emit(messageSoftBounced, after.updatedAt);
  emit(messageClicked, first('firstClickedAt'));
  emit(contactUnsubscribed, first('unsubscribedAt'));
  if (before?.status !== 'skipped' && after.status === 'skipped') emit(messageSkipped, after.updatedAt);
  if (before?.status !== 'failed' && after.status === 'failed') emit(messageFailed, after.updatedAt);
  return events;
}
