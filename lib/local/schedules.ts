// Fires rule schedules and EventBridge Scheduler schedules at their times, and on demand.
import { nextFireTime, type ScheduleExpression } from './schedule-expression.ts';

export interface LocalSchedule {
  /** Rule or schedule name, as it would be in the AWS console. */
  readonly name: string;
  readonly logicalId: string;
  readonly expression: ScheduleExpression;
  readonly timeZone?: string;
  readonly enabled: boolean;
  /** Delivers the schedule's event or input to its targets. */
  readonly fire: () => Promise<void>;
}

export interface ScheduleStatus {
  readonly name: string;
  readonly expression: string;
  readonly enabled: boolean;
  readonly nextRun: string | null;
  readonly lastRun: string | null;
  readonly runs: number;
}

/** setTimeout cannot wait longer than this; longer waits re-arm. */
const MAX_TIMER_MS = 2 ** 31 - 1;

export class ScheduleRunner {
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private readonly state = new Map<string, { next?: Date; last?: Date; runs: number }>();
  private running = false;
  private readonly startedAt: Date;

  constructor(
    private readonly schedules: readonly LocalSchedule[],
    private readonly onError: (message: string) => void,
    private readonly now: () => Date = () => new Date(),
  ) {
    this.startedAt = now();
    for (const schedule of schedules) this.state.set(schedule.name, { runs: 0 });
  }

  start(): void {
    this.running = true;
    for (const schedule of this.schedules) if (schedule.enabled) this.arm(schedule);
  }

  stop(): void {
    this.running = false;
    for (const timer of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
  }

  list(): ScheduleStatus[] {
    return this.schedules.map((schedule) => {
      const state = this.state.get(schedule.name) ?? { runs: 0 };
      return {
        name: schedule.name,
        expression: schedule.expression.expression,
        enabled: schedule.enabled,
        nextRun: state.next?.toISOString() ?? null,
        lastRun: state.last?.toISOString() ?? null,
        runs: state.runs,
      };
    });
  }

  /** Runs a schedule now, whatever its expression says; resolves when its targets were invoked. */
  async runNow(name: string): Promise<void> {
    const schedule = this.schedules.find((s) => s.name === name || s.logicalId === name);
    if (!schedule) throw new Error(`No schedule named ${name}`);
    await this.fire(schedule);
  }

  /**
   * After the clock moved: every enabled schedule whose next run has come fires once (EventBridge does not backfill
   * missed periods either), and every schedule is re-armed from the new time. Resolves once the fired targets were
   * invoked; failures are reported through onError, as for timed runs.
   */
  async catchUp(): Promise<number> {
    if (!this.running) return 0;
    const now = this.now();
    const due = this.schedules.filter((schedule) => {
      const next = this.state.get(schedule.name)?.next;
      return schedule.enabled && next !== undefined && next.getTime() <= now.getTime();
    });
    for (const schedule of this.schedules) {
      clearTimeout(this.timers.get(schedule.name));
      this.timers.delete(schedule.name);
    }
    await Promise.all(
      due.map((schedule) =>
        this.fire(schedule).catch((error: unknown) =>
          this.onError(
            `schedule ${schedule.name}: ${error instanceof Error ? error.message : String(error)}`,
          ),
        ),
      ),
    );
    for (const schedule of this.schedules) if (schedule.enabled) this.arm(schedule);
    return due.length;
  }

  /** The earliest next run of any enabled schedule, once started. */
  nextRun(): Date | undefined {
    let earliest: Date | undefined;
    for (const schedule of this.schedules) {
      const next = this.state.get(schedule.name)?.next;
      if (schedule.enabled && next && (!earliest || next < earliest)) earliest = next;
    }
    return earliest;
  }

  private async fire(schedule: LocalSchedule): Promise<void> {
    const state = this.state.get(schedule.name) ?? { runs: 0 };
    state.last = this.now();
    state.runs += 1;
    this.state.set(schedule.name, state);
    await schedule.fire();
  }

  private arm(schedule: LocalSchedule): void {
    if (!this.running) return;
    const now = this.now();
    const next = nextFireTime(schedule.expression, now, {
      ...(schedule.timeZone ? { timeZone: schedule.timeZone } : {}),
      startDate: this.startedAt,
    });
    const state = this.state.get(schedule.name) ?? { runs: 0 };
    state.next = next;
    this.state.set(schedule.name, state);
    if (next === undefined) return;
    const wait = next.getTime() - now.getTime();
    const timer = setTimeout(
      () => {
        if (wait > MAX_TIMER_MS) return this.arm(schedule);
        this.fire(schedule).catch((error: unknown) =>
          this.onError(
            `schedule ${schedule.name}: ${error instanceof Error ? error.message : String(error)}`,
          ),
        );
        this.arm(schedule);
      },
      Math.min(Math.max(0, wait), MAX_TIMER_MS),
    );
    timer.unref();
    this.timers.set(schedule.name, timer);
  }
}
