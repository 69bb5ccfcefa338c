// Backfill of date triggers: when a version with date triggers is published, existing profiles get their timers.
import { createHash } from 'node:crypto';
import type * as z from 'zod';
import type { JourneyDefinition } from './definition.ts';
import type { journeyBackfillRequested } from './domain-events.ts';

export type BackfillRequest = z.infer<typeof journeyBackfillRequested.detail>;

/** Parallel scan segments: the backfill of a large table runs as this many independent page chains. */
export const BACKFILL_SEGMENTS = 8;
/** Items a scan page evaluates (DynamoDB's Limit counts items read, before the filter). */
export const BACKFILL_PAGE_ITEMS = 1000;

export interface ProfilePage {
  readonly profileIds: readonly string[];
  /** Where to continue, or null when the segment is done. */
  readonly cursor: string | null;
}

/** Pages through every stored profile, split into independent segments. */
export interface ProfileScanner {
  page(input: { segment: number; totalSegments: number; cursor: string | null }): Promise<ProfilePage>;
}

export interface BackfillPublisher {
  publish(requests: readonly BackfillRequest[]): Promise<void>;
}

export function hasDateTriggers(definition: JourneyDefinition): boolean {
  return definition.triggers.some((t) => t.type === 'date');
}

/** The first page of every segment; dedupe keys follow from (journey, version, segment, cursor). */
export function backfillRequests(journeyId: string, version: number): BackfillRequest[] {
  return Array.from({ length: BACKFILL_SEGMENTS }, (_, segment) =>
    nextRequest({ journeyId, version, segment, totalSegments: BACKFILL_SEGMENTS, cursor: null }),
  );
}

export function nextRequest(input: Omit<BackfillRequest, 'dedupeKey'>): BackfillRequest {
  const page =
    input.cursor === null ? 'start' : createHash('sha256').update(input.cursor).digest('hex').slice(0, 16);
  return { ...input, dedupeKey: `backfill:${input.journeyId}:${input.version}:${input.segment}:${page}` };
}
