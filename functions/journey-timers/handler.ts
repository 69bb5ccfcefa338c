// Timer sweep: every minute, puts `journey.step_due` on the bus for the timers that came due, then deletes them.
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import * as z from 'zod';
import { DynamoDbJourneyStore } from '../journeys/dynamodb-store.ts';
import { BusStepDuePublisher } from '../journeys/step-due-publisher.ts';
import { TimerSweeper } from '../journeys/sweeper.ts';
import { readEnvironment } from '../shared/environment.ts';
import { logger } from '../shared/logger.ts';

const env = readEnvironment({
  PROFILE_TABLE: z.string().min(1),
  EVENT_BUS_NAME: z.string().min(1),
  /** Bounded so one run ends well inside its timeout; the rest fires on the next run a minute later. */
  MAX_TIMERS_PER_RUN: z.coerce.number().int().positive().default(10_000),
});

const sweeper = new TimerSweeper({
  store: new DynamoDbJourneyStore({ client: new DynamoDBClient({}), tableName: env.PROFILE_TABLE }),
  publisher: new BusStepDuePublisher(new EventBridgeClient({}), env.EVENT_BUS_NAME),
  now: () => new Date(),
  maxPerRun: env.MAX_TIMERS_PER_RUN,
});

export async function handler(): Promise<{ fired: number; failed: number; remaining: boolean }> {
  const result = await sweeper.sweep();
  if (result.fired > 0 || result.failed > 0) logger.info('timers swept', { ...result });
  if (result.failed > 0)
    logger.warn('some due timers could not be put on the bus; they fire on the next run', { ...result });
  return result;
}
