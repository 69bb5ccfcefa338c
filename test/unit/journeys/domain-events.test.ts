// Journey entries and exits become domain events from enrollment changes (the outbox), once per run.
import { describe, expect, it } from 'vitest';
import { enrollmentFromImage, journeyEventsFor } from '../../../functions/journeys/domain-events.ts';
import type { Enrollment } from '../../../functions/journeys/model.ts';

function enrollment(overrides: Partial<Enrollment> = {}): Enrollment {
  return {
    profileId: 'prof-1',
    journeyId: 'renewal-offer',
    run: 1,
    journeyVersion: 2,
    status: 'active',
    exitReason: null,
    goalId: null,
    nodeId: 'morning',
    waiting: null,
    variant: null,
    enteredAt: '2027-01-01T12:00:00.000Z',
    updatedAt: '2027-01-01T12:00:00.000Z',
    exitedAt: null,
    history: [],
    processed: [],
    sends: [],
    steps: 1,
    pendingEffects: [],
    version: 1,
    ...overrides,
  };
}

describe('journey domain events from enrollment changes', () => {
  it('announce an entry when a run is created, with a dedupe key per run', () => {
    const events = journeyEventsFor(undefined, enrollment());

    expect(events).toEqual([
      expect.objectContaining({
        detailType: 'journey.entered',
        detail: expect.objectContaining({
          dedupeKey: 'renewal-offer:prof-1:1:entered',
          journeyVersion: 2,
          run: 1,
        }),
      }),
    ]);
  });

  it('announce nothing for a step inside a run', () => {
    expect(journeyEventsFor(enrollment(), enrollment({ nodeId: 'email', version: 2 }))).toEqual([]);
  });

  it('announce the exit with its reason and goal when a run ends, and only once', () => {
    const exited = enrollment({
      status: 'exited',
      exitReason: 'goal',
      goalId: 'renewed',
      exitedAt: '2027-01-02T09:00:00.000Z',
    });

    const events = journeyEventsFor(enrollment(), exited);

    expect(events).toEqual([
      expect.objectContaining({
        detailType: 'journey.exited',
        detail: expect.objectContaining({
          reason: 'goal',
          goalId: 'renewed',
          at: '2027-01-02T09:00:00.000Z',
        }),
      }),
    ]);
    expect(journeyEventsFor(exited, { ...exited, version: 3 })).toEqual([]);
  });

  it('announce both entry and exit when a run starts and ends in one change (a holdout)', () => {
    const events = journeyEventsFor(
      enrollment({ status: 'completed', exitReason: 'completed' }),
      enrollment({ run: 2, status: 'exited', exitReason: 'holdout' }),
    );

    expect(events.map((e) => e.detailType)).toEqual(['journey.entered', 'journey.exited']);
  });

  it('read stored images, and none for a removed item', () => {
    expect(enrollmentFromImage(JSON.stringify(enrollment()))).toMatchObject({ journeyId: 'renewal-offer' });
    expect(journeyEventsFor(enrollment(), enrollmentFromImage(undefined))).toEqual([]);
  });
});
