// Journey clock arithmetic: durations, 10:00 in the profile's own zone across DST, and quiet-hours windows.
import { describe, expect, it } from 'vitest';
import { addDuration, nextTimeOfDay, profileZone, quietHoursEnd } from '../../../functions/journeys/time.ts';

const at = (iso: string) => new Date(iso);

describe('durations', () => {
  it('moves back by a negative offset such as 90 days before a date', () => {
    expect(addDuration(at('2025-09-30T00:00:00Z'), '-P90D').toISOString()).toBe('2025-07-02T00:00:00.000Z');
  });

  it('adds calendar months so the end of a month stays on a real day', () => {
    expect(addDuration(at('2025-01-31T12:00:00Z'), 'P1M').toISOString()).toBe('2025-02-28T12:00:00.000Z');
  });

  it('rejects text that is not a duration', () => {
    expect(() => addDuration(at('2025-01-01T00:00:00Z'), 'three days')).toThrow('not an ISO 8601 duration');
  });
});

describe('next time of day', () => {
  it('is later today when the local clock has not reached it yet', () => {
    const next = nextTimeOfDay({ now: at('2025-07-02T05:00:00Z'), time: '10:00', zone: 'Europe/Berlin' });

    expect(next.toISOString()).toBe('2025-07-02T08:00:00.000Z');
  });

  it('is tomorrow once the local clock has passed it', () => {
    const next = nextTimeOfDay({ now: at('2025-07-02T09:00:00Z'), time: '10:00', zone: 'Europe/Berlin' });

    expect(next.toISOString()).toBe('2025-07-03T08:00:00.000Z');
  });

  it('is now when the local clock shows exactly that time', () => {
    const next = nextTimeOfDay({ now: at('2025-07-02T08:00:00Z'), time: '10:00', zone: 'Europe/Berlin' });

    expect(next.toISOString()).toBe('2025-07-02T08:00:00.000Z');
  });

  it('keeps the local time across a DST change', () => {
    // Berlin moves to summer time in the night to 30 March 2025.
    const next = nextTimeOfDay({ now: at('2025-03-29T12:00:00Z'), time: '10:00', zone: 'Europe/Berlin' });

    expect(next.toISOString()).toBe('2025-03-30T08:00:00.000Z');
  });

  it('moves a time that does not exist on a spring-forward day past the gap', () => {
    const next = nextTimeOfDay({ now: at('2025-03-09T05:00:00Z'), time: '02:30', zone: 'America/New_York' });

    expect(next.toISOString()).toBe('2025-03-09T07:30:00.000Z');
  });
});

describe('quiet hours', () => {
  const night = { start: '21:00', end: '08:00', zone: 'Europe/Berlin' };

  it('end the next morning when it is late evening', () => {
    const end = quietHoursEnd({ now: at('2025-07-01T21:30:00Z'), ...night });

    expect(end?.toISOString()).toBe('2025-07-02T06:00:00.000Z');
  });

  it('end the same morning after midnight', () => {
    const end = quietHoursEnd({ now: at('2025-07-02T01:00:00Z'), ...night });

    expect(end?.toISOString()).toBe('2025-07-02T06:00:00.000Z');
  });

  it('do not apply in the daytime', () => {
    expect(quietHoursEnd({ now: at('2025-07-02T10:00:00Z'), ...night })).toBeNull();
  });

  it('are over at the very minute they end', () => {
    expect(quietHoursEnd({ now: at('2025-07-02T06:00:00Z'), ...night })).toBeNull();
  });

  it('can be a window inside one day, such as lunch', () => {
    const lunch = { start: '12:00', end: '14:00', zone: 'UTC' };

    expect(quietHoursEnd({ now: at('2025-07-02T13:00:00Z'), ...lunch })?.toISOString()).toBe(
      '2025-07-02T14:00:00.000Z',
    );
    expect(quietHoursEnd({ now: at('2025-07-02T15:00:00Z'), ...lunch })).toBeNull();
  });

  it('do not exist when start and end are the same', () => {
    expect(
      quietHoursEnd({ now: at('2025-07-02T13:00:00Z'), start: '09:00', end: '09:00', zone: 'UTC' }),
    ).toBeNull();
  });
});

describe('profile time zone', () => {
  it('is the profile timezone trait when it names a real zone', () => {
    expect(profileZone({ timezone: 'America/Chicago' }, 'UTC')).toBe('America/Chicago');
  });

  it('falls back to the journey zone for a missing or made-up zone', () => {
    expect(profileZone({ timezone: 'Mars/Olympus' }, 'Europe/Paris')).toBe('Europe/Paris');
    expect(profileZone({}, 'Europe/Paris')).toBe('Europe/Paris');
  });
});
