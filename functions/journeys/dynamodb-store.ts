// DynamoDB adapter of the journey store, in the profile table: versions, enrollments, sharded timers and counters.
import {
  type AttributeValue,
  ConditionalCheckFailedException,
  type ConsumedCapacity,
  DeleteItemCommand,
  type DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  QueryCommand,
  TransactionCanceledException,
  type TransactWriteItem,
  TransactWriteItemsCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import { type StoredVersion, VersionedDocuments } from '../shared/versioned-documents.ts';
import { type JourneyDefinition, journeyDefinitionSchema } from './definition.ts';
import {
  type CounterChange,
  type Enrollment,
  type JourneyHead,
  type JourneyStatus,
  type JourneyVersion,
  NODE_COUNTERS,
  type Timer,
} from './model.ts';
import { enrollmentSchema, journeyHeadSchema, timerSchema } from './schemas.ts';
import {
  type EnrollmentCommit,
  EnrollmentConflictError,
  JourneyNotFoundError,
  type JourneyStats,
  type JourneyStore,
} from './store.ts';
import { dueBound, TIMER_SHARDS, timerPartition, timerShard, timerSortKey } from './timer-keys.ts';

/** Counter items per (journey version, node, variant): a busy node's `entered` must not be one hot item. */
const COUNTER_SHARDS = 8;
/** DynamoDB's limit of items in one TransactWriteItems call. */
const MAX_TRANSACTION_ITEMS = 100;
const MAX_ATTEMPTS = 5;
/** Score names become attribute names (`score_<name>`), so they are kept to a safe alphabet. */
export const SCORE_NAME_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;
export const SCORE_ATTRIBUTE_PREFIX = 'score_';

export interface DynamoDbJourneyStoreOptions {
  readonly client: DynamoDBClient;
  readonly tableName: string;
  readonly now?: () => Date;
  /** Receives the capacity units each timer read and commit consumed (the benchmark measures with it). */
  readonly onConsumed?: (units: number) => void;
}

const keys = {
  /** In the profile's partition, so erasing a person finds their enrollments with everything else of theirs. */
  profile: (profileId: string) => `PROFILE#${profileId}`,
  enrollment: (profileId: string, journeyId: string) => ({
    pk: { S: `PROFILE#${profileId}` },
    sk: { S: `ENROLLMENT#${journeyId}` },
  }),
  lead: (profileId: string) => ({ pk: { S: `PROFILE#${profileId}` }, sk: { S: 'LEAD' } }),
  stats: (journeyId: string, version: number) => `JSTATS#${journeyId}#${version}`,
  timer: (timer: Timer) => ({
    pk: { S: timerPartition(timerShard(timer.profileId)) },
    sk: { S: timerSortKey(timer.dueAt, timer.timerId) },
  }),
};

/** The stored item of a timer; exported so bulk loaders (the benchmark) write exactly what the store reads. */
export function timerItem(timer: Timer): Record<string, AttributeValue> {
  return { ...keys.timer(timer), t: { S: JSON.stringify(timer) } };
}

function parseTimer(item: Record<string, AttributeValue>): Timer {
  return timerSchema.parse(JSON.parse(item.t?.S ?? 'null'));
}

function parseEnrollment(item: Record<string, AttributeValue>): Enrollment {
  return enrollmentSchema.parse(JSON.parse(item.e?.S ?? 'null'));
}

function parseHead(item: Record<string, AttributeValue>): JourneyHead {
  return journeyHeadSchema.parse({
    journeyId: item.journeyId?.S,
    status: item.status?.S,
    latestVersion: Number(item.latestVersion?.N),
    createdAt: item.createdAt?.S,
    updatedAt: item.updatedAt?.S,
  });
}

function toJourneyVersion(stored: StoredVersion<JourneyDefinition>): JourneyVersion {
  return {
    journeyId: stored.id,
    version: stored.version,
    definition: stored.document,
    createdAt: stored.createdAt,
  };
}

const compareTimers = (a: Timer, b: Timer) =>
  a.dueAt === b.dueAt ? a.timerId.localeCompare(b.timerId) : a.dueAt < b.dueAt ? -1 : 1;

const itemKey = (key: { pk: { S: string }; sk: { S: string } }) => `${key.pk.S}\n${key.sk.S}`;

function isConflictOnFirstItem(error: unknown): boolean {
  const code =
    error instanceof TransactionCanceledException ? error.CancellationReasons?.[0]?.Code : undefined;
  return code === 'ConditionalCheckFailed' || code === 'TransactionConflict';
}

export class DynamoDbJourneyStore implements JourneyStore {
  private readonly client: DynamoDBClient;
  private readonly tableName: string;
  private readonly now: () => Date;
  private readonly onConsumed: ((units: number) => void) | undefined;
  private readonly definitions: VersionedDocuments<JourneyDefinition, JourneyHead>;

  constructor(options: DynamoDbJourneyStoreOptions) {
    this.client = options.client;
    this.tableName = options.tableName;
    this.now = options.now ?? (() => new Date());
    this.onConsumed = options.onConsumed;
    this.definitions = new VersionedDocuments({
      client: options.client,
      tableName: options.tableName,
      now: this.now,
      kind: 'journey',
      partitionPrefix: 'JOURNEY#',
      listPartition: 'JOURNEYS',
      idAttribute: 'journeyId',
      schema: journeyDefinitionSchema,
      parseHead,
      initialHeadAttributes: () => ({ status: { S: 'active' } }),
      maxAttempts: MAX_ATTEMPTS,
    });
  }

  private get capacity() {
    return this.onConsumed === undefined ? {} : { ReturnConsumedCapacity: 'TOTAL' as const };
  }

  private consumed(capacity: ConsumedCapacity | readonly ConsumedCapacity[] | undefined): void {
    if (this.onConsumed === undefined || capacity === undefined) return;
    const list: readonly ConsumedCapacity[] = Array.isArray(capacity) ? capacity : [capacity];
    this.onConsumed(list.reduce((sum, c) => sum + (c.CapacityUnits ?? 0), 0));
  }

  // Definitions

  async putVersion(journeyId: string, definition: JourneyDefinition): Promise<JourneyVersion> {
    return toJourneyVersion(await this.definitions.put({ id: journeyId, document: definition }));
  }

  getHead(journeyId: string): Promise<JourneyHead | undefined> {
    return this.definitions.getHead(journeyId);
  }

  async getVersion(journeyId: string, version: number): Promise<JourneyVersion | undefined> {
    const stored = await this.definitions.getVersion(journeyId, version);
    return stored === undefined ? undefined : toJourneyVersion(stored);
  }

  listHeads(): Promise<JourneyHead[]> {
    return this.definitions.listHeads();
  }

  async setStatus(journeyId: string, status: JourneyStatus): Promise<JourneyHead> {
    try {
      const { Attributes } = await this.client.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: this.definitions.headKey(journeyId),
          UpdateExpression: 'SET #status = :status, updatedAt = :at',
          ConditionExpression: 'attribute_exists(pk)',
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: { ':status': { S: status }, ':at': { S: this.now().toISOString() } },
          ReturnValues: 'ALL_NEW',
        }),
      );
      if (Attributes === undefined) throw new Error(`journey ${journeyId}: the update returned no head`);
      return parseHead(Attributes);
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException)
        throw new JourneyNotFoundError(`journey ${journeyId} does not exist`);
      throw error;
    }
  }

  // Enrollments

  async getEnrollment(profileId: string, journeyId: string): Promise<Enrollment | undefined> {
    const { Item } = await this.client.send(
      new GetItemCommand({
        TableName: this.tableName,
        Key: keys.enrollment(profileId, journeyId),
        ConsistentRead: true,
      }),
    );
    return Item === undefined ? undefined : parseEnrollment(Item);
  }

  async listEnrollments(profileId: string): Promise<Enrollment[]> {
    const enrollments: Enrollment[] = [];
    let startKey: Record<string, AttributeValue> | undefined;
    do {
      const page = await this.client.send(
        new QueryCommand({
          TableName: this.tableName,
          KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
          ExpressionAttributeValues: {
            ':pk': { S: keys.profile(profileId) },
            ':prefix': { S: 'ENROLLMENT#' },
          },
          ConsistentRead: true,
          ExclusiveStartKey: startKey,
        }),
      );
      for (const item of page.Items ?? []) enrollments.push(parseEnrollment(item));
      startKey = page.LastEvaluatedKey;
    } while (startKey);
    return enrollments;
  }

  async commit(commit: EnrollmentCommit): Promise<void> {
    const items = this.commitItems(commit);
    if (items.length > MAX_TRANSACTION_ITEMS)
      throw new Error(
        `an enrollment commit of ${items.length} items exceeds DynamoDB's ${MAX_TRANSACTION_ITEMS}-item transaction limit ` +
          `(journey ${commit.next.journeyId}: ${commit.setTimers.length} timers set, ${commit.deleteTimers.length} deleted)`,
      );
    for (let attempt = 1; ; attempt += 1) {
      try {
        const output = await this.client.send(
          new TransactWriteItemsCommand({ TransactItems: items, ...this.capacity }),
        );
        this.consumed(output.ConsumedCapacity);
        return;
      } catch (error) {
        if (isConflictOnFirstItem(error))
          throw new EnrollmentConflictError(
            `enrollment of journey ${commit.next.journeyId} changed since version ${commit.expectedVersion}`,
          );
        // Another transaction on a counter or lead item: the enrollment's condition still holds, so try again.
        if (!(error instanceof TransactionCanceledException) || attempt >= MAX_ATTEMPTS) throw error;
        await new Promise((resolve) => setTimeout(resolve, 10 * 2 ** attempt * Math.random()));
      }
    }
  }

  private commitItems(commit: EnrollmentCommit): TransactWriteItem[] {
    const { next, expectedVersion } = commit;
    const items: TransactWriteItem[] = [
      {
        Put: {
          TableName: this.tableName,
          Item: {
            ...keys.enrollment(next.profileId, next.journeyId),
            e: { S: JSON.stringify(next) },
            v: { N: String(next.version) },
          },
          ...(expectedVersion === 0
            ? { ConditionExpression: 'attribute_not_exists(pk)' }
            : {
                ConditionExpression: 'v = :expected',
                ExpressionAttributeValues: { ':expected': { N: String(expectedVersion) } },
              }),
        },
      },
    ];
    // One transaction may touch an item once: a timer both set and deleted is simply set (the put replaces it).
    const setKeys = new Map(commit.setTimers.map((timer) => [itemKey(keys.timer(timer)), timer]));
    for (const timer of setKeys.values())
      items.push({ Put: { TableName: this.tableName, Item: timerItem(timer) } });
    const deleteKeys = new Map(commit.deleteTimers.map((timer) => [itemKey(keys.timer(timer)), timer]));
    for (const [key, timer] of deleteKeys) {
      if (!setKeys.has(key)) items.push({ Delete: { TableName: this.tableName, Key: keys.timer(timer) } });
    }
    items.push(...this.counterUpdates(next, commit.counters));
    const scores = this.scoreUpdate(next.profileId, commit.scores);
    if (scores !== undefined) items.push(scores);
    return items;
  }

  private counterUpdates(next: Enrollment, changes: readonly CounterChange[]): TransactWriteItem[] {
    const byItem = new Map<string, Map<string, number>>();
    for (const change of changes) {
      const sk = `${change.nodeId}#${change.variant ?? ''}`;
      const counters = byItem.get(sk) ?? new Map<string, number>();
      counters.set(change.counter, (counters.get(change.counter) ?? 0) + change.delta);
      byItem.set(sk, counters);
    }
    const updates: TransactWriteItem[] = [];
    for (const [sk, counters] of byItem) {
      const entries = [...counters].filter(([, delta]) => delta !== 0);
      if (entries.length === 0) continue;
      const names: Record<string, string> = {};
      const values: Record<string, AttributeValue> = {};
      const parts = entries.map(([counter, delta], index) => {
        names[`#c${index}`] = counter;
        values[`:c${index}`] = { N: String(delta) };
        return `#c${index} :c${index}`;
      });
      updates.push({
        Update: {
          TableName: this.tableName,
          Key: {
            pk: { S: keys.stats(next.journeyId, next.journeyVersion) },
            sk: { S: `${sk}#${Math.floor(Math.random() * COUNTER_SHARDS)}` },
          },
          UpdateExpression: `ADD ${parts.join(', ')}`,
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: values,
        },
      });
    }
    return updates;
  }

  private scoreUpdate(profileId: string, scores: EnrollmentCommit['scores']): TransactWriteItem | undefined {
    const totals = new Map<string, number>();
    for (const { name, points } of scores) {
      if (!SCORE_NAME_PATTERN.test(name))
        throw new Error(`score name "${name}" must be 1–64 of A-Z, a-z, 0-9, "_" and "-"`);
      totals.set(name, (totals.get(name) ?? 0) + points);
    }
    const entries = [...totals].filter(([, points]) => points !== 0);
    if (entries.length === 0) return undefined;
    const names: Record<string, string> = {};
    const values: Record<string, AttributeValue> = {};
    const parts = entries.map(([name, points], index) => {
      names[`#s${index}`] = `${SCORE_ATTRIBUTE_PREFIX}${name}`;
      values[`:s${index}`] = { N: String(points) };
      return `#s${index} :s${index}`;
    });
    return {
      Update: {
        TableName: this.tableName,
        Key: keys.lead(profileId),
        UpdateExpression: `ADD ${parts.join(', ')}`,
        ExpressionAttributeNames: names,
        ExpressionAttributeValues: values,
      },
    };
  }

  async stats(journeyId: string, version: number | null): Promise<JourneyStats> {
    let versions: number[];
    if (version === null) {
      const head = await this.getHead(journeyId);
      versions = Array.from({ length: head?.latestVersion ?? 0 }, (_, index) => index + 1);
    } else versions = [version];
    const nodes: JourneyStats['nodes'] = {};
    const pages = await Promise.all(versions.map((v) => this.queryAll(keys.stats(journeyId, v))));
    for (const item of pages.flat()) {
      const sk = item.sk?.S ?? '';
      const nodeEnd = sk.indexOf('#');
      const shardStart = sk.lastIndexOf('#');
      if (nodeEnd < 0 || shardStart <= nodeEnd) continue;
      const nodeId = sk.slice(0, nodeEnd);
      const variant = sk.slice(nodeEnd + 1, shardStart);
      const byVariant = nodes[nodeId] ?? {};
      const counters = byVariant[variant] ?? {};
      for (const counter of NODE_COUNTERS) {
        const value = item[counter]?.N;
        if (value !== undefined) counters[counter] = (counters[counter] ?? 0) + Number(value);
      }
      byVariant[variant] = counters;
      nodes[nodeId] = byVariant;
    }
    return { nodes };
  }

  private async queryAll(pk: string): Promise<Record<string, AttributeValue>[]> {
    const items: Record<string, AttributeValue>[] = [];
    let startKey: Record<string, AttributeValue> | undefined;
    do {
      const page = await this.client.send(
        new QueryCommand({
          TableName: this.tableName,
          KeyConditionExpression: 'pk = :pk',
          ExpressionAttributeValues: { ':pk': { S: pk } },
          ExclusiveStartKey: startKey,
        }),
      );
      items.push(...(page.Items ?? []));
      startKey = page.LastEvaluatedKey;
    } while (startKey);
    return items;
  }

  // Timers

  async putTimer(timer: Timer): Promise<void> {
    await this.client.send(new PutItemCommand({ TableName: this.tableName, Item: timerItem(timer) }));
  }

  async deleteTimer(timer: Timer): Promise<void> {
    await this.client.send(new DeleteItemCommand({ TableName: this.tableName, Key: keys.timer(timer) }));
  }

  async dueTimers(now: string, limit: number): Promise<Timer[]> {
    if (limit <= 0) return [];
    // Each shard is sorted by due time, so the oldest `limit` overall are among the oldest `limit` of each shard.
    const perShard = await Promise.all(
      Array.from({ length: TIMER_SHARDS }, (_, shard) => this.dueInShard(shard, now, limit)),
    );
    return perShard.flat().sort(compareTimers).slice(0, limit);
  }

  private async dueInShard(shard: number, now: string, limit: number): Promise<Timer[]> {
    const timers: Timer[] = [];
    let startKey: Record<string, AttributeValue> | undefined;
    do {
      const page = await this.client.send(
        new QueryCommand({
          TableName: this.tableName,
          KeyConditionExpression: 'pk = :pk AND sk <= :due',
          ExpressionAttributeValues: { ':pk': { S: timerPartition(shard) }, ':due': { S: dueBound(now) } },
          Limit: limit - timers.length,
          ExclusiveStartKey: startKey,
          ...this.capacity,
        }),
      );
      this.consumed(page.ConsumedCapacity);
      for (const item of page.Items ?? []) timers.push(parseTimer(item));
      startKey = page.LastEvaluatedKey;
    } while (startKey && timers.length < limit);
    return timers;
  }

  async earliestTimer(): Promise<Timer | undefined> {
    const firsts = await Promise.all(
      Array.from({ length: TIMER_SHARDS }, async (_, shard) => {
        const page = await this.client.send(
          new QueryCommand({
            TableName: this.tableName,
            KeyConditionExpression: 'pk = :pk',
            ExpressionAttributeValues: { ':pk': { S: timerPartition(shard) } },
            Limit: 1,
            ...this.capacity,
          }),
        );
        this.consumed(page.ConsumedCapacity);
        const [item] = page.Items ?? [];
        return item === undefined ? [] : [parseTimer(item)];
      }),
    );
    return firsts.flat().sort(compareTimers)[0];
  }
}
