// Keeps one profile's segment memberships current: evaluates live segments in dependency order, writes changes, moves timers.
import type { ProfileFacts } from '../journeys/model.ts';
import { readsEvents, type SegmentDefinition, segmentReferences } from './definition.ts';
import { evaluateMembership, type MembershipConsent, type MembershipDecision } from './membership.ts';
import type { SegmentStore } from './store.ts';

/** A segment as evaluation uses it: its newest definition and the version that decides. */
export interface LiveSegment {
  readonly definition: SegmentDefinition;
  readonly version: number;
}

export interface SegmentCatalog {
  /** Every defined segment at its newest version. */
  live(): Promise<readonly LiveSegment[]>;
}

/** What evaluation reads about a profile. */
export interface SegmentProfile {
  readonly facts: ProfileFacts;
  readonly consent: MembershipConsent;
}

export interface SegmentProfiles {
  /**
   * The profile's facts (recent events only when `events`), or undefined when it does not exist (erased) or was
   * merged into another: such a profile belongs to no segment.
   */
  load(profileId: string, options: { events: boolean }): Promise<SegmentProfile | undefined>;
}

/** One recheck timer per (profile, segment): evaluation moves or removes it, the sweep fires it when due. */
export interface RecheckTimers {
  /** The profile's timers: segment id → due time (ISO). */
  of(profileId: string): Promise<ReadonlyMap<string, string>>;
  /** Sets the timer to `dueAt`, replacing the one due at `previous`. */
  set(input: { profileId: string; segmentId: string; dueAt: string; previous: string | null }): Promise<void>;
  clear(input: { profileId: string; segmentId: string; previous: string }): Promise<void>;
}

export interface SegmentChange {
  readonly segmentId: string;
  readonly change: 'entered' | 'exited';
}

export interface SegmentEvaluation {
  readonly profileId: string;
  /** Segments evaluated (0 when the profile no longer exists). */
  readonly evaluated: number;
  /** Membership changes written by this evaluation; `segment.*` events follow from them through the outbox. */
  readonly changes: readonly SegmentChange[];
}

export interface SegmentServiceDeps {
  readonly catalog: SegmentCatalog;
  readonly profiles: SegmentProfiles;
  readonly store: Pick<SegmentStore, 'setMembership' | 'segmentsOf'>;
  readonly timers: RecheckTimers;
  readonly now: () => Date;
}

/**
 * Segments in an order where each comes after every segment it reads, so one pass sees fresh results. Assumes the
 * graph passed `checkSegmentGraph` (a reference to an unknown segment is skipped).
 */
export function evaluationOrder<Segment extends { readonly definition: SegmentDefinition }>(
  segments: readonly Segment[],
): Segment[] {
  const byId = new Map(segments.map((segment) => [segment.definition.id, segment]));
  const done = new Set<string>();
  const order: Segment[] = [];
  const visit = (id: string): void => {
    const segment = byId.get(id);
    if (!segment || done.has(id)) return;
    done.add(id);
    for (const reference of segmentReferences(segment.definition.rule)) visit(reference);
    order.push(segment);
  };
  for (const segment of segments) visit(segment.definition.id);
  return order;
}

/** `roots` and every segment that reads one of them, directly or through others. */
export function affectedBy(roots: readonly string[], segments: readonly LiveSegment[]): Set<string> {
  const readers = new Map<string, string[]>();
  for (const segment of segments)
    for (const reference of segmentReferences(segment.definition.rule))
      readers.set(reference, [...(readers.get(reference) ?? []), segment.definition.id]);
  const affected = new Set<string>();
  const pending = [...roots];
  while (pending.length > 0) {
    const id = pending.pop() ?? '';
    if (affected.has(id)) continue;
    affected.add(id);
    pending.push(...(readers.get(id) ?? []));
  }
  return affected;
}

export class SegmentService {
  constructor(private readonly deps: SegmentServiceDeps) {}

  /**
   * Re-evaluates the profile against every live segment, or only `segmentIds` and the segments that read them.
   * Reads current facts, never the input that caused the call, so inputs in any order converge; a call that
   * changes nothing writes nothing (and so emits nothing).
   */
  async evaluate(input: { profileId: string; segmentIds?: readonly string[] }): Promise<SegmentEvaluation> {
    const { profileId } = input;
    const live = await this.deps.catalog.live();
    const wanted = input.segmentIds === undefined ? null : affectedBy(input.segmentIds, live);
    const targets = evaluationOrder(live).filter((s) => wanted === null || wanted.has(s.definition.id));
    if (targets.length === 0) return { profileId, evaluated: 0, changes: [] };

    const [profile, current, timers] = await Promise.all([
      this.deps.profiles.load(profileId, { events: targets.some((s) => readsEvents(s.definition.rule)) }),
      this.deps.store.segmentsOf(profileId),
      this.deps.timers.of(profileId),
    ]);
    const now = this.deps.now();
    if (profile === undefined) return this.leaveAll({ profileId, current, timers, now });

    const members = new Set(current.map((segment) => segment.segmentId));
    const decisions = this.decide({ targets, profile, members, now });
    const changes: SegmentChange[] = [];
    await Promise.all(
      decisions.map(async ({ segment, decision, was }) => {
        const segmentId = segment.definition.id;
        if (decision.member !== was) {
          const { changed } = await this.deps.store.setMembership({
            segmentId,
            profileId,
            member: decision.member,
            at: now.toISOString(),
            version: segment.version,
          });
          if (changed) changes.push({ segmentId, change: decision.member ? 'entered' : 'exited' });
        }
        const dueAt = decision.recheckAt?.toISOString() ?? null;
        const previous = timers.get(segmentId) ?? null;
        if (dueAt === previous) return;
        if (dueAt === null) {
          if (previous !== null) await this.deps.timers.clear({ profileId, segmentId, previous });
        } else await this.deps.timers.set({ profileId, segmentId, dueAt, previous });
      }),
    );
    return { profileId, evaluated: targets.length, changes: sortChanges(changes, targets) };
  }

  /** Every live segment's decision for the profile, with its reason, without writing anything. */
  async explain(
    profileId: string,
  ): Promise<Array<{ segmentId: string; version: number; decision: MembershipDecision }> | undefined> {
    const targets = evaluationOrder(await this.deps.catalog.live());
    const [profile, current] = await Promise.all([
      this.deps.profiles.load(profileId, { events: targets.some((s) => readsEvents(s.definition.rule)) }),
      this.deps.store.segmentsOf(profileId),
    ]);
    if (profile === undefined) return undefined;
    const members = new Set(current.map((segment) => segment.segmentId));
    return this.decide({ targets, profile, members, now: this.deps.now() }).map(({ segment, decision }) => ({
      segmentId: segment.definition.id,
      version: segment.version,
      decision,
    }));
  }

  /** Decides in dependency order; `members` is updated as it goes so a reader sees the fresh answer. */
  private decide(input: {
    targets: readonly LiveSegment[];
    profile: SegmentProfile;
    members: Set<string>;
    now: Date;
  }): Array<{ segment: LiveSegment; decision: MembershipDecision; was: boolean }> {
    const { profile, members, now } = input;
    return input.targets.map((segment) => {
      const segmentId = segment.definition.id;
      const decision = evaluateMembership({
        segment: segment.definition,
        facts: { ...profile.facts, segments: [...members] },
        consent: profile.consent,
        now,
      });
      const was = members.has(segmentId);
      if (decision.member) members.add(segmentId);
      else members.delete(segmentId);
      return { segment, decision, was };
    });
  }

  /** An erased or merged-away profile leaves every segment and keeps no timers. */
  private async leaveAll(input: {
    profileId: string;
    current: ReadonlyArray<{ segmentId: string; version: number }>;
    timers: ReadonlyMap<string, string>;
    now: Date;
  }): Promise<SegmentEvaluation> {
    const { profileId, now } = input;
    const changes: SegmentChange[] = [];
    await Promise.all([
      ...input.current.map(async ({ segmentId, version }) => {
        const { changed } = await this.deps.store.setMembership({
          segmentId,
          profileId,
          member: false,
          at: now.toISOString(),
          version,
        });
        if (changed) changes.push({ segmentId, change: 'exited' });
      }),
      ...[...input.timers].map(([segmentId, previous]) =>
        this.deps.timers.clear({ profileId, segmentId, previous }),
      ),
    ]);
    return { profileId, evaluated: 0, changes };
  }
}

/** Changes in evaluation order, so callers and tests see a stable list whatever order the writes finished in. */
function sortChanges(changes: SegmentChange[], order: readonly LiveSegment[]): SegmentChange[] {
  const position = new Map(order.map((segment, index) => [segment.definition.id, index]));
  return changes.sort((a, b) => (position.get(a.segmentId) ?? 0) - (position.get(b.segmentId) ?? 0));
}
