// KPI benchmark: rollup time and DynamoDB reads for one day of 10,000 and of 1,000,000 events, and the apply cost.
//
// The rollup reads a day's counter items, never events, so its cost follows the number of distinct counters (metric ×
// dimension value × shard), which stops growing once the day's dimension values are all in use. Applying 1,000,000
// events one transaction at a time to DynamoDB Local would take hours (~150 transactions/s), so each day's counters
// are built here with the pure `countersFor` (the very increments the KPI consumer applies), merged in memory with the
// store's shard and distinct-marker semantics, and written as finished counter items. Markers are counted, not
// written: they are only ever written and conditionally checked, never read by a rollup.
import { pathToFileURL } from 'node:url';
import {
  BatchWriteItemCommand,
  CreateTableCommand,
  DynamoDBClient,
  type WriteRequest,
} from '@aws-sdk/client-dynamodb';
import * as z from 'zod';
import {
  type CounterIncrement,
  counterKey,
  countersFor,
  markerOf,
  mergeIncrements,
} from '../functions/kpis/counters.ts';
import {
  COUNTER_SHARDS,
  counterKeys,
  DynamoDbCounterStore,
} from '../functions/kpis/dynamodb-counter-store.ts';
import { DynamoDbKpiDayStore } from '../functions/kpis/dynamodb-day-store.ts';
import type { KpiInput } from '../functions/kpis/inputs.ts';
import { rollUpDays } from '../functions/kpis/service.ts';
import { reservePort, startDynamoDbLocal } from '../lib/local/emulators.ts';

const SETTINGS = { timeZone: 'UTC', currency: 'EUR' };
const CHANNELS = [
  'direct',
  'organic search',
  'paid search',
  'organic social',
  'paid social',
  'email',
  'referral',
  'display',
  'affiliate',
  'other',
];
const DEVICES = ['desktop', 'mobile', 'tablet'] as const;
const CAMPAIGNS = 40;
const LANDING_PAGES = 200;
const ROLLUP_RUNS = 5;

/** A small seeded generator, so every run measures the same days. */
function seeded(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

function pick<T>(random: () => number, values: readonly T[]): T {
  const value = values[Math.floor(random() * values.length)];
  if (value === undefined) throw new RangeError('pick from an empty list');
  return value;
}

/**
 * One event of a busy day, as the KPI consumer reads it: a quarter start a session (a page view that is also a
 * session start), most are page views within a session, and a few are leads, MQLs, orders, emails or journey steps.
 * A profile comes back about ten times a day.
 */
function* dayOfEvents(input: { day: string; events: number; seed: number }): Generator<KpiInput[]> {
  const random = seeded(input.seed);
  const profiles = Math.max(1, Math.floor(input.events / 10));
  for (let i = 0; i < input.events; i += 1) {
    const profileId = `p${Math.floor(random() * profiles)}`;
    const at = `${input.day}T${String(Math.floor(random() * 24)).padStart(2, '0')}:30:00.000Z`;
    const session = {
      channel: pick(random, CHANNELS),
      campaign: random() < 0.3 ? null : `campaign-${Math.floor(random() * CAMPAIGNS)}`,
      landingPage: `/page-${Math.floor(random() * LANDING_PAGES)}`,
      device: pick(random, DEVICES),
    };
    const roll = random();
    if (roll < 0.25)
      yield [
        { kind: 'sessionStarted', profileId, at, ...session },
        { kind: 'pageViewed', profileId, at, session },
      ];
    else if (roll < 0.9) yield [{ kind: 'pageViewed', profileId, at, session }];
    else if (roll < 0.93) yield [{ kind: 'stageEntered', profileId, at, from: null, stage: 'lead', session }];
    else if (roll < 0.94)
      yield [{ kind: 'stageEntered', profileId, at, from: 'lead', stage: 'mql', session }];
    else if (roll < 0.95)
      yield [
        {
          kind: 'revenue',
          source: 'order',
          profileId,
          at,
          amount: Math.round(random() * 20_000) / 100,
          currency: random() < 0.9 ? 'EUR' : 'USD',
          firstTouch: { channel: pick(random, CHANNELS), campaign: null },
          lastTouch: { channel: session.channel, campaign: session.campaign },
          device: session.device,
        },
      ];
    else if (roll < 0.99)
      yield [
        {
          kind: 'email',
          outcome: pick(random, ['sent', 'delivered', 'opened', 'clicked'] as const),
          messageId: `m${i}`,
          profileId,
          at,
          journeyId: random() < 0.5 ? null : `journey-${Math.floor(random() * 10)}`,
        },
      ];
    else
      yield [
        {
          kind: 'journey',
          outcome: random() < 0.7 ? 'entered' : 'goal',
          profileId,
          journeyId: `journey-${Math.floor(random() * 10)}`,
          variant: random() < 0.5 ? 'A' : 'B',
          at,
        },
      ];
  }
}

/** One event's increments, as the consumer computes them. */
function incrementsOf(inputs: readonly KpiInput[]): CounterIncrement[] {
  return mergeIncrements(inputs.flatMap((input) => countersFor(input, SETTINGS)));
}

interface BuiltDay {
  readonly items: ReadonlyMap<string, { shard: number; increment: CounterIncrement; total: number }>;
  readonly increments: number;
  readonly markers: number;
}

/**
 * The counter items a day of events leaves in the table, with the store's semantics: each event lands on one random
 * shard, and an increment gated by a distinct marker counts only the first time its marker is seen.
 */
function buildDay(input: { day: string; events: number; seed: number }): BuiltDay {
  const random = seeded(input.seed + 1);
  const items = new Map<string, { shard: number; increment: CounterIncrement; total: number }>();
  const markers = new Set<string>();
  let increments = 0;
  for (const inputs of dayOfEvents(input)) {
    const shard = Math.floor(random() * COUNTER_SHARDS);
    const fresh = new Set<string>();
    for (const increment of incrementsOf(inputs)) {
      const marker = markerOf(increment);
      if (marker !== null && markers.has(marker)) continue;
      if (marker !== null) fresh.add(marker);
      increments += 1;
      const key = `${shard}\u001e${counterKey(increment)}`;
      const item = items.get(key) ?? { shard, increment, total: 0 };
      item.total += increment.by;
      items.set(key, item);
    }
    for (const marker of fresh) markers.add(marker);
  }
  return { items, increments, markers: markers.size };
}

async function writeItems(input: { client: DynamoDBClient; tableName: string; day: BuiltDay; date: string }) {
  const requests: WriteRequest[] = [...input.day.items.values()].map(({ shard, increment, total }) => ({
    PutRequest: {
      Item: {
        pk: { S: counterKeys.shard(input.date, shard) },
        sk: { S: counterKeys.counter(increment) },
        metric: { S: increment.metric },
        dimension: { S: increment.dimension },
        value: { S: increment.value },
        ...(increment.currency === null ? {} : { currency: { S: increment.currency } }),
        n: { N: String(Math.round(total * 1e6) / 1e6) },
      },
    },
  }));
  const batches: WriteRequest[][] = [];
  for (let i = 0; i < requests.length; i += 25) batches.push(requests.slice(i, i + 25));
  let next = 0;
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      while (next < batches.length) {
        let pending = batches[next] ?? [];
        next += 1;
        while (pending.length > 0) {
          const answer = await input.client.send(
            new BatchWriteItemCommand({ RequestItems: { [input.tableName]: pending } }),
          );
          pending = answer.UnprocessedItems?.[input.tableName] ?? [];
        }
      }
    }),
  );
}

const consumedSchema = z.object({
  ConsumedCapacity: z.object({ CapacityUnits: z.number().optional() }).optional(),
});

function localClient(endpoint: string): DynamoDBClient {
  return new DynamoDBClient({
    endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
}

/** A client that asks every call for its consumed capacity and counts Queries and read units. */
function countingClient(endpoint: string) {
  const client = localClient(endpoint);
  const reads = { queries: 0, readUnits: 0 };
  client.middlewareStack.add(
    (next, context) => async (args) => {
      if (context.commandName === 'QueryCommand') {
        reads.queries += 1;
        Object.assign(args.input, { ReturnConsumedCapacity: 'TOTAL' });
      }
      const result = await next(args);
      const consumed = consumedSchema.safeParse(result.output);
      if (context.commandName === 'QueryCommand' && consumed.success)
        reads.readUnits += consumed.data.ConsumedCapacity?.CapacityUnits ?? 0;
      return result;
    },
    { step: 'initialize', name: 'countKpiReads' },
  );
  return { client, reads };
}

const median = (values: readonly number[]) =>
  [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? 0;

/**
 * The rollup of one day exactly as the rollup function and POST /admin/kpis/rollup run it (`rollUpDays`: read the
 * counters, roll them up, store the KPI day), timed and counted; then one read of the counters for their number.
 */
async function measureRollup(input: { endpoint: string; tableName: string; day: string }) {
  const { client, reads } = countingClient(input.endpoint);
  const counters = new DynamoDbCounterStore({ client, tableName: input.tableName });
  const days = new DynamoDbKpiDayStore(client, input.tableName);
  const times: number[] = [];
  try {
    for (let run = 0; run < ROLLUP_RUNS; run += 1) {
      const started = performance.now();
      await rollUpDays({ counters, days, from: input.day, to: input.day, now: new Date(), timeZone: 'UTC' });
      times.push(performance.now() - started);
    }
    const queries = reads.queries / ROLLUP_RUNS;
    const readUnits = reads.readUnits / ROLLUP_RUNS;
    const read = await counters.readDay(input.day);
    return { ms: median(times), queries, readUnits, counters: read.counters.length };
  } finally {
    client.destroy();
  }
}

/** The pure increments per event, in microseconds (countersFor + mergeIncrements over a realistic mix). */
function microsecondsPerEvent(events: number): number {
  const inputs = [...dayOfEvents({ day: '2031-01-01', events, seed: 7 })];
  incrementsOf(inputs[0] ?? []);
  const started = performance.now();
  let sink = 0;
  for (const event of inputs) sink += incrementsOf(event).length;
  const elapsed = performance.now() - started;
  if (sink === 0) throw new Error('no increments');
  return (elapsed * 1000) / events;
}

/** Applying events one transaction each through the DynamoDB adapter, as the KPI consumer does. */
async function applyCost(input: { endpoint: string; tableName: string; events: number }) {
  const client = localClient(input.endpoint);
  const store = new DynamoDbCounterStore({ client, tableName: input.tableName });
  const events = [...dayOfEvents({ day: '2031-02-01', events: input.events, seed: 11 })];
  try {
    const started = performance.now();
    for (const [index, inputs] of events.entries())
      await store.apply({ dedupeKey: `bench-apply-${index}`, increments: incrementsOf(inputs) });
    return (performance.now() - started) / input.events;
  } finally {
    client.destroy();
  }
}

export async function benchKpis(options: {
  endpoint: string;
  tableName: string;
}): Promise<Record<string, number>> {
  const results: Record<string, number> = {};
  console.log('\nKPI counters and rollup (DynamoDB Local):');
  const pure = microsecondsPerEvent(100_000);
  const apply = await applyCost({ ...options, events: 500 });
  console.log(`  counters per event, pure countersFor + mergeIncrements: ${pure.toFixed(2)} µs`);
  console.log(
    `  counters per event, applied as one transaction to DynamoDB Local (500 events): ${apply.toFixed(2)} ms`,
  );
  results.countersMicrosecondsPerEvent = Number(pure.toFixed(2));
  results.applyMsPerEvent = Number(apply.toFixed(2));
  const rows: Array<Record<string, string | number>> = [];
  for (const [index, events] of [10_000, 1_000_000].entries()) {
    const day = `2031-03-0${index + 1}`;
    const started = performance.now();
    const built = buildDay({ day, events, seed: 42 + index });
    const buildMs = performance.now() - started;
    const writer = localClient(options.endpoint);
    try {
      await writeItems({ client: writer, tableName: options.tableName, day: built, date: day });
    } finally {
      writer.destroy();
    }
    const rollup = await measureRollup({ ...options, day });
    rows.push({
      events,
      increments: built.increments,
      'distinct markers (written, never read)': built.markers,
      'counter items (read)': built.items.size,
      'distinct counters': rollup.counters,
      'Queries per rollup': rollup.queries,
      'read units per rollup': rollup.readUnits,
      'rollup ms (median of 5)': Number(rollup.ms.toFixed(1)),
      'build ms (pure, in memory)': Math.round(buildMs),
    });
    const label = events === 10_000 ? '10k' : '1m';
    results[`rollupMs_${label}`] = Number(rollup.ms.toFixed(1));
    results[`rollupQueries_${label}`] = rollup.queries;
    results[`rollupReadUnits_${label}`] = rollup.readUnits;
    results[`counterItems_${label}`] = built.items.size;
  }
  console.table(rows);
  console.log(
    '  A rollup reads counters, not events: its Queries, read units and time follow the counter items (metric × dimension value × shard), which stop growing once a day uses its dimension values, so 100× the events costs about the same.',
  );
  return results;
}

/** `node --import tsx bench/kpis.ts`: this benchmark alone, on its own DynamoDB Local. */
async function main(): Promise<void> {
  const dynamo = await startDynamoDbLocal({ port: await reservePort(0, 'DynamoDB Local') });
  const client = localClient(dynamo.url);
  try {
    const tableName = 'kpi-bench';
    await client.send(
      new CreateTableCommand({
        TableName: tableName,
        BillingMode: 'PAY_PER_REQUEST',
        AttributeDefinitions: [
          { AttributeName: 'pk', AttributeType: 'S' },
          { AttributeName: 'sk', AttributeType: 'S' },
        ],
        KeySchema: [
          { AttributeName: 'pk', KeyType: 'HASH' },
          { AttributeName: 'sk', KeyType: 'RANGE' },
        ],
      }),
    );
    console.log(JSON.stringify(await benchKpis({ endpoint: dynamo.url, tableName })));
  } finally {
    client.destroy();
    await dynamo.stop();
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
  main().catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
}
