// The sender's view of journey runs: whether a queued message's run was stopped by a goal. Kept tiny for its bundle.
import { type DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';
import * as z from 'zod';
import type { JourneyRunReader } from '../messaging/sender.ts';

/** The three fields of a stored enrollment (`e`, see dynamodb-store.ts) the check needs. */
const runState = z.object({
  run: z.number().int(),
  status: z.string(),
  exitReason: z.string().nullable(),
});

/**
 * Only a run stopped by a goal drops its queued messages: a run that simply reached its end (a send right before the
 * exit node) still sends what it queued, and a message of an older run (the profile re-entered since) goes out.
 */
export class DynamoDbJourneyRuns implements JourneyRunReader {
  constructor(
    private readonly client: DynamoDBClient,
    private readonly tableName: string,
  ) {}

  async isRunActive(input: { profileId: string; journeyId: string; run: number }): Promise<boolean> {
    const { Item } = await this.client.send(
      new GetItemCommand({
        TableName: this.tableName,
        Key: { pk: { S: `PROFILE#${input.profileId}` }, sk: { S: `ENROLLMENT#${input.journeyId}` } },
        ProjectionExpression: 'e',
        ConsistentRead: true,
      }),
    );
    const json = Item?.e?.S;
    if (json === undefined) return true;
    const state = runState.parse(JSON.parse(json));
    return !(state.run === input.run && state.status === 'exited' && state.exitReason === 'goal');
  }
}
