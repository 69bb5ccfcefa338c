// The journey and segment domain events (catalogue entries): timers that came due, entries, exits, emitted events.
import * as z from 'zod';
import { defineDomainEvent } from '../shared/events.ts';
import { EXIT_REASONS } from './model.ts';

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
  segmentEntered,
  segmentExited,
] as const;
