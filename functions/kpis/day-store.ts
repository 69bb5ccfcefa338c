// The KPI day store (port): rolled-up days, marketing costs and reference values, with an in-memory reference.
import type { ReferenceValues } from './query.ts';
import type { CostEntry, KpiDay } from './rollup.ts';
import { costKey, mergeCosts } from './settings.ts';

/** A rolled-up day: `final` once the day closed more than the grace period ago (it can still be recomputed). */
export interface StoredKpiDay {
  readonly day: KpiDay;
  readonly final: boolean;
}

export interface KpiDayStore {
  /** Writes the day, replacing what was there: the same counters always write the same item. */
  putDay(day: StoredKpiDay): Promise<void>;
  /** Days in [from, to] (YYYY-MM-DD, inclusive), in order; `from` null reads every day up to `to`. */
  getDays(range: { readonly from: string | null; readonly to: string }): Promise<StoredKpiDay[]>;
  getCosts(): Promise<CostEntry[]>;
  /** Adds entries, each replacing a stored one for the same channel or campaign and period. */
  putCosts(entries: readonly CostEntry[]): Promise<void>;
  /** The configured reference values, or undefined when none were set. */
  getReference(): Promise<ReferenceValues | undefined>;
  putReference(reference: ReferenceValues): Promise<void>;
}

export class InMemoryKpiDayStore implements KpiDayStore {
  private readonly days = new Map<string, StoredKpiDay>();
  private costs: CostEntry[] = [];
  private reference: ReferenceValues | undefined;

  async putDay(day: StoredKpiDay): Promise<void> {
    this.days.set(day.day.day, structuredClone(day));
  }

  async getDays({ from, to }: { from: string | null; to: string }): Promise<StoredKpiDay[]> {
    return [...this.days.values()]
      .filter(({ day }) => (from === null || day.day >= from) && day.day <= to)
      .sort((a, b) => a.day.day.localeCompare(b.day.day))
      .map((day) => structuredClone(day));
  }

  async getCosts(): Promise<CostEntry[]> {
    return [...this.costs].sort((a, b) => costKey(a).localeCompare(costKey(b)));
  }

  async putCosts(entries: readonly CostEntry[]): Promise<void> {
    this.costs = mergeCosts(this.costs, entries);
  }

  async getReference(): Promise<ReferenceValues | undefined> {
    return this.reference;
  }

  async putReference(reference: ReferenceValues): Promise<void> {
    this.reference = reference;
  }
}
