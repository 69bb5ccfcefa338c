// Reads a segment's members from the profile table (one `MEMBER#<profileId>` item each), a page at a time.
import { type AttributeValue, type DynamoDBClient, QueryCommand } from '@aws-sdk/client-dynamodb';
import type { SegmentMemberPage, SegmentMembers } from './runner.ts';

const MEMBER_PREFIX = 'MEMBER#';

export interface DynamoDbSegmentMembersOptions {
  readonly client: DynamoDBClient;
  readonly tableName: string;
  /** Members read per Query. @default 200 */
  readonly pageSize?: number;
}

/**
 * Members come in profile id order, so "after this member" is a stable place to continue from even while the
 * segment changes. Reads are eventually consistent: a member who joined a moment ago may be seen next time.
 */
export class DynamoDbSegmentMembers implements SegmentMembers {
  private readonly pageSize: number;

  constructor(private readonly options: DynamoDbSegmentMembersOptions) {
    this.pageSize = options.pageSize ?? 200;
    if (!Number.isInteger(this.pageSize) || this.pageSize < 1)
      throw new Error('pageSize must be a positive whole number');
  }

  async page(input: { segmentId: string; after?: string; limit: number }): Promise<SegmentMemberPage> {
    const pk = `SEGMENT#${input.segmentId}`;
    const limit = Math.min(this.pageSize, input.limit);
    if (limit < 1) return { profileIds: [], more: true };
    // The start key need not exist: DynamoDB continues from where that key would sort.
    const startKey: Record<string, AttributeValue> | undefined =
      input.after === undefined ? undefined : { pk: { S: pk }, sk: { S: `${MEMBER_PREFIX}${input.after}` } };
    const output = await this.options.client.send(
      new QueryCommand({
        TableName: this.options.tableName,
        KeyConditionExpression: 'pk = :pk AND begins_with(sk, :member)',
        ExpressionAttributeValues: { ':pk': { S: pk }, ':member': { S: MEMBER_PREFIX } },
        ProjectionExpression: 'sk',
        Limit: limit,
        ExclusiveStartKey: startKey,
      }),
    );
    const profileIds: string[] = [];
    for (const item of output.Items ?? []) {
      const sk = item.sk?.S;
      if (sk?.startsWith(MEMBER_PREFIX)) profileIds.push(sk.slice(MEMBER_PREFIX.length));
    }
    return { profileIds, more: output.LastEvaluatedKey !== undefined };
  }
}
