// Planning where a journey run goes when its profile is merged into another: pure cases of planMerge.
import { describe, expect, it } from 'vitest';
import { planMerge } from '../../../functions/journeys/merge.ts';
import { type Enrollment, MAX_PROCESSED } from '../../../functions/journeys/model.ts';

const NOW = new Date('2025-07-01T12:00:00.000Z');

function run(overrides: Partial<Enrollment> = {}): Enrollment {
  return {
    profileId: 'p-old',
    journeyId: 'demo-follow-up',
    run: 1,
    journeyVersion: 2,
    status: 'active',
    exitReason: null,
    goalId: null,
    nodeId: 'await',
    waiting: {
      kind: 'waitForEvent',
      nodeId: 'await',
      until: '2025-07-04T12:00:00.000Z',
      timerId: 't:demo-follow-up:p-old:1:2',
    },
    variant: 'B',
    enteredAt: '2025-07-01T07:00:00.000Z',
    updatedAt: '2025-07-01T07:00:00.000Z',
    exitedAt: null,
    history: [{ at: '2025-07-01T07:00:00.000Z', nodeId: 'await', outcome: 'waiting' }],
    processed: ['evt-requested'],
    sends: ['2025-07-01T07:00:00.000Z'],
    steps: 2,
    pendingEffects: [],
    version: 3,
    ...overrides,
  };
}

const survivorsFinishedRun = run({
  profileId: 'p-new',
  run: 3,
  status: 'completed',
  exitReason: 'completed',
  nodeId: 'done',
  waiting: null,
  exitedAt: '2025-06-01T00:00:00.000Z',
  processed: ['evt-survivor-1', 'evt-requested'],
  version: 7,
});

describe('planning a merge', () => {
  it('plans nothing for a run that is no longer active', () => {
    const plan = planMerge({
      from: run({ status: 'completed', waiting: null }),
      into: undefined,
      intoProfileId: 'p-new',
      key: 'merge-1',
      now: NOW,
    });

    expect(plan).toBeUndefined();
  });

  it('plans nothing when the merge event was already applied to the run', () => {
    const plan = planMerge({
      from: run({ processed: ['evt-requested', 'merge-1'] }),
      into: undefined,
      intoProfileId: 'p-new',
      key: 'merge-1',
      now: NOW,
    });

    expect(plan).toBeUndefined();
  });

  it('moves the run with its position, variant and wait, its timer re-filed under the surviving profile', () => {
    const from = run();

    const plan = planMerge({ from, into: undefined, intoProfileId: 'p-new', key: 'merge-1', now: NOW });

    expect(plan?.moved?.next).toMatchObject({
      profileId: 'p-new',
      status: 'active',
      nodeId: 'await',
      variant: 'B',
      waiting: from.waiting,
      journeyVersion: 2,
      version: 1,
    });
    expect(plan?.moved?.expectedVersion).toBe(0);
    expect(plan?.moved?.setTimers).toEqual([
      {
        timerId: 't:demo-follow-up:p-old:1:2',
        dueAt: '2025-07-04T12:00:00.000Z',
        profileId: 'p-new',
        journeyId: 'demo-follow-up',
        kind: 'step',
      },
    ]);
    expect(plan?.ended).toMatchObject({
      next: { status: 'exited', exitReason: 'merged', waiting: null, version: 4 },
      expectedVersion: 3,
      deleteTimers: [expect.objectContaining({ profileId: 'p-old', timerId: 't:demo-follow-up:p-old:1:2' })],
    });
  });

  it("numbers the moved run after the surviving profile's last run, so its message keys never collide", () => {
    const plan = planMerge({
      from: run(),
      into: survivorsFinishedRun,
      intoProfileId: 'p-new',
      key: 'merge-1',
      now: NOW,
    });

    expect(plan?.moved?.next.run).toBe(4);
    expect(plan?.moved?.next.version).toBe(8);
    expect(plan?.moved?.expectedVersion).toBe(7);
  });

  it('carries over the inputs both profiles already applied, and the merge itself, each once', () => {
    const plan = planMerge({
      from: run(),
      into: survivorsFinishedRun,
      intoProfileId: 'p-new',
      key: 'merge-1',
      now: NOW,
    });

    expect(plan?.moved?.next.processed).toEqual(['evt-survivor-1', 'evt-requested', 'merge-1']);
    expect(plan?.ended.next.processed).toEqual(['evt-requested', 'merge-1']);
  });

  it('keeps only the newest processed keys, the merge last', () => {
    const many = Array.from({ length: MAX_PROCESSED }, (_, i) => `evt-${i}`);

    const plan = planMerge({
      from: run({ processed: many }),
      into: undefined,
      intoProfileId: 'p-new',
      key: 'merge-1',
      now: NOW,
    });

    expect(plan?.moved?.next.processed).toHaveLength(MAX_PROCESSED);
    expect(plan?.moved?.next.processed.at(-1)).toBe('merge-1');
    expect(plan?.moved?.next.processed).not.toContain('evt-0');
  });

  it('only ends the run, and stops counting it as waiting, when the surviving profile already runs the journey', () => {
    const plan = planMerge({
      from: run(),
      into: run({ profileId: 'p-new', waiting: null, nodeId: 'invite', version: 2 }),
      intoProfileId: 'p-new',
      key: 'merge-1',
      now: NOW,
    });

    expect(plan?.moved).toBeUndefined();
    expect(plan?.ended.next).toMatchObject({ profileId: 'p-old', status: 'exited', exitReason: 'merged' });
    expect(plan?.ended.counters).toEqual([{ nodeId: 'await', counter: 'waiting', variant: 'B', delta: -1 }]);
  });
});
