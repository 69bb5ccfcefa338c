// DynamoDB adapter of the segment store, in the profile table: definitions, membership items and sharded sizes.
import {
  type AttributeValue,
  type DynamoDBClient,
  QueryCommand,
  TransactionCanceledException,
  type TransactWriteItem,
  TransactWriteItemsCommand,
} from '@aws-sdk/client-dynamodb';
import * as z from 'zod';
import { type StoredVersion, VersionedDocuments } from '../shared/versioned-documents.ts';
import {
  type SegmentDefinition,
  type SegmentHead,
  type SegmentVersion,
  segmentDefinitionSchema,
  segmentHeadSchema,
} from './definition.ts';
import type {
  ProfileSegment,
  SegmentMember,
  SegmentMemberPage,
  SegmentStore,
  SetMembership,
} from './store.ts';

/** Size counter items per segment: a segment everyone is entering must not be one hot item. */
export const SIZE_SHARDS = 8;
const MAX_ATTEMPTS = 8;
const MEMBER_PREFIX = 'MEMBER#';
const PROFILE_SEGMENT_PREFIX = 'SEGMENT#';

export interface DynamoDbSegmentStoreOptions {
  readonly client: DynamoDBClient;
  readonly tableName: string;
  readonly now?: () => Date;
}

const keys = {
  /** The segment's partition lists its members (exports, schedule triggers). */
  member: (segmentId: string, profileId: string) => ({
    pk: { S: `SEGMENT#${segmentId}` },
    sk: { S: `${MEMBER_PREFIX}${profileId}` },
  }),
  /** The profile's partition lists its segments (conditions), and erasing a person finds them there. */
  profileSegment: (profileId: string, segmentId: string) => ({
    pk: { S: `PROFILE#${profileId}` },
    sk: { S: `${PROFILE_SEGMENT_PREFIX}${segmentId}` },
  }),
  /** When the profile last left the segment, so a stale "member" decision cannot bring it back. */
  exit: (profileId: string, segmentId: string) => ({
    pk: { S: `PROFILE#${profileId}` },
    sk: { S: `SEGEXIT#${segmentId}` },
  }),
  sizeShard: (segmentId: string, shard: number) => ({
    pk: { S: `SEGSTATS#${segmentId}` },
    sk: { S: `SHARD#${shard}` },
  }),
};

const memberItemSchema = z.object({
  sk: z.object({ S: z.string().startsWith(MEMBER_PREFIX) }),
  enteredAt: z.object({ S: z.string() }),
  version: z.object({ N: z.string() }),
});

const profileSegmentItemSchema = z.object({
  sk: z.object({ S: z.string().startsWith(PROFILE_SEGMENT_PREFIX) }),
  enteredAt: z.object({ S: z.string() }),
  version: z.object({ N: z.string() }),
});

function parseHead(item: Record<string, AttributeValue>): SegmentHead {
  return segmentHeadSchema.parse({
    segmentId: item.segmentId?.S,
    name: item.name?.S,
    latestVersion: Number(item.latestVersion?.N),
    createdAt: item.createdAt?.S,
    updatedAt: item.updatedAt?.S,
  });
}

function toSegmentVersion(stored: StoredVersion<SegmentDefinition>): SegmentVersion {
  return {
    segmentId: stored.id,
    version: stored.version,
    definition: stored.document,
    createdAt: stored.createdAt,
  };
}

function parseMember(item: Record<string, AttributeValue>): SegmentMember {
  const parsed = memberItemSchema.parse(item);
  return {
    profileId: parsed.sk.S.slice(MEMBER_PREFIX.length),
    enteredAt: parsed.enteredAt.S,
    version: Number(parsed.version.N),
  };
}

function parseProfileSegment(item: Record<string, AttributeValue>): ProfileSegment {
  const parsed = profileSegmentItemSchema.parse(item);
  return {
    segmentId: parsed.sk.S.slice(PROFILE_SEGMENT_PREFIX.length),
    enteredAt: parsed.enteredAt.S,
    version: Number(parsed.version.N),
  };
}

type Cancellation = 'condition' | 'conflict' | 'other';

function cancellation(error: TransactionCanceledException): Cancellation {
  const codes = (error.CancellationReasons ?? []).map((reason) => reason.Code);
  if (codes.includes('ConditionalCheckFailed')) return 'condition';
  if (codes.includes('TransactionConflict')) return 'conflict';
  return 'other';
}

export class DynamoDbSegmentStore implements SegmentStore {
  private readonly client: DynamoDBClient;
  private readonly tableName: string;
  private readonly definitions: VersionedDocuments<SegmentDefinition, SegmentHead>;

  constructor(options: DynamoDbSegmentStoreOptions) {
    this.client = options.client;
    this.tableName = options.tableName;
    this.definitions = new VersionedDocuments({
      client: options.client,
      tableName: options.tableName,
      now: options.now ?? (() => new Date()),
      kind: 'segment',
      partitionPrefix: 'SEGMENTDEF#',
      listPartition: 'SEGMENTS',
      idAttribute: 'segmentId',
      schema: segmentDefinitionSchema,
      parseHead,
      versionHeadAttributes: (definition) => ({ name: { S: definition.name } }),
      maxAttempts: MAX_ATTEMPTS,
    });
  }

  // Definitions

  async putVersion(definition: SegmentDefinition): Promise<SegmentVersion> {
    return toSegmentVersion(await this.definitions.put({ id: definition.id, document: definition }));
  }

  getHead(segmentId: string): Promise<SegmentHead | undefined> {
    return this.definitions.getHead(segmentId);
  }

  async getVersion(segmentId: string, version: number): Promise<SegmentVersion | undefined> {
    const stored = await this.definitions.getVersion(segmentId, version);
    return stored === undefined ? undefined : toSegmentVersion(stored);
  }

  listHeads(): Promise<SegmentHead[]> {
    return this.definitions.listHeads();
  }

  // Membership

  async setMembership(input: SetMembership): Promise<{ readonly changed: boolean }> {
    for (let attempt = 1; ; attempt += 1) {
      try {
        await this.client.send(new TransactWriteItemsCommand({ TransactItems: this.membershipItems(input) }));
        return { changed: true };
      } catch (error) {
        if (!(error instanceof TransactionCanceledException)) throw error;
        const reason = cancellation(error);
        // Already so, or a stale decision: nothing to change, and the counter was not touched.
        if (reason === 'condition') return { changed: false };
        // Another membership write on the same counter shard or items: the decision still stands, so try again.
        if (reason === 'other' || attempt >= MAX_ATTEMPTS) throw error;
        await new Promise((resolve) => setTimeout(resolve, 10 * 2 ** attempt * Math.random()));
      }
    }
  }

  private membershipItems({ segmentId, profileId, member, at, version }: SetMembership): TransactWriteItem[] {
    const TableName = this.tableName;
    const counter: TransactWriteItem = {
      Update: {
        TableName,
        Key: keys.sizeShard(segmentId, Math.floor(Math.random() * SIZE_SHARDS)),
        UpdateExpression: 'ADD #members :delta',
        ExpressionAttributeNames: { '#members': 'members' },
        ExpressionAttributeValues: { ':delta': { N: member ? '1' : '-1' } },
      },
    };
    if (member)
      return [
        {
          Put: {
            TableName,
            Item: {
              ...keys.member(segmentId, profileId),
              enteredAt: { S: at },
              at: { S: at },
              version: { N: String(version) },
            },
            ConditionExpression: 'attribute_not_exists(pk)',
          },
        },
        {
          Put: {
            TableName,
            Item: {
              ...keys.profileSegment(profileId, segmentId),
              enteredAt: { S: at },
              version: { N: String(version) },
            },
          },
        },
        {
          Delete: {
            TableName,
            Key: keys.exit(profileId, segmentId),
            ConditionExpression: 'attribute_not_exists(pk) OR #at < :at',
            ExpressionAttributeNames: { '#at': 'at' },
            ExpressionAttributeValues: { ':at': { S: at } },
          },
        },
        counter,
      ];
    return [
      {
        Delete: {
          TableName,
          Key: keys.member(segmentId, profileId),
          // At the same instant, leaving wins whichever write lands first, so both orders end the same.
          ConditionExpression: 'attribute_exists(pk) AND #at <= :at',
          ExpressionAttributeNames: { '#at': 'at' },
          ExpressionAttributeValues: { ':at': { S: at } },
        },
      },
      { Delete: { TableName, Key: keys.profileSegment(profileId, segmentId) } },
      {
        Put: {
          TableName,
          Item: { ...keys.exit(profileId, segmentId), at: { S: at }, version: { N: String(version) } },
        },
      },
      counter,
    ];
  }

  async size(segmentId: string): Promise<number> {
    let total = 0;
    let startKey: Record<string, AttributeValue> | undefined;
    do {
      const page = await this.client.send(
        new QueryCommand({
          TableName: this.tableName,
          KeyConditionExpression: 'pk = :pk',
          ExpressionAttributeValues: { ':pk': { S: `SEGSTATS#${segmentId}` } },
          ConsistentRead: true,
          ExclusiveStartKey: startKey,
        }),
      );
      for (const item of page.Items ?? []) total += Number(item.members?.N ?? '0');
      startKey = page.LastEvaluatedKey;
    } while (startKey);
    return total;
  }

  async members(input: {
    segmentId: string;
    cursor?: string | null;
    limit: number;
  }): Promise<SegmentMemberPage> {
    if (!Number.isInteger(input.limit) || input.limit < 1)
      throw new RangeError('limit must be a positive whole number');
    const pk = `SEGMENT#${input.segmentId}`;
    // Same layout and cursor as the journeys' member reader: the start key need not exist any more.
    const startKey =
      input.cursor === undefined || input.cursor === null
        ? undefined
        : keys.member(input.segmentId, input.cursor);
    const output = await this.client.send(
      new QueryCommand({
        TableName: this.tableName,
        KeyConditionExpression: 'pk = :pk AND begins_with(sk, :member)',
        ExpressionAttributeValues: { ':pk': { S: pk }, ':member': { S: MEMBER_PREFIX } },
        Limit: input.limit,
        ExclusiveStartKey: startKey,
      }),
    );
    const members = (output.Items ?? []).map(parseMember);
    const last = members.at(-1);
    return {
      members,
      cursor: output.LastEvaluatedKey === undefined || last === undefined ? null : last.profileId,
    };
  }

  async segmentsOf(profileId: string): Promise<ProfileSegment[]> {
    const segments: ProfileSegment[] = [];
    let startKey: Record<string, AttributeValue> | undefined;
    do {
      const page = await this.client.send(
        new QueryCommand({
          TableName: this.tableName,
          KeyConditionExpression: 'pk = :pk AND begins_with(sk, :segment)',
          ExpressionAttributeValues: {
            ':pk': { S: `PROFILE#${profileId}` },
            ':segment': { S: PROFILE_SEGMENT_PREFIX },
          },
          ConsistentRead: true,
          ExclusiveStartKey: startKey,
        }),
      );
      for (const item of page.Items ?? []) segments.push(parseProfileSegment(item));
      startKey = page.LastEvaluatedKey;
    } while (startKey);
    return segments;
  }
}
