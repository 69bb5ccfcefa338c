// The enrichers bundled the way a function is bundled, loading their data from data/ beside the bundle.
import { execFile } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as z from 'zod';
import { classifyEmail, loadEmailDomainLists } from '../../../functions/enrichment/email-domain.ts';
import { loadIpCountryTable, lookupCountry } from '../../../functions/enrichment/ip-country.ts';

const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const MAX_BUNDLE_BYTES = 500 * 1024;

/** A stand-in for a handler that enriches: loads both data sets at cold start and answers lookups. */
const ENTRY = `
import { classifyEmail, loadEmailDomainLists } from './functions/enrichment/email-domain.ts';
import { loadIpCountryTable, lookupCountry } from './functions/enrichment/ip-country.ts';
const email = loadEmailDomainLists();
const ip = loadIpCountryTable();
export const handler = async (event) => ({
  country: lookupCountry(ip.table, event.ip),
  email: classifyEmail(email.lists, event.email),
  versions: [email.version, ip.version],
});
`;

/** Imports the bundle in a fresh Node process, as a Lambda cold start does, and runs the handler once. */
const COLD_START = `
const started = performance.now();
const { handler } = await import(process.argv[1]);
const loadMs = performance.now() - started;
const result = await handler(JSON.parse(process.argv[2]));
console.log(JSON.stringify({ loadMs, result }));
`;

const coldStartOutput = z.object({
  loadMs: z.number(),
  result: z.object({
    country: z.string().nullable(),
    email: z
      .object({ domain: z.string(), freeMail: z.boolean(), disposable: z.boolean(), role: z.boolean() })
      .nullable(),
    versions: z.array(z.string()),
  }),
});

const run = promisify(execFile);
let outDir = '';
let bundlePath = '';

/** esbuild with the options NurtureFunction gives it (lib/constructs/nurture-function.ts). */
async function bundleEntry(outfile: string): Promise<void> {
  await build({
    stdin: { contents: ENTRY, resolveDir: REPO_ROOT, loader: 'ts', sourcefile: 'handler.ts' },
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node24',
    minify: true,
    sourcemap: true,
    mainFields: ['module', 'main'],
    banner: {
      js: "import { createRequire as __nurtureCreateRequire } from 'node:module';const require = __nurtureCreateRequire(import.meta.url);",
    },
    logLevel: 'warning',
    outfile,
  });
}

async function coldStart(event: { ip: string; email: string }) {
  const { stdout } = await run(process.execPath, [
    '--enable-source-maps',
    '--input-type=module',
    '-e',
    COLD_START,
    pathToFileURL(bundlePath).href,
    JSON.stringify(event),
  ]);
  return coldStartOutput.parse(JSON.parse(stdout));
}

beforeAll(async () => {
  outDir = mkdtempSync(join(tmpdir(), 'nurture-enrichment-bundle-'));
  bundlePath = join(outDir, 'index.mjs');
  await bundleEntry(bundlePath);
});
afterAll(() => rmSync(outDir, { recursive: true, force: true }));

describe('enrichers in a function bundle', () => {
  it('fail at cold start when the data folder is missing, instead of enriching from somewhere else', async () => {
    const failure = coldStart({ ip: '8.8.8.8', email: 'ana@web.de' });

    await expect(failure).rejects.toThrow(/ENOENT/);
  });

  describe('with the data copied beside the bundle', () => {
    beforeAll(() => {
      cpSync(join(REPO_ROOT, 'functions', 'enrichment', 'data'), join(outDir, 'data'), { recursive: true });
    });

    it('answers the same country and email classification as the unbundled modules', async () => {
      const event = { ip: '8.8.8.8', email: 'info@web.de' };
      const ip = loadIpCountryTable();
      const email = loadEmailDomainLists();

      const { result } = await coldStart(event);

      expect(result.country).not.toBeNull();
      expect(result.country).toBe(lookupCountry(ip.table, event.ip));
      expect(result.email).toEqual(classifyEmail(email.lists, event.email));
      expect(result.versions).toEqual([email.version, ip.version]);
    });

    it('keeps the bundle small because the data stays out of the JavaScript', () => {
      expect(statSync(bundlePath).size).toBeLessThan(MAX_BUNDLE_BYTES);
    });
  });
});
