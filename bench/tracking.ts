// Tracking benchmark: events per second through the collect code against DynamoDB Local, and write units per event.
import { randomUUID } from 'node:crypto';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { BackPressureError, Collector, type CollectRequest } from '../functions/tracking/collect.ts';
import { DynamoDbTrackingStore } from '../functions/tracking/dynamodb-store.ts';
import { enrich } from '../functions/tracking/enrichment/index.ts';
import { decodeBody } from '../functions/tracking/ingest/body.ts';
import { parseSegmentRequest } from '../functions/tracking/ingest/segment.ts';
import { IngestService } from '../functions/tracking/ingest-service.ts';
import { applyEvents, emptyProfile } from '../functions/tracking/profile.ts';
import { SourceStore } from '../functions/tracking/source-store.ts';
import { newWriteKey } from '../functions/tracking/sources.ts';
import { LOCAL_CREDENTIALS, LOCAL_REGION } from '../lib/local/emulators.ts';

const WRITE_COMMANDS = new Set([
  'PutItemCommand',
  'UpdateItemCommand',
  'DeleteItemCommand',
  'TransactWriteItemsCommand',
  'BatchWriteItemCommand',
]);

/** Counts write capacity units of every write, from the service's own ReturnConsumedCapacity answer. */
export class WriteUnitMeter {
  units = 0;
  writes = 0;
  failedConditionalWrites = 0;

  attach(client: DynamoDBClient): void {
    client.middlewareStack.add(
      (next, context) => async (args) => {
        const input = args.input;
        const isWrite = WRITE_COMMANDS.has(context.commandName ?? '');
        if (isWrite && typeof input === 'object' && input !== null)
          Reflect.set(input, 'ReturnConsumedCapacity', 'TOTAL');
        try {
          const result = await next(args);
          if (isWrite) {
            this.writes += 1;
            const consumed: unknown = Reflect.get(Object(result.output), 'ConsumedCapacity');
            for (const entry of Array.isArray(consumed) ? consumed : [consumed]) {
              const units: unknown =
                typeof entry === 'object' && entry !== null ? Reflect.get(entry, 'CapacityUnits') : 0;
              this.units += typeof units === 'number' ? units : 0;
            }
          }
          return result;
        } catch (error) {
          // A failed conditional write is billed too (at least one unit), though the error carries no figure.
          if (isWrite && error instanceof Error && error.name === 'ConditionalCheckFailedException') {
            this.failedConditionalWrites += 1;
            this.units += 1;
          }
          throw error;
        }
      },
      { step: 'initialize', name: 'writeUnitMeter' },
    );
  }

  reset(): void {
    this.units = 0;
    this.writes = 0;
    this.failedConditionalWrites = 0;
  }
}

export interface ScenarioResult {
  readonly scenario: string;
  readonly requests: number;
  readonly events: number;
  readonly seconds: number;
  readonly eventsPerSecond: number;
  readonly writeUnitsPerEvent: number;
  readonly cpuMsPerEvent: number;
}

function request(writeKey: string, path: string, body: unknown): CollectRequest {
  return {
    method: 'POST',
    path,
    headers: {
      authorization: `Basic ${Buffer.from(`${writeKey}:`).toString('base64')}`,
      'content-type': 'text/plain',
      'user-agent':
        'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36',
    },
    query: {},
    body: JSON.stringify(body),
    isBase64Encoded: false,
    sourceIp: '203.0.113.7',
    receivedAt: new Date(),
  };
}

function page(anonymousId: string, n: number, userId?: string) {
  return {
    type: 'page',
    messageId: randomUUID(),
    anonymousId,
    ...(userId ? { userId } : {}),
    timestamp: new Date(Date.now() - 60_000 + n * 1000).toISOString(),
    properties: { path: `/docs/${n}`, title: 'Docs' },
    context: {
      page: {
        url: `https://www.example.com/docs/${n}${n === 0 ? '?utm_source=newsletter&utm_medium=email&utm_campaign=launch' : ''}`,
        referrer: n === 0 ? 'https://www.google.com/' : `https://www.example.com/docs/${n - 1}`,
      },
    },
  };
}

async function run(
  name: string,
  meter: WriteUnitMeter,
  work: () => Promise<{ requests: number; events: number }>,
): Promise<ScenarioResult> {
  meter.reset();
  const cpu = process.cpuUsage();
  const started = performance.now();
  const { requests, events } = await work();
  const seconds = (performance.now() - started) / 1000;
  const used = process.cpuUsage(cpu);
  return {
    scenario: name,
    requests,
    events,
    seconds: Number(seconds.toFixed(2)),
    eventsPerSecond: Math.round(events / seconds),
    writeUnitsPerEvent: Number((meter.units / events).toFixed(2)),
    cpuMsPerEvent: Number(((used.user + used.system) / 1000 / events).toFixed(2)),
  };
}

/** Runs the scenarios against a table already provisioned in DynamoDB Local. */
export async function benchTracking(options: {
  endpoint: string;
  tableName: string;
}): Promise<ScenarioResult[]> {
  const client = new DynamoDBClient({
    endpoint: options.endpoint,
    region: LOCAL_REGION,
    credentials: LOCAL_CREDENTIALS,
  });
  const meter = new WriteUnitMeter();
  meter.attach(client);
  const store = new DynamoDbTrackingStore({ client, tableName: options.tableName, eventRetentionDays: 396 });
  const sources = new SourceStore(client, options.tableName);
  const ingest = new IngestService(store);
  const writeKey = newWriteKey();
  const source = await sources.create({ name: 'bench', writeKey });
  const collector = new Collector({
    sourceForWriteKey: async (key) => (key === writeKey ? source.id : undefined),
    ingest: (events) => ingest.ingest(events),
    countRejected: async () => {
      throw new BackPressureError('not expected in the benchmark');
    },
  });
  const send = async (path: string, body: unknown) => {
    const response = await collector.handle(request(writeKey, path, body));
    if (response.status !== 200) throw new Error(`${path} answered ${response.status}: ${response.body}`);
  };

  const results: ScenarioResult[] = [];
  // Browsers: one event per request (analytics.js, the snippet); 10 page views per visitor, identify on the 5th.
  const visitors = Array.from({ length: 100 }, () => ({
    anonymousId: randomUUID(),
    userId: `user-${randomUUID()}`,
  }));
  results.push(
    await run('browser: 1 event per request', meter, async () => {
      let events = 0;
      await Promise.all(
        visitors.map(async (visitor) => {
          for (let n = 0; n < 10; n += 1) {
            await send('/v1/p', page(visitor.anonymousId, n));
            events += 1;
            if (n === 4) {
              await send('/v1/i', {
                type: 'identify',
                messageId: randomUUID(),
                anonymousId: visitor.anonymousId,
                userId: visitor.userId,
                traits: { email: `${visitor.userId}@example.com` },
              });
              events += 1;
            }
          }
        }),
      );
      return { requests: events, events };
    }),
  );
  // Servers: analytics-node style batches of 100 events across many users.
  const batches = Array.from({ length: 20 }, (_, b) =>
    Array.from({ length: 100 }, (_, i) => ({
      type: 'track',
      messageId: randomUUID(),
      userId: `server-user-${(b * 100 + i) % 250}`,
      event: 'Invoice Paid',
      properties: { amount: 42, currency: 'EUR' },
      timestamp: new Date().toISOString(),
    })),
  );
  results.push(
    await run('server: batches of 100', meter, async () => {
      for (let i = 0; i < batches.length; i += 4) {
        await Promise.all(
          batches
            .slice(i, i + 4)
            .map((batch) => send('/v1/batch', { batch, sentAt: new Date().toISOString() })),
        );
      }
      return { requests: batches.length, events: batches.length * 100 };
    }),
  );
  results.push(
    await run('replay of the server batches (all duplicates)', meter, async () => {
      for (const batch of batches) await send('/v1/batch', { batch });
      return { requests: batches.length, events: batches.length * 100 };
    }),
  );
  client.destroy();
  return results;
}

/** CPU of the tracking domain alone (decode, parse, enrich, apply to a profile), without any storage call. */
export function benchDomain(events = 5000): { microsecondsPerEvent: number } {
  const collectorless = Array.from({ length: events }, (_, n) => page(`anon-${n % 50}`, n % 10));
  const body = JSON.stringify({ batch: collectorless, sentAt: new Date().toISOString() });
  const started = process.cpuUsage();
  const decoded = decodeBody({ body, isBase64Encoded: false, headers: { 'content-type': 'text/plain' } });
  if (!decoded.ok) throw new Error(decoded.error);
  const parsed = parseSegmentRequest({ path: '/v1/batch', body: decoded.value });
  if ('error' in parsed) throw new Error(parsed.error);
  let profile = emptyProfile('bench');
  const receivedAt = new Date();
  for (const verdict of parsed.events) {
    if (!verdict.ok) continue;
    const enriched = {
      ...verdict.event,
      sourceId: 'bench',
      enrichment: enrich(verdict.event, {
        receivedAt,
        userAgentHeader: 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) Mobile/15E148',
      }),
    };
    profile = applyEvents(profile, [enriched]);
  }
  const used = process.cpuUsage(started);
  return { microsecondsPerEvent: Number(((used.user + used.system) / events).toFixed(1)) };
}
