// The webhook channel's shapes: endpoints, deliveries and their attempts, as stored and as the admin API shows them.
import * as z from 'zod';
import type { JsonObject } from '../../tracking/model.ts';

export const ENDPOINT_STATUSES = ['active', 'disabled'] as const;
export type EndpointStatus = (typeof ENDPOINT_STATUSES)[number];

export const DELIVERY_STATUSES = ['pending', 'delivered', 'failed'] as const;
export type DeliveryStatus = (typeof DELIVERY_STATUSES)[number];

/** Endpoint ids are chosen by the operator (`PUT /admin/webhooks/{id}`) and appear in keys and URLs. */
export const ENDPOINT_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;
/** Event types name what happened, e.g. `lead.qualified` or `subscription.extend`. */
export const EVENT_TYPE_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,99}$/;
/** Delivery ids are derived (see deliveryIdFor in queue.ts): `whd_` and 32 hex digits. */
export const DELIVERY_ID_PATTERN = /^whd_[0-9a-f]{32}$/;
/** Attempts kept on a delivery record; `attemptCount` keeps counting beyond them. */
export const MAX_ATTEMPTS_KEPT = 20;
/** Delivery records expire (DynamoDB TTL) this long after they were created. */
export const DELIVERY_RETENTION_DAYS = 30;
/** A payload travels in one DynamoDB item (400 KB) and one request: keep well below both. */
export const MAX_PAYLOAD_BYTES = 256 * 1024;

export interface WebhookEndpoint {
  readonly id: string;
  readonly url: string;
  readonly description: string;
  /** `whsec_<base64>`: signs every delivery. Kept in the (encrypted) table, shown on creation and rotation only. */
  readonly secret: string;
  readonly status: EndpointStatus;
  readonly createdAt: string;
  readonly updatedAt: string;
}

export interface DeliveryAttempt {
  readonly at: string;
  /** The receiver's HTTP status; null when no response came (timeout, connection error, refused target). */
  readonly statusCode: number | null;
  readonly error: string | null;
  readonly durationMs: number;
}

export interface WebhookDelivery {
  readonly deliveryId: string;
  readonly endpointId: string;
  readonly eventType: string;
  readonly payload: JsonObject;
  readonly idempotencyKey: string;
  readonly status: DeliveryStatus;
  /** The most recent attempts, oldest first (at most MAX_ATTEMPTS_KEPT). */
  readonly attempts: readonly DeliveryAttempt[];
  /** Every attempt made, including those no longer kept in `attempts`. */
  readonly attemptCount: number;
  readonly createdAt: string;
  readonly deliveredAt: string | null;
  readonly failedReason: string | null;
}

export const endpointSchema = z.object({
  id: z.string(),
  url: z.string(),
  description: z.string(),
  secret: z.string(),
  status: z.enum(ENDPOINT_STATUSES),
  createdAt: z.string(),
  updatedAt: z.string(),
}) satisfies z.ZodType<WebhookEndpoint>;

export const attemptSchema = z.object({
  at: z.string(),
  statusCode: z.number().int().nullable(),
  error: z.string().nullable(),
  durationMs: z.number(),
}) satisfies z.ZodType<DeliveryAttempt>;

const jsonObject: z.ZodType<JsonObject> = z.record(z.string(), z.json());

export const deliverySchema = z.object({
  deliveryId: z.string(),
  endpointId: z.string(),
  eventType: z.string(),
  payload: jsonObject,
  idempotencyKey: z.string(),
  status: z.enum(DELIVERY_STATUSES),
  attempts: z.array(attemptSchema),
  attemptCount: z.number().int().min(0),
  createdAt: z.string(),
  deliveredAt: z.string().nullable(),
  failedReason: z.string().nullable(),
}) satisfies z.ZodType<WebhookDelivery>;

/** What an SQS message carries: ids only, so payloads and secrets never sit in a queue or a DLQ. */
export const deliveryJobSchema = z.object({ deliveryId: z.string().min(1), endpointId: z.string().min(1) });
export type DeliveryJob = z.infer<typeof deliveryJobSchema>;

/** The admin view of an endpoint: everything but the secret. */
export function publicEndpoint(endpoint: WebhookEndpoint) {
  return {
    id: endpoint.id,
    url: endpoint.url,
    description: endpoint.description,
    status: endpoint.status,
    createdAt: endpoint.createdAt,
    updatedAt: endpoint.updatedAt,
  };
}

/** Appends an attempt, keeping only the most recent MAX_ATTEMPTS_KEPT. */
export function withAttempt(
  attempts: readonly DeliveryAttempt[],
  attempt: DeliveryAttempt,
): readonly DeliveryAttempt[] {
  return [...attempts, attempt].slice(-MAX_ATTEMPTS_KEPT);
}

export class WebhookEndpointNotFoundError extends Error {
  override name = 'WebhookEndpointNotFoundError';
  constructor(readonly endpointId: string) {
    super(`webhook endpoint ${endpointId} does not exist`);
  }
}
