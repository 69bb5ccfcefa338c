// Segment recheck timers: where they live (a sharded due-time index) and the sweep that hands due ones to evaluation.
import { createHash } from 'node:crypto';
import type { RecheckTimers } from './service.ts';

/**
 * Timers are spread over this many partitions (`SEGRECHECK#0` … `SEGRECHECK#7`), each sorted by due time, so reading
 * what is due is one Query per shard for `sk <= now` and no partition takes every write.
 */
export const RECHECK_SHARDS = 8;
export const RECHECK_PARTITION_PREFIX = 'SEGRECHECK#';

export function recheckShard(profileId: string): number {
  return createHash('sha256').update(profileId).digest().readUInt16BE(0) % RECHECK_SHARDS;
}

export function recheckPartition(shard: number): string {
  return `${RECHECK_PARTITION_PREFIX}${shard}`;
}

/** Due time first (ISO 8601 UTC, fixed width) so a range read returns the oldest first. */
export function recheckSortKey(input: { dueAt: string; profileId: string; segmentId: string }): string {
  return `${input.dueAt}#${input.profileId}#${input.segmentId}`;
}

/** Upper bound of the sort keys due at `now`. */
export function recheckDueBound(now: string): string {
  return `${now}#\uffff`;
}

/** A timer that came due: re-evaluate `segmentId` (and the segments reading it) for `profileId`. */
export interface DueRecheck {
  readonly profileId: string;
  readonly segmentId: string;
  readonly dueAt: string;
}

export interface RecheckIndex extends RecheckTimers {
  /** Timers due at `now`, oldest first, `limit` at most. */
  due(now: string, limit: number): Promise<DueRecheck[]>;
  /** Removes a fired timer's index entry (the profile's pointer is moved by the evaluation it causes). */
  remove(recheck: DueRecheck): Promise<void>;
}

/** Hands due rechecks to evaluation (the segments queue) and says which ones it could not. */
export interface RecheckSender {
  send(rechecks: readonly DueRecheck[]): Promise<{ failed: readonly DueRecheck[] }>;
}

export interface RecheckSweepResult {
  readonly fired: number;
  readonly failed: number;
  /** Stopped at `maxPerRun` while more may be due. */
  readonly remaining: boolean;
}

const keyOf = (recheck: DueRecheck) => `${recheck.profileId}\n${recheck.segmentId}\n${recheck.dueAt}`;
const DELETE_CONCURRENCY = 25;

/**
 * At-least-once: an index entry is removed only after it was handed over, so a crash fires it again on the next
 * sweep; evaluating a profile twice changes nothing.
 */
export class RecheckSweeper {
  private readonly batchSize: number;
  private readonly maxPerRun: number;

  constructor(
    private readonly deps: {
      readonly index: Pick<RecheckIndex, 'due' | 'remove'>;
      readonly sender: RecheckSender;
      readonly now: () => Date;
      /** @default 100 */
      readonly batchSize?: number;
      /** @default 10_000 */
      readonly maxPerRun?: number;
    },
  ) {
    this.batchSize = deps.batchSize ?? 100;
    this.maxPerRun = deps.maxPerRun ?? 10_000;
    if (this.batchSize < 1 || this.maxPerRun < 1)
      throw new Error('batchSize and maxPerRun must be at least 1');
  }

  async sweep(): Promise<RecheckSweepResult> {
    const now = this.deps.now().toISOString();
    const failedKeys = new Set<string>();
    let fired = 0;
    while (fired + failedKeys.size < this.maxPerRun) {
      const wanted = Math.min(this.batchSize, this.maxPerRun - fired - failedKeys.size);
      const due = await this.deps.index.due(now, wanted + failedKeys.size);
      const batch = due.filter((recheck) => !failedKeys.has(keyOf(recheck))).slice(0, wanted);
      if (batch.length === 0) return { fired, failed: failedKeys.size, remaining: false };
      const { failed } = await this.deps.sender.send(batch);
      const failedNow = new Set(failed.map(keyOf));
      for (const key of failedNow) failedKeys.add(key);
      const sent = batch.filter((recheck) => !failedNow.has(keyOf(recheck)));
      for (let i = 0; i < sent.length; i += DELETE_CONCURRENCY)
        await Promise.all(sent.slice(i, i + DELETE_CONCURRENCY).map((r) => this.deps.index.remove(r)));
      fired += sent.length;
      if (sent.length === 0) return { fired, failed: failedKeys.size, remaining: false };
    }
    return { fired, failed: failedKeys.size, remaining: true };
  }
}
