// A profile's scores: a bounded ledger of behaviour awards with decay and caps, fit awards from traits, explanations.
import * as z from 'zod';
import { evaluate } from '../journeys/conditions.ts';
import type { IncomingEvent, ProfileFacts } from '../journeys/model.ts';
import type { JsonObject } from '../tracking/model.ts';
import {
  type BehaviourRule,
  behaviourRuleMatches,
  fixedDurationMillis,
  halfLifeMillis,
  type ScoringRules,
} from './rules.ts';

/** Awards kept one by one; older ones are folded into a per-rule carried total (see docs/scoring.md). */
export const MAX_AWARDS = 200;

const isoInstant = z.iso.datetime({ offset: true });

export const behaviourAwardSchema = z.object({
  ruleId: z.string(),
  /** After the rule's cap; never 0 (an award capped to nothing is not kept). */
  points: z.number(),
  /** When the event happened (never later than when it was applied): decay counts from here. */
  at: isoInstant,
  eventKey: z.string(),
});
export type BehaviourAward = z.infer<typeof behaviourAwardSchema>;

export const fitAwardSchema = z.object({ ruleId: z.string(), points: z.number(), since: isoInstant });
export type FitAward = z.infer<typeof fitAwardSchema>;

/** Folded awards of one rule: their value as of `at`, which decays on from there like any award. */
export const carriedSchema = z.object({
  ruleId: z.string(),
  points: z.number(),
  at: isoInstant,
  awards: z.int().min(0),
  lastAwardAt: isoInstant,
  /** Cap use in the newest folded cap period, which new awards of the rule may still share. */
  period: z.object({ index: z.number(), used: z.number() }).nullable(),
});
export type Carried = z.infer<typeof carriedSchema>;

export const scoreStateSchema = z.object({
  rulesVersion: z.int().min(0),
  /** Sorted by (at, eventKey, ruleId). */
  awards: z.array(behaviourAwardSchema),
  /** Sorted by ruleId. */
  carried: z.array(carriedSchema),
  /**
   * The newest folded award, in ledger order: events at or before it (by time, then key) are ignored, because a
   * replay of a folded event can no longer be recognised.
   */
  horizon: z.object({ at: isoInstant, eventKey: z.string() }).nullable(),
  /** Sorted by ruleId. */
  fit: z.array(fitAwardSchema),
});
export type ScoreState = z.infer<typeof scoreStateSchema>;

export interface Scores {
  readonly behaviour: number;
  readonly fit: number;
  readonly combined: number;
}

export function emptyScoreState(rulesVersion = 0): ScoreState {
  return { rulesVersion, awards: [], carried: [], horizon: null, fit: [] };
}

/** Compares by a string key the same way on every machine (localeCompare depends on the locale). */
function byText(left: string, right: string): number {
  return left < right ? -1 : left > right ? 1 : 0;
}

function eventOrder(left: { at: string; eventKey: string }, right: { at: string; eventKey: string }): number {
  return Date.parse(left.at) - Date.parse(right.at) || byText(left.eventKey, right.eventKey);
}

function awardOrder(left: BehaviourAward, right: BehaviourAward): number {
  return eventOrder(left, right) || byText(left.ruleId, right.ruleId);
}

/** 0.5^(age / half-life); an age below zero (a clock ahead of `now`) does not grow points. */
export function decayFactor({ ageMillis, halfLife }: { ageMillis: number; halfLife: number | null }): number {
  if (halfLife === null || ageMillis <= 0) return 1;
  return 0.5 ** (ageMillis / halfLife);
}

/** Scores are stored and compared with two decimals; `|| 0` turns −0 into 0. */
function round(value: number): number {
  return Math.round(value * 100) / 100 || 0;
}

function capPeriod(rule: BehaviourRule, at: string): number | null {
  if (rule.cap === undefined) return null;
  const length = fixedDurationMillis(rule.cap.per);
  // Periods start on Monday 1970-01-05 UTC, so P1D is a UTC day and P7D an ISO week.
  return length === null ? null : Math.floor((Date.parse(at) - Date.UTC(1970, 0, 5)) / length);
}

/**
 * Shares a capped rule's points in one period out in event-time order: each award gets what its rule gives, or what
 * is left of the cap. Inserting an earlier event can only lower what later ones get, so an award that got nothing
 * would get nothing again and need not be kept; the result is the same whatever order events arrived in.
 */
function allocateCap({
  rule,
  awards,
  folded,
}: {
  rule: BehaviourRule & { cap: NonNullable<BehaviourRule['cap']> };
  awards: readonly BehaviourAward[];
  folded: number;
}): BehaviourAward[] {
  let remaining = Math.max(0, rule.cap.max - folded);
  const allocated: BehaviourAward[] = [];
  for (const award of [...awards].sort(awardOrder)) {
    const size = Math.min(Math.abs(award.points), remaining);
    remaining -= size;
    if (size > 0) allocated.push({ ...award, points: Math.sign(award.points) * size });
  }
  return allocated;
}

function addAward({
  state,
  rule,
  award,
}: {
  state: ScoreState;
  rule: BehaviourRule;
  award: BehaviourAward;
}): BehaviourAward[] {
  const period = capPeriod(rule, award.at);
  if (rule.cap === undefined || period === null) return [...state.awards, award].sort(awardOrder);
  const inPeriod = (candidate: BehaviourAward) =>
    candidate.ruleId === rule.id && capPeriod(rule, candidate.at) === period;
  const carried = state.carried.find((entry) => entry.ruleId === rule.id);
  const folded = carried?.period?.index === period ? carried.period.used : 0;
  const shared = allocateCap({
    rule: { ...rule, cap: rule.cap },
    awards: [...state.awards.filter(inPeriod), award],
    folded,
  });
  return [...state.awards.filter((candidate) => !inPeriod(candidate)), ...shared].sort(awardOrder);
}

/** Folds the oldest awards into their rule's carried total until the ledger fits. Exact: decay is linear. */
function fold({
  state,
  rules,
  ledgerSize,
}: {
  state: ScoreState;
  rules: ScoringRules;
  ledgerSize: number;
}): ScoreState {
  if (state.awards.length <= ledgerSize) return state;
  const halfLife = halfLifeMillis(rules);
  const carried = new Map(state.carried.map((entry) => [entry.ruleId, entry]));
  const overflow = state.awards.slice(0, state.awards.length - ledgerSize);
  for (const award of overflow) {
    const before = carried.get(award.ruleId);
    const rule = rules.behaviour.find((candidate) => candidate.id === award.ruleId);
    const index = rule === undefined ? null : capPeriod(rule, award.at);
    const used = Math.abs(award.points) + (before?.period?.index === index ? before.period.used : 0);
    const decayed = before
      ? before.points * decayFactor({ ageMillis: Date.parse(award.at) - Date.parse(before.at), halfLife })
      : 0;
    carried.set(award.ruleId, {
      ruleId: award.ruleId,
      points: decayed + award.points,
      at: award.at,
      awards: (before?.awards ?? 0) + 1,
      lastAwardAt: award.at,
      period: index === null ? null : { index, used },
    });
  }
  const newest = overflow.at(-1);
  return {
    ...state,
    awards: state.awards.slice(overflow.length),
    carried: [...carried.values()].sort((left, right) => byText(left.ruleId, right.ruleId)),
    horizon: newest ? { at: newest.at, eventKey: newest.eventKey } : state.horizon,
  };
}

export type ApplyOutcome = 'awarded' | 'capped' | 'no-rule' | 'duplicate' | 'too-old';

export interface ApplyResult {
  readonly state: ScoreState;
  readonly outcome: ApplyOutcome;
  /** The awards this event earned, after caps (empty unless `awarded`). */
  readonly awards: readonly BehaviourAward[];
}

function eventTime(event: IncomingEvent, now: Date): string {
  const at = Date.parse(event.time);
  // An event from the future (a client clock ahead) counts as happening now, so it cannot sit above full value.
  return new Date(Number.isFinite(at) ? Math.min(at, now.getTime()) : now.getTime()).toISOString();
}

/**
 * Gives the points an event earns under the behaviour rules. Idempotent by the event's dedupe key: applying an event
 * twice changes nothing. Events older than the ledger's horizon are ignored (see docs/scoring.md).
 */
export function applyEvent({
  state,
  event,
  rules,
  now,
  ledgerSize = MAX_AWARDS,
}: {
  state: ScoreState;
  event: IncomingEvent;
  rules: ScoringRules;
  now: Date;
  ledgerSize?: number;
}): ApplyResult {
  const at = eventTime(event, now);
  if (state.horizon !== null && eventOrder({ at, eventKey: event.dedupeKey }, state.horizon) <= 0)
    return { state, outcome: 'too-old', awards: [] };
  if (state.awards.some((award) => award.eventKey === event.dedupeKey))
    return { state, outcome: 'duplicate', awards: [] };
  const matched = rules.behaviour.filter((rule) => behaviourRuleMatches(rule, event));
  if (matched.length === 0) return { state, outcome: 'no-rule', awards: [] };
  let next = state;
  for (const rule of matched) {
    const award = { ruleId: rule.id, points: rule.points, at, eventKey: event.dedupeKey };
    next = { ...next, awards: addAward({ state: next, rule, award }) };
  }
  const earned = next.awards.filter((award) => award.eventKey === event.dedupeKey);
  if (earned.length === 0) return { state, outcome: 'capped', awards: [] };
  return { state: fold({ state: next, rules, ledgerSize }), outcome: 'awarded', awards: earned };
}

function factsFor(traits: JsonObject): ProfileFacts {
  return { profileId: '', userId: null, traits, scores: {}, stage: null, segments: [], events: [] };
}

/** Re-evaluates the fit rules against the profile's current traits. A rule that still holds keeps its `since`. */
export function applyTraits({
  state,
  traits,
  rules,
  now,
}: {
  state: ScoreState;
  traits: JsonObject;
  rules: ScoringRules;
  now: Date;
}): { state: ScoreState; changed: boolean } {
  const facts = factsFor(traits);
  const fit = rules.fit
    .filter((rule) => evaluate(rule.condition, facts, now).result)
    .map((rule): FitAward => {
      const before = state.fit.find((award) => award.ruleId === rule.id && award.points === rule.points);
      return { ruleId: rule.id, points: rule.points, since: before?.since ?? now.toISOString() };
    })
    .sort((left, right) => byText(left.ruleId, right.ruleId));
  const changed =
    fit.length !== state.fit.length ||
    fit.some((award, index) => {
      const before = state.fit[index];
      return before?.ruleId !== award.ruleId || before.points !== award.points;
    });
  return { state: changed ? { ...state, fit } : state, changed };
}

function rawBehaviour({ state, rules, now }: { state: ScoreState; rules: ScoringRules; now: Date }): number {
  const halfLife = halfLifeMillis(rules);
  const value = (points: number, at: string) =>
    points * decayFactor({ ageMillis: now.getTime() - Date.parse(at), halfLife });
  let total = 0;
  for (const entry of state.carried) total += value(entry.points, entry.at);
  for (const award of state.awards) total += value(award.points, award.at);
  return total;
}

/**
 * The three scores at `now`. Behaviour and combined never go below 0; the floor applies to the total, not award by
 * award, so the order of awards never matters.
 */
export function scoresAt({
  state,
  rules,
  now,
}: {
  state: ScoreState;
  rules: ScoringRules;
  now: Date;
}): Scores {
  const behaviour = Math.max(0, rawBehaviour({ state, rules, now }));
  const fit = state.fit.reduce((total, award) => total + award.points, 0);
  const { weights } = rules.scores;
  return {
    behaviour: round(behaviour),
    fit: round(fit),
    combined: Math.max(0, round(behaviour * weights.behaviour + fit * weights.fit)),
  };
}

/** The scores under their configured names, as the lead item stores them (`score_<name>`). */
export function namedScores(scores: Scores, rules: ScoringRules): Record<string, number> {
  return {
    [rules.scores.behaviour]: scores.behaviour,
    [rules.scores.fit]: scores.fit,
    [rules.scores.combined]: scores.combined,
  };
}

export const ruleContributionSchema = z.object({
  ruleId: z.string(),
  description: z.string().nullable(),
  /** What the rule's awards are worth now, after decay. */
  points: z.number(),
  awards: z.int().min(0),
  lastAwardAt: isoInstant.nullable(),
  /** The rule is no longer in the rules document (its points stay until a recompute). */
  retired: z.boolean(),
});
export type RuleContribution = z.infer<typeof ruleContributionSchema>;

export const scoreExplanationSchema = z.object({
  at: isoInstant,
  rulesVersion: z.int().min(0),
  names: z.object({ behaviour: z.string(), fit: z.string(), combined: z.string() }),
  scores: z.object({ behaviour: z.number(), fit: z.number(), combined: z.number() }),
  weights: z.object({ behaviour: z.number(), fit: z.number() }),
  /** Negative behaviour points outweighed positive ones; the score shows 0. */
  behaviourFloored: z.boolean(),
  /** Largest contribution first. */
  behaviour: z.array(ruleContributionSchema),
  fit: z.array(ruleContributionSchema),
});
export type ScoreExplanation = z.infer<typeof scoreExplanationSchema>;

/** Where each score's points came from: per rule, what it is worth now, how many awards and the last one. */
export function explain({
  state,
  rules,
  now,
}: {
  state: ScoreState;
  rules: ScoringRules;
  now: Date;
}): ScoreExplanation {
  const halfLife = halfLifeMillis(rules);
  const value = (points: number, at: string) =>
    points * decayFactor({ ageMillis: now.getTime() - Date.parse(at), halfLife });
  const perRule = new Map<string, { points: number; awards: number; lastAwardAt: string | null }>();
  const add = ({
    ruleId,
    points,
    awards,
    at,
  }: {
    ruleId: string;
    points: number;
    awards: number;
    at: string;
  }) => {
    const before = perRule.get(ruleId) ?? { points: 0, awards: 0, lastAwardAt: null };
    perRule.set(ruleId, {
      points: before.points + points,
      awards: before.awards + awards,
      lastAwardAt: before.lastAwardAt === null || before.lastAwardAt < at ? at : before.lastAwardAt,
    });
  };
  for (const entry of state.carried)
    add({
      ruleId: entry.ruleId,
      points: value(entry.points, entry.at),
      awards: entry.awards,
      at: entry.lastAwardAt,
    });
  for (const award of state.awards)
    add({ ruleId: award.ruleId, points: value(award.points, award.at), awards: 1, at: award.at });
  const describe = (ruleId: string) =>
    [...rules.behaviour, ...rules.fit].find((rule) => rule.id === ruleId)?.description ?? null;
  const behaviour = [...perRule]
    .map(([ruleId, entry]) => ({
      ruleId,
      description: describe(ruleId),
      points: round(entry.points),
      awards: entry.awards,
      lastAwardAt: entry.lastAwardAt,
      retired: !rules.behaviour.some((rule) => rule.id === ruleId),
    }))
    .sort(
      (left, right) => Math.abs(right.points) - Math.abs(left.points) || byText(left.ruleId, right.ruleId),
    );
  const fit = state.fit.map((award) => ({
    ruleId: award.ruleId,
    description: describe(award.ruleId),
    points: award.points,
    awards: 1,
    lastAwardAt: award.since,
    retired: !rules.fit.some((rule) => rule.id === award.ruleId),
  }));
  return {
    at: now.toISOString(),
    rulesVersion: state.rulesVersion,
    names: {
      behaviour: rules.scores.behaviour,
      fit: rules.scores.fit,
      combined: rules.scores.combined,
    },
    scores: scoresAt({ state, rules, now }),
    weights: rules.scores.weights,
    behaviourFloored: rawBehaviour({ state, rules, now }) < 0,
    behaviour,
    fit,
  };
}

function replayOrder(left: IncomingEvent, right: IncomingEvent): number {
  return eventOrder(
    { at: left.time, eventKey: left.dedupeKey },
    { at: right.time, eventKey: right.dedupeKey },
  );
}

/**
 * Scores a profile from scratch under (new) rules: replays its events in time order, then the fit rules on its
 * current traits. The background recompute after a rules change runs this per profile.
 */
export function recompute({
  events,
  traits,
  rules,
  now,
  ledgerSize = MAX_AWARDS,
}: {
  events: readonly IncomingEvent[];
  traits: JsonObject;
  rules: ScoringRules;
  now: Date;
  ledgerSize?: number;
}): ScoreState {
  let state = emptyScoreState(rules.version);
  for (const event of [...events].sort(replayOrder))
    state = applyEvent({ state, event, rules, now, ledgerSize }).state;
  return applyTraits({ state, traits, rules, now }).state;
}
