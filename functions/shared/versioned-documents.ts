// Versioned definition documents in the profile table: a HEAD item per document and one immutable V#n item per version.
import {
  type AttributeValue,
  type DynamoDBClient,
  GetItemCommand,
  QueryCommand,
  TransactionCanceledException,
  type TransactWriteItem,
  TransactWriteItemsCommand,
} from '@aws-sdk/client-dynamodb';
import * as z from 'zod';

export interface StoredVersion<Document> {
  readonly id: string;
  readonly version: number;
  readonly document: Document;
  readonly createdAt: string;
}

type Attributes = Record<string, AttributeValue>;

export interface VersionedDocumentsOptions<Document, Head extends { readonly latestVersion: number }> {
  readonly client: DynamoDBClient;
  readonly tableName: string;
  readonly now: () => Date;
  /** What a document is, in error messages: `journey`, `segment`. */
  readonly kind: string;
  /** Prefix of a document's partition key: `JOURNEY#` keeps the head at `JOURNEY#<id>` / `HEAD`. */
  readonly partitionPrefix: string;
  /** The gsi1 partition that lists every head: `JOURNEYS`. */
  readonly listPartition: string;
  /** The head attribute holding the document's id: `journeyId`. */
  readonly idAttribute: string;
  readonly schema: z.ZodType<Document>;
  readonly parseHead: (item: Attributes) => Head;
  /** Attributes only a new head gets (a journey starts `active`); later versions leave them as they are. */
  readonly initialHeadAttributes?: (document: Document) => Attributes;
  /** Attributes every new version copies onto the head (a segment's `name`), so listing heads needs no versions. */
  readonly versionHeadAttributes?: (document: Document) => Attributes;
  /** Attempts at a new version while other writers keep taking the next number. */
  readonly maxAttempts: number;
}

export class VersionedDocuments<Document, Head extends { readonly latestVersion: number }> {
  private readonly options: VersionedDocumentsOptions<Document, Head>;

  constructor(options: VersionedDocumentsOptions<Document, Head>) {
    this.options = options;
  }

  headKey(id: string): { pk: { S: string }; sk: { S: string } } {
    return { pk: { S: `${this.options.partitionPrefix}${id}` }, sk: { S: 'HEAD' } };
  }

  private versionKey(id: string, version: number): { pk: { S: string }; sk: { S: string } } {
    return {
      pk: { S: `${this.options.partitionPrefix}${id}` },
      sk: { S: `V#${String(version).padStart(6, '0')}` },
    };
  }

  /** Stores the document as the next version; the head's version condition makes concurrent writers retry. */
  async put(input: { readonly id: string; readonly document: Document }): Promise<StoredVersion<Document>> {
    const { id, document } = input;
    const { client, tableName, maxAttempts } = this.options;
    for (let attempt = 0; attempt < maxAttempts; attempt += 1) {
      const head = await this.getHead(id);
      const at = this.options.now().toISOString();
      const stored: StoredVersion<Document> = {
        id,
        version: (head?.latestVersion ?? 0) + 1,
        document,
        createdAt: at,
      };
      try {
        await client.send(
          new TransactWriteItemsCommand({
            TransactItems: [
              {
                Put: {
                  TableName: tableName,
                  Item: {
                    ...this.versionKey(id, stored.version),
                    d: { S: JSON.stringify(document) },
                    createdAt: { S: at },
                  },
                  ConditionExpression: 'attribute_not_exists(pk)',
                },
              },
              this.headWrite({ id, document, at, previous: head?.latestVersion }),
            ],
          }),
        );
        return stored;
      } catch (error) {
        if (!(error instanceof TransactionCanceledException)) throw error;
      }
    }
    throw new Error(`${this.options.kind} ${id} is being changed concurrently; try again`);
  }

  private headWrite(input: {
    id: string;
    document: Document;
    at: string;
    previous: number | undefined;
  }): TransactWriteItem {
    const { id, document, at, previous } = input;
    const { tableName, initialHeadAttributes, versionHeadAttributes } = this.options;
    const copied = versionHeadAttributes?.(document) ?? {};
    if (previous === undefined)
      return {
        Put: {
          TableName: tableName,
          Item: {
            ...this.headKey(id),
            gsi1pk: { S: this.options.listPartition },
            gsi1sk: { S: id },
            [this.options.idAttribute]: { S: id },
            ...initialHeadAttributes?.(document),
            ...copied,
            latestVersion: { N: '1' },
            createdAt: { S: at },
            updatedAt: { S: at },
          },
          ConditionExpression: 'attribute_not_exists(pk)',
        },
      };
    const names: Record<string, string> = {};
    const values: Attributes = {
      ':next': { N: String(previous + 1) },
      ':previous': { N: String(previous) },
      ':at': { S: at },
    };
    const sets = ['latestVersion = :next', 'updatedAt = :at'];
    Object.entries(copied).forEach(([name, value], index) => {
      names[`#h${index}`] = name;
      values[`:h${index}`] = value;
      sets.push(`#h${index} = :h${index}`);
    });
    return {
      Update: {
        TableName: tableName,
        Key: this.headKey(id),
        UpdateExpression: `SET ${sets.join(', ')}`,
        ConditionExpression: 'latestVersion = :previous',
        // DynamoDB rejects an empty map of names.
        ...(Object.keys(names).length === 0 ? {} : { ExpressionAttributeNames: names }),
        ExpressionAttributeValues: values,
      },
    };
  }

  async getHead(id: string): Promise<Head | undefined> {
    const { Item } = await this.options.client.send(
      new GetItemCommand({ TableName: this.options.tableName, Key: this.headKey(id), ConsistentRead: true }),
    );
    return Item === undefined ? undefined : this.options.parseHead(Item);
  }

  async getVersion(id: string, version: number): Promise<StoredVersion<Document> | undefined> {
    const { Item } = await this.options.client.send(
      new GetItemCommand({ TableName: this.options.tableName, Key: this.versionKey(id, version) }),
    );
    const text = Item?.d?.S;
    if (text === undefined) return undefined;
    return {
      id,
      version,
      document: this.options.schema.parse(JSON.parse(text)),
      createdAt: z.string().parse(Item?.createdAt?.S),
    };
  }

  async listHeads(): Promise<Head[]> {
    const heads: Head[] = [];
    let startKey: Attributes | undefined;
    do {
      const page = await this.options.client.send(
        new QueryCommand({
          TableName: this.options.tableName,
          IndexName: 'gsi1',
          KeyConditionExpression: 'gsi1pk = :pk',
          ExpressionAttributeValues: { ':pk': { S: this.options.listPartition } },
          ExclusiveStartKey: startKey,
        }),
      );
      for (const item of page.Items ?? []) heads.push(this.options.parseHead(item));
      startKey = page.LastEvaluatedKey;
    } while (startKey);
    return heads;
  }
}
