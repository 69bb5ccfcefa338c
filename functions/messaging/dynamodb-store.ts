// DynamoDB adapter of the messaging stores, in the profile table: messages, statistics, addresses, templates.
import { createHash } from 'node:crypto';
import {
  type AttributeValue,
  ConditionalCheckFailedException,
  type DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  QueryCommand,
  TransactionCanceledException,
  TransactWriteItemsCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import * as z from 'zod';
import {
  type CounterDelta,
  MESSAGE_COUNTERS,
  type MessageCounter,
  type MessageRecord,
  messageRecordSchema,
} from './lifecycle.ts';
import { type AddressState, type TemplateVersion, TOPICS, type Topic } from './model.ts';
import { templateSummarySchema, templateVersionSchema } from './schemas.ts';
import {
  type AddressStore,
  type MessageStats,
  type MessageStore,
  MessageVersionConflictError,
  type TemplateStore,
  type TemplateSummary,
} from './store.ts';

/** Statistics items per message dimension: enough that no single item takes every open of a big campaign. */
const STAT_SHARDS = 10;
const DAY_SECONDS = 86_400;

const keys = {
  message: (id: string) => ({ pk: { S: `MESSAGE#${id}` }, sk: { S: 'MESSAGE' } }),
  profileMessages: (profileId: string) => `PROFILE#${profileId}#MESSAGES`,
  address: (hash: string) => ({ pk: { S: `ADDRESS#${hash}` }, sk: { S: 'ADDRESS' } }),
  stats: (templateId: string) => `MSGSTATS#${templateId}`,
  templateHead: (id: string) => ({ pk: { S: `TEMPLATE#${id}` }, sk: { S: 'HEAD' } }),
  templateVersion: (id: string, version: number) => ({
    pk: { S: `TEMPLATE#${id}` },
    sk: { S: `V#${String(version).padStart(10, '0')}` },
  }),
};

const dimension = (value: string | null) => (value === null ? '-' : encodeURIComponent(value));
const fromDimension = (value: string | undefined) =>
  value === undefined || value === '-' ? null : decodeURIComponent(value);

function parseRecord(item: Record<string, AttributeValue> | undefined): MessageRecord | undefined {
  const text = item?.m?.S;
  if (text === undefined) return undefined;
  return messageRecordSchema.parse(JSON.parse(text));
}

const addressSchema = z.object({
  suppressed: z
    .object({ reason: z.enum(['bounce', 'complaint', 'manual']), at: z.string() })
    .nullable()
    .default(null),
  unsubscribed: z.partialRecord(z.enum(TOPICS), z.string()).default({}),
});

export interface DynamoDbMessagingStoreOptions {
  readonly client: DynamoDBClient;
  readonly tableName: string;
  /** Messages are kept this long after they were created. */
  readonly messageRetentionDays: number;
  readonly now?: () => Date;
}

export class DynamoDbMessagingStore implements MessageStore, AddressStore, TemplateStore {
  private readonly client: DynamoDBClient;
  private readonly tableName: string;
  private readonly retentionSeconds: number;
  private readonly now: () => Date;

  constructor(options: DynamoDbMessagingStoreOptions) {
    this.client = options.client;
    this.tableName = options.tableName;
    this.retentionSeconds = options.messageRetentionDays * DAY_SECONDS;
    this.now = options.now ?? (() => new Date());
  }

  // Messages

  private messageItem(record: MessageRecord): Record<string, AttributeValue> {
    const created = Date.parse(record.request.createdAt);
    return {
      ...keys.message(record.request.messageId),
      m: { S: JSON.stringify(record) },
      status: { S: record.status },
      version: { N: String(record.version) },
      gsi1pk: { S: keys.profileMessages(record.request.profileId) },
      gsi1sk: { S: `${record.request.createdAt}#${record.request.messageId}` },
      expiresAt: { N: String(Math.floor(created / 1000) + this.retentionSeconds) },
    };
  }

  async createMessage(record: MessageRecord): Promise<{ created: boolean; record: MessageRecord }> {
    try {
      await this.client.send(
        new PutItemCommand({
          TableName: this.tableName,
          Item: this.messageItem(record),
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      );
      return { created: true, record };
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
      const existing = await this.getMessage(record.request.messageId);
      if (!existing) throw new Error(`message ${record.request.messageId} exists but cannot be read`);
      return { created: false, record: existing };
    }
  }

  async getMessage(messageId: string): Promise<MessageRecord | undefined> {
    const { Item } = await this.client.send(
      new GetItemCommand({ TableName: this.tableName, Key: keys.message(messageId), ConsistentRead: true }),
    );
    return parseRecord(Item);
  }

  async saveTransition(next: MessageRecord, expectedVersion: number, counters: CounterDelta): Promise<void> {
    const put = {
      TableName: this.tableName,
      Item: this.messageItem(next),
      ConditionExpression: 'version = :expected',
      ExpressionAttributeValues: { ':expected': { N: String(expectedVersion) } },
    };
    const update = this.statsUpdate(next, counters);
    try {
      if (update === undefined) await this.client.send(new PutItemCommand(put));
      else
        await this.client.send(
          new TransactWriteItemsCommand({ TransactItems: [{ Put: put }, { Update: update }] }),
        );
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException)
        throw new MessageVersionConflictError(`message ${next.request.messageId} changed concurrently`);
      if (
        error instanceof TransactionCanceledException &&
        error.CancellationReasons?.[0]?.Code === 'ConditionalCheckFailed'
      )
        throw new MessageVersionConflictError(`message ${next.request.messageId} changed concurrently`);
      throw error;
    }
  }

  private statsUpdate(record: MessageRecord, counters: CounterDelta) {
    const entries = Object.entries(counters).filter(([, value]) => value !== undefined && value !== 0);
    if (entries.length === 0) return undefined;
    const { origin, templateId, messageId } = record.request;
    // The shard follows the message, so one message's counters always land on the same item.
    const shard = createHash('sha1').update(messageId).digest()[0] ?? 0;
    const names: Record<string, string> = {};
    const values: Record<string, AttributeValue> = {};
    const parts = entries.map(([name, value], index) => {
      names[`#c${index}`] = name;
      values[`:c${index}`] = { N: String(value) };
      return `#c${index} :c${index}`;
    });
    values[':template'] = { S: templateId };
    return {
      TableName: this.tableName,
      Key: {
        pk: { S: keys.stats(templateId) },
        sk: {
          S: [
            dimension(origin.journeyId),
            dimension(origin.stepId),
            dimension(origin.variant),
            shard % STAT_SHARDS,
          ].join('#'),
        },
      },
      UpdateExpression: `SET templateId = :template ADD ${parts.join(', ')}`,
      ExpressionAttributeNames: names,
      ExpressionAttributeValues: values,
    };
  }

  private async queryProfileMessages(
    profileId: string,
    options: { since?: string; limit: number },
  ): Promise<MessageRecord[]> {
    const records: MessageRecord[] = [];
    let startKey: Record<string, AttributeValue> | undefined;
    do {
      const page = await this.client.send(
        new QueryCommand({
          TableName: this.tableName,
          IndexName: 'gsi1',
          KeyConditionExpression:
            options.since === undefined ? 'gsi1pk = :pk' : 'gsi1pk = :pk AND gsi1sk >= :since',
          ExpressionAttributeValues: {
            ':pk': { S: keys.profileMessages(profileId) },
            ...(options.since === undefined ? {} : { ':since': { S: options.since } }),
          },
          ScanIndexForward: false,
          Limit: Math.min(options.limit - records.length, 100),
          ExclusiveStartKey: startKey,
        }),
      );
      for (const item of page.Items ?? []) {
        const record = parseRecord(item);
        if (record) records.push(record);
      }
      startKey = page.LastEvaluatedKey;
    } while (startKey && records.length < options.limit);
    return records;
  }

  listByProfile(profileId: string, limit: number): Promise<MessageRecord[]> {
    return this.queryProfileMessages(profileId, { limit });
  }

  listSince(profileId: string, since: string): Promise<MessageRecord[]> {
    return this.queryProfileMessages(profileId, { since, limit: 1000 });
  }

  async stats(templateId: string): Promise<MessageStats[]> {
    const byDimension = new Map<string, MessageStats>();
    let startKey: Record<string, AttributeValue> | undefined;
    do {
      const page = await this.client.send(
        new QueryCommand({
          TableName: this.tableName,
          KeyConditionExpression: 'pk = :pk',
          ExpressionAttributeValues: { ':pk': { S: keys.stats(templateId) } },
          ExclusiveStartKey: startKey,
        }),
      );
      for (const item of page.Items ?? []) {
        const [journey, step, variant] = (item.sk?.S ?? '').split('#');
        const key = `${journey}#${step}#${variant}`;
        const entry = byDimension.get(key) ?? {
          journeyId: fromDimension(journey),
          stepId: fromDimension(step),
          variant: fromDimension(variant),
          counters: {},
        };
        const counters: Partial<Record<MessageCounter, number>> = { ...entry.counters };
        for (const name of MESSAGE_COUNTERS) {
          const value = item[name]?.N;
          if (value !== undefined) counters[name] = (counters[name] ?? 0) + Number(value);
        }
        byDimension.set(key, { ...entry, counters });
      }
      startKey = page.LastEvaluatedKey;
    } while (startKey);
    return [...byDimension.values()];
  }

  // Addresses

  async getAddress(addressHash: string): Promise<AddressState | null> {
    const { Item } = await this.client.send(
      new GetItemCommand({ TableName: this.tableName, Key: keys.address(addressHash), ConsistentRead: true }),
    );
    if (!Item) return null;
    const parsed = addressSchema.parse(JSON.parse(Item.a?.S ?? '{}'));
    return {
      addressHash,
      suppressed: parsed.suppressed,
      unsubscribed: parsed.unsubscribed,
      softBounces: Number(Item.softBounces?.N ?? 0),
    };
  }

  /** Read-modify-write of the address document with a version check; addresses change rarely. */
  private async updateAddress(
    addressHash: string,
    change: (state: z.infer<typeof addressSchema>) => z.infer<typeof addressSchema> | undefined,
  ): Promise<boolean> {
    for (let attempt = 0; attempt < 5; attempt += 1) {
      const { Item } = await this.client.send(
        new GetItemCommand({
          TableName: this.tableName,
          Key: keys.address(addressHash),
          ConsistentRead: true,
        }),
      );
      const version = Number(Item?.version?.N ?? 0);
      const next = change(addressSchema.parse(JSON.parse(Item?.a?.S ?? '{}')));
      if (next === undefined) return false;
      try {
        await this.client.send(
          new UpdateItemCommand({
            TableName: this.tableName,
            Key: keys.address(addressHash),
            UpdateExpression: 'SET a = :a, version = :next',
            ConditionExpression: 'attribute_not_exists(version) OR version = :version',
            ExpressionAttributeValues: {
              ':a': { S: JSON.stringify(next) },
              ':next': { N: String(version + 1) },
              ':version': { N: String(version) },
            },
          }),
        );
        return true;
      } catch (error) {
        if (!(error instanceof ConditionalCheckFailedException)) throw error;
      }
    }
    throw new Error('address state changed concurrently too often');
  }

  async suppress(input: {
    addressHash: string;
    reason: 'bounce' | 'complaint' | 'manual';
    at: string;
  }): Promise<void> {
    await this.updateAddress(input.addressHash, (state) =>
      state.suppressed ? undefined : { ...state, suppressed: { reason: input.reason, at: input.at } },
    );
  }

  unsuppress(addressHash: string): Promise<boolean> {
    return this.updateAddress(addressHash, (state) =>
      state.suppressed ? { ...state, suppressed: null } : undefined,
    );
  }

  unsubscribe(input: { addressHash: string; topic: Topic; at: string }): Promise<boolean> {
    return this.updateAddress(input.addressHash, (state) =>
      state.unsubscribed[input.topic]
        ? undefined
        : { ...state, unsubscribed: { ...state.unsubscribed, [input.topic]: input.at } },
    );
  }

  async resubscribe(input: { addressHash: string; topic: Topic }): Promise<void> {
    await this.updateAddress(input.addressHash, (state) => {
      if (!state.unsubscribed[input.topic]) return undefined;
      const unsubscribed = { ...state.unsubscribed };
      delete unsubscribed[input.topic];
      return { ...state, unsubscribed };
    });
  }

  async addSoftBounce(addressHash: string): Promise<void> {
    await this.client.send(
      new UpdateItemCommand({
        TableName: this.tableName,
        Key: keys.address(addressHash),
        UpdateExpression: 'ADD softBounces :one',
        ExpressionAttributeValues: { ':one': { N: '1' } },
      }),
    );
  }

  // Templates

  async putVersion(
    templateId: string,
    compiled: Omit<TemplateVersion, 'templateId' | 'version' | 'createdAt'>,
  ): Promise<TemplateVersion> {
    for (let attempt = 0; attempt < 5; attempt += 1) {
      const head = await this.get(templateId);
      const at = this.now().toISOString();
      const version: TemplateVersion = {
        ...compiled,
        templateId,
        version: (head?.latestVersion ?? 0) + 1,
        createdAt: at,
      };
      const summary: TemplateSummary = {
        templateId,
        latestVersion: version.version,
        subject: version.subject,
        topic: version.topic,
        createdAt: head?.createdAt ?? at,
        updatedAt: at,
      };
      try {
        await this.client.send(
          new TransactWriteItemsCommand({
            TransactItems: [
              {
                Put: {
                  TableName: this.tableName,
                  Item: {
                    ...keys.templateVersion(templateId, version.version),
                    t: { S: JSON.stringify(version) },
                  },
                  ConditionExpression: 'attribute_not_exists(pk)',
                },
              },
              {
                Put: {
                  TableName: this.tableName,
                  Item: {
                    ...keys.templateHead(templateId),
                    t: { S: JSON.stringify(summary) },
                    latestVersion: { N: String(version.version) },
                    gsi1pk: { S: 'TEMPLATES' },
                    gsi1sk: { S: templateId },
                  },
                  ConditionExpression:
                    head === undefined ? 'attribute_not_exists(pk)' : 'latestVersion = :previous',
                  ...(head === undefined
                    ? {}
                    : { ExpressionAttributeValues: { ':previous': { N: String(head.latestVersion) } } }),
                },
              },
            ],
          }),
        );
        return version;
      } catch (error) {
        if (!(error instanceof TransactionCanceledException)) throw error;
      }
    }
    throw new Error(`template ${templateId} is being changed concurrently; try again`);
  }

  async getVersion(templateId: string, version: number | null): Promise<TemplateVersion | undefined> {
    const wanted = version ?? (await this.get(templateId))?.latestVersion;
    if (wanted === undefined) return undefined;
    const { Item } = await this.client.send(
      new GetItemCommand({ TableName: this.tableName, Key: keys.templateVersion(templateId, wanted) }),
    );
    const text = Item?.t?.S;
    return text === undefined ? undefined : templateVersionSchema.parse(JSON.parse(text));
  }

  async get(templateId: string): Promise<TemplateSummary | undefined> {
    const { Item } = await this.client.send(
      new GetItemCommand({
        TableName: this.tableName,
        Key: keys.templateHead(templateId),
        ConsistentRead: true,
      }),
    );
    const text = Item?.t?.S;
    return text === undefined ? undefined : templateSummarySchema.parse(JSON.parse(text));
  }

  async list(): Promise<TemplateSummary[]> {
    const out: TemplateSummary[] = [];
    let startKey: Record<string, AttributeValue> | undefined;
    do {
      const page = await this.client.send(
        new QueryCommand({
          TableName: this.tableName,
          IndexName: 'gsi1',
          KeyConditionExpression: 'gsi1pk = :pk',
          ExpressionAttributeValues: { ':pk': { S: 'TEMPLATES' } },
          ExclusiveStartKey: startKey,
        }),
      );
      for (const item of page.Items ?? []) {
        const text = item.t?.S;
        if (text !== undefined) out.push(templateSummarySchema.parse(JSON.parse(text)));
      }
      startKey = page.LastEvaluatedKey;
    } while (startKey);
    return out;
  }
}
