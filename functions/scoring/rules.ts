// Scoring rules: the versioned JSON document a marketer writes (behaviour points, fit points, decay, stage thresholds).
import { Duration } from 'luxon';
import * as z from 'zod';
import {
  type Condition,
  conditionSchema,
  eventMatcherSchema,
  type LEAD_STAGES,
} from '../journeys/definition.ts';
import { isTrackedEvent, matchesEvent } from '../journeys/matching.ts';
import type { IncomingEvent } from '../journeys/model.ts';
import type { JsonValue } from '../tracking/model.ts';

/** Same alphabet as the lead item's `score_<name>` attributes (journeys' dynamodb-store), so a name is always storable. */
export const SCORE_NAME_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;
export const RULE_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;
/** A tracked event that made an email address known (`hasEmail` on `event.tracked`). */
export const EMAIL_KNOWN_MATCHER = {
  pattern: { source: ['nurture.tracking'], 'detail-type': ['event.tracked'], detail: { hasEmail: [true] } },
  where: [],
};
const DEFAULT_LEAD_EVENTS = [
  { event: 'Form Submitted', where: [] },
  { event: 'form.submitted', where: [] },
  EMAIL_KNOWN_MATCHER,
];

/** Bounded so one event's matching work and the stored document stay small. */
export const MAX_RULES = 200;
const MAX_POINTS = 10_000;

export const SCORE_KINDS = ['behaviour', 'fit', 'combined'] as const;
export type ScoreKind = (typeof SCORE_KINDS)[number];

/**
 * Length in milliseconds of a duration that has one (weeks, days, hours, minutes, seconds); null for calendar units
 * (months, years), whose length depends on when they start, and for anything that is not a positive ISO duration.
 */
export function fixedDurationMillis(iso: string): number | null {
  const duration = Duration.fromISO(iso);
  if (!duration.isValid) return null;
  if (duration.years !== 0 || duration.quarters !== 0 || duration.months !== 0) return null;
  const millis = duration.toMillis();
  return Number.isFinite(millis) && millis > 0 ? millis : null;
}

const fixedDuration = (minimumMillis: number) =>
  z.string().refine(
    (value) => {
      const millis = fixedDurationMillis(value);
      return millis !== null && millis >= minimumMillis;
    },
    {
      message: `must be an ISO 8601 duration in weeks, days, hours or minutes (no months or years), at least ${minimumMillis / 60_000} minute(s), such as "P7D"`,
    },
  );

const points = z
  .number()
  .min(-MAX_POINTS)
  .max(MAX_POINTS)
  .refine((value) => value !== 0, { message: 'a rule that gives 0 points does nothing; remove it instead' });

const ruleId = z.string().regex(RULE_ID_PATTERN, 'rule ids are 1–64 of A-Z, a-z, 0-9, "_", "." and "-"');
const scoreName = z.string().regex(SCORE_NAME_PATTERN, 'score names are 1–64 of A-Z, a-z, 0-9, "_" and "-"');

/** `/regex/flags`, or else a glob where `*` is any run of characters and `?` one character. */
const REGEX_LITERAL = /^\/(.+)\/([a-z]*)$/;

/** Compiles a page rule's URL pattern; globs match the whole path or URL, case-insensitively. */
export function compileUrlPattern(pattern: string): RegExp {
  const literal = REGEX_LITERAL.exec(pattern);
  if (literal) return new RegExp(literal[1] ?? '', (literal[2] ?? '').replaceAll(/[gy]/g, ''));
  const body = pattern
    .split('')
    .map((character) => {
      if (character === '*') return '.*';
      if (character === '?') return '.';
      return character.replace(/[\\^$.|+()[\]{}]/g, '\\$&');
    })
    .join('');
  return new RegExp(`^${body}$`, 'i');
}

const urlPattern = z
  .string()
  .min(1)
  .max(200)
  .refine(
    (pattern) => {
      try {
        compileUrlPattern(pattern);
        return true;
      } catch {
        return false;
      }
    },
    { message: 'must be a glob such as "/pricing*" or a regular expression such as "/^\\/pricing/i"' },
  );

/** Points per period: a rule gives at most `max` points (in absolute value) in each period of length `per`. */
const capSchema = z
  .object({ max: z.number().positive().max(MAX_POINTS), per: fixedDuration(60_000) })
  .strict();

export const behaviourRuleSchema = z
  .object({
    id: ruleId,
    description: z.string().max(500).optional(),
    /** A domain or tracked event (journeys' event matcher). */
    match: eventMatcherSchema.optional(),
    /** A page view whose path or URL matches, e.g. the pricing page. */
    page: z.object({ urlPattern }).strict().optional(),
    points,
    cap: capSchema.optional(),
  })
  .strict()
  .refine((rule) => (rule.match === undefined) !== (rule.page === undefined), {
    message: 'give exactly one of "match" (an event matcher) or "page" (a page view URL pattern)',
  });
export type BehaviourRule = z.infer<typeof behaviourRuleSchema>;

/** Fit is who someone is, not what they do: a fit condition may read traits only (and all/any/not of them). */
function readsTraitsOnly(condition: Condition): boolean {
  if ('all' in condition) return condition.all.every(readsTraitsOnly);
  if ('any' in condition) return condition.any.every(readsTraitsOnly);
  if ('not' in condition) return readsTraitsOnly(condition.not);
  return 'trait' in condition;
}

export const fitRuleSchema = z
  .object({
    id: ruleId,
    description: z.string().max(500).optional(),
    condition: conditionSchema.refine(readsTraitsOnly, {
      message: 'fit conditions read traits only (use behaviour rules for events)',
    }),
    points,
  })
  .strict();
export type FitRule = z.infer<typeof fitRuleSchema>;

/** Stages a score can move a profile into; later stages are sales' decisions (see stages.ts). */
export const THRESHOLD_STAGES = ['lead', 'mql'] as const satisfies readonly (typeof LEAD_STAGES)[number][];

export const thresholdSchema = z
  .object({
    stage: z.enum(THRESHOLD_STAGES),
    score: z.enum(SCORE_KINDS).default('combined'),
    atLeast: z
      .number()
      .min(-MAX_POINTS * MAX_RULES)
      .max(MAX_POINTS * MAX_RULES),
  })
  .strict();
export type Threshold = z.infer<typeof thresholdSchema>;

export const scoringRulesSchema = z
  .object({
    /** Set by the store on publish; a score state remembers which version computed it. */
    version: z.int().min(1).default(1),
    scores: z
      .object({
        behaviour: scoreName.default('behaviour'),
        fit: scoreName.default('fit'),
        combined: scoreName.default('combined'),
        /** combined = behaviour × weights.behaviour + fit × weights.fit; weights are ≥ 0 so decay only lowers it. */
        weights: z
          .object({
            behaviour: z.number().min(0).max(100).default(1),
            fit: z.number().min(0).max(100).default(1),
          })
          .strict()
          .prefault({}),
      })
      .strict()
      .prefault({}),
    behaviour: z.array(behaviourRuleSchema).max(MAX_RULES).default([]),
    fit: z.array(fitRuleSchema).max(MAX_RULES).default([]),
    /** Behaviour points halve every `halfLife`; fit points never decay. Absent: no decay. */
    decay: z
      .object({ halfLife: fixedDuration(60 * 60_000) })
      .strict()
      .optional(),
    thresholds: z
      .array(thresholdSchema)
      .max(10)
      .default([{ stage: 'mql', score: 'combined', atLeast: 100 }]),
    /**
     * Tracked or domain events that make a subscriber a lead. By default (KPIS.md) a profile becomes a lead when it
     * is first known by an email address: any tracked event carrying one (an identify with `traits.email`, a
     * `Signed Up` with `properties.email`), and a form submit.
     */
    leadEvents: z.array(eventMatcherSchema).max(20).default(DEFAULT_LEAD_EVENTS),
  })
  .strict()
  .superRefine((rules, ctx) => {
    const seen = new Set<string>();
    for (const [kind, list] of [
      ['behaviour', rules.behaviour],
      ['fit', rules.fit],
    ] as const) {
      list.forEach((rule, index) => {
        if (seen.has(rule.id))
          ctx.addIssue({
            code: 'custom',
            message: `rule id "${rule.id}" is used twice`,
            path: [kind, index, 'id'],
          });
        seen.add(rule.id);
      });
    }
    const names = [rules.scores.behaviour, rules.scores.fit, rules.scores.combined];
    if (new Set(names).size !== names.length)
      ctx.addIssue({ code: 'custom', message: 'the three score names must differ', path: ['scores'] });
    const stages = rules.thresholds.map((threshold) => threshold.stage);
    if (new Set(stages).size !== stages.length)
      ctx.addIssue({ code: 'custom', message: 'one threshold per stage', path: ['thresholds'] });
  });
export type ScoringRules = z.infer<typeof scoringRulesSchema>;
export type ScoringRulesInput = z.input<typeof scoringRulesSchema>;

export class InvalidScoringRulesError extends Error {
  override readonly name = 'InvalidScoringRulesError';
}

/** Parses a rules document; every problem is reported at once, each prefixed with its path. */
export function parseScoringRules(input: unknown): ScoringRules {
  const parsed = scoringRulesSchema.safeParse(input);
  if (parsed.success) return parsed.data;
  const problems = parsed.error.issues.map((issue) =>
    issue.path.length > 0 ? `${issue.path.join('.')}: ${issue.message}` : issue.message,
  );
  throw new InvalidScoringRulesError(problems.join('; '));
}

/** Behaviour points decay with this half-life in milliseconds; null means no decay. */
export function halfLifeMillis(rules: ScoringRules): number | null {
  return rules.decay === undefined ? null : fixedDurationMillis(rules.decay.halfLife);
}

const compiledPatterns = new Map<string, RegExp>();

function compiledUrlPattern(pattern: string): RegExp {
  let compiled = compiledPatterns.get(pattern);
  if (!compiled) {
    compiled = compileUrlPattern(pattern);
    // Patterns come from a few rules documents; the bound only guards against unbounded growth.
    if (compiledPatterns.size > 1000) compiledPatterns.clear();
    compiledPatterns.set(pattern, compiled);
  }
  return compiled;
}

function text(value: JsonValue | undefined): string | null {
  return typeof value === 'string' && value.length > 0 ? value : null;
}

function pathOf(url: string): string | null {
  try {
    return new URL(url).pathname;
  } catch {
    return null;
  }
}

/** The page's path and full URL (Segment page properties `path` and `url`), whichever the client sent. */
function pageAddresses(event: IncomingEvent): string[] {
  const properties = event.detail.properties;
  if (properties === null || typeof properties !== 'object' || Array.isArray(properties)) return [];
  const url = Object.hasOwn(properties, 'url') ? text(properties.url) : null;
  const path =
    (Object.hasOwn(properties, 'path') ? text(properties.path) : null) ?? (url ? pathOf(url) : null);
  return [path, url].filter((address) => address !== null);
}

/** True when a behaviour rule gives points for this event. */
export function behaviourRuleMatches(rule: BehaviourRule, event: IncomingEvent): boolean {
  if (rule.match !== undefined) return matchesEvent(rule.match, event);
  if (rule.page === undefined || !isTrackedEvent(event) || event.detail.type !== 'page') return false;
  const pattern = compiledUrlPattern(rule.page.urlPattern);
  return pageAddresses(event).some((address) => pattern.test(address));
}
