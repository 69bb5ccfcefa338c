// Running an SQS batch: each profile's inputs in order, profiles side by side, failures reported per message.
import type { SQSBatchResponse } from 'aws-lambda';

export interface KeyedWork<T> {
  /** The SQS message id: what a failure is reported as. */
  readonly messageId: string;
  /** Inputs with the same key run one after another, in batch order (fewer version conflicts on one item). */
  readonly key: string;
  readonly work: T;
}

/**
 * Runs every item and returns the message ids whose work threw (after `onError` saw each error), so only those are
 * received again. Different keys run concurrently.
 */
export async function runByKey<T>(input: {
  items: readonly KeyedWork<T>[];
  run: (work: T) => Promise<void>;
  onError: (error: unknown, item: KeyedWork<T>) => void;
}): Promise<string[]> {
  const byKey = new Map<string, KeyedWork<T>[]>();
  for (const item of input.items) {
    const list = byKey.get(item.key);
    if (list) list.push(item);
    else byKey.set(item.key, [item]);
  }
  const failed: string[] = [];
  await Promise.all(
    [...byKey.values()].map(async (items) => {
      for (const item of items) {
        try {
          await input.run(item.work);
        } catch (error) {
          input.onError(error, item);
          failed.push(item.messageId);
        }
      }
    }),
  );
  return failed;
}

/** The partial batch response for these failed message ids (duplicates removed). */
export function batchFailures(messageIds: Iterable<string>): SQSBatchResponse {
  return { batchItemFailures: [...new Set(messageIds)].map((itemIdentifier) => ({ itemIdentifier })) };
}
