// Local EventBridge: the real JSON protocol (PutEvents, TestEventPattern, ...), rule matching and target delivery.
import { randomUUID } from 'node:crypto';
import type { Server } from 'node:http';
import { PutEventsFaults } from './event-bus-faults.ts';
import { type EventPattern, matchesEventPattern, parseEventPattern } from './event-pattern.ts';
import { applyInputPath, applyInputTransformer } from './input-transformer.ts';
import {
  AwsServiceError,
  closeServer,
  isRecord,
  listenJsonProtocol,
  requireString,
} from './json-protocol.ts';

export interface RuleTarget {
  readonly id: string;
  readonly arn: string;
  readonly input?: string;
  readonly inputPath?: string;
  readonly inputTransformer?: {
    readonly inputPathsMap?: Record<string, string>;
    readonly inputTemplate: string;
  };
  readonly sqsMessageGroupId?: string;
  readonly deadLetterArn?: string;
}

export interface BusRule {
  readonly name: string;
  readonly arn: string;
  readonly eventBusName: string;
  readonly pattern: EventPattern;
  readonly patternText: string;
  readonly enabled: boolean;
  readonly description?: string;
  readonly targets: readonly RuleTarget[];
}

export interface BusArchive {
  readonly name: string;
  readonly eventBusName: string;
  readonly pattern?: EventPattern;
}

/** An event as EventBridge delivers it to targets. */
export interface BusEvent {
  readonly version: '0';
  readonly id: string;
  readonly 'detail-type': string;
  readonly source: string;
  readonly account: string;
  readonly time: string;
  readonly region: string;
  readonly resources: readonly string[];
  readonly detail: unknown;
}

export interface Delivery {
  readonly rule: BusRule;
  readonly target: RuleTarget;
  /** The exact text the target receives (the event, or its input transformation). */
  readonly payload: string;
  readonly event: BusEvent;
}

export interface LocalEventBusOptions {
  readonly region: string;
  readonly accountId: string;
  readonly buses: readonly string[];
  readonly rules: readonly BusRule[];
  readonly archives?: readonly BusArchive[];
  /** Delivers one payload to one target; throwing makes the bus retry, then report it undeliverable. */
  readonly deliver: (delivery: Delivery) => Promise<void>;
  readonly onArchive?: (archive: BusArchive, event: BusEvent) => void;
  readonly onUndeliverable?: (delivery: Delivery, error: unknown) => void;
  /** Attempts per target before giving up (EventBridge retries for 24 h; locally we do not wait that long). */
  readonly maxAttempts?: number;
  readonly retryDelayMs?: number;
  /** The time stamped on PutEvents entries that carry none (the local stack's movable clock). @default real time */
  readonly now?: () => Date;
}

const MAX_ENTRY_BYTES = 256 * 1024;

/** A bus name from a name or an ARN, as EventBridge accepts either; absent or empty means the default bus. */
export function busNameOf(nameOrArn: string | undefined): string {
  if (!nameOrArn) return 'default';
  return nameOrArn.startsWith('arn:') ? (nameOrArn.split('event-bus/')[1] ?? nameOrArn) : nameOrArn;
}

/** EventBridge's event time format: ISO 8601 without milliseconds. */
function eventTime(date: Date): string {
  return `${date.toISOString().slice(0, 19)}Z`;
}

export class LocalEventBus {
  private server?: Server;
  private readonly inFlight = new Set<Promise<void>>();
  /** Entries to fail in PutEvents answers, set through `PUT /_local/faults`. */
  readonly faults = new PutEventsFaults();
  url = '';

  constructor(private readonly options: LocalEventBusOptions) {}

  private busName(nameOrArn: unknown): string {
    if (nameOrArn === undefined || nameOrArn === null) return 'default';
    if (typeof nameOrArn !== 'string')
      throw new AwsServiceError('ValidationException', 'EventBusName must be a string');
    return busNameOf(nameOrArn);
  }

  private hasBus(name: string): boolean {
    return name === 'default' || this.options.buses.includes(name);
  }

  /** The PutEvents operation: validates each entry independently, as EventBridge does. */
  putEvents(input: Record<string, unknown>): {
    FailedEntryCount: number;
    Entries: Array<{ EventId?: string; ErrorCode?: string; ErrorMessage?: string }>;
  } {
    const entries = input.Entries;
    if (!Array.isArray(entries) || entries.length < 1 || entries.length > 10) {
      throw new AwsServiceError('ValidationException', 'Entries must contain between 1 and 10 entries');
    }
    const results = entries.map((entry: unknown) => {
      // An injected failure is neither validated nor routed: the entry never reached the bus.
      const injected = this.faults.takeForEntry();
      if (injected) return injected;
      try {
        return { EventId: this.accept(entry) };
      } catch (error) {
        if (error instanceof EntryError) return { ErrorCode: error.code, ErrorMessage: error.message };
        throw error;
      }
    });
    return { FailedEntryCount: results.filter((r) => 'ErrorCode' in r).length, Entries: results };
  }

  private accept(entry: unknown): string {
    if (!isRecord(entry)) throw new EntryError('InvalidArgument', 'Entry must be an object');
    for (const key of ['Source', 'DetailType', 'Detail'] as const) {
      if (typeof entry[key] !== 'string' || entry[key] === '') {
        throw new EntryError(
          'InvalidArgument',
          `Parameter ${key} is not valid. Reason: ${key} is a required argument.`,
        );
      }
    }
    let detail: unknown;
    try {
      detail = JSON.parse(String(entry.Detail));
    } catch {
      throw new EntryError('MalformedDetail', 'Detail is malformed.');
    }
    if (!isRecord(detail)) throw new EntryError('MalformedDetail', 'Detail is malformed.');
    if (Buffer.byteLength(JSON.stringify(entry)) > MAX_ENTRY_BYTES) {
      throw new EntryError('InvalidArgument', 'Total size of the entries in the request is over the limit.');
    }
    const busName = this.busName(entry.EventBusName);
    if (!this.hasBus(busName))
      throw new EntryError('NotFoundException', `Event bus ${busName} does not exist.`);
    const resources = entry.Resources ?? [];
    if (!Array.isArray(resources) || !resources.every((r) => typeof r === 'string')) {
      throw new EntryError('InvalidArgument', 'Parameter Resources is not valid.');
    }
    const time =
      typeof entry.Time === 'number' ? new Date(entry.Time * 1000) : (this.options.now?.() ?? new Date());
    const event: BusEvent = {
      version: '0',
      id: randomUUID(),
      'detail-type': String(entry.DetailType),
      source: String(entry.Source),
      account: this.options.accountId,
      time: eventTime(time),
      region: this.options.region,
      resources,
      detail,
    };
    this.dispatch(busName, event);
    return event.id;
  }

  /** Archives and routes one event; delivery is asynchronous, as on EventBridge. */
  dispatch(busName: string, event: BusEvent): void {
    for (const archive of this.options.archives ?? []) {
      if (archive.eventBusName !== busName) continue;
      if (archive.pattern && !matchesEventPattern(archive.pattern, event)) continue;
      this.options.onArchive?.(archive, event);
    }
    for (const rule of this.options.rules) {
      if (!rule.enabled || rule.eventBusName !== busName || !matchesEventPattern(rule.pattern, event))
        continue;
      for (const target of rule.targets) {
        let payload: string;
        try {
          payload = targetPayload(rule, target, event);
        } catch (error) {
          this.options.onUndeliverable?.({ rule, target, payload: JSON.stringify(event), event }, error);
          continue;
        }
        const delivery = this.deliverWithRetries({ rule, target, payload, event });
        this.inFlight.add(delivery);
        void delivery.finally(() => this.inFlight.delete(delivery));
      }
    }
  }

  private async deliverWithRetries(delivery: Delivery): Promise<void> {
    const attempts = this.options.maxAttempts ?? 3;
    for (let attempt = 1; ; attempt += 1) {
      try {
        await this.options.deliver(delivery);
        return;
      } catch (error) {
        if (attempt >= attempts) {
          this.options.onUndeliverable?.(delivery, error);
          return;
        }
        await new Promise((resolve) =>
          setTimeout(resolve, (this.options.retryDelayMs ?? 500) * 2 ** (attempt - 1)),
        );
      }
    }
  }

  /** Resolves once every delivery started so far has finished (for orderly shutdown and tests). */
  async drain(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
  }

  testEventPattern(input: Record<string, unknown>): { Result: boolean } {
    const pattern = parsePatternOrThrow(requireString(input, 'EventPattern'));
    let event: unknown;
    try {
      event = JSON.parse(requireString(input, 'Event'));
    } catch (error) {
      if (error instanceof AwsServiceError) throw error;
      throw new AwsServiceError('InvalidEventPatternException', 'Event is not valid JSON');
    }
    if (!isRecord(event))
      throw new AwsServiceError('InvalidEventPatternException', 'Event must be a JSON object');
    for (const field of ['id', 'account', 'source', 'time', 'region', 'resources', 'detail-type']) {
      if (!(field in event)) {
        throw new AwsServiceError(
          'InvalidEventPatternException',
          `Event is missing the required field ${field}`,
        );
      }
    }
    return { Result: matchesEventPattern(pattern, event) };
  }

  private rulesOf(input: Record<string, unknown>) {
    const busName = this.busName(input.EventBusName);
    if (!this.hasBus(busName))
      throw new AwsServiceError('ResourceNotFoundException', `Event bus ${busName} does not exist.`);
    return this.options.rules.filter((r) => r.eventBusName === busName);
  }

  async start(port: number): Promise<string> {
    const { server, url } = await listenJsonProtocol(
      {
        targetPrefix: 'AWSEvents',
        operations: {
          PutEvents: (input) => this.putEvents(input),
          TestEventPattern: (input) => this.testEventPattern(input),
          ListEventBuses: () => ({
            EventBuses: ['default', ...this.options.buses].map((name) => ({
              Name: name,
              Arn: this.busArn(name),
            })),
          }),
          DescribeEventBus: (input) => {
            const name = this.busName(input.Name);
            if (!this.hasBus(name))
              throw new AwsServiceError('ResourceNotFoundException', `Event bus ${name} does not exist.`);
            return { Name: name, Arn: this.busArn(name) };
          },
          ListRules: (input) => {
            const prefix = typeof input.NamePrefix === 'string' ? input.NamePrefix : '';
            return {
              Rules: this.rulesOf(input)
                .filter((r) => r.name.startsWith(prefix))
                .map((r) => ({
                  Name: r.name,
                  Arn: r.arn,
                  EventBusName: r.eventBusName,
                  EventPattern: r.patternText,
                  State: r.enabled ? 'ENABLED' : 'DISABLED',
                  Description: r.description,
                })),
            };
          },
          ListTargetsByRule: (input) => {
            const name = requireString(input, 'Rule');
            const rule = this.rulesOf(input).find((r) => r.name === name);
            if (!rule) throw new AwsServiceError('ResourceNotFoundException', `Rule ${name} does not exist.`);
            return {
              Targets: rule.targets.map((t) => ({
                Id: t.id,
                Arn: t.arn,
                Input: t.input,
                InputPath: t.inputPath,
              })),
            };
          },
        },
      },
      { port },
    );
    this.server = server;
    this.url = url;
    return url;
  }

  private busArn(name: string): string {
    return `arn:aws:events:${this.options.region}:${this.options.accountId}:event-bus/${name}`;
  }

  async stop(): Promise<void> {
    const server = this.server;
    if (server) {
      await closeServer(server);
    }
    await this.drain();
  }
}

class EntryError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

function parsePatternOrThrow(text: string): EventPattern {
  try {
    return parseEventPattern(text);
  } catch (error) {
    throw new AwsServiceError(
      'InvalidEventPatternException',
      error instanceof Error ? error.message : String(error),
    );
  }
}

/** What a target receives: the whole event, a constant Input, an InputPath selection or an input transformation. */
export function targetPayload(rule: BusRule, target: RuleTarget, event: BusEvent): string {
  if (target.input !== undefined) return target.input;
  if (target.inputPath !== undefined) return JSON.stringify(applyInputPath(target.inputPath, event) ?? null);
  if (target.inputTransformer !== undefined) {
    return applyInputTransformer(target.inputTransformer, event, {
      ruleArn: rule.arn,
      ruleName: rule.name,
      ingestionTime: event.time,
    });
  }
  return JSON.stringify(event);
}
