// Data folders a function declares ship beside its bundle, where Lambda and the local stack both load them from.
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, CfnElement, Stack } from 'aws-cdk-lib';
import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { afterAll, describe, expect, it } from 'vitest';
import * as z from 'zod';
import { enrichmentManifestSchema } from '../../functions/enrichment/shipped-data.ts';
import { NurtureFunction, type NurtureFunctionProps } from '../../lib/constructs/nurture-function.ts';
import { readCloudAssembly } from '../../lib/local/cloud-assembly.ts';

const ENRICHMENT_DATA = 'functions/enrichment/data';
const SOURCE_DATA_DIR = join(import.meta.dirname, '..', '..', ENRICHMENT_DATA);
/** What docs/enrichment.md promises a function bundle stays under once its data lives beside it. */
const MAX_BUNDLE_BYTES = 500 * 1024;

const baseProps: NurtureFunctionProps = {
  entry: 'health',
  description: 'test function',
  logRetention: RetentionDays.ONE_DAY,
  retainLogs: false,
};

const templateSchema = z.object({ Resources: z.record(z.string(), z.unknown()) });
const lambdaFunctionSchema = z.object({
  Properties: z.object({ Code: z.object({ S3Key: z.string() }).loose() }).loose(),
});

const outDir = mkdtempSync(join(tmpdir(), 'nurture-function-data-'));
afterAll(() => rmSync(outDir, { recursive: true, force: true }));

/** Synthesizes one stack with a function that ships the enrichment data and one that ships nothing. */
function synthesizeAssets(): { withData: string; withoutData: string } {
  const app = new App({ outdir: outDir });
  const stack = new Stack(app, 'FunctionData');
  const withData = new NurtureFunction(stack, 'WithData', {
    ...baseProps,
    dataDirectories: [ENRICHMENT_DATA],
  });
  const withoutData = new NurtureFunction(stack, 'WithoutData', baseProps);
  app.synth();
  // The local stack resolves a function's code folder exactly like this, from the template's S3 key.
  const assembly = readCloudAssembly(outDir);
  const resources = templateSchema.parse(assembly.template).Resources;
  const folderOf = (fn: NurtureFunction): string => {
    const element = fn.function.node.defaultChild;
    if (!(element instanceof CfnElement)) throw new Error(`${fn.node.id} has no function resource`);
    const resource = lambdaFunctionSchema.parse(resources[stack.getLogicalId(element)]);
    return assembly.assetDirectory(resource.Properties.Code.S3Key);
  };
  return { withData: folderOf(withData), withoutData: folderOf(withoutData) };
}

const sha256 = (path: string): string => createHash('sha256').update(readFileSync(path)).digest('hex');

describe('data folders beside a function bundle', () => {
  const assets = synthesizeAssets();

  it('copies every file of a declared data folder into data/ beside the bundle', () => {
    const shipped = readdirSync(join(assets.withData, 'data')).sort();

    expect(shipped).toEqual(readdirSync(SOURCE_DATA_DIR).sort());
  });

  it('ships the data unchanged, as the manifest checksums describe it', () => {
    const manifest = enrichmentManifestSchema.parse(
      JSON.parse(readFileSync(join(assets.withData, 'data', 'manifest.json'), 'utf8')),
    );

    for (const [name, file] of Object.entries(manifest.files)) {
      expect(sha256(join(assets.withData, 'data', name)), name).toBe(file.sha256);
    }
    expect(Object.keys(manifest.files)).toContain('ip-country.bin.br');
  });

  it('keeps the data out of the JavaScript bundle', () => {
    const bundleBytes = statSync(join(assets.withData, 'index.mjs')).size;

    expect(bundleBytes).toBeLessThan(MAX_BUNDLE_BYTES);
  });

  it('gives a function that declares no data folder no data/ folder', () => {
    expect(existsSync(join(assets.withoutData, 'index.mjs'))).toBe(true);
    expect(existsSync(join(assets.withoutData, 'data'))).toBe(false);
  });
});

describe('declaring data folders', () => {
  const declare = (dataDirectories: readonly string[]) => () =>
    new NurtureFunction(new Stack(new App(), 'Declared'), 'Fn', { ...baseProps, dataDirectories });

  it('refuses a folder outside the repository', () => {
    expect(declare(['../elsewhere'])).toThrow(/inside the repository/);
    expect(declare(['/etc'])).toThrow(/inside the repository/);
  });

  it('refuses a folder that does not exist', () => {
    expect(declare(['functions/enrichment/no-such-data'])).toThrow(/does not exist/);
  });

  it('refuses two folders that would put a file at the same place in data/', () => {
    expect(declare([ENRICHMENT_DATA, `${ENRICHMENT_DATA}/`])).toThrow(/would come from both/);
  });
});
