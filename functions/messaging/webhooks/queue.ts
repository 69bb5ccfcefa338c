// Enqueues webhook deliveries: one idempotency key makes at most one delivery, recorded before it is queued.
import { createHash, randomUUID } from 'node:crypto';
import type { JsonObject } from '../../tracking/model.ts';
import {
  type DeliveryJob,
  MAX_PAYLOAD_BYTES,
  type WebhookDelivery,
  WebhookEndpointNotFoundError,
} from './model.ts';
import type { WebhookStore } from './store.ts';

/** Where delivery jobs go; the deliver function consumes them. */
export interface DeliveryJobSender {
  send(job: DeliveryJob): Promise<void>;
}

export class WebhookPayloadTooLargeError extends Error {
  override name = 'WebhookPayloadTooLargeError';
}

/**
 * `whd_` and 32 hex digits (128 bits) of SHA-256 over the endpoint and the key: the same key sent to the same
 * endpoint always names the same delivery, and the same key may still be used once per endpoint.
 */
export function deliveryIdFor(endpointId: string, idempotencyKey: string): string {
  const digest = createHash('sha256')
    .update(JSON.stringify([endpointId, idempotencyKey]))
    .digest('hex');
  return `whd_${digest.slice(0, 32)}`;
}

export interface EnqueueWebhookInput {
  readonly endpointId: string;
  /** What happened, e.g. `lead.qualified`; the body's `type`. */
  readonly eventType: string;
  /** The body's `data`. */
  readonly payload: JsonObject;
  /**
   * Journeys pass enrollment + step, sales hand-off the lead and stage. A repeat with the same key returns the
   * first delivery instead of making another. @default a fresh key: no protection against repeats
   */
  readonly idempotencyKey?: string;
}

export class WebhookQueue {
  constructor(
    private readonly store: WebhookStore,
    private readonly jobs: DeliveryJobSender,
    private readonly now: () => Date = () => new Date(),
  ) {}

  async enqueue(input: EnqueueWebhookInput): Promise<{ created: boolean; delivery: WebhookDelivery }> {
    if (Buffer.byteLength(JSON.stringify(input.payload)) > MAX_PAYLOAD_BYTES)
      throw new WebhookPayloadTooLargeError(`payload is larger than ${MAX_PAYLOAD_BYTES / 1024} KB`);
    const endpoint = await this.store.getEndpoint(input.endpointId);
    if (!endpoint) throw new WebhookEndpointNotFoundError(input.endpointId);
    const idempotencyKey = input.idempotencyKey ?? `once:${randomUUID()}`;
    const { created, delivery } = await this.store.createDelivery({
      deliveryId: deliveryIdFor(input.endpointId, idempotencyKey),
      endpointId: input.endpointId,
      eventType: input.eventType,
      payload: input.payload,
      idempotencyKey,
      status: 'pending',
      attempts: [],
      attemptCount: 0,
      createdAt: this.now().toISOString(),
      deliveredAt: null,
      failedReason: null,
    });
    // A repeat after a crash between the record and the queue still queues it; the deliverer acknowledges an
    // extra copy of a delivery that is no longer pending without sending anything.
    if (created || delivery.status === 'pending') {
      await this.jobs.send({ deliveryId: delivery.deliveryId, endpointId: delivery.endpointId });
    }
    return { created, delivery };
  }
}
