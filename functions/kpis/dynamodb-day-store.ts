// DynamoDB adapter of the KPI day store, in the profile table: one item per rolled-up day, per cost, and the references.
import { gunzipSync, gzipSync } from 'node:zlib';
import {
  type AttributeValue,
  BatchWriteItemCommand,
  type DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  QueryCommand,
  type WriteRequest,
} from '@aws-sdk/client-dynamodb';
import * as z from 'zod';
import type { KpiDayStore, StoredKpiDay } from './day-store.ts';
import type { ReferenceValues } from './query.ts';
import type { CostEntry, KpiDay, KpiSlice } from './rollup.ts';
import { costKey, referenceValuesSchema } from './settings.ts';

/** BatchWriteItem takes at most 25 requests. */
const BATCH = 25;
const MAX_BATCH_ATTEMPTS = 8;

export const kpiDayKeys = {
  day: (day: string) => ({ pk: { S: 'KPIDAY' }, sk: { S: day } }),
  cost: (entry: Pick<CostEntry, 'scope' | 'name' | 'period'>) => ({
    pk: { S: 'KPICOST' },
    sk: { S: costKey(entry) },
  }),
  reference: () => ({ pk: { S: 'KPICONFIG' }, sk: { S: 'REFERENCE' } }),
};

const money = z.record(z.string(), z.number());
const slice = z.object({
  visitors: z.number(),
  sessions: z.number(),
  pageViews: z.number(),
  newLeads: z.number(),
  mql: z.number(),
  sql: z.number(),
  sal: z.number(),
  orders: z.number(),
  newCustomers: z.number(),
  revenue: money,
  firstTouchRevenue: money,
}) satisfies z.ZodType<KpiSlice>;
const slices = z.record(z.string(), slice);
const counts = z.object({ entered: z.number(), goal: z.number() });

export const kpiDaySchema = z.object({
  day: z.string(),
  overall: slice,
  channel: slices,
  campaign: slices,
  landingPage: slices,
  device: slices,
  socialVisitors: z.number(),
  payingProfiles: money,
  currencyCustomers: money,
  email: z.object({
    sent: z.number(),
    delivered: z.number(),
    hardBounced: z.number(),
    softBounced: z.number(),
    complained: z.number(),
    opened: z.number(),
    humanOpened: z.number(),
    clicked: z.number(),
    unsubscribed: z.number(),
  }),
  journeys: z.record(z.string(), counts.extend({ variants: z.record(z.string(), counts) })),
}) satisfies z.ZodType<KpiDay>;

const dayItemSchema = z.object({
  sk: z.object({ S: z.string() }),
  final: z.object({ BOOL: z.boolean() }),
  d: z.object({ B: z.instanceof(Uint8Array) }),
});

const costItemSchema = z.object({
  scope: z.object({ S: z.enum(['channel', 'campaign']) }),
  name: z.object({ S: z.string() }),
  period: z.object({ S: z.string() }),
  amount: z.object({ N: z.string() }),
  currency: z.object({ S: z.string() }),
});

function readDay(item: Record<string, AttributeValue>): StoredKpiDay {
  const parsed = dayItemSchema.parse(item);
  const day = kpiDaySchema.parse(JSON.parse(gunzipSync(parsed.d.B).toString('utf8')));
  return { day, final: parsed.final.BOOL };
}

export class DynamoDbKpiDayStore implements KpiDayStore {
  constructor(
    private readonly client: DynamoDBClient,
    readonly tableName: string,
  ) {}

  async putDay({ day, final }: StoredKpiDay): Promise<void> {
    // Gzipped: a day with many campaigns and landing pages stays far below the 400 KB item limit.
    await this.client.send(
      new PutItemCommand({
        TableName: this.tableName,
        Item: {
          ...kpiDayKeys.day(day.day),
          final: { BOOL: final },
          d: { B: gzipSync(Buffer.from(JSON.stringify(day)), { level: 6 }) },
        },
      }),
    );
  }

  async getDays({ from, to }: { from: string | null; to: string }): Promise<StoredKpiDay[]> {
    const days: StoredKpiDay[] = [];
    let exclusiveStartKey: Record<string, AttributeValue> | undefined;
    do {
      const page = await this.client.send(
        new QueryCommand({
          TableName: this.tableName,
          KeyConditionExpression:
            from === null ? 'pk = :pk AND sk <= :to' : 'pk = :pk AND sk BETWEEN :from AND :to',
          ExpressionAttributeValues: {
            ':pk': { S: 'KPIDAY' },
            ':to': { S: to },
            ...(from === null ? {} : { ':from': { S: from } }),
          },
          ExclusiveStartKey: exclusiveStartKey,
        }),
      );
      for (const item of page.Items ?? []) days.push(readDay(item));
      exclusiveStartKey = page.LastEvaluatedKey;
    } while (exclusiveStartKey !== undefined);
    return days;
  }

  async getCosts(): Promise<CostEntry[]> {
    const entries: CostEntry[] = [];
    let exclusiveStartKey: Record<string, AttributeValue> | undefined;
    do {
      const page = await this.client.send(
        new QueryCommand({
          TableName: this.tableName,
          KeyConditionExpression: 'pk = :pk',
          ExpressionAttributeValues: { ':pk': { S: 'KPICOST' } },
          ExclusiveStartKey: exclusiveStartKey,
        }),
      );
      for (const item of page.Items ?? []) {
        const cost = costItemSchema.parse(item);
        entries.push({
          scope: cost.scope.S,
          name: cost.name.S,
          period: cost.period.S,
          amount: Number(cost.amount.N),
          currency: cost.currency.S,
        });
      }
      exclusiveStartKey = page.LastEvaluatedKey;
    } while (exclusiveStartKey !== undefined);
    return entries;
  }

  async putCosts(entries: readonly CostEntry[]): Promise<void> {
    const requests: WriteRequest[] = entries.map((entry) => ({
      PutRequest: {
        Item: {
          ...kpiDayKeys.cost(entry),
          scope: { S: entry.scope },
          name: { S: entry.name },
          period: { S: entry.period },
          amount: { N: String(entry.amount) },
          currency: { S: entry.currency },
        },
      },
    }));
    for (let start = 0; start < requests.length; start += BATCH) {
      let pending = requests.slice(start, start + BATCH);
      for (let attempt = 1; pending.length > 0; attempt += 1) {
        if (attempt > MAX_BATCH_ATTEMPTS)
          throw new Error('cost entries were not all written; retry the upload');
        if (attempt > 1)
          await new Promise((resolve) => setTimeout(resolve, Math.random() * 2 ** attempt * 25));
        const result = await this.client.send(
          new BatchWriteItemCommand({ RequestItems: { [this.tableName]: pending } }),
        );
        pending = result.UnprocessedItems?.[this.tableName] ?? [];
      }
    }
  }

  async getReference(): Promise<ReferenceValues | undefined> {
    const { Item } = await this.client.send(
      new GetItemCommand({ TableName: this.tableName, Key: kpiDayKeys.reference(), ConsistentRead: true }),
    );
    if (Item?.d?.S === undefined) return undefined;
    return referenceValuesSchema.parse(JSON.parse(Item.d.S));
  }

  async putReference(reference: ReferenceValues): Promise<void> {
    await this.client.send(
      new PutItemCommand({
        TableName: this.tableName,
        Item: { ...kpiDayKeys.reference(), d: { S: JSON.stringify(reference) } },
      }),
    );
  }
}
