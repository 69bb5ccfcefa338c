// Accepting send requests: one idempotency key makes one message, recorded before it is queued.
import { describe, expect, it } from 'vitest';
import {
  MessageQueue,
  messageIdFor,
  type SendQueue,
  sendQueueMessageSchema,
} from '../../../functions/messaging/enqueue.ts';
import { recordIntent } from '../../../functions/messaging/lifecycle.ts';
import { InMemoryMessagingStore } from './support/in-memory-stores.ts';

const NOW = new Date('2024-06-10T12:00:00.000Z');

class RecordingQueue implements SendQueue {
  readonly queued: string[] = [];
  failures = 0;

  async enqueue(messageId: string): Promise<void> {
    if (this.failures > 0) {
      this.failures -= 1;
      throw new Error('SQS unavailable');
    }
    this.queued.push(messageId);
  }
}

function setup() {
  const store = new InMemoryMessagingStore(() => NOW);
  const queue = new RecordingQueue();
  return { store, queue, messages: new MessageQueue(store, queue, () => NOW) };
}

describe('message ids', () => {
  it('derives the same message id from the same idempotency key', () => {
    expect(messageIdFor('journey-1:enrollment-7:step-2')).toBe(messageIdFor('journey-1:enrollment-7:step-2'));
  });

  it('derives different message ids from different keys', () => {
    const ids = new Set(
      Array.from({ length: 1000 }, (_, i) => messageIdFor(`journey-1:enrollment-${i}:step-2`)),
    );

    expect(ids.size).toBe(1000);
  });

  it('makes ids that are short, URL-safe and recognisable as messages', () => {
    expect(messageIdFor('any key at all')).toMatch(/^msg_[A-Za-z0-9_-]{26}$/);
  });
});

describe('enqueueing a send request', () => {
  it('records a queued message with the request and queues its id', async () => {
    const { store, queue, messages } = setup();

    const { created, record } = await messages.enqueue({
      profileId: 'prof-1',
      templateId: 'welcome',
      templateVersion: 2,
      idempotencyKey: 'onboarding:enr-1:welcome-email',
      origin: { journeyId: 'onboarding', stepId: 'welcome-email', variant: 'B' },
    });

    expect(created).toBe(true);
    expect(record.request).toEqual({
      messageId: messageIdFor('onboarding:enr-1:welcome-email'),
      profileId: 'prof-1',
      templateId: 'welcome',
      templateVersion: 2,
      idempotencyKey: 'onboarding:enr-1:welcome-email',
      origin: { journeyId: 'onboarding', stepId: 'welcome-email', variant: 'B', campaign: null, run: null },
      toOverride: null,
      test: false,
      createdAt: NOW.toISOString(),
    });
    expect(record.status).toBe('queued');
    expect(await store.getMessage(record.request.messageId)).toEqual(record);
    expect(queue.queued).toEqual([record.request.messageId]);
  });

  it('fills in defaults for a one-off send: the newest template version and no journey', async () => {
    const { messages } = setup();

    const { record } = await messages.enqueue({ profileId: 'prof-1', templateId: 'newsletter' });

    expect(record.request).toMatchObject({
      templateVersion: null,
      origin: { journeyId: null, stepId: null, variant: null, campaign: null },
      toOverride: null,
      test: false,
    });
  });

  it('makes a separate message for each request without an idempotency key', async () => {
    const { queue, messages } = setup();

    const first = await messages.enqueue({ profileId: 'prof-1', templateId: 'newsletter' });
    const second = await messages.enqueue({ profileId: 'prof-1', templateId: 'newsletter' });

    expect(first.record.request.messageId).not.toBe(second.record.request.messageId);
    expect(second.created).toBe(true);
    expect(queue.queued).toHaveLength(2);
  });

  it('returns the existing message when a request with the same key is repeated', async () => {
    const { messages } = setup();
    const input = { profileId: 'prof-1', templateId: 'welcome', idempotencyKey: 'onboarding:enr-1:welcome' };
    const first = await messages.enqueue(input);

    const repeat = await messages.enqueue({ ...input, templateId: 'other-template' });

    expect(repeat.created).toBe(false);
    expect(repeat.record).toEqual(first.record);
  });

  it('queues a repeated request again while the message is still queued, so a lost queue write is repaired', async () => {
    const { queue, messages } = setup();
    const input = { profileId: 'prof-1', templateId: 'welcome', idempotencyKey: 'onboarding:enr-1:welcome' };
    queue.failures = 1;
    await expect(messages.enqueue(input)).rejects.toThrow('SQS unavailable');

    const repeat = await messages.enqueue(input);

    expect(repeat.created).toBe(false);
    expect(queue.queued).toEqual([messageIdFor(input.idempotencyKey)]);
  });

  it('does not queue a repeated request once the sender has taken the message', async () => {
    const { store, queue, messages } = setup();
    const input = { profileId: 'prof-1', templateId: 'welcome', idempotencyKey: 'onboarding:enr-1:welcome' };
    const { record } = await messages.enqueue(input);
    const taken = recordIntent(record, {
      at: NOW.toISOString(),
      recipientHash: 'hash-1',
      topic: 'marketing',
      templateVersion: 1,
      subject: 'Welcome',
    });
    await store.saveTransition(taken, record.version, {});

    const repeat = await messages.enqueue(input);

    expect(repeat.record.status).toBe('sending');
    expect(queue.queued).toEqual([record.request.messageId]);
  });

  it('keeps test sends and address overrides on the request', async () => {
    const { messages } = setup();

    const { record } = await messages.enqueue({
      profileId: 'prof-1',
      templateId: 'welcome',
      toOverride: 'operator@example.com',
      test: true,
    });

    expect(record.request).toMatchObject({ toOverride: 'operator@example.com', test: true });
  });
});

describe('send queue messages', () => {
  it('carry only the message id, and never an empty one', () => {
    const messageId = messageIdFor('onboarding:enr-1:welcome');

    expect(sendQueueMessageSchema.parse({ messageId, extra: 'ignored' })).toEqual({ messageId });
    expect(sendQueueMessageSchema.safeParse({ messageId: '' }).success).toBe(false);
    expect(sendQueueMessageSchema.safeParse({}).success).toBe(false);
  });
});
