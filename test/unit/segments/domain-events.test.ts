// Segment events from the outbox: a membership item created is an entry, one removed is an exit, nothing else is.
import { describe, expect, it } from 'vitest';
import { segmentEntered, segmentExited } from '../../../functions/journeys/domain-events.ts';
import { segmentEventsFor } from '../../../functions/segments/domain-events.ts';

const keys = { pk: 'SEGMENT#pricing-fans', sk: 'MEMBER#prof_1' };
const image = { enteredAt: { S: '2026-05-01T12:00:00.000Z' }, at: { S: '2026-05-01T12:00:00.000Z' } };
const changedAt = '2026-05-03T08:00:00.000Z';

describe('segment membership events from the table stream', () => {
  it('publishes segment.entered, in the journeys catalogue shape, when a membership item is created', () => {
    const [event, ...rest] = segmentEventsFor({
      eventName: 'INSERT',
      keys,
      oldImage: undefined,
      newImage: image,
      changedAt,
    });

    expect(rest).toEqual([]);
    expect(event?.detailType).toBe(segmentEntered.detailType);
    expect(event?.source).toBe(segmentEntered.source);
    expect(segmentEntered.detail.parse(event?.detail)).toEqual({
      dedupeKey: 'segment:pricing-fans:prof_1:2026-05-01T12:00:00.000Z:entered',
      profileId: 'prof_1',
      segmentId: 'pricing-fans',
      at: '2026-05-01T12:00:00.000Z',
    });
  });

  it('publishes segment.exited at the time of removal when the membership item is removed', () => {
    const [event] = segmentEventsFor({
      eventName: 'REMOVE',
      keys,
      oldImage: image,
      newImage: undefined,
      changedAt,
    });

    expect(event?.detailType).toBe(segmentExited.detailType);
    expect(segmentExited.detail.parse(event?.detail)).toMatchObject({
      segmentId: 'pricing-fans',
      at: changedAt,
    });
  });

  it('gives a replayed stream record the same dedupe key', () => {
    const once = segmentEventsFor({
      eventName: 'INSERT',
      keys,
      oldImage: undefined,
      newImage: image,
      changedAt,
    });
    const again = segmentEventsFor({
      eventName: 'INSERT',
      keys,
      oldImage: undefined,
      newImage: image,
      changedAt,
    });

    expect(again).toEqual(once);
  });

  it('ignores items that are not segment memberships', () => {
    expect(
      segmentEventsFor({
        eventName: 'INSERT',
        keys: { pk: 'PROFILE#prof_1', sk: 'SEGMENT#pricing-fans' },
        oldImage: undefined,
        newImage: image,
        changedAt,
      }),
    ).toEqual([]);
  });
});
