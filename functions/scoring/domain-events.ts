// The scoring and lifecycle domain events (catalogue entries): score and stage changes, the MQL hand-off to sales,
// and won revenue attributed back to the touches that brought the lead.
import * as z from 'zod';
import { LEAD_STAGES } from '../journeys/definition.ts';
import { defineDomainEvent } from '../shared/events.ts';
import type { WonDeal } from './deals.ts';
import { type ScoreExplanation, type Scores, scoreExplanationSchema } from './score.ts';

const SOURCE = 'nurture.scoring';

const scoresSchema = z.object({ behaviour: z.number(), fit: z.number(), combined: z.number() });

/** The session of a tracked event: channel, campaign, landing page and device of the session's first event. */
export const stageSessionSchema = z.object({
  channel: z.string(),
  campaign: z.string().nullable(),
  landingPage: z.string().nullable(),
  device: z.enum(['desktop', 'mobile', 'tablet']).nullable(),
});
export type StageSession = z.infer<typeof stageSessionSchema>;

export const leadStageChanged = defineDomainEvent({
  detailType: 'lead.stage_changed',
  source: SOURCE,
  detail: z.object({
    dedupeKey: z.string(),
    profileId: z.string(),
    from: z.enum(LEAD_STAGES).nullable(),
    to: z.enum(LEAD_STAGES),
    at: z.string(),
    reason: z.string(),
    by: z.string(),
    trigger: z.enum(['threshold', 'event', 'manual']),
    /**
     * The session in which the stage changed, when a tracked event (which carries its session) moved it; absent for
     * manual moves, sales decisions, domain events and recomputes (KPIs then count the move under `(unknown)`).
     */
    session: stageSessionSchema.nullable().optional(),
  }),
});

export const leadScoreChanged = defineDomainEvent({
  detailType: 'lead.score_changed',
  source: SOURCE,
  detail: z.object({
    dedupeKey: z.string(),
    profileId: z.string(),
    /** The configured score names, so consumers can write `score_<name>` without reading the rules. */
    names: z.object({ behaviour: z.string(), fit: z.string(), combined: z.string() }),
    previous: scoresSchema,
    scores: scoresSchema,
    rulesVersion: z.int(),
    at: z.string(),
  }),
});

/** A session's touch; `landingPage` and `device` are absent from events published before they were added. */
const touchSchema = z.object({
  channel: z.string(),
  campaign: z.string().nullable(),
  landingPage: z.string().nullable().optional(),
  device: z.enum(['desktop', 'mobile', 'tablet']).nullable().optional(),
});

/** What sales needs to call someone back: who, where they came from, and why they qualified. */
export const profileSummarySchema = z.object({
  profileId: z.string(),
  userId: z.string().nullable(),
  email: z.string().nullable(),
  name: z.string().nullable(),
  company: z.string().nullable(),
  title: z.string().nullable(),
  firstTouch: touchSchema.nullable(),
  lastTouch: touchSchema.nullable(),
});
export type ProfileSummary = z.infer<typeof profileSummarySchema>;

/** The MQL hand-off: sent once per qualification (its dedupe key is the stage change's). */
export const leadQualified = defineDomainEvent({
  detailType: 'lead.qualified',
  source: SOURCE,
  detail: z.object({
    dedupeKey: z.string(),
    profileId: z.string(),
    at: z.string(),
    profile: profileSummarySchema,
    explanation: scoreExplanationSchema,
  }),
});

/** The closed loop: a won deal's revenue, credited to the channel and campaign of the lead's first and last touch. */
export const leadRevenueAttributed = defineDomainEvent({
  detailType: 'lead.revenue_attributed',
  source: SOURCE,
  detail: z.object({
    dedupeKey: z.string(),
    profileId: z.string(),
    dealId: z.string(),
    revenue: z.number(),
    currency: z.string(),
    at: z.string(),
    firstTouch: touchSchema.nullable(),
    lastTouch: touchSchema.nullable(),
  }),
});

/**
 * A page of profiles to rescore under a newly published rules version (docs/scoring.md "Changing rules"). The score
 * function handles one page and requests the next. Not in SCORING_EVENTS: it is scoring's own work item, which
 * journeys have no use for; a rule of its own brings it to the scoring queue.
 */
export const scoringRecomputeRequested = defineDomainEvent({
  detailType: 'scoring.recompute_requested',
  source: SOURCE,
  detail: z.object({
    dedupeKey: z.string(),
    /** The rules version to rescore with; a page stops once a newer version was published. */
    version: z.int().positive(),
    segment: z.int().min(0),
    totalSegments: z.int().positive(),
    /** Where the previous page of this segment ended; null for the first page. */
    cursor: z.string().nullable(),
  }),
});

export const SCORING_EVENTS = [
  leadStageChanged,
  leadScoreChanged,
  leadQualified,
  leadRevenueAttributed,
] as const;

export interface LeadStageChanged {
  readonly source: typeof SOURCE;
  readonly detailType: 'lead.stage_changed';
  readonly detail: z.infer<typeof leadStageChanged.detail>;
}

export interface LeadScoreChanged {
  readonly source: typeof SOURCE;
  readonly detailType: 'lead.score_changed';
  readonly detail: z.infer<typeof leadScoreChanged.detail>;
}

export interface LeadQualified {
  readonly source: typeof SOURCE;
  readonly detailType: 'lead.qualified';
  readonly detail: z.infer<typeof leadQualified.detail>;
}

export interface LeadRevenueAttributed {
  readonly source: typeof SOURCE;
  readonly detailType: 'lead.revenue_attributed';
  readonly detail: z.infer<typeof leadRevenueAttributed.detail>;
}

/**
 * `lead.score_changed` when any score differs, else null. Keyed by the cause (the event or recompute that changed
 * it), so a retried cause publishes the same event, which consumers drop.
 */
export function scoreChangedEvent({
  profileId,
  previous,
  explanation,
  cause,
}: {
  profileId: string;
  previous: Scores;
  /** Explains the new scores; carries their names, values, time and rules version. */
  explanation: ScoreExplanation;
  cause: string;
}): LeadScoreChanged | null {
  const { scores } = explanation;
  if (
    previous.behaviour === scores.behaviour &&
    previous.fit === scores.fit &&
    previous.combined === scores.combined
  )
    return null;
  return {
    source: SOURCE,
    detailType: 'lead.score_changed',
    detail: {
      dedupeKey: `${profileId}:score:${cause}`,
      profileId,
      names: explanation.names,
      previous,
      scores,
      rulesVersion: explanation.rulesVersion,
      at: explanation.at,
    },
  };
}

/**
 * `lead.qualified` for a stage change into MQL, else null. Keyed by the stage change, so a profile that is recycled
 * and qualifies again is handed off again, but a retry is not.
 */
export function qualifiedEventFor({
  change,
  profile,
  explanation,
}: {
  change: LeadStageChanged;
  profile: ProfileSummary;
  explanation: ScoreExplanation;
}): LeadQualified | null {
  if (change.detail.to !== 'mql') return null;
  return {
    source: SOURCE,
    detailType: 'lead.qualified',
    detail: {
      dedupeKey: `${change.detail.dedupeKey}:qualified`,
      profileId: change.detail.profileId,
      at: change.detail.at,
      profile,
      explanation,
    },
  };
}

/** `lead.revenue_attributed` for a won deal, keyed by the deal so a deal is credited once however often it is won. */
export function revenueAttributedEvent({
  profileId,
  deal,
  profile,
  session,
}: {
  profileId: string;
  deal: WonDeal;
  /** Where the touches come from. */
  profile: Pick<ProfileSummary, 'firstTouch' | 'lastTouch'>;
  /**
   * The session the `deal.won` event belongs to (last touch, KPIS.md), when known: it is exact, while the profile's
   * last touch may already be a later visit by the time the deal is processed.
   */
  session?: StageSession;
}): LeadRevenueAttributed {
  return {
    source: SOURCE,
    detailType: 'lead.revenue_attributed',
    detail: {
      dedupeKey: `deal:${profileId}:${deal.dealId}`,
      profileId,
      dealId: deal.dealId,
      revenue: deal.revenue,
      currency: deal.currency,
      at: deal.at,
      firstTouch: profile.firstTouch,
      lastTouch: session ?? profile.lastTouch,
    },
  };
}
