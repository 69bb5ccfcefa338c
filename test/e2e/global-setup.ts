// Synthesizes the CDK app once for the end-to-end suite: every file's `npm start` runs this cloud assembly
// (NURTURE_ASSEMBLY_DIR) instead of bundling every function again. local-stack.test.ts still synthesizes itself once.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TestProject } from 'vitest/node';
import { synthesize } from '../../lib/local/cloud-assembly.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    assemblyDirectory: string;
  }
}

const projectRoot = fileURLToPath(new URL('../..', import.meta.url));

export default async function setup(project: TestProject) {
  const outDir = mkdtempSync(join(tmpdir(), 'nurture-e2e-assembly-'));
  await synthesize({ projectRoot, outDir, context: { stage: 'dev' } });
  project.provide('assemblyDirectory', outDir);
  return () => rmSync(outDir, { recursive: true, force: true });
}
