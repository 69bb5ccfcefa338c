// Journey clock arithmetic: ISO durations, local times of day in a profile's zone, and quiet-hours windows.
import { DateTime, Duration, IANAZone } from 'luxon';
import type { JsonObject } from '../tracking/model.ts';

interface ParsedDuration {
  readonly negative: boolean;
  readonly duration: Duration;
  /** Milliseconds when the duration has no months or years (in UTC a day is always 24 h); else null. */
  readonly fixedMs: number | null;
}

/** Definitions repeat a handful of durations; parsing them once each keeps per-event evaluation cheap. */
const parsedDurations = new Map<string, ParsedDuration>();
const PARSED_DURATIONS_MAX = 1000;

export function parseDuration(iso: string): ParsedDuration {
  const known = parsedDurations.get(iso);
  if (known) return known;
  const negative = iso.startsWith('-');
  const duration = Duration.fromISO(negative ? iso.slice(1) : iso);
  if (!duration.isValid) throw new RangeError(`"${iso}" is not an ISO 8601 duration`);
  if (parsedDurations.size >= PARSED_DURATIONS_MAX) parsedDurations.clear();
  const calendar = duration.years !== 0 || duration.quarters !== 0 || duration.months !== 0;
  const parsed = { negative, duration, fixedMs: calendar ? null : duration.as('milliseconds') };
  parsedDurations.set(iso, parsed);
  return parsed;
}

/** Calendar units (P1M, P1Y) are applied in UTC, so "a month before" the 31st lands on a real day. */
export function addDuration(at: Date, iso: string): Date {
  const { negative, duration, fixedMs } = parseDuration(iso);
  if (fixedMs !== null) return new Date(at.getTime() + (negative ? -fixedMs : fixedMs));
  const start = DateTime.fromJSDate(at, { zone: 'utc' });
  return (negative ? start.minus(duration) : start.plus(duration)).toJSDate();
}

export function subtractDuration(at: Date, iso: string): Date {
  return addDuration(at, iso.startsWith('-') ? iso.slice(1) : `-${iso}`);
}

function parseTimeOfDay(time: string): { hour: number; minute: number } {
  const match = /^(\d{2}):(\d{2})$/.exec(time);
  if (!match) throw new RangeError(`"${time}" is not a time of day "HH:MM"`);
  return { hour: Number(match[1]), minute: Number(match[2]) };
}

/**
 * The first instant at or after `now` when the clock in `zone` shows `time`. On a day where that time does not exist
 * (the spring-forward gap) luxon moves it forward by the gap, so the profile still gets its step that day.
 */
export function nextTimeOfDay({ now, time, zone }: { now: Date; time: string; zone: string }): Date {
  const { hour, minute } = parseTimeOfDay(time);
  const local = DateTime.fromJSDate(now, { zone });
  const at = (day: DateTime): DateTime => day.set({ hour, minute, second: 0, millisecond: 0 });
  const today = at(local);
  if (today.toMillis() >= now.getTime()) return today.toJSDate();
  // Days, not 24 hours: a DST change must not move the local time.
  return at(local.startOf('day').plus({ days: 1 })).toJSDate();
}

function minutesOfDay(instant: Date, zone: string): number {
  const local = DateTime.fromJSDate(instant, { zone });
  return local.hour * 60 + local.minute + local.second / 60 + local.millisecond / 60_000;
}

function insideWindow({ minutes, start, end }: { minutes: number; start: number; end: number }): boolean {
  return start < end ? minutes >= start && minutes < end : minutes >= start || minutes < end;
}

/**
 * When the quiet window around `now` ends, or null when `now` is outside it. The window is [start, end) in local
 * time and wraps midnight when end < start (21:00–08:00); start == end means no quiet hours at all.
 */
export function quietHoursEnd({
  now,
  start,
  end,
  zone,
}: {
  now: Date;
  start: string;
  end: string;
  zone: string;
}): Date | null {
  if (start === end) return null;
  const from = parseTimeOfDay(start);
  const to = parseTimeOfDay(end);
  const window = { start: from.hour * 60 + from.minute, end: to.hour * 60 + to.minute };
  if (!insideWindow({ minutes: minutesOfDay(now, zone), ...window })) return null;
  let candidate = nextTimeOfDay({ now, time: end, zone });
  // A DST gap can push the end time into the window again; the window then really lasts until the next end.
  for (
    let attempt = 0;
    attempt < 3 && insideWindow({ minutes: minutesOfDay(candidate, zone), ...window });
    attempt++
  )
    candidate = nextTimeOfDay({ now: new Date(candidate.getTime() + 60_000), time: end, zone });
  return candidate;
}

/** The profile's own `timezone` trait when it names a real IANA zone, else the journey's. */
export function profileZone(traits: JsonObject, fallback: string): string {
  const zone = Object.hasOwn(traits, 'timezone') ? traits.timezone : undefined;
  return typeof zone === 'string' && IANAZone.isValidZone(zone) ? zone : fallback;
}

/** Parses an ISO 8601 date or date-time (UTC when no offset is given); null for anything else. */
export function parseDate(value: unknown): Date | null {
  if (typeof value !== 'string' || !/^\d{4}-\d{2}-\d{2}/.test(value)) return null;
  const parsed = DateTime.fromISO(value, { zone: 'utc' });
  return parsed.isValid ? parsed.toJSDate() : null;
}
