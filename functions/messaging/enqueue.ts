// Accepts send requests: one idempotency key makes at most one message, recorded before it is queued.
import { createHash, randomUUID } from 'node:crypto';
import * as z from 'zod';
import { type MessageRecord, newMessageRecord } from './lifecycle.ts';
import type { MessageOrigin } from './model.ts';
import type { MessageStore } from './store.ts';

/** What the send queue carries: only the id; the record holds the request. */
export const sendQueueMessageSchema = z.object({ messageId: z.string().min(1) });

export interface SendQueue {
  enqueue(messageId: string): Promise<void>;
}

export interface SendRequestInput {
  readonly profileId: string;
  readonly templateId: string;
  readonly templateVersion?: number | null;
  /** Journeys pass enrollment + step; admin callers their own key; absent means "no retry protection asked". */
  readonly idempotencyKey?: string;
  readonly origin?: Partial<MessageOrigin>;
  readonly toOverride?: string | null;
  readonly test?: boolean;
}

/** The message id is derived from the idempotency key, so a retried request finds the message it created. */
export function messageIdFor(idempotencyKey: string): string {
  return `msg_${createHash('sha256').update(idempotencyKey).digest('base64url').slice(0, 26)}`;
}

export class MessageQueue {
  constructor(
    private readonly messages: MessageStore,
    private readonly queue: SendQueue,
    private readonly now: () => Date = () => new Date(),
  ) {}

  async enqueue(input: SendRequestInput): Promise<{ created: boolean; record: MessageRecord }> {
    const idempotencyKey = input.idempotencyKey ?? `once:${randomUUID()}`;
    const messageId = messageIdFor(idempotencyKey);
    const { created, record } = await this.messages.createMessage(
      newMessageRecord({
        messageId,
        profileId: input.profileId,
        templateId: input.templateId,
        templateVersion: input.templateVersion ?? null,
        idempotencyKey,
        origin: {
          journeyId: input.origin?.journeyId ?? null,
          stepId: input.origin?.stepId ?? null,
          variant: input.origin?.variant ?? null,
          campaign: input.origin?.campaign ?? null,
          run: input.origin?.run ?? null,
        },
        toOverride: input.toOverride ?? null,
        test: input.test ?? false,
        createdAt: this.now().toISOString(),
      }),
    );
    // A repeat of a request that crashed between the record and the queue still queues it; the sender ignores
    // the extra copy of a message that was already handled.
    if (created || record.status === 'queued') await this.queue.enqueue(messageId);
    return { created, record };
  }
}
