// Reads a DynamoDB Local stream and invokes a function with batches, as Lambda's stream event source mapping does.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import {
  type AttributeValue,
  DescribeStreamCommand,
  type DynamoDBStreamsClient,
  GetRecordsCommand,
  GetShardIteratorCommand,
  type _Record as StreamRecord,
} from '@aws-sdk/client-dynamodb-streams';
import { SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { DynamoDBRecord } from 'aws-lambda';
import { z } from 'zod';
import { type EventPattern, matchesEventPattern } from './event-pattern.ts';
import type { InvokeResult } from './types.ts';

export interface StreamEventSourceDefinition {
  readonly logicalId: string;
  readonly functionLogicalId: string;
  /** The real stream ARN of the local table (DescribeTable's LatestStreamArn). */
  readonly streamArn: string;
  readonly startingPosition: 'TRIM_HORIZON' | 'LATEST';
  readonly batchSize: number;
  readonly maximumBatchingWindowSeconds: number;
  readonly reportBatchItemFailures: boolean;
  readonly bisectBatchOnFunctionError: boolean;
  /** -1: retry until the record expires, as on AWS; locally that means forever. */
  readonly maximumRetryAttempts: number;
  /** Queue URL of the on-failure destination, if any. */
  readonly onFailureQueueUrl?: string;
  readonly filters: readonly EventPattern[];
  readonly enabled: boolean;
}

export interface StreamSourceStats {
  batches: number;
  records: number;
  failedInvocations: number;
  discarded: number;
}

function toLambdaAttribute(value: AttributeValue): unknown {
  if (value.B !== undefined) return { B: Buffer.from(value.B).toString('base64') };
  if (value.BS !== undefined) return { BS: value.BS.map((b) => Buffer.from(b).toString('base64')) };
  if (value.L !== undefined) return { L: value.L.map(toLambdaAttribute) };
  if (value.M !== undefined) return { M: toLambdaImage(value.M) };
  return value;
}

function toLambdaImage(
  image: Record<string, AttributeValue> | undefined,
): Record<string, unknown> | undefined {
  if (image === undefined) return undefined;
  return Object.fromEntries(Object.entries(image).map(([k, v]) => [k, toLambdaAttribute(v)]));
}

const lambdaRecordSchema = z.custom<DynamoDBRecord>((value) => typeof value === 'object' && value !== null);

/** Lambda's DynamoDB stream record: binary attributes as base64 strings, times in epoch seconds. */
export function toLambdaRecord(record: StreamRecord, streamArn: string, region: string): DynamoDBRecord {
  const d = record.dynamodb ?? {};
  return lambdaRecordSchema.parse({
    eventID: record.eventID,
    eventName: record.eventName,
    eventVersion: record.eventVersion ?? '1.1',
    eventSource: 'aws:dynamodb',
    awsRegion: region,
    dynamodb: {
      ApproximateCreationDateTime: d.ApproximateCreationDateTime
        ? Math.floor(new Date(d.ApproximateCreationDateTime).getTime() / 1000)
        : Math.floor(Date.now() / 1000),
      Keys: toLambdaImage(d.Keys),
      NewImage: toLambdaImage(d.NewImage),
      OldImage: toLambdaImage(d.OldImage),
      SequenceNumber: d.SequenceNumber,
      SizeBytes: d.SizeBytes,
      StreamViewType: d.StreamViewType,
    },
    eventSourceARN: streamArn,
  });
}

/** Index of the first record Lambda must retry, or -1 when the whole batch succeeded. */
export function firstFailure(
  records: readonly DynamoDBRecord[],
  result: InvokeResult,
  reportBatchItemFailures: boolean,
): number {
  if (!result.ok) return 0;
  if (!reportBatchItemFailures) return -1;
  const value = result.value;
  if (value === null || value === undefined || typeof value !== 'object' || !('batchItemFailures' in value))
    return -1;
  const failures = value.batchItemFailures;
  if (!Array.isArray(failures) || failures.length === 0)
    return failures === null || Array.isArray(failures) ? -1 : 0;
  let lowest = Number.POSITIVE_INFINITY;
  for (const failure of failures) {
    const id: unknown =
      typeof failure === 'object' && failure !== null ? Reflect.get(failure, 'itemIdentifier') : undefined;
    const index = records.findIndex((r) => r.dynamodb?.SequenceNumber === id);
    // An identifier that is not in the batch makes Lambda retry the whole batch.
    if (index < 0) return 0;
    lowest = Math.min(lowest, index);
  }
  return lowest;
}

interface ShardState {
  iterator: string | undefined;
  /** Records read but not yet delivered successfully (retries start from here). */
  pending: StreamRecord[];
  attempts: number;
  closed: boolean;
}

export class DynamoDbStreamSource {
  private running = false;
  private loop?: Promise<void>;
  private readonly shards = new Map<string, ShardState>();
  private checkpoints: Record<string, string> = {};
  readonly stats: StreamSourceStats = { batches: 0, records: 0, failedInvocations: 0, discarded: 0 };

  constructor(
    private readonly definition: StreamEventSourceDefinition,
    private readonly streams: DynamoDBStreamsClient,
    private readonly sqs: SQSClient,
    private readonly invoke: (event: { Records: DynamoDBRecord[] }) => Promise<InvokeResult>,
    private readonly options: { region: string; checkpointFile: string; onError: (message: string) => void },
  ) {
    if (existsSync(options.checkpointFile)) {
      const parsed = z
        .record(z.string(), z.string())
        .safeParse(JSON.parse(readFileSync(options.checkpointFile, 'utf8')));
      if (parsed.success) this.checkpoints = parsed.data;
    }
  }

  start(): void {
    if (!this.definition.enabled || this.running) return;
    this.running = true;
    this.loop = this.run();
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.loop;
  }

  /** Resolves once the poller went twice round all shards without finding a record: for tests and tools. */
  async idle(timeoutMs = 15_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    this.rediscover = true;
    this.quietRounds = 0;
    while (this.quietRounds < 2) {
      if (Date.now() > deadline)
        throw new Error(`stream source ${this.definition.logicalId} did not go idle`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  private rediscover = true;
  private quietRounds = 0;

  private checkpointKey(shardId: string): string {
    return `${this.definition.streamArn}|${shardId}`;
  }

  private saveCheckpoint(shardId: string, sequenceNumber: string): void {
    this.checkpoints[this.checkpointKey(shardId)] = sequenceNumber;
    writeFileSync(this.options.checkpointFile, JSON.stringify(this.checkpoints));
  }

  private async discoverShards(): Promise<void> {
    const { StreamDescription } = await this.streams.send(
      new DescribeStreamCommand({ StreamArn: this.definition.streamArn }),
    );
    for (const shard of StreamDescription?.Shards ?? []) {
      const shardId = shard.ShardId;
      if (!shardId || this.shards.has(shardId)) continue;
      const after = this.checkpoints[this.checkpointKey(shardId)];
      const { ShardIterator } = await this.streams.send(
        new GetShardIteratorCommand({
          StreamArn: this.definition.streamArn,
          ShardId: shardId,
          ...(after
            ? { ShardIteratorType: 'AFTER_SEQUENCE_NUMBER', SequenceNumber: after }
            : { ShardIteratorType: this.definition.startingPosition }),
        }),
      );
      this.shards.set(shardId, { iterator: ShardIterator, pending: [], attempts: 0, closed: false });
    }
  }

  private async read(shard: ShardState): Promise<void> {
    if (!shard.iterator || shard.pending.length >= this.definition.batchSize) return;
    const response = await this.streams.send(
      new GetRecordsCommand({
        ShardIterator: shard.iterator,
        Limit: this.definition.batchSize - shard.pending.length,
      }),
    );
    shard.pending.push(...(response.Records ?? []));
    shard.iterator = response.NextShardIterator;
    if (!shard.iterator) shard.closed = true;
  }

  private async run(): Promise<void> {
    let lastDiscovery = 0;
    while (this.running) {
      try {
        if (this.rediscover || Date.now() - lastDiscovery > 2000) {
          this.rediscover = false;
          await this.discoverShards();
          lastDiscovery = Date.now();
        }
        let delivered = false;
        for (const [shardId, shard] of this.shards) {
          await this.read(shard);
          if (shard.pending.length > 0) {
            await this.deliver(shardId, shard);
            delivered = true;
          }
        }
        this.quietRounds = delivered ? 0 : this.quietRounds + 1;
        if (!delivered) await new Promise((r) => setTimeout(r, 100));
      } catch (error) {
        if (!this.running) return;
        this.options.onError(
          `stream source ${this.definition.logicalId}: ${error instanceof Error ? error.message : String(error)}`,
        );
        await new Promise((r) => setTimeout(r, 1000));
      }
    }
  }

  private async deliver(shardId: string, shard: ShardState): Promise<void> {
    const all = shard.pending.map((r) => toLambdaRecord(r, this.definition.streamArn, this.options.region));
    const selected = all.filter(
      (r) =>
        this.definition.filters.length === 0 ||
        this.definition.filters.some((p) => matchesEventPattern(p, r)),
    );
    if (selected.length === 0) {
      this.complete(shardId, shard, shard.pending.length);
      return;
    }
    // Bisecting on error: after a failure, retry with half the batch to isolate a poison record.
    const size =
      this.definition.bisectBatchOnFunctionError && shard.attempts > 0
        ? Math.max(1, Math.ceil(selected.length / 2 ** shard.attempts))
        : selected.length;
    const batch = selected.slice(0, size);
    this.stats.batches += 1;
    this.stats.records += batch.length;
    const result = await this.invoke({ Records: batch });
    const failedAt = firstFailure(batch, result, this.definition.reportBatchItemFailures);
    const lastOfBatch = batch[batch.length - 1];
    const rawIndexOf = (record: DynamoDBRecord | undefined) =>
      shard.pending.findIndex((r) => r.dynamodb?.SequenceNumber === record?.dynamodb?.SequenceNumber);
    if (failedAt < 0) {
      shard.attempts = 0;
      this.complete(shardId, shard, rawIndexOf(lastOfBatch) + 1);
      return;
    }
    this.stats.failedInvocations += 1;
    if (failedAt > 0) this.complete(shardId, shard, rawIndexOf(batch[failedAt]));
    shard.attempts += 1;
    const max = this.definition.maximumRetryAttempts;
    if (max >= 0 && shard.attempts > max) {
      const failed = batch.slice(failedAt);
      await this.sendToOnFailure(failed, result);
      this.stats.discarded += failed.length;
      shard.attempts = 0;
      this.complete(shardId, shard, rawIndexOf(failed[failed.length - 1]) + 1);
      return;
    }
    this.options.onError(
      `stream source ${this.definition.logicalId}: batch failed (attempt ${shard.attempts}), retrying from record ${failedAt}`,
    );
    await new Promise((r) => setTimeout(r, Math.min(5000, 200 * 2 ** shard.attempts)));
  }

  /** Checkpoints the first `count` pending records of a shard. */
  private complete(shardId: string, shard: ShardState, count: number): void {
    if (count <= 0) return;
    const last = shard.pending[count - 1];
    shard.pending = shard.pending.slice(count);
    const sequence = last?.dynamodb?.SequenceNumber;
    if (sequence) this.saveCheckpoint(shardId, sequence);
  }

  private async sendToOnFailure(records: readonly DynamoDBRecord[], result: InvokeResult): Promise<void> {
    const first = records[0]?.dynamodb?.SequenceNumber;
    const last = records[records.length - 1]?.dynamodb?.SequenceNumber;
    const message = {
      requestContext: {
        condition: 'RetryAttemptsExhausted',
        approximateInvokeCount: this.definition.maximumRetryAttempts + 1,
      },
      responseContext: { functionError: result.ok ? undefined : result.error.errorType },
      version: '1.0',
      timestamp: new Date().toISOString(),
      DDBStreamBatchInfo: {
        shardId: 'local',
        startSequenceNumber: first,
        endSequenceNumber: last,
        batchSize: records.length,
        streamArn: this.definition.streamArn,
      },
    };
    if (!this.definition.onFailureQueueUrl) {
      this.options.onError(
        `stream source ${this.definition.logicalId}: discarded ${records.length} record(s) after retries`,
      );
      return;
    }
    await this.sqs.send(
      new SendMessageCommand({
        QueueUrl: this.definition.onFailureQueueUrl,
        MessageBody: JSON.stringify(message),
      }),
    );
  }
}
