// `nurture dlq`: lists the stack's dead-letter queues, shows what is parked in one, and replays it to its source queue.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import {
  ChangeMessageVisibilityBatchCommand,
  DeleteMessageCommand,
  GetQueueAttributesCommand,
  ListQueuesCommand,
  type Message,
  type MessageAttributeValue,
  ReceiveMessageCommand,
  SendMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import * as z from 'zod';

export interface DeadLetterQueue {
  readonly name: string;
  readonly url: string;
  readonly arn: string;
  /** Messages parked now (visible), plus those someone is looking at (in flight). */
  readonly depth: number;
  readonly inFlight: number;
  /** Queues whose redrive policy parks their messages here; empty for failure destinations (stream records). */
  readonly sources: ReadonlyArray<{
    readonly name: string;
    readonly url: string;
    readonly maxReceives: number;
  }>;
}

export interface ParkedMessage {
  readonly messageId: string;
  /** Receives so far, in the source queue and here. */
  readonly receiveCount: number;
  readonly firstReceivedAt?: string;
  readonly sentAt?: string;
  /** The body's start, with email addresses and IP addresses masked. */
  readonly preview: string;
}

export class DlqCommandError extends Error {
  override name = 'DlqCommandError';
}

const redrivePolicySchema = z.object({
  deadLetterTargetArn: z.string(),
  maxReceiveCount: z.coerce.number().int(),
});

/** Failure destinations have no redrive source; their names say what they are. */
const FAILURE_QUEUE_NAME = /dead-?letters?|dlq|failures/i;

function nameOf(queueUrl: string): string {
  return queueUrl.split('/').pop() ?? queueUrl;
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** Every dead-letter queue whose name starts with `prefix` (the stack name), with its depth and source queues. */
export async function listDeadLetterQueues(input: {
  readonly sqs: SQSClient;
  readonly prefix: string;
}): Promise<DeadLetterQueue[]> {
  const urls: string[] = [];
  let nextToken: string | undefined;
  do {
    const page = await input.sqs.send(
      new ListQueuesCommand({
        QueueNamePrefix: input.prefix,
        MaxResults: 1000,
        ...(nextToken ? { NextToken: nextToken } : {}),
      }),
    );
    urls.push(...(page.QueueUrls ?? []));
    nextToken = page.NextToken;
  } while (nextToken);
  const queues = await Promise.all(
    urls.map(async (url) => {
      const { Attributes = {} } = await input.sqs.send(
        new GetQueueAttributesCommand({
          QueueUrl: url,
          AttributeNames: [
            'QueueArn',
            'RedrivePolicy',
            'ApproximateNumberOfMessages',
            'ApproximateNumberOfMessagesNotVisible',
          ],
        }),
      );
      const redrive = redrivePolicySchema.safeParse(parseJson(Attributes.RedrivePolicy ?? ''));
      return {
        url,
        name: nameOf(url),
        arn: Attributes.QueueArn ?? '',
        depth: Number(Attributes.ApproximateNumberOfMessages ?? 0),
        inFlight: Number(Attributes.ApproximateNumberOfMessagesNotVisible ?? 0),
        redrive: redrive.success ? redrive.data : undefined,
      };
    }),
  );
  return queues
    .map((queue) => ({
      name: queue.name,
      url: queue.url,
      arn: queue.arn,
      depth: queue.depth,
      inFlight: queue.inFlight,
      sources: queues
        .filter((source) => source.redrive?.deadLetterTargetArn === queue.arn)
        .map((source) => ({
          name: source.name,
          url: source.url,
          maxReceives: source.redrive?.maxReceiveCount ?? 0,
        })),
    }))
    .filter(
      (queue) => queue.sources.length > 0 || FAILURE_QUEUE_NAME.test(queue.name.slice(input.prefix.length)),
    )
    .sort((a, b) => a.name.localeCompare(b.name));
}

/** A queue named by its full name, URL, or a part of its name that only one dead-letter queue has. */
export function findDeadLetterQueue(queues: readonly DeadLetterQueue[], wanted: string): DeadLetterQueue {
  const exact = queues.find((q) => q.name === wanted || q.url === wanted);
  if (exact) return exact;
  const partial = queues.filter((q) => q.name.toLowerCase().includes(wanted.toLowerCase()));
  const [only] = partial;
  if (only && partial.length === 1) return only;
  const names = queues.map((q) => `  ${q.name}`).join('\n');
  throw new DlqCommandError(
    partial.length > 1
      ? `"${wanted}" names ${partial.length} dead-letter queues; be more specific:\n${partial.map((q) => `  ${q.name}`).join('\n')}`
      : `No dead-letter queue matches "${wanted}". The stack has:\n${names || '  (none)'}`,
  );
}

const EMAIL = /[A-Za-z0-9._%+-]+@([A-Za-z0-9.-]+\.[A-Za-z]{2,})/g;
const IPV4 = /\b(\d{1,3})\.(\d{1,3})\.\d{1,3}\.\d{1,3}\b/g;
const IPV6 = /\b(?:[0-9a-f]{1,4}:){3,7}[0-9a-f]{1,4}\b/gi;

/** Operators see the shape of a message, not whom it is about: addresses and IPs are masked, long bodies cut. */
export function maskedPreview(body: string, maxLength = 300): string {
  const masked = body
    .replace(EMAIL, (_, domain: string) => `***@${domain}`)
    .replace(IPV4, (_, a: string, b: string) => `${a}.${b}.x.x`)
    .replace(IPV6, '[ipv6]');
  return masked.length > maxLength ? `${masked.slice(0, maxLength)}… (${body.length} chars)` : masked;
}

function toParked(message: Message): ParkedMessage {
  const attributes = message.Attributes ?? {};
  const time = (millis: string | undefined) =>
    millis && Number(millis) > 0 ? new Date(Number(millis)).toISOString() : undefined;
  const firstReceivedAt = time(attributes.ApproximateFirstReceiveTimestamp);
  const sentAt = time(attributes.SentTimestamp);
  return {
    messageId: message.MessageId ?? '',
    receiveCount: Number(attributes.ApproximateReceiveCount ?? 0),
    ...(firstReceivedAt ? { firstReceivedAt } : {}),
    ...(sentAt ? { sentAt } : {}),
    preview: maskedPreview(message.Body ?? ''),
  };
}

/**
 * Receives up to `limit` distinct messages and hides them for `holdSeconds` while the caller works on them.
 * A message received twice in one pass (the queue is small and visibility short) is counted once.
 */
async function receiveDistinct(input: {
  sqs: SQSClient;
  queueUrl: string;
  limit: number;
  holdSeconds: number;
}): Promise<Message[]> {
  const seen = new Map<string, Message>();
  let emptyReceives = 0;
  while (seen.size < input.limit && emptyReceives < 2) {
    const { Messages = [] } = await input.sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: input.queueUrl,
        MaxNumberOfMessages: Math.min(10, input.limit - seen.size),
        VisibilityTimeout: input.holdSeconds,
        WaitTimeSeconds: 1,
        MessageSystemAttributeNames: ['All'],
        MessageAttributeNames: ['All'],
      }),
    );
    const fresh = Messages.filter((m) => m.MessageId && !seen.has(m.MessageId));
    if (fresh.length === 0) emptyReceives += 1;
    for (const message of fresh) if (message.MessageId) seen.set(message.MessageId, message);
  }
  return [...seen.values()];
}

/** Makes messages visible again at once, for the next look or replay. */
async function release(sqs: SQSClient, queueUrl: string, messages: readonly Message[]): Promise<void> {
  for (let i = 0; i < messages.length; i += 10) {
    await sqs.send(
      new ChangeMessageVisibilityBatchCommand({
        QueueUrl: queueUrl,
        Entries: messages.slice(i, i + 10).map((m, index) => ({
          Id: String(index),
          ReceiptHandle: m.ReceiptHandle ?? '',
          VisibilityTimeout: 0,
        })),
      }),
    );
  }
}

/** Up to `limit` parked messages, oldest receives first as SQS returns them; they stay in the queue. */
export async function showDeadLetters(input: {
  readonly sqs: SQSClient;
  readonly queue: DeadLetterQueue;
  readonly limit: number;
}): Promise<ParkedMessage[]> {
  const messages = await receiveDistinct({
    sqs: input.sqs,
    queueUrl: input.queue.url,
    limit: input.limit,
    holdSeconds: 30,
  });
  await release(input.sqs, input.queue.url, messages);
  return messages.map(toParked);
}

/** Custom attributes go back as they came; SQS refuses empty values and list types it does not support yet. */
function replayableAttributes(message: Message): Record<string, MessageAttributeValue> {
  const out: Record<string, MessageAttributeValue> = {};
  for (const [name, value] of Object.entries(message.MessageAttributes ?? {})) {
    if (value.DataType && (value.StringValue !== undefined || value.BinaryValue !== undefined)) {
      out[name] = {
        DataType: value.DataType,
        ...(value.StringValue !== undefined ? { StringValue: value.StringValue } : {}),
        ...(value.BinaryValue !== undefined ? { BinaryValue: value.BinaryValue } : {}),
      };
    }
  }
  return out;
}

export interface ReplayResult {
  /** Sent to the source queue and deleted here (or, in a dry run, that would have been). */
  readonly replayed: number;
  /** Not sent; they stay parked and show up again shortly. */
  readonly failed: number;
  readonly source: string;
  readonly dryRun: boolean;
}

/**
 * Moves up to `limit` messages back to the source queue: each is sent first and deleted only once the send succeeded,
 * so a crash part-way duplicates at most one message and never loses one. Consumers are idempotent, so a duplicate
 * changes nothing.
 */
export async function replayDeadLetters(input: {
  readonly sqs: SQSClient;
  readonly queue: DeadLetterQueue;
  readonly limit: number;
  readonly dryRun?: boolean;
  readonly onError?: (message: string) => void;
}): Promise<ReplayResult> {
  const [source, ...others] = input.queue.sources;
  if (!source) {
    throw new DlqCommandError(
      `${input.queue.name} is not the dead-letter queue of any queue (it holds failure records); ` +
        'inspect it with `dlq show` and fix the cause instead of replaying.',
    );
  }
  if (others.length > 0) {
    throw new DlqCommandError(
      `${input.queue.name} takes messages from ${input.queue.sources.length} queues; SQS does not record which, so it cannot be replayed safely.`,
    );
  }
  const dryRun = input.dryRun ?? false;
  // Hidden long enough to send each one back; anything left over reappears by itself.
  const messages = await receiveDistinct({
    sqs: input.sqs,
    queueUrl: input.queue.url,
    limit: input.limit,
    holdSeconds: 120,
  });
  if (dryRun) {
    await release(input.sqs, input.queue.url, messages);
    return { replayed: messages.length, failed: 0, source: source.name, dryRun };
  }
  const fifo = source.name.endsWith('.fifo');
  let replayed = 0;
  let failed = 0;
  for (const message of messages) {
    try {
      const attributes = replayableAttributes(message);
      await input.sqs.send(
        new SendMessageCommand({
          QueueUrl: source.url,
          MessageBody: message.Body ?? '',
          ...(Object.keys(attributes).length > 0 ? { MessageAttributes: attributes } : {}),
          ...(fifo
            ? {
                MessageGroupId: message.Attributes?.MessageGroupId ?? 'replay',
                MessageDeduplicationId: `replay-${message.MessageId ?? ''}`,
              }
            : {}),
        }),
      );
    } catch (error) {
      failed += 1;
      input.onError?.(
        `message ${message.MessageId}: not replayed (${error instanceof Error ? error.message : String(error)}); it stays parked`,
      );
      continue;
    }
    await input.sqs.send(
      new DeleteMessageCommand({ QueueUrl: input.queue.url, ReceiptHandle: message.ReceiptHandle ?? '' }),
    );
    replayed += 1;
  }
  return { replayed, failed, source: source.name, dryRun };
}

export const DLQ_HELP = `Usage: npm run nurture -- dlq <list|show|replay> [QUEUE] [options]

Dead-letter queues hold what the stack could not process after its retries. Fix the cause first, then replay.

  dlq list                         every dead-letter queue of the stack, its depth and its source queue
  dlq show QUEUE [--limit N]       parked messages: receive count, times, body preview (addresses masked)
  dlq replay QUEUE [--limit N] [--dry-run]
                                   move messages back to the source queue (sent, then deleted: none is lost;
                                   consumers are idempotent, so a duplicate changes nothing)

QUEUE is a queue name, URL, or a part of a name only one dead-letter queue has (e.g. WebhooksDeadLetters).

Options:
  --limit N          messages to show or replay (default: 10 for show, 100 for replay)
  --stack NAME       queues whose names start with NAME (default: $NURTURE_STACK, the local stack's name,
                     then "Nurture")
  --endpoint URL     SQS endpoint (default: $NURTURE_SQS_ENDPOINT, then .nurture/local.json when present)
  --aws              use AWS (default credentials and region) even when .nurture/local.json exists
  --region REGION    AWS region (default: the SDK's: $AWS_REGION, the profile's)
  -h, --help         show this help`;

export interface DlqIo {
  readonly stdout?: { write(text: string): unknown };
  readonly stderr?: { write(text: string): unknown };
  readonly env?: Readonly<Record<string, string | undefined>>;
  readonly cwd?: string;
  /** Builds the SQS client for the resolved target; tests substitute one against the emulator. */
  readonly sqs?: (target: SqsTarget) => SQSClient;
}

export interface SqsTarget {
  /** Undefined: AWS, found by the SDK's default chain. */
  readonly endpoint?: string;
  readonly region?: string;
  readonly local: boolean;
  readonly stackPrefix: string;
}

const localStackFile = z.object({
  stackName: z.string().optional(),
  endpoints: z.object({ sqs: z.string() }).optional(),
});

/** Flags win over the environment, which wins over the file `npm start` writes in the current directory. */
export function resolveSqsTarget(
  flags: {
    endpoint?: string | undefined;
    aws?: boolean;
    region?: string | undefined;
    stack?: string | undefined;
  },
  io: Pick<DlqIo, 'env' | 'cwd'> = {},
): SqsTarget {
  const env = io.env ?? process.env;
  let local: z.infer<typeof localStackFile> = {};
  const path = join(io.cwd ?? process.cwd(), '.nurture', 'local.json');
  if (!flags.aws && existsSync(path)) {
    const parsed = localStackFile.safeParse(parseJson(readFileSync(path, 'utf8')));
    if (parsed.success) local = parsed.data;
  }
  const endpoint =
    flags.endpoint || env.NURTURE_SQS_ENDPOINT || (flags.aws ? undefined : local.endpoints?.sqs);
  const isLocal = endpoint !== undefined;
  const region = flags.region || (isLocal ? 'us-east-1' : undefined);
  return {
    ...(endpoint ? { endpoint } : {}),
    ...(region ? { region } : {}),
    local: isLocal,
    stackPrefix: flags.stack || env.NURTURE_STACK || (isLocal ? local.stackName : undefined) || 'Nurture',
  };
}

function defaultClient(target: SqsTarget): SQSClient {
  return new SQSClient({
    ...(target.region ? { region: target.region } : {}),
    ...(target.endpoint
      ? {
          endpoint: target.endpoint,
          // The local emulators accept any key; the default chain would fail on a machine without AWS credentials.
          credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
          useQueueUrlAsEndpoint: false,
        }
      : {}),
  });
}

function parseLimit(text: string | undefined, fallback: number): number {
  if (text === undefined) return fallback;
  if (!/^\d+$/.test(text) || Number(text) < 1) {
    throw new DlqCommandError(`--limit must be a positive whole number, got "${text}".`);
  }
  return Number(text);
}

function table(rows: readonly (readonly string[])[]): string {
  const widths =
    rows[0]?.map((_, column) => Math.max(...rows.map((row) => (row[column] ?? '').length))) ?? [];
  return rows
    .map((row) =>
      row
        .map((cell, column) => cell.padEnd(widths[column] ?? 0))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

/** `npm run nurture -- dlq ...`; resolves to the exit code. */
export async function dlqCommand(args: readonly string[], io: DlqIo = {}): Promise<number> {
  const stdout = io.stdout ?? process.stdout;
  const stderr = io.stderr ?? process.stderr;
  const { values, positionals } = parseArgs({
    args: [...args],
    allowPositionals: true,
    strict: true,
    options: {
      limit: { type: 'string' },
      'dry-run': { type: 'boolean', default: false },
      stack: { type: 'string' },
      endpoint: { type: 'string' },
      aws: { type: 'boolean', default: false },
      region: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  const [action, queueName, ...extra] = positionals;
  if (values.help) {
    stdout.write(`${DLQ_HELP}\n`);
    return 0;
  }
  if (
    (action !== 'list' && action !== 'show' && action !== 'replay') ||
    extra.length > 0 ||
    (action === 'list') !== (queueName === undefined)
  ) {
    stderr.write(`${DLQ_HELP}\n`);
    return 1;
  }
  const target = resolveSqsTarget(
    { endpoint: values.endpoint, aws: values.aws, region: values.region, stack: values.stack },
    io,
  );
  const sqs = (io.sqs ?? defaultClient)(target);
  try {
    const queues = await listDeadLetterQueues({ sqs, prefix: target.stackPrefix });
    const where = target.local ? `local stack at ${target.endpoint}` : 'AWS';
    if (action === 'list') {
      if (queues.length === 0) {
        stdout.write(`No dead-letter queues named ${target.stackPrefix}* on ${where}.\n`);
        return 0;
      }
      stdout.write(
        `${table([
          ['QUEUE', 'DEPTH', 'IN FLIGHT', 'SOURCE (max receives)'],
          ...queues.map((q) => [
            q.name,
            String(q.depth),
            String(q.inFlight),
            q.sources.map((s) => `${s.name} (${s.maxReceives})`).join(', ') || '(failure destination)',
          ]),
        ])}\n`,
      );
      return 0;
    }
    const queue = findDeadLetterQueue(queues, queueName ?? '');
    if (action === 'show') {
      const parked = await showDeadLetters({ sqs, queue, limit: parseLimit(values.limit, 10) });
      stdout.write(`${queue.name}: ${queue.depth} parked, showing ${parked.length}\n`);
      for (const message of parked) {
        stdout.write(
          `\n${message.messageId}  receives ${message.receiveCount}  sent ${message.sentAt ?? '?'}  first received ${message.firstReceivedAt ?? '?'}\n  ${message.preview}\n`,
        );
      }
      return 0;
    }
    const result = await replayDeadLetters({
      sqs,
      queue,
      limit: parseLimit(values.limit, 100),
      dryRun: values['dry-run'],
      onError: (message) => stderr.write(`${message}\n`),
    });
    stdout.write(
      result.dryRun
        ? `Dry run: would replay ${result.replayed} message(s) from ${queue.name} to ${result.source}.\n`
        : `Replayed ${result.replayed} message(s) from ${queue.name} to ${result.source}` +
            `${result.failed > 0 ? `; ${result.failed} failed and stay parked` : ''}.\n`,
    );
    return result.failed > 0 ? 1 : 0;
  } catch (error) {
    if (error instanceof DlqCommandError) {
      stderr.write(`${error.message}\n`);
      return 1;
    }
    throw error;
  } finally {
    if (!io.sqs) sqs.destroy();
  }
}
