// Journey storage throughput: enrollment commits, timers fired, and what a sweep reads while many profiles wait.
import { randomUUID } from 'node:crypto';
import { type AttributeValue, BatchWriteItemCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDbJourneyStore, timerItem } from '../functions/journeys/dynamodb-store.ts';
import type { Enrollment, Timer } from '../functions/journeys/model.ts';
import { TimerSweeper } from '../functions/journeys/sweeper.ts';

const ENROLLMENTS = 5_000;
const TIMERS_FIRED = 5_000;
const COMMIT_CONCURRENCY = 16;
const LOAD_CONCURRENCY = 32;
/** One million waiting profiles is the figure to show; DynamoDB Local may need it lowered (see below). */
const DEFAULT_WAITING = 1_000_000;
const BATCH = 25;

/** Runs `work` for every index below `count`, `concurrency` at a time. */
async function inPool(count: number, concurrency: number, work: (index: number) => Promise<void>) {
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < count) {
        const index = next;
        next += 1;
        await work(index);
      }
    }),
  );
}

function waitingEnrollment(profileId: string, journeyId: string, timer: Timer, at: string): Enrollment {
  return {
    profileId,
    journeyId,
    run: 1,
    journeyVersion: 1,
    status: 'active',
    exitReason: null,
    goalId: null,
    nodeId: 'wait',
    waiting: { kind: 'wait', nodeId: 'wait', until: timer.dueAt, timerId: timer.timerId },
    variant: null,
    enteredAt: at,
    updatedAt: at,
    exitedAt: null,
    history: [{ at, nodeId: 'wait', outcome: 'waiting' }],
    processed: [`trigger:${profileId}`],
    sends: [],
    steps: 2,
    pendingEffects: [],
    version: 1,
  };
}

async function writeAll(client: DynamoDBClient, tableName: string, items: Record<string, AttributeValue>[]) {
  let pending = items.map((Item) => ({ PutRequest: { Item } }));
  for (let attempt = 0; pending.length > 0; attempt += 1) {
    if (attempt > 0) await new Promise((resolve) => setTimeout(resolve, 20 * 2 ** Math.min(attempt, 6)));
    const { UnprocessedItems } = await client.send(
      new BatchWriteItemCommand({ RequestItems: { [tableName]: pending } }),
    );
    pending = (UnprocessedItems?.[tableName] ?? []).flatMap((r) =>
      r.PutRequest?.Item ? [{ PutRequest: { Item: r.PutRequest.Item } }] : [],
    );
  }
}

export async function benchJourneyTimers(options: {
  endpoint: string;
  tableName: string;
}): Promise<Record<string, number | string>> {
  const waiting = Number(process.env.JOURNEY_BENCH_WAITING ?? DEFAULT_WAITING);
  if (!Number.isInteger(waiting) || waiting < 0)
    throw new Error('JOURNEY_BENCH_WAITING must be a whole number');
  const client = new DynamoDBClient({
    endpoint: options.endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
  const now = new Date('2026-05-01T12:00:00.000Z');
  const at = now.toISOString();
  const run = randomUUID().slice(0, 8);
  let units = 0;
  let reports = 0;
  const store = new DynamoDbJourneyStore({
    client,
    tableName: options.tableName,
    now: () => now,
    onConsumed: (consumed) => {
      units += consumed;
      reports += 1;
    },
  });
  try {
    // (1) New enrollments, each waiting with a timer, committed in one transaction apiece.
    const journeyId = `bench-${run}`;
    let started = performance.now();
    await inPool(ENROLLMENTS, COMMIT_CONCURRENCY, async (i) => {
      const profileId = `bench_${run}_${i}`;
      const timer: Timer = {
        timerId: `tmr_${run}_${i}`,
        dueAt: new Date(now.getTime() + 3 * 86_400_000 + i).toISOString(),
        profileId,
        journeyId,
        kind: 'step',
      };
      await store.commit({
        next: waitingEnrollment(profileId, journeyId, timer, at),
        expectedVersion: 0,
        setTimers: [timer],
        deleteTimers: [],
        counters: [
          { nodeId: 'start', counter: 'entered', variant: null, delta: 1 },
          { nodeId: 'wait', counter: 'waiting', variant: null, delta: 1 },
        ],
        scores: [],
      });
    });
    const enrollSeconds = (performance.now() - started) / 1000;
    const commitUnits = units / ENROLLMENTS;

    // (2) Timers due now, fired by the sweep through a publisher that accepts everything.
    const due: Record<string, AttributeValue>[] = Array.from({ length: TIMERS_FIRED }, (_, i) =>
      timerItem({
        timerId: `due_${run}_${i}`,
        dueAt: new Date(now.getTime() - 3_600_000 + i).toISOString(),
        profileId: `due_${run}_${i}`,
        journeyId,
        kind: 'step',
      }),
    );
    await inPool(Math.ceil(due.length / BATCH), LOAD_CONCURRENCY, (b) =>
      writeAll(client, options.tableName, due.slice(b * BATCH, (b + 1) * BATCH)),
    );
    const sweeper = new TimerSweeper({
      store,
      publisher: { publish: async () => ({ failed: [] }) },
      now: () => now,
    });
    started = performance.now();
    const swept = await sweeper.sweep();
    const fireSeconds = (performance.now() - started) / 1000;
    if (swept.fired !== TIMERS_FIRED)
      throw new Error(`the sweep fired ${swept.fired} of ${TIMERS_FIRED} timers`);

    // (3) Many profiles waiting, none due: what one sweep reads.
    started = performance.now();
    const batches = Math.ceil(waiting / BATCH);
    await inPool(batches, LOAD_CONCURRENCY, (b) => {
      const items: Record<string, AttributeValue>[] = [];
      for (let i = b * BATCH; i < Math.min(waiting, (b + 1) * BATCH); i += 1)
        items.push(
          timerItem({
            timerId: `w_${run}_${i}`,
            // Spread over the next 30 days, after the enrollments' timers.
            dueAt: new Date(now.getTime() + 4 * 86_400_000 + (i % 2_592_000) * 1000).toISOString(),
            profileId: `w_${run}_${i}`,
            journeyId,
            kind: 'step',
          }),
        );
      return writeAll(client, options.tableName, items);
    });
    const loadSeconds = (performance.now() - started) / 1000;
    units = 0;
    reports = 0;
    let itemsRead = 0;
    const idle = new TimerSweeper({
      store: {
        dueTimers: async (time, limit) => {
          const timers = await store.dueTimers(time, limit);
          itemsRead += timers.length;
          return timers;
        },
        deleteTimer: (timer) => store.deleteTimer(timer),
      },
      publisher: { publish: async () => ({ failed: [] }) },
      now: () => now,
    });
    const idleResult = await idle.sweep();
    const sweepUnits = units;
    const sweepQueries = reports;

    const figures = {
      enrollments: ENROLLMENTS,
      enrollmentsPerSecond: Math.round(ENROLLMENTS / enrollSeconds),
      writeUnitsPerEnrollment: Math.round(commitUnits * 10) / 10,
      timersFired: swept.fired,
      timersFiredPerSecond: Math.round(swept.fired / fireSeconds),
      waitingTimers: waiting,
      waitingLoadSeconds: Math.round(loadSeconds),
      idleSweepFired: idleResult.fired,
      idleSweepItemsRead: itemsRead,
      idleSweepQueries: sweepQueries,
      readUnitsPerSweep: sweepUnits,
      readUnitsPerMinute: sweepUnits,
      /** DynamoDB bills an eventually consistent Query at least 0.5 read units, even when it returns nothing. */
      awsReadUnitsPerSweepAtLeast: sweepQueries * 0.5,
      /** Transactional writes cost 2 units per item-KB: enrollment, timer and two counter items. */
      awsWriteUnitsPerEnrollmentAtLeast: 2 * 4,
    };
    console.log(
      `\njourney storage against DynamoDB Local:\n` +
        `  enrollment commits (enrollment + wait timer + 2 counters, ${COMMIT_CONCURRENCY} in flight, n=${ENROLLMENTS}): ` +
        `${figures.enrollmentsPerSecond} enrollments/s, ${figures.writeUnitsPerEnrollment} write units each as DynamoDB Local ` +
        `reports them (AWS bills transactions at 2 units per item-KB: at least ${figures.awsWriteUnitsPerEnrollmentAtLeast})\n` +
        `  timer sweep (no-op publisher, n=${TIMERS_FIRED}): ${figures.timersFiredPerSecond} timers fired/s\n` +
        `  ${waiting.toLocaleString('en-US')} waiting timers loaded in ${figures.waitingLoadSeconds} s ` +
        `(BatchWriteItem, ${LOAD_CONCURRENCY} in flight)` +
        (process.env.JOURNEY_BENCH_WAITING === undefined ? '' : ' (lowered by JOURNEY_BENCH_WAITING)') +
        `\n  a sweep with none due: ${sweepQueries} Queries (one per timer shard), ${itemsRead} items read, ` +
        `${sweepUnits} read units as DynamoDB Local reports them (AWS bills at least 0.5 per Query: ` +
        `${figures.awsReadUnitsPerSweepAtLeast}); at one sweep per minute: ${figures.awsReadUnitsPerSweepAtLeast} ` +
        `read units/minute, whatever number wait`,
    );
    return figures;
  } finally {
    client.destroy();
  }
}
