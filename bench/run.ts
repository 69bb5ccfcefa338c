// `npm run bench`: measures bundle sizes, module load, warm handler time and local-stack start-up, and prints them.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { readCloudAssembly, synthesize } from '../lib/local/cloud-assembly.ts';
import { reservePort, startDynamoDbLocal } from '../lib/local/emulators.ts';
import { FunctionPool } from '../lib/local/lambda/function-pool.ts';
import { startLocalStack } from '../lib/local/local-stack.ts';
import { provisionTables } from '../lib/local/provision.ts';
import { TemplateModel } from '../lib/local/template.ts';
import { readFunctions } from '../lib/local/template-resources.ts';
import { benchImport } from './import.ts';
import { benchJourneyEngine } from './journeys-engine.ts';
import { benchJourneyTimers } from './journeys-timers.ts';
import { benchKpis } from './kpis.ts';
import { benchRender } from './messaging-render.ts';
import { benchSend } from './messaging-send.ts';
import { benchScoring } from './scoring.ts';
import { benchSegments } from './segments.ts';
import { benchDomain, benchTracking } from './tracking.ts';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
const projectRoot = fileURLToPath(new URL('..', import.meta.url));
const BUNDLE_BUDGET_BYTES = 500 * 1024;

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
}

const ms = (n: number) => `${n.toFixed(1)} ms`;
const kb = (n: number) => `${(n / 1024).toFixed(1)} KB`;

async function main(): Promise<void> {
  const work = mkdtempSync(join(tmpdir(), 'nurture-bench-'));
  try {
    console.log('Nurture benchmarks (figures are reported, never asserted)\n');

    let started = performance.now();
    const outDir = join(work, 'cdk.out');
    await synthesize({ projectRoot, outDir, context: { stage: 'dev' } });
    console.log(`synthesis (incl. esbuild bundling): ${ms(performance.now() - started)}\n`);

    const assembly = readCloudAssembly(outDir);
    const model = new TemplateModel(assembly.template, {
      stackName: assembly.stackName,
      region: 'us-east-1',
      accountId: '000000000000',
    });
    const functions = readFunctions(model, (key) => assembly.assetDirectory(key));
    const results: Record<string, unknown> = {
      date: new Date().toISOString(),
      node: process.version,
      bundles: [],
    };

    console.log(
      'function bundles (budget 500 KB each) and module load in a fresh Node process (median of 5):',
    );
    for (const fn of functions) {
      const file = join(fn.codeDirectory, 'index.mjs');
      const bytes = statSync(file).size;
      const gzipped = gzipSync(readFileSync(file)).length;
      const loads: number[] = [];
      for (let i = 0; i < 5; i += 1) {
        const output = execFileSync(
          process.execPath,
          [
            '--input-type=module',
            '-e',
            `const t = performance.now(); await import(${JSON.stringify(file)}); console.log(performance.now() - t);`,
          ],
          { env: { ...process.env, ...fn.environment, AWS_REGION: 'us-east-1' }, encoding: 'utf8' },
        );
        loads.push(Number(output.trim().split('\n').pop()));
      }
      const verdict = bytes <= BUNDLE_BUDGET_BYTES ? 'within budget' : 'OVER BUDGET';
      (results.bundles as unknown[]).push({
        function: fn.logicalId,
        bytes,
        gzipBytes: gzipped,
        loadMs: percentile(loads, 50),
      });
      console.log(
        `  ${fn.logicalId.padEnd(40)} ${kb(bytes).padStart(9)} (gzip ${kb(gzipped).padStart(8)})  load ${ms(percentile(loads, 50)).padStart(9)}  ${verdict}`,
      );
    }

    const health = functions.find((f) => f.logicalId.startsWith('Health'));
    if (health) {
      const pool = new FunctionPool({ ...health, maxConcurrency: 1 }, {}, () => {});
      const event = {
        version: '2.0',
        routeKey: 'GET /health',
        rawPath: '/health',
        rawQueryString: '',
        headers: {},
        requestContext: { requestId: 'bench', http: { method: 'GET', path: '/health' } },
        isBase64Encoded: false,
      };
      await pool.invoke(event);
      const durations: number[] = [];
      for (let i = 0; i < 2000; i += 1) {
        const result = await pool.invoke(event);
        durations.push(result.durationMs);
      }
      await pool.close();
      console.log(
        `\nwarm GET /health handler invocation incl. worker round trip (n=2000): p50 ${ms(percentile(durations, 50))}, p99 ${ms(percentile(durations, 99))}`,
      );
    }

    const dynamo = await startDynamoDbLocal({ port: await reservePort(0, 'DynamoDB Local') });
    try {
      const client = new DynamoDBClient({
        endpoint: dynamo.url,
        region: 'us-east-1',
        credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
      });
      const [table] = await provisionTables(model, client);
      client.destroy();
      if (!table) throw new Error('the template has no table');
      const scenarios = await benchTracking({ endpoint: dynamo.url, tableName: table.tableName });
      const domain = benchDomain();
      results.tracking = { scenarios, domainMicrosecondsPerEvent: domain.microsecondsPerEvent };
      console.log(
        '\ntracking through the collect code against DynamoDB Local (write units from ReturnConsumedCapacity):',
      );
      console.table(scenarios);
      console.log(
        `tracking domain code alone (decode, parse, enrich, apply; no storage): ${domain.microsecondsPerEvent} µs CPU per event`,
      );
      results.messagingSend = await benchSend({ endpoint: dynamo.url, tableName: table.tableName });
      results.journeyTimers = await benchJourneyTimers({ endpoint: dynamo.url, tableName: table.tableName });
      results.scoring = await benchScoring({ endpoint: dynamo.url, tableName: table.tableName });
      results.segments = await benchSegments({ endpoint: dynamo.url, tableName: table.tableName });
      results.kpis = await benchKpis({ endpoint: dynamo.url, tableName: table.tableName });
    } finally {
      await dynamo.stop();
    }

    results.messagingRender = await benchRender();
    results.journeyEngine = await benchJourneyEngine();
    results.crmImport = await benchImport();

    started = performance.now();
    const stack = await startLocalStack({
      projectRoot,
      dataDirectory: join(work, 'data'),
      port: 0,
      fresh: true,
    });
    const ready = performance.now() - started;
    const phases = Object.entries(stack.timings)
      .map(([phase, value]) => `${phase} ${value} ms`)
      .join(', ');
    console.log(`\nlocal stack start-up (fresh): ${ms(ready)} (${phases})`);
    const latencies: number[] = [];
    for (let i = 0; i < 300; i += 1) {
      const t = performance.now();
      const response = await fetch(`${stack.apiUrl}/health`);
      await response.arrayBuffer();
      latencies.push(performance.now() - t);
    }
    console.log(
      `GET /health through the local API Gateway (n=300): p50 ${ms(percentile(latencies, 50))}, p95 ${ms(percentile(latencies, 95))}`,
    );
    started = performance.now();
    await stack.stop();
    console.log(`local stack stop: ${ms(performance.now() - started)}`);
    console.log(`\nmemory of this process at the end: rss ${kb(process.memoryUsage().rss)}`);
    results.localStack = {
      startupMs: Math.round(ready),
      phases: stack.timings,
      healthP50Ms: percentile(latencies, 50),
    };
    const out = fileURLToPath(new URL('./results/latest.json', import.meta.url));
    mkdirSync(dirname(out), { recursive: true });
    writeFileSync(out, `${JSON.stringify(results, null, 2)}\n`);
    console.log(`figures written to ${out}`);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
