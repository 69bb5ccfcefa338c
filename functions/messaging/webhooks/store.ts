// The storage port of the webhook channel: endpoints and deliveries, with versions for safe concurrent updates.
import type { WebhookDelivery, WebhookEndpoint } from './model.ts';

/** A stored value and the version its next conditional write must match. */
export interface Versioned<T> {
  readonly value: T;
  readonly version: number;
}

export class WebhookVersionConflictError extends Error {
  override name = 'WebhookVersionConflictError';
}

export interface WebhookStore {
  getEndpoint(id: string): Promise<Versioned<WebhookEndpoint> | undefined>;
  /** Oldest first. */
  listEndpoints(): Promise<WebhookEndpoint[]>;
  /**
   * Creates (`expectedVersion` 0: only if absent) or replaces the endpoint at exactly `expectedVersion`;
   * throws WebhookVersionConflictError otherwise.
   */
  saveEndpoint(endpoint: WebhookEndpoint, expectedVersion: number): Promise<void>;
  /** False when there was nothing to delete. */
  deleteEndpoint(id: string): Promise<boolean>;

  /** Writes the delivery only if none with its id exists; otherwise returns the existing one untouched. */
  createDelivery(delivery: WebhookDelivery): Promise<{ created: boolean; delivery: WebhookDelivery }>;
  getDelivery(endpointId: string, deliveryId: string): Promise<Versioned<WebhookDelivery> | undefined>;
  /** Newest first. */
  listDeliveries(endpointId: string, limit: number): Promise<WebhookDelivery[]>;
  /** Replaces the delivery at exactly `expectedVersion`; throws WebhookVersionConflictError otherwise. */
  saveDelivery(delivery: WebhookDelivery, expectedVersion: number): Promise<void>;
}
