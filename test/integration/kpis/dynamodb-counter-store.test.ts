// The KPI counter store against DynamoDB Local: exactly-once applies, distinct markers, concurrency and read cost.
import { randomUUID } from 'node:crypto';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { beforeAll, describe, expect, it } from 'vitest';
import type { DayCounters } from '../../../functions/kpis/counter-store.ts';
import { type CounterIncrement, countersFor } from '../../../functions/kpis/counters.ts';
import { DynamoDbCounterStore } from '../../../functions/kpis/dynamodb-counter-store.ts';
import type { KpiInput } from '../../../functions/kpis/inputs.ts';
import { LOCAL_CREDENTIALS, LOCAL_REGION } from '../../../lib/local/emulators.ts';
import { createProfileStoreTable, dynamodb, endpoints, uniqueName } from '../clients.ts';

const settings = { timeZone: 'UTC', currency: 'EUR' };
let nextDay = 0;
/** Each test counts on its own day, so tests sharing the table never see each other's counters. */
const freshDay = () => {
  nextDay += 1;
  return new Date(Date.UTC(2030, 0, nextDay)).toISOString().slice(0, 10);
};

function sessionStart(profileId: string, day: string, channel = 'direct'): CounterIncrement[] {
  const input: KpiInput = {
    kind: 'sessionStarted',
    profileId,
    at: `${day}T10:00:00.000Z`,
    channel,
    campaign: null,
    landingPage: '/',
    device: 'desktop',
  };
  return countersFor(input, settings);
}

const total = (day: DayCounters, metric: string, dimension = 'all', value = 'all') =>
  day.counters.find((c) => c.metric === metric && c.dimension === dimension && c.value === value)?.total ?? 0;

async function inParallel<T>(items: readonly T[], limit: number, run: (item: T) => Promise<unknown>) {
  let next = 0;
  await Promise.all(
    Array.from({ length: limit }, async () => {
      while (next < items.length) {
        const item = items[next];
        next += 1;
        if (item !== undefined) await run(item);
      }
    }),
  );
}

describe('DynamoDbCounterStore', () => {
  const tableName = uniqueName('kpis');
  const store = new DynamoDbCounterStore({ client: dynamodb, tableName });

  beforeAll(async () => {
    await createProfileStoreTable(tableName);
  });

  it('applies a replayed event once', async () => {
    const day = freshDay();
    const event = { dedupeKey: `e-${randomUUID()}`, increments: sessionStart('p1', day) };

    const first = await store.apply(event);
    const replay = await store.apply(event);

    expect([first.applied, replay.applied]).toEqual([true, false]);
    expect(total(await store.readDay(day), 'sessions')).toBe(1);
  });

  it('counts a visitor once per day however many sessions they start, on every channel they came by', async () => {
    const day = freshDay();

    await store.apply({ dedupeKey: randomUUID(), increments: sessionStart('p1', day, 'direct') });
    await store.apply({ dedupeKey: randomUUID(), increments: sessionStart('p1', day, 'direct') });
    await store.apply({ dedupeKey: randomUUID(), increments: sessionStart('p1', day, 'organic search') });
    const counters = await store.readDay(day);

    expect([total(counters, 'sessions'), total(counters, 'visitors')]).toEqual([3, 1]);
    expect(total(counters, 'visitors', 'channel', 'direct')).toBe(1);
    expect(total(counters, 'visitors', 'channel', 'organic search')).toBe(1);
  });

  it('keeps money per currency and exact to the cent across shards', async () => {
    const day = freshDay();
    const order = (amount: number, currency: string): KpiInput => ({
      kind: 'revenue',
      source: 'order',
      profileId: `p-${randomUUID()}`,
      at: `${day}T12:00:00.000Z`,
      amount,
      currency,
      firstTouch: null,
      lastTouch: null,
      device: null,
    });

    for (const [amount, currency] of [
      [0.1, 'EUR'],
      [0.2, 'EUR'],
      [5, 'USD'],
    ] as const)
      await store.apply({
        dedupeKey: randomUUID(),
        increments: countersFor(order(amount, currency), settings),
      });
    const revenue = (await store.readDay(day)).counters.filter(
      (c) => c.metric === 'revenue' && c.dimension === 'all',
    );

    expect(Object.fromEntries(revenue.map((c) => [c.currency, c.total]))).toEqual({ EUR: 0.3, USD: 5 });
  });

  it('sums concurrent applies exactly, distinct visitors included', async () => {
    const day = freshDay();
    const events = Array.from({ length: 120 }, (_, index) => ({
      dedupeKey: `e-${randomUUID()}`,
      increments: sessionStart(`p${index % 30}`, day, index % 2 === 0 ? 'direct' : 'referral'),
    }));

    await inParallel([...events, ...events.slice(0, 40)], 24, (event) => store.apply(event));
    const counters = await store.readDay(day);

    expect(total(counters, 'sessions')).toBe(120);
    expect(total(counters, 'visitors')).toBe(30);
    expect(total(counters, 'visitors', 'channel', 'direct')).toBe(15);
  });

  it('reads a day of 5,000 increments with as many queries as a day of 50', async () => {
    let queries = 0;
    const counted = new DynamoDBClient({
      region: LOCAL_REGION,
      credentials: LOCAL_CREDENTIALS,
      endpoint: endpoints.dynamodb,
    });
    counted.middlewareStack.add(
      (next, context) => async (args) => {
        if (context.commandName === 'QueryCommand') queries += 1;
        return next(args);
      },
      { step: 'initialize' },
    );
    const reader = new DynamoDbCounterStore({ client: counted, tableName });
    const small = freshDay();
    const large = freshDay();
    // A page view adds 5 increments (all, channel, campaign, landing page, device).
    const pageViews = (day: string, count: number) =>
      Array.from({ length: count }, (_, index) => ({
        dedupeKey: randomUUID(),
        increments: countersFor(
          {
            kind: 'pageViewed',
            profileId: `p${index}`,
            at: `${day}T10:00:00.000Z`,
            session: {
              channel: 'direct',
              campaign: `c${index % 20}`,
              landingPage: `/p${index % 50}`,
              device: 'mobile',
            },
          },
          settings,
        ),
      }));
    await inParallel(pageViews(small, 10), 10, (event) => store.apply(event));
    // The benchmark (bench/kpis.ts) shows the same for a million events; here a thousand keep the suite quick.
    await inParallel(pageViews(large, 1_000), 32, (event) => store.apply(event));

    queries = 0;
    const smallDay = await reader.readDay(small);
    const smallQueries = queries;
    queries = 0;
    const largeDay = await reader.readDay(large);
    const largeQueries = queries;

    expect(total(smallDay, 'pageViews')).toBe(10);
    expect(total(largeDay, 'pageViews')).toBe(1_000);
    expect(largeQueries).toBe(smallQueries);
  }, 300_000);
});
