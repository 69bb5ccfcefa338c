// Pages through every stored profile (its TRAITS or core item) in parallel scan segments, for backfills and rescores.
import { type AttributeValue, type DynamoDBClient, ScanCommand } from '@aws-sdk/client-dynamodb';
import * as z from 'zod';
import { BACKFILL_PAGE_ITEMS, type ProfilePage, type ProfileScanner } from './backfill.ts';

const cursorSchema = z.object({ pk: z.string(), sk: z.string() });

function encodeCursor(key: Record<string, AttributeValue> | undefined): string | null {
  const pk = key?.pk?.S;
  const sk = key?.sk?.S;
  if (pk === undefined || sk === undefined) return null;
  return Buffer.from(JSON.stringify({ pk, sk })).toString('base64url');
}

function decodeCursor(cursor: string | null): Record<string, AttributeValue> | undefined {
  if (cursor === null) return undefined;
  const key = cursorSchema.parse(JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')));
  return { pk: { S: key.pk }, sk: { S: key.sk } };
}

/**
 * A Scan reads the whole table (events included), so a backfill costs about one read unit per 4 KB stored; it runs
 * once per published version with date triggers, spread over segments and pages that each fit in one invocation.
 */
export class DynamoDbProfileScanner implements ProfileScanner {
  constructor(
    private readonly client: DynamoDBClient,
    private readonly tableName: string,
    private readonly pageItems: number = BACKFILL_PAGE_ITEMS,
    /**
     * Which item stands for a profile: `TRAITS` (profiles with traits, what date triggers and segments read) or
     * `PROFILE`, the core every profile has (anonymous ones included).
     */
    private readonly item: 'TRAITS' | 'PROFILE' = 'TRAITS',
  ) {}

  async page(input: { segment: number; totalSegments: number; cursor: string | null }): Promise<ProfilePage> {
    const start = decodeCursor(input.cursor);
    const result = await this.client.send(
      new ScanCommand({
        TableName: this.tableName,
        Segment: input.segment,
        TotalSegments: input.totalSegments,
        Limit: this.pageItems,
        FilterExpression: 'sk = :item',
        ProjectionExpression: 'pk',
        ExpressionAttributeValues: { ':item': { S: this.item } },
        ...(start ? { ExclusiveStartKey: start } : {}),
      }),
    );
    const profileIds = (result.Items ?? [])
      .map((item) => item.pk?.S)
      .filter((pk): pk is string => pk?.startsWith('PROFILE#') === true)
      .map((pk) => pk.slice('PROFILE#'.length));
    return { profileIds, cursor: encodeCursor(result.LastEvaluatedKey) };
  }
}
