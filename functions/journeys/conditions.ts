// Evaluates journey conditions against a profile's facts, with a short reason a marketer can read in a dry run.
import { isDeepStrictEqual } from 'node:util';
import type { JsonValue } from '../tracking/model.ts';
import type { ComparisonSpec, Condition, EventMatcher } from './definition.ts';
import { matchesFactEvent } from './matching.ts';
import type { ProfileFacts } from './model.ts';
import { addDuration, parseDate, subtractDuration } from './time.ts';

export interface Evaluation {
  readonly result: boolean;
  readonly reason: string;
}

const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

/** Reads a dot path through own properties only, so a path can never reach Object.prototype. */
export function readPath(root: JsonValue, path: string): JsonValue | undefined {
  let current: JsonValue | undefined = root;
  for (const key of path.split('.')) {
    if (FORBIDDEN_KEYS.has(key)) return undefined;
    if (current === null || typeof current !== 'object' || Array.isArray(current)) return undefined;
    if (!Object.hasOwn(current, key)) return undefined;
    current = current[key];
  }
  return current;
}

const SYMBOLS: Record<ComparisonSpec['op'], string> = {
  eq: '=',
  neq: '≠',
  gt: '>',
  gte: '≥',
  lt: '<',
  lte: '≤',
  in: 'in',
  notIn: 'not in',
  contains: 'contains',
  exists: 'exists',
  notExists: 'does not exist',
  withinNext: 'within next',
  withinLast: 'within last',
  before: 'before',
  after: 'after',
};

function isAbsent(value: JsonValue | undefined): value is null | undefined {
  return value === undefined || value === null;
}

/** Numbers, numeric strings against a number, or two ISO dates: the orderings a marketer means. */
function order(value: JsonValue, target: JsonValue | undefined): number | null {
  if (typeof target === 'number') {
    const number = typeof value === 'number' ? value : typeof value === 'string' ? Number(value) : Number.NaN;
    if (typeof value === 'string' && value.trim() === '') return null;
    return Number.isFinite(number) ? number - target : null;
  }
  const left = parseDate(value);
  const right = parseDate(target);
  return left && right ? left.getTime() - right.getTime() : null;
}

/**
 * Compares a trait or event property with a comparison from a definition. An absent value (missing or null) fails
 * every comparison except the negative ones: `neq`, `notIn` and `notExists` hold for it.
 */
export function compare(value: JsonValue | undefined, spec: ComparisonSpec, now: Date): boolean {
  const target = spec.value;
  if (spec.op === 'exists') return !isAbsent(value);
  if (spec.op === 'notExists') return isAbsent(value);
  if (isAbsent(value)) return spec.op === 'neq' || spec.op === 'notIn';
  switch (spec.op) {
    case 'eq':
      return isDeepStrictEqual(value, target);
    case 'neq':
      return !isDeepStrictEqual(value, target);
    case 'in':
      return Array.isArray(target) && target.some((candidate) => isDeepStrictEqual(value, candidate));
    case 'notIn':
      return !(Array.isArray(target) && target.some((candidate) => isDeepStrictEqual(value, candidate)));
    case 'contains':
      if (typeof value === 'string') return typeof target === 'string' && value.includes(target);
      return Array.isArray(value) && value.some((element) => isDeepStrictEqual(element, target));
    case 'gt':
    case 'after': {
      const difference = spec.op === 'after' ? dateOrder(value, target) : order(value, target);
      return difference !== null && difference > 0;
    }
    case 'gte': {
      const difference = order(value, target);
      return difference !== null && difference >= 0;
    }
    case 'lt':
    case 'before': {
      const difference = spec.op === 'before' ? dateOrder(value, target) : order(value, target);
      return difference !== null && difference < 0;
    }
    case 'lte': {
      const difference = order(value, target);
      return difference !== null && difference <= 0;
    }
    case 'withinNext':
    case 'withinLast': {
      const date = parseDate(value);
      if (!date || typeof target !== 'string') return false;
      const [from, to] =
        spec.op === 'withinNext' ? [now, addDuration(now, target)] : [subtractDuration(now, target), now];
      return date.getTime() >= from.getTime() && date.getTime() <= to.getTime();
    }
  }
}

function dateOrder(value: JsonValue, target: JsonValue | undefined): number | null {
  const left = parseDate(value);
  const right = parseDate(target);
  return left && right ? left.getTime() - right.getTime() : null;
}

function show(value: JsonValue | undefined): string {
  return value === undefined ? 'missing' : JSON.stringify(value);
}

function describeComparison({
  label,
  value,
  spec,
  result,
}: {
  label: string;
  value: JsonValue | undefined;
  spec: ComparisonSpec;
  result: boolean;
}): string {
  const symbol = SYMBOLS[spec.op];
  if (spec.op === 'exists' || spec.op === 'notExists')
    return isAbsent(value) ? `${label} is missing` : `${label} = ${show(value)}`;
  if (value === undefined && !result) return `${label} is missing`;
  return `${label} = ${show(value)} ${result ? '' : 'is not '}${symbol} ${show(spec.value)}`;
}

function matcherLabel(matcher: EventMatcher): string {
  return matcher.event !== undefined ? `"${matcher.event}"` : 'matching';
}

function countEvents({
  condition,
  facts,
  now,
}: {
  condition: Extract<Condition, { events: EventMatcher }>;
  facts: ProfileFacts;
  now: Date;
}): Evaluation {
  const since = subtractDuration(now, condition.within).getTime();
  const count = facts.events.filter((event) => {
    const at = Date.parse(event.at);
    return at >= since && at <= now.getTime() && matchesFactEvent(condition.events, event);
  }).length;
  const spec: ComparisonSpec = condition.count ?? { op: 'gte', value: 1 };
  const result = compare(count, spec, now);
  const plural = count === 1 ? 'event' : 'events';
  return {
    result,
    reason: `${count} ${matcherLabel(condition.events)} ${plural} in ${condition.within} (need ${spec.op} ${show(spec.value)})`,
  };
}

/** Evaluates a condition; `reason` says in one line why it holds or not. */
export function evaluate(condition: Condition, facts: ProfileFacts, now: Date): Evaluation {
  if ('all' in condition) {
    const results = condition.all.map((part) => evaluate(part, facts, now));
    const failed = results.find((part) => !part.result);
    if (failed) return { result: false, reason: failed.reason };
    return { result: true, reason: results.map((part) => part.reason).join(' and ') };
  }
  if ('any' in condition) {
    const results = condition.any.map((part) => evaluate(part, facts, now));
    const passed = results.find((part) => part.result);
    if (passed) return { result: true, reason: passed.reason };
    return { result: false, reason: `none of: ${results.map((part) => part.reason).join('; ')}` };
  }
  if ('not' in condition) {
    const inner = evaluate(condition.not, facts, now);
    return { result: !inner.result, reason: `not (${inner.reason})` };
  }
  if ('trait' in condition) {
    const value = readPath(facts.traits, condition.trait);
    const result = compare(value, condition, now);
    return {
      result,
      reason: describeComparison({ label: `traits.${condition.trait}`, value, spec: condition, result }),
    };
  }
  if ('score' in condition) {
    const value = Object.hasOwn(facts.scores, condition.score) ? (facts.scores[condition.score] ?? 0) : 0;
    const result = compare(value, condition, now);
    return {
      result,
      reason: describeComparison({ label: `score ${condition.score}`, value, spec: condition, result }),
    };
  }
  if ('stage' in condition) {
    const result = facts.stage !== null && condition.stage.in.includes(facts.stage);
    return {
      result,
      reason: `stage ${facts.stage ?? '(none)'} ${result ? 'is' : 'is not'} in ${condition.stage.in.join(', ')}`,
    };
  }
  if ('events' in condition) return countEvents({ condition, facts, now });
  const wanted = condition.member ?? true;
  const member = facts.segments.includes(condition.segment);
  return {
    result: member === wanted,
    reason: `${member ? 'in' : 'not in'} segment ${condition.segment}`,
  };
}
