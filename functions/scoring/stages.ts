// Lifecycle stages: moves by score thresholds, sales and deal events or by hand, each recorded and announced once.
import * as z from 'zod';
import { LEAD_STAGES, type LeadStage } from '../journeys/definition.ts';
import { isTrackedEvent, matchesEvent } from '../journeys/matching.ts';
import type { IncomingEvent } from '../journeys/model.ts';
import { isDealWon } from './deals.ts';
import type { LeadStageChanged } from './domain-events.ts';
import type { ScoringRules, Threshold } from './rules.ts';
import type { Scores } from './score.ts';

export const TRANSITION_TRIGGERS = ['threshold', 'event', 'manual'] as const;
export type TransitionTrigger = (typeof TRANSITION_TRIGGERS)[number];

const isoInstant = z.iso.datetime({ offset: true });

export const stageTransitionSchema = z.object({
  /** 1 for the first transition, +1 per transition: with the profile id, the event's dedupe key. */
  seq: z.int().min(1),
  from: z.enum(LEAD_STAGES).nullable(),
  to: z.enum(LEAD_STAGES),
  at: isoInstant,
  reason: z.string(),
  /** Who moved it: `nurture.scoring`, `sales`, an admin user id… */
  by: z.string(),
  trigger: z.enum(TRANSITION_TRIGGERS),
  /** Dedupe key of the input that caused it: the same input again changes nothing. */
  key: z.string().nullable(),
});
export type StageTransition = z.infer<typeof stageTransitionSchema>;

export const leadLifecycleSchema = z.object({
  profileId: z.string().min(1),
  stage: z.enum(LEAD_STAGES).nullable(),
  /** Oldest first; only ever appended to. */
  history: z.array(stageTransitionSchema),
});
export type LeadLifecycle = z.infer<typeof leadLifecycleSchema>;

export function newLifecycle(profileId: string): LeadLifecycle {
  return { profileId, stage: null, history: [] };
}

/** Signals from sales and deals (admin API, CRM webhooks) and form submits, as the lifecycle understands them. */
export type LifecycleSignal =
  | { readonly name: 'form.submitted' }
  /** Another of the rules' lead events, e.g. an identify that made an email address known. */
  | { readonly name: 'lead.event'; readonly reason: string }
  | { readonly name: 'sales.qualified' }
  | { readonly name: 'sales.accepted' }
  | {
      readonly name: 'sales.rejected';
      readonly reason: string;
      /** `recycle`: back to nurturing; `disqualify`: not a prospect (only a person moves it on again). */
      readonly outcome: 'recycle' | 'disqualify';
    }
  | { readonly name: 'sales.converted' }
  | { readonly name: 'deal.won' }
  | { readonly name: 'deal.lost'; readonly reason: string };

export type StageInput =
  | {
      readonly kind: 'scores';
      readonly previous: Scores;
      readonly current: Scores;
      readonly thresholds: readonly Threshold[];
      readonly key: string;
      /**
       * Set by a recompute after a rules change: the thresholds in force before. A threshold then counts as crossed
       * when the current score meets it and the previous score did not meet the old threshold for the same stage and
       * score, so a lowered bar moves the profiles it now lets through; the reason starts with `rules-changed`.
       */
      readonly rulesChanged?: { readonly previousThresholds: readonly Threshold[] };
    }
  | { readonly kind: 'event'; readonly signal: LifecycleSignal; readonly key: string; readonly by: string }
  | {
      readonly kind: 'manual';
      readonly to: LeadStage;
      readonly reason: string;
      readonly actor: string;
      readonly key?: string;
    };

export interface TransitionResult {
  readonly state: LeadLifecycle;
  readonly changed: boolean;
  /** Exactly one `lead.stage_changed` per change, none otherwise. */
  readonly events: readonly LeadStageChanged[];
}

/** Position in the funnel. Recycled sits with leads (nurtured again); disqualified is outside the funnel. */
const RANK: Record<LeadStage, number> = {
  subscriber: 0,
  lead: 1,
  recycled: 1,
  mql: 2,
  sql: 3,
  sal: 4,
  opportunity: 5,
  customer: 6,
  disqualified: -1,
};

function rank(stage: LeadStage | null): number {
  return stage === null ? -1 : RANK[stage];
}

/** A score threshold moves a profile up only, never out of disqualified (a person decided that). */
function thresholdTarget(
  input: Extract<StageInput, { kind: 'scores' }>,
  stage: LeadStage | null,
): { to: LeadStage; reason: string } | null {
  if (stage === 'disqualified') return null;
  const { rulesChanged } = input;
  const metBefore = (threshold: Threshold): boolean => {
    if (rulesChanged === undefined) return input.previous[threshold.score] >= threshold.atLeast;
    const old = rulesChanged.previousThresholds.find(
      (candidate) => candidate.stage === threshold.stage && candidate.score === threshold.score,
    );
    return old !== undefined && input.previous[threshold.score] >= old.atLeast;
  };
  const crossed = input.thresholds
    .filter((threshold) => !metBefore(threshold) && input.current[threshold.score] >= threshold.atLeast)
    .sort((left, right) => RANK[right.stage] - RANK[left.stage]);
  const highest = crossed[0];
  if (highest === undefined || rank(stage) >= RANK[highest.stage]) return null;
  const reason = `${highest.score} score ${input.current[highest.score]} reached ${highest.atLeast}`;
  return { to: highest.stage, reason: rulesChanged === undefined ? reason : `rules-changed: ${reason}` };
}

/** Where a signal moves a profile from its stage, or null when it does not apply there. */
function signalTarget(
  signal: LifecycleSignal,
  stage: LeadStage | null,
): { to: LeadStage; reason: string } | null {
  const forwardTo = (to: LeadStage, reason: string) =>
    stage !== 'customer' && rank(stage) < RANK[to] ? { to, reason } : null;
  switch (signal.name) {
    case 'form.submitted':
      return stage === null || stage === 'subscriber' ? { to: 'lead', reason: 'submitted a form' } : null;
    case 'lead.event':
      return stage === null || stage === 'subscriber' ? { to: 'lead', reason: signal.reason } : null;
    case 'sales.qualified':
      return forwardTo('sql', 'sales qualified');
    case 'sales.accepted':
      return forwardTo('sal', 'sales accepted');
    case 'sales.converted':
      return forwardTo('opportunity', 'sales converted to an opportunity');
    case 'sales.rejected': {
      const to = signal.outcome === 'recycle' ? 'recycled' : 'disqualified';
      return stage === 'customer' || stage === to ? null : { to, reason: `sales rejected: ${signal.reason}` };
    }
    case 'deal.won':
      return stage === 'customer' ? null : { to: 'customer', reason: 'deal won' };
    case 'deal.lost':
      return stage === 'customer' || stage === 'recycled'
        ? null
        : { to: 'recycled', reason: `deal lost: ${signal.reason}` };
  }
}

function target(
  input: StageInput,
  stage: LeadStage | null,
): { to: LeadStage; reason: string; by: string; trigger: TransitionTrigger } | null {
  switch (input.kind) {
    case 'scores': {
      const move = thresholdTarget(input, stage);
      return move && { ...move, by: 'nurture.scoring', trigger: 'threshold' };
    }
    case 'event': {
      const move = signalTarget(input.signal, stage);
      return move && { ...move, by: input.by, trigger: 'event' };
    }
    case 'manual':
      return input.to === stage
        ? null
        : { to: input.to, reason: input.reason, by: input.actor, trigger: 'manual' };
  }
}

/**
 * Applies one input to a profile's lifecycle. Backward moves are allowed (by hand, by sales' rejection); every move
 * is appended to the history and returned as one `lead.stage_changed` event. Replaying an input (same key) changes
 * nothing.
 */
export function transition({
  state,
  input,
  now,
  occurredAt,
}: {
  state: LeadLifecycle;
  input: StageInput;
  now: Date;
  /**
   * When the cause happened (the tracked event's time), if not now: the move is stamped with it, so KPIs count an
   * imported or late form on the day it was submitted. Never later than now, never before the previous move (the
   * history stays in order).
   */
  occurredAt?: Date;
}): TransitionResult {
  const key = input.key ?? null;
  if (key !== null && state.history.some((entry) => entry.key === key))
    return { state, changed: false, events: [] };
  const move = target(input, state.stage);
  if (move === null) return { state, changed: false, events: [] };
  const record: StageTransition = {
    seq: (state.history.at(-1)?.seq ?? 0) + 1,
    from: state.stage,
    to: move.to,
    at: stampOf({ now, occurredAt, previous: state.history.at(-1)?.at }),
    reason: move.reason,
    by: move.by,
    trigger: move.trigger,
    key,
  };
  const event: LeadStageChanged = {
    source: 'nurture.scoring',
    detailType: 'lead.stage_changed',
    detail: {
      dedupeKey: `${state.profileId}:stage:${record.seq}`,
      profileId: state.profileId,
      from: record.from,
      to: record.to,
      at: record.at,
      reason: record.reason,
      by: record.by,
      trigger: record.trigger,
    },
  };
  return {
    state: { ...state, stage: move.to, history: [...state.history, record] },
    changed: true,
    events: [event],
  };
}

function stampOf({
  now,
  occurredAt,
  previous,
}: {
  now: Date;
  occurredAt: Date | undefined;
  previous: string | undefined;
}): string {
  if (occurredAt === undefined || Number.isNaN(occurredAt.getTime()) || occurredAt >= now)
    return now.toISOString();
  const at = occurredAt.toISOString();
  return previous !== undefined && at < previous ? previous : at;
}

/** Milliseconds spent in each stage over the whole history, the current stage counted up to `now`. */
export function timeInStage(
  history: readonly StageTransition[],
  now: Date,
): Partial<Record<LeadStage, number>> {
  const totals: Partial<Record<LeadStage, number>> = {};
  history.forEach((entry, index) => {
    const end = history[index + 1]?.at ?? now.toISOString();
    const spent = Math.max(0, Date.parse(end) - Date.parse(entry.at));
    totals[entry.to] = (totals[entry.to] ?? 0) + spent;
  });
  return totals;
}

/**
 * `deal.won` for a tracked `deal.won` event (its revenue valid or not: the deal was won), else `form.submitted` when
 * a lead event names the tracked event (a form), else `lead.event` when a lead event's pattern matches (by default:
 * the event made an email address known).
 */
export function leadSignalFor(event: IncomingEvent, rules: ScoringRules): LifecycleSignal | null {
  if (isDealWon(event)) return { name: 'deal.won' };
  const matched = rules.leadEvents.filter((matcher) => matchesEvent(matcher, event));
  if (matched.length === 0) return null;
  if (matched.some((matcher) => matcher.event !== undefined)) return { name: 'form.submitted' };
  const knownByEmail = isTrackedEvent(event) && event.detail.hasEmail === true;
  return {
    name: 'lead.event',
    reason: knownByEmail ? 'known by an email address' : `lead event ${event['detail-type']}`,
  };
}
