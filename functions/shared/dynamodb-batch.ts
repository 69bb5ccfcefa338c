// Deleting many items of one table with BatchWriteItem: 25 at a time, unprocessed items retried with backoff.
import { type AttributeValue, BatchWriteItemCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';

const BATCH_WRITE_SIZE = 25;
const MAX_BATCH_ATTEMPTS = 10;

export type ItemKey = Record<string, AttributeValue>;

function backoff(attempt: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 50 * 2 ** Math.min(attempt, 6)));
}

/** Deletes every key; throws when DynamoDB keeps some unprocessed after 10 attempts (deleting is idempotent). */
export async function deleteKeys({
  client,
  tableName,
  keys,
}: {
  client: Pick<DynamoDBClient, 'send'>;
  tableName: string;
  keys: readonly ItemKey[];
}): Promise<void> {
  for (let i = 0; i < keys.length; i += BATCH_WRITE_SIZE) {
    let pending = keys.slice(i, i + BATCH_WRITE_SIZE).map((Key) => ({ DeleteRequest: { Key } }));
    for (let attempt = 0; pending.length > 0; attempt += 1) {
      if (attempt >= MAX_BATCH_ATTEMPTS)
        throw new Error('items could not be deleted: DynamoDB kept them unprocessed');
      if (attempt > 0) await backoff(attempt);
      const { UnprocessedItems } = await client.send(
        new BatchWriteItemCommand({ RequestItems: { [tableName]: pending } }),
      );
      pending = (UnprocessedItems?.[tableName] ?? []).flatMap((request) =>
        request.DeleteRequest?.Key ? [{ DeleteRequest: { Key: request.DeleteRequest.Key } }] : [],
      );
    }
  }
}
