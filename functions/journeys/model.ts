// Journey runtime data: enrollments, the effects a step asks for, timers, and the profile facts conditions read.
import type { JsonObject, JsonValue } from '../tracking/model.ts';
import type { JourneyDefinition, LeadStage } from './definition.ts';

export const JOURNEY_STATUSES = ['active', 'paused'] as const;
export type JourneyStatus = (typeof JOURNEY_STATUSES)[number];

/** A stored, immutable version of a journey definition. */
export interface JourneyVersion {
  readonly journeyId: string;
  readonly version: number;
  readonly definition: JourneyDefinition;
  readonly createdAt: string;
}

/** The journey's mutable head: status and newest version. */
export interface JourneyHead {
  readonly journeyId: string;
  readonly status: JourneyStatus;
  readonly latestVersion: number;
  readonly createdAt: string;
  readonly updatedAt: string;
}

export const ENROLLMENT_STATUSES = ['active', 'completed', 'exited'] as const;
export type EnrollmentStatus = (typeof ENROLLMENT_STATUSES)[number];

/** `merged`: the profile was merged into another, which carries the run on. */
export const EXIT_REASONS = ['completed', 'goal', 'holdout', 'merged', 'erased'] as const;
export type ExitReason = (typeof EXIT_REASONS)[number];

export const WAIT_KINDS = ['wait', 'waitForEvent', 'quietHours', 'frequencyCap', 'paused'] as const;
export type WaitKind = (typeof WAIT_KINDS)[number];

/** What an active enrollment waits for. The timer id changes with every wait, so a stale timer is recognised. */
export interface Waiting {
  readonly kind: WaitKind;
  readonly nodeId: string;
  readonly until: string;
  readonly timerId: string;
}

export interface EnrollmentStep {
  readonly at: string;
  readonly nodeId: string;
  /** What happened there, e.g. `sent`, `waiting`, `then`, `variant:B`, `skipped:frequency-cap`, `goal:accepted`. */
  readonly outcome: string;
}

/**
 * One profile's enrollment in one journey. There is one per (profile, journey): a re-entry starts a new `run` in the
 * same item, so "at most one active enrollment per profile and journey" holds by construction.
 */
export interface Enrollment {
  readonly profileId: string;
  readonly journeyId: string;
  /** 1 for the first entry, +1 per re-entry. */
  readonly run: number;
  /** The definition version this run started on and finishes on. */
  readonly journeyVersion: number;
  readonly status: EnrollmentStatus;
  readonly exitReason: ExitReason | null;
  readonly goalId: string | null;
  /** The node the run is at (waiting there, or where it ended). */
  readonly nodeId: string;
  readonly waiting: Waiting | null;
  readonly variant: string | null;
  readonly enteredAt: string;
  readonly updatedAt: string;
  readonly exitedAt: string | null;
  /** Newest last, bounded. */
  readonly history: readonly EnrollmentStep[];
  /** Keys of triggers, events and timers already applied (newest last, bounded): a replay changes nothing. */
  readonly processed: readonly string[];
  /** When this journey's messages to the profile were sent (frequency caps), newest last, bounded. */
  readonly sends: readonly string[];
  /** Nodes executed in this run; with the run it makes each effect's idempotency key. */
  readonly steps: number;
  /**
   * The effects of the last committed step (an outbox in the item). The handler commits first and runs them after;
   * a retry of the same input finds its key in `processed` and runs these again, which is harmless because every
   * effect is idempotent.
   */
  readonly pendingEffects: readonly Effect[];
  /** Optimistic concurrency: the stored version a write must expect. 0 for a new item. */
  readonly version: number;
}

export const MAX_HISTORY = 100;
export const MAX_PROCESSED = 64;
export const MAX_SENDS = 50;

/**
 * Side effects a step asks for. Each carries a `key` that makes it idempotent downstream (message id, webhook
 * delivery id, event dedupe key), so running an effect again after a crash changes nothing.
 */
export type Effect =
  | {
      readonly kind: 'sendEmail';
      readonly key: string;
      readonly templateId: string;
      readonly templateVersion: number | null;
      readonly nodeId: string;
      readonly variant: string | null;
      readonly campaign: string;
    }
  | {
      readonly kind: 'setBanner';
      readonly key: string;
      readonly nodeId: string;
      readonly variant: string | null;
      readonly placement: string;
      readonly content: {
        readonly title: string;
        readonly body: string;
        readonly html: string | null;
        readonly cta: { readonly label: string; readonly url: string } | null;
      };
      readonly expiresAt: string;
    }
  /** Removes the banners this journey assigned to the profile (on a goal). */
  | { readonly kind: 'clearBanners'; readonly key: string }
  | {
      readonly kind: 'webhook';
      readonly key: string;
      readonly endpointId: string;
      readonly eventType: string;
      readonly payload: JsonObject;
    }
  | { readonly kind: 'setTraits'; readonly key: string; readonly traits: JsonObject }
  | { readonly kind: 'addScore'; readonly key: string; readonly name: string; readonly points: number }
  | { readonly kind: 'setStage'; readonly key: string; readonly stage: LeadStage }
  | {
      readonly kind: 'emitEvent';
      readonly key: string;
      readonly name: string;
      readonly properties: JsonObject;
    };

/** A durable timer: fires `journey.step_due` for (profile, journey) at `dueAt`. */
export interface Timer {
  readonly timerId: string;
  readonly dueAt: string;
  readonly profileId: string;
  readonly journeyId: string;
  /**
   * `step`: resumes a waiting enrollment (its `waiting.timerId` must still match). `entry`: a date trigger's moment
   * (re-checked against the profile's current traits when it fires). `schedule`: a schedule trigger's next run.
   */
  readonly kind: 'step' | 'entry' | 'schedule';
}

/** Per-node statistics the engine reports with each step; stored as sharded counters. */
export const NODE_COUNTERS = ['entered', 'waiting', 'exited', 'goal', 'sent', 'skipped'] as const;
export type NodeCounter = (typeof NODE_COUNTERS)[number];
export interface CounterChange {
  readonly nodeId: string;
  readonly counter: NodeCounter;
  readonly variant: string | null;
  /** +1, or −1 when a `waiting` enrollment moves on. */
  readonly delta: number;
}

/** A tracked or domain event, as conditions and matchers see it. */
export interface FactEvent {
  /** Tracked event name (`track`), or null for domain events that are not tracked events. */
  readonly event: string | null;
  readonly properties: JsonObject;
  readonly at: string;
}

/** What conditions read about a profile. Loaded by the handler, plain data for the engine. */
export interface ProfileFacts {
  readonly profileId: string;
  readonly userId: string | null;
  readonly traits: JsonObject;
  readonly scores: Readonly<Record<string, number>>;
  readonly stage: LeadStage | null;
  readonly segments: readonly string[];
  /** The profile's recent tracked events, newest first (bounded; see `MAX_FACT_EVENTS`). */
  readonly events: readonly FactEvent[];
}

export const MAX_FACT_EVENTS = 1000;

/** The domain event a step reacts to, in EventBridge's envelope shape (patterns match on it). */
export interface IncomingEvent {
  readonly source: string;
  readonly 'detail-type': string;
  readonly detail: { readonly [key: string]: JsonValue };
  /** Unique per event and stable across replays. */
  readonly dedupeKey: string;
  readonly time: string;
}
