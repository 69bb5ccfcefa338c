// Schedule triggers: when a journey's schedules fire next, the timers that carry each firing, and what a firing does.
import {
  InvalidScheduleExpressionError,
  nextFireTime,
  parseScheduleExpression,
} from '../shared/schedule-expression.ts';
import type { Trigger } from './definition.ts';
import type { JourneyHead, JourneyVersion, Timer } from './model.ts';
import type { JourneyStore } from './store.ts';

export type ScheduleTrigger = Extract<Trigger, { type: 'schedule' }>;

/**
 * A schedule timer is about no profile. Every schedule timer therefore lands in one timer shard, which is fine: there
 * is one per schedule trigger (plus a continuation while a large segment is swept), not one per profile.
 */
export const SCHEDULE_TIMER_PROFILE = '-';

/** One firing of one schedule trigger, and where a sweep of its segment continues (`after` a member id). */
export interface ScheduleFiring {
  readonly journeyId: string;
  readonly version: number;
  /** Index of the trigger in the version's `triggers`. */
  readonly triggerIndex: number;
  /** ISO 8601, UTC, milliseconds (`Date.toISOString()`). */
  readonly fireAt: string;
  /** The last member the previous invocation handled; absent for the firing's first invocation. */
  readonly after?: string;
}

const AFTER_MARKER = ':after=';
const TIMER_ID_PATTERN =
  /^s:([a-z0-9][a-z0-9-]*):(\d+):(\d+):(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z)(?::after=(.+))?$/s;

/** `s:<journeyId>:<version>:<index>:<fireAt>` plus `:after=<profileId>` for a continuation. */
export function scheduleTimerId(firing: ScheduleFiring): string {
  const base = `s:${firing.journeyId}:${firing.version}:${firing.triggerIndex}:${firing.fireAt}`;
  return firing.after === undefined ? base : `${base}${AFTER_MARKER}${firing.after}`;
}

/** undefined for an id that is not a schedule timer's (a hand-made timer, a format of the future). */
export function parseScheduleTimerId(timerId: string): ScheduleFiring | undefined {
  const match = TIMER_ID_PATTERN.exec(timerId);
  const [, journeyId, version, triggerIndex, fireAt, after] = match ?? [];
  if (journeyId === undefined || version === undefined || triggerIndex === undefined || fireAt === undefined)
    return undefined;
  if (Number.isNaN(Date.parse(fireAt))) return undefined;
  const firing = { journeyId, version: Number(version), triggerIndex: Number(triggerIndex), fireAt };
  return after === undefined ? firing : { ...firing, after };
}

/**
 * The key every member of one firing enters with, whichever invocation reaches them: a replayed or continued sweep
 * finds it among the enrollment's processed keys and enters nobody twice.
 */
export function firingKey(firing: ScheduleFiring): string {
  const { after: _continuation, ...first } = firing;
  return scheduleTimerId(first);
}

/**
 * The first fire time strictly after `after`. Cron reads its fields in the trigger's time zone (UTC by default).
 * Rate counts whole periods from `anchor` (the version's publication), so every arming of one version computes the
 * same instants and therefore the same timer ids; counted from "now" instead, a resume would start a second cadence
 * beside the one already armed. undefined when the schedule never fires again or cannot be read.
 */
export function nextScheduleFire(input: {
  trigger: ScheduleTrigger;
  after: Date;
  anchor: Date;
}): Date | undefined {
  const { trigger, after, anchor } = input;
  let schedule: ReturnType<typeof parseScheduleExpression>;
  try {
    schedule = parseScheduleExpression(trigger.expression);
  } catch (error) {
    // Publishing rejects such expressions; a version stored before that check must not stop the others.
    if (error instanceof InvalidScheduleExpressionError) return undefined;
    throw error;
  }
  if (schedule.kind === 'rate') {
    const startDate = Number.isNaN(anchor.getTime()) ? new Date(0) : anchor;
    return nextFireTime(schedule, after, { startDate });
  }
  return nextFireTime(schedule, after, { timeZone: trigger.timeZone ?? 'UTC' });
}

function scheduleTimer(firing: ScheduleFiring, dueAt: string): Timer {
  return {
    timerId: scheduleTimerId(firing),
    dueAt,
    profileId: SCHEDULE_TIMER_PROFILE,
    journeyId: firing.journeyId,
    kind: 'schedule',
  };
}

/** The timer of a trigger's next firing after `after`; undefined when it is not a schedule or never fires again. */
export function nextScheduleTimer(input: {
  version: JourneyVersion;
  triggerIndex: number;
  after: Date;
}): Timer | undefined {
  const { version, triggerIndex, after } = input;
  const trigger = version.definition.triggers[triggerIndex];
  if (trigger?.type !== 'schedule') return undefined;
  const fireAt = nextScheduleFire({ trigger, after, anchor: new Date(version.createdAt) });
  if (fireAt === undefined) return undefined;
  const iso = fireAt.toISOString();
  return scheduleTimer(
    { journeyId: version.journeyId, version: version.version, triggerIndex, fireAt: iso },
    iso,
  );
}

/** The next firing of every schedule trigger of a version. */
export function scheduleTimers(input: { version: JourneyVersion; now: Date }): Timer[] {
  return input.version.definition.triggers.flatMap((_, triggerIndex) => {
    const timer = nextScheduleTimer({ version: input.version, triggerIndex, after: input.now });
    return timer ? [timer] : [];
  });
}

/**
 * Hands the rest of a firing's segment to the next invocation. It is due at the firing's own time (already past, so
 * the next sweep picks it up) rather than at "now", so a retried invocation writes the very same item.
 */
export function continuationTimer(firing: ScheduleFiring, lastMember: string): Timer {
  return scheduleTimer({ ...firing, after: lastMember }, firing.fireAt);
}

/**
 * Puts the next firing of each schedule trigger of a version (after publishing it or resuming its journey). Arming
 * twice writes the same items.
 */
export async function armSchedules(input: {
  store: Pick<JourneyStore, 'putTimer'>;
  version: JourneyVersion;
  now: Date;
}): Promise<Timer[]> {
  const timers = scheduleTimers({ version: input.version, now: input.now });
  for (const timer of timers) await input.store.putTimer(timer);
  return timers;
}

export type ScheduleDecision =
  | { readonly action: 'drop'; readonly reason: string }
  /** The journey is paused: nobody enters, but the cadence goes on so a resumed journey keeps its rhythm. */
  | { readonly action: 'rearm'; readonly reason: string }
  | { readonly action: 'enter'; readonly trigger: ScheduleTrigger };

/** What a due schedule timer does, given the journey's head and latest version as they are now. */
export function decideScheduleFiring(input: {
  firing: ScheduleFiring;
  head: JourneyHead | undefined;
  latest: JourneyVersion | undefined;
}): ScheduleDecision {
  const { firing, head, latest } = input;
  if (!head || !latest) return { action: 'drop', reason: 'the journey does not exist' };
  // A newer version armed its own schedules when it was published; this cadence ends here.
  if (head.latestVersion !== firing.version || latest.version !== firing.version)
    return { action: 'drop', reason: `version ${firing.version} is no longer the latest` };
  const trigger = latest.definition.triggers[firing.triggerIndex];
  if (trigger?.type !== 'schedule')
    return { action: 'drop', reason: `trigger ${firing.triggerIndex} is not a schedule` };
  if (head.status !== 'active') return { action: 'rearm', reason: `the journey is ${head.status}` };
  return { action: 'enter', trigger };
}
