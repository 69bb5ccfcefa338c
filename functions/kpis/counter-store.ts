// The KPI counter store (port): applies one event's increments exactly once and reads a day's counters back.
import {
  type CounterIncrement,
  counterKey,
  type KpiDimension,
  type KpiMetric,
  markerOf,
} from './counters.ts';

/** One counter of one day, summed over its shards. */
export interface CounterTotal {
  readonly metric: KpiMetric;
  readonly currency: string | null;
  readonly dimension: KpiDimension;
  readonly value: string;
  readonly total: number;
}

export interface DayCounters {
  readonly day: string;
  readonly counters: readonly CounterTotal[];
}

export interface ApplyIncrements {
  /** Identifies the event (see `kpiDedupeKey`): a second apply under the same key changes nothing. */
  readonly dedupeKey: string;
  /** All increments of the event's inputs (`countersFor`, then `mergeIncrements`). */
  readonly increments: readonly CounterIncrement[];
}

export interface CounterStore {
  /**
   * Adds the increments once: `applied` is false for a replay. A distinct increment adds only when its marker is new;
   * all increments sharing a marker add together or not at all.
   */
  apply(input: ApplyIncrements): Promise<{ readonly applied: boolean }>;
  /** Every counter of the day; cost independent of how many increments the day had. */
  readDay(day: string): Promise<DayCounters>;
}

/** Reference implementation in memory (tests, and the semantics the DynamoDB adapter must match). */
export class InMemoryCounterStore implements CounterStore {
  private readonly applied = new Set<string>();
  private readonly markers = new Set<string>();
  private readonly days = new Map<string, Map<string, CounterTotal>>();

  async apply({ dedupeKey, increments }: ApplyIncrements): Promise<{ applied: boolean }> {
    if (this.applied.has(dedupeKey)) return { applied: false };
    this.applied.add(dedupeKey);
    const newMarkers = new Set<string>();
    for (const increment of increments) {
      const marker = markerOf(increment);
      if (marker !== null && this.markers.has(marker) && !newMarkers.has(marker)) continue;
      if (marker !== null) newMarkers.add(marker);
      const day = this.days.get(increment.day) ?? new Map<string, CounterTotal>();
      this.days.set(increment.day, day);
      const key = counterKey(increment);
      const { metric, currency, dimension, value } = increment;
      const total = (day.get(key)?.total ?? 0) + increment.by;
      day.set(key, { metric, currency, dimension, value, total });
    }
    for (const marker of newMarkers) this.markers.add(marker);
    return { applied: true };
  }

  async readDay(day: string): Promise<DayCounters> {
    return { day, counters: [...(this.days.get(day)?.values() ?? [])] };
  }
}
