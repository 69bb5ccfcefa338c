// When two profiles merge, their journey runs follow: a run of the merged-away profile moves to the surviving one.
import { type CounterChange, type Enrollment, MAX_HISTORY, MAX_PROCESSED, type Timer } from './model.ts';

export interface MergeCommit {
  readonly next: Enrollment;
  readonly expectedVersion: number;
  readonly setTimers: readonly Timer[];
  readonly deleteTimers: readonly Timer[];
  readonly counters: readonly CounterChange[];
}

export interface MergePlan {
  /** The run carried on by the surviving profile; absent when that profile already runs the journey. */
  readonly moved?: MergeCommit;
  /** The merged-away profile's enrollment, ended with reason `merged`. */
  readonly ended: MergeCommit;
}

function timerOf(enrollment: Enrollment): Timer | undefined {
  const { waiting } = enrollment;
  return waiting
    ? {
        timerId: waiting.timerId,
        dueAt: waiting.until,
        profileId: enrollment.profileId,
        journeyId: enrollment.journeyId,
        kind: 'step',
      }
    : undefined;
}

/**
 * Plans the move of one active run from `from` to the surviving profile. Events about the person now name the
 * surviving profile, so a run left behind would never see its goal; it moves, with its position, waits, variant and
 * history, unless the surviving profile already runs the same journey (then the surviving run wins and the other
 * ends). `key` is the merge event's dedupe key, recorded so a replay finds the work done.
 */
export function planMerge(input: {
  from: Enrollment;
  into: Enrollment | undefined;
  intoProfileId: string;
  key: string;
  now: Date;
}): MergePlan | undefined {
  const { from, into, key, now } = input;
  if (from.status !== 'active' || from.processed.includes(key)) return undefined;
  const at = now.toISOString();
  const oldTimer = timerOf(from);
  const ended: MergeCommit = {
    next: {
      ...from,
      status: 'exited',
      exitReason: 'merged',
      exitedAt: at,
      updatedAt: at,
      waiting: null,
      pendingEffects: [],
      processed: [...from.processed, key].slice(-MAX_PROCESSED),
      history: [...from.history, { at, nodeId: from.nodeId, outcome: `merged:${input.intoProfileId}` }].slice(
        -MAX_HISTORY,
      ),
      version: from.version + 1,
    },
    expectedVersion: from.version,
    setTimers: [],
    deleteTimers: oldTimer ? [oldTimer] : [],
    counters: [],
  };
  // A moved run still waits (the node's `waiting` count stays); a run that just ends stops waiting.
  if (into?.status === 'active')
    return {
      ended: {
        ...ended,
        counters: from.waiting
          ? [{ nodeId: from.waiting.nodeId, counter: 'waiting', variant: from.variant, delta: -1 }]
          : [],
      },
    };
  const moved: Enrollment = {
    ...from,
    profileId: input.intoProfileId,
    // A later run number than the survivor's last, so its messages' idempotency keys never collide with that run's.
    run: Math.max(from.run, (into?.run ?? 0) + 1),
    updatedAt: at,
    pendingEffects: [],
    processed: [...new Set([...(into?.processed ?? []), ...from.processed, key])].slice(-MAX_PROCESSED),
    history: [...from.history, { at, nodeId: from.nodeId, outcome: `merged-from:${from.profileId}` }].slice(
      -MAX_HISTORY,
    ),
    version: (into?.version ?? 0) + 1,
  };
  const newTimer = timerOf(moved);
  return {
    moved: {
      next: moved,
      expectedVersion: into?.version ?? 0,
      setTimers: newTimer ? [newTimer] : [],
      deleteTimers: [],
      counters: [],
    },
    ended,
  };
}
