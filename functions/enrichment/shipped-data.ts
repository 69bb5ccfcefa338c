// Where the enrichment data files that ship beside a function live, what they are called and what the manifest says.
import { readFileSync } from 'node:fs';
import { brotliDecompressSync } from 'node:zlib';
import * as z from 'zod';

/** File names inside the data directory; scripts/build-enrichment-data.ts writes them. */
export const DATA_FILES = {
  manifest: 'manifest.json',
  freeDomains: 'email-free-domains.txt.br',
  disposableDomains: 'email-disposable-domains.txt.br',
  ipCountry: 'ip-country.bin.br',
} as const;

/**
 * Beside this module in the repository, beside the bundle once deployed: the bundler copies the `data` folder next
 * to the function's entry file, and `import.meta.url` then names the bundle.
 */
export const DEFAULT_DATA_DIR = new URL('./data/', import.meta.url);

const dataSourceSchema = z.object({ source: z.string(), version: z.string(), license: z.string() });

export const enrichmentManifestSchema = z.object({
  emailDomains: dataSourceSchema.extend({
    freeDomains: z.number().int().nonnegative(),
    disposableDomains: z.number().int().nonnegative(),
  }),
  ipCountry: dataSourceSchema.extend({
    v4Ranges: z.number().int().nonnegative(),
    v6Ranges: z.number().int().nonnegative(),
  }),
  files: z.record(z.string(), z.object({ bytes: z.number().int().nonnegative(), sha256: z.string() })),
});
export type EnrichmentManifest = z.infer<typeof enrichmentManifestSchema>;

function fileUrl(dataDir: URL, name: string): URL {
  return new URL(name, dataDir.href.endsWith('/') ? dataDir : new URL(`${dataDir.href}/`));
}

export function readManifest(dataDir: URL = DEFAULT_DATA_DIR): EnrichmentManifest {
  const text = readFileSync(fileUrl(dataDir, DATA_FILES.manifest), 'utf8');
  return enrichmentManifestSchema.parse(JSON.parse(text));
}

/** A data file's decompressed bytes; every data file is Brotli-compressed, which halves what gzip would ship. */
export function readDataFile(dataDir: URL, name: string): Buffer {
  return brotliDecompressSync(readFileSync(fileUrl(dataDir, name)));
}
