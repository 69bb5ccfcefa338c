// Decides which events a journey's matchers accept and when a date trigger's moment is due for a profile.
import { type EventPattern, matchesEventPattern, parseEventPattern } from '../shared/event-pattern.ts';
import type { JsonObject, JsonValue } from '../tracking/model.ts';
import { compare, readPath } from './conditions.ts';
import type { EventMatcher, Trigger } from './definition.ts';
import type { FactEvent, IncomingEvent } from './model.ts';
import { addDuration, parseDate, parseDuration } from './time.ts';

const TRACKED_SOURCE = 'nurture.tracking';
const TRACKED_DETAIL_TYPE = 'event.tracked';

/** Definitions are parsed once per version and reused for many events, so each pattern is compiled once. */
const compiledPatterns = new WeakMap<object, EventPattern>();

function compiled(pattern: Record<string, JsonValue>): EventPattern {
  let result = compiledPatterns.get(pattern);
  if (!result) {
    result = parseEventPattern(pattern);
    compiledPatterns.set(pattern, result);
  }
  return result;
}

export function isTrackedEvent(event: Pick<IncomingEvent, 'source' | 'detail-type'>): boolean {
  return event.source === TRACKED_SOURCE && event['detail-type'] === TRACKED_DETAIL_TYPE;
}

function isJsonObject(value: JsonValue | undefined): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function whereHolds({
  matcher,
  properties,
  now,
}: {
  matcher: EventMatcher;
  properties: JsonObject;
  now: Date;
}) {
  return matcher.where.every((filter) => compare(readPath(properties, filter.property), filter, now));
}

/** True when the event is what the matcher describes. Date filters (withinLast…) count from the event's own time. */
export function matchesEvent(matcher: EventMatcher, event: IncomingEvent): boolean {
  if (matcher.pattern !== undefined) {
    return matchesEventPattern(compiled(matcher.pattern), {
      source: event.source,
      'detail-type': event['detail-type'],
      detail: event.detail,
    });
  }
  if (!isTrackedEvent(event) || event.detail.event !== matcher.event) return false;
  const properties = event.detail.properties;
  const now = new Date(event.time);
  return whereHolds({ matcher, properties: isJsonObject(properties) ? properties : {}, now });
}

/** The same test for a profile's remembered events, seen as the `event.tracked` envelope they arrived in. */
export function matchesFactEvent(matcher: EventMatcher, event: FactEvent): boolean {
  if (event.event === null) return false;
  return matchesEvent(matcher, {
    source: TRACKED_SOURCE,
    'detail-type': TRACKED_DETAIL_TYPE,
    detail: { event: event.event, properties: event.properties },
    dedupeKey: '',
    time: event.at,
  });
}

export type DateTriggerState =
  | { state: 'future'; at: Date }
  | { state: 'due'; moment: Date }
  | { state: 'none' };

/**
 * Where a profile stands against a date trigger: its moment (trait date + offset) is still ahead, due now (and not
 * more than `lateBy` late), or there is none (no date, or too late to enter).
 */
export function dateTriggerState({
  trigger,
  traits,
  now,
}: {
  trigger: Extract<Trigger, { type: 'date' }>;
  traits: JsonObject;
  now: Date;
}): DateTriggerState {
  const date = parseDate(readPath(traits, trigger.attribute));
  if (!date) return { state: 'none' };
  const moment = addDuration(date, trigger.offset);
  if (moment.getTime() > now.getTime()) return { state: 'future', at: moment };
  const offset = parseDuration(trigger.offset);
  const lateBy =
    trigger.lateBy ?? (offset.negative && offset.duration.toMillis() > 0 ? trigger.offset.slice(1) : 'P1D');
  if (now.getTime() < addDuration(moment, lateBy).getTime()) return { state: 'due', moment };
  return { state: 'none' };
}
