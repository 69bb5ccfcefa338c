// Runs a function's deployed bundle like Lambda does: isolated instances (worker threads), timeouts, concurrency.
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { eventBeforeCrash, type FunctionFaults } from '../function-faults.ts';
import type { InvokeResult } from '../types.ts';

export interface LocalFunctionDefinition {
  readonly logicalId: string;
  readonly functionName: string;
  readonly functionArn: string;
  /** Directory holding the unpacked asset (index.mjs). */
  readonly codeDirectory: string;
  /** e.g. `index.handler`. */
  readonly handler: string;
  readonly timeoutSeconds: number;
  readonly memorySize: number;
  readonly environment: Readonly<Record<string, string>>;
  /** Reserved concurrency, else the local default. */
  readonly maxConcurrency: number;
  readonly logGroupName: string;
}

export interface FunctionPoolOptions {
  /** The local clock's shared offset (LocalClock.buffer); sandboxes see real time plus it. @default real time */
  readonly clockBuffer?: SharedArrayBuffer;
  /** Crashes injected through `PUT /_local/faults`; none when absent. */
  readonly faults?: FunctionFaults;
}

export type FunctionLogLine = { functionName: string; stream: 'stdout' | 'stderr'; line: string };

interface Instance {
  worker: Worker;
  busy: boolean;
}

interface Pending {
  resolve: (result: {
    ok: boolean;
    value?: unknown;
    error?: { errorType: string; errorMessage: string };
  }) => void;
}

const WORKER_SCRIPT = new URL('./worker.mjs', import.meta.url);

/** One pool per function; instances are created on demand up to the concurrency limit and reused warm. */
export class FunctionPool {
  private readonly instances: Instance[] = [];
  private readonly waiting: Array<() => void> = [];
  private readonly pending = new Map<string, Pending>();
  private closed = false;
  /** Cold starts so far, for the banner and benchmarks. */
  coldStarts = 0;

  constructor(
    readonly definition: LocalFunctionDefinition,
    private readonly baseEnvironment: Readonly<Record<string, string>>,
    private readonly onLog: (line: FunctionLogLine) => void,
    private readonly options: FunctionPoolOptions = {},
  ) {}

  async invoke(event: unknown): Promise<InvokeResult> {
    if (this.closed) throw new Error(`Function ${this.definition.functionName} is stopped`);
    const fault = this.options.faults?.take(this.definition);
    if (!fault) return this.run(event);
    const started = performance.now();
    // The work before the crash really happens (writes, sends); only the answer is lost, as when a sandbox dies.
    if (fault.crash !== 'beforeInvoke') await this.run(eventBeforeCrash(event, fault));
    const errorMessage = `injected crash (${fault.crash === 'afterRecords' ? `after ${fault.records} records` : fault.crash})`;
    this.onLog({
      functionName: this.definition.functionName,
      stream: 'stderr',
      line: JSON.stringify({
        level: 'ERROR',
        message: 'Invoke Error',
        errorType: 'Runtime.ExitError',
        errorMessage,
      }),
    });
    return {
      ok: false,
      error: { errorType: 'Runtime.ExitError', errorMessage },
      durationMs: performance.now() - started,
      ...(fault.redeliverAfterSeconds === undefined
        ? {}
        : { redeliverAfterSeconds: fault.redeliverAfterSeconds }),
    };
  }

  private async run(event: unknown): Promise<InvokeResult> {
    const instance = await this.acquire();
    const started = performance.now();
    const id = randomUUID();
    const timeoutMs = this.definition.timeoutSeconds * 1000;
    const deadlineMs = Date.now() + timeoutMs;
    let timer: NodeJS.Timeout | undefined;
    try {
      const outcome = await new Promise<{
        ok: boolean;
        value?: unknown;
        error?: { errorType: string; errorMessage: string };
      }>((resolve) => {
        this.pending.set(id, { resolve });
        timer = setTimeout(() => {
          // Like Lambda, a timed-out invocation takes its sandbox with it.
          this.pending.delete(id);
          this.discard(instance);
          resolve({
            ok: false,
            error: {
              errorType: 'Sandbox.Timedout',
              errorMessage: `Task timed out after ${this.definition.timeoutSeconds.toFixed(2)} seconds`,
            },
          });
        }, timeoutMs);
        instance.worker.postMessage({
          type: 'invoke',
          id,
          event,
          context: {
            functionName: this.definition.functionName,
            functionVersion: '$LATEST',
            invokedFunctionArn: this.definition.functionArn,
            memoryLimitInMB: String(this.definition.memorySize),
            awsRequestId: id,
            logGroupName: this.definition.logGroupName,
            logStreamName: `local/[$LATEST]${id.replaceAll('-', '')}`,
            deadlineMs,
          },
        });
      });
      const durationMs = performance.now() - started;
      if (outcome.ok) return { ok: true, value: outcome.value, durationMs };
      // Lambda writes every invocation error to the function's log; without it a 500 would be a mystery.
      this.onLog({
        functionName: this.definition.functionName,
        stream: 'stderr',
        line: JSON.stringify({ level: 'ERROR', message: 'Invoke Error', requestId: id, ...outcome.error }),
      });
      return {
        ok: false,
        error: outcome.error ?? { errorType: 'Error', errorMessage: 'unknown error' },
        durationMs,
      };
    } finally {
      clearTimeout(timer);
      this.release(instance);
    }
  }

  private async acquire(): Promise<Instance> {
    for (;;) {
      const idle = this.instances.find((i) => !i.busy);
      if (idle) {
        idle.busy = true;
        return idle;
      }
      if (this.instances.length < this.definition.maxConcurrency) {
        const instance = { worker: this.spawn(), busy: true };
        this.instances.push(instance);
        return instance;
      }
      await new Promise<void>((resolve) => this.waiting.push(resolve));
    }
  }

  private release(instance: Instance): void {
    instance.busy = false;
    this.waiting.shift()?.();
  }

  private discard(instance: Instance): void {
    const index = this.instances.indexOf(instance);
    if (index >= 0) this.instances.splice(index, 1);
    void instance.worker.terminate();
  }

  private spawn(): Worker {
    this.coldStarts += 1;
    const [file, exportName] = splitHandler(this.definition.handler);
    const worker = new Worker(WORKER_SCRIPT, {
      workerData: {
        modulePath: join(this.definition.codeDirectory, file),
        exportName,
        handler: this.definition.handler,
        ...(this.options.clockBuffer ? { clockBuffer: this.options.clockBuffer } : {}),
      },
      env: { ...this.baseEnvironment, ...this.definition.environment },
      stdout: true,
      stderr: true,
      execArgv: [],
      resourceLimits: { maxOldGenerationSizeMb: Math.max(64, this.definition.memorySize) },
    });
    for (const stream of ['stdout', 'stderr'] as const) {
      let buffered = '';
      worker[stream].setEncoding('utf8');
      worker[stream].on('data', (chunk: string) => {
        buffered += chunk;
        const lines = buffered.split('\n');
        buffered = lines.pop() ?? '';
        for (const line of lines)
          if (line !== '') this.onLog({ functionName: this.definition.functionName, stream, line });
      });
    }
    worker.on('message', (message: unknown) => {
      if (!isResultMessage(message)) return;
      const pending = this.pending.get(message.id);
      if (!pending) return;
      this.pending.delete(message.id);
      pending.resolve(message);
    });
    worker.on('error', (error) => {
      // An uncaught exception kills the sandbox: fail whatever it was running, as Lambda does.
      this.onLog({
        functionName: this.definition.functionName,
        stream: 'stderr',
        line: String(error.stack ?? error),
      });
      const instance = this.instances.find((i) => i.worker === worker);
      if (instance) this.discard(instance);
      for (const [id, pending] of this.pending) {
        this.pending.delete(id);
        pending.resolve({
          ok: false,
          error: { errorType: 'Runtime.ExitError', errorMessage: error.message },
        });
      }
    });
    return worker;
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all(this.instances.map((i) => i.worker.terminate()));
    this.instances.length = 0;
  }
}

function splitHandler(handler: string): [string, string] {
  const dot = handler.lastIndexOf('.');
  if (dot <= 0) throw new Error(`Bad handler "${handler}": expected file.export`);
  const base = handler.slice(0, dot);
  return [`${base}.mjs`, handler.slice(dot + 1)];
}

function isResultMessage(message: unknown): message is {
  type: 'result';
  id: string;
  ok: boolean;
  value?: unknown;
  error?: { errorType: string; errorMessage: string };
} {
  return (
    typeof message === 'object' &&
    message !== null &&
    'type' in message &&
    message.type === 'result' &&
    'id' in message &&
    typeof message.id === 'string'
  );
}
