// The background recompute after a rules change: pages of profiles rescored under the new version, with progress.
import { createHash } from 'node:crypto';
import * as z from 'zod';
import type { IncomingEvent } from '../journeys/model.ts';
import type { JsonObject } from '../tracking/model.ts';
import type { scoringRecomputeRequested } from './domain-events.ts';
import { parseScoringRules, type Threshold } from './rules.ts';
import { LeadService, type LeadServiceDeps } from './service.ts';
import type { ScoringStore, StoredRules } from './store.ts';

export type RecomputeRequest = z.infer<typeof scoringRecomputeRequested.detail>;

/** Parallel scan segments: a large table is rescored as this many independent page chains. */
export const RECOMPUTE_SEGMENTS = 4;
/** Items a scan page reads (DynamoDB's Limit counts items read, before the filter keeps profiles). */
export const RECOMPUTE_PAGE_ITEMS = 500;
/** Profiles of a page rescored side by side: each is a handful of reads and at most one write. */
export const RECOMPUTE_CONCURRENCY = 8;

export const RECOMPUTE_STATES = ['running', 'done', 'superseded'] as const;

export const recomputeProgressSchema = z.object({
  /** The rules version the profiles are rescored with. */
  version: z.int().positive(),
  /** `superseded`: a newer version was published before this one finished; its own recompute took over. */
  state: z.enum(RECOMPUTE_STATES),
  totalSegments: z.int().positive(),
  segmentsDone: z.int().min(0),
  /** Pages finished (each counted once, however often it was delivered). */
  pages: z.int().min(0),
  /** Profiles rescored under this version, whether or not their scores moved. */
  profilesRecomputed: z.int().min(0),
  /** Of those, profiles whose lead state changed (scores, ledger or stage). */
  profilesChanged: z.int().min(0),
  /** Profiles whose rescoring failed (logged with the profile id); they keep their old scores. */
  failures: z.int().min(0),
  startedAt: z.string(),
  finishedAt: z.string().nullable(),
});
export type RecomputeProgress = z.infer<typeof recomputeProgressSchema>;

export interface ProfilePage {
  readonly profileIds: readonly string[];
  /** Where to continue, or null when the segment is done. */
  readonly cursor: string | null;
}

/** Pages through every profile, split into independent segments. */
export interface RecomputeScanner {
  page(input: { segment: number; totalSegments: number; cursor: string | null }): Promise<ProfilePage>;
}

/** What a profile's scores are rebuilt from: its replayable events and current traits; null for a merged-away one. */
export interface ProfileHistory {
  load(profileId: string): Promise<{ events: readonly IncomingEvent[]; traits: JsonObject } | null>;
}

export interface PageResult {
  readonly version: number;
  /** Identifies the page: a page recorded before counts nothing again. */
  readonly pageKey: string;
  readonly recomputed: number;
  readonly changed: number;
  readonly failures: number;
  /** The last page of its segment. */
  readonly segmentDone: boolean;
  readonly at: string;
}

export interface RecomputeProgressStore {
  /** Records a version's recompute as running (once: a repeated start keeps the first) and returns it. */
  start(input: { version: number; totalSegments: number; at: string }): Promise<RecomputeProgress>;
  get(version: number): Promise<RecomputeProgress | undefined>;
  /** The recompute of the newest version that has one. */
  latest(): Promise<RecomputeProgress | undefined>;
  /** Adds a page's counts once per `pageKey`; the last segment's last page marks it done. */
  recordPage(page: PageResult): Promise<void>;
  /** A running recompute becomes superseded; a finished one stays as it is. */
  supersede(input: { version: number; at: string }): Promise<void>;
}

export interface RecomputeRequests {
  publish(requests: readonly RecomputeRequest[]): Promise<void>;
}

export interface RecomputeDeps {
  readonly store: ScoringStore;
  readonly progress: RecomputeProgressStore;
  readonly scanner: RecomputeScanner;
  readonly history: ProfileHistory;
  readonly requests: RecomputeRequests;
  /** The lead service's other ports: the same publisher (with the sales hand-off) and profile summaries. */
  readonly leads: Omit<LeadServiceDeps, 'store'>;
  readonly now: () => Date;
  readonly segments?: number;
  readonly concurrency?: number;
  readonly log?: (message: string, fields: Record<string, unknown>) => void;
}

export type PageOutcome =
  | {
      readonly kind: 'done';
      readonly recomputed: number;
      readonly changed: number;
      readonly failures: number;
    }
  | { readonly kind: 'superseded' | 'finished' | 'unknown-version' };

/** The first page of every segment; dedupe keys follow from (version, segment, cursor). */
export function recomputeRequests(version: number, totalSegments = RECOMPUTE_SEGMENTS): RecomputeRequest[] {
  return Array.from({ length: totalSegments }, (_, segment) =>
    nextRecomputeRequest({ version, segment, totalSegments, cursor: null }),
  );
}

export function nextRecomputeRequest(input: Omit<RecomputeRequest, 'dedupeKey'>): RecomputeRequest {
  const page =
    input.cursor === null ? 'start' : createHash('sha256').update(input.cursor).digest('hex').slice(0, 16);
  return { ...input, dedupeKey: `recompute:${input.version}:${input.segment}:${page}` };
}

/**
 * Starts rescoring every profile under a just-published version: an older recompute still running is superseded,
 * and the first page of each segment is requested. Starting again requests the first pages again (harmless).
 */
export async function startRecompute({
  deps,
  version,
}: {
  deps: Pick<RecomputeDeps, 'progress' | 'requests' | 'now' | 'segments'>;
  version: number;
}): Promise<RecomputeProgress> {
  const at = deps.now().toISOString();
  const previous = await deps.progress.latest();
  if (previous !== undefined && previous.version < version && previous.state === 'running')
    await deps.progress.supersede({ version: previous.version, at });
  const progress = await deps.progress.start({
    version,
    totalSegments: deps.segments ?? RECOMPUTE_SEGMENTS,
    at,
  });
  await deps.requests.publish(recomputeRequests(version, progress.totalSegments));
  return progress;
}

/** Rules in force before any were published: what version 1 replaced. */
const DEFAULT_THRESHOLDS = parseScoringRules({}).thresholds;

/** The store as the lead service sees it during a page: `latest` is the version being recomputed, read once. */
function pinnedRules(store: ScoringStore, rules: StoredRules): ScoringStore {
  return {
    putRules: (input) => store.putRules(input),
    getRules: async (version) =>
      version === 'latest' || version === rules.version ? rules : store.getRules(version),
    getLead: (profileId) => store.getLead(profileId),
    commitLead: (commit) => store.commitLead(commit),
    clearOutbox: (input) => store.clearOutbox(input),
  };
}

export class ScoringRecompute {
  constructor(private readonly deps: RecomputeDeps) {}

  async start(version: number): Promise<RecomputeProgress> {
    return startRecompute({ deps: this.deps, version });
  }

  /**
   * One page: every profile on it is rescored, the page's counts are added once, and the next page is requested.
   * Rescoring is idempotent, so a page delivered twice changes nothing twice.
   */
  async onRequest(request: RecomputeRequest): Promise<PageOutcome> {
    const { store, progress } = this.deps;
    const [latest, current] = await Promise.all([store.getRules('latest'), progress.get(request.version)]);
    if (latest === undefined || current === undefined) return { kind: 'unknown-version' };
    if (latest.version > request.version) {
      // The newer version's recompute rescores everyone; this chain stops here.
      await progress.supersede({ version: request.version, at: this.deps.now().toISOString() });
      return { kind: 'superseded' };
    }
    if (current.state !== 'running') return { kind: current.state === 'done' ? 'finished' : 'superseded' };
    const rules = latest.version === request.version ? latest : await store.getRules(request.version);
    if (rules === undefined) return { kind: 'unknown-version' };
    const previousThresholds =
      (await store.getRules(request.version - 1))?.rules.thresholds ?? DEFAULT_THRESHOLDS;

    const page = await this.deps.scanner.page(request);
    const counts = await this.rescore({ profileIds: page.profileIds, rules, previousThresholds });
    await progress.recordPage({
      version: request.version,
      pageKey: request.dedupeKey,
      ...counts,
      segmentDone: page.cursor === null,
      at: this.deps.now().toISOString(),
    });
    if (page.cursor !== null)
      await this.deps.requests.publish([nextRecomputeRequest({ ...request, cursor: page.cursor })]);
    return { kind: 'done', ...counts };
  }

  private async rescore(input: {
    profileIds: readonly string[];
    rules: StoredRules;
    previousThresholds: readonly Threshold[];
  }): Promise<{ recomputed: number; changed: number; failures: number }> {
    const leads = new LeadService({ ...this.deps.leads, store: pinnedRules(this.deps.store, input.rules) });
    const concurrency = this.deps.concurrency ?? RECOMPUTE_CONCURRENCY;
    let recomputed = 0;
    let changed = 0;
    let failures = 0;
    const queue = [...input.profileIds];
    const worker = async () => {
      for (let profileId = queue.shift(); profileId !== undefined; profileId = queue.shift()) {
        try {
          const history = await this.deps.history.load(profileId);
          if (history === null) continue;
          const outcome = await leads.recomputeProfile({
            profileId,
            events: history.events,
            traits: history.traits,
            previousThresholds: input.previousThresholds,
          });
          recomputed += 1;
          if (outcome.changed) changed += 1;
        } catch (error) {
          // One profile must not hold up everyone else's rescoring; it is counted, logged and keeps its scores.
          failures += 1;
          this.deps.log?.('recompute of a profile failed', {
            profileId,
            rulesVersion: input.rules.version,
            error: error instanceof Error ? error.message : String(error),
          });
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(concurrency, queue.length) }, worker));
    return { recomputed, changed, failures };
  }
}
