// The lead service: scores events and traits, moves lifecycle stages, commits with retry and announces the changes.
import type { LeadStage } from '../journeys/definition.ts';
import type { IncomingEvent } from '../journeys/model.ts';
import type { JsonObject } from '../tracking/model.ts';
import { isDealWon, type WonDealReading, wonDealFrom } from './deals.ts';
import {
  type ProfileSummary,
  qualifiedEventFor,
  revenueAttributedEvent,
  type StageSession,
  scoreChangedEvent,
  stageSessionSchema,
} from './domain-events.ts';
import { parseScoringRules, type ScoringRules, type Threshold } from './rules.ts';
import {
  applyEvent,
  applyTraits,
  emptyScoreState,
  explain,
  namedScores,
  recompute,
  type ScoreExplanation,
  type ScoreState,
  type Scores,
  scoresAt,
} from './score.ts';
import {
  type LeadLifecycle,
  leadSignalFor,
  type StageInput,
  type StageTransition,
  transition,
} from './stages.ts';
import {
  LeadConflictError,
  type LeadRecord,
  MAX_ATTRIBUTED_DEALS,
  type ScoringEvent,
  type ScoringStore,
} from './store.ts';

/** Smaller moves (decay, a fraction of a point) are not announced; the next larger one carries them. */
const ANNOUNCE_AT_POINTS = 1;
const DEFAULT_MAX_ATTEMPTS = 5;
/** Who moved a stage when scoring did (thresholds, form submits) or adopted a journey's move. */
const SCORING_ACTOR = 'nurture.scoring';
const JOURNEY_ACTOR = 'nurture.journeys';

export interface ScoringPublisher {
  publish(events: readonly ScoringEvent[]): Promise<void>;
}

/** Who a profile is and where it came from: for the MQL hand-off to sales and for revenue attribution. */
export interface ProfileSummaries {
  summary(profileId: string): Promise<ProfileSummary>;
}

export interface LeadServiceDeps {
  readonly store: ScoringStore;
  readonly publisher: ScoringPublisher;
  readonly profiles: ProfileSummaries;
  readonly now: () => Date;
  /** Attempts at a commit while other writers change the same profile. */
  readonly maxAttempts?: number;
}

export interface LeadOutcome {
  readonly profileId: string;
  readonly changed: boolean;
  readonly scores: Scores;
  readonly stage: LeadStage | null;
  /** What this call published, including events an earlier call committed but could not publish. */
  readonly events: readonly ScoringEvent[];
  /** For a `deal.won` event only: whether its revenue was attributed, and why not. */
  readonly attribution?: RevenueAttribution;
}

export type RevenueAttribution =
  | { readonly attributed: true; readonly dealId: string }
  | { readonly attributed: false; readonly reason: string };

export type SalesDecision = 'accept' | 'reject' | 'convert';

export interface LeadExplanation {
  readonly profileId: string;
  readonly stage: LeadStage | null;
  readonly history: readonly StageTransition[];
  readonly explanation: ScoreExplanation;
  /** Points journeys added with `addScore`, on top of the rules' scores, by score name. */
  readonly journeyAdjustments: Readonly<Record<string, number>>;
}

interface Change {
  readonly ledger: ScoreState;
  readonly lifecycle: LeadLifecycle;
  /** The stage inputs to apply after the ledger change, in order. */
  readonly inputs: readonly StageInput[];
  /** A `deal.won` event's deal, attributed unless the profile's deals already include it. */
  readonly won?: WonDealReading;
}

/** Rules in force when none were published yet: no points, but form submits still make leads. */
const DEFAULT_RULES = parseScoringRules({});

const round = (value: number) => Math.round(value * 100) / 100 || 0;

/** A fit rule that held before the recompute and still holds with the same points has held since then. */
function keepFitSince(state: ScoreState, before: ScoreState): ScoreState {
  const since = new Map(before.fit.map((award) => [`${award.ruleId}\u0000${award.points}`, award.since]));
  return {
    ...state,
    fit: state.fit.map((award) => {
      const held = since.get(`${award.ruleId}\u0000${award.points}`);
      return held === undefined ? award : { ...award, since: held };
    }),
  };
}

function announceable(previous: Scores | null, current: Scores): boolean {
  const before = previous ?? { behaviour: 0, fit: 0, combined: 0 };
  return (['behaviour', 'fit', 'combined'] as const).some(
    (kind) => Math.abs(current[kind] - before[kind]) >= ANNOUNCE_AT_POINTS,
  );
}

export class LeadService {
  private readonly deps: LeadServiceDeps;

  constructor(deps: LeadServiceDeps) {
    this.deps = deps;
  }

  /** Scores a tracked or domain event (and the profile's current traits, for fit) and moves stages it triggers. */
  async onEvent(input: {
    readonly profileId: string;
    readonly event: IncomingEvent;
    readonly traits?: JsonObject;
  }): Promise<LeadOutcome> {
    const { profileId, event, traits } = input;
    // A tracked event carries its session: a stage it moves is credited to that session's channel (KPIs).
    const tracked = event['detail-type'] === 'event.tracked';
    const session = tracked ? stageSessionSchema.safeParse(event.detail.session) : undefined;
    // A stage the event moves is stamped with the event's own (corrected) time, so it counts on that day.
    const eventTime =
      tracked && typeof event.detail.eventTime === 'string' ? event.detail.eventTime : event.time;
    return this.change({
      profileId,
      cause: event.dedupeKey,
      occurredAt: new Date(eventTime),
      ...(session?.success ? { session: session.data } : {}),
      apply: ({ record, rules, now }) => {
        let ledger = applyEvent({ state: record.ledger, event, rules, now }).state;
        if (traits !== undefined) ledger = applyTraits({ state: ledger, traits, rules, now }).state;
        const signal = leadSignalFor(event, rules);
        const inputs: StageInput[] = [];
        if (signal !== null) inputs.push({ kind: 'event', signal, key: event.dedupeKey, by: SCORING_ACTOR });
        return {
          ledger,
          lifecycle: record.lifecycle,
          inputs,
          ...(isDealWon(event) ? { won: wonDealFrom(event) } : {}),
        };
      },
      thresholdKey: `${event.dedupeKey}:scores`,
    });
  }

  /** A person moves the stage, backward included. Idempotent by `key` when given. */
  async setStage(input: {
    readonly profileId: string;
    readonly stage: LeadStage;
    readonly reason: string;
    readonly by: string;
    readonly key?: string;
  }): Promise<LeadOutcome> {
    const { profileId, stage, reason, by, key } = input;
    return this.change({
      profileId,
      cause: key ?? `manual:${stage}`,
      apply: ({ record }) => ({
        ledger: record.ledger,
        lifecycle: record.lifecycle,
        inputs: [{ kind: 'manual', to: stage, reason, actor: by, ...(key === undefined ? {} : { key }) }],
      }),
      thresholdKey: null,
    });
  }

  /** Sales' answer to a hand-off: accept → SAL, reject → recycled (or disqualified), convert → opportunity. */
  async salesDecision(input: {
    readonly profileId: string;
    readonly decision: SalesDecision;
    readonly reason: string;
    readonly by?: string;
    readonly outcome?: 'recycle' | 'disqualify';
    readonly key?: string;
  }): Promise<LeadOutcome> {
    const { profileId, decision, reason } = input;
    const by = input.by ?? 'sales';
    const signal =
      decision === 'accept'
        ? ({ name: 'sales.accepted' } as const)
        : decision === 'convert'
          ? ({ name: 'sales.converted' } as const)
          : ({ name: 'sales.rejected', reason, outcome: input.outcome ?? 'recycle' } as const);
    return this.change({
      profileId,
      cause: input.key ?? `sales:${decision}`,
      apply: ({ record, now }) => ({
        ledger: record.ledger,
        lifecycle: record.lifecycle,
        // Without a key a repeated decision is still harmless: a stage already reached is not entered again.
        inputs: [{ kind: 'event', signal, key: input.key ?? `sales:${decision}:${now.toISOString()}`, by }],
      }),
      thresholdKey: null,
    });
  }

  /**
   * Rebuilds the ledger under the latest rules (after a rules change) from the profile's events and traits. Fit rules
   * that held before keep their `since`, so recomputing twice writes nothing the second time. With the thresholds in
   * force before (`previousThresholds`), a threshold the profile now meets but did not meet before moves it
   * (reason `rules-changed: …`); without them only a score that crosses a bar does, as for any change.
   */
  async recomputeProfile(input: {
    readonly profileId: string;
    readonly events: readonly IncomingEvent[];
    readonly traits: JsonObject;
    readonly previousThresholds?: readonly Threshold[];
  }): Promise<LeadOutcome> {
    const { profileId, events, traits, previousThresholds } = input;
    const rules = await this.latestRules();
    return this.change({
      profileId,
      rules,
      cause: `recompute:v${rules.version}`,
      apply: ({ record, rules, now }) => ({
        ledger: keepFitSince(recompute({ events, traits, rules, now }), record.ledger),
        lifecycle: record.lifecycle,
        inputs: [],
      }),
      thresholdKey: `recompute:v${rules.version}`,
      ...(previousThresholds === undefined ? {} : { rulesChanged: { previousThresholds } }),
    });
  }

  /** Scores, where they come from, the stage and its history. */
  async explain(profileId: string): Promise<LeadExplanation> {
    const [record, rules] = await Promise.all([this.deps.store.getLead(profileId), this.latestRules()]);
    const journeyAdjustments: Record<string, number> = {};
    for (const [name, value] of Object.entries(record.flat.scores)) {
      const adjustment = round(value - (record.scored[name] ?? 0));
      if (adjustment !== 0) journeyAdjustments[name] = adjustment;
    }
    return {
      profileId,
      stage: record.lifecycle.stage,
      history: record.lifecycle.history,
      explanation: explain({ state: record.ledger, rules, now: this.deps.now() }),
      journeyAdjustments,
    };
  }

  private async latestRules(): Promise<ScoringRules> {
    return (await this.deps.store.getRules('latest'))?.rules ?? DEFAULT_RULES;
  }

  /**
   * Read, apply, commit; again from a fresh read when another writer got there first. Events are committed with
   * the state (the outbox) and published after, so a crash between the two publishes them on the next call.
   */
  private async change(input: {
    profileId: string;
    /** The rules to score with; the latest when not given. */
    rules?: ScoringRules;
    /** Names the cause in `lead.score_changed`'s dedupe key. */
    cause: string;
    apply: (context: { record: LeadRecord; rules: ScoringRules; now: Date }) => Change;
    /** Key of the threshold check after the change; null when the change cannot move scores. */
    thresholdKey: string | null;
    /** A recompute after a rules change: thresholds are judged against the old ones (see `transition`). */
    rulesChanged?: { readonly previousThresholds: readonly Threshold[] };
    /** The session of the tracked event behind the change, put on its stage changes. */
    session?: StageSession;
    /** When the event behind the change happened; stage moves are stamped with it (see `transition`). */
    occurredAt?: Date;
  }): Promise<LeadOutcome> {
    const { profileId } = input;
    const rules = input.rules ?? (await this.latestRules());
    const maxAttempts = this.deps.maxAttempts ?? DEFAULT_MAX_ATTEMPTS;
    for (let attempt = 1; ; attempt += 1) {
      const read = await this.deps.store.getLead(profileId);
      const now = this.deps.now();
      const record = read.version === 0 ? { ...read, ledger: emptyScoreState(rules.version) } : read;
      const change = input.apply({ record, rules, now });
      const previous = scoresAt({ state: read.ledger, rules, now });
      const current = scoresAt({ state: change.ledger, rules, now });

      let lifecycle = change.lifecycle;
      const stageEvents: ScoringEvent[] = [];
      const step = (stageInput: StageInput) => {
        const result = transition({
          state: lifecycle,
          input: stageInput,
          now,
          ...(input.occurredAt === undefined ? {} : { occurredAt: input.occurredAt }),
        });
        lifecycle = result.state;
        const { session } = input;
        stageEvents.push(
          ...result.events.map((event) =>
            session !== undefined && event.detailType === 'lead.stage_changed'
              ? { ...event, detail: { ...event.detail, session } }
              : event,
          ),
        );
      };
      // A journey's `setStage` wrote the flat stage directly: adopt it so the history tells the whole story.
      if (read.flat.stage !== null && read.flat.stage !== lifecycle.stage)
        step({
          kind: 'manual',
          to: read.flat.stage,
          reason: 'set by a journey',
          actor: JOURNEY_ACTOR,
          key: `journey:${read.flat.stageKey ?? read.flat.stage}`,
        });
      for (const stageInput of change.inputs) step(stageInput);
      if (input.thresholdKey !== null)
        step({
          kind: 'scores',
          previous,
          current,
          thresholds: rules.thresholds,
          key: input.thresholdKey,
          ...(input.rulesChanged === undefined ? {} : { rulesChanged: input.rulesChanged }),
        });

      const deal = change.won?.deal ?? null;
      const attributing = deal !== null && !record.attributedDeals.includes(deal.dealId) ? deal : null;
      const attribution: { attribution?: RevenueAttribution } =
        change.won === undefined
          ? {}
          : {
              attribution:
                change.won.deal === null
                  ? { attributed: false, reason: change.won.reason }
                  : attributing === null
                    ? { attributed: false, reason: `deal ${change.won.deal.dealId} was already attributed` }
                    : { attributed: true, dealId: change.won.deal.dealId },
            };

      const ledgerChanged = JSON.stringify(change.ledger) !== JSON.stringify(record.ledger);
      if (!ledgerChanged && stageEvents.length === 0 && attributing === null) {
        await this.publishLeftovers(read);
        return {
          profileId,
          changed: false,
          scores: current,
          stage: lifecycle.stage,
          events: read.outbox,
          ...attribution,
        };
      }

      const explanation = explain({ state: change.ledger, rules, now });
      const events: ScoringEvent[] = [];
      let announced = read.announced;
      // Only a change of the ledger is announced: drift by decay alone goes out with the next change.
      if (ledgerChanged && announceable(announced, current)) {
        const scoreEvent = scoreChangedEvent({
          profileId,
          previous: announced ?? { behaviour: 0, fit: 0, combined: 0 },
          explanation,
          cause: input.cause,
        });
        if (scoreEvent !== null) events.push(scoreEvent);
        announced = current;
      }
      for (const stageEvent of stageEvents) {
        events.push(stageEvent);
        if (stageEvent.detailType !== 'lead.stage_changed' || stageEvent.detail.to !== 'mql') continue;
        const qualified = qualifiedEventFor({
          change: stageEvent,
          profile: await this.deps.profiles.summary(profileId),
          explanation,
        });
        if (qualified !== null) events.push(qualified);
      }
      let attributedDeals = record.attributedDeals;
      if (attributing !== null) {
        const profile = await this.deps.profiles.summary(profileId);
        events.push(
          revenueAttributedEvent({
            profileId,
            deal: attributing,
            profile,
            ...(input.session === undefined ? {} : { session: input.session }),
          }),
        );
        attributedDeals = [...attributedDeals, attributing.dealId].slice(-MAX_ATTRIBUTED_DEALS);
      }

      const outbox = [...read.outbox, ...events];
      let version: number;
      try {
        version = await this.deps.store.commitLead({
          profileId,
          read,
          state: { ledger: change.ledger, lifecycle, announced, attributedDeals },
          scores: namedScores(current, rules),
          outbox,
        });
      } catch (error) {
        if (error instanceof LeadConflictError && attempt < maxAttempts) continue;
        throw error;
      }
      await this.deps.publisher.publish(outbox);
      await this.deps.store.clearOutbox({ profileId, version });
      return {
        profileId,
        changed: true,
        scores: current,
        stage: lifecycle.stage,
        events: outbox,
        ...attribution,
      };
    }
  }

  private async publishLeftovers(record: LeadRecord): Promise<void> {
    if (record.outbox.length === 0) return;
    await this.deps.publisher.publish(record.outbox);
    await this.deps.store.clearOutbox({ profileId: record.profileId, version: record.version });
  }
}
