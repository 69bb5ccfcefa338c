// Keeps local queue contents across restarts: fauxqs holds messages in memory, so they are saved on stop.
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SendMessageBatchCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { FauxqsServer } from 'fauxqs';
import { z } from 'zod';
import type { ProvisionedQueue } from './provision.ts';

const snapshotSchema = z.object({
  messages: z.array(
    z.object({
      body: z.string(),
      messageAttributes: z
        .record(z.string(), z.object({ DataType: z.string(), StringValue: z.string().optional() }).loose())
        .default({}),
      messageGroupId: z.string().optional(),
      messageDeduplicationId: z.string().optional(),
    }),
  ),
});

type Snapshot = z.infer<typeof snapshotSchema>;

export async function snapshotQueues(options: {
  directory: string;
  queues: readonly ProvisionedQueue[];
  fauxqs: FauxqsServer;
  log: (line: string) => void;
}): Promise<void> {
  for (const queue of options.queues) {
    const state = options.fauxqs.inspectQueue(queue.queueName);
    if (!state) continue;
    // In-flight messages count too: their consumer was stopped before it could delete them.
    const all = [
      ...state.messages.ready,
      ...state.messages.delayed,
      ...state.messages.inflight.map((i) => i.message),
    ];
    if (all.length === 0) continue;
    const snapshot: Snapshot = {
      messages: all.map((m) => ({
        body: m.body,
        messageAttributes: Object.fromEntries(
          Object.entries(m.messageAttributes).map(([name, value]) => [
            name,
            {
              DataType: value.DataType,
              ...(value.StringValue !== undefined ? { StringValue: value.StringValue } : {}),
            },
          ]),
        ),
        ...(m.messageGroupId ? { messageGroupId: m.messageGroupId } : {}),
        ...(m.messageDeduplicationId ? { messageDeduplicationId: m.messageDeduplicationId } : {}),
      })),
    };
    writeFileSync(join(options.directory, `${queue.queueName}.json`), JSON.stringify(snapshot));
    options.log(`saved ${all.length} message(s) of queue ${queue.queueName}`);
  }
}

export async function restoreQueues(options: {
  directory: string;
  queues: readonly ProvisionedQueue[];
  sqs: SQSClient;
  log: (line: string) => void;
}): Promise<void> {
  for (const queue of options.queues) {
    const file = join(options.directory, `${queue.queueName}.json`);
    if (!existsSync(file)) continue;
    const { messages } = snapshotSchema.parse(JSON.parse(readFileSync(file, 'utf8')));
    for (let i = 0; i < messages.length; i += 10) {
      const result = await options.sqs.send(
        new SendMessageBatchCommand({
          QueueUrl: queue.queueUrl,
          Entries: messages.slice(i, i + 10).map((m, index) => ({
            Id: String(index),
            MessageBody: m.body,
            MessageAttributes: m.messageAttributes,
            ...(m.messageGroupId ? { MessageGroupId: m.messageGroupId } : {}),
            ...(m.messageDeduplicationId ? { MessageDeduplicationId: m.messageDeduplicationId } : {}),
          })),
        }),
      );
      if ((result.Failed ?? []).length > 0) {
        throw new Error(`Restoring queue ${queue.queueName} failed; its snapshot is kept at ${file}`);
      }
    }
    rmSync(file);
    options.log(`restored ${messages.length} message(s) to queue ${queue.queueName}`);
  }
}
