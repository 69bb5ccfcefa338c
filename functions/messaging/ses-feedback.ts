// Reads SES sending events (as SES publishes them to EventBridge) into message feedback and address effects.
import * as z from 'zod';
import { normalizeEmail } from '../tracking/profile.ts';
import type { SesFeedback } from './lifecycle.ts';

/** The detail-types SES uses on EventBridge, and the ones the feedback function subscribes to. */
export const SES_DETAIL_TYPES = [
  'Email Sent',
  'Email Delivered',
  'Email Bounced',
  'Email Complaint Received',
  'Email Rejected',
  'Email Rendering Failed',
  'Email Delivery Delayed',
] as const;

const mail = z
  .object({
    timestamp: z.string(),
    messageId: z.string(),
    destination: z.array(z.string()).default([]),
    tags: z.record(z.string(), z.array(z.string())).default({}),
  })
  .loose();

const sesEventSchema = z.discriminatedUnion('eventType', [
  z.object({ eventType: z.literal('Send'), mail }).loose(),
  z
    .object({
      eventType: z.literal('Delivery'),
      mail,
      delivery: z.object({ timestamp: z.string() }).loose(),
    })
    .loose(),
  z
    .object({
      eventType: z.literal('Bounce'),
      mail,
      bounce: z
        .object({
          bounceType: z.string(),
          bounceSubType: z.string().default(''),
          bouncedRecipients: z
            .array(z.object({ emailAddress: z.string(), diagnosticCode: z.string().optional() }).loose())
            .default([]),
          timestamp: z.string(),
          feedbackId: z.string(),
        })
        .loose(),
    })
    .loose(),
  z
    .object({
      eventType: z.literal('Complaint'),
      mail,
      complaint: z
        .object({
          complainedRecipients: z.array(z.object({ emailAddress: z.string() }).loose()).default([]),
          timestamp: z.string(),
          complaintFeedbackType: z.string().optional(),
        })
        .loose(),
    })
    .loose(),
  z
    .object({ eventType: z.literal('Reject'), mail, reject: z.object({ reason: z.string() }).loose() })
    .loose(),
  z
    .object({
      eventType: z.literal('Rendering Failure'),
      mail,
      failure: z.object({ errorMessage: z.string() }).loose(),
    })
    .loose(),
  z
    .object({
      eventType: z.literal('DeliveryDelay'),
      mail,
      deliveryDelay: z.object({ timestamp: z.string(), delayType: z.string().optional() }).loose(),
    })
    .loose(),
]);

export interface FeedbackEffects {
  /** Our message id from the `nurture-message-id` tag; null for mail Nurture did not send. */
  readonly messageId: string | null;
  readonly feedback: SesFeedback;
  /** Addresses to suppress, by the reason SES gave. */
  readonly suppress: ReadonlyArray<{ email: string; reason: 'bounce' | 'complaint' }>;
  /** Addresses that soft-bounced. */
  readonly softBounced: readonly string[];
}

export class UnreadableFeedbackError extends Error {
  override name = 'UnreadableFeedbackError';
}

function emails(values: ReadonlyArray<{ emailAddress: string }>): string[] {
  return values.flatMap(({ emailAddress }) => {
    // SES reports addresses as "Name <addr>" at times.
    const match = /<([^>]+)>/.exec(emailAddress);
    const email = normalizeEmail(match?.[1] ?? emailAddress);
    return email === undefined ? [] : [email];
  });
}

export function readSesEvent(detail: unknown, messageIdTag: string): FeedbackEffects {
  const parsed = sesEventSchema.safeParse(detail);
  if (!parsed.success)
    throw new UnreadableFeedbackError(`not an SES sending event: ${parsed.error.issues[0]?.message ?? ''}`);
  const event = parsed.data;
  const messageId = event.mail.tags[messageIdTag]?.[0] ?? null;
  const none = { suppress: [], softBounced: [] };
  switch (event.eventType) {
    case 'Send':
      return {
        messageId,
        feedback: { type: 'send', at: event.mail.timestamp, sesMessageId: event.mail.messageId },
        ...none,
      };
    case 'Delivery':
      return { messageId, feedback: { type: 'delivery', at: event.delivery.timestamp }, ...none };
    case 'DeliveryDelay':
      return { messageId, feedback: { type: 'deliveryDelay', at: event.deliveryDelay.timestamp }, ...none };
    case 'Bounce': {
      const permanent = event.bounce.bounceType === 'Permanent';
      const recipients = emails(event.bounce.bouncedRecipients);
      const [first] = event.bounce.bouncedRecipients;
      return {
        messageId,
        feedback: {
          type: 'bounce',
          at: event.bounce.timestamp,
          permanent,
          feedbackId: event.bounce.feedbackId,
          detail: [event.bounce.bounceType, event.bounce.bounceSubType, first?.diagnosticCode]
            .filter(Boolean)
            .join(': '),
        },
        suppress: permanent ? recipients.map((email) => ({ email, reason: 'bounce' as const })) : [],
        softBounced: permanent ? [] : recipients,
      };
    }
    case 'Complaint':
      return {
        messageId,
        feedback: { type: 'complaint', at: event.complaint.timestamp },
        // A complaint without recipients still concerns the message's own recipients.
        suppress: emails(
          event.complaint.complainedRecipients.length > 0
            ? event.complaint.complainedRecipients
            : event.mail.destination.map((emailAddress) => ({ emailAddress })),
        ).map((email) => ({ email, reason: 'complaint' as const })),
        softBounced: [],
      };
    case 'Reject':
      return {
        messageId,
        feedback: { type: 'reject', at: event.mail.timestamp, detail: event.reject.reason },
        ...none,
      };
    case 'Rendering Failure':
      return {
        messageId,
        feedback: { type: 'renderingFailure', at: event.mail.timestamp, detail: event.failure.errorMessage },
        ...none,
      };
  }
}
