// The journey and segment domain events (catalogue entries): timers that came due, entries, exits, emitted events.
import * as z from 'zod';
import { defineDomainEvent } from '../shared/events.ts';
import { type Enrollment, EXIT_REASONS } from './model.ts';
import { enrollmentSchema } from './schemas.ts';

export const timerSchema = z.object({
  timerId: z.string().min(1),
  dueAt: z.string(),
  profileId: z.string().min(1),
  journeyId: z.string().min(1),
  kind: z.enum(['step', 'entry', 'schedule']),
});

/** A durable timer came due; the journey function resumes or enters the profile. */
export const journeyStepDue = defineDomainEvent({
  detailType: 'journey.step_due',
  source: 'nurture.journeys',
  detail: timerSchema.extend({ dedupeKey: z.string() }),
});

const enrollmentDetail = z.object({
  dedupeKey: z.string(),
  profileId: z.string(),
  journeyId: z.string(),
  journeyVersion: z.number().int(),
  run: z.number().int(),
  at: z.string(),
});

export const journeyEntered = defineDomainEvent({
  detailType: 'journey.entered',
  source: 'nurture.journeys',
  detail: enrollmentDetail.extend({ variant: z.string().nullable() }),
});

export const journeyExited = defineDomainEvent({
  detailType: 'journey.exited',
  source: 'nurture.journeys',
  detail: enrollmentDetail.extend({
    reason: z.enum(EXIT_REASONS),
    goalId: z.string().nullable(),
    nodeId: z.string(),
    variant: z.string().nullable(),
  }),
});

/** An `emitEvent` node ran: other journeys and systems react to `name`. */
export const journeyEventEmitted = defineDomainEvent({
  detailType: 'journey.event_emitted',
  source: 'nurture.journeys',
  detail: z.object({
    dedupeKey: z.string(),
    profileId: z.string(),
    userId: z.string().nullable(),
    journeyId: z.string(),
    name: z.string(),
    properties: z.record(z.string(), z.json()),
    at: z.string(),
  }),
});

/**
 * A page of existing profiles to check against a newly published version's date triggers (profiles imported before
 * the journey existed). The journey function handles one page and requests the next.
 */
export const journeyBackfillRequested = defineDomainEvent({
  detailType: 'journey.backfill_requested',
  source: 'nurture.journeys',
  detail: z.object({
    dedupeKey: z.string(),
    journeyId: z.string(),
    version: z.number().int().positive(),
    segment: z.number().int().min(0),
    totalSegments: z.number().int().positive(),
    /** Where the previous page ended; null for the first page. */
    cursor: z.string().nullable(),
  }),
});

/** Segment membership changes (segments maintain them; journeys trigger on `segment.entered`). */
const segmentDetail = z.object({
  dedupeKey: z.string(),
  profileId: z.string(),
  segmentId: z.string(),
  at: z.string(),
});
export const segmentEntered = defineDomainEvent({
  detailType: 'segment.entered',
  source: 'nurture.segments',
  detail: segmentDetail,
});
export const segmentExited = defineDomainEvent({
  detailType: 'segment.exited',
  source: 'nurture.segments',
  detail: segmentDetail,
});

export const JOURNEY_EVENTS = [
  journeyStepDue,
  journeyEntered,
  journeyExited,
  journeyEventEmitted,
  journeyBackfillRequested,
  segmentEntered,
  segmentExited,
] as const;

export interface JourneyDomainEvent {
  readonly source: 'nurture.journeys';
  readonly detailType: 'journey.entered' | 'journey.exited';
  readonly detail: z.infer<typeof journeyEntered.detail> | z.infer<typeof journeyExited.detail>;
}

/** Reads the enrollment a stream image holds, or undefined for none (an INSERT's old image, a REMOVE's new one). */
export function enrollmentFromImage(json: string | undefined): Enrollment | undefined {
  return json === undefined ? undefined : enrollmentSchema.parse(JSON.parse(json));
}

/**
 * The journey events one change of an enrollment item means: a new run entered, a run ended (completed, goal,
 * holdout). A run can start and end in one change (a holdout); both events are then published, entry first.
 */
export function journeyEventsFor(
  old: Enrollment | undefined,
  next: Enrollment | undefined,
): JourneyDomainEvent[] {
  if (!next) return [];
  const events: JourneyDomainEvent[] = [];
  const base = {
    profileId: next.profileId,
    journeyId: next.journeyId,
    journeyVersion: next.journeyVersion,
    run: next.run,
  };
  const newRun = !old || old.run !== next.run;
  if (newRun)
    events.push({
      source: 'nurture.journeys',
      detailType: 'journey.entered',
      detail: {
        ...base,
        dedupeKey: `${next.journeyId}:${next.profileId}:${next.run}:entered`,
        at: next.enteredAt,
        variant: next.variant,
      },
    });
  if (next.status !== 'active' && (newRun || old?.status === 'active'))
    events.push({
      source: 'nurture.journeys',
      detailType: 'journey.exited',
      detail: {
        ...base,
        dedupeKey: `${next.journeyId}:${next.profileId}:${next.run}:exited`,
        at: next.exitedAt ?? next.updatedAt,
        reason: next.exitReason ?? 'completed',
        goalId: next.goalId,
        nodeId: next.nodeId,
        variant: next.variant,
      },
    });
  return events;
}
