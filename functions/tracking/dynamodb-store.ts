// DynamoDB adapter of the tracking store: compact items (gzip JSON) so an event or a profile write costs one unit.
import { gunzipSync, gzipSync } from 'node:zlib';
import {
  type AttributeValue,
  ConditionalCheckFailedException,
  type DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  QueryCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import * as z from 'zod';
import type { EnrichedEvent } from './model.ts';
import {
  emptyProfile,
  emptyTraits,
  expiresAt,
  type Identity,
  identityKey,
  type ProfileCore,
  type ProfileTraits,
  primaryIdentity,
} from './profile.ts';
import {
  enrichedEventSchema,
  eventSessionSchema,
  profileCoreSchema,
  profileTraitsSchema,
} from './schemas.ts';
import { type StoredEvent, type TrackingStore, VersionConflictError, type Versioned } from './store.ts';

/** How many recent write claims a profile keeps; a retry older than this many writes is re-applied. */
const MAX_CLAIMS = 24;
/** Events read per identity when listing a profile's events; beyond it the listing says it was truncated. */
const MAX_EVENTS_PER_IDENTITY = 5000;
const UNPROFILED_SHARDS = 8;

export interface DynamoDbTrackingStoreOptions {
  readonly client: DynamoDBClient;
  readonly tableName: string;
  /** Raw events are kept this long (default 13 months), then removed by TTL. */
  readonly eventRetentionDays: number;
  /** Never-identified profiles are removed by TTL this long after they were last seen. @default 30 */
  readonly anonymousProfileRetentionDays?: number;
  readonly now?: () => Date;
}

function pack(value: unknown): Uint8Array {
  return gzipSync(Buffer.from(JSON.stringify(value)), { level: 6 });
}

function unpack(value: AttributeValue | undefined): unknown {
  if (!value?.B) throw new Error('stored item has no data attribute');
  return JSON.parse(gunzipSync(value.B).toString('utf8'));
}

const keys = {
  event: (identity: Identity, sourceId: string, messageId: string) => ({
    pk: { S: `EVENTS#${identityKey(identity)}` },
    sk: { S: `EVT#${sourceId}#${messageId}` },
  }),
  profile: (id: string) => ({ pk: { S: `PROFILE#${id}` }, sk: { S: 'PROFILE' } }),
  traits: (id: string) => ({ pk: { S: `PROFILE#${id}` }, sk: { S: 'TRAITS' } }),
  identity: (identity: Identity) => ({
    pk: { S: `IDENTITY#${identityKey(identity)}` },
    sk: { S: 'IDENTITY' },
  }),
};

const storedEventSchema = z.object({
  event: enrichedEventSchema,
  profileId: z.string(),
  session: eventSessionSchema.optional(),
});
const claimsSchema = z.array(z.string());

function claimsOf(item: Record<string, AttributeValue> | undefined): string[] {
  return claimsSchema.parse((item?.claims?.L ?? []).map((c) => c.S));
}

function versionOf(item: Record<string, AttributeValue> | undefined): number {
  return item?.version?.N === undefined ? 0 : Number(item.version.N);
}

export class DynamoDbTrackingStore implements TrackingStore {
  constructor(private readonly options: DynamoDbTrackingStoreOptions) {}

  private get table() {
    return this.options.tableName;
  }

  private now(): Date {
    return this.options.now?.() ?? new Date();
  }

  async putEventOnce(stored: StoredEvent): Promise<boolean> {
    const identity = primaryIdentity(stored.event);
    if (!identity) throw new Error('an event without userId or anonymousId cannot be stored');
    const retentionEnds =
      Math.floor(Date.parse(stored.event.enrichment.receivedAt) / 1000) +
      this.options.eventRetentionDays * 86_400;
    try {
      await this.options.client.send(
        new PutItemCommand({
          TableName: this.table,
          Item: {
            ...keys.event(identity, stored.event.sourceId, stored.event.messageId),
            d: {
              B: pack({
                event: stored.event,
                profileId: stored.profileId,
                ...(stored.session === undefined ? {} : { session: stored.session }),
              }),
            },
            claim: { S: stored.claim },
            eventTime: { S: stored.event.enrichment.eventTime },
            expiresAt: { N: String(retentionEnds) },
          },
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      );
      return true;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return false;
      throw error;
    }
  }

  async getEvent(identity: Identity, sourceId: string, messageId: string): Promise<StoredEvent | undefined> {
    const { Item } = await this.options.client.send(
      new GetItemCommand({
        TableName: this.table,
        Key: keys.event(identity, sourceId, messageId),
        ConsistentRead: true,
      }),
    );
    if (!Item) return undefined;
    const data = storedEventSchema.parse(unpack(Item.d));
    return { ...data, claim: Item.claim?.S ?? '' };
  }

  async listEvents(
    identities: readonly Identity[],
    limit: number,
  ): Promise<{ events: EnrichedEvent[]; truncated: boolean }> {
    const events: EnrichedEvent[] = [];
    let truncated = false;
    for (const identity of identities) {
      let read = 0;
      let exclusiveStartKey: Record<string, AttributeValue> | undefined;
      do {
        const page = await this.options.client.send(
          new QueryCommand({
            TableName: this.table,
            KeyConditionExpression: 'pk = :pk AND begins_with(sk, :evt)',
            ExpressionAttributeValues: {
              ':pk': { S: `EVENTS#${identityKey(identity)}` },
              ':evt': { S: 'EVT#' },
            },
            ExclusiveStartKey: exclusiveStartKey,
          }),
        );
        for (const item of page.Items ?? []) events.push(storedEventSchema.parse(unpack(item.d)).event);
        read += page.Items?.length ?? 0;
        exclusiveStartKey = page.LastEvaluatedKey;
        if (read >= MAX_EVENTS_PER_IDENTITY && exclusiveStartKey) {
          truncated = true;
          break;
        }
      } while (exclusiveStartKey);
    }
    events.sort((a, b) => b.enrichment.eventTime.localeCompare(a.enrichment.eventTime));
    return { events: events.slice(0, limit), truncated: truncated || events.length > limit };
  }

  async getProfile(id: string): Promise<Versioned<ProfileCore>> {
    return this.readVersioned(keys.profile(id), profileCoreSchema, emptyProfile(id));
  }

  /** Reads a gzip-JSON item with its version and claims; a missing item reads as `empty` at version 0. */
  private async readVersioned<T>(
    key: Record<string, AttributeValue>,
    schema: z.ZodType<T>,
    empty: T,
  ): Promise<Versioned<T>> {
    const { Item } = await this.options.client.send(
      new GetItemCommand({ TableName: this.table, Key: key, ConsistentRead: true }),
    );
    if (!Item) return { value: empty, claims: [], exists: false };
    const value = schema.parse({
      ...z.record(z.string(), z.unknown()).parse(unpack(Item.d)),
      version: versionOf(Item),
    });
    return { value, claims: claimsOf(Item), exists: true };
  }

  /** Writes an item only if it is still at `expectedVersion` (0: does not exist yet). */
  private async putVersioned(
    item: Record<string, AttributeValue>,
    expectedVersion: number,
    what: string,
  ): Promise<void> {
    try {
      await this.options.client.send(
        new PutItemCommand({
          TableName: this.table,
          Item: item,
          ...(expectedVersion === 0
            ? { ConditionExpression: 'attribute_not_exists(pk)' }
            : {
                ConditionExpression: 'version = :expected',
                ExpressionAttributeValues: { ':expected': { N: String(expectedVersion) } },
              }),
        }),
      );
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) throw new VersionConflictError(`${what} changed`);
      throw error;
    }
  }

  async putProfile(
    profile: ProfileCore,
    options: { expectedVersion: number; claims: readonly string[] },
  ): Promise<void> {
    const { version, ...data } = profile;
    const ttl = expiresAt(profile, this.options.anonymousProfileRetentionDays);
    const claims = [...new Set(options.claims)].slice(-MAX_CLAIMS);
    await this.putVersioned(
      {
        ...keys.profile(profile.id),
        d: { B: pack(data) },
        version: { N: String(version) },
        claims: { L: claims.map((c) => ({ S: c })) },
        ...(profile.mergedInto ? { mergedInto: { S: profile.mergedInto } } : {}),
        ...(ttl === null ? {} : { expiresAt: { N: String(ttl) } }),
      },
      options.expectedVersion,
      `profile ${profile.id}`,
    );
  }

  async getTraits(id: string): Promise<Versioned<ProfileTraits>> {
    return this.readVersioned(keys.traits(id), profileTraitsSchema, emptyTraits(id));
  }

  async putTraits(traits: ProfileTraits, expectedVersion: number): Promise<void> {
    const { version, ...data } = traits;
    await this.putVersioned(
      { ...keys.traits(traits.id), d: { B: pack(data) }, version: { N: String(version) } },
      expectedVersion,
      `traits ${traits.id}`,
    );
  }

  async getIdentityPointer(identity: Identity): Promise<string | undefined> {
    const { Item } = await this.options.client.send(
      new GetItemCommand({ TableName: this.table, Key: keys.identity(identity), ConsistentRead: true }),
    );
    return Item?.profileId?.S;
  }

  async putIdentityPointer(identity: Identity, profileId: string): Promise<void> {
    // Read first: rewriting an unchanged pointer would cost a write unit (so would a failed conditional write).
    if ((await this.getIdentityPointer(identity)) === profileId) return;
    await this.options.client.send(
      new PutItemCommand({
        TableName: this.table,
        Item: {
          ...keys.identity(identity),
          profileId: { S: profileId },
          updatedAt: { S: this.now().toISOString() },
        },
      }),
    );
  }

  async claimIdentity(identity: Identity, profileId: string): Promise<boolean> {
    try {
      await this.options.client.send(
        new PutItemCommand({
          TableName: this.table,
          Item: {
            ...keys.identity(identity),
            profileId: { S: profileId },
            updatedAt: { S: this.now().toISOString() },
          },
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      );
      return true;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return false;
      throw error;
    }
  }

  async countUnprofiled(counts: {
    sourceId: string;
    day: string;
    bots: number;
    consentWithheld: number;
    rejected?: number;
    /** Events dropped by the source's rate limit (pixels, which cannot be answered 429). */
    rateLimited?: number;
  }): Promise<void> {
    // Sharded: bot floods and bad clients must not turn one item into a hot key.
    const shard = Math.floor(Math.random() * UNPROFILED_SHARDS);
    await this.options.client.send(
      new UpdateItemCommand({
        TableName: this.table,
        Key: { pk: { S: `STATS#${counts.sourceId}#${counts.day}` }, sk: { S: `UNPROFILED#${shard}` } },
        UpdateExpression:
          'ADD bots :bots, consentWithheld :consent, rejected :rejected, rateLimited :rateLimited',
        ExpressionAttributeValues: {
          ':bots': { N: String(counts.bots) },
          ':consent': { N: String(counts.consentWithheld) },
          ':rejected': { N: String(counts.rejected ?? 0) },
          ':rateLimited': { N: String(counts.rateLimited ?? 0) },
        },
      }),
    );
  }
}
