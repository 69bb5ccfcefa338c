// The segments' own domain events: a backfill page request. `segment.entered`/`segment.exited` live with journeys.
import * as z from 'zod';
import { defineDomainEvent } from '../shared/events.ts';

/**
 * A page of stored profiles to evaluate against a newly saved segment version. The segment function handles one
 * page and requests the next, so a backfill of any size runs as short invocations.
 */
export const segmentBackfillRequested = defineDomainEvent({
  detailType: 'segment.backfill_requested',
  source: 'nurture.segments',
  detail: z.object({
    dedupeKey: z.string(),
    segmentId: z.string(),
    version: z.number().int().positive(),
    /** Which parallel scan segment of the table this chain pages through ("part", to not say segment twice). */
    part: z.number().int().min(0),
    parts: z.number().int().positive(),
    /** Where the previous page ended; null for the first page. */
    cursor: z.string().nullable(),
  }),
});

export const SEGMENT_EVENTS = [segmentBackfillRequested] as const;

/** The membership item of a segment's partition as a stream image carries it. */
const memberImageSchema = z.object({ enteredAt: z.object({ S: z.string() }) });

export interface SegmentMembershipEvent {
  readonly source: 'nurture.segments';
  readonly detailType: 'segment.entered' | 'segment.exited';
  readonly detail: { dedupeKey: string; profileId: string; segmentId: string; at: string };
}

/**
 * The outbox: `segment.entered` when a `SEGMENT#<id>`/`MEMBER#<profileId>` item is created, `segment.exited` when it
 * is removed. The events follow the committed write, so a crash after it loses none and a retry that changes
 * nothing emits none. One membership period keeps one `enteredAt`, which makes both dedupe keys stable.
 */
export function segmentEventsFor(change: {
  readonly eventName: 'INSERT' | 'MODIFY' | 'REMOVE';
  readonly keys: { readonly pk: string; readonly sk: string };
  readonly oldImage: unknown;
  readonly newImage: unknown;
  /** When the change happened (the stream record's approximate creation time). */
  readonly changedAt: string;
}): SegmentMembershipEvent[] {
  const { pk, sk } = change.keys;
  if (!pk.startsWith('SEGMENT#') || !sk.startsWith('MEMBER#')) return [];
  const segmentId = pk.slice('SEGMENT#'.length);
  const profileId = sk.slice('MEMBER#'.length);
  if (change.eventName === 'INSERT') {
    const { enteredAt } = memberImageSchema.parse(change.newImage);
    return [
      {
        source: 'nurture.segments',
        detailType: 'segment.entered',
        detail: {
          dedupeKey: `segment:${segmentId}:${profileId}:${enteredAt.S}:entered`,
          profileId,
          segmentId,
          at: enteredAt.S,
        },
      },
    ];
  }
  if (change.eventName === 'REMOVE') {
    const { enteredAt } = memberImageSchema.parse(change.oldImage);
    return [
      {
        source: 'nurture.segments',
        detailType: 'segment.exited',
        detail: {
          dedupeKey: `segment:${segmentId}:${profileId}:${enteredAt.S}:exited`,
          profileId,
          segmentId,
          at: change.changedAt,
        },
      },
    ];
  }
  return [];
}
