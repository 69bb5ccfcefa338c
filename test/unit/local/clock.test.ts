// The local clock moves forward only, survives a restart, and functions see it while timeouts keep real time.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import {
  advanceThroughTimers,
  ClockError,
  clockTarget,
  type EarliestTimer,
  LocalClock,
  parseClockRequest,
} from '../../../lib/local/clock.ts';
import { FunctionPool } from '../../../lib/local/lambda/function-pool.ts';

const DAY_MS = 24 * 60 * 60 * 1000;
const REAL_NOW = Date.parse('2026-01-10T12:00:00.000Z');
const directories: string[] = [];

function temporaryDirectory(): string {
  const directory = mkdtempSync(join(tmpdir(), 'nurture-clock-'));
  directories.push(directory);
  return directory;
}

afterAll(() => {
  for (const directory of directories) rmSync(directory, { recursive: true, force: true });
});

function pinnedClock(file?: string): LocalClock {
  return new LocalClock({ realNow: () => REAL_NOW, ...(file ? { file } : {}) });
}

describe('moving the local clock', () => {
  it('starts at real time', () => {
    expect(pinnedClock().now().toISOString()).toBe('2026-01-10T12:00:00.000Z');
  });

  it('moves forward by an ISO 8601 duration', () => {
    const clock = pinnedClock();

    clock.advance('P90D');

    expect(clock.now().toISOString()).toBe('2026-04-10T12:00:00.000Z');
    expect(clock.offsetMs).toBe(90 * DAY_MS);
  });

  it('counts calendar months in UTC', () => {
    const clock = pinnedClock();

    clock.advance('P1M');

    expect(clock.now().toISOString()).toBe('2026-02-10T12:00:00.000Z');
  });

  it('moves to a given later time', () => {
    const clock = pinnedClock();

    clock.set(new Date('2027-03-01T00:00:00Z'));

    expect(clock.now().toISOString()).toBe('2027-03-01T00:00:00.000Z');
  });

  it('refuses to go back in time', () => {
    const clock = pinnedClock();
    clock.advance('P10D');

    expect(() => clock.set(new Date('2026-01-15T00:00:00Z'))).toThrow(ClockError);
    expect(clock.offsetMs).toBe(10 * DAY_MS);
  });

  it('refuses a negative duration', () => {
    expect(() => pinnedClock().advance('-P1D')).toThrow('only moves forward');
  });

  it('refuses text that is not an ISO 8601 duration', () => {
    expect(() => pinnedClock().advance('90 days')).toThrow('is not an ISO 8601 duration');
  });

  it('keeps the shifted time across a restart', () => {
    const file = join(temporaryDirectory(), 'clock.json');
    pinnedClock(file).advance('P3D');

    const restarted = pinnedClock(file);

    expect(restarted.offsetMs).toBe(3 * DAY_MS);
  });

  it('refuses a stored clock file it cannot read rather than silently resetting time', () => {
    const file = join(temporaryDirectory(), 'clock.json');
    writeFileSync(file, '{"offsetMs":"soon"}');

    expect(() => pinnedClock(file)).toThrow('does not hold a clock offset');
  });
});

describe('the clock control request', () => {
  it('reads an advance by a duration', () => {
    expect(parseClockRequest({ advance: 'P90D' })).toEqual({ advance: 'P90D' });
  });

  it('reads a move to a date-time', () => {
    expect(parseClockRequest({ to: '2027-03-01T00:00:00Z' })).toEqual({
      to: new Date('2027-03-01T00:00:00Z'),
    });
  });

  it.each([
    {},
    { advance: 90 },
    { to: 'next tuesday' },
    { advance: 'P1D', to: '2027-03-01T00:00:00Z' },
    null,
  ])('refuses %j with a message saying what is expected', (body) => {
    expect(() => parseClockRequest(body)).toThrow('Expected {"advance"');
  });

  it('refuses a target in the past', () => {
    expect(() => clockTarget({ to: new Date('2020-01-01T00:00:00Z') }, new Date(REAL_NOW))).toThrow(
      'only moves forward',
    );
  });
});

/** An in-memory timer index: firing removes every timer due at the clock's time, as the sweep does. */
function timerIndex(clock: LocalClock, dueTimes: readonly string[]) {
  const pending = dueTimes.map((dueAt, i) => ({ dueAt: new Date(dueAt), sortKey: `${dueAt}#t${i}` }));
  const fired: Array<{ timer: string; at: string }> = [];
  return {
    fired,
    pending,
    earliestDue: async (): Promise<EarliestTimer | undefined> =>
      [...pending].sort((a, b) => a.sortKey.localeCompare(b.sortKey))[0],
    fireDue: async () => {
      for (const timer of [...pending]) {
        if (timer.dueAt <= clock.now()) {
          pending.splice(pending.indexOf(timer), 1);
          fired.push({ timer: timer.sortKey, at: clock.now().toISOString() });
        }
      }
    },
  };
}

describe('advancing through due timers', () => {
  it('fires each timer due before the target at its own due time, earliest first', async () => {
    const clock = pinnedClock();
    const index = timerIndex(clock, ['2026-01-20T12:00:00.000Z', '2026-01-13T12:00:00.000Z']);

    const result = await advanceThroughTimers({
      clock,
      target: new Date('2026-04-10T12:00:00.000Z'),
      earliestDue: index.earliestDue,
      fireDue: index.fireDue,
    });

    expect(index.fired.map((f) => f.at)).toEqual(['2026-01-13T12:00:00.000Z', '2026-01-20T12:00:00.000Z']);
    expect(result).toEqual({ now: new Date('2026-04-10T12:00:00.000Z'), steps: 2 });
  });

  it('fires a wait set by a fired timer within the same advance', async () => {
    const clock = pinnedClock();
    const index = timerIndex(clock, ['2026-01-13T12:00:00.000Z']);
    const fireAndWaitAgain = async () => {
      const before = index.fired.length;
      await index.fireDue();
      if (index.fired.length > before && index.fired.length === 1) {
        index.pending.push({
          dueAt: new Date('2026-01-20T12:00:00.000Z'),
          sortKey: '2026-01-20T12:00:00.000Z#next',
        });
      }
    };

    await advanceThroughTimers({
      clock,
      target: new Date('2026-04-10T12:00:00.000Z'),
      earliestDue: index.earliestDue,
      fireDue: fireAndWaitAgain,
    });

    expect(index.fired.map((f) => f.at)).toEqual(['2026-01-13T12:00:00.000Z', '2026-01-20T12:00:00.000Z']);
  });

  it('leaves timers due after the target waiting', async () => {
    const clock = pinnedClock();
    const index = timerIndex(clock, ['2026-01-13T12:00:00.000Z', '2026-06-01T00:00:00.000Z']);

    await advanceThroughTimers({
      clock,
      target: new Date('2026-04-10T12:00:00.000Z'),
      earliestDue: index.earliestDue,
      fireDue: index.fireDue,
    });

    expect(index.pending.map((t) => t.sortKey)).toEqual(['2026-06-01T00:00:00.000Z#t1']);
  });

  it('gives a timer that is not yet picked up one more chance at the next sweep', async () => {
    const clock = pinnedClock();
    const sweepAt = new Date('2026-01-13T12:01:00.000Z');
    const index = timerIndex(clock, ['2026-01-13T12:00:30.000Z']);
    const sweep = async () => {
      if (clock.now() >= sweepAt) await index.fireDue();
    };

    await advanceThroughTimers({
      clock,
      target: new Date('2026-04-10T12:00:00.000Z'),
      earliestDue: index.earliestDue,
      fireDue: sweep,
      nextScheduledRun: () => sweepAt,
    });

    expect(index.fired).toEqual([{ timer: '2026-01-13T12:00:30.000Z#t0', at: '2026-01-13T12:01:00.000Z' }]);
  });

  it('stops stepping with a warning when a timer does not fire, and still reaches the target', async () => {
    const clock = pinnedClock();
    const index = timerIndex(clock, ['2026-01-13T12:00:00.000Z']);
    const warnings: string[] = [];

    const result = await advanceThroughTimers({
      clock,
      target: new Date('2026-04-10T12:00:00.000Z'),
      earliestDue: index.earliestDue,
      fireDue: async () => {},
      onWarning: (message) => warnings.push(message),
    });

    expect(warnings).toEqual([expect.stringContaining('due at 2026-01-13T12:00:00.000Z did not fire')]);
    expect(result.now.toISOString()).toBe('2026-04-10T12:00:00.000Z');
  });

  it('stops after the step limit when timers keep coming', async () => {
    const clock = pinnedClock();
    let n = 0;
    const warnings: string[] = [];

    const result = await advanceThroughTimers({
      clock,
      target: new Date('2026-04-10T12:00:00.000Z'),
      earliestDue: async () => ({ dueAt: clock.now(), sortKey: `t${n}` }),
      fireDue: async () => {
        n += 1;
      },
      maxSteps: 5,
      onWarning: (message) => warnings.push(message),
    });

    expect(result.steps).toBe(5);
    expect(warnings).toEqual([expect.stringContaining('after 5 timers')]);
  });
});

describe('functions see the local clock', () => {
  const bundle = temporaryDirectory();
  const luxon = fileURLToPath(new URL('../../../node_modules/luxon/build/node/luxon.js', import.meta.url));
  writeFileSync(
    join(bundle, 'index.mjs'),
    `import luxon from ${JSON.stringify(luxon)};
export async function handler(event, context) {
  return {
    now: Date.now(),
    iso: new Date().toISOString(),
    epoch: new Date(0).getTime(),
    fromParts: new Date(2020, 0, 1).getFullYear(),
    utc: Date.UTC(2020, 0, 1),
    parsed: Date.parse('2020-01-01T00:00:00Z'),
    isDate: new Date() instanceof Date,
    asFunction: Date(),
    luxon: luxon.DateTime.now().toMillis(),
    remainingMs: context.getRemainingTimeInMillis(),
  };
}
`,
  );
  const pools: FunctionPool[] = [];
  afterEach(async () => {
    await Promise.all(pools.splice(0).map((pool) => pool.close()));
  });

  function clockedPool(clock: LocalClock): FunctionPool {
    const pool = new FunctionPool(
      {
        logicalId: 'Clocked',
        functionName: 'clocked',
        functionArn: 'arn:aws:lambda:us-east-1:000000000000:function:clocked',
        codeDirectory: bundle,
        handler: 'index.handler',
        timeoutSeconds: 10,
        memorySize: 128,
        environment: {},
        maxConcurrency: 1,
        logGroupName: '/aws/lambda/clocked',
      },
      { TZ: 'UTC' },
      () => {},
      { clockBuffer: clock.buffer },
    );
    pools.push(pool);
    return pool;
  }

  const fieldsOf = (value: unknown) => {
    if (typeof value !== 'object' || value === null) throw new Error('no answer');
    return new Map(Object.entries(value));
  };

  async function invoke(pool: FunctionPool): Promise<Map<string, unknown>> {
    const result = await pool.invoke({});
    if (!result.ok) throw new Error(result.error.errorMessage);
    return fieldsOf(result.value);
  }

  it('shifts Date.now(), new Date() and Date() by the clock offset', async () => {
    const clock = new LocalClock();
    clock.advance('P90D');
    const expected = Date.now() + 90 * DAY_MS;

    const answer = await invoke(clockedPool(clock));

    expect(Number(answer.get('now'))).toBeGreaterThanOrEqual(expected - 1000);
    expect(Number(answer.get('now'))).toBeLessThan(expected + 5000);
    expect(Date.parse(String(answer.get('iso')))).toBeGreaterThanOrEqual(expected - 1000);
    expect(Date.parse(String(answer.get('asFunction')))).toBeGreaterThanOrEqual(expected - 2000);
    expect(Number(answer.get('luxon'))).toBeGreaterThanOrEqual(expected - 1000);
  });

  it('leaves dates built from a value, Date.UTC, Date.parse and instanceof unchanged', async () => {
    const clock = new LocalClock();
    clock.advance('P90D');

    const answer = await invoke(clockedPool(clock));

    expect(Object.fromEntries(answer)).toMatchObject({
      epoch: 0,
      fromParts: 2020,
      utc: Date.UTC(2020, 0, 1),
      parsed: Date.UTC(2020, 0, 1),
      isDate: true,
    });
  });

  it('keeps the remaining time of an invocation in real time', async () => {
    const clock = new LocalClock();
    clock.advance('P90D');

    const answer = await invoke(clockedPool(clock));

    expect(Number(answer.get('remainingMs'))).toBeGreaterThan(5000);
    expect(Number(answer.get('remainingMs'))).toBeLessThanOrEqual(10_000);
  });

  it('shows a warm instance a later advance at once', async () => {
    const clock = new LocalClock();
    const pool = clockedPool(clock);
    const before = Number((await invoke(pool)).get('now'));

    clock.advance('P7D');
    const after = Number((await invoke(pool)).get('now'));

    expect(after - before).toBeGreaterThanOrEqual(7 * DAY_MS);
    expect(pool.coldStarts).toBe(1);
  });
});
