// The segment store port: versioned definitions, memberships written with their size counter, and member paging.
import type { SegmentDefinition, SegmentHead, SegmentVersion } from './definition.ts';

export interface SetMembership {
  readonly segmentId: string;
  readonly profileId: string;
  readonly member: boolean;
  /** When the decision was made (ISO). A decision older than the last change it would undo is ignored. */
  readonly at: string;
  /** The segment definition version that decided. */
  readonly version: number;
}

/** One member as the segment's partition lists it. */
export interface SegmentMember {
  readonly profileId: string;
  readonly enteredAt: string;
  readonly version: number;
}

/** One segment a profile is in, as its own partition lists it. */
export interface ProfileSegment {
  readonly segmentId: string;
  readonly enteredAt: string;
  readonly version: number;
}

export interface SegmentMemberPage {
  readonly members: readonly SegmentMember[];
  /** Pass back to read the next page; null when this was the last. It is the last member's profile id. */
  readonly cursor: string | null;
}

export interface SegmentStore {
  /** Stores the next version (1 for a new segment) and makes it the head's latest. */
  putVersion(definition: SegmentDefinition): Promise<SegmentVersion>;
  getHead(segmentId: string): Promise<SegmentHead | undefined>;
  getVersion(segmentId: string, version: number): Promise<SegmentVersion | undefined>;
  listHeads(): Promise<SegmentHead[]>;

  /**
   * Makes the profile a member or not, with both membership items and the size counter in one transaction.
   * Idempotent: `changed` is false when the profile already was what `member` says, or when the decision is older
   * than the last change (so a late, stale decision never undoes a newer one).
   */
  setMembership(input: SetMembership): Promise<{ readonly changed: boolean }>;
  /** Exact member count (sum of the counter shards). */
  size(segmentId: string): Promise<number>;
  /** Members in profile id order, `limit` at most per page; `cursor` is the previous page's. */
  members(input: { segmentId: string; cursor?: string | null; limit: number }): Promise<SegmentMemberPage>;
  segmentsOf(profileId: string): Promise<ProfileSegment[]>;
}
