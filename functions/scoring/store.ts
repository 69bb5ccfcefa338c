// Ports of the scoring store: versioned rules documents and each profile's lead state (score ledger and lifecycle).
import * as z from 'zod';
import type { LeadStage } from '../journeys/definition.ts';
import {
  type LeadQualified,
  type LeadRevenueAttributed,
  type LeadScoreChanged,
  type LeadStageChanged,
  leadQualified,
  leadRevenueAttributed,
  leadScoreChanged,
  leadStageChanged,
} from './domain-events.ts';
import type { ScoringRules, ScoringRulesInput } from './rules.ts';
import { type ScoreState, type Scores, scoreStateSchema } from './score.ts';
import { type LeadLifecycle, leadLifecycleSchema } from './stages.ts';

export type ScoringEvent = LeadStageChanged | LeadScoreChanged | LeadQualified | LeadRevenueAttributed;

/** Won deals remembered so a repeated `deal.won` is attributed once; older ones beyond this are forgotten. */
export const MAX_ATTRIBUTED_DEALS = 100;

const scoresSchema = z.object({ behaviour: z.number(), fit: z.number(), combined: z.number() });

/** Events committed with the state they describe and removed once published, so a failed publish is retried. */
export const scoringEventSchema = z.discriminatedUnion('detailType', [
  z.object({
    source: z.literal('nurture.scoring'),
    detailType: z.literal('lead.stage_changed'),
    detail: leadStageChanged.detail,
  }),
  z.object({
    source: z.literal('nurture.scoring'),
    detailType: z.literal('lead.score_changed'),
    detail: leadScoreChanged.detail,
  }),
  z.object({
    source: z.literal('nurture.scoring'),
    detailType: z.literal('lead.qualified'),
    detail: leadQualified.detail,
  }),
  z.object({
    source: z.literal('nurture.scoring'),
    detailType: z.literal('lead.revenue_attributed'),
    detail: leadRevenueAttributed.detail,
  }),
]);

export const leadStateSchema = z.object({
  ledger: scoreStateSchema,
  lifecycle: leadLifecycleSchema,
  /** The scores last published in `lead.score_changed`: the next one goes out only after a move of ≥ 1 point. */
  announced: scoresSchema.nullable(),
  /** Ids of the deals whose revenue was attributed, oldest first; absent on items written before the closed loop. */
  attributedDeals: z.array(z.string()).default([]),
});

/** What scoring keeps per profile, beside the flat attributes journeys read. */
export interface LeadState {
  readonly ledger: ScoreState;
  readonly lifecycle: LeadLifecycle;
  readonly announced: Scores | null;
  /** At most MAX_ATTRIBUTED_DEALS, oldest first. */
  readonly attributedDeals: readonly string[];
}

export interface LeadRecord extends LeadState {
  readonly profileId: string;
  /** Optimistic version of the scoring state; 0 when scoring never wrote it. */
  readonly version: number;
  /**
   * Flat attributes as read. `stage` and `stageKey` may have been set by a journey's `setStage` effect since
   * scoring last wrote; `scores` include points journeys' `addScore` effect ADDed.
   */
  readonly flat: {
    readonly stage: LeadStage | null;
    readonly stageKey: string | null;
    readonly scores: Readonly<Record<string, number>>;
  };
  /** The part of each flat `score_<name>` that scoring wrote; the rest is journey adjustments. */
  readonly scored: Readonly<Record<string, number>>;
  /** Events of a committed change that were not published yet. */
  readonly outbox: readonly ScoringEvent[];
}

export interface LeadCommit {
  readonly profileId: string;
  /** The record the change was computed from: its version and stageKey are the write's conditions. */
  readonly read: LeadRecord;
  readonly state: LeadState;
  /** Current scores under their configured names, written to `score_<name>` on top of journey adjustments. */
  readonly scores: Readonly<Record<string, number>>;
  readonly outbox: readonly ScoringEvent[];
}

export interface StoredRules {
  readonly version: number;
  readonly rules: ScoringRules;
  readonly createdAt: string;
}

export interface ScoringStore {
  /** Stores a rules document as the next version; its `version` becomes that number. */
  putRules(rules: ScoringRulesInput): Promise<StoredRules>;
  getRules(version: number | 'latest'): Promise<StoredRules | undefined>;
  /** The profile's lead state; an empty one (version 0) when scoring never wrote it. */
  getLead(profileId: string): Promise<LeadRecord>;
  /** Writes the state if nothing changed it since `read` (else LeadConflictError); returns the new version. */
  commitLead(commit: LeadCommit): Promise<number>;
  /** Forgets published events, unless the state moved on (its next commit carries them on). */
  clearOutbox(input: { readonly profileId: string; readonly version: number }): Promise<void>;
}

export class LeadConflictError extends Error {
  override readonly name = 'LeadConflictError';
}
