// Polls an SQS queue and invokes a function with batches, as Lambda's event source mapping does.
import { randomUUID } from 'node:crypto';
import {
  ChangeMessageVisibilityBatchCommand,
  DeleteMessageBatchCommand,
  GetQueueAttributesCommand,
  type Message,
  type QueueAttributeName,
  ReceiveMessageCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import type { SQSEvent, SQSRecord } from 'aws-lambda';
import { type EventPattern, matchesEventPattern } from './event-pattern.ts';
import type { InvokeResult } from './types.ts';

export interface SqsEventSourceDefinition {
  readonly logicalId: string;
  readonly functionLogicalId: string;
  readonly queueUrl: string;
  readonly queueArn: string;
  readonly batchSize: number;
  readonly maximumBatchingWindowSeconds: number;
  readonly reportBatchItemFailures: boolean;
  /** ScalingConfig.MaximumConcurrency: batches in flight at once. */
  readonly maximumConcurrency: number;
  /** FilterCriteria patterns; messages matching none are deleted without invoking, as Lambda does. */
  readonly filters: readonly EventPattern[];
  readonly enabled: boolean;
}

export interface EventSourceStats {
  batches: number;
  messages: number;
  failedBatches: number;
  filteredOut: number;
}

/** Lambda's SQS record, built from a received message. */
export function toSqsRecord(message: Message, queueArn: string, region: string): SQSRecord {
  const attributes = message.Attributes ?? {};
  const messageAttributes: SQSRecord['messageAttributes'] = {};
  for (const [name, value] of Object.entries(message.MessageAttributes ?? {})) {
    messageAttributes[name] = {
      dataType: value.DataType ?? 'String',
      stringValue: value.StringValue,
      binaryValue: value.BinaryValue ? Buffer.from(value.BinaryValue).toString('base64') : undefined,
      stringListValues: [],
      binaryListValues: [],
    };
  }
  return {
    messageId: message.MessageId ?? '',
    receiptHandle: message.ReceiptHandle ?? '',
    body: message.Body ?? '',
    attributes: {
      ApproximateReceiveCount: attributes.ApproximateReceiveCount ?? '1',
      SentTimestamp: attributes.SentTimestamp ?? String(Date.now()),
      SenderId: attributes.SenderId ?? 'local',
      ApproximateFirstReceiveTimestamp: attributes.ApproximateFirstReceiveTimestamp ?? String(Date.now()),
      ...(attributes.MessageGroupId ? { MessageGroupId: attributes.MessageGroupId } : {}),
      ...(attributes.MessageDeduplicationId
        ? { MessageDeduplicationId: attributes.MessageDeduplicationId }
        : {}),
      ...(attributes.SequenceNumber ? { SequenceNumber: attributes.SequenceNumber } : {}),
    },
    messageAttributes,
    md5OfBody: message.MD5OfBody ?? '',
    eventSource: 'aws:sqs',
    eventSourceARN: queueArn,
    awsRegion: region,
  };
}

/** Lambda filters on the body as JSON when it parses as JSON, else on the raw string. */
function passesFilters(record: SQSRecord, filters: readonly EventPattern[]): boolean {
  if (filters.length === 0) return true;
  let body: unknown = record.body;
  try {
    body = JSON.parse(record.body);
  } catch {
    // plain-text bodies are matched as strings
  }
  const candidate = { ...record, body };
  return filters.some((pattern) => matchesEventPattern(pattern, candidate));
}

/**
 * Which messages to delete after an invocation. A failed invocation deletes nothing (the messages come back after
 * the visibility timeout and move to the DLQ after maxReceiveCount). With ReportBatchItemFailures, the listed
 * messages stay; a malformed response or an unknown identifier fails the whole batch, as Lambda documents.
 */
export function messagesToDelete(
  records: readonly SQSRecord[],
  result: InvokeResult,
  reportBatchItemFailures: boolean,
): SQSRecord[] {
  if (!result.ok) return [];
  if (!reportBatchItemFailures) return [...records];
  const value = result.value;
  // Documented successes: a null or empty response, or null/empty batchItemFailures.
  if (value === null || value === undefined) return [...records];
  // Anything that is not a response object (an array, a string) is invalid: keep every message rather than lose one.
  if (typeof value !== 'object' || Array.isArray(value)) return [];
  if (!('batchItemFailures' in value)) return [...records];
  const failures = value.batchItemFailures;
  if (failures === null || failures === undefined) return [...records];
  if (!Array.isArray(failures)) return [];
  const failed = new Set<string>();
  for (const failure of failures) {
    const id: unknown =
      typeof failure === 'object' && failure !== null ? Reflect.get(failure, 'itemIdentifier') : undefined;
    if (typeof id !== 'string' || id === '' || !records.some((r) => r.messageId === id)) return [];
    failed.add(id);
  }
  return records.filter((r) => !failed.has(r.messageId));
}

/**
 * How long idle() waits for messages it cannot see: delayed ones (DelaySeconds), and received ones not deleted (a
 * batch being handed over, or a failed one waiting out its visibility timeout). Short delays belong to the cascade
 * being settled; longer ones are scheduled work that the local clock does not fast-forward, and a failing batch must
 * not hold the clock forever.
 */
export const INVISIBLE_MESSAGES_GRACE_MS = 3000;

export class SqsEventSource {
  private running = false;
  /** Batches received and not yet deleted. */
  private inFlight = 0;
  private readonly loops: Promise<void>[] = [];
  private readonly abort = new AbortController();
  readonly stats: EventSourceStats = { batches: 0, messages: 0, failedBatches: 0, filteredOut: 0 };

  constructor(
    private readonly definition: SqsEventSourceDefinition,
    private readonly sqs: SQSClient,
    private readonly invoke: (event: SQSEvent) => Promise<InvokeResult>,
    private readonly region: string,
    private readonly onError: (message: string) => void,
  ) {}

  start(): void {
    if (!this.definition.enabled || this.running) return;
    this.running = true;
    for (let i = 0; i < this.definition.maximumConcurrency; i += 1) this.loops.push(this.poll());
  }

  async stop(): Promise<void> {
    this.running = false;
    this.abort.abort();
    await Promise.allSettled(this.loops);
  }

  /**
   * Resolves when the queue holds no visible message and no batch is being processed; messages it cannot see
   * (delayed, or received and not deleted) hold it for at most `graceMs`. A stopped or disabled source is idle.
   */
  async idle(graceMs = INVISIBLE_MESSAGES_GRACE_MS): Promise<void> {
    const started = performance.now();
    while (this.running) {
      const { Attributes = {} } = await this.sqs.send(
        new GetQueueAttributesCommand({
          QueueUrl: this.definition.queueUrl,
          AttributeNames: [
            'ApproximateNumberOfMessages',
            'ApproximateNumberOfMessagesNotVisible',
            'ApproximateNumberOfMessagesDelayed',
          ],
        }),
      );
      const count = (name: QueueAttributeName) => Number(Attributes[name] ?? 0);
      const visible = count('ApproximateNumberOfMessages');
      const invisible =
        count('ApproximateNumberOfMessagesNotVisible') + count('ApproximateNumberOfMessagesDelayed');
      if (visible === 0 && this.inFlight === 0) {
        if (invisible === 0 || performance.now() - started >= graceMs) return;
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  private async receive(max: number, waitSeconds: number): Promise<Message[]> {
    const response = await this.sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: this.definition.queueUrl,
        MaxNumberOfMessages: Math.min(10, max),
        WaitTimeSeconds: waitSeconds,
        MessageSystemAttributeNames: ['All'],
        MessageAttributeNames: ['All'],
      }),
      { abortSignal: this.abort.signal },
    );
    return response.Messages ?? [];
  }

  private async poll(): Promise<void> {
    while (this.running) {
      try {
        // Counted from the first message received, so idle() does not mistake a batching window for quiet.
        const batch = await this.collectBatch();
        if (batch.length > 0) {
          try {
            await this.process(batch);
          } finally {
            this.inFlight -= 1;
          }
        }
      } catch (error) {
        if (!this.running) return;
        this.onError(
          `event source ${this.definition.logicalId}: ${error instanceof Error ? error.message : String(error)}`,
        );
        await new Promise((resolve) => setTimeout(resolve, 1000));
      }
    }
  }

  /** Gathers up to batchSize messages, waiting at most the batching window once the first message arrived. */
  private async collectBatch(): Promise<Message[]> {
    const { batchSize, maximumBatchingWindowSeconds } = this.definition;
    const batch = await this.receive(batchSize, 1);
    if (batch.length === 0) return batch;
    this.inFlight += 1;
    if (maximumBatchingWindowSeconds === 0) return batch;
    try {
      const windowEnds = Date.now() + maximumBatchingWindowSeconds * 1000;
      while (this.running && batch.length < batchSize && Date.now() < windowEnds) {
        const waitSeconds = Math.max(0, Math.min(1, Math.floor((windowEnds - Date.now()) / 1000)));
        const more = await this.receive(batchSize - batch.length, waitSeconds);
        batch.push(...more);
        if (more.length === 0 && waitSeconds === 0) await new Promise((r) => setTimeout(r, 50));
      }
    } catch (error) {
      this.inFlight -= 1;
      throw error;
    }
    return batch;
  }

  /** A fault drill's shortcut past the visibility timeout; receive counts still grow, so DLQs fill as on AWS. */
  private async makeVisibleAfter(records: readonly SQSRecord[], seconds: number): Promise<void> {
    for (let i = 0; i < records.length; i += 10) {
      await this.sqs.send(
        new ChangeMessageVisibilityBatchCommand({
          QueueUrl: this.definition.queueUrl,
          Entries: records.slice(i, i + 10).map((r) => ({
            Id: randomUUID(),
            ReceiptHandle: r.receiptHandle,
            VisibilityTimeout: seconds,
          })),
        }),
      );
    }
  }

  private async process(messages: Message[]): Promise<void> {
    const records = messages.map((m) => toSqsRecord(m, this.definition.queueArn, this.region));
    const selected = records.filter((r) => passesFilters(r, this.definition.filters));
    const filteredOut = records.filter((r) => !selected.includes(r));
    this.stats.filteredOut += filteredOut.length;
    let toDelete = filteredOut;
    if (selected.length > 0) {
      this.stats.batches += 1;
      this.stats.messages += selected.length;
      const result = await this.invoke({ Records: selected });
      if (!result.ok) {
        this.stats.failedBatches += 1;
        this.onError(
          `event source ${this.definition.logicalId}: batch of ${selected.length} failed (${result.error.errorType}: ${result.error.errorMessage}); messages return after the visibility timeout`,
        );
        if (result.redeliverAfterSeconds !== undefined)
          await this.makeVisibleAfter(selected, result.redeliverAfterSeconds);
      }
      toDelete = [
        ...toDelete,
        ...messagesToDelete(selected, result, this.definition.reportBatchItemFailures),
      ];
    }
    for (let i = 0; i < toDelete.length; i += 10) {
      const chunk = toDelete.slice(i, i + 10);
      await this.sqs.send(
        new DeleteMessageBatchCommand({
          QueueUrl: this.definition.queueUrl,
          Entries: chunk.map((r) => ({ Id: randomUUID(), ReceiptHandle: r.receiptHandle })),
        }),
      );
    }
  }
}
