// Segment backfill: after a definition is saved, every stored profile is evaluated once, a page per invocation.
import { createHash } from 'node:crypto';
import type * as z from 'zod';
import type { ProfileScanner } from '../journeys/backfill.ts';
import type { segmentBackfillRequested } from './domain-events.ts';
import type { SegmentService } from './service.ts';

export type SegmentBackfillRequest = z.infer<typeof segmentBackfillRequested.detail>;

/** Parallel scan parts: a large table is backfilled by this many independent page chains. */
export const BACKFILL_PARTS = 8;
/** Profiles of one page evaluated at a time. */
const PAGE_CONCURRENCY = 16;

export const BACKFILL_STATES = ['running', 'finished'] as const;

/** What GET /admin/segments/{id} shows about the newest version's backfill. */
export interface BackfillProgress {
  readonly version: number;
  readonly state: (typeof BACKFILL_STATES)[number];
  /** Profiles evaluated so far. */
  readonly scanned: number;
  readonly startedAt: string;
  readonly finishedAt: string | null;
}

export interface BackfillProgressStore {
  /** Starts (or restarts, for a newer version) the segment's progress with every part at its first page. */
  start(input: { segmentId: string; version: number; parts: number; at: string }): Promise<void>;
  /**
   * Counts one page, once: a replayed page (same part and starting cursor) or a page of an older version is
   * ignored. The part is done when `next` is null; the backfill is finished when every part is.
   */
  recordPage(input: {
    segmentId: string;
    version: number;
    part: number;
    cursor: string | null;
    next: string | null;
    scanned: number;
    at: string;
  }): Promise<void>;
  get(segmentId: string): Promise<BackfillProgress | undefined>;
}

export interface BackfillRequests {
  publish(requests: readonly SegmentBackfillRequest[]): Promise<void>;
}

export function nextBackfillRequest(
  input: Omit<SegmentBackfillRequest, 'dedupeKey'>,
): SegmentBackfillRequest {
  const page =
    input.cursor === null ? 'start' : createHash('sha256').update(input.cursor).digest('hex').slice(0, 16);
  return {
    ...input,
    dedupeKey: `segment-backfill:${input.segmentId}:${input.version}:${input.part}:${page}`,
  };
}

export function firstBackfillRequests(segmentId: string, version: number): SegmentBackfillRequest[] {
  return Array.from({ length: BACKFILL_PARTS }, (_, part) =>
    nextBackfillRequest({ segmentId, version, part, parts: BACKFILL_PARTS, cursor: null }),
  );
}

export interface SegmentBackfillDeps {
  readonly scanner: ProfileScanner;
  readonly service: Pick<SegmentService, 'evaluate'>;
  /** The newest version of a segment; a request for an older one stops (the newer version runs its own). */
  readonly latestVersion: (segmentId: string) => Promise<number | undefined>;
  readonly requests: BackfillRequests;
  readonly progress: BackfillProgressStore;
  readonly now: () => Date;
}

export class SegmentBackfill {
  constructor(private readonly deps: SegmentBackfillDeps) {}

  async start(segmentId: string, version: number): Promise<void> {
    await this.deps.progress.start({
      segmentId,
      version,
      parts: BACKFILL_PARTS,
      at: this.deps.now().toISOString(),
    });
    await this.deps.requests.publish(firstBackfillRequests(segmentId, version));
  }

  /**
   * Evaluates one page and asks for the next before counting this one: a crash in between replays the page
   * (evaluation is idempotent, the count is not repeated) rather than stalling the chain.
   */
  async page(request: SegmentBackfillRequest): Promise<{ scanned: number }> {
    const latest = await this.deps.latestVersion(request.segmentId);
    if (latest !== request.version) return { scanned: 0 };
    const page = await this.deps.scanner.page({
      segment: request.part,
      totalSegments: request.parts,
      cursor: request.cursor,
    });
    const ids = [...page.profileIds];
    for (let i = 0; i < ids.length; i += PAGE_CONCURRENCY)
      await Promise.all(
        ids
          .slice(i, i + PAGE_CONCURRENCY)
          .map((profileId) => this.deps.service.evaluate({ profileId, segmentIds: [request.segmentId] })),
      );
    if (page.cursor !== null)
      await this.deps.requests.publish([nextBackfillRequest({ ...request, cursor: page.cursor })]);
    await this.deps.progress.recordPage({
      segmentId: request.segmentId,
      version: request.version,
      part: request.part,
      cursor: request.cursor,
      next: page.cursor,
      scanned: ids.length,
      at: this.deps.now().toISOString(),
    });
    return { scanned: ids.length };
  }
}
