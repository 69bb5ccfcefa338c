// The time an event happened, corrected for the client's clock skew as KPIS.md defines it.

/** The range of a JavaScript Date; beyond it `toISOString` throws. */
const MAX_DATE_MS = 8.64e15;

/** ISO 8601 date-time without an offset: read as UTC, never in the server's own time zone. */
const ISO_WITHOUT_OFFSET = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?$/;
/** Epoch milliseconds, as Snowplow's dtm/stm are sent, in case a caller passes them through untouched. */
const EPOCH_MILLISECONDS = /^\d{12,14}$/;
/** Anything else must at least start like an ISO 8601 date, so `Date.parse`'s loose fallbacks ("1") are refused. */
const ISO_DATE_START = /^[+-]?\d{4,6}-\d{2}-\d{2}/;

/** Milliseconds since the epoch of a client-sent time, or null when it is missing or not a time. */
function parseClientTime(value: string | undefined): number | null {
  if (typeof value !== 'string') return null;
  // A space instead of the `T` (SQL style) would otherwise make Date.parse read local time.
  const text = value.trim().replace(/^(\d{4}-\d{2}-\d{2}) (?=\d)/, '$1T');
  let milliseconds: number;
  if (EPOCH_MILLISECONDS.test(text)) milliseconds = Number(text);
  else if (ISO_WITHOUT_OFFSET.test(text)) milliseconds = Date.parse(`${text}Z`);
  else if (ISO_DATE_START.test(text)) milliseconds = Date.parse(text);
  else return null;
  if (!Number.isFinite(milliseconds) || Math.abs(milliseconds) > MAX_DATE_MS) return null;
  return hasRealCalendarDate(text) ? milliseconds : null;
}

/** Date.parse rolls `2024-02-30` over to March 1st; a date that does not exist is not a time we can trust. */
function hasRealCalendarDate(text: string): boolean {
  const date = /^([+-]?\d{4,6})-(\d{2})-(\d{2})/.exec(text);
  if (date === null) return true;
  const [, year = '', month = '', day = ''] = date;
  const calendar = new Date(0);
  calendar.setUTCFullYear(Number(year), Number(month) - 1, Number(day));
  return calendar.getUTCMonth() === Number(month) - 1 && calendar.getUTCDate() === Number(day);
}

export interface EventTimeInput {
  /** When our API received the batch: the only clock we trust. */
  readonly receivedAt: Date;
  /** When the client sent the batch, by the client's clock. */
  readonly sentAt?: string;
  /** When the event happened, by the client's clock. */
  readonly timestamp?: string;
}

/**
 * The event's time as an ISO 8601 UTC string.
 *
 * - With a valid timestamp and sentAt: receivedAt − sentAt + timestamp. sentAt and timestamp come from the same
 *   clock, so their difference (how long the event waited in the client's queue) is trustworthy even when that
 *   clock is wrong; receivedAt anchors it to ours. This is what Segment does. Old timestamps are kept: offline
 *   queues and historical imports legitimately send events from days or years ago.
 * - With a valid timestamp only: the timestamp, uncorrected, as nothing can correct it.
 * - Without a valid timestamp: receivedAt.
 *
 * An event cannot happen after we received it, so a result later than receivedAt (a fast client clock without
 * sentAt, or a timestamp later than its own sentAt) is clamped to receivedAt. That keeps "today" free of events from
 * tomorrow, and is the closest possible time to the truth.
 *
 * @throws RangeError when receivedAt is an invalid Date: that is a bug in the caller, not bad client input.
 */
export function correctedEventTime(input: EventTimeInput): string {
  const received = input.receivedAt.getTime();
  if (Number.isNaN(received)) throw new RangeError('receivedAt must be a valid Date');
  const timestamp = parseClientTime(input.timestamp);
  if (timestamp === null) return new Date(received).toISOString();
  const sentAt = parseClientTime(input.sentAt);
  const skewCorrected = sentAt === null ? timestamp : received - sentAt + timestamp;
  // Two valid but absurd times (a sentAt in year 200000) can push the correction outside the Date range.
  const corrected = Math.abs(skewCorrected) <= MAX_DATE_MS ? skewCorrected : timestamp;
  return new Date(Math.min(corrected, received)).toISOString();
}
