// Local schedules fire at the times their expressions give, can be run on demand, and report their status.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { parseScheduleExpression } from '../../../lib/local/schedule-expression.ts';
import { type LocalSchedule, ScheduleRunner } from '../../../lib/local/schedules.ts';

interface RecordedSchedule extends LocalSchedule {
  readonly fired: Date[];
}

function schedule(
  name: string,
  expression: string,
  options: { enabled?: boolean; fire?: () => Promise<void> } = {},
): RecordedSchedule {
  const fired: Date[] = [];
  return {
    name,
    logicalId: `${name.replace(/[^A-Za-z]/g, '')}Rule`,
    expression: parseScheduleExpression(expression),
    enabled: options.enabled ?? true,
    fired,
    fire:
      options.fire ??
      (async () => {
        fired.push(new Date());
      }),
  };
}

const runners: ScheduleRunner[] = [];

function runner(
  schedules: readonly LocalSchedule[],
  onError: (message: string) => void = () => {},
): ScheduleRunner {
  const created = new ScheduleRunner(schedules, onError, () => new Date());
  runners.push(created);
  return created;
}

afterEach(() => {
  for (const created of runners.splice(0)) created.stop();
  vi.useRealTimers();
});

const START = new Date('2024-03-01T09:00:00.000Z');

describe('running a schedule on demand', () => {
  it('runs a schedule by its name', async () => {
    const rollup = schedule('nurture-kpi-rollup', 'cron(0 2 * * ? *)');

    await runner([rollup]).runNow('nurture-kpi-rollup');

    expect(rollup.fired).toHaveLength(1);
  });

  it('runs a schedule by its logical ID', async () => {
    const rollup = schedule('nurture-kpi-rollup', 'cron(0 2 * * ? *)');

    await runner([rollup]).runNow('nurturekpirollupRule');

    expect(rollup.fired).toHaveLength(1);
  });

  it('runs only the schedule asked for', async () => {
    const rollup = schedule('rollup', 'rate(1 day)');
    const cleanup = schedule('cleanup', 'rate(1 day)');

    await runner([rollup, cleanup]).runNow('cleanup');

    expect([rollup.fired.length, cleanup.fired.length]).toEqual([0, 1]);
  });

  it('runs a disabled schedule when asked to', async () => {
    const paused = schedule('paused', 'rate(1 hour)', { enabled: false });

    await runner([paused]).runNow('paused');

    expect(paused.fired).toHaveLength(1);
  });

  it('rejects a name no schedule has', async () => {
    await expect(runner([schedule('rollup', 'rate(1 day)')]).runNow('missing')).rejects.toThrow(
      'No schedule named missing',
    );
  });

  it('passes on a failure of the schedule targets', async () => {
    const failing = schedule('failing', 'rate(1 day)', {
      fire: async () => {
        throw new Error('target function not found');
      },
    });

    await expect(runner([failing]).runNow('failing')).rejects.toThrow('target function not found');
  });
});

describe('status', () => {
  it('reports a schedule that has not been armed or run', () => {
    const status = runner([schedule('rollup', 'rate(5 minutes)')]).list();

    expect(status).toEqual([
      { name: 'rollup', expression: 'rate(5 minutes)', enabled: true, nextRun: null, lastRun: null, runs: 0 },
    ]);
  });

  it('computes the next run once started', () => {
    vi.useFakeTimers({ now: START });
    const scheduler = runner([schedule('rollup', 'cron(30 9 * * ? *)'), schedule('tick', 'rate(1 minute)')]);

    scheduler.start();

    expect(scheduler.list().map((s) => s.nextRun)).toEqual([
      '2024-03-01T09:30:00.000Z',
      '2024-03-01T09:01:00.000Z',
    ]);
  });

  it('counts runs and records the last run time', async () => {
    vi.useFakeTimers({ now: START });
    const scheduler = runner([schedule('rollup', 'rate(1 day)')]);

    await scheduler.runNow('rollup');
    vi.setSystemTime(new Date('2024-03-01T10:15:00.000Z'));
    await scheduler.runNow('rollup');

    expect(scheduler.list()[0]).toMatchObject({ runs: 2, lastRun: '2024-03-01T10:15:00.000Z' });
  });

  it('does not arm a disabled schedule', () => {
    vi.useFakeTimers({ now: START });
    const paused = schedule('paused', 'rate(1 minute)', { enabled: false });
    const scheduler = runner([paused]);

    scheduler.start();
    vi.advanceTimersByTime(10 * 60_000);

    expect(paused.fired).toEqual([]);
    expect(scheduler.list()[0]).toMatchObject({ enabled: false, nextRun: null, runs: 0 });
  });

  it('has no next run for a one-time schedule whose time has passed', () => {
    vi.useFakeTimers({ now: START });
    const scheduler = runner([schedule('launch', 'at(2024-02-01T00:00:00)')]);

    scheduler.start();

    expect(scheduler.list()[0]?.nextRun).toBeNull();
  });

  it('aligns rate schedules to the clock it was given', () => {
    const givenNow = new Date('2030-01-01T00:00:00.000Z');
    const scheduler = new ScheduleRunner(
      [schedule('tick', 'rate(1 minute)')],
      () => {},
      () => givenNow,
    );
    runners.push(scheduler);

    scheduler.start();

    expect(scheduler.list()[0]?.nextRun).toBe('2030-01-01T00:01:00.000Z');
  });
});

describe('timers', () => {
  it('fires a rate(1 minute) schedule once a minute from the start', async () => {
    vi.useFakeTimers({ now: START });
    const tick = schedule('tick', 'rate(1 minute)');
    const scheduler = runner([tick]);

    scheduler.start();
    await vi.advanceTimersByTimeAsync(3 * 60_000 + 30_000);

    expect(tick.fired.map((d) => d.toISOString())).toEqual([
      '2024-03-01T09:01:00.000Z',
      '2024-03-01T09:02:00.000Z',
      '2024-03-01T09:03:00.000Z',
    ]);
    expect(scheduler.list()[0]).toMatchObject({
      runs: 3,
      lastRun: '2024-03-01T09:03:00.000Z',
      nextRun: '2024-03-01T09:04:00.000Z',
    });
  });

  it('does not fire before the first period has passed', async () => {
    vi.useFakeTimers({ now: START });
    const tick = schedule('tick', 'rate(1 minute)');

    runner([tick]).start();
    await vi.advanceTimersByTimeAsync(59_999);

    expect(tick.fired).toEqual([]);
  });

  it('fires a cron schedule at its time of day', async () => {
    vi.useFakeTimers({ now: START });
    const rollup = schedule('rollup', 'cron(0 2 * * ? *)');

    runner([rollup]).start();
    await vi.advanceTimersByTimeAsync(24 * 60 * 60_000);

    expect(rollup.fired.map((d) => d.toISOString())).toEqual(['2024-03-02T02:00:00.000Z']);
  });

  it('stops firing once stopped', async () => {
    vi.useFakeTimers({ now: START });
    const tick = schedule('tick', 'rate(1 minute)');
    const scheduler = runner([tick]);
    scheduler.start();
    await vi.advanceTimersByTimeAsync(60_000);

    scheduler.stop();
    await vi.advanceTimersByTimeAsync(5 * 60_000);

    expect(tick.fired).toHaveLength(1);
  });

  it('reports a failed run with the schedule name and keeps the schedule armed', async () => {
    vi.useFakeTimers({ now: START });
    const errors: string[] = [];
    let attempts = 0;
    const failing = schedule('nightly-export', 'rate(1 minute)', {
      fire: async () => {
        attempts++;
        throw new Error('target function not found');
      },
    });

    runner([failing], (message) => errors.push(message)).start();
    await vi.advanceTimersByTimeAsync(2 * 60_000);

    expect(attempts).toBe(2);
    expect(errors).toEqual([
      'schedule nightly-export: target function not found',
      'schedule nightly-export: target function not found',
    ]);
  });
});

describe('catching up after the clock moved', () => {
  function movableClock(start: Date) {
    let now = start;
    return {
      now: () => now,
      moveTo: (date: Date) => {
        now = date;
      },
    };
  }

  it('fires a schedule whose next run has passed once, not once per missed period', async () => {
    const clock = movableClock(START);
    const tick = schedule('timer-sweep', 'rate(1 minute)', {
      fire: async () => {
        tick.fired.push(clock.now());
      },
    });
    const scheduler = new ScheduleRunner([tick], () => {}, clock.now);
    runners.push(scheduler);
    scheduler.start();

    clock.moveTo(new Date('2024-03-04T09:00:30.000Z'));
    const fired = await scheduler.catchUp();

    expect(fired).toBe(1);
    expect(tick.fired.map((d) => d.toISOString())).toEqual(['2024-03-04T09:00:30.000Z']);
  });

  it('re-arms every schedule from the new time', async () => {
    const clock = movableClock(START);
    const scheduler = new ScheduleRunner(
      [schedule('tick', 'rate(1 minute)'), schedule('rollup', 'cron(0 2 * * ? *)')],
      () => {},
      clock.now,
    );
    runners.push(scheduler);
    scheduler.start();

    clock.moveTo(new Date('2024-03-04T09:00:30.000Z'));
    await scheduler.catchUp();

    expect(scheduler.list().map((s) => s.nextRun)).toEqual([
      '2024-03-04T09:01:00.000Z',
      '2024-03-05T02:00:00.000Z',
    ]);
    expect(scheduler.nextRun()?.toISOString()).toBe('2024-03-04T09:01:00.000Z');
  });

  it('fires only the schedules that became due', async () => {
    const clock = movableClock(START);
    const tick = schedule('tick', 'rate(1 minute)');
    const rollup = schedule('rollup', 'cron(0 2 * * ? *)');
    const scheduler = new ScheduleRunner([tick, rollup], () => {}, clock.now);
    runners.push(scheduler);
    scheduler.start();

    clock.moveTo(new Date('2024-03-01T09:05:00.000Z'));
    await scheduler.catchUp();

    expect([tick.fired.length, rollup.fired.length]).toEqual([1, 0]);
  });

  it('does not fire a disabled schedule', async () => {
    const clock = movableClock(START);
    const paused = schedule('paused', 'rate(1 minute)', { enabled: false });
    const scheduler = new ScheduleRunner([paused], () => {}, clock.now);
    runners.push(scheduler);
    scheduler.start();

    clock.moveTo(new Date('2024-03-02T09:00:00.000Z'));

    expect(await scheduler.catchUp()).toBe(0);
  });

  it('reports a failing target and still re-arms the schedule', async () => {
    const clock = movableClock(START);
    const errors: string[] = [];
    const failing = schedule('timer-sweep', 'rate(1 minute)', {
      fire: async () => {
        throw new Error('sweep failed');
      },
    });
    const scheduler = new ScheduleRunner([failing], (message) => errors.push(message), clock.now);
    runners.push(scheduler);
    scheduler.start();

    clock.moveTo(new Date('2024-03-02T09:00:00.000Z'));
    await scheduler.catchUp();

    expect(errors).toEqual(['schedule timer-sweep: sweep failed']);
    expect(scheduler.list()[0]?.nextRun).toBe('2024-03-02T09:01:00.000Z');
  });
});
