// DynamoDB adapter of the KPI counter store, in the profile table: sharded day counters, distinct markers, dedupe.
import { createHash } from 'node:crypto';
import {
  type AttributeValue,
  type DynamoDBClient,
  QueryCommand,
  TransactionCanceledException,
  type TransactWriteItem,
  TransactWriteItemsCommand,
} from '@aws-sdk/client-dynamodb';
import * as z from 'zod';
import type { ApplyIncrements, CounterStore, CounterTotal, DayCounters } from './counter-store.ts';
import { type CounterIncrement, counterKey, KPI_DIMENSIONS, KPI_METRICS, markerOf } from './counters.ts';

/** Writes to one day spread over this many partitions, so no item takes every tracked event's write. */
export const COUNTER_SHARDS = 8;
/** Dedupe and per-day markers outlive any redelivery or late event we still count (EventBridge retries ≤ 24 h). */
const MARKER_TTL_DAYS = 35;
const MAX_CONFLICT_ATTEMPTS = 10;
/** DynamoDB's limit on items in one transaction. */
const MAX_TRANSACTION_ITEMS = 100;

export interface DynamoDbCounterStoreOptions {
  readonly client: DynamoDBClient;
  readonly tableName: string;
  readonly now?: () => Date;
  /** Chooses the shard of a write, in [0, 1); tests pin it. */
  readonly random?: () => number;
}

const hash = (text: string) => createHash('sha256').update(text).digest('base64url');

export const counterKeys = {
  shard: (day: string, shard: number) => `KPI#${day}#${shard}`,
  /** Readable when short; hashed when a long landing page would exceed the sort key limit. */
  counter: (increment: CounterIncrement) => {
    const readable = `C#${[increment.metric, increment.currency ?? '', increment.dimension, increment.value].map(encodeURIComponent).join('#')}`;
    return readable.length <= 512 ? readable : `H#${hash(counterKey(increment))}`;
  },
  marker: (marker: string) => ({ pk: { S: `KPIMARK#${hash(marker)}` }, sk: { S: 'MARK' } }),
  dedupe: (dedupeKey: string) => ({ pk: { S: `KPIDEDUPE#${hash(dedupeKey)}` }, sk: { S: 'DEDUPE' } }),
};

const counterItemSchema = z.object({
  metric: z.object({ S: z.enum(KPI_METRICS) }),
  currency: z.object({ S: z.string() }).optional(),
  dimension: z.object({ S: z.enum(KPI_DIMENSIONS) }),
  value: z.object({ S: z.string() }),
  n: z.object({ N: z.string() }),
});

/** Sums of decimal amounts over shards come back through doubles; six decimals keep money exact to the cent. */
const roundTotal = (value: number) => Math.round(value * 1e6) / 1e6 || 0;

/**
 * One event = one transaction: a dedupe marker (condition: new), the distinct markers (condition: new) and ADDs on
 * the counters of one random shard. A replay fails on the dedupe marker and changes nothing. A distinct marker that
 * exists cancels the whole transaction; the cancellation reasons name it, so the transaction is retried without it
 * and without the increments it gates (each retry drops at least one marker, so this ends). Conflicts with
 * concurrent writers on the same counters are retried with jittered backoff on another shard.
 */
export class DynamoDbCounterStore implements CounterStore {
  private readonly client: DynamoDBClient;
  private readonly tableName: string;
  private readonly now: () => Date;
  private readonly random: () => number;

  constructor(options: DynamoDbCounterStoreOptions) {
    this.client = options.client;
    this.tableName = options.tableName;
    this.now = options.now ?? (() => new Date());
    this.random = options.random ?? Math.random;
  }

  async apply({ dedupeKey, increments }: ApplyIncrements): Promise<{ applied: boolean }> {
    const known = new Set<string>();
    for (let conflicts = 0; ; ) {
      const markers = [
        ...new Set(increments.map(markerOf).filter((m): m is string => m !== null && !known.has(m))),
      ];
      const counters = increments.filter((increment) => {
        const marker = markerOf(increment);
        return marker === null || !known.has(marker);
      });
      const items = this.transactionItems({ dedupeKey, markers, counters, increments });
      try {
        await this.client.send(new TransactWriteItemsCommand({ TransactItems: items }));
        return { applied: true };
      } catch (error) {
        if (!(error instanceof TransactionCanceledException)) throw error;
        const codes = (error.CancellationReasons ?? []).map((reason) => reason.Code ?? 'None');
        if (codes[0] === 'ConditionalCheckFailed') return { applied: false };
        const existing = markers.filter((_, index) => codes[index + 1] === 'ConditionalCheckFailed');
        if (existing.length > 0) {
          for (const marker of existing) known.add(marker);
          continue;
        }
        conflicts += 1;
        if (!codes.includes('TransactionConflict') || conflicts >= MAX_CONFLICT_ATTEMPTS) throw error;
        await new Promise((resolve) => setTimeout(resolve, 5 * 2 ** conflicts * this.random()));
      }
    }
  }

  private transactionItems(input: {
    dedupeKey: string;
    markers: readonly string[];
    counters: readonly CounterIncrement[];
    increments: readonly CounterIncrement[];
  }): TransactWriteItem[] {
    const TableName = this.tableName;
    const nowSeconds = Math.floor(this.now().getTime() / 1000);
    const expiresAt = { N: String(nowSeconds + MARKER_TTL_DAYS * 86_400) };
    const scopes = new Map(input.increments.map((i) => [markerOf(i), i.distinct?.scope]));
    const isNew = 'attribute_not_exists(pk)';
    const items: TransactWriteItem[] = [
      {
        Put: {
          TableName,
          Item: { ...counterKeys.dedupe(input.dedupeKey), expiresAt },
          ConditionExpression: isNew,
        },
      },
      ...input.markers.map(
        (marker): TransactWriteItem => ({
          Put: {
            TableName,
            // All-time markers (new leads, new customers) never expire; a day's markers do once it is closed.
            Item: { ...counterKeys.marker(marker), ...(scopes.get(marker) === 'day' ? { expiresAt } : {}) },
            ConditionExpression: isNew,
          },
        }),
      ),
    ];
    const shard = Math.floor(this.random() * COUNTER_SHARDS) % COUNTER_SHARDS;
    const byCounter = new Map<string, CounterIncrement>();
    for (const increment of input.counters) {
      const key = `${increment.day}\u001e${counterKey(increment)}`;
      const existing = byCounter.get(key);
      byCounter.set(
        key,
        existing === undefined ? increment : { ...existing, by: existing.by + increment.by },
      );
    }
    for (const increment of byCounter.values()) {
      const values: Record<string, AttributeValue> = {
        ':by': { N: String(increment.by) },
        ':metric': { S: increment.metric },
        ':dimension': { S: increment.dimension },
        ':value': { S: increment.value },
      };
      if (increment.currency !== null) values[':currency'] = { S: increment.currency };
      items.push({
        Update: {
          TableName,
          Key: {
            pk: { S: counterKeys.shard(increment.day, shard) },
            sk: { S: counterKeys.counter(increment) },
          },
          UpdateExpression: `SET metric = :metric, dimension = :dimension, #value = :value${increment.currency === null ? '' : ', currency = :currency'} ADD n :by`,
          ExpressionAttributeNames: { '#value': 'value' },
          ExpressionAttributeValues: values,
        },
      });
    }
    if (items.length > MAX_TRANSACTION_ITEMS)
      throw new RangeError(
        `one event needs ${items.length} writes; a DynamoDB transaction takes ${MAX_TRANSACTION_ITEMS}`,
      );
    return items;
  }

  async readDay(day: string): Promise<DayCounters> {
    const shards = await Promise.all(
      Array.from({ length: COUNTER_SHARDS }, (_, shard) => this.readShard(counterKeys.shard(day, shard))),
    );
    const totals = new Map<string, CounterTotal>();
    for (const counter of shards.flat()) {
      const key = counterKey(counter);
      const total = (totals.get(key)?.total ?? 0) + counter.total;
      totals.set(key, { ...counter, total });
    }
    return { day, counters: [...totals.values()].map((c) => ({ ...c, total: roundTotal(c.total) })) };
  }

  private async readShard(pk: string): Promise<CounterTotal[]> {
    const out: CounterTotal[] = [];
    let startKey: Record<string, AttributeValue> | undefined;
    do {
      const page = await this.client.send(
        new QueryCommand({
          TableName: this.tableName,
          KeyConditionExpression: 'pk = :pk',
          ExpressionAttributeValues: { ':pk': { S: pk } },
          // A final rollup must see every increment acknowledged before it started.
          ConsistentRead: true,
          ExclusiveStartKey: startKey,
        }),
      );
      for (const item of page.Items ?? []) {
        const parsed = counterItemSchema.parse(item);
        out.push({
          metric: parsed.metric.S,
          currency: parsed.currency?.S ?? null,
          dimension: parsed.dimension.S,
          value: parsed.value.S,
          total: Number(parsed.n.N),
        });
      }
      startKey = page.LastEvaluatedKey;
    } while (startKey);
    return out;
  }
}
