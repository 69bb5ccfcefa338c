// DynamoDB adapter of the banner store, in the profile table: one item per profile and placement, sharded counters.
import {
  type AttributeValue,
  BatchWriteItemCommand,
  ConditionalCheckFailedException,
  DeleteItemCommand,
  type DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  QueryCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import { type Banner, bannerSchema, isActive } from './banner.ts';
import type { BannerActivity, BannerStats, BannerStore } from './store.ts';

/** A banner shown on every page of a busy site would make one counter item hot: spread writes over shards. */
const STATS_SHARDS = 10;
/** Counters outlive the banner for year-on-year reports; each count pushes their expiry out again. */
const STATS_RETENTION_DAYS = 396;
/** BatchWriteItem takes at most 25 requests. */
const BATCH_SIZE = 25;

export interface DynamoDbBannerStoreOptions {
  readonly client: DynamoDBClient;
  readonly tableName: string;
  readonly now?: () => Date;
}

const keys = {
  placement: (profileId: string, placement: string) => ({
    pk: { S: `BANNER#${profileId}` },
    sk: { S: `PLACEMENT#${placement}` },
  }),
  statsShard: (bannerId: string, shard: number) => ({
    pk: { S: `BANNERSTATS#${bannerId}` },
    sk: { S: `SHARD#${shard}` },
  }),
};

const epochSeconds = (time: number) => String(Math.floor(time / 1000));

/** Items hold the banner as JSON (not `d`, which the stream publisher reads as a tracking item). */
function bannerOf(item: Record<string, AttributeValue> | undefined): Banner | undefined {
  const data = item?.banner?.S;
  return data === undefined ? undefined : bannerSchema.parse(JSON.parse(data));
}

export class DynamoDbBannerStore implements BannerStore {
  constructor(private readonly options: DynamoDbBannerStoreOptions) {}

  private get table() {
    return this.options.tableName;
  }

  private now(): Date {
    return this.options.now?.() ?? new Date();
  }

  async assign(banner: Banner): Promise<Banner> {
    try {
      await this.options.client.send(
        new PutItemCommand({
          TableName: this.table,
          Item: {
            ...keys.placement(banner.profileId, banner.placement),
            bannerId: { S: banner.bannerId },
            banner: { S: JSON.stringify(banner) },
            // The TTL attribute: DynamoDB removes the item some time after it expired.
            expiresAt: { N: epochSeconds(Date.parse(banner.expiresAt)) },
          },
          // The same banner, still active, stays as it is: a retry must not restart its expiry.
          ConditionExpression: 'attribute_not_exists(pk) OR bannerId <> :bannerId OR expiresAt <= :now',
          ExpressionAttributeValues: {
            ':bannerId': { S: banner.bannerId },
            ':now': { N: epochSeconds(this.now().getTime()) },
          },
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      );
      return banner;
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
      return bannerOf(error.Item) ?? (await this.stored(banner.profileId, banner.placement)) ?? banner;
    }
  }

  async get(profileId: string, placement: string): Promise<Banner | undefined> {
    const { Item } = await this.options.client.send(
      new GetItemCommand({ TableName: this.table, Key: keys.placement(profileId, placement) }),
    );
    const banner = bannerOf(Item);
    return banner !== undefined && isActive(banner, this.now()) ? banner : undefined;
  }

  private async stored(profileId: string, placement: string): Promise<Banner | undefined> {
    const { Item } = await this.options.client.send(
      new GetItemCommand({
        TableName: this.table,
        Key: keys.placement(profileId, placement),
        ConsistentRead: true,
      }),
    );
    return bannerOf(Item);
  }

  async list(profileId: string): Promise<Banner[]> {
    const now = this.now();
    const banners: Banner[] = [];
    let start: Record<string, AttributeValue> | undefined;
    do {
      const page = await this.options.client.send(
        new QueryCommand({
          TableName: this.table,
          KeyConditionExpression: 'pk = :pk AND begins_with(sk, :placement)',
          ExpressionAttributeValues: {
            ':pk': { S: `BANNER#${profileId}` },
            ':placement': { S: 'PLACEMENT#' },
          },
          ExclusiveStartKey: start,
        }),
      );
      for (const item of page.Items ?? []) {
        const banner = bannerOf(item);
        if (banner !== undefined && isActive(banner, now)) banners.push(banner);
      }
      start = page.LastEvaluatedKey;
    } while (start);
    return banners;
  }

  async clear(profileId: string, placement?: string): Promise<void> {
    if (placement !== undefined) {
      await this.options.client.send(
        new DeleteItemCommand({ TableName: this.table, Key: keys.placement(profileId, placement) }),
      );
      return;
    }
    const placements: string[] = [];
    let start: Record<string, AttributeValue> | undefined;
    do {
      const page = await this.options.client.send(
        new QueryCommand({
          TableName: this.table,
          KeyConditionExpression: 'pk = :pk AND begins_with(sk, :placement)',
          ExpressionAttributeValues: {
            ':pk': { S: `BANNER#${profileId}` },
            ':placement': { S: 'PLACEMENT#' },
          },
          ProjectionExpression: 'sk',
          ExclusiveStartKey: start,
        }),
      );
      for (const item of page.Items ?? []) {
        const sk = item.sk?.S;
        if (sk !== undefined) placements.push(sk);
      }
      start = page.LastEvaluatedKey;
    } while (start);
    for (let i = 0; i < placements.length; i += BATCH_SIZE) {
      await this.deleteAll(
        placements
          .slice(i, i + BATCH_SIZE)
          .map((sk) => ({ pk: { S: `BANNER#${profileId}` }, sk: { S: sk } })),
      );
    }
  }

  /** Deletes a batch, resending what DynamoDB left unprocessed (throttling) with a short backoff. */
  private async deleteAll(keysToDelete: Array<Record<string, AttributeValue>>): Promise<void> {
    let pending = keysToDelete.map((Key) => ({ DeleteRequest: { Key } }));
    for (let attempt = 0; pending.length > 0; attempt += 1) {
      if (attempt > 0) await new Promise((resolve) => setTimeout(resolve, 50 * 2 ** Math.min(attempt, 6)));
      if (attempt >= 10) throw new Error('banners could not be deleted: DynamoDB kept them unprocessed');
      const { UnprocessedItems } = await this.options.client.send(
        new BatchWriteItemCommand({ RequestItems: { [this.table]: pending } }),
      );
      pending = (UnprocessedItems?.[this.table] ?? []).flatMap((request) =>
        request.DeleteRequest?.Key ? [{ DeleteRequest: { Key: request.DeleteRequest.Key } }] : [],
      );
    }
  }

  async count(bannerId: string, activity: BannerActivity): Promise<void> {
    const shard = Math.floor(Math.random() * STATS_SHARDS);
    await this.options.client.send(
      new UpdateItemCommand({
        TableName: this.table,
        Key: keys.statsShard(bannerId, shard),
        UpdateExpression: 'ADD #counter :one SET expiresAt = :keepUntil',
        ExpressionAttributeNames: { '#counter': activity === 'impression' ? 'impressions' : 'clicks' },
        ExpressionAttributeValues: {
          ':one': { N: '1' },
          ':keepUntil': { N: epochSeconds(this.now().getTime() + STATS_RETENTION_DAYS * 86_400_000) },
        },
      }),
    );
  }

  async stats(bannerId: string): Promise<BannerStats> {
    const { Items } = await this.options.client.send(
      new QueryCommand({
        TableName: this.table,
        KeyConditionExpression: 'pk = :pk',
        ExpressionAttributeValues: { ':pk': { S: `BANNERSTATS#${bannerId}` } },
      }),
    );
    let impressions = 0;
    let clicks = 0;
    for (const item of Items ?? []) {
      impressions += Number(item.impressions?.N ?? 0);
      clicks += Number(item.clicks?.N ?? 0);
    }
    return { impressions, clicks };
  }
}
