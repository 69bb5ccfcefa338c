// The journey store ports: definitions, enrollments committed with their timers and counters, and the timer index.
import type { JourneyDefinition, LeadStage } from './definition.ts';
import type {
  CounterChange,
  Enrollment,
  JourneyHead,
  JourneyStatus,
  JourneyVersion,
  Timer,
} from './model.ts';

export class EnrollmentConflictError extends Error {
  override name = 'EnrollmentConflictError';
}

export class JourneyNotFoundError extends Error {
  override name = 'JourneyNotFoundError';
}

export interface JourneyStats {
  /** node id → variant ("" for none) → counter → value */
  readonly nodes: Record<string, Record<string, Partial<Record<CounterChange['counter'], number>>>>;
}

export interface EnrollmentCommit {
  readonly next: Enrollment;
  /** The stored version `next` replaces; 0 when the item must not exist yet. */
  readonly expectedVersion: number;
  readonly setTimers: readonly Timer[];
  readonly deleteTimers: readonly Timer[];
  readonly counters: readonly CounterChange[];
  /** Score changes applied in the same transaction (not idempotent on their own). */
  readonly scores: readonly { readonly name: string; readonly points: number }[];
}

export interface JourneyStore {
  /** Stores the next version (1 for a new journey) and makes it the head's latest; the status is kept. */
  putVersion(journeyId: string, definition: JourneyDefinition): Promise<JourneyVersion>;
  getHead(journeyId: string): Promise<JourneyHead | undefined>;
  getVersion(journeyId: string, version: number): Promise<JourneyVersion | undefined>;
  listHeads(): Promise<JourneyHead[]>;
  /** Throws JourneyNotFoundError. */
  setStatus(journeyId: string, status: JourneyStatus): Promise<JourneyHead>;

  getEnrollment(profileId: string, journeyId: string): Promise<Enrollment | undefined>;
  listEnrollments(profileId: string): Promise<Enrollment[]>;
  /**
   * Writes the enrollment if its stored version is still `expectedVersion`, with its timers, node counters and score
   * changes, all in one transaction. Throws EnrollmentConflictError when the version moved.
   */
  commit(commit: EnrollmentCommit): Promise<void>;
  stats(journeyId: string, version: number | null): Promise<JourneyStats>;

  /** Entry and schedule timers outside an enrollment commit (idempotent: same timer, same item). */
  putTimer(timer: Timer): Promise<void>;
  deleteTimer(timer: Timer): Promise<void>;
  /** Timers due at or before `now`, oldest first, at most `limit`, across every shard. */
  dueTimers(now: string, limit: number): Promise<Timer[]>;
  /** The earliest timer of all (the local clock steps to it); undefined when none. */
  earliestTimer(): Promise<Timer | undefined>;
}

/** Lead state journeys read and write; issue #6 owns scoring and stage transitions. */
export interface LeadState {
  readonly scores: Readonly<Record<string, number>>;
  readonly stage: LeadStage | null;
}
