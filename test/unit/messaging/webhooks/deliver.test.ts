// Delivering a queued webhook: signed POST, attempts recorded, retries timed, success final, last failure parked.
import { describe, expect, it } from 'vitest';
import { WebhookDeliverer, type WebhookPoster } from '../../../../functions/messaging/webhooks/deliver.ts';
import type { WebhookDelivery, WebhookEndpoint } from '../../../../functions/messaging/webhooks/model.ts';
import { verifyWebhook } from '../../../../functions/messaging/webhooks/signature.ts';
import { MemoryWebhookStore } from './memory-store.ts';

const now = new Date('2026-03-01T10:00:00.000Z');
const endpoint: WebhookEndpoint = {
  id: 'crm',
  url: 'https://crm.example.com/hooks',
  description: 'Sales hand-off',
  secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
  status: 'active',
  createdAt: '2026-01-01T00:00:00.000Z',
  updatedAt: '2026-01-01T00:00:00.000Z',
};
const pending: WebhookDelivery = {
  deliveryId: 'whd_0123456789abcdef0123456789abcdef',
  endpointId: 'crm',
  eventType: 'lead.qualified',
  payload: { leadId: 'lead-42', score: 87 },
  idempotencyKey: 'lead-42',
  status: 'pending',
  attempts: [],
  attemptCount: 0,
  createdAt: '2026-03-01T09:59:00.000Z',
  deliveredAt: null,
  failedReason: null,
};

type Sent = Parameters<WebhookPoster>[0];

function setup(answers: Array<number | null>, options: { endpoint?: WebhookEndpoint | null } = {}) {
  const store = new MemoryWebhookStore();
  if (options.endpoint !== null)
    store.endpoints.set('crm', { value: options.endpoint ?? endpoint, version: 1 });
  store.deliveries.set(pending.deliveryId, { value: pending, version: 1 });
  const sent: Sent[] = [];
  const timers: Array<{ receiptHandle: string; seconds: number }> = [];
  const post: WebhookPoster = async (request) => {
    sent.push(request);
    const statusCode = answers.shift() ?? null;
    return {
      statusCode,
      error: statusCode === null ? 'ECONNREFUSED' : null,
      durationMs: 12,
      retryAfterSeconds: null,
    };
  };
  const deliverer = new WebhookDeliverer({
    store,
    post,
    timer: { retryIn: async (receiptHandle, seconds) => void timers.push({ receiptHandle, seconds }) },
    schedule: { maxAttempts: 4, baseSeconds: 1, maxSeconds: 60 },
    timeoutMs: 10_000,
    policy: { allowPrivate: false },
    userAgent: 'Nurture-Webhooks/9.9.9',
    now: () => now,
    random: () => 0.999,
  });
  const attempt = (receiveCount: number) =>
    deliverer.deliver({
      deliveryId: pending.deliveryId,
      endpointId: 'crm',
      receiveCount,
      receiptHandle: `rh-${receiveCount}`,
    });
  const stored = () => store.deliveries.get(pending.deliveryId)?.value;
  return { store, sent, timers, attempt, stored };
}

describe('a delivery the receiver accepts', () => {
  it('is POSTed once as signed JSON and recorded as delivered', async () => {
    const { sent, attempt, stored } = setup([200]);

    const report = await attempt(1);

    expect(report).toEqual({ result: 'delivered', ack: true, statusCode: 200 });
    expect(sent).toHaveLength(1);
    expect(stored()).toMatchObject({
      status: 'delivered',
      deliveredAt: now.toISOString(),
      attemptCount: 1,
      attempts: [{ at: now.toISOString(), statusCode: 200, error: null, durationMs: 12 }],
    });
  });

  it('carries the Standard Webhooks headers, a JSON content type and the Nurture user agent', async () => {
    const { sent, attempt } = setup([204]);

    await attempt(1);
    const [request] = sent;

    expect(request?.url).toBe(endpoint.url);
    expect(request?.headers).toMatchObject({
      'webhook-id': pending.deliveryId,
      'webhook-timestamp': String(now.getTime() / 1000),
      'content-type': 'application/json',
      'user-agent': 'Nurture-Webhooks/9.9.9',
    });
    expect(
      verifyWebhook({
        secret: endpoint.secret,
        headers: request?.headers ?? {},
        body: request?.body ?? '',
        now,
      }),
    ).toBe(true);
  });

  it('sends id, type, timestamp and data in the body, the same bytes on every attempt', async () => {
    const { sent, attempt } = setup([500, 200]);

    await attempt(1);
    await attempt(2);

    expect(JSON.parse(sent[0]?.body ?? '')).toEqual({
      id: pending.deliveryId,
      type: 'lead.qualified',
      timestamp: pending.createdAt,
      data: { leadId: 'lead-42', score: 87 },
    });
    expect(sent[1]?.body).toBe(sent[0]?.body);
  });
});

describe('retrying', () => {
  it('stops at the first success: two failures then a 200 make exactly three attempts', async () => {
    const { sent, timers, attempt, stored } = setup([500, null, 200, 200]);

    const reports = [await attempt(1), await attempt(2), await attempt(3)];
    const afterwards = await attempt(4);

    expect(reports.map((r) => r.result)).toEqual(['retry', 'retry', 'delivered']);
    expect(afterwards).toEqual({ result: 'already-done', ack: true, status: 'delivered' });
    expect(sent).toHaveLength(3);
    expect(timers).toEqual([
      { receiptHandle: 'rh-1', seconds: 1 },
      { receiptHandle: 'rh-2', seconds: 2 },
    ]);
    expect(stored()?.attempts.map((a) => a.statusCode)).toEqual([500, null, 200]);
  });

  it('keeps a failed delivery pending and its message unacknowledged until the next attempt', async () => {
    const { attempt, stored } = setup([503]);

    const report = await attempt(1);

    expect(report).toMatchObject({ result: 'retry', ack: false, statusCode: 503 });
    expect(stored()).toMatchObject({ status: 'pending', attemptCount: 1, failedReason: null });
  });

  it('parks the delivery after the last attempt fails, returning the message at once so the queue moves it', async () => {
    const { timers, attempt, stored } = setup([500, 500, 500, 500]);

    for (const receiveCount of [1, 2, 3]) await attempt(receiveCount);
    const last = await attempt(4);

    expect(last).toEqual({
      result: 'parked',
      ack: false,
      statusCode: 500,
      reason: 'parked after 4 attempts (last: HTTP 500)',
    });
    expect(stored()).toMatchObject({
      status: 'failed',
      failedReason: 'parked after 4 attempts (last: HTTP 500)',
    });
    expect(timers.at(-1)).toEqual({ receiptHandle: 'rh-4', seconds: 0 });
  });

  it('tries a parked delivery again when its message is replayed from the dead-letter queue', async () => {
    const { attempt, stored } = setup([500, 500, 500, 500, 200]);
    for (const receiveCount of [1, 2, 3, 4]) await attempt(receiveCount);

    const replay = await attempt(1);

    expect(replay.result).toBe('delivered');
    expect(stored()).toMatchObject({ status: 'delivered', attemptCount: 5, failedReason: null });
  });

  it('keeps the last 20 attempts and counts them all', async () => {
    const { store, attempt, stored } = setup([500]);
    const old = Array.from({ length: 20 }, (_, i) => ({
      at: `t${i}`,
      statusCode: 500,
      error: null,
      durationMs: 1,
    }));
    store.deliveries.set(pending.deliveryId, {
      value: { ...pending, attempts: old, attemptCount: 25 },
      version: 1,
    });

    await attempt(2);

    expect(stored()?.attempts).toHaveLength(20);
    expect(stored()?.attempts[0]?.at).toBe('t1');
    expect(stored()?.attemptCount).toBe(26);
  });
});

describe('deliveries that are not sent', () => {
  it('acknowledges a copy of an already delivered message without calling the receiver', async () => {
    const { store, sent, attempt } = setup([200]);
    store.deliveries.set(pending.deliveryId, { value: { ...pending, status: 'delivered' }, version: 2 });

    const report = await attempt(1);

    expect(report).toEqual({ result: 'already-done', ack: true, status: 'delivered' });
    expect(sent).toEqual([]);
  });

  it('fails a delivery whose endpoint was deleted, with the reason, and acknowledges it', async () => {
    const { sent, attempt, stored } = setup([200], { endpoint: null });

    const report = await attempt(1);

    expect(report).toEqual({ result: 'endpoint-unavailable', ack: true, reason: 'endpoint deleted' });
    expect(stored()).toMatchObject({ status: 'failed', failedReason: 'endpoint deleted' });
    expect(sent).toEqual([]);
  });

  it('fails a delivery whose endpoint is disabled', async () => {
    const { attempt, stored } = setup([200], { endpoint: { ...endpoint, status: 'disabled' } });

    await attempt(1);

    expect(stored()).toMatchObject({ status: 'failed', failedReason: 'endpoint disabled' });
  });

  it('drops a message whose delivery record is gone', async () => {
    const { store, sent, attempt } = setup([200]);
    store.deliveries.clear();

    expect(await attempt(1)).toEqual({ result: 'unknown-delivery', ack: true });
    expect(sent).toEqual([]);
  });

  it('leaves the record to a concurrent copy that delivered it first', async () => {
    const { store, attempt, stored } = setup([500]);
    store.beforeNextSave = () =>
      store.deliveries.set(pending.deliveryId, {
        value: { ...pending, status: 'delivered', deliveredAt: 'earlier' },
        version: 2,
      });

    const report = await attempt(1);

    expect(report).toEqual({ result: 'already-done', ack: true, status: 'delivered' });
    expect(stored()).toMatchObject({ status: 'delivered', deliveredAt: 'earlier' });
  });
});
