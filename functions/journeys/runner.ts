// Runs journeys for one domain event or timer: finds the enrollments it concerns, steps them, commits, then acts.

import {
  type BackfillPublisher,
  type BackfillRequest,
  nextRequest,
  type ProfileScanner,
} from './backfill.ts';
import { type JourneyCatalog, type LiveJourney, readsEvents } from './catalog.ts';
import type { JourneyDefinition, Trigger } from './definition.ts';
import { journeyBackfillRequested } from './domain-events.ts';
import { enter, type JourneyContext, react, resume, type StepResult } from './engine.ts';
import { dateTriggerState, matchesEvent } from './matching.ts';
import { planMerge } from './merge.ts';
import type { Effect, Enrollment, IncomingEvent, JourneyVersion, ProfileFacts, Timer } from './model.ts';
import {
  armSchedules,
  continuationTimer,
  decideScheduleFiring,
  firingKey,
  nextScheduleTimer,
  parseScheduleTimerId,
  type ScheduleFiring,
} from './schedule-trigger.ts';
import { EnrollmentConflictError, type JourneyStore } from './store.ts';

export interface FactsLoader {
  /** undefined when the profile does not exist (never did, or was erased). */
  load(profileId: string, options: { events: boolean }): Promise<ProfileFacts | undefined>;
}

export interface EffectRunner {
  /** Runs a committed step's effects; each is idempotent by its key, so running them twice is harmless. */
  run(enrollment: Enrollment, effects: readonly Effect[]): Promise<void>;
}

export interface SegmentMemberPage {
  readonly profileIds: readonly string[];
  /** More members may follow the last one of this page. */
  readonly more: boolean;
}

export interface SegmentMembers {
  /** Members of a segment in profile id order, after `after` (exclusive), at most `limit`. */
  page(input: { segmentId: string; after?: string; limit: number }): Promise<SegmentMemberPage>;
}

export interface JourneyRunnerDependencies {
  readonly store: JourneyStore;
  readonly catalog: JourneyCatalog;
  readonly facts: FactsLoader;
  readonly effects: EffectRunner;
  /** Who a schedule trigger enters; without it a firing enters nobody (and the schedule keeps its cadence). */
  readonly members?: SegmentMembers;
  /**
   * Members one schedule timer enters before it hands the rest to a continuation timer, so one invocation stays
   * well inside its time limit. @default 2000
   */
  readonly scheduleBatchLimit?: number;
  /** Existing profiles for date-trigger backfills; without it a backfill request does nothing. */
  readonly scanner?: ProfileScanner;
  readonly backfills?: BackfillPublisher;
  readonly now?: () => Date;
  readonly log?: (message: string, fields: Record<string, unknown>) => void;
}

const NOTHING: StepResult = {
  enrollment: undefined,
  changed: false,
  effects: [],
  setTimers: [],
  deleteTimers: [],
  counters: [],
  scores: [],
  trace: [],
};

/** Optimistic writes retried this often before the input goes back to the queue. */
const COMMIT_ATTEMPTS = 5;
/** Members of a segment entered side by side: each is its own profile, so they never conflict. */
const MEMBER_CONCURRENCY = 10;

/** Tracked identifies and identity changes can change a date trait, so they re-check date triggers. */
function mayChangeTraits(event: IncomingEvent): boolean {
  if (event['detail-type'] === 'profile.identified') return true;
  return event['detail-type'] === 'event.tracked' && event.detail.type === 'identify';
}

function triggeredBy(trigger: Trigger, event: IncomingEvent): boolean {
  switch (trigger.type) {
    case 'event':
      return matchesEvent(trigger.match, event);
    case 'segment':
      return event['detail-type'] === 'segment.entered' && event.detail.segmentId === trigger.segment;
    default:
      return false;
  }
}

function dateTriggers(definition: JourneyDefinition) {
  return definition.triggers.filter((t): t is Extract<Trigger, { type: 'date' }> => t.type === 'date');
}

export function entryTimerId(input: { journeyId: string; profileId: string; moment: Date }): string {
  return `e:${input.journeyId}:${input.profileId}:${input.moment.toISOString()}`;
}

export class JourneyRunner {
  private readonly now: () => Date;

  constructor(private readonly deps: JourneyRunnerDependencies) {
    this.now = deps.now ?? (() => new Date());
  }

  /** A domain event about a profile: goals and waits of its enrollments first, then journeys it enters. */
  async onEvent(event: IncomingEvent): Promise<void> {
    if (event['detail-type'] === 'profile.merged') return this.onMerge(event);
    if (event['detail-type'] === 'journey.backfill_requested') {
      const request = journeyBackfillRequested.detail.safeParse(event.detail);
      if (request.success) return this.onBackfill(request.data);
      this.log('malformed backfill request', { dedupeKey: event.dedupeKey });
      return;
    }
    const profileId = event.detail.profileId;
    if (typeof profileId !== 'string' || profileId === '') return;
    const live = await this.deps.catalog.live();
    if (live.length === 0) return;
    const enrollments = await this.deps.store.listEnrollments(profileId);
    const active = enrollments.filter((e) => e.status === 'active');
    const triggered = live.filter(
      (j) => j.head.status === 'active' && j.latest.definition.triggers.some((t) => triggeredBy(t, event)),
    );
    const dated = mayChangeTraits(event)
      ? live.filter((j) => j.head.status === 'active' && dateTriggers(j.latest.definition).length > 0)
      : [];
    if (active.length === 0 && triggered.length === 0 && dated.length === 0) return;

    const versions = new Map<string, JourneyVersion>();
    for (const enrollment of active) {
      const version = await this.deps.catalog.version(enrollment.journeyId, enrollment.journeyVersion);
      if (version) versions.set(enrollment.journeyId, version);
      else
        this.log('enrollment of an unknown journey version', { profileId, journeyId: enrollment.journeyId });
    }
    const involved = [...versions.values(), ...triggered.map((j) => j.latest), ...dated.map((j) => j.latest)];
    const facts = await this.deps.facts.load(profileId, {
      events: involved.some((v) => readsEvents(v.definition)),
    });
    if (!facts) return;

    for (const enrollment of active) {
      const version = versions.get(enrollment.journeyId);
      if (!version) continue;
      await this.step(
        {
          version,
          profileId,
          facts,
          key: event.dedupeKey,
          run: (ctx, current) => (current ? react(ctx, current, event) : NOTHING),
        },
        enrollment,
      );
    }
    for (const journey of triggered) {
      await this.step({
        version: journey.latest,
        profileId,
        facts,
        key: event.dedupeKey,
        run: (ctx, current) => enter(ctx, current, event.dedupeKey),
      });
    }
    for (const journey of dated) await this.checkDateTriggers(journey, facts);
  }

  /**
   * One page of a date-trigger backfill: every profile on it gets the entry timer (or enters) as an identify would
   * have arranged, then the next page is requested. Entry timers and entry keys are deterministic, so a repeated page
   * or a profile that identifies meanwhile changes nothing twice.
   */
  private async onBackfill(request: BackfillRequest): Promise<void> {
    const { scanner, backfills } = this.deps;
    if (!scanner || !backfills) return;
    const journey = (await this.deps.catalog.live()).find((j) => j.head.journeyId === request.journeyId);
    // A newer version started its own backfill; a paused journey takes no entries.
    if (journey?.latest.version !== request.version || journey.head.status !== 'active') return;
    const page = await scanner.page(request);
    const events = readsEvents(journey.latest.definition);
    for (let i = 0; i < page.profileIds.length; i += MEMBER_CONCURRENCY) {
      await Promise.all(
        page.profileIds.slice(i, i + MEMBER_CONCURRENCY).map(async (profileId) => {
          const facts = await this.deps.facts.load(profileId, { events });
          if (facts) await this.checkDateTriggers(journey, facts);
        }),
      );
    }
    if (page.cursor !== null) await backfills.publish([nextRequest({ ...request, cursor: page.cursor })]);
  }

  /** Moves the active runs of a merged-away profile to the surviving one (see merge.ts). */
  private async onMerge(event: IncomingEvent): Promise<void> {
    const { fromProfileId, intoProfileId } = event.detail;
    if (
      typeof fromProfileId !== 'string' ||
      typeof intoProfileId !== 'string' ||
      fromProfileId === intoProfileId
    )
      return;
    const runs = (await this.deps.store.listEnrollments(fromProfileId)).filter((e) => e.status === 'active');
    for (const run of runs) {
      let from: Enrollment | undefined = run;
      for (let attempt = 1; from; attempt += 1) {
        const into = await this.deps.store.getEnrollment(intoProfileId, from.journeyId);
        const plan = planMerge({ from, into, intoProfileId, key: event.dedupeKey, now: this.now() });
        if (!plan) break;
        try {
          // Survivor first: a crash between the two commits leaves a run on both, and the replay ends the old one.
          if (plan.moved) await this.deps.store.commit({ ...plan.moved, scores: [] });
          await this.deps.store.commit({ ...plan.ended, scores: [] });
          break;
        } catch (error) {
          if (!(error instanceof EnrollmentConflictError) || attempt >= COMMIT_ATTEMPTS) throw error;
          from = await this.deps.store.getEnrollment(fromProfileId, run.journeyId);
        }
      }
    }
  }

  /**
   * A due timer: resumes a waiting enrollment, enters a profile whose date trigger's moment came, or enters the
   * members of a schedule trigger's segment.
   */
  async onTimer(timer: Timer): Promise<void> {
    if (timer.kind === 'step') {
      const enrollment = await this.deps.store.getEnrollment(timer.profileId, timer.journeyId);
      if (enrollment?.status !== 'active' || enrollment.waiting?.timerId !== timer.timerId) return;
      const version = await this.deps.catalog.version(enrollment.journeyId, enrollment.journeyVersion);
      if (!version)
        throw new Error(`journey ${timer.journeyId} version ${enrollment.journeyVersion} is missing`);
      const facts = await this.deps.facts.load(timer.profileId, { events: readsEvents(version.definition) });
      if (!facts) return;
      await this.step(
        {
          version,
          profileId: timer.profileId,
          facts,
          key: timer.timerId,
          run: (ctx, current) => (current ? resume(ctx, current, timer) : NOTHING),
        },
        enrollment,
      );
      return;
    }
    if (timer.kind === 'entry') {
      const journey = (await this.deps.catalog.live()).find((j) => j.head.journeyId === timer.journeyId);
      if (journey?.head.status !== 'active') return;
      const facts = await this.deps.facts.load(timer.profileId, {
        events: readsEvents(journey.latest.definition),
      });
      if (!facts) return;
      await this.checkDateTriggers(journey, facts);
      return;
    }
    await this.fireSchedule(timer);
  }

  /** Puts the next firing of each schedule trigger of a version (idempotent: arming twice writes the same timers). */
  async armSchedules(version: JourneyVersion): Promise<Timer[]> {
    return armSchedules({ store: this.deps.store, version, now: this.now() });
  }

  /**
   * Enters one profile through the normal entry path (entry condition, re-entry rules, processed keys); `key` is the
   * input's idempotency key, so entering again with it changes nothing.
   */
  async enterProfile(journey: LiveJourney, profileId: string, key: string): Promise<void> {
    const facts = await this.deps.facts.load(profileId, { events: readsEvents(journey.latest.definition) });
    if (!facts) return;
    await this.step({
      version: journey.latest,
      profileId,
      facts,
      key,
      run: (ctx, current) => enter(ctx, current, key),
    });
  }

  /**
   * A schedule trigger fired: enters the segment's members (a bounded batch per invocation, continued by another
   * timer), then arms the next firing. Timers of an older version or a removed trigger end their cadence here.
   */
  private async fireSchedule(timer: Timer): Promise<void> {
    const fields = { journeyId: timer.journeyId, timerId: timer.timerId };
    const firing = parseScheduleTimerId(timer.timerId);
    if (!firing || firing.journeyId !== timer.journeyId) {
      this.log('schedule timer with an unreadable id dropped', fields);
      return;
    }
    // The head is read from the table, not the catalog's cache, so a version published a moment ago is seen.
    const head = await this.deps.store.getHead(firing.journeyId);
    const latest = head ? await this.deps.catalog.version(head.journeyId, head.latestVersion) : undefined;
    const decision = decideScheduleFiring({ firing, head, latest });
    if (decision.action === 'drop') {
      this.log('schedule timer dropped', { ...fields, reason: decision.reason });
      return;
    }
    if (!head || !latest) return;
    if (decision.action === 'rearm') {
      await this.armNextFire(latest, firing);
      return;
    }
    const members = this.deps.members;
    if (!members) {
      this.log('schedule fired without a segment member reader; nobody entered', fields);
      await this.armNextFire(latest, firing);
      return;
    }
    const bound = this.deps.scheduleBatchLimit ?? 2000;
    const journey: LiveJourney = { head, latest };
    const key = firingKey(firing);
    let after = firing.after;
    let handled = 0;
    for (;;) {
      const page = await members.page({
        segmentId: decision.trigger.segment,
        ...(after === undefined ? {} : { after }),
        limit: bound - handled,
      });
      for (let i = 0; i < page.profileIds.length; i += MEMBER_CONCURRENCY) {
        await Promise.all(
          page.profileIds
            .slice(i, i + MEMBER_CONCURRENCY)
            .map((profileId) => this.enterProfile(journey, profileId, key)),
        );
      }
      handled += page.profileIds.length;
      after = page.profileIds.at(-1) ?? after;
      if (!page.more || page.profileIds.length === 0) break;
      if (handled >= bound && after !== undefined) {
        await this.deps.store.putTimer(continuationTimer(firing, after));
        return;
      }
    }
    await this.armNextFire(latest, firing);
  }

  /** Next firing after this one (or after now, when firings were missed: they are not caught up in a burst). */
  private async armNextFire(version: JourneyVersion, firing: ScheduleFiring): Promise<void> {
    const fireAt = new Date(firing.fireAt);
    const now = this.now();
    const timer = nextScheduleTimer({
      version,
      triggerIndex: firing.triggerIndex,
      after: now > fireAt ? now : fireAt,
    });
    if (timer) await this.deps.store.putTimer(timer);
  }

  private async checkDateTriggers(journey: LiveJourney, facts: ProfileFacts): Promise<void> {
    const now = this.now();
    const journeyId = journey.head.journeyId;
    for (const trigger of dateTriggers(journey.latest.definition)) {
      const state = dateTriggerState({ trigger, traits: facts.traits, now });
      if (state.state === 'due') {
        const key = entryTimerId({ journeyId, profileId: facts.profileId, moment: state.moment });
        await this.step({
          version: journey.latest,
          profileId: facts.profileId,
          facts,
          key,
          run: (ctx, current) => enter(ctx, current, key),
        });
      } else if (state.state === 'future') {
        await this.deps.store.putTimer({
          timerId: entryTimerId({ journeyId, profileId: facts.profileId, moment: state.at }),
          dueAt: state.at.toISOString(),
          profileId: facts.profileId,
          journeyId,
          kind: 'entry',
        });
      }
    }
  }

  /**
   * Steps one enrollment: compute, commit if the stored version did not move (else re-read and compute again), then
   * run the effects. A replay of the last applied input runs that step's effects again, which finishes the work of
   * an attempt that crashed after its commit.
   */
  private async step(
    input: {
      version: JourneyVersion;
      profileId: string;
      facts: ProfileFacts;
      /** The input's idempotency key (event dedupe key, timer id). */
      key: string;
      run: (ctx: JourneyContext, current: Enrollment | undefined) => StepResult;
    },
    known?: Enrollment,
  ): Promise<void> {
    const { version, profileId, facts } = input;
    let current = known ?? (await this.deps.store.getEnrollment(profileId, version.journeyId));
    for (let attempt = 1; ; attempt += 1) {
      const head = await this.deps.catalog.head(version.journeyId);
      // A running enrollment finishes on its own version; a new one starts on the latest.
      const runVersion =
        current && current.status === 'active'
          ? ((await this.deps.catalog.version(current.journeyId, current.journeyVersion)) ?? version)
          : version;
      const ctx: JourneyContext = {
        journeyId: runVersion.journeyId,
        version: runVersion.version,
        definition: runVersion.definition,
        status: head?.status ?? 'active',
        facts,
        now: this.now(),
      };
      const result = input.run(ctx, current);
      if (!result.changed || !result.enrollment) {
        if (current && current.pendingEffects.length > 0 && current.processed.at(-1) === input.key) {
          await this.deps.effects.run(current, current.pendingEffects);
        }
        return;
      }
      try {
        await this.deps.store.commit({
          next: result.enrollment,
          expectedVersion: current?.version ?? 0,
          setTimers: result.setTimers,
          deleteTimers: result.deleteTimers,
          counters: result.counters,
          scores: result.scores,
        });
      } catch (error) {
        if (!(error instanceof EnrollmentConflictError) || attempt >= COMMIT_ATTEMPTS) throw error;
        current = await this.deps.store.getEnrollment(profileId, version.journeyId);
        continue;
      }
      if (result.effects.length > 0) await this.deps.effects.run(result.enrollment, result.effects);
      return;
    }
  }

  private log(message: string, fields: Record<string, unknown>): void {
    this.deps.log?.(message, fields);
  }
}
