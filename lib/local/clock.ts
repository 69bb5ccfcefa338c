// The local stack's movable clock: a shared time offset every function sandbox reads, and stepping through due timers.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import { type DynamoDBClient, QueryCommand } from '@aws-sdk/client-dynamodb';
import { DateTime, Duration } from 'luxon';
import * as z from 'zod';
import { TIMER_SHARDS, timerPartition } from '../../functions/journeys/timer-keys.ts';
import type { TemplateModel } from './template.ts';

export class ClockError extends Error {
  override name = 'ClockError';
}

const storedClockSchema = z.object({ offsetMs: z.number().int().min(0) });

/**
 * Shifted time = real time + an offset. The offset sits in a SharedArrayBuffer so that warm worker sandboxes read a
 * change at once, without a message round trip; it only ever grows, so time never runs backwards for a handler.
 */
export class LocalClock {
  /** Hand this to worker sandboxes: element 0 of a BigInt64Array over it is the offset in milliseconds. */
  readonly buffer: SharedArrayBuffer;
  private readonly offset: BigInt64Array;

  constructor(
    private readonly options: {
      /** Where the offset persists, so a restart keeps the shifted time. */
      readonly file?: string;
      /** Real time; a parameter so tests can pin it. */
      readonly realNow?: () => number;
    } = {},
  ) {
    this.buffer = new SharedArrayBuffer(BigInt64Array.BYTES_PER_ELEMENT);
    this.offset = new BigInt64Array(this.buffer);
    if (options.file && existsSync(options.file)) {
      const stored = storedClockSchema.safeParse(JSON.parse(readFileSync(options.file, 'utf8')));
      if (!stored.success) throw new ClockError(`${options.file} does not hold a clock offset`);
      Atomics.store(this.offset, 0, BigInt(stored.data.offsetMs));
    }
  }

  get offsetMs(): number {
    return Number(Atomics.load(this.offset, 0));
  }

  now(): Date {
    return new Date((this.options.realNow ?? Date.now)() + this.offsetMs);
  }

  /** Moves the clock forward by an ISO 8601 duration (`PT36H`, `P90D`, `P1M`); calendar units count in UTC. */
  advance(duration: string): Date {
    const target = advancedBy(this.now(), duration);
    this.set(target);
    return target;
  }

  /** Moves the clock to `date`; earlier than now is refused, as handlers rely on time never running backwards. */
  set(date: Date): void {
    const real = (this.options.realNow ?? Date.now)();
    const current = real + this.offsetMs;
    if (Number.isNaN(date.getTime())) throw new ClockError('The clock cannot be set to an invalid date');
    if (date.getTime() < current) {
      throw new ClockError(
        `The clock cannot go back from ${new Date(current).toISOString()} to ${date.toISOString()}`,
      );
    }
    const offsetMs = date.getTime() - real;
    Atomics.store(this.offset, 0, BigInt(offsetMs));
    if (this.options.file) writeFileSync(this.options.file, `${JSON.stringify({ offsetMs }, null, 2)}\n`);
  }
}

/** `from` moved forward by an ISO 8601 duration; a negative or unparseable duration is refused. */
export function advancedBy(from: Date, duration: string): Date {
  const parsed = Duration.fromISO(duration);
  if (!parsed.isValid) {
    throw new ClockError(`"${duration}" is not an ISO 8601 duration such as P90D, PT36H or P1M`);
  }
  const target = DateTime.fromJSDate(from, { zone: 'utc' }).plus(parsed).toJSDate();
  if (target.getTime() < from.getTime())
    throw new ClockError(`The clock only moves forward; ${duration} is negative`);
  return target;
}

/** The timer a journey fires next, as the due-time index holds it. */
export interface EarliestTimer {
  readonly dueAt: Date;
  /** Tells two timers due at the same moment apart, so stepping notices one that does not fire. */
  readonly sortKey: string;
}

const timerItemSchema = z.object({ sk: z.object({ S: z.string() }) });

/** Reads the head of every shard of the timer index (one item each) and returns the earliest. */
export async function earliestTimer(input: {
  readonly dynamodb: DynamoDBClient;
  readonly tableName: string;
}): Promise<EarliestTimer | undefined> {
  const heads = await Promise.all(
    Array.from({ length: TIMER_SHARDS }, async (_, shard) => {
      const { Items } = await input.dynamodb.send(
        new QueryCommand({
          TableName: input.tableName,
          KeyConditionExpression: 'pk = :pk',
          ExpressionAttributeValues: { ':pk': { S: timerPartition(shard) } },
          ProjectionExpression: 'sk',
          ScanIndexForward: true,
          Limit: 1,
        }),
      );
      const item = timerItemSchema.safeParse(Items?.[0]);
      if (!item.success) return undefined;
      const dueAt = new Date(item.data.sk.S.split('#')[0] ?? '');
      return Number.isNaN(dueAt.getTime()) ? undefined : { dueAt, sortKey: item.data.sk.S };
    }),
  );
  let earliest: EarliestTimer | undefined;
  for (const head of heads) {
    if (head && (!earliest || head.sortKey < earliest.sortKey)) earliest = head;
  }
  return earliest;
}

/** The table holding the timer index: the stack's profile table (its output), else the template's only table. */
export function timerTableName(model: TemplateModel): string | undefined {
  const output = model.output('ProfileTableName');
  if (typeof output === 'string') return output;
  const tables = model.ofType('AWS::DynamoDB::Table');
  return tables.length === 1 && tables[0] ? model.ref(tables[0].logicalId) : undefined;
}

/** Bounds a runaway: a journey that keeps setting timers within the advance must still let the request return. */
const MAX_STEPS = 10_000;

/**
 * Moves the clock to `target` through every timer due on the way, earliest first, letting each fire before looking
 * at the next, so a 3-day wait followed by a 7-day wait both fire at their own times within one 90-day advance.
 */
export async function advanceThroughTimers(input: {
  readonly clock: LocalClock;
  readonly target: Date;
  readonly earliestDue: () => Promise<EarliestTimer | undefined>;
  /** Fires what is due at the clock's time (schedules catch up) and resolves once everything settled. */
  readonly fireDue: () => Promise<void>;
  /**
   * When the sweep that fires timers runs: a timer is only picked up at the sweep's next run after its due time,
   * so a timer that did not fire at its due time gets one more chance there.
   */
  readonly nextScheduledRun?: () => Date | undefined;
  readonly onWarning?: (message: string) => void;
  readonly maxSteps?: number;
}): Promise<{ now: Date; steps: number }> {
  const { clock, target } = input;
  const maxSteps = input.maxSteps ?? MAX_STEPS;
  const moveTo = (date: Date) => clock.set(new Date(Math.max(clock.now().getTime(), date.getTime())));
  let steps = 0;
  for (let due = await input.earliestDue(); due && due.dueAt <= target; ) {
    if (steps >= maxSteps) {
      input.onWarning?.(`clock: stopped stepping after ${maxSteps} timers; the rest fire at the target time`);
      break;
    }
    moveTo(due.dueAt);
    await input.fireDue();
    steps += 1;
    let next = await input.earliestDue();
    if (next?.sortKey === due.sortKey) {
      const sweep = input.nextScheduledRun?.();
      if (sweep && sweep > clock.now() && sweep <= target) {
        moveTo(sweep);
        await input.fireDue();
        next = await input.earliestDue();
      }
      if (next?.sortKey === due.sortKey) {
        input.onWarning?.(
          `clock: the timer due at ${due.dueAt.toISOString()} did not fire (is the function that fires it failing?); moving on to the target time`,
        );
        break;
      }
    }
    due = next;
  }
  moveTo(target);
  await input.fireDue();
  return { now: clock.now(), steps };
}

const clockRequestSchema = z.union([
  z.strictObject({ advance: z.string().min(1) }),
  z.strictObject({ to: z.iso.datetime({ offset: true }) }),
]);

export type ClockRequest = { readonly advance: string } | { readonly to: Date };

/** The body of `POST /_local/clock`: `{"advance":"P90D"}` or `{"to":"2027-03-01T00:00:00Z"}`. */
export function parseClockRequest(body: unknown): ClockRequest {
  const parsed = clockRequestSchema.safeParse(body);
  if (!parsed.success) {
    throw new ClockError(
      'Expected {"advance": "<ISO 8601 duration, e.g. P90D>"} or {"to": "<ISO 8601 date-time, e.g. 2027-03-01T00:00:00Z>"}',
    );
  }
  if ('advance' in parsed.data) return { advance: parsed.data.advance };
  return { to: new Date(parsed.data.to) };
}

/** Where a request moves the clock to from `now`; a target in the past is refused. */
export function clockTarget(request: ClockRequest, now: Date): Date {
  if ('advance' in request) return advancedBy(now, request.advance);
  if (request.to < now) {
    throw new ClockError(`The clock only moves forward; it is already ${now.toISOString()}`);
  }
  return request.to;
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const buffer = Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk));
    size += buffer.length;
    if (size > 64 * 1024) throw new ClockError('The request body is too large');
    chunks.push(buffer);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    throw new ClockError('The request body is not JSON');
  }
}

/** The local stack's `/_local/clock` endpoint: GET reads the clock, POST advances it and answers once all settled. */
export async function controlClock(
  req: IncomingMessage,
  stack: {
    readonly clock: LocalClock;
    readonly advanceClock: (request: ClockRequest) => Promise<{ now: Date; steps: number }>;
  },
): Promise<{ status: number; body: unknown }> {
  if (req.method === 'GET') {
    return { status: 200, body: { now: stack.clock.now().toISOString(), offsetMs: stack.clock.offsetMs } };
  }
  if (req.method !== 'POST') return { status: 405, body: { message: 'Use GET or POST' } };
  try {
    const request = parseClockRequest(await readJson(req));
    const { now, steps } = await stack.advanceClock(request);
    return { status: 200, body: { now: now.toISOString(), offsetMs: stack.clock.offsetMs, steps } };
  } catch (error) {
    if (error instanceof ClockError) return { status: 400, body: { message: error.message } };
    return { status: 500, body: { message: error instanceof Error ? error.message : String(error) } };
  }
}
