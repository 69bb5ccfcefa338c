// DynamoDB storage of sources and write keys; a key item exists exactly while the key authenticates.
import {
  ConditionalCheckFailedException,
  DeleteItemCommand,
  type DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  QueryCommand,
  TransactionCanceledException,
  TransactWriteItemsCommand,
} from '@aws-sdk/client-dynamodb';
import type { RateLimit } from './source-rate-limit.ts';
import { hashWriteKey, keyPrefix, newSourceId, type Source, sourceSchema } from './sources.ts';

export class WriteKeyInUseError extends Error {
  override name = 'WriteKeyInUseError';
}

export class SourceNotFoundError extends Error {
  override name = 'SourceNotFoundError';
}

export class SourceChangedError extends Error {
  override name = 'SourceChangedError';
}

const sourceKey = (id: string) => ({ pk: { S: `SOURCE#${id}` }, sk: { S: 'SOURCE' } });
const writeKeyKey = (hash: string) => ({ pk: { S: `WRITEKEY#${hash}` }, sk: { S: 'WRITEKEY' } });

export class SourceStore {
  constructor(
    private readonly client: DynamoDBClient,
    private readonly tableName: string,
    private readonly now: () => Date = () => new Date(),
  ) {}

  /** Source of a write key, if the key is valid now (rotated keys stop at the end of their grace period). */
  async sourceForWriteKey(writeKey: string): Promise<string | undefined> {
    const { Item } = await this.client.send(
      new GetItemCommand({ TableName: this.tableName, Key: writeKeyKey(hashWriteKey(writeKey)) }),
    );
    if (!Item?.sourceId?.S) return undefined;
    const validUntil = Item.validUntil?.N;
    if (validUntil !== undefined && Number(validUntil) * 1000 < this.now().getTime()) return undefined;
    return Item.sourceId.S;
  }

  async create(input: { name: string; writeKey: string; rateLimit?: RateLimit | null }): Promise<Source> {
    const createdAt = this.now().toISOString();
    const hash = hashWriteKey(input.writeKey);
    const source: Source = {
      id: newSourceId(),
      name: input.name,
      status: 'active',
      createdAt,
      keyPrefix: keyPrefix(input.writeKey),
      keyHashes: [hash],
      rotatedAt: null,
      rateLimit: input.rateLimit ?? null,
    };
    try {
      await this.client.send(
        new TransactWriteItemsCommand({
          TransactItems: [
            {
              Put: {
                TableName: this.tableName,
                Item: { ...writeKeyKey(hash), sourceId: { S: source.id }, createdAt: { S: createdAt } },
                ConditionExpression: 'attribute_not_exists(pk)',
              },
            },
            { Put: { TableName: this.tableName, Item: this.sourceItem(source) } },
          ],
        }),
      );
    } catch (error) {
      if (error instanceof TransactionCanceledException)
        throw new WriteKeyInUseError('this write key is already in use');
      throw error;
    }
    return source;
  }

  private sourceItem(source: Source) {
    return {
      ...sourceKey(source.id),
      gsi1pk: { S: 'SOURCES' },
      gsi1sk: { S: `${source.createdAt}#${source.id}` },
      data: { S: JSON.stringify(source) },
    };
  }

  async get(id: string): Promise<Source> {
    return (await this.load(id)).source;
  }

  /** The source and its record as stored, which conditional writes compare against (parsing adds defaults). */
  private async load(id: string): Promise<{ source: Source; stored: string }> {
    const { Item } = await this.client.send(
      new GetItemCommand({ TableName: this.tableName, Key: sourceKey(id), ConsistentRead: true }),
    );
    if (!Item?.data?.S) throw new SourceNotFoundError(`source ${id} does not exist`);
    return { source: sourceSchema.parse(JSON.parse(Item.data.S)), stored: Item.data.S };
  }

  async list(): Promise<Source[]> {
    const sources: Source[] = [];
    let start: Record<string, import('@aws-sdk/client-dynamodb').AttributeValue> | undefined;
    do {
      const page = await this.client.send(
        new QueryCommand({
          TableName: this.tableName,
          IndexName: 'gsi1',
          KeyConditionExpression: 'gsi1pk = :sources',
          ExpressionAttributeValues: { ':sources': { S: 'SOURCES' } },
          ExclusiveStartKey: start,
        }),
      );
      for (const item of page.Items ?? [])
        if (item.data?.S) sources.push(sourceSchema.parse(JSON.parse(item.data.S)));
      start = page.LastEvaluatedKey;
    } while (start);
    return sources;
  }

  /** Issues a new key; the previous one keeps working for `graceHours`. */
  async rotate(
    id: string,
    input: { newWriteKey: string; graceHours: number },
  ): Promise<{ source: Source; previousKeyValidUntil: string }> {
    const { source, stored } = await this.load(id);
    if (source.status !== 'active') throw new SourceNotFoundError(`source ${id} is revoked`);
    const now = this.now();
    const validUntil = new Date(now.getTime() + input.graceHours * 3_600_000);
    const hash = hashWriteKey(input.newWriteKey);
    const [current] = source.keyHashes.slice(-1);
    const expired = source.keyHashes.slice(0, -1);
    const rotated: Source = {
      ...source,
      keyPrefix: keyPrefix(input.newWriteKey),
      keyHashes: current ? [current, hash] : [hash],
      rotatedAt: now.toISOString(),
    };
    await this.client.send(
      new TransactWriteItemsCommand({
        TransactItems: [
          {
            Put: {
              TableName: this.tableName,
              Item: { ...writeKeyKey(hash), sourceId: { S: id }, createdAt: { S: now.toISOString() } },
              ConditionExpression: 'attribute_not_exists(pk)',
            },
          },
          ...(current
            ? [
                {
                  Update: {
                    TableName: this.tableName,
                    Key: writeKeyKey(current),
                    UpdateExpression: 'SET validUntil = :until, expiresAt = :until',
                    ExpressionAttributeValues: {
                      ':until': { N: String(Math.floor(validUntil.getTime() / 1000)) },
                    },
                  },
                },
              ]
            : []),
          ...expired.map((h) => ({ Delete: { TableName: this.tableName, Key: writeKeyKey(h) } })),
          {
            Put: {
              TableName: this.tableName,
              Item: this.sourceItem(rotated),
              ConditionExpression: '#data = :before',
              ExpressionAttributeNames: { '#data': 'data' },
              ExpressionAttributeValues: { ':before': { S: stored } },
            },
          },
        ],
      }),
    );
    return { source: rotated, previousKeyValidUntil: validUntil.toISOString() };
  }

  /** Renames a source or changes its rate limit (null: the default); keys are untouched. */
  async update(id: string, input: { name?: string; rateLimit?: RateLimit | null }): Promise<Source> {
    const { source, stored } = await this.load(id);
    const updated: Source = {
      ...source,
      ...(input.name === undefined ? {} : { name: input.name }),
      ...(input.rateLimit === undefined ? {} : { rateLimit: input.rateLimit }),
    };
    try {
      await this.client.send(
        new PutItemCommand({
          TableName: this.tableName,
          Item: this.sourceItem(updated),
          // A concurrent rotation or revocation must not be undone by writing back the older record.
          ConditionExpression: '#data = :before',
          ExpressionAttributeNames: { '#data': 'data' },
          ExpressionAttributeValues: { ':before': { S: stored } },
        }),
      );
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException)
        throw new SourceChangedError(`source ${id} changed meanwhile; retry`);
      throw error;
    }
    return updated;
  }

  /** Stops every key of the source at once; its data stays. */
  async revoke(id: string): Promise<Source> {
    const source = await this.get(id);
    for (const hash of source.keyHashes) {
      await this.client.send(new DeleteItemCommand({ TableName: this.tableName, Key: writeKeyKey(hash) }));
    }
    const revoked: Source = { ...source, status: 'revoked', keyHashes: [] };
    await this.client.send(new PutItemCommand({ TableName: this.tableName, Item: this.sourceItem(revoked) }));
    return revoked;
  }
}
