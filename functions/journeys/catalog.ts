// The journeys a function instance knows: heads refreshed every few seconds, immutable versions cached for good.
import type { Condition, JourneyDefinition } from './definition.ts';
import type { JourneyHead, JourneyVersion } from './model.ts';
import type { JourneyStore } from './store.ts';

export interface LiveJourney {
  readonly head: JourneyHead;
  readonly latest: JourneyVersion;
}

/**
 * A change made through the admin API reaches every instance within `refreshMs`; versions never change once written,
 * so running enrollments find theirs without a read after the first.
 */
export class JourneyCatalog {
  private heads: { at: number; value: Promise<LiveJourney[]> } | undefined;
  private readonly versions = new Map<string, Promise<JourneyVersion | undefined>>();

  constructor(
    private readonly store: Pick<JourneyStore, 'listHeads' | 'getVersion' | 'getHead'>,
    private readonly options: { refreshMs: number; clock?: () => number } = { refreshMs: 10_000 },
  ) {}

  private get nowMs(): number {
    return (this.options.clock ?? Date.now)();
  }

  async live(): Promise<LiveJourney[]> {
    if (!this.heads || this.nowMs - this.heads.at >= this.options.refreshMs) {
      const value = this.load();
      this.heads = { at: this.nowMs, value };
      value.catch(() => {
        if (this.heads?.value === value) this.heads = undefined;
      });
    }
    return this.heads.value;
  }

  async head(journeyId: string): Promise<JourneyHead | undefined> {
    const live = await this.live();
    return live.find((j) => j.head.journeyId === journeyId)?.head ?? (await this.store.getHead(journeyId));
  }

  async version(journeyId: string, version: number): Promise<JourneyVersion | undefined> {
    const key = `${journeyId}#${version}`;
    let cached = this.versions.get(key);
    if (!cached) {
      cached = this.store.getVersion(journeyId, version);
      this.versions.set(key, cached);
      cached.then(
        (found) => {
          if (!found) this.versions.delete(key);
        },
        () => this.versions.delete(key),
      );
    }
    return cached;
  }

  private async load(): Promise<LiveJourney[]> {
    const heads = await this.store.listHeads();
    const journeys = await Promise.all(
      heads.map(async (head) => {
        const latest = await this.version(head.journeyId, head.latestVersion);
        return latest ? { head, latest } : undefined;
      }),
    );
    return journeys.filter((j): j is LiveJourney => j !== undefined);
  }
}

/** Whether any condition of a definition counts events (those need the profile's recent events read). */
export function readsEvents(definition: JourneyDefinition): boolean {
  const conditions: Condition[] = [];
  if (definition.entry.condition) conditions.push(definition.entry.condition);
  for (const goal of definition.goals) if (goal.condition) conditions.push(goal.condition);
  for (const node of Object.values(definition.nodes))
    if (node.type === 'condition') conditions.push(node.condition);
  const visit = (condition: Condition): boolean => {
    if ('all' in condition) return condition.all.some(visit);
    if ('any' in condition) return condition.any.some(visit);
    if ('not' in condition) return visit(condition.not);
    return 'events' in condition;
  };
  return conditions.some(visit);
}
