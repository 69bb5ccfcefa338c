// The tracking store port: what ingest and the admin API need from storage, with one DynamoDB adapter.
import type { EnrichedEvent } from './model.ts';
import type { EventSession, Identity, ProfileCore, ProfileTraits } from './profile.ts';

/** A profile item as read, with the version a conditional write must expect. */
export interface Versioned<T> {
  readonly value: T;
  /** Claims of the last writes (see `StoredEvent.claim`). */
  readonly claims: readonly string[];
  /** False when the item does not exist yet. */
  readonly exists: boolean;
}

export interface StoredEvent {
  readonly event: EnrichedEvent;
  /** The profile the event was applied to when it was first stored. */
  readonly profileId: string;
  /**
   * Token of the request that stored the event. The profile write of that request records the same token, so a
   * retry after a crash between the two writes can tell whether the event still has to be applied.
   */
  readonly claim: string;
  /**
   * The session the event started or belongs to, decided when it was stored; written once with the event, so a
   * replay carries the same decision. Absent on events stored before sessions were recorded.
   */
  readonly session?: EventSession;
}

export class VersionConflictError extends Error {
  override name = 'VersionConflictError';
}

export interface TrackingStore {
  /** Stores an event unless (identity, source, messageId) exists; resolves false for a duplicate. */
  putEventOnce(stored: StoredEvent): Promise<boolean>;
  getEvent(identity: Identity, sourceId: string, messageId: string): Promise<StoredEvent | undefined>;
  listEvents(
    identities: readonly Identity[],
    limit: number,
  ): Promise<{ events: EnrichedEvent[]; truncated: boolean }>;

  getProfile(id: string): Promise<Versioned<ProfileCore>>;
  /**
   * Writes the core item if its version is still `expectedVersion`, else throws VersionConflictError.
   * `claims` are kept (the newest few) so a retried request can tell which of its events were applied.
   */
  putProfile(
    profile: ProfileCore,
    options: { expectedVersion: number; claims: readonly string[] },
  ): Promise<void>;
  getTraits(id: string): Promise<Versioned<ProfileTraits>>;
  putTraits(traits: ProfileTraits, expectedVersion: number): Promise<void>;

  /** The profile an identity was redirected to by a merge, or undefined when it keeps its default profile. */
  getIdentityPointer(identity: Identity): Promise<string | undefined>;
  putIdentityPointer(identity: Identity, profileId: string): Promise<void>;
  /** Points an identity at a profile only if it points nowhere yet; resolves whether this call set it. */
  claimIdentity(identity: Identity, profileId: string): Promise<boolean>;

  /** Adds to a day's counters of events that were received but not profiled (bots, withheld consent, rejected). */
  countUnprofiled(counts: {
    sourceId: string;
    day: string;
    bots: number;
    consentWithheld: number;
    rejected?: number;
    /** Events dropped by the source's rate limit (pixels, which cannot be answered 429). */
    rateLimited?: number;
  }): Promise<void>;
}
