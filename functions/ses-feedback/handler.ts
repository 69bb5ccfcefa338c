// SES feedback: sending events from EventBridge update the message, suppress hard bounces and complaints.
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { EventBridgeEvent } from 'aws-lambda';
import * as z from 'zod';
import { addressHash } from '../messaging/address.ts';
import { MESSAGE_ID_TAG } from '../messaging/aws-adapters.ts';
import { DynamoDbMessagingStore } from '../messaging/dynamodb-store.ts';
import { applyFeedback } from '../messaging/lifecycle.ts';
import { applyTransition } from '../messaging/sender.ts';
import { readSesEvent, UnreadableFeedbackError } from '../messaging/ses-feedback.ts';
import { readEnvironment } from '../shared/environment.ts';
import { logger } from '../shared/logger.ts';

const env = readEnvironment({
  PROFILE_TABLE: z.string().min(1),
  MESSAGE_RETENTION_DAYS: z.coerce.number().int().positive().default(396),
});
const store = new DynamoDbMessagingStore({
  client: new DynamoDBClient({}),
  tableName: env.PROFILE_TABLE,
  messageRetentionDays: env.MESSAGE_RETENTION_DAYS,
});

/**
 * Idempotent: every transition is guarded by the message's own state and suppression keeps its first reason, so
 * EventBridge's at-least-once delivery changes nothing the second time. Errors propagate: EventBridge retries.
 */
export async function handler(event: EventBridgeEvent<string, unknown>): Promise<void> {
  let effects: ReturnType<typeof readSesEvent>;
  try {
    effects = readSesEvent(event.detail, MESSAGE_ID_TAG);
  } catch (error) {
    if (!(error instanceof UnreadableFeedbackError)) throw error;
    // Retrying cannot make it readable; the rule's dead-letter queue would only collect noise.
    logger.error('unreadable SES event', {
      eventId: event.id,
      detailType: event['detail-type'],
      error: error.message,
    });
    return;
  }
  logger.appendKeys({ messageId: effects.messageId, feedback: effects.feedback.type });
  for (const { email, reason } of effects.suppress)
    await store.suppress({ addressHash: addressHash(email), reason, at: effects.feedback.at });
  if (effects.messageId !== null) {
    const before = await store.getMessage(effects.messageId);
    const after =
      before === undefined
        ? undefined
        : await applyTransition(store, before, (record) => applyFeedback(record, effects.feedback));
    // Soft bounces count once per feedback id: only when the message took this event as new.
    if (after !== undefined && before !== undefined && after.version !== before.version)
      for (const email of effects.softBounced) await store.addSoftBounce(addressHash(email));
    if (after === undefined) logger.warn('SES event for an unknown message');
  }
  logger.info('SES event applied', { suppressed: effects.suppress.length });
  logger.resetKeys();
}
