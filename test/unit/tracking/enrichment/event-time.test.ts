// Event time: the client's timestamp corrected for clock skew, never later than we received it.
import { describe, expect, it } from 'vitest';
import { correctedEventTime } from '../../../../functions/tracking/enrichment/event-time.ts';

const RECEIVED_AT = new Date('2024-06-01T12:00:00.000Z');

describe('event time with sentAt', () => {
  it('corrects a client clock that runs an hour fast', () => {
    const eventTime = correctedEventTime({
      receivedAt: RECEIVED_AT,
      sentAt: '2024-06-01T13:00:00.000Z',
      timestamp: '2024-06-01T12:59:50.000Z',
    });

    expect(eventTime).toBe('2024-06-01T11:59:50.000Z');
  });

  it('corrects a client clock that runs a day slow', () => {
    const eventTime = correctedEventTime({
      receivedAt: RECEIVED_AT,
      sentAt: '2024-05-31T12:00:00.000Z',
      timestamp: '2024-05-31T11:30:00.000Z',
    });

    expect(eventTime).toBe('2024-06-01T11:30:00.000Z');
  });

  it('keeps the time an event waited in an offline queue', () => {
    const eventTime = correctedEventTime({
      receivedAt: RECEIVED_AT,
      sentAt: '2024-06-01T12:00:00.000Z',
      timestamp: '2024-05-29T08:00:00.000Z',
    });

    expect(eventTime).toBe('2024-05-29T08:00:00.000Z');
  });

  it('keeps a historical import sent with its original timestamp', () => {
    const eventTime = correctedEventTime({
      receivedAt: RECEIVED_AT,
      sentAt: '2024-06-01T12:00:00.000Z',
      timestamp: '2019-03-15T09:00:00.000Z',
    });

    expect(eventTime).toBe('2019-03-15T09:00:00.000Z');
  });

  it('reads timestamps with an offset', () => {
    const eventTime = correctedEventTime({
      receivedAt: RECEIVED_AT,
      sentAt: '2024-06-01T14:00:00+02:00',
      timestamp: '2024-06-01T13:59:00+02:00',
    });

    expect(eventTime).toBe('2024-06-01T11:59:00.000Z');
  });

  it('clamps an event that claims to happen after its own batch was sent to when we received it', () => {
    const eventTime = correctedEventTime({
      receivedAt: RECEIVED_AT,
      sentAt: '2024-06-01T12:00:00.000Z',
      timestamp: '2024-06-01T12:05:00.000Z',
    });

    expect(eventTime).toBe('2024-06-01T12:00:00.000Z');
  });

  it('uses the timestamp alone when the correction leaves the range of dates', () => {
    const eventTime = correctedEventTime({
      receivedAt: RECEIVED_AT,
      sentAt: '-271821-04-20T00:00:00.000Z',
      timestamp: '2024-06-01T11:00:00.000Z',
    });

    expect(eventTime).toBe('2024-06-01T11:00:00.000Z');
  });
});

describe('event time without a usable sentAt', () => {
  it.each([
    ['missing', undefined],
    ['empty', ''],
    ['garbage', 'yesterday'],
    ['an impossible date', '2024-02-30T10:00:00Z'],
  ])('uses the timestamp as sent when sentAt is %s', (_name, sentAt) => {
    const eventTime = correctedEventTime({
      receivedAt: RECEIVED_AT,
      sentAt,
      timestamp: '2024-06-01T11:58:00.000Z',
    });

    expect(eventTime).toBe('2024-06-01T11:58:00.000Z');
  });

  it('clamps a timestamp from a fast clock to when we received the event', () => {
    const eventTime = correctedEventTime({ receivedAt: RECEIVED_AT, timestamp: '2024-06-01T12:03:00.000Z' });

    expect(eventTime).toBe('2024-06-01T12:00:00.000Z');
  });

  it('clamps a timestamp years in the future to when we received the event', () => {
    const eventTime = correctedEventTime({ receivedAt: RECEIVED_AT, timestamp: '2099-01-01T00:00:00.000Z' });

    expect(eventTime).toBe('2024-06-01T12:00:00.000Z');
  });

  it('reads a timestamp without an offset as UTC, whatever the server time zone', () => {
    const eventTime = correctedEventTime({ receivedAt: RECEIVED_AT, timestamp: '2024-06-01T10:15:00' });

    expect(eventTime).toBe('2024-06-01T10:15:00.000Z');
  });

  it('reads an SQL-style timestamp with a space as UTC', () => {
    const eventTime = correctedEventTime({ receivedAt: RECEIVED_AT, timestamp: '2024-06-01 10:15:00' });

    expect(eventTime).toBe('2024-06-01T10:15:00.000Z');
  });

  it('reads epoch milliseconds, as Snowplow sends them', () => {
    const eventTime = correctedEventTime({
      receivedAt: RECEIVED_AT,
      sentAt: String(Date.parse('2024-06-01T12:00:10.000Z')),
      timestamp: String(Date.parse('2024-06-01T12:00:00.000Z')),
    });

    expect(eventTime).toBe('2024-06-01T11:59:50.000Z');
  });
});

describe('event time without a usable timestamp', () => {
  it.each([
    ['missing', undefined],
    ['empty', ''],
    ['garbage', 'not a date'],
    ['a bare number', '1'],
    ['an impossible month', '2024-13-01T00:00:00Z'],
    ['an impossible day', '2024-02-30T00:00:00Z'],
    ['out of the Date range', '+275760-09-13T00:00:00.001Z'],
  ])('uses receivedAt when the timestamp is %s', (_name, timestamp) => {
    const eventTime = correctedEventTime({
      receivedAt: RECEIVED_AT,
      sentAt: '2024-06-01T12:00:00.000Z',
      timestamp,
    });

    expect(eventTime).toBe('2024-06-01T12:00:00.000Z');
  });

  it('refuses an invalid receivedAt, which is a bug in the caller', () => {
    expect(() => correctedEventTime({ receivedAt: new Date(Number.NaN) })).toThrow(RangeError);
  });
});

/** A small deterministic generator, so a failing input can be reproduced from its seed. */
function seededIntegers(seed: number): (below: number) => number {
  let state = seed >>> 0;
  return (below) => {
    state = (Math.imul(state, 1_664_525) + 1_013_904_223) >>> 0;
    return state % below;
  };
}

describe('event time of arbitrary input', () => {
  it('is never later than receivedAt and never throws', () => {
    const next = seededIntegers(2024);
    const pieces = [
      '2024',
      '-',
      '06',
      '01',
      'T',
      ':',
      '12',
      '00',
      '.',
      '999',
      'Z',
      '+02:00',
      ' ',
      '9',
      'x',
      '+275760',
    ];
    const randomTime = () =>
      next(4) === 0
        ? new Date(RECEIVED_AT.getTime() + (next(2_000_000) - 1_000_000) * 60_000).toISOString()
        : Array.from({ length: next(10) }, () => pieces[next(pieces.length)] ?? '').join('');
    for (let i = 0; i < 5000; i++) {
      const eventTime = correctedEventTime({
        receivedAt: RECEIVED_AT,
        sentAt: randomTime(),
        timestamp: randomTime(),
      });

      expect(Date.parse(eventTime)).toBeLessThanOrEqual(RECEIVED_AT.getTime());
      expect(new Date(eventTime).toISOString()).toBe(eventTime);
    }
  });
});
