// Decides whether a profile belongs to a segment, why, and the next moment that answer could change by itself.
import { compare, evaluate, readPath } from '../journeys/conditions.ts';
import type { ComparisonSpec, Condition, EventMatcher } from '../journeys/definition.ts';
import { matchesFactEvent } from '../journeys/matching.ts';
import type { ProfileFacts } from '../journeys/model.ts';
import { addDuration, parseDate, parseDuration, subtractDuration } from '../journeys/time.ts';
import type { AddressState } from '../messaging/model.ts';
import { type ConsentPolicy, DEFAULT_CONSENT_POLICY, decideSend } from '../messaging/policy.ts';
import {
  type ConsentState,
  DEFAULT_PURPOSE_CATEGORIES,
  type PurposeCategories,
  purposeState,
} from '../tracking/consent.ts';
import {
  type ConsentCondition,
  EMAIL_CONSENT,
  type PurposeCondition,
  type SegmentDefinition,
  type SegmentRule,
} from './definition.ts';

/** What consent leaves read; `email` and `address` make `{ consent: 'email' }` mean what the send policy allows. */
export interface MembershipConsent {
  /** The profile's stored consent (Segment `categoryPreferences`), null when none was ever recorded. */
  readonly profile: ConsentState | null;
  /** The profile's normalized email address, null when it has none. */
  readonly email: string | null;
  /** Suppression and unsubscribes of that address. */
  readonly address: AddressState | null;
  /** @default DEFAULT_CONSENT_POLICY */
  readonly policy?: ConsentPolicy;
  /** Categories per purpose for `{ purpose }` leaves. @default DEFAULT_PURPOSE_CATEGORIES, email marketing as `policy` */
  readonly purposes?: PurposeCategories;
}

export interface MembershipDecision {
  readonly member: boolean;
  /** One line a marketer can read: which conditions held or failed. */
  readonly reason: string;
  /**
   * The earliest future moment the answer could change with no new event (an event leaving a count window, a date
   * trait entering or leaving a `withinNext`/`withinLast` window); null when only a new event can change it. A timer
   * set for it is what keeps time-based segments current without rescanning anyone.
   */
  readonly recheckAt: Date | null;
}

export type MembershipChange = 'entered' | 'exited';

interface Judgement {
  readonly result: boolean;
  readonly reason: string;
  /** Epoch ms of the first moment after `now` at which `result` may differ; null for never (without new facts). */
  readonly changeAt: number | null;
}

interface Context {
  readonly facts: ProfileFacts;
  readonly consent: MembershipConsent;
  readonly now: Date;
}

/** The membership decision for one profile; plain data in, plain data out, so replays and reorderings converge. */
export function evaluateMembership(input: {
  segment: Pick<SegmentDefinition, 'rule'>;
  facts: ProfileFacts;
  consent: MembershipConsent;
  now: Date;
}): MembershipDecision {
  const judgement = judge(input.segment.rule, input);
  return {
    member: judgement.result,
    reason: judgement.reason,
    recheckAt: judgement.changeAt === null ? null : new Date(judgement.changeAt),
  };
}

/** What a new decision means for a profile whose previous membership was `previous` (undefined: never decided). */
export function membershipChange(previous: boolean | undefined, next: boolean): MembershipChange | null {
  if (next && previous !== true) return 'entered';
  if (!next && previous === true) return 'exited';
  return null;
}

function earliest(times: readonly (number | null)[]): number | null {
  const known = times.filter((time): time is number => time !== null);
  return known.length === 0 ? null : Math.min(...known);
}

/** Every one of `times` must pass before the answer can change; one that never passes means it never changes. */
function latest(times: readonly (number | null)[]): number | null {
  if (times.length === 0 || times.some((time) => time === null)) return null;
  return Math.max(...times.filter((time): time is number => time !== null));
}

function judge(rule: SegmentRule, context: Context): Judgement {
  if ('all' in rule) {
    const parts = rule.all.map((part) => judge(part, context));
    const failed = parts.filter((part) => !part.result);
    if (failed.length === 0)
      return {
        result: true,
        reason: parts.map((part) => part.reason).join(' and '),
        changeAt: earliest(parts.map((part) => part.changeAt)),
      };
    // It stays false until every failing part has turned true.
    return {
      result: false,
      reason: failed[0]?.reason ?? '',
      changeAt: latest(failed.map((part) => part.changeAt)),
    };
  }
  if ('any' in rule) {
    const parts = rule.any.map((part) => judge(part, context));
    const passed = parts.filter((part) => part.result);
    if (passed.length === 0)
      return {
        result: false,
        reason: `none of: ${parts.map((part) => part.reason).join('; ')}`,
        changeAt: earliest(parts.map((part) => part.changeAt)),
      };
    return {
      result: true,
      reason: passed[0]?.reason ?? '',
      changeAt: latest(passed.map((part) => part.changeAt)),
    };
  }
  if ('not' in rule) {
    const inner = judge(rule.not, context);
    return { result: !inner.result, reason: `not (${inner.reason})`, changeAt: inner.changeAt };
  }
  if ('consent' in rule) return judgeConsent(rule, context);
  if ('purpose' in rule) return judgePurpose(rule, context);
  const { result, reason } = evaluate(rule, context.facts, context.now);
  return { result, reason, changeAt: leafChangeAt({ leaf: rule, result, context }) };
}

function judgeConsent(rule: ConsentCondition, { consent, now }: Context): Judgement {
  if (rule.consent === EMAIL_CONSENT) {
    const decision = decideSend({
      topic: 'marketing',
      email: consent.email,
      consent: consent.profile,
      address: consent.address,
      recentMarketingSends: [],
      frequencyCap: null,
      consentPolicy: consent.policy ?? DEFAULT_CONSENT_POLICY,
      test: false,
      now,
    });
    return {
      result: decision.send === rule.granted,
      reason: decision.send ? 'marketing email allowed' : `marketing email not allowed: ${decision.detail}`,
      changeAt: null,
    };
  }
  // Category names are matched case-insensitively, as the send policy does; a refusal anywhere wins.
  const wanted = rule.consent.toLowerCase();
  const answers = Object.entries(consent.profile?.categoryPreferences ?? {})
    .filter(([category]) => category.toLowerCase() === wanted)
    .map(([, allowed]) => allowed);
  const granted = answers.length > 0 && answers.every(Boolean);
  const state = answers.length === 0 ? 'not recorded' : granted ? 'granted' : 'refused';
  return { result: granted === rule.granted, reason: `consent ${rule.consent} ${state}`, changeAt: null };
}

function judgePurpose(rule: PurposeCondition, { consent }: Context): Judgement {
  const purposes = consent.purposes ?? {
    ...DEFAULT_PURPOSE_CATEGORIES,
    emailMarketing: (consent.policy ?? DEFAULT_CONSENT_POLICY).categories,
  };
  const state = purposeState(consent.profile?.categoryPreferences, purposes[rule.purpose]);
  return { result: state === rule.state, reason: `${rule.purpose} consent ${state}`, changeAt: null };
}

type Leaf = Exclude<Condition, { all: unknown } | { any: unknown } | { not: unknown }>;

function leafChangeAt({ leaf, result, context }: { leaf: Leaf; result: boolean; context: Context }) {
  if ('events' in leaf)
    return eventCountChangeAt({ condition: leaf, result, facts: context.facts, now: context.now });
  if ('trait' in leaf && (leaf.op === 'withinNext' || leaf.op === 'withinLast')) {
    const date = parseDate(readPath(context.facts.traits, leaf.trait));
    if (date === null || typeof leaf.value !== 'string') return null;
    return dateWindowChangeAt({ date: date.getTime(), op: leaf.op, duration: leaf.value, now: context.now });
  }
  // Scores are numbers, and every other comparison is against a fixed value: only new facts change them.
  return null;
}

/**
 * The least `t` in (`after`, `before`] for which `holds(t)` is true, for a `holds` that turns true once and stays
 * true (true at `before`). `guess` is exact for durations without months or years, so the search rarely runs.
 */
function firstMoment({
  holds,
  after,
  before,
  guess,
}: {
  holds: (t: number) => boolean;
  after: number;
  before: number;
  guess: number;
}): number {
  if (guess > after && guess <= before && holds(guess) && !holds(guess - 1)) return guess;
  let low = after;
  let high = before;
  while (high - low > 1) {
    const middle = Math.floor((low + high) / 2);
    if (holds(middle)) high = middle;
    else low = middle;
  }
  return high;
}

/** Months and years clamp to the end of shorter months, which can shift a boundary by up to three days. */
const CALENDAR_SLACK_MS = 4 * 86_400_000;

/** When `instant ≥ now − duration` first stops holding, i.e. when `instant` leaves a window reaching back from now. */
function leavesWindowAt(instant: number, duration: string): number {
  const guess = addDuration(new Date(instant), duration).getTime() + 1;
  return firstMoment({
    holds: (t) => subtractDuration(new Date(t), duration).getTime() > instant,
    after: instant,
    before: guess + CALENDAR_SLACK_MS,
    guess,
  });
}

function dateWindowChangeAt({
  date,
  op,
  duration,
  now,
}: {
  date: number;
  op: 'withinNext' | 'withinLast';
  duration: string;
  now: Date;
}): number | null {
  const current = now.getTime();
  if (op === 'withinNext') {
    // [now, now + duration]: a date in the past never comes back; one inside drops out once it has passed.
    if (date < current) return null;
    const horizon = addDuration(now, duration).getTime();
    if (date <= horizon) return date + 1;
    const guess = subtractDuration(new Date(date), duration).getTime();
    return firstMoment({
      holds: (t) => addDuration(new Date(t), duration).getTime() >= date,
      after: current,
      before: date,
      guess,
    });
  }
  // [now − duration, now]: a future date enters when it arrives, a date inside leaves when it is too old.
  if (date > current) return date;
  if (date < subtractDuration(now, duration).getTime()) return null;
  return leavesWindowAt(date, duration);
}

function hasFixedLength(duration: string): boolean {
  const parts = parseDuration(duration).duration.toObject();
  return !parts.years && !parts.quarters && !parts.months;
}

/**
 * Replays the count's future without new events: events in the window leave it one by one, events stamped in the
 * future (a skewed clock) enter it when their time comes. The first moment the comparison flips is the answer.
 */
function eventCountChangeAt({
  condition,
  result,
  facts,
  now,
}: {
  condition: { readonly events: EventMatcher; readonly within: string; readonly count?: ComparisonSpec };
  result: boolean;
  facts: ProfileFacts;
  now: Date;
}): number | null {
  const current = now.getTime();
  const since = subtractDuration(now, condition.within).getTime();
  const fixedMs = hasFixedLength(condition.within)
    ? parseDuration(condition.within).duration.as('milliseconds')
    : null;
  const exitOf = (at: number) => (fixedMs === null ? leavesWindowAt(at, condition.within) : at + fixedMs + 1);
  const deltas = new Map<number, number>();
  const shift = (at: number, delta: number) => deltas.set(at, (deltas.get(at) ?? 0) + delta);
  let count = 0;
  for (const event of facts.events) {
    const at = Date.parse(event.at);
    if (!Number.isFinite(at) || at < since || !matchesFactEvent(condition.events, event)) continue;
    if (at <= current) count += 1;
    else shift(at, 1);
    shift(exitOf(at), -1);
  }
  const spec: ComparisonSpec = condition.count ?? { op: 'gte', value: 1 };
  for (const at of [...deltas.keys()].sort((a, b) => a - b)) {
    count += deltas.get(at) ?? 0;
    if (compare(count, spec, new Date(at)) !== result) return at;
  }
  return null;
}

/** A row of a segment export. */
export interface SegmentMemberRow {
  readonly profileId: string;
  readonly userId?: string | null;
  readonly email?: string | null;
  readonly enteredAt: string;
}

const CSV_COLUMNS = ['profileId', 'userId', 'email', 'enteredAt'] as const;

/** Quotes per RFC 4180, and defuses cells a spreadsheet would run as a formula (OWASP CSV injection). */
function csvCell(value: string | null | undefined): string {
  const text = value ?? '';
  const safe = /^[=+\-@\t\r]/.test(text) ? `'${text}` : text;
  return /[",\r\n]/.test(safe) ? `"${safe.replaceAll('"', '""')}"` : safe;
}

/** Segment members as CSV (header first, CRLF line ends), for an export a spreadsheet opens safely. */
export function membersCsv(rows: readonly SegmentMemberRow[]): string {
  const lines = [CSV_COLUMNS.join(',')];
  for (const row of rows) lines.push(CSV_COLUMNS.map((column) => csvCell(row[column])).join(','));
  return `${lines.join('\r\n')}\r\n`;
}
