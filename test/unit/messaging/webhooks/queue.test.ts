// Enqueueing: one idempotency key makes one delivery per endpoint, recorded before its job is queued.
import { describe, expect, it } from 'vitest';
import type { DeliveryJob, WebhookEndpoint } from '../../../../functions/messaging/webhooks/model.ts';
import { WebhookEndpointNotFoundError } from '../../../../functions/messaging/webhooks/model.ts';
import {
  deliveryIdFor,
  WebhookPayloadTooLargeError,
  WebhookQueue,
} from '../../../../functions/messaging/webhooks/queue.ts';
import { MemoryWebhookStore } from './memory-store.ts';

/** A small deterministic generator, so a failing case can be reproduced from its seed. */
function seededStrings(seed: number): () => string {
  let state = seed >>> 0;
  return () => {
    state = (state * 1_664_525 + 1_013_904_223) >>> 0;
    const length = 1 + (state % 40);
    let text = '';
    for (let i = 0; i < length; i += 1) {
      state = (state * 1_664_525 + 1_013_904_223) >>> 0;
      text += String.fromCharCode(32 + (state % 95));
    }
    return text;
  };
}

const endpoint: WebhookEndpoint = {
  id: 'sales-crm',
  url: 'https://crm.example.com/hooks',
  description: '',
  secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
  status: 'active',
  createdAt: '2026-01-01T00:00:00.000Z',
  updatedAt: '2026-01-01T00:00:00.000Z',
};

function setup() {
  const store = new MemoryWebhookStore();
  store.endpoints.set(endpoint.id, { value: endpoint, version: 1 });
  const sent: DeliveryJob[] = [];
  let failSends = 0;
  const queue = new WebhookQueue(store, {
    send: async (job) => {
      if (failSends > 0) {
        failSends -= 1;
        throw new Error('SQS unavailable');
      }
      sent.push(job);
    },
  });
  return { store, sent, queue, failNextSend: () => (failSends += 1) };
}

describe('delivery ids', () => {
  it('are whd_ and 32 hex digits, the same for the same endpoint and key', () => {
    const id = deliveryIdFor('sales-crm', 'lead-42:qualified');

    expect(id).toMatch(/^whd_[0-9a-f]{32}$/);
    expect(deliveryIdFor('sales-crm', 'lead-42:qualified')).toBe(id);
  });

  it('differ between endpoints for the same key, and between keys, for 2,000 random pairs', () => {
    const next = seededStrings(2026);
    const seen = new Map<string, string>();

    for (let i = 0; i < 1000; i += 1) {
      const key = next();
      for (const endpointId of ['a', 'a-b']) {
        const pair = JSON.stringify([endpointId, key]);
        const id = deliveryIdFor(endpointId, key);
        expect(seen.get(id) ?? pair, `collision for ${pair}`).toBe(pair);
        seen.set(id, pair);
      }
    }
  });

  it('cannot be made to collide by moving characters between the endpoint id and the key', () => {
    expect(deliveryIdFor('ab', 'c')).not.toBe(deliveryIdFor('a', 'bc'));
  });
});

describe('enqueueing a delivery', () => {
  it('records a pending delivery and queues its ids only', async () => {
    const { store, sent, queue } = setup();

    const { created, delivery } = await queue.enqueue({
      endpointId: 'sales-crm',
      eventType: 'lead.qualified',
      payload: { email: 'ada@example.com', score: 87 },
      idempotencyKey: 'lead-42',
    });

    expect(created).toBe(true);
    expect(delivery).toMatchObject({ status: 'pending', attempts: [], attemptCount: 0, failedReason: null });
    expect(store.deliveries.get(delivery.deliveryId)?.value).toEqual(delivery);
    expect(sent).toEqual([{ deliveryId: delivery.deliveryId, endpointId: 'sales-crm' }]);
  });

  it('returns the first delivery for a repeated key, without a second record', async () => {
    const { store, queue } = setup();
    const input = { endpointId: 'sales-crm', eventType: 'lead.qualified', payload: {}, idempotencyKey: 'k1' };

    const first = await queue.enqueue(input);
    const again = await queue.enqueue({ ...input, payload: { changed: true } });

    expect(again.created).toBe(false);
    expect(again.delivery).toEqual(first.delivery);
    expect(store.deliveries.size).toBe(1);
  });

  it('queues a repeat again while the delivery is pending: the crash between record and queue is covered', async () => {
    const { sent, queue, failNextSend } = setup();
    const input = {
      endpointId: 'sales-crm',
      eventType: 'subscription.extend',
      payload: {},
      idempotencyKey: 'k2',
    };
    failNextSend();

    await expect(queue.enqueue(input)).rejects.toThrow('SQS unavailable');
    const retried = await queue.enqueue(input);

    expect(retried.created).toBe(false);
    expect(sent).toEqual([{ deliveryId: retried.delivery.deliveryId, endpointId: 'sales-crm' }]);
  });

  it('does not queue a repeat of a delivery that is already delivered', async () => {
    const { store, sent, queue } = setup();
    const input = { endpointId: 'sales-crm', eventType: 'lead.qualified', payload: {}, idempotencyKey: 'k3' };
    const { delivery } = await queue.enqueue(input);
    store.deliveries.set(delivery.deliveryId, { value: { ...delivery, status: 'delivered' }, version: 2 });

    const again = await queue.enqueue(input);

    expect(again.delivery.status).toBe('delivered');
    expect(sent).toHaveLength(1);
  });

  it('makes a new delivery for every call without a key', async () => {
    const { store, queue } = setup();
    const input = { endpointId: 'sales-crm', eventType: 'test', payload: {} };

    const first = await queue.enqueue(input);
    const second = await queue.enqueue(input);

    expect(first.delivery.deliveryId).not.toBe(second.delivery.deliveryId);
    expect(store.deliveries.size).toBe(2);
  });

  it('refuses an unknown endpoint and a payload over 256 KB, queueing nothing', async () => {
    const { sent, queue } = setup();

    await expect(
      queue.enqueue({ endpointId: 'nope', eventType: 'test', payload: {} }),
    ).rejects.toBeInstanceOf(WebhookEndpointNotFoundError);
    await expect(
      queue.enqueue({
        endpointId: 'sales-crm',
        eventType: 'test',
        payload: { blob: 'x'.repeat(256 * 1024) },
      }),
    ).rejects.toBeInstanceOf(WebhookPayloadTooLargeError);
    expect(sent).toEqual([]);
  });
});
