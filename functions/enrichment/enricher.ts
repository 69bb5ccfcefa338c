// The enricher port (third-party data that adds profile traits on identify and import) and the runner merging results.
import * as z from 'zod';
import type { JsonObject } from '../tracking/model.ts';

/** The trait under which all enrichment lives: `traits.enrichment.<namespace>`. Clients must not write it. */
export const ENRICHMENT_TRAIT = 'enrichment';

/** How long an enricher may take before the runner records a timeout and moves on. */
export const DEFAULT_ENRICHER_TIMEOUT_MS = 1000;

export const ENRICHMENT_TRIGGERS = ['identify', 'import'] as const;
export type EnrichmentTrigger = (typeof ENRICHMENT_TRIGGERS)[number];

export interface EnrichmentContext {
  /** When enrichment runs; stamped on every namespace as `provenance.at`. */
  readonly now: Date;
  readonly trigger: EnrichmentTrigger;
}

export interface EnrichmentInput {
  /** The profile's traits after the identify or import row was applied. */
  readonly traits: JsonObject;
  readonly email?: string;
  /** The client IP before truncation: it exists only in memory while the request is handled, never stored. */
  readonly ip?: string;
  readonly context: EnrichmentContext;
}

/** Trait additions by namespace; a namespace left out means "nothing found", and keeps what the profile had. */
export interface EnrichmentResult {
  readonly additions: Readonly<Record<string, JsonObject>>;
}

export interface Enricher {
  /** Stable identifier, recorded as `provenance.source`. */
  readonly name: string;
  /** The enricher's data or API version, recorded as `provenance.version`. */
  readonly version: string;
  /** @default DEFAULT_ENRICHER_TIMEOUT_MS */
  readonly timeoutMs?: number;
  enrich(input: EnrichmentInput): Promise<EnrichmentResult>;
}

export interface Provenance {
  readonly source: string;
  readonly version: string;
  readonly at: string;
}

export interface EnrichmentFailure {
  readonly enricher: string;
  readonly version: string;
  /** Safe to log: the error's name and message, which enrichers must keep free of personal data. */
  readonly reason: string;
}

export interface EnrichmentOutcome {
  /** Namespace → fields plus `provenance`; what goes under `traits.enrichment`. */
  readonly namespaces: Readonly<Record<string, JsonObject>>;
  readonly failures: readonly EnrichmentFailure[];
}

const NAMESPACE = /^[a-z][a-zA-Z0-9]{0,39}$/;
const resultSchema = z.object({
  additions: z.record(
    z.string().regex(NAMESPACE, 'a namespace is a short camelCase word'),
    z.record(z.string(), z.json()),
  ),
});

class EnricherTimeout extends Error {
  override readonly name = 'EnricherTimeout';
}

async function withTimeout<T>(work: () => Promise<T>, timeoutMs: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new EnricherTimeout(`no result within ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    // Promise.resolve().then: an enricher that throws synchronously is a failure like any other.
    return await Promise.race([Promise.resolve().then(work), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

function reasonOf(error: unknown): string {
  if (error instanceof z.ZodError) return `invalid result: ${z.prettifyError(error)}`.slice(0, 300);
  if (error instanceof Error) return `${error.name}: ${error.message}`.slice(0, 300);
  return 'non-error thrown';
}

/**
 * Runs every enricher concurrently and merges their additions. A failing, slow or misbehaving enricher is recorded
 * in `failures` and contributes nothing; it never fails the identify or import that triggered it. When two
 * enrichers write the same namespace, the one listed first wins and the other is recorded as a failure.
 */
export async function runEnrichers(
  enrichers: readonly Enricher[],
  input: EnrichmentInput,
): Promise<EnrichmentOutcome> {
  const settled = await Promise.all(
    enrichers.map(async (enricher) => {
      try {
        const result = await withTimeout(
          () => enricher.enrich(input),
          enricher.timeoutMs ?? DEFAULT_ENRICHER_TIMEOUT_MS,
        );
        return { enricher, additions: resultSchema.parse(result).additions };
      } catch (error) {
        return { enricher, failure: reasonOf(error) };
      }
    }),
  );
  const at = input.context.now.toISOString();
  const namespaces: Record<string, JsonObject> = {};
  const writers = new Map<string, string>();
  const failures: EnrichmentFailure[] = [];
  for (const outcome of settled) {
    const { name, version } = outcome.enricher;
    if (outcome.failure !== undefined) {
      failures.push({ enricher: name, version, reason: outcome.failure });
      continue;
    }
    for (const [namespace, fields] of Object.entries(outcome.additions)) {
      const writer = writers.get(namespace);
      if (writer !== undefined) {
        failures.push({
          enricher: name,
          version,
          reason: `namespace "${namespace}" already written by ${writer}`,
        });
        continue;
      }
      writers.set(namespace, name);
      const provenance: Provenance = { source: name, version, at };
      namespaces[namespace] = { ...fields, provenance: { ...provenance } };
    }
  }
  return { namespaces, failures };
}

/**
 * The profile's traits with an outcome applied: each namespace an enricher wrote is replaced whole (a new IP's
 * country replaces the old one), namespaces it did not write keep their earlier values.
 */
export function applyEnrichment(traits: JsonObject, outcome: EnrichmentOutcome): JsonObject {
  if (Object.keys(outcome.namespaces).length === 0) return traits;
  const current = Object.hasOwn(traits, ENRICHMENT_TRAIT) ? traits[ENRICHMENT_TRAIT] : undefined;
  const earlier = typeof current === 'object' && current !== null && !Array.isArray(current) ? current : {};
  return { ...traits, [ENRICHMENT_TRAIT]: { ...earlier, ...outcome.namespaces } };
}
