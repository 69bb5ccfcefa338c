// Synthesizes the CDK app into a cloud assembly and reads the stack template and asset folders back from it.
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';

export interface CloudAssembly {
  readonly directory: string;
  readonly stackName: string;
  readonly template: unknown;
  /** Folder of a file asset, by the S3 object key the template refers to (`<hash>.zip`). */
  assetDirectory(objectKey: string): string;
}

const manifestSchema = z.object({
  artifacts: z.record(
    z.string(),
    z.object({
      type: z.string(),
      properties: z.object({ templateFile: z.string().optional() }).loose().optional(),
    }),
  ),
});
const assetsSchema = z.object({
  files: z
    .record(
      z.string(),
      z.object({
        source: z.object({ path: z.string().optional() }).loose(),
        destinations: z.record(z.string(), z.object({ objectKey: z.string() }).loose()),
      }),
    )
    .default({}),
});

/**
 * Runs the app the way `cdk synth` does (the CLI sets CDK_OUTDIR and CDK_CONTEXT_JSON and runs `cdk.json`'s app),
 * without the CLI's start-up cost.
 */
export async function synthesize(options: {
  projectRoot: string;
  outDir: string;
  context: Record<string, string>;
  onOutput?: (line: string) => void;
}): Promise<void> {
  const child = spawn(process.execPath, ['--import', 'tsx', join(options.projectRoot, 'bin', 'nurture.ts')], {
    cwd: options.projectRoot,
    env: {
      ...process.env,
      CDK_OUTDIR: options.outDir,
      CDK_CONTEXT_JSON: JSON.stringify(options.context),
      CDK_DEFAULT_REGION: 'us-east-1',
      CDK_DEFAULT_ACCOUNT: '000000000000',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const collect = (chunk: Buffer) => {
    output += chunk.toString('utf8');
  };
  child.stdout.on('data', collect);
  child.stderr.on('data', collect);
  const code = await new Promise<number | null>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', resolve);
  });
  if (code !== 0) throw new Error(`Synthesizing the CDK app failed (exit ${code}):\n${output.trim()}`);
  for (const line of output.split('\n')) if (line.trim()) options.onOutput?.(line);
}

export function readCloudAssembly(directory: string): CloudAssembly {
  const manifestPath = join(directory, 'manifest.json');
  if (!existsSync(manifestPath)) throw new Error(`No cloud assembly at ${directory} (manifest.json missing)`);
  const manifest = manifestSchema.parse(JSON.parse(readFileSync(manifestPath, 'utf8')));
  const stacks = Object.entries(manifest.artifacts).filter(([, a]) => a.type === 'aws:cloudformation:stack');
  if (stacks.length !== 1)
    throw new Error(`Expected one stack in the cloud assembly, found ${stacks.length}`);
  const [[stackName, stack]] = stacks as [[string, (typeof stacks)[number][1]]];
  const templateFile = stack.properties?.templateFile;
  if (!templateFile) throw new Error(`Stack ${stackName} has no template file`);

  const assetFolders = new Map<string, string>();
  for (const file of readdirSync(directory).filter((f) => f.endsWith('.assets.json'))) {
    const assets = assetsSchema.parse(JSON.parse(readFileSync(join(directory, file), 'utf8')));
    for (const asset of Object.values(assets.files)) {
      if (!asset.source.path) continue;
      for (const destination of Object.values(asset.destinations)) {
        assetFolders.set(destination.objectKey, join(directory, asset.source.path));
      }
    }
  }
  return {
    directory,
    stackName,
    template: JSON.parse(readFileSync(join(directory, templateFile), 'utf8')),
    assetDirectory(objectKey) {
      const folder = assetFolders.get(objectKey);
      if (!folder) throw new Error(`Asset ${objectKey} is not in the cloud assembly`);
      return folder;
    },
  };
}
