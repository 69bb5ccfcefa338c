// DynamoDB adapter of the recheck timers: a pointer per (profile, segment) and its entry in the sharded due-time index.
import {
  type AttributeValue,
  DeleteItemCommand,
  type DynamoDBClient,
  QueryCommand,
  type TransactWriteItem,
  TransactWriteItemsCommand,
} from '@aws-sdk/client-dynamodb';
import * as z from 'zod';
import {
  type DueRecheck,
  RECHECK_SHARDS,
  type RecheckIndex,
  recheckDueBound,
  recheckPartition,
  recheckShard,
  recheckSortKey,
} from './recheck.ts';

const POINTER_PREFIX = 'SEGTIMER#';

const pointerSchema = z.object({
  sk: z.object({ S: z.string().startsWith(POINTER_PREFIX) }),
  dueAt: z.object({ S: z.string() }),
});

const entrySchema = z.object({
  profileId: z.object({ S: z.string() }),
  segmentId: z.object({ S: z.string() }),
  dueAt: z.object({ S: z.string() }),
});

const pointerKey = (profileId: string, segmentId: string) => ({
  pk: { S: `PROFILE#${profileId}` },
  sk: { S: `${POINTER_PREFIX}${segmentId}` },
});

const entryKey = (recheck: DueRecheck) => ({
  pk: { S: recheckPartition(recheckShard(recheck.profileId)) },
  sk: { S: recheckSortKey(recheck) },
});

/**
 * The pointer in the profile's partition says which index entry is the live one, so moving a timer deletes the old
 * entry instead of leaving it to fire. Concurrent moves may leave an extra entry; it fires one harmless evaluation.
 */
export class DynamoDbRecheckIndex implements RecheckIndex {
  constructor(
    private readonly client: DynamoDBClient,
    private readonly tableName: string,
  ) {}

  async of(profileId: string): Promise<ReadonlyMap<string, string>> {
    const timers = new Map<string, string>();
    let startKey: Record<string, AttributeValue> | undefined;
    do {
      const page = await this.client.send(
        new QueryCommand({
          TableName: this.tableName,
          KeyConditionExpression: 'pk = :pk AND begins_with(sk, :timer)',
          ExpressionAttributeValues: {
            ':pk': { S: `PROFILE#${profileId}` },
            ':timer': { S: POINTER_PREFIX },
          },
          ConsistentRead: true,
          ExclusiveStartKey: startKey,
        }),
      );
      for (const item of page.Items ?? []) {
        const pointer = pointerSchema.parse(item);
        timers.set(pointer.sk.S.slice(POINTER_PREFIX.length), pointer.dueAt.S);
      }
      startKey = page.LastEvaluatedKey;
    } while (startKey);
    return timers;
  }

  async set(input: { profileId: string; segmentId: string; dueAt: string; previous: string | null }) {
    const { profileId, segmentId, dueAt, previous } = input;
    const TableName = this.tableName;
    const items: TransactWriteItem[] = [
      { Put: { TableName, Item: { ...pointerKey(profileId, segmentId), dueAt: { S: dueAt } } } },
      {
        Put: {
          TableName,
          Item: {
            ...entryKey({ profileId, segmentId, dueAt }),
            profileId: { S: profileId },
            segmentId: { S: segmentId },
            dueAt: { S: dueAt },
          },
        },
      },
    ];
    if (previous !== null && previous !== dueAt)
      items.push({ Delete: { TableName, Key: entryKey({ profileId, segmentId, dueAt: previous }) } });
    await this.client.send(new TransactWriteItemsCommand({ TransactItems: items }));
  }

  async clear(input: { profileId: string; segmentId: string; previous: string }) {
    const { profileId, segmentId, previous } = input;
    const TableName = this.tableName;
    await this.client.send(
      new TransactWriteItemsCommand({
        TransactItems: [
          { Delete: { TableName, Key: pointerKey(profileId, segmentId) } },
          { Delete: { TableName, Key: entryKey({ profileId, segmentId, dueAt: previous }) } },
        ],
      }),
    );
  }

  async due(now: string, limit: number): Promise<DueRecheck[]> {
    const shards = await Promise.all(
      Array.from({ length: RECHECK_SHARDS }, async (_, shard) => {
        const output = await this.client.send(
          new QueryCommand({
            TableName: this.tableName,
            KeyConditionExpression: 'pk = :pk AND sk <= :bound',
            ExpressionAttributeValues: {
              ':pk': { S: recheckPartition(shard) },
              ':bound': { S: recheckDueBound(now) },
            },
            Limit: limit,
          }),
        );
        return (output.Items ?? []).map((item) => {
          const entry = entrySchema.parse(item);
          return { profileId: entry.profileId.S, segmentId: entry.segmentId.S, dueAt: entry.dueAt.S };
        });
      }),
    );
    return shards
      .flat()
      .sort((a, b) => a.dueAt.localeCompare(b.dueAt))
      .slice(0, limit);
  }

  async remove(recheck: DueRecheck): Promise<void> {
    await this.client.send(new DeleteItemCommand({ TableName: this.tableName, Key: entryKey(recheck) }));
  }
}
