// What the webhook admin API accepts and answers: request schemas (also the documented contract) and views.
import * as z from 'zod';
import {
  DELIVERY_STATUSES,
  ENDPOINT_ID_PATTERN,
  ENDPOINT_STATUSES,
  EVENT_TYPE_PATTERN,
  type WebhookDelivery,
} from './model.ts';

export const endpointIdSchema = z
  .string()
  .regex(ENDPOINT_ID_PATTERN, 'id must be 1–64 letters, digits, "-" or "_", starting with a letter or digit');

export const putEndpointRequest = z.object({
  url: z.string().min(1, 'url is required').max(2048, 'url is longer than 2048 characters'),
  description: z.string().max(500).optional(),
  /** `disabled` keeps the endpoint but fails its deliveries instead of sending them. */
  status: z.enum(ENDPOINT_STATUSES).optional(),
});

export const createDeliveryRequest = z.object({
  eventType: z
    .string()
    .regex(EVENT_TYPE_PATTERN, 'eventType must be 1–100 letters, digits, ".", "_", ":" or "-"'),
  payload: z.record(z.string(), z.json()).meta({ description: "The body's `data`: any JSON object." }),
  idempotencyKey: z
    .string()
    .min(1)
    .max(200)
    .optional()
    .meta({ description: 'A repeat with the same key returns the first delivery instead of sending again.' }),
});

export const listDeliveriesQuery = z.object({
  limit: z.coerce.number().int().min(1).max(100).default(20),
});

export const deliveryStatusSchema = z.enum(DELIVERY_STATUSES);

/** A delivery in a list: what happened, without the payload and the attempts. */
export function deliverySummary(delivery: WebhookDelivery) {
  return {
    deliveryId: delivery.deliveryId,
    endpointId: delivery.endpointId,
    eventType: delivery.eventType,
    status: delivery.status,
    attemptCount: delivery.attemptCount,
    lastAttempt: delivery.attempts.at(-1) ?? null,
    createdAt: delivery.createdAt,
    deliveredAt: delivery.deliveredAt,
    failedReason: delivery.failedReason,
  };
}
