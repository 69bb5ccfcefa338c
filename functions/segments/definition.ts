// Segment definitions: the rule document a marketer writes, its schema, and the reference checks a schema cannot make.
import * as z from 'zod';
import { type Condition, conditionSchema, type DefinitionProblem } from '../journeys/definition.ts';
import { PURPOSE_STATES, PURPOSES, type Purpose, type PurposeState } from '../tracking/consent.ts';

export const SEGMENT_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;

/** Consent categories are Segment `categoryPreferences` keys; `email` means "may receive marketing email now". */
export const EMAIL_CONSENT = 'email';

/**
 * Consent as a rule leaf. `{ consent: 'analytics', granted: true }` holds only for an explicit yes; `granted: false`
 * holds for anything else (a no, or never asked), so the two are each other's negation.
 */
export interface ConsentCondition {
  readonly consent: string;
  readonly granted: boolean;
}

/**
 * Consent per purpose as a rule leaf (functions/tracking/consent.ts): `{ purpose: 'personalization', state: 'granted' }`.
 * `unknown` (never answered) is a state of its own, so "ask for consent" segments can target it.
 */
export interface PurposeCondition {
  readonly purpose: Purpose;
  readonly state: PurposeState;
}

/** A journey condition (traits, stage, scores, event counts, other segments) widened with consent. */
export type SegmentRule =
  | { readonly all: readonly SegmentRule[] }
  | { readonly any: readonly SegmentRule[] }
  | { readonly not: SegmentRule }
  | ConsentCondition
  | PurposeCondition
  | Condition;

export const consentConditionSchema = z
  .object({
    consent: z
      .string()
      .min(1)
      .max(64)
      .regex(/^[\w .:-]+$/, 'must be "email" or a consent category such as "marketing"'),
    granted: z.boolean(),
  })
  .strict();

export const purposeConditionSchema = z
  .object({ purpose: z.enum(PURPOSES), state: z.enum(PURPOSE_STATES) })
  .strict();

export const segmentRuleSchema: z.ZodType<SegmentRule> = z.lazy(() =>
  z.union([
    z.object({ all: z.array(segmentRuleSchema).min(1).max(50) }).strict(),
    z.object({ any: z.array(segmentRuleSchema).min(1).max(50) }).strict(),
    z.object({ not: segmentRuleSchema }).strict(),
    consentConditionSchema,
    purposeConditionSchema,
    conditionSchema,
  ]),
);

export const segmentDefinitionSchema = z
  .object({
    id: z.string().regex(SEGMENT_ID_PATTERN, 'segment ids are 1–64 of A-Z, a-z, 0-9, "_" and "-"'),
    name: z.string().trim().min(1).max(200),
    description: z.string().max(2000).default(''),
    rule: segmentRuleSchema,
  })
  .strict();
export type SegmentDefinition = z.infer<typeof segmentDefinitionSchema>;
export type SegmentDefinitionInput = z.input<typeof segmentDefinitionSchema>;

/** A stored, immutable version of a segment definition. */
export interface SegmentVersion {
  readonly segmentId: string;
  readonly version: number;
  readonly definition: SegmentDefinition;
  readonly createdAt: string;
}

/** The segment's mutable head: its newest version. */
export interface SegmentHead {
  readonly segmentId: string;
  readonly name: string;
  readonly latestVersion: number;
  readonly createdAt: string;
  readonly updatedAt: string;
}

export const segmentHeadSchema = z.object({
  segmentId: z.string(),
  name: z.string(),
  latestVersion: z.number().int().positive(),
  createdAt: z.string(),
  updatedAt: z.string(),
});

/** Calls `visit` for every leaf of a rule, through segment composites and journey-condition composites alike. */
export function forEachLeaf(
  rule: SegmentRule,
  visit: (leaf: Exclude<SegmentRule, { all: unknown } | { any: unknown } | { not: unknown }>) => void,
): void {
  if ('all' in rule) for (const part of rule.all) forEachLeaf(part, visit);
  else if ('any' in rule) for (const part of rule.any) forEachLeaf(part, visit);
  else if ('not' in rule) forEachLeaf(rule.not, visit);
  else visit(rule);
}

/** Other segments the rule reads, each once. */
export function segmentReferences(rule: SegmentRule): string[] {
  const references = new Set<string>();
  forEachLeaf(rule, (leaf) => {
    if ('segment' in leaf) references.add(leaf.segment);
  });
  return [...references];
}

/** Whether evaluating the rule needs the profile's recent events (they cost a read per identity to load). */
export function readsEvents(rule: SegmentRule): boolean {
  let reads = false;
  forEachLeaf(rule, (leaf) => {
    if ('events' in leaf) reads = true;
  });
  return reads;
}

/**
 * Checks a set of segments together: every referenced segment exists and no segment depends on itself, directly or
 * through others. A cycle would make membership a fixed point with no single answer, and an update loop on the bus.
 */
export function checkSegmentGraph(segments: readonly SegmentDefinition[]): DefinitionProblem[] {
  const problems: DefinitionProblem[] = [];
  const byId = new Map(segments.map((segment) => [segment.id, segment]));
  for (const segment of segments) {
    for (const reference of segmentReferences(segment.rule)) {
      if (!byId.has(reference))
        problems.push({
          path: `${segment.id}.rule`,
          message: `segment "${segment.id}" reads segment "${reference}", which does not exist`,
        });
    }
  }
  const state = new Map<string, 'open' | 'done'>();
  const visit = (id: string, trail: readonly string[]): void => {
    const segment = byId.get(id);
    if (!segment || state.get(id) === 'done') return;
    if (state.get(id) === 'open') {
      const loop = [...trail.slice(trail.indexOf(id)), id].join(' → ');
      problems.push({ path: `${id}.rule`, message: `segments depend on each other in a cycle: ${loop}` });
      return;
    }
    state.set(id, 'open');
    for (const reference of segmentReferences(segment.rule)) visit(reference, [...trail, id]);
    state.set(id, 'done');
  };
  for (const segment of segments) visit(segment.id, []);
  return problems;
}

/**
 * Segments whose membership may change when `segmentId`'s does, in an order where each comes after every segment
 * it reads (so one pass re-evaluates them all). Assumes the graph passed `checkSegmentGraph`.
 */
export function dependentSegments(segmentId: string, segments: readonly SegmentDefinition[]): string[] {
  const readers = new Map<string, string[]>();
  for (const segment of segments)
    for (const reference of segmentReferences(segment.rule))
      readers.set(reference, [...(readers.get(reference) ?? []), segment.id]);
  // Depth-first post-order over "is read by", reversed, is a topological order of the affected segments.
  const done = new Set<string>();
  const order: string[] = [];
  const visit = (id: string): void => {
    if (done.has(id)) return;
    done.add(id);
    for (const reader of readers.get(id) ?? []) visit(reader);
    order.push(id);
  };
  visit(segmentId);
  return order.reverse().filter((id) => id !== segmentId);
}

export class SegmentDefinitionError extends Error {
  override name = 'SegmentDefinitionError';
  constructor(readonly problems: readonly DefinitionProblem[]) {
    super(problems.map((p) => `${p.path}: ${p.message}`).join('; '));
  }
}

/** The shortest chain of references from `segmentId` back to itself, or null when it does not read itself. */
function cycleThrough(segmentId: string, byId: ReadonlyMap<string, SegmentDefinition>): string[] | null {
  const cameFrom = new Map<string, string>();
  const queue = [segmentId];
  while (queue.length > 0) {
    const id = queue.shift() ?? segmentId;
    const segment = byId.get(id);
    if (!segment) continue;
    for (const reference of segmentReferences(segment.rule)) {
      if (reference === segmentId) {
        const chain = [id];
        for (let head = id; head !== segmentId; ) {
          head = cameFrom.get(head) ?? segmentId;
          chain.unshift(head);
        }
        return [...chain, segmentId];
      }
      if (!cameFrom.has(reference)) {
        cameFrom.set(reference, id);
        queue.push(reference);
      }
    }
  }
  return null;
}

/**
 * Parses a segment and checks it against the segments already defined (`others`; a stored copy of the same id is
 * replaced by this one): what it reads must exist and must not read it back. Throws SegmentDefinitionError listing
 * every problem at once.
 */
export function parseSegmentDefinition(
  input: unknown,
  others: readonly SegmentDefinition[] = [],
): SegmentDefinition {
  const parsed = segmentDefinitionSchema.safeParse(input);
  if (!parsed.success)
    throw new SegmentDefinitionError(
      parsed.error.issues.map((issue) => ({
        path: issue.path.join('.') || '(document)',
        message: issue.message,
      })),
    );
  const segment = parsed.data;
  const byId = new Map(others.map((other) => [other.id, other]));
  byId.set(segment.id, segment);
  const problems: DefinitionProblem[] = segmentReferences(segment.rule)
    .filter((reference) => !byId.has(reference))
    .map((reference) => ({ path: 'rule', message: `reads segment "${reference}", which does not exist` }));
  const cycle = cycleThrough(segment.id, byId);
  if (cycle !== null)
    problems.push({
      path: 'rule',
      message: `segments would depend on each other in a cycle: ${cycle.join(' → ')}`,
    });
  if (problems.length > 0) throw new SegmentDefinitionError(problems);
  return segment;
}
