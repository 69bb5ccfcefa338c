// Puts `journey.step_due` on the bus for due timers; kept apart so the timer sweep's bundle stays small.
import type { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { publishEvents } from '../shared/publish.ts';
import type { Timer } from './model.ts';

/** Puts `journey.step_due` for due timers; the timers that failed stay and fire on the next sweep. */
export class BusStepDuePublisher {
  constructor(
    private readonly client: EventBridgeClient,
    private readonly busName: string,
  ) {}

  async publish(timers: readonly Timer[]): Promise<{ failed: readonly Timer[] }> {
    const failed = await publishEvents(
      this.client,
      this.busName,
      timers.map((timer) => ({
        source: 'nurture.journeys',
        detailType: 'journey.step_due',
        detail: { ...timer, dedupeKey: timer.timerId },
      })),
    );
    return { failed: failed.map((i) => timers[i]).filter((t): t is Timer => t !== undefined) };
  }
}
