// The journey engine: given an enrollment and what happened (a trigger, an event, a due timer), the next state and
// the effects, timers and counters to commit with it. Pure: no I/O, the clock comes in as `now`.
import type { JsonObject } from '../tracking/model.ts';
import { evaluate, readPath } from './conditions.ts';
import type { EventMatcher, Goal, JourneyDefinition, JourneyNode } from './definition.ts';
import { matchesEvent } from './matching.ts';
import {
  type CounterChange,
  type Effect,
  type Enrollment,
  type IncomingEvent,
  type JourneyStatus,
  MAX_HISTORY,
  MAX_PROCESSED,
  MAX_SENDS,
  type NodeCounter,
  type ProfileFacts,
  type Timer,
  type Waiting,
  type WaitKind,
} from './model.ts';
import { chooseVariant } from './split.ts';
import {
  addDuration,
  nextTimeOfDay,
  parseDate,
  profileZone,
  quietHoursEnd,
  subtractDuration,
} from './time.ts';

export interface JourneyContext {
  readonly journeyId: string;
  readonly version: number;
  readonly definition: JourneyDefinition;
  readonly status: JourneyStatus;
  readonly facts: ProfileFacts;
  readonly now: Date;
}

export interface TraceEntry {
  readonly nodeId: string | null;
  readonly decision: string;
  readonly reason: string;
}

export interface StepResult {
  /** The next state to commit; the current one (or undefined) when nothing changed. */
  readonly enrollment: Enrollment | undefined;
  /** False → commit nothing (duplicate, not matching, stale timer…). */
  readonly changed: boolean;
  /** Also stored as `enrollment.pendingEffects`. */
  readonly effects: readonly Effect[];
  readonly setTimers: readonly Timer[];
  readonly deleteTimers: readonly Timer[];
  readonly counters: readonly CounterChange[];
  readonly scores: readonly { name: string; points: number }[];
  readonly trace: readonly TraceEntry[];
}

/** A definition that loops through instant waits would spin; the graph check forbids it, this is the backstop. */
export const MAX_NODE_EXECUTIONS = 100;
/** How long a paused journey holds an enrollment before looking again. */
export const PAUSE_RECHECK = 'PT15M';

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/** One call's work in progress: the enrollment being changed and everything to commit with it. */
interface Step {
  readonly ctx: JourneyContext;
  readonly enrollment: Mutable<Enrollment>;
  readonly effects: Effect[];
  readonly setTimers: Timer[];
  readonly deleteTimers: Timer[];
  readonly counters: CounterChange[];
  readonly scores: { name: string; points: number }[];
  readonly trace: TraceEntry[];
}

function unchanged(enrollment: Enrollment | undefined, trace: TraceEntry): StepResult {
  return {
    enrollment,
    changed: false,
    effects: [],
    setTimers: [],
    deleteTimers: [],
    counters: [],
    scores: [],
    trace: [trace],
  };
}

function newest<T>(items: readonly T[], item: T, max: number): T[] {
  return [...items, item].slice(-max);
}

function startStep(ctx: JourneyContext, enrollment: Enrollment): Step {
  return {
    ctx,
    enrollment: { ...enrollment },
    effects: [],
    setTimers: [],
    deleteTimers: [],
    counters: [],
    scores: [],
    trace: [],
  };
}

/** Records the input as applied and stamps the state: a replay of the same input then changes nothing. */
function finish(
  step: Step,
  { inputKey, previousVersion }: { inputKey: string; previousVersion: number },
): StepResult {
  const enrollment: Enrollment = {
    ...step.enrollment,
    processed: newest(step.enrollment.processed, inputKey, MAX_PROCESSED),
    pendingEffects: step.effects,
    updatedAt: step.ctx.now.toISOString(),
    version: previousVersion + 1,
  };
  return {
    enrollment,
    changed: true,
    effects: step.effects,
    setTimers: step.setTimers,
    deleteTimers: step.deleteTimers,
    counters: step.counters,
    scores: step.scores,
    trace: step.trace,
  };
}

function count(
  step: Step,
  { nodeId, counter, delta = 1 }: { nodeId: string; counter: NodeCounter; delta?: number },
) {
  step.counters.push({ nodeId, counter, variant: step.enrollment.variant, delta });
}

function note(step: Step, entry: TraceEntry): void {
  step.trace.push(entry);
}

function remember(step: Step, { nodeId, outcome }: { nodeId: string; outcome: string }): void {
  step.enrollment.history = newest(
    step.enrollment.history,
    { at: step.ctx.now.toISOString(), nodeId, outcome },
    MAX_HISTORY,
  );
}

function idPrefix(step: Step): string {
  const { journeyId, profileId, run } = step.enrollment;
  return `${journeyId}:${profileId}:${run}`;
}

function effectKey(step: Step, nodeId: string): string {
  return `j:${idPrefix(step)}:${step.enrollment.steps}:${nodeId}`;
}

function waitingTimer(enrollment: Enrollment, waiting: Waiting): Timer {
  return {
    timerId: waiting.timerId,
    dueAt: waiting.until,
    profileId: enrollment.profileId,
    journeyId: enrollment.journeyId,
    kind: 'step',
  };
}

function startWaiting(
  step: Step,
  { kind, nodeId, until }: { kind: WaitKind; nodeId: string; until: Date },
): void {
  const waiting: Waiting = {
    kind,
    nodeId,
    until: until.toISOString(),
    // The step count makes every wait's timer id new, so a timer from an earlier wait is recognised as stale.
    timerId: `t:${idPrefix(step)}:${step.enrollment.steps}`,
  };
  step.enrollment.waiting = waiting;
  step.setTimers.push(waitingTimer(step.enrollment, waiting));
  count(step, { nodeId, counter: 'waiting' });
}

function stopWaiting(step: Step): void {
  const { waiting } = step.enrollment;
  if (!waiting) return;
  step.deleteTimers.push(waitingTimer(step.enrollment, waiting));
  count(step, { nodeId: waiting.nodeId, counter: 'waiting', delta: -1 });
  step.enrollment.waiting = null;
}

function end(
  step: Step,
  {
    nodeId,
    status,
    reason,
  }: { nodeId: string; status: 'completed' | 'exited'; reason: 'completed' | 'holdout' },
) {
  step.enrollment.status = status;
  step.enrollment.exitReason = reason;
  step.enrollment.exitedAt = step.ctx.now.toISOString();
  count(step, { nodeId, counter: 'exited' });
}

function node(ctx: JourneyContext, nodeId: string): JourneyNode {
  const found = Object.hasOwn(ctx.definition.nodes, nodeId) ? ctx.definition.nodes[nodeId] : undefined;
  if (!found) throw new Error(`journey ${ctx.journeyId} v${ctx.version} has no node "${nodeId}"`);
  return found;
}

type Outcome = { readonly next: string } | { readonly stop: true };
const STOP: Outcome = { stop: true };

function zoneOf(ctx: JourneyContext): string {
  return profileZone(ctx.facts.traits, ctx.definition.timeZone);
}

function executeWait(
  step: Step,
  { nodeId, node: wait }: { nodeId: string; node: Extract<JourneyNode, { type: 'wait' }> },
): Outcome {
  const { now, facts } = step.ctx;
  let until: Date;
  let description: string;
  if (wait.duration !== undefined) {
    until = addDuration(now, wait.duration);
    description = wait.duration;
  } else if (wait.untilTimeOfDay !== undefined) {
    const zone = zoneOf(step.ctx);
    until = nextTimeOfDay({ now, time: wait.untilTimeOfDay, zone });
    description = `${wait.untilTimeOfDay} ${zone}`;
  } else if (wait.untilDate !== undefined) {
    const date = parseDate(readPath(facts.traits, wait.untilDate.attribute));
    if (!date) {
      remember(step, { nodeId, outcome: 'no-date' });
      note(step, {
        nodeId,
        decision: 'continue',
        reason: `traits.${wait.untilDate.attribute} is not a date`,
      });
      return { next: wait.next };
    }
    until = addDuration(date, wait.untilDate.offset);
    description = `traits.${wait.untilDate.attribute} ${wait.untilDate.offset}`;
  } else {
    throw new Error(`wait "${nodeId}" has nothing to wait for`);
  }
  if (until.getTime() <= now.getTime()) {
    remember(step, { nodeId, outcome: 'passed' });
    note(step, {
      nodeId,
      decision: 'continue',
      reason: `${until.toISOString()} (${description}) has passed`,
    });
    return { next: wait.next };
  }
  startWaiting(step, { kind: 'wait', nodeId, until });
  remember(step, { nodeId, outcome: 'waiting' });
  note(step, { nodeId, decision: 'wait', reason: `until ${until.toISOString()} (${description})` });
  return STOP;
}

function sendsInWindow(step: Step, window: string): Date[] {
  const since = subtractDuration(step.ctx.now, window).getTime();
  return step.enrollment.sends.map((at) => new Date(at)).filter((at) => at.getTime() > since);
}

function executeSendEmail(
  step: Step,
  { nodeId, node: send }: { nodeId: string; node: Extract<JourneyNode, { type: 'sendEmail' }> },
): Outcome {
  const { ctx } = step;
  const { now, definition } = ctx;
  if (definition.quietHours) {
    const zone = zoneOf(ctx);
    const until = quietHoursEnd({ now, ...definition.quietHours, zone });
    if (until) {
      startWaiting(step, { kind: 'quietHours', nodeId, until });
      remember(step, { nodeId, outcome: 'quiet-hours' });
      const { start, end } = definition.quietHours;
      note(step, {
        nodeId,
        decision: 'delay',
        reason: `quiet hours ${start}–${end} ${zone}: delayed until ${until.toISOString()}`,
      });
      return STOP;
    }
  }
  const cap = definition.frequencyCap;
  if (cap) {
    const recent = sendsInWindow(step, cap.window);
    if (recent.length >= cap.max) {
      const reason = `frequency cap: ${recent.length} sent in ${cap.window} (max ${cap.max})`;
      if (cap.onCap === 'skip') {
        count(step, { nodeId, counter: 'skipped' });
        remember(step, { nodeId, outcome: 'skipped:frequency-cap' });
        note(step, { nodeId, decision: 'skip', reason: `skipped: ${reason}` });
        return { next: send.next };
      }
      const oldest = Math.min(...recent.map((at) => at.getTime()));
      const until = addDuration(new Date(oldest), cap.window);
      startWaiting(step, { kind: 'frequencyCap', nodeId, until });
      remember(step, { nodeId, outcome: 'delayed:frequency-cap' });
      note(step, { nodeId, decision: 'delay', reason: `${reason}: delayed until ${until.toISOString()}` });
      return STOP;
    }
  }
  step.effects.push({
    kind: 'sendEmail',
    key: effectKey(step, nodeId),
    templateId: send.templateId,
    templateVersion: send.templateVersion ?? null,
    nodeId,
    variant: step.enrollment.variant,
    campaign: definition.campaign ?? ctx.journeyId,
  });
  count(step, { nodeId, counter: 'sent' });
  step.enrollment.sends = newest(step.enrollment.sends, now.toISOString(), MAX_SENDS);
  remember(step, { nodeId, outcome: 'sent' });
  const version = send.templateVersion === undefined ? 'latest version' : `version ${send.templateVersion}`;
  note(step, { nodeId, decision: 'send', reason: `sends template ${send.templateId} (${version})` });
  return { next: send.next };
}

function executeUpdateProfile(
  step: Step,
  { nodeId, node: update }: { nodeId: string; node: Extract<JourneyNode, { type: 'updateProfile' }> },
): Outcome {
  const key = effectKey(step, nodeId);
  const changes: string[] = [];
  if (update.setTraits) {
    step.effects.push({ kind: 'setTraits', key, traits: update.setTraits });
    changes.push(`traits ${Object.keys(update.setTraits).join(', ')}`);
  }
  if (update.setStage) {
    // Its own key: a consumer that dedupes on the key alone must not drop the stage because traits came first.
    step.effects.push({ kind: 'setStage', key: `${key}:stage`, stage: update.setStage });
    changes.push(`stage ${update.setStage}`);
  }
  if (update.addScore) {
    // Applied in the commit transaction, so it happens exactly once with the step.
    step.scores.push({ name: update.addScore.name, points: update.addScore.points });
    changes.push(
      `score ${update.addScore.name} ${update.addScore.points >= 0 ? '+' : ''}${update.addScore.points}`,
    );
  }
  remember(step, { nodeId, outcome: 'updated' });
  note(step, { nodeId, decision: 'update', reason: `sets ${changes.join('; ')}` });
  return { next: update.next };
}

function execute(step: Step, nodeId: string): Outcome {
  const { ctx } = step;
  const current = node(ctx, nodeId);
  step.enrollment.steps += 1;
  step.enrollment.nodeId = nodeId;
  if (ctx.status === 'paused' && current.type !== 'wait' && current.type !== 'waitForEvent') {
    const until = addDuration(ctx.now, PAUSE_RECHECK);
    startWaiting(step, { kind: 'paused', nodeId, until });
    remember(step, { nodeId, outcome: 'paused' });
    note(step, {
      nodeId,
      decision: 'hold',
      reason: `journey is paused: look again at ${until.toISOString()}`,
    });
    return STOP;
  }
  const { now, facts } = ctx;
  switch (current.type) {
    case 'wait':
      return executeWait(step, { nodeId, node: current });
    case 'waitForEvent': {
      const until = addDuration(now, current.timeout);
      startWaiting(step, { kind: 'waitForEvent', nodeId, until });
      remember(step, { nodeId, outcome: 'waiting' });
      note(step, {
        nodeId,
        decision: 'wait',
        reason: `for ${describeMatcher(current.match)} until ${until.toISOString()}`,
      });
      return STOP;
    }
    case 'condition': {
      const { result, reason } = evaluate(current.condition, facts, now);
      const branch = result ? 'onTrue' : 'onFalse';
      remember(step, { nodeId, outcome: branch });
      note(step, { nodeId, decision: branch, reason });
      return { next: result ? current.onTrue : current.onFalse };
    }
    case 'split': {
      const chosen = chooseVariant({ node: current, seed: `${idPrefix(step)}:${nodeId}` });
      step.enrollment.variant = chosen.variant;
      remember(step, { nodeId, outcome: `variant:${chosen.variant}` });
      note(step, {
        nodeId,
        decision: `variant:${chosen.variant}`,
        reason: `random split chose ${chosen.variant}`,
      });
      if (chosen.next !== null) return { next: chosen.next };
      end(step, { nodeId, status: 'exited', reason: 'holdout' });
      note(step, { nodeId, decision: 'exit', reason: 'in the holdout group' });
      return STOP;
    }
    case 'sendEmail':
      return executeSendEmail(step, { nodeId, node: current });
    case 'setBanner': {
      const expiresAt = addDuration(now, current.expiresAfter).toISOString();
      step.effects.push({
        kind: 'setBanner',
        key: effectKey(step, nodeId),
        nodeId,
        variant: step.enrollment.variant,
        placement: current.placement,
        content: current.content,
        expiresAt,
      });
      count(step, { nodeId, counter: 'sent' });
      remember(step, { nodeId, outcome: 'sent' });
      note(step, {
        nodeId,
        decision: 'banner',
        reason: `shows "${current.content.title}" in ${current.placement} until ${expiresAt}`,
      });
      return { next: current.next };
    }
    case 'webhook': {
      const { journeyId } = ctx;
      const { profileId, run } = step.enrollment;
      const payload: JsonObject = {
        ...current.payload,
        profileId,
        userId: facts.userId,
        journeyId,
        nodeId,
        run,
      };
      step.effects.push({
        kind: 'webhook',
        key: effectKey(step, nodeId),
        endpointId: current.endpointId,
        eventType: current.eventType,
        payload,
      });
      count(step, { nodeId, counter: 'sent' });
      remember(step, { nodeId, outcome: 'sent' });
      note(step, {
        nodeId,
        decision: 'webhook',
        reason: `calls ${current.endpointId} with ${current.eventType}`,
      });
      return { next: current.next };
    }
    case 'updateProfile':
      return executeUpdateProfile(step, { nodeId, node: current });
    case 'emitEvent':
      step.effects.push({
        kind: 'emitEvent',
        key: effectKey(step, nodeId),
        name: current.name,
        properties: current.properties,
      });
      remember(step, { nodeId, outcome: 'emitted' });
      note(step, { nodeId, decision: 'emit', reason: `emits ${current.name}` });
      return { next: current.next };
    case 'exit':
      end(step, { nodeId, status: 'completed', reason: 'completed' });
      remember(step, { nodeId, outcome: 'completed' });
      note(step, { nodeId, decision: 'exit', reason: 'journey completed' });
      return STOP;
  }
}

/**
 * Runs nodes from `nodeId` until one waits or the run ends. `arriving` is false when a held node (quiet hours, a
 * frequency cap, a pause) runs again: it was already counted as entered.
 */
function run(step: Step, { nodeId, arriving }: { nodeId: string; arriving: boolean }): void {
  let current: string = nodeId;
  let isArrival = arriving;
  for (let executions = 1; ; executions++) {
    if (executions > MAX_NODE_EXECUTIONS)
      throw new Error(
        `journey ${step.ctx.journeyId} ran ${MAX_NODE_EXECUTIONS} nodes in one step without waiting`,
      );
    if (isArrival) count(step, { nodeId: current, counter: 'entered' });
    const outcome = execute(step, current);
    if ('stop' in outcome) return;
    current = outcome.next;
    isArrival = true;
  }
}

function describeMatcher(matcher: EventMatcher): string {
  return matcher.event !== undefined
    ? `"${matcher.event}"`
    : `events matching ${JSON.stringify(matcher.pattern)}`;
}

/** The first goal the profile has reached: an event goal by this event, a condition goal by its facts. */
function reachedGoal(
  ctx: JourneyContext,
  event: IncomingEvent | undefined,
): { goal: Goal; reason: string } | undefined {
  for (const goal of ctx.definition.goals) {
    if (goal.match) {
      if (event && matchesEvent(goal.match, event))
        return { goal, reason: `${describeMatcher(goal.match)} happened` };
    } else if (goal.condition) {
      const { result, reason } = evaluate(goal.condition, ctx.facts, ctx.now);
      if (result) return { goal, reason };
    }
  }
  return undefined;
}

function exitOnGoal(step: Step, { goal, reason }: { goal: Goal; reason: string }): void {
  const { enrollment } = step;
  const nodeId = enrollment.nodeId;
  stopWaiting(step);
  count(step, { nodeId, counter: 'goal' });
  enrollment.status = 'exited';
  enrollment.exitReason = 'goal';
  enrollment.goalId = goal.id;
  enrollment.exitedAt = step.ctx.now.toISOString();
  // Banners offered what the goal achieved (the renewal, the upgrade); they must not linger after it.
  step.effects.push({ kind: 'clearBanners', key: `j:${idPrefix(step)}:goal:${goal.id}` });
  remember(step, { nodeId, outcome: `goal:${goal.id}` });
  note(step, { nodeId, decision: `goal:${goal.id}`, reason });
}

function reentryRefusal(ctx: JourneyContext, existing: Enrollment): string | null {
  const { reentry } = ctx.definition.entry;
  if (reentry.mode === 'never') return 'already went through this journey (re-entry: never)';
  if (reentry.mode === 'afterDays') {
    const allowedAt = existing.exitedAt
      ? addDuration(new Date(existing.exitedAt), `P${reentry.days}D`)
      : null;
    if (!allowedAt || allowedAt.getTime() > ctx.now.getTime())
      return `re-entry allowed ${reentry.days} days after leaving${allowedAt ? `, from ${allowedAt.toISOString()}` : ''}`;
  }
  return null;
}

/** Why the profile may not enter now, or null when it may. */
function entryRefusal(ctx: JourneyContext, existing: Enrollment | undefined): TraceEntry | null {
  if (existing?.status === 'active')
    return { nodeId: null, decision: 'not entered', reason: 'already enrolled' };
  if (existing) {
    const refusal = reentryRefusal(ctx, existing);
    if (refusal) return { nodeId: null, decision: 'not entered', reason: refusal };
  }
  const { condition } = ctx.definition.entry;
  if (condition) {
    const { result, reason } = evaluate(condition, ctx.facts, ctx.now);
    if (!result) return { nodeId: null, decision: 'not entered', reason: `entry condition: ${reason}` };
  }
  const reached = reachedGoal(ctx, undefined);
  if (reached)
    return {
      nodeId: null,
      decision: 'not entered',
      reason: `goal ${reached.goal.id} already reached: ${reached.reason}`,
    };
  return null;
}

/** A trigger fired for the profile: enter the journey (a new run) if the rules allow. */
export function enter(ctx: JourneyContext, existing: Enrollment | undefined, triggerKey: string): StepResult {
  if (existing?.processed.includes(triggerKey))
    return unchanged(existing, {
      nodeId: null,
      decision: 'ignored',
      reason: `trigger ${triggerKey} already applied`,
    });
  const refusal = entryRefusal(ctx, existing);
  if (refusal) return unchanged(existing, refusal);
  const now = ctx.now.toISOString();
  const previousVersion = existing?.version ?? 0;
  const fresh: Enrollment = {
    profileId: ctx.facts.profileId,
    journeyId: ctx.journeyId,
    run: (existing?.run ?? 0) + 1,
    journeyVersion: ctx.version,
    status: 'active',
    exitReason: null,
    goalId: null,
    nodeId: ctx.definition.start,
    waiting: null,
    variant: null,
    enteredAt: now,
    updatedAt: now,
    exitedAt: null,
    history: [],
    // Kept across runs: replays of old inputs must still be recognised, and caps count every run's sends.
    processed: existing?.processed ?? [],
    sends: existing?.sends ?? [],
    steps: 0,
    pendingEffects: [],
    version: previousVersion,
  };
  const step = startStep(ctx, fresh);
  note(step, {
    nodeId: null,
    decision: 'entered',
    reason: `run ${fresh.run} of journey ${ctx.journeyId} v${ctx.version}`,
  });
  run(step, { nodeId: ctx.definition.start, arriving: true });
  return finish(step, { inputKey: triggerKey, previousVersion });
}

/** An event about the profile: it may reach a goal or be what a waitForEvent waits for. */
export function react(ctx: JourneyContext, enrollment: Enrollment, event: IncomingEvent): StepResult {
  if (enrollment.processed.includes(event.dedupeKey))
    return unchanged(enrollment, {
      nodeId: null,
      decision: 'ignored',
      reason: `event ${event.dedupeKey} already applied`,
    });
  if (enrollment.status !== 'active')
    return unchanged(enrollment, {
      nodeId: null,
      decision: 'ignored',
      reason: `enrollment is ${enrollment.status}`,
    });
  const step = startStep(ctx, enrollment);
  const reached = reachedGoal(ctx, event);
  if (reached) {
    exitOnGoal(step, reached);
    return finish(step, { inputKey: event.dedupeKey, previousVersion: enrollment.version });
  }
  const { waiting } = enrollment;
  if (waiting?.kind === 'waitForEvent') {
    const current = node(ctx, waiting.nodeId);
    if (current.type === 'waitForEvent' && matchesEvent(current.match, event)) {
      continueAfterEvent(step, { nodeId: waiting.nodeId, node: current });
      return finish(step, { inputKey: event.dedupeKey, previousVersion: enrollment.version });
    }
  }
  return unchanged(enrollment, {
    nodeId: enrollment.nodeId,
    decision: 'ignored',
    reason: 'no goal or wait matches the event',
  });
}

function continueAfterEvent(
  step: Step,
  { nodeId, node: wait }: { nodeId: string; node: Extract<JourneyNode, { type: 'waitForEvent' }> },
): void {
  stopWaiting(step);
  remember(step, { nodeId, outcome: 'event' });
  note(step, { nodeId, decision: 'event', reason: `${describeMatcher(wait.match)} arrived` });
  run(step, { nodeId: wait.onEvent, arriving: true });
}

/** A timer fired: move on from the wait it belongs to, unless it belongs to a wait that is already over. */
export function resume(ctx: JourneyContext, enrollment: Enrollment, timer: Timer): StepResult {
  const { waiting } = enrollment;
  if (
    enrollment.status !== 'active' ||
    waiting?.timerId !== timer.timerId ||
    enrollment.processed.includes(timer.timerId)
  )
    return unchanged(enrollment, {
      nodeId: null,
      decision: 'ignored',
      reason: `stale timer ${timer.timerId}`,
    });
  const step = startStep(ctx, enrollment);
  const reached = reachedGoal(ctx, undefined);
  if (reached) {
    exitOnGoal(step, reached);
    return finish(step, { inputKey: timer.timerId, previousVersion: enrollment.version });
  }
  stopWaiting(step);
  const current = node(ctx, waiting.nodeId);
  if (waiting.kind === 'wait' && current.type === 'wait') {
    remember(step, { nodeId: waiting.nodeId, outcome: 'waited' });
    run(step, { nodeId: current.next, arriving: true });
  } else if (waiting.kind === 'waitForEvent' && current.type === 'waitForEvent') {
    remember(step, { nodeId: waiting.nodeId, outcome: 'timeout' });
    note(step, {
      nodeId: waiting.nodeId,
      decision: 'timeout',
      reason: `no ${describeMatcher(current.match)} by ${waiting.until}`,
    });
    run(step, { nodeId: current.onTimeout, arriving: true });
  } else {
    // Quiet hours, a frequency cap or a pause held this node; it runs again now.
    run(step, { nodeId: waiting.nodeId, arriving: false });
  }
  return finish(step, { inputKey: timer.timerId, previousVersion: enrollment.version });
}

function assumedToArrive(matcher: EventMatcher, assumeEvents: readonly string[]): boolean {
  if (matcher.event !== undefined) return assumeEvents.includes(matcher.event);
  const detailTypes = matcher.pattern?.['detail-type'];
  return (
    Array.isArray(detailTypes) &&
    detailTypes.some((type) => typeof type === 'string' && assumeEvents.includes(type))
  );
}

/**
 * Walks a profile through the journey without storing or sending anything: waits are skipped to their end, awaited
 * events arrive when named in `assumeEvents` (else they time out). Says per node what would happen and why.
 */
export function dryRun(
  ctx: Omit<JourneyContext, 'status'> & { status?: JourneyStatus },
  options: { assumeEvents?: string[]; maxSteps?: number } = {},
): { enters: boolean; reason: string; path: TraceEntry[] } {
  const assumeEvents = options.assumeEvents ?? [];
  const maxSteps = options.maxSteps ?? 50;
  let context: JourneyContext = { ...ctx, status: ctx.status ?? 'active' };
  const entered = enter(context, undefined, 'dry-run');
  const path = [...entered.trace];
  if (!entered.changed || !entered.enrollment) {
    return { enters: false, reason: entered.trace[0]?.reason ?? 'not entered', path };
  }
  let enrollment = entered.enrollment;
  for (let stepsTaken = 0; enrollment.status === 'active' && enrollment.waiting; stepsTaken++) {
    if (stepsTaken >= maxSteps) return { enters: true, reason: `stopped after ${maxSteps} steps`, path };
    const waiting: Waiting = enrollment.waiting;
    const current = node(context, waiting.nodeId);
    let result: StepResult;
    if (
      waiting.kind === 'waitForEvent' &&
      current.type === 'waitForEvent' &&
      assumedToArrive(current.match, assumeEvents)
    ) {
      // The event is assumed to arrive at once, so the simulated clock stays where the wait began.
      const step = startStep(context, enrollment);
      continueAfterEvent(step, { nodeId: waiting.nodeId, node: current });
      result = finish(step, { inputKey: `dry-run:${stepsTaken}`, previousVersion: enrollment.version });
    } else {
      context = { ...context, now: new Date(waiting.until) };
      result = resume(context, enrollment, waitingTimer(enrollment, waiting));
    }
    path.push(...result.trace);
    if (!result.enrollment) break;
    enrollment = result.enrollment;
  }
  const outcome =
    enrollment.status === 'active'
      ? `still at ${enrollment.nodeId}`
      : enrollment.exitReason === 'goal'
        ? `exits at goal ${enrollment.goalId}`
        : enrollment.exitReason === 'holdout'
          ? 'exits in the holdout group'
          : 'completes the journey';
  return { enters: true, reason: outcome, path };
}
