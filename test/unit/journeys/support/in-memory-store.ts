// An in-memory JourneyStore with the DynamoDB adapter's semantics, plus hooks to make the next commit conflict or fail.
import type { JourneyDefinition } from '../../../../functions/journeys/definition.ts';
import {
  type CounterChange,
  type Enrollment,
  type JourneyHead,
  type JourneyStatus,
  type JourneyVersion,
  NODE_COUNTERS,
  type Timer,
} from '../../../../functions/journeys/model.ts';
import {
  type EnrollmentCommit,
  EnrollmentConflictError,
  JourneyNotFoundError,
  type JourneyStats,
  type JourneyStore,
} from '../../../../functions/journeys/store.ts';

type Counters = Partial<Record<CounterChange['counter'], number>>;

interface CommitHook {
  readonly matches: (commit: EnrollmentCommit) => boolean;
  /** Another writer's commit, run just before the version check (so the check sees its write). */
  readonly concurrently?: (commit: EnrollmentCommit) => Promise<void>;
  readonly error?: Error;
}

const enrollmentKey = (profileId: string, journeyId: string) => `${profileId}\n${journeyId}`;
/** Same identity as the DynamoDB item: profile (its shard), due time and id; a moved due time is another item. */
const timerKey = (timer: Timer) => `${timer.profileId}\n${timer.dueAt}#${timer.timerId}`;
const compareTimers = (a: Timer, b: Timer) =>
  a.dueAt === b.dueAt ? a.timerId.localeCompare(b.timerId) : a.dueAt < b.dueAt ? -1 : 1;

export class InMemoryJourneyStore implements JourneyStore {
  private readonly heads = new Map<string, JourneyHead>();
  private readonly versions = new Map<string, JourneyVersion>();
  private readonly enrollments = new Map<string, Enrollment>();
  /** Kept sorted by due time, then id: the order `dueTimers` and `earliestTimer` read in. */
  private timerList: Timer[] = [];
  /** `journeyId#version` → node id → variant ("" for none) → counters, as `stats` reports them. */
  private readonly counters = new Map<string, JourneyStats['nodes']>();
  private readonly scoreTotals = new Map<string, Record<string, number>>();
  private readonly hooks: CommitHook[] = [];
  /** Every commit that was written, in order. */
  readonly commits: EnrollmentCommit[] = [];

  constructor(private readonly now: () => Date = () => new Date()) {}

  // Test hooks

  /**
   * The next commit (matching `matches`, if given) conflicts: `concurrently` runs first (by default another writer
   * stores the enrollment again with the next version), then the commit throws EnrollmentConflictError.
   */
  conflictOnNextCommit(
    options: {
      matches?: (commit: EnrollmentCommit) => boolean;
      concurrently?: (commit: EnrollmentCommit) => Promise<void>;
    } = {},
  ): void {
    this.hooks.push({
      matches: options.matches ?? (() => true),
      concurrently: options.concurrently ?? ((commit) => this.rewrite(commit.next)),
    });
  }

  /** The next commit (matching `matches`, if given) throws `error` and writes nothing. */
  failNextCommit(options: { error: Error; matches?: (commit: EnrollmentCommit) => boolean }): void {
    this.hooks.push({ matches: options.matches ?? (() => true), error: options.error });
  }

  /** Every stored timer, oldest first. */
  timers(): Timer[] {
    return structuredClone(this.timerList);
  }

  /** The lead scores the commits added up for a profile. */
  scores(profileId: string): Record<string, number> {
    return { ...this.scoreTotals.get(profileId) };
  }

  /** Everything stored, to compare before and after an input that must change nothing. */
  snapshot(): unknown {
    return structuredClone({
      heads: [...this.heads],
      enrollments: [...this.enrollments],
      timers: this.timerList,
      counters: [...this.counters],
      scores: [...this.scoreTotals],
    });
  }

  // Definitions

  async putVersion(journeyId: string, definition: JourneyDefinition): Promise<JourneyVersion> {
    const head = this.heads.get(journeyId);
    const at = this.now().toISOString();
    const version: JourneyVersion = {
      journeyId,
      version: (head?.latestVersion ?? 0) + 1,
      definition: structuredClone(definition),
      createdAt: at,
    };
    this.versions.set(`${journeyId}#${version.version}`, version);
    this.heads.set(journeyId, {
      journeyId,
      status: head?.status ?? 'active',
      latestVersion: version.version,
      createdAt: head?.createdAt ?? at,
      updatedAt: at,
    });
    return structuredClone(version);
  }

  async getHead(journeyId: string): Promise<JourneyHead | undefined> {
    return structuredClone(this.heads.get(journeyId));
  }

  async getVersion(journeyId: string, version: number): Promise<JourneyVersion | undefined> {
    return structuredClone(this.versions.get(`${journeyId}#${version}`));
  }

  async listHeads(): Promise<JourneyHead[]> {
    return structuredClone([...this.heads.values()]);
  }

  async setStatus(journeyId: string, status: JourneyStatus): Promise<JourneyHead> {
    const head = this.heads.get(journeyId);
    if (!head) throw new JourneyNotFoundError(`journey ${journeyId} does not exist`);
    const next: JourneyHead = { ...head, status, updatedAt: this.now().toISOString() };
    this.heads.set(journeyId, next);
    return structuredClone(next);
  }

  // Enrollments

  async getEnrollment(profileId: string, journeyId: string): Promise<Enrollment | undefined> {
    return structuredClone(this.enrollments.get(enrollmentKey(profileId, journeyId)));
  }

  async listEnrollments(profileId: string): Promise<Enrollment[]> {
    return structuredClone([...this.enrollments.values()].filter((e) => e.profileId === profileId));
  }

  async commit(commit: EnrollmentCommit): Promise<void> {
    const hookIndex = this.hooks.findIndex((hook) => hook.matches(commit));
    const hook = hookIndex < 0 ? undefined : this.hooks.splice(hookIndex, 1)[0];
    if (hook?.error) throw hook.error;
    if (hook?.concurrently) await hook.concurrently(commit);

    const { next, expectedVersion } = commit;
    const key = enrollmentKey(next.profileId, next.journeyId);
    const stored = this.enrollments.get(key);
    // An injected conflict always fails, as DynamoDB's TransactionConflict does even when the version still holds.
    if (hook?.concurrently || (stored?.version ?? 0) !== expectedVersion)
      throw new EnrollmentConflictError(
        `enrollment of journey ${next.journeyId} changed since version ${expectedVersion}`,
      );
    this.enrollments.set(key, structuredClone(next));
    // As in the transaction: a timer both set and deleted is simply set.
    const set = new Set(commit.setTimers.map(timerKey));
    const gone = new Set(commit.deleteTimers.map(timerKey).filter((k) => !set.has(k)));
    this.timerList = this.timerList.filter((t) => !gone.has(timerKey(t)) && !set.has(timerKey(t)));
    for (const timer of commit.setTimers) this.insertTimer(timer);
    for (const change of commit.counters) this.count(next, change);
    for (const { name, points } of commit.scores) {
      const totals = this.scoreTotals.get(next.profileId) ?? {};
      totals[name] = (totals[name] ?? 0) + points;
      this.scoreTotals.set(next.profileId, totals);
    }
    this.commits.push(structuredClone(commit));
  }

  async stats(journeyId: string, version: number | null): Promise<JourneyStats> {
    const versions =
      version === null
        ? Array.from({ length: this.heads.get(journeyId)?.latestVersion ?? 0 }, (_, i) => i + 1)
        : [version];
    const nodes: Record<string, Record<string, Counters>> = {};
    for (const v of versions) {
      for (const [nodeId, byVariant] of Object.entries(this.counters.get(`${journeyId}#${v}`) ?? {})) {
        const summedByVariant = nodes[nodeId] ?? {};
        for (const [variant, counters] of Object.entries(byVariant)) {
          const sum = summedByVariant[variant] ?? {};
          for (const counter of NODE_COUNTERS) {
            const value = counters[counter];
            if (value !== undefined) sum[counter] = (sum[counter] ?? 0) + value;
          }
          summedByVariant[variant] = sum;
        }
        nodes[nodeId] = summedByVariant;
      }
    }
    return { nodes };
  }

  // Timers

  async putTimer(timer: Timer): Promise<void> {
    this.timerList = this.timerList.filter((t) => timerKey(t) !== timerKey(timer));
    this.insertTimer(timer);
  }

  async deleteTimer(timer: Timer): Promise<void> {
    this.timerList = this.timerList.filter((t) => timerKey(t) !== timerKey(timer));
  }

  async dueTimers(now: string, limit: number): Promise<Timer[]> {
    if (limit <= 0) return [];
    return structuredClone(this.timerList.filter((t) => t.dueAt <= now).slice(0, limit));
  }

  async earliestTimer(): Promise<Timer | undefined> {
    return structuredClone(this.timerList[0]);
  }

  private insertTimer(timer: Timer): void {
    const at = this.timerList.findIndex((t) => compareTimers(timer, t) < 0);
    this.timerList.splice(at < 0 ? this.timerList.length : at, 0, structuredClone(timer));
  }

  /** Counters go to the version the run is on, like the adapter's sharded counter items. */
  private count(next: Enrollment, change: CounterChange): void {
    const key = `${next.journeyId}#${next.journeyVersion}`;
    const nodes = this.counters.get(key) ?? {};
    const byVariant = nodes[change.nodeId] ?? {};
    const counters = byVariant[change.variant ?? ''] ?? {};
    counters[change.counter] = (counters[change.counter] ?? 0) + change.delta;
    byVariant[change.variant ?? ''] = counters;
    nodes[change.nodeId] = byVariant;
    this.counters.set(key, nodes);
  }

  /** Another writer's step on the enrollment `next` replaces: the stored item written again with the next version. */
  private async rewrite(next: Enrollment): Promise<void> {
    const key = enrollmentKey(next.profileId, next.journeyId);
    const stored = this.enrollments.get(key);
    if (stored) this.enrollments.set(key, { ...stored, version: stored.version + 1 });
  }
}
