// Delivers one queued webhook: loads it, signs and POSTs it, records the attempt, and decides retry, done or park.
import type { DeliveryJob, WebhookDelivery, WebhookEndpoint } from './model.ts';
import { withAttempt } from './model.ts';
import { attemptOutcome, type RetrySchedule } from './outcome.ts';
import { webhookSignatureHeaders } from './signature.ts';
import { type WebhookStore, WebhookVersionConflictError } from './store.ts';
import type { TargetPolicy } from './targets.ts';

/** Sends one request and reports what came back; never throws (see http-post.ts). */
export type WebhookPoster = (request: {
  readonly url: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
  readonly timeoutMs: number;
  readonly policy: TargetPolicy;
}) => Promise<{
  readonly statusCode: number | null;
  readonly error: string | null;
  readonly durationMs: number;
  readonly retryAfterSeconds: number | null;
}>;

/** Hides a queue message for a while: its next receive is the next attempt (0: at once). */
export interface RetryTimer {
  retryIn(receiptHandle: string, seconds: number): Promise<void>;
}

export interface QueuedDelivery extends DeliveryJob {
  /** The queue's ApproximateReceiveCount: the attempt number, as the queue counts towards its DLQ. */
  readonly receiveCount: number;
  readonly receiptHandle: string;
}

/**
 * `ack`: done with the message (delete it). Otherwise it stays: it comes back for the next attempt, or, after
 * the last one, moves to the dead-letter queue.
 */
export type DeliveryReport =
  | { readonly result: 'delivered'; readonly ack: true; readonly statusCode: number }
  | {
      readonly result: 'retry';
      readonly ack: false;
      readonly statusCode: number | null;
      readonly delaySeconds: number;
    }
  | {
      readonly result: 'parked';
      readonly ack: false;
      readonly statusCode: number | null;
      readonly reason: string;
    }
  | { readonly result: 'endpoint-unavailable'; readonly ack: true; readonly reason: string }
  | { readonly result: 'already-done'; readonly ack: true; readonly status: WebhookDelivery['status'] }
  | { readonly result: 'unknown-delivery'; readonly ack: true };

export interface WebhookDelivererOptions {
  readonly store: WebhookStore;
  readonly post: WebhookPoster;
  readonly timer: RetryTimer;
  readonly schedule: RetrySchedule;
  readonly timeoutMs: number;
  readonly policy: TargetPolicy;
  /** `Nurture-Webhooks/<version>`. */
  readonly userAgent: string;
  readonly now?: () => Date;
  readonly random?: () => number;
}

/** The request body: the same bytes on every attempt, so a receiver sees one event however often it is retried. */
export function webhookBody(delivery: WebhookDelivery): string {
  return JSON.stringify({
    id: delivery.deliveryId,
    type: delivery.eventType,
    timestamp: delivery.createdAt,
    data: delivery.payload,
  });
}

const CONFLICT_RETRIES = 3;

export class WebhookDeliverer {
  private readonly now: () => Date;

  constructor(private readonly options: WebhookDelivererOptions) {
    this.now = options.now ?? (() => new Date());
  }

  async deliver(job: QueuedDelivery): Promise<DeliveryReport> {
    const stored = await this.options.store.getDelivery(job.endpointId, job.deliveryId);
    // Records outlive their messages by weeks (TTL 30 days); a message without one is a leftover to drop.
    if (!stored) return { result: 'unknown-delivery', ack: true };
    let delivery = stored.value;
    const version = stored.version;
    // A parked delivery whose message was moved back from the dead-letter queue (its receive count starts again)
    // is tried again: that is how an operator replays dead letters.
    const replayed = delivery.status === 'failed' && job.receiveCount === 1;
    if (delivery.status !== 'pending' && !replayed)
      return { result: 'already-done', ack: true, status: delivery.status };
    if (replayed) delivery = { ...delivery, status: 'pending', failedReason: null };

    const endpoint = await this.options.store.getEndpoint(job.endpointId);
    if (!endpoint || endpoint.value.status === 'disabled') {
      const reason = endpoint ? 'endpoint disabled' : 'endpoint deleted';
      const saved = await this.update({ delivery, version }, (current) => ({
        ...current,
        status: 'failed',
        failedReason: reason,
      }));
      return saved ? { result: 'endpoint-unavailable', ack: true, reason } : this.alreadyDone(job);
    }

    const response = await this.send(endpoint.value, delivery);
    const attempt = {
      at: this.now().toISOString(),
      statusCode: response.statusCode,
      error: response.error,
      durationMs: response.durationMs,
    };
    const outcome = attemptOutcome({
      statusCode: response.statusCode,
      error: response.error,
      attempt: job.receiveCount,
      schedule: this.options.schedule,
      retryAfterSeconds: response.retryAfterSeconds,
      ...(this.options.random ? { random: this.options.random } : {}),
    });
    const saved = await this.update({ delivery, version }, (current) => ({
      ...current,
      attempts: withAttempt(current.attempts, attempt),
      attemptCount: current.attemptCount + 1,
      status: outcome.kind === 'delivered' ? 'delivered' : outcome.kind === 'park' ? 'failed' : 'pending',
      deliveredAt: outcome.kind === 'delivered' ? attempt.at : null,
      failedReason: outcome.kind === 'park' ? outcome.reason : null,
    }));
    // Another copy of this message finished the delivery meanwhile: nothing left to do.
    if (!saved) return this.alreadyDone(job);
    switch (outcome.kind) {
      case 'delivered':
        return { result: 'delivered', ack: true, statusCode: response.statusCode ?? 0 };
      case 'retry':
        await this.options.timer.retryIn(job.receiptHandle, outcome.delaySeconds);
        return {
          result: 'retry',
          ack: false,
          statusCode: response.statusCode,
          delaySeconds: outcome.delaySeconds,
        };
      case 'park':
        // Back in the queue at once, so that its next receive moves it to the dead-letter queue without waiting
        // out the visibility timeout.
        await this.options.timer.retryIn(job.receiptHandle, 0);
        return { result: 'parked', ack: false, statusCode: response.statusCode, reason: outcome.reason };
    }
  }

  private send(endpoint: WebhookEndpoint, delivery: WebhookDelivery) {
    const body = webhookBody(delivery);
    const signed = webhookSignatureHeaders({
      secret: endpoint.secret,
      id: delivery.deliveryId,
      timestamp: Math.floor(this.now().getTime() / 1000),
      body,
    });
    return this.options.post({
      url: endpoint.url,
      headers: {
        ...signed,
        'content-type': 'application/json',
        'user-agent': this.options.userAgent,
      },
      body,
      timeoutMs: this.options.timeoutMs,
      policy: this.options.policy,
    });
  }

  /**
   * Applies `change` at the version read; on a conflict, re-reads and re-applies while the delivery is still
   * pending. False when another copy of the message finished it first.
   */
  private async update(
    read: { delivery: WebhookDelivery; version: number },
    change: (current: WebhookDelivery) => WebhookDelivery,
  ): Promise<boolean> {
    let current = read;
    for (let tries = 0; ; tries += 1) {
      try {
        await this.options.store.saveDelivery(change(current.delivery), current.version);
        return true;
      } catch (error) {
        if (!(error instanceof WebhookVersionConflictError) || tries >= CONFLICT_RETRIES) throw error;
      }
      const fresh = await this.options.store.getDelivery(read.delivery.endpointId, read.delivery.deliveryId);
      if (fresh?.value.status !== 'pending') return false;
      current = { delivery: fresh.value, version: fresh.version };
    }
  }

  private async alreadyDone(job: DeliveryJob): Promise<DeliveryReport> {
    const fresh = await this.options.store.getDelivery(job.endpointId, job.deliveryId);
    return fresh
      ? { result: 'already-done', ack: true, status: fresh.value.status }
      : { result: 'unknown-delivery', ack: true };
  }
}
