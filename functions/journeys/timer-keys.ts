// Where durable timers live in the profile table: a due-time index sharded so no partition takes every write.
import { createHash } from 'node:crypto';

/**
 * Timers are spread over this many partitions (`TIMER#0` … `TIMER#15`), each sorted by due time. Reading what is due
 * is one Query per shard for `sk <= now`: it reads only due timers, whatever number of enrollments wait.
 */
export const TIMER_SHARDS = 16;

export const TIMER_PARTITION_PREFIX = 'TIMER#';

export function timerShard(profileId: string): number {
  return createHash('sha256').update(profileId).digest().readUInt16BE(0) % TIMER_SHARDS;
}

export function timerPartition(shard: number): string {
  return `${TIMER_PARTITION_PREFIX}${shard}`;
}

/** Sort key: due time first (ISO 8601, UTC, fixed width) so a range read returns the oldest first. */
export function timerSortKey(dueAt: string, timerId: string): string {
  return `${dueAt}#${timerId}`;
}

/** Upper bound of the sort keys due at `now`: every key starting with a time <= now sorts below it. */
export function dueBound(now: string): string {
  return `${now}#\uffff`;
}
