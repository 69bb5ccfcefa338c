// An in-memory webhook store with the DynamoDB adapter's semantics (versions, conditional writes), for unit tests.
import type { WebhookDelivery, WebhookEndpoint } from '../../../../functions/messaging/webhooks/model.ts';
import {
  type Versioned,
  type WebhookStore,
  WebhookVersionConflictError,
} from '../../../../functions/messaging/webhooks/store.ts';

export class MemoryWebhookStore implements WebhookStore {
  readonly endpoints = new Map<string, Versioned<WebhookEndpoint>>();
  readonly deliveries = new Map<string, Versioned<WebhookDelivery>>();
  /** Runs once before the next saveDelivery, to simulate a concurrent writer. */
  beforeNextSave: (() => void) | undefined;

  async getEndpoint(id: string) {
    return this.endpoints.get(id);
  }

  async listEndpoints() {
    return [...this.endpoints.values()].map((e) => e.value);
  }

  async saveEndpoint(endpoint: WebhookEndpoint, expectedVersion: number) {
    if ((this.endpoints.get(endpoint.id)?.version ?? 0) !== expectedVersion)
      throw new WebhookVersionConflictError('changed');
    this.endpoints.set(endpoint.id, { value: endpoint, version: expectedVersion + 1 });
  }

  async deleteEndpoint(id: string) {
    return this.endpoints.delete(id);
  }

  async createDelivery(delivery: WebhookDelivery) {
    const existing = this.deliveries.get(delivery.deliveryId);
    if (existing) return { created: false, delivery: existing.value };
    this.deliveries.set(delivery.deliveryId, { value: delivery, version: 1 });
    return { created: true, delivery };
  }

  async getDelivery(endpointId: string, deliveryId: string) {
    const found = this.deliveries.get(deliveryId);
    return found?.value.endpointId === endpointId ? found : undefined;
  }

  async listDeliveries(endpointId: string, limit: number) {
    return [...this.deliveries.values()]
      .map((d) => d.value)
      .filter((d) => d.endpointId === endpointId)
      .sort((a, b) => b.createdAt.localeCompare(a.createdAt))
      .slice(0, limit);
  }

  async saveDelivery(delivery: WebhookDelivery, expectedVersion: number) {
    const hook = this.beforeNextSave;
    this.beforeNextSave = undefined;
    hook?.();
    if ((this.deliveries.get(delivery.deliveryId)?.version ?? 0) !== expectedVersion)
      throw new WebhookVersionConflictError('changed');
    this.deliveries.set(delivery.deliveryId, { value: delivery, version: expectedVersion + 1 });
  }
}
