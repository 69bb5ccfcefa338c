// The catalogue of Nurture domain events: one name and schema per event, shared by the CDK rules and the handlers.
import type { z } from 'zod';

/** Every Nurture event source starts with this; rules and the archive match on it. */
export const EVENT_SOURCE_PREFIX = 'nurture.';

export interface DomainEventDefinition<Schema extends z.ZodType> {
  /** `detail-type` on the bus, e.g. `profile.identified`. */
  readonly detailType: string;
  /** `source` on the bus, e.g. `nurture.tracking`. */
  readonly source: `nurture.${string}`;
  readonly detail: Schema;
}

export function defineDomainEvent<Schema extends z.ZodType>(
  definition: DomainEventDefinition<Schema>,
): DomainEventDefinition<Schema> {
  if (!/^[a-z]+(?:_[a-z]+)*\.[a-z]+(?:_[a-z]+)*$/.test(definition.detailType)) {
    throw new Error(`Domain event names are "noun.verb_past" in snake case, got "${definition.detailType}"`);
  }
  return definition;
}

export type CataloguePattern =
  | { source: string[]; 'detail-type': string[] }
  | { $or: Array<{ source: string[]; 'detail-type': string[] }> };

/**
 * EventBridge pattern that selects exactly the given catalogued events: one branch per source, so a name is never
 * matched with the source of another event.
 */
export function eventPatternFor(definitions: readonly DomainEventDefinition<z.ZodType>[]): CataloguePattern {
  const bySource = new Map<string, string[]>();
  for (const { source, detailType } of definitions) {
    const names = bySource.get(source) ?? [];
    if (!names.includes(detailType)) names.push(detailType);
    bySource.set(source, names);
  }
  const branches = [...bySource].map(([source, names]) => ({ source: [source], 'detail-type': names }));
  const [only] = branches;
  if (only === undefined) throw new Error('eventPatternFor needs at least one event definition');
  return branches.length === 1 ? only : { $or: branches };
}
