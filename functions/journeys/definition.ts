// Journey definitions: the JSON document a marketer writes, its schema, and the graph checks a schema cannot make.
import { Duration } from 'luxon';
import * as z from 'zod';
import { bannerContentSchema, placementSchema } from '../messaging/banners/banner.ts';
import { InvalidScheduleExpressionError, parseScheduleExpression } from '../shared/schedule-expression.ts';

/** Lifecycle stages (issue #6 adds the transitions); journeys can read and set them. */
export const LEAD_STAGES = [
  'subscriber',
  'lead',
  'mql',
  'sql',
  'sal',
  'opportunity',
  'customer',
  'disqualified',
  'recycled',
] as const;
export type LeadStage = (typeof LEAD_STAGES)[number];

export const JOURNEY_ID_PATTERN = /^[a-z0-9][a-z0-9-]{0,62}$/;
export const NODE_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;
/** A journey's nodes are bounded so one step's work and the stored document stay small. */
export const MAX_NODES = 200;

const nodeId = z.string().regex(NODE_ID_PATTERN, 'node ids are 1–64 of A-Z, a-z, 0-9, "_" and "-"');

/** ISO 8601 duration such as `P90D`, `PT2H30M` or (for offsets) `-P90D`. */
export const isoDuration = z.string().refine(
  (value) => {
    const negative = value.startsWith('-');
    const parsed = Duration.fromISO(negative ? value.slice(1) : value);
    return parsed.isValid && parsed.toMillis() >= 0;
  },
  { message: 'must be an ISO 8601 duration such as "P90D", "PT2H" or "-P90D"' },
);

/** `HH:MM`, 24-hour clock. */
export const timeOfDay = z.string().regex(/^(?:[01]\d|2[0-3]):[0-5]\d$/, 'must be a time of day "HH:MM"');

export const timeZone = z.string().refine(
  (zone) => {
    try {
      new Intl.DateTimeFormat('en-US', { timeZone: zone });
      return true;
    } catch {
      return false;
    }
  },
  { message: 'must be an IANA time zone such as "Europe/Berlin"' },
);

/** A dot path into a profile's traits, e.g. `subscription.endsAt`. */
export const traitPath = z
  .string()
  .regex(/^[A-Za-z_$][\w$-]*(?:\.[A-Za-z_$][\w$-]*)*$/, 'must be a dot path such as "subscription.endsAt"')
  .refine(
    (path) => !path.split('.').some((part) => ['__proto__', 'constructor', 'prototype'].includes(part)),
    {
      message: 'must not name __proto__, constructor or prototype',
    },
  );

export const COMPARISONS = [
  'eq',
  'neq',
  'gt',
  'gte',
  'lt',
  'lte',
  'in',
  'notIn',
  'contains',
  'exists',
  'notExists',
  /** A date attribute lies between now and now + value (a duration). */
  'withinNext',
  /** A date attribute lies between now − value and now. */
  'withinLast',
  'before',
  'after',
] as const;
export type Comparison = (typeof COMPARISONS)[number];

const jsonValue = z.json();

/** One comparison of a value (a trait, an event property) against the document's `value`. */
export const comparisonSchema = z
  .object({
    op: z.enum(COMPARISONS),
    value: jsonValue.optional(),
  })
  .superRefine((comparison, ctx) => {
    const needsValue = !['exists', 'notExists'].includes(comparison.op);
    if (needsValue && comparison.value === undefined)
      ctx.addIssue({ code: 'custom', message: `"${comparison.op}" needs a value`, path: ['value'] });
    if (['in', 'notIn'].includes(comparison.op) && !Array.isArray(comparison.value))
      ctx.addIssue({ code: 'custom', message: `"${comparison.op}" needs an array value`, path: ['value'] });
    if (
      ['withinNext', 'withinLast'].includes(comparison.op) &&
      !isoDuration.safeParse(comparison.value).success
    )
      ctx.addIssue({
        code: 'custom',
        message: `"${comparison.op}" needs a duration such as "P90D"`,
        path: ['value'],
      });
  });
export type ComparisonSpec = z.infer<typeof comparisonSchema>;

export const propertyFilterSchema = comparisonSchema.and(z.object({ property: traitPath }));
export type PropertyFilter = z.infer<typeof propertyFilterSchema>;

/**
 * Which domain events a trigger, goal or wait matches. `event` names a tracked event (Segment `track` name, e.g.
 * `renewal.accepted`) with optional property filters; `pattern` is an EventBridge event pattern over any domain
 * event on the bus (`source`, `detail-type`, `detail`), for events that are not tracked events (`message.clicked`).
 */
export const eventMatcherSchema = z
  .object({
    event: z.string().min(1).max(200).optional(),
    where: z.array(propertyFilterSchema).max(20).default([]),
    pattern: z.record(z.string(), z.json()).optional(),
  })
  .refine((matcher) => (matcher.event === undefined) !== (matcher.pattern === undefined), {
    message: 'give exactly one of "event" (a tracked event name) or "pattern" (an EventBridge event pattern)',
  });
export type EventMatcher = z.infer<typeof eventMatcherSchema>;

export type Condition =
  | { readonly all: readonly Condition[] }
  | { readonly any: readonly Condition[] }
  | { readonly not: Condition }
  | ({ readonly trait: string } & ComparisonSpec)
  | ({ readonly score: string } & ComparisonSpec)
  | { readonly stage: { readonly in: readonly LeadStage[] } }
  | {
      readonly events: EventMatcher;
      /** Counted over this window back from now. */
      readonly within: string;
      /** @default { op: 'gte', value: 1 } */
      readonly count?: ComparisonSpec;
    }
  | { readonly segment: string; readonly member?: boolean };

export const conditionSchema: z.ZodType<Condition> = z.lazy(() =>
  z.union([
    z.object({ all: z.array(conditionSchema).min(1).max(50) }).strict(),
    z.object({ any: z.array(conditionSchema).min(1).max(50) }).strict(),
    z.object({ not: conditionSchema }).strict(),
    comparisonSchema.and(z.object({ trait: traitPath })),
    comparisonSchema.and(z.object({ score: z.string().min(1).max(64) })),
    z.object({ stage: z.object({ in: z.array(z.enum(LEAD_STAGES)).min(1) }).strict() }).strict(),
    z
      .object({
        events: eventMatcherSchema,
        within: isoDuration,
        count: comparisonSchema.optional(),
      })
      .strict(),
    z.object({ segment: z.string().min(1).max(64), member: z.boolean().optional() }).strict(),
  ]),
);

export const triggerSchema = z.discriminatedUnion('type', [
  /** A domain event enters the profile it is about. */
  z.object({ type: z.literal('event'), match: eventMatcherSchema }).strict(),
  /** Entering a segment (segment.entered) enters the profile. */
  z.object({ type: z.literal('segment'), segment: z.string().min(1).max(64) }).strict(),
  /**
   * A date trait plus an offset: `subscription.endsAt` with `-P90D` enters 90 days before the end. A profile whose
   * moment has passed still enters while it is less than `lateBy` late. @default lateBy: the offset's size when
   * the offset is negative (until the date itself), else P1D
   */
  z
    .object({
      type: z.literal('date'),
      attribute: traitPath,
      offset: isoDuration.default('PT0S'),
      lateBy: isoDuration.optional(),
    })
    .strict(),
  /**
   * A schedule (`cron(...)` or `rate(...)`, EventBridge syntax) enters every profile that is a member of `segment`
   * when it fires.
   */
  z
    .object({
      type: z.literal('schedule'),
      expression: z.string().regex(/^(?:cron|rate)\(.+\)$/, 'must be "cron(...)" or "rate(...)"'),
      timeZone: timeZone.optional(),
      segment: z.string().min(1).max(64),
    })
    .strict(),
]);
export type Trigger = z.infer<typeof triggerSchema>;

const next = nodeId;

export const nodeSchema = z.discriminatedUnion('type', [
  /** Exactly one of `duration`, `untilTimeOfDay` (in the profile's time zone) or `untilDate`. */
  z
    .object({
      type: z.literal('wait'),
      duration: isoDuration.optional(),
      untilTimeOfDay: timeOfDay.optional(),
      untilDate: z
        .object({ attribute: traitPath, offset: isoDuration.default('PT0S') })
        .strict()
        .optional(),
      next,
    })
    .strict()
    .refine(
      (node) =>
        [node.duration, node.untilTimeOfDay, node.untilDate].filter((x) => x !== undefined).length === 1,
      { message: 'a wait needs exactly one of "duration", "untilTimeOfDay" or "untilDate"' },
    ),
  /** Waits for an event or the timeout, whichever comes first, and branches on which it was. */
  z
    .object({
      type: z.literal('waitForEvent'),
      match: eventMatcherSchema,
      timeout: isoDuration,
      onEvent: nodeId,
      onTimeout: nodeId,
    })
    .strict(),
  z
    .object({ type: z.literal('condition'), condition: conditionSchema, onTrue: nodeId, onFalse: nodeId })
    .strict(),
  /**
   * Random split, stable per enrollment. Weights are relative; a holdout's share leaves the journey (a control group
   * for measuring lift).
   */
  z
    .object({
      type: z.literal('split'),
      variants: z
        .array(
          z
            .object({
              name: z.string().regex(/^[A-Za-z0-9_-]{1,32}$/),
              weight: z.number().positive().max(1_000_000),
              next: nodeId,
            })
            .strict(),
        )
        .min(1)
        .max(10),
      holdout: z
        .object({ weight: z.number().positive().max(1_000_000) })
        .strict()
        .optional(),
    })
    .strict(),
  z
    .object({
      type: z.literal('sendEmail'),
      templateId: z.string().min(1).max(64),
      templateVersion: z.number().int().positive().optional(),
      next,
    })
    .strict(),
  z
    .object({
      type: z.literal('setBanner'),
      placement: placementSchema,
      content: bannerContentSchema,
      expiresAfter: isoDuration,
      next,
    })
    .strict(),
  z
    .object({
      type: z.literal('webhook'),
      endpointId: z.string().min(1).max(64),
      eventType: z
        .string()
        .regex(/^[a-z][a-z0-9_]*(?:\.[a-z][a-z0-9_]*)+$/, 'must look like "subscription.extend"'),
      payload: z.record(z.string(), z.json()).default({}),
      next,
    })
    .strict(),
  z
    .object({
      type: z.literal('updateProfile'),
      setTraits: z.record(z.string(), z.json()).optional(),
      addScore: z
        .object({ name: z.string().min(1).max(64), points: z.number().int().min(-10_000).max(10_000) })
        .strict()
        .optional(),
      setStage: z.enum(LEAD_STAGES).optional(),
      next,
    })
    .strict()
    .refine((node) => node.setTraits || node.addScore || node.setStage, {
      message: 'updateProfile needs at least one of "setTraits", "addScore" or "setStage"',
    }),
  /** Puts `journey.event_emitted` on the bus with this name, for other journeys and systems. */
  z
    .object({
      type: z.literal('emitEvent'),
      name: z.string().regex(/^[a-z][a-z0-9_]*(?:\.[a-z][a-z0-9_]*)*$/, 'must look like "renewal.offered"'),
      properties: z.record(z.string(), z.json()).default({}),
      next,
    })
    .strict(),
  z.object({ type: z.literal('exit') }).strict(),
]);
export type JourneyNode = z.infer<typeof nodeSchema>;
export type NodeType = JourneyNode['type'];

export const goalSchema = z
  .object({
    id: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/),
    match: eventMatcherSchema.optional(),
    condition: conditionSchema.optional(),
  })
  .strict()
  .refine((goal) => (goal.match === undefined) !== (goal.condition === undefined), {
    message: 'a goal needs exactly one of "match" (an event) or "condition"',
  });
export type Goal = z.infer<typeof goalSchema>;

export const reentrySchema = z.discriminatedUnion('mode', [
  z.object({ mode: z.literal('never') }).strict(),
  z.object({ mode: z.literal('afterExit') }).strict(),
  z.object({ mode: z.literal('afterDays'), days: z.number().int().min(1).max(3650) }).strict(),
]);

export const journeyDefinitionSchema = z
  .object({
    name: z.string().trim().min(1).max(200),
    description: z.string().max(2000).default(''),
    triggers: z.array(triggerSchema).min(1).max(20),
    entry: z
      .object({
        /** Must hold when a trigger fires, else the profile does not enter. */
        condition: conditionSchema.optional(),
        reentry: reentrySchema.default({ mode: 'never' }),
      })
      .strict()
      .default({ reentry: { mode: 'never' } }),
    goals: z.array(goalSchema).max(10).default([]),
    /** Messages this journey may send one profile per window; over the cap a send is skipped or delayed. */
    frequencyCap: z
      .object({
        max: z.number().int().min(1).max(1000),
        window: isoDuration,
        onCap: z.enum(['skip', 'delay']).default('skip'),
      })
      .strict()
      .optional(),
    /** Emails due inside this window wait until it ends (never dropped). Times are in the profile's time zone. */
    quietHours: z.object({ start: timeOfDay, end: timeOfDay }).strict().optional(),
    /** For profiles without a `timezone` trait. @default "UTC" */
    timeZone: timeZone.default('UTC'),
    /** utm_campaign of its emails. @default the journey id */
    campaign: z.string().min(1).max(100).optional(),
    start: nodeId,
    nodes: z.record(nodeId, nodeSchema).refine((nodes) => Object.keys(nodes).length <= MAX_NODES, {
      message: `at most ${MAX_NODES} nodes`,
    }),
  })
  .strict();
export type JourneyDefinition = z.infer<typeof journeyDefinitionSchema>;
export type JourneyDefinitionInput = z.input<typeof journeyDefinitionSchema>;

/** Where each node can go next. */
export function successors(node: JourneyNode): string[] {
  switch (node.type) {
    case 'waitForEvent':
      return [node.onEvent, node.onTimeout];
    case 'condition':
      return [node.onTrue, node.onFalse];
    case 'split':
      return node.variants.map((variant) => variant.next);
    case 'exit':
      return [];
    default:
      return [node.next];
  }
}

const PAUSING_TYPES: ReadonlySet<NodeType> = new Set(['wait', 'waitForEvent']);

export interface DefinitionProblem {
  readonly path: string;
  readonly message: string;
}

/**
 * Checks what the schema cannot: every reference names a node, every node is reachable, and no loop can run without
 * passing a wait (a loop of instant steps would spin forever).
 */
export function checkGraph(definition: JourneyDefinition): DefinitionProblem[] {
  const problems: DefinitionProblem[] = [];
  const { nodes } = definition;
  if (!nodes[definition.start])
    problems.push({ path: 'start', message: `start names node "${definition.start}", which does not exist` });
  for (const [id, node] of Object.entries(nodes)) {
    for (const target of successors(node)) {
      if (!nodes[target])
        problems.push({
          path: `nodes.${id}`,
          message: `node "${id}" leads to "${target}", which does not exist`,
        });
    }
    if (node.type === 'split') {
      const names = node.variants.map((v) => v.name);
      if (new Set(names).size !== names.length)
        problems.push({ path: `nodes.${id}.variants`, message: `variant names of "${id}" must be unique` });
      if (names.includes('holdout'))
        problems.push({
          path: `nodes.${id}.variants`,
          message: '"holdout" is reserved for the holdout group',
        });
    }
  }
  if (problems.length > 0) return problems;

  const reachable = new Set<string>();
  const stack = [definition.start];
  while (stack.length > 0) {
    const id = stack.pop() as string;
    if (reachable.has(id)) continue;
    reachable.add(id);
    const node = nodes[id];
    if (node) stack.push(...successors(node));
  }
  for (const id of Object.keys(nodes)) {
    if (!reachable.has(id))
      problems.push({
        path: `nodes.${id}`,
        message: `node "${id}" cannot be reached from "${definition.start}"`,
      });
  }

  // A cycle among non-pausing nodes would run without end inside one step.
  const state = new Map<string, 'open' | 'done'>();
  const visit = (id: string, trail: string[]): void => {
    const node = nodes[id];
    if (!node || PAUSING_TYPES.has(node.type) || state.get(id) === 'done') return;
    if (state.get(id) === 'open') {
      const loop = [...trail.slice(trail.indexOf(id)), id].join(' → ');
      problems.push({ path: `nodes.${id}`, message: `loop without a wait: ${loop}` });
      return;
    }
    state.set(id, 'open');
    for (const target of successors(node)) visit(target, [...trail, id]);
    state.set(id, 'done');
  };
  for (const id of Object.keys(nodes)) visit(id, []);
  return problems;
}

export class JourneyDefinitionError extends Error {
  override name = 'JourneyDefinitionError';
  constructor(readonly problems: readonly DefinitionProblem[]) {
    super(problems.map((p) => `${p.path}: ${p.message}`).join('; '));
  }
}

/** Parses and checks a definition; throws JourneyDefinitionError listing every problem at once. */
export function parseJourneyDefinition(input: unknown): JourneyDefinition {
  const parsed = journeyDefinitionSchema.safeParse(input);
  if (!parsed.success) {
    throw new JourneyDefinitionError(
      parsed.error.issues.map((issue) => ({
        path: issue.path.join('.') || '(document)',
        message: issue.message,
      })),
    );
  }
  const problems = [...checkGraph(parsed.data), ...checkSchedules(parsed.data)];
  if (problems.length > 0) throw new JourneyDefinitionError(problems);
  return parsed.data;
}

/** Schedule expressions AWS would reject (cron(0 25 * * ? *)) are refused when published, not when they fire. */
function checkSchedules(definition: JourneyDefinition): DefinitionProblem[] {
  return definition.triggers.flatMap((trigger, index) => {
    if (trigger.type !== 'schedule') return [];
    try {
      parseScheduleExpression(trigger.expression);
      return [];
    } catch (error) {
      if (!(error instanceof InvalidScheduleExpressionError)) throw error;
      return [{ path: `triggers.${index}.expression`, message: error.message }];
    }
  });
}
