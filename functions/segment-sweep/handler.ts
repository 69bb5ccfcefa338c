// Recheck sweep: every minute, puts the segment rechecks that came due on the segments queue, then removes them.
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SQSClient } from '@aws-sdk/client-sqs';
import * as z from 'zod';
import { SqsRecheckSender } from '../segments/aws-adapters.ts';
import { DynamoDbRecheckIndex } from '../segments/dynamodb-rechecks.ts';
import { RecheckSweeper, type RecheckSweepResult } from '../segments/recheck.ts';
import { readEnvironment } from '../shared/environment.ts';
import { logger } from '../shared/logger.ts';

const env = readEnvironment({
  PROFILE_TABLE: z.string().min(1),
  SEGMENT_QUEUE_URL: z.string().min(1),
  /** Bounded so one run ends well inside its timeout; the rest fires on the next run. */
  MAX_RECHECKS_PER_RUN: z.coerce.number().int().positive().default(10_000),
});

const sweeper = new RecheckSweeper({
  index: new DynamoDbRecheckIndex(new DynamoDBClient({}), env.PROFILE_TABLE),
  sender: new SqsRecheckSender(new SQSClient({ useQueueUrlAsEndpoint: false }), env.SEGMENT_QUEUE_URL),
  now: () => new Date(),
  maxPerRun: env.MAX_RECHECKS_PER_RUN,
});

export async function handler(): Promise<RecheckSweepResult> {
  const result = await sweeper.sweep();
  if (result.fired > 0 || result.failed > 0) logger.info('segment rechecks swept', { ...result });
  if (result.failed > 0)
    logger.warn('some due rechecks could not be queued; they fire on the next run', { ...result });
  return result;
}
