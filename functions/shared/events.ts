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

/** EventBridge pattern that selects exactly the given catalogued events. */
export function eventPatternFor(definitions: readonly DomainEventDefinition<z.ZodType>[]): {
  source: string[];
  'detail-type': string[];
} {
  return {
    source: [...new Set(definitions.map((d) => d.source))],
    'detail-type': [...new Set(definitions.map((d) => d.detailType))],
  };
}
