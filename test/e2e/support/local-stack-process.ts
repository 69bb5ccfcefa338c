// Starts `npm start` as a user would, in its own process group and data directory, and stops it like Ctrl-C.
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { inject } from 'vitest';
import { z } from 'zod';

export const projectRoot = fileURLToPath(new URL('../../..', import.meta.url));

export const localJsonSchema = z.object({
  apiUrl: z.string().url(),
  adminToken: z.string().min(20),
  writeKey: z.string().min(20),
  mailboxUrl: z.string().url(),
  pid: z.number().int(),
  endpoints: z.object({
    dynamodb: z.string().url(),
    sqs: z.string().url(),
    sesv2: z.string().url(),
    events: z.string().url(),
  }),
});
export type LocalJson = z.infer<typeof localJsonSchema>;

export interface LocalStackProcess {
  readonly child: ChildProcess;
  readonly dataDirectory: string;
  readonly local: LocalJson;
  output(): string;
  /** SIGINT to the whole process group, as Ctrl-C in a terminal; resolves when every process is gone. */
  stop(): Promise<number>;
  /** Stops and deletes the data directory. */
  dispose(): Promise<void>;
}

function groupAlive(pid: number): boolean {
  try {
    process.kill(-pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** `npm start` in its own process group, so a signal reaches the whole tree as Ctrl-C in a terminal would. */
export function spawnNpmStart(options: {
  args?: string[];
  env?: Record<string, string>;
  dataDirectory: string;
}): ChildProcess & { output(): string } {
  let output = '';
  const child = spawn('npm', ['start', '--', '--quiet', ...(options.args ?? [])], {
    cwd: projectRoot,
    env: { ...process.env, NURTURE_DATA_DIR: options.dataDirectory, PORT: '0', ...options.env },
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout?.on('data', (c: Buffer) => {
    output += c.toString();
  });
  child.stderr?.on('data', (c: Buffer) => {
    output += c.toString();
  });
  return Object.assign(child, { output: () => output });
}

export async function startLocalStackProcess(
  options: {
    args?: string[];
    env?: Record<string, string>;
    dataDirectory?: string;
    /**
     * Run the cloud assembly the suite's global setup synthesized once, instead of synthesizing (and bundling every
     * function) again. `false` exercises `npm start`'s own synthesis. @default true
     */
    sharedAssembly?: boolean;
  } = {},
): Promise<LocalStackProcess> {
  const dataDirectory = options.dataDirectory ?? mkdtempSync(join(tmpdir(), 'nurture-e2e-'));
  const localJsonPath = join(dataDirectory, 'local.json');
  rmSync(localJsonPath, { force: true });
  const env =
    options.sharedAssembly === false
      ? options.env
      : { NURTURE_ASSEMBLY_DIR: inject('assemblyDirectory'), ...options.env };
  const child = spawnNpmStart({ ...options, ...(env ? { env } : {}), dataDirectory });
  const output = () => child.output();
  const deadline = Date.now() + 150_000;
  while (!existsSync(localJsonPath) || !output().includes('Press Ctrl-C')) {
    if (child.exitCode !== null) throw new Error(`npm start exited early:\n${output()}`);
    if (Date.now() > deadline) throw new Error(`npm start did not get ready:\n${output()}`);
    await new Promise((r) => setTimeout(r, 200));
  }
  const local = localJsonSchema.parse(JSON.parse(readFileSync(localJsonPath, 'utf8')));
  const pid = child.pid ?? 0;
  const stop = async () => {
    const started = Date.now();
    if (groupAlive(pid)) process.kill(-pid, 'SIGINT');
    while (groupAlive(pid)) {
      if (Date.now() - started > 15_000) {
        process.kill(-pid, 'SIGKILL');
        throw new Error('the local stack did not stop within 15 s');
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    return Date.now() - started;
  };
  return {
    child,
    dataDirectory,
    local,
    output,
    stop,
    async dispose() {
      await stop().catch(() => undefined);
      rmSync(dataDirectory, { recursive: true, force: true });
    },
  };
}

/** Calls the admin API with the stack's admin token. */
export async function admin(
  stack: LocalStackProcess,
  path: string,
  init: RequestInit = {},
): Promise<Response> {
  return fetch(`${stack.local.apiUrl}${path}`, {
    ...init,
    headers: {
      authorization: `Bearer ${stack.local.adminToken}`,
      'content-type': 'application/json',
      ...init.headers,
    },
  });
}

/** Polls until `check` returns a value (not undefined), or fails after `timeoutMs`. */
export async function eventually<T>(check: () => Promise<T | undefined>, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 200));
  }
}
