#!/usr/bin/env -S npx tsx
// `npm start`: runs Nurture on this machine against local emulators, from the same template that deploys.
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { PortInUseError, PrerequisiteError } from '../lib/local/emulators.ts';
import { startLocalStack } from '../lib/local/local-stack.ts';

const HELP = `Usage: npm start [-- options]

Runs the Nurture stack locally: DynamoDB Local, SQS (fauxqs), SES v2 (aws-ses-v2-local), a local EventBridge bus
and every HTTP route, rule, queue consumer and schedule of the synthesized CDK app.

Options:
  --fresh          delete local data (.nurture/) before starting
  --port <n>       API port (default: $PORT or 4000); emulators use the next five ports; 0 picks free ports
  --stage <s>      CDK stage to synthesize (default: dev)
  --quiet          do not print function logs (they are still written to .nurture/logs/functions/)
  -h, --help       show this help

Environment: PORT, NURTURE_ADMIN_TOKEN, NURTURE_WRITE_KEY, NURTURE_DATA_DIR,
NURTURE_ASSEMBLY_DIR (run an already synthesized cloud assembly instead of synthesizing).`;

// The emulator clients run on this machine's Node 20; the SDK's end-of-support reminder is not news to act on here.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const projectRoot = join(dirname(fileURLToPath(import.meta.url)), '..');

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      fresh: { type: 'boolean', default: false },
      port: { type: 'string' },
      stage: { type: 'string', default: 'dev' },
      quiet: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
  });
  if (values.help) {
    console.log(HELP);
    return;
  }
  const portText = values.port ?? process.env.PORT ?? '4000';
  const port = Number(portText);
  if (!Number.isInteger(port) || port < 0 || port > 65530) {
    throw new UsageError(`--port/PORT must be a port number, got "${portText}"`);
  }

  console.log(`Starting Nurture locally${values.fresh ? ' (fresh)' : ''}...`);
  const stack = await startLocalStack({
    projectRoot,
    port,
    fresh: values.fresh,
    context: { stage: values.stage },
    ...(process.env.NURTURE_DATA_DIR ? { dataDirectory: process.env.NURTURE_DATA_DIR } : {}),
    // A cloud assembly synthesized beforehand (CI and the end-to-end suite share one instead of re-bundling).
    ...(process.env.NURTURE_ASSEMBLY_DIR ? { assemblyDirectory: process.env.NURTURE_ASSEMBLY_DIR } : {}),
    ...(process.env.NURTURE_ADMIN_TOKEN ? { adminToken: process.env.NURTURE_ADMIN_TOKEN } : {}),
    ...(process.env.NURTURE_WRITE_KEY ? { writeKey: process.env.NURTURE_WRITE_KEY } : {}),
    log: (line) => console.log(line),
    ...(values.quiet
      ? {}
      : { onFunctionLog: (name: string, line: string) => console.log(`[${name}] ${line}`) }),
  });

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    console.log(`\n${signal}: stopping Nurture...`);
    // Never hang on shutdown: whatever is still running after 8 s is cut off.
    setTimeout(() => {
      console.error('Shutdown took too long; exiting.');
      process.exit(1);
    }, 8000).unref();
    stack.stop().then(
      () => process.exit(0),
      (error: unknown) => {
        console.error(error);
        process.exit(1);
      },
    );
  };
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, () => stop(signal));

  console.log(`
Nurture is running (${stack.stackName}, ready in ${(stack.timings.total ?? 0) / 1000} s)

  API        ${stack.apiUrl}          (try ${stack.apiUrl}/health)
  Admin      Authorization: Bearer ${stack.adminToken}
  Write key  ${stack.writeKey}
  Mailbox    ${stack.mailboxUrl}
  Emulators  DynamoDB ${stack.endpoints.dynamodb}  SQS ${stack.endpoints.sqs}  EventBridge ${stack.endpoints.events}
  Data       ${stack.dataDirectory}  (URLs and tokens: ${join(stack.dataDirectory, 'local.json')})

Press Ctrl-C to stop.`);
}

class UsageError extends Error {}

main().catch((error: unknown) => {
  if (error instanceof PortInUseError || error instanceof PrerequisiteError || error instanceof UsageError) {
    console.error(`\nCannot start Nurture: ${error.message}`);
    process.exit(2);
  }
  console.error('\nCannot start Nurture:', error);
  process.exit(1);
});
