// AWS adapters of the rules recompute: the profile scan, replayable history, progress in the table, page requests.
import {
  type AttributeValue,
  ConditionalCheckFailedException,
  type DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  QueryCommand,
  TransactionCanceledException,
  TransactWriteItemsCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import type { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import type { IncomingEvent } from '../journeys/model.ts';
import { DynamoDbProfileScanner } from '../journeys/profile-scanner.ts';
import { publishEvents } from '../shared/publish.ts';
import { domainEventsFor } from '../tracking/domain-events.ts';
import type { EnrichedEvent, JsonObject } from '../tracking/model.ts';
import type { Identity } from '../tracking/profile.ts';
import type { TrackingStore } from '../tracking/store.ts';
import {
  type PageResult,
  type ProfileHistory,
  RECOMPUTE_PAGE_ITEMS,
  type RecomputeProgress,
  type RecomputeProgressStore,
  type RecomputeRequest,
  type RecomputeRequests,
  type RecomputeScanner,
  recomputeProgressSchema,
} from './recompute.ts';

type Attributes = Record<string, AttributeValue>;

/** Newest events replayed per profile: the ledger keeps 200 awards one by one and folds older ones anyway. */
export const MAX_REPLAYED_EVENTS = 2000;
/** Page markers only guard against redelivery, which SQS does within days. */
const PAGE_MARKER_DAYS = 14;

const PROGRESS_PARTITION = 'SCORINGRULES';
const PROGRESS_PREFIX = 'RECOMPUTE#';
const PAGE_PREFIX = 'RECOMPUTEPAGE#';

/** Zero-padded so that the newest version sorts last. */
const versionText = (version: number) => String(version).padStart(9, '0');
const progressKey = (version: number): Attributes => ({
  pk: { S: PROGRESS_PARTITION },
  sk: { S: `${PROGRESS_PREFIX}${versionText(version)}` },
});

/**
 * Every profile's core item (`PROFILE#<id>`/`PROFILE`): anonymous profiles with behaviour points have no traits item,
 * and profiles with traits but no lead item yet get their fit scores. A Scan reads the whole table (events included),
 * about one read unit per 4 KB stored, once per published rules version.
 */
export class DynamoDbRecomputeScanner extends DynamoDbProfileScanner implements RecomputeScanner {
  constructor(client: DynamoDBClient, tableName: string, pageItems: number = RECOMPUTE_PAGE_ITEMS) {
    super(client, tableName, pageItems, 'PROFILE');
  }
}

/** A stored event as the score function received it: the same `event.tracked` detail and dedupe key. */
export function trackedEventOf(event: EnrichedEvent, profileId: string): IncomingEvent | null {
  const [tracked] = domainEventsFor({
    eventName: 'INSERT',
    keys: { pk: 'EVENTS#', sk: 'EVT#' },
    newData: { event, profileId },
  });
  if (tracked?.detailType !== 'event.tracked') return null;
  return {
    source: 'nurture.tracking',
    'detail-type': 'event.tracked',
    detail: tracked.detail,
    dedupeKey: tracked.detail.dedupeKey,
    time: tracked.detail.eventTime,
  };
}

/**
 * A profile's tracked events (newest MAX_REPLAYED_EVENTS within retention) and current traits. Domain events that
 * are not stored as tracked events (message engagement, identifications) cannot be replayed.
 */
export class TrackingProfileHistory implements ProfileHistory {
  constructor(private readonly tracking: Pick<TrackingStore, 'getProfile' | 'getTraits' | 'listEvents'>) {}

  async load(profileId: string): Promise<{ events: IncomingEvent[]; traits: JsonObject } | null> {
    const [profile, traits] = await Promise.all([
      this.tracking.getProfile(profileId),
      this.tracking.getTraits(profileId),
    ]);
    // A merged-away profile's events and scores live on the profile it was merged into.
    if (!profile.exists || profile.value.mergedInto !== null) return null;
    const core = profile.value;
    const identities: Identity[] = [
      ...(core.userId ? [{ kind: 'userId', value: core.userId } satisfies Identity] : []),
      ...core.anonymousIds.map((value): Identity => ({ kind: 'anonymousId', value })),
    ];
    const listed =
      identities.length === 0
        ? { events: [] }
        : await this.tracking.listEvents(identities, MAX_REPLAYED_EVENTS);
    const events = listed.events.flatMap((event) => trackedEventOf(event, profileId) ?? []);
    return { events, traits: traits.value.traits };
  }
}

function progressOf(item: Attributes): RecomputeProgress {
  return recomputeProgressSchema.parse({
    version: Number(item.version?.N),
    state: item.recomputeState?.S,
    totalSegments: Number(item.totalSegments?.N),
    segmentsDone: Number(item.segmentsDone?.N ?? '0'),
    pages: Number(item.pages?.N ?? '0'),
    profilesRecomputed: Number(item.profilesRecomputed?.N ?? '0'),
    profilesChanged: Number(item.profilesChanged?.N ?? '0'),
    failures: Number(item.failures?.N ?? '0'),
    startedAt: item.startedAt?.S,
    finishedAt: item.finishedAt?.S ?? null,
  });
}

/**
 * Progress per rules version on `SCORINGRULES`/`RECOMPUTE#<version>`. A page's counts are added in one transaction
 * with a marker item for the page, so a redelivered page counts nothing twice.
 */
export class DynamoDbRecomputeProgress implements RecomputeProgressStore {
  constructor(
    private readonly client: DynamoDBClient,
    private readonly tableName: string,
  ) {}

  async start(input: { version: number; totalSegments: number; at: string }): Promise<RecomputeProgress> {
    try {
      await this.client.send(
        new PutItemCommand({
          TableName: this.tableName,
          Item: {
            ...progressKey(input.version),
            version: { N: String(input.version) },
            recomputeState: { S: 'running' },
            totalSegments: { N: String(input.totalSegments) },
            segmentsDone: { N: '0' },
            pages: { N: '0' },
            profilesRecomputed: { N: '0' },
            profilesChanged: { N: '0' },
            failures: { N: '0' },
            startedAt: { S: input.at },
          },
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      );
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
    }
    const progress = await this.get(input.version);
    if (progress === undefined) throw new Error(`recompute of rules version ${input.version} vanished`);
    return progress;
  }

  async get(version: number): Promise<RecomputeProgress | undefined> {
    const { Item } = await this.client.send(
      new GetItemCommand({ TableName: this.tableName, Key: progressKey(version), ConsistentRead: true }),
    );
    return Item === undefined ? undefined : progressOf(Item);
  }

  async latest(): Promise<RecomputeProgress | undefined> {
    const { Items = [] } = await this.client.send(
      new QueryCommand({
        TableName: this.tableName,
        KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
        ExpressionAttributeValues: { ':pk': { S: PROGRESS_PARTITION }, ':prefix': { S: PROGRESS_PREFIX } },
        ScanIndexForward: false,
        Limit: 1,
        ConsistentRead: true,
      }),
    );
    const [item] = Items;
    return item === undefined ? undefined : progressOf(item);
  }

  async recordPage(page: PageResult): Promise<void> {
    const expiresAt = Math.floor(Date.parse(page.at) / 1000) + PAGE_MARKER_DAYS * 86_400;
    try {
      await this.client.send(
        new TransactWriteItemsCommand({
          TransactItems: [
            {
              Put: {
                TableName: this.tableName,
                Item: {
                  pk: { S: PROGRESS_PARTITION },
                  sk: { S: `${PAGE_PREFIX}${versionText(page.version)}#${page.pageKey}` },
                  expiresAt: { N: String(expiresAt) },
                },
                ConditionExpression: 'attribute_not_exists(pk)',
              },
            },
            {
              Update: {
                TableName: this.tableName,
                Key: progressKey(page.version),
                UpdateExpression:
                  'ADD pages :one, segmentsDone :segment, profilesRecomputed :recomputed, profilesChanged :changed, failures :failures',
                ConditionExpression: 'attribute_exists(pk)',
                ExpressionAttributeValues: {
                  ':one': { N: '1' },
                  ':segment': { N: page.segmentDone ? '1' : '0' },
                  ':recomputed': { N: String(page.recomputed) },
                  ':changed': { N: String(page.changed) },
                  ':failures': { N: String(page.failures) },
                },
              },
            },
          ],
        }),
      );
    } catch (error) {
      // Already recorded (a redelivered page); finishing below is still due if the first delivery stopped short.
      if (!(error instanceof TransactionCanceledException)) throw error;
      if (!error.CancellationReasons?.some((reason) => reason.Code === 'ConditionalCheckFailed')) throw error;
    }
    if (page.segmentDone) await this.finish(page.version, page.at);
  }

  async supersede(input: { version: number; at: string }): Promise<void> {
    await this.moveFromRunning({ version: input.version, at: input.at, to: 'superseded' });
  }

  /** Done once every segment's last page was recorded. */
  private async finish(version: number, at: string): Promise<void> {
    await this.moveFromRunning({ version, at, to: 'done', condition: 'segmentsDone >= totalSegments' });
  }

  private async moveFromRunning(input: {
    version: number;
    at: string;
    to: 'done' | 'superseded';
    condition?: string;
  }): Promise<void> {
    try {
      await this.client.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: progressKey(input.version),
          UpdateExpression: 'SET recomputeState = :to, finishedAt = :at',
          ConditionExpression: ['recomputeState = :running', input.condition]
            .filter((part) => part !== undefined)
            .join(' AND '),
          ExpressionAttributeValues: {
            ':to': { S: input.to },
            ':at': { S: input.at },
            ':running': { S: 'running' },
          },
        }),
      );
    } catch (error) {
      // Not running any more, or segments still to go: nothing to move.
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
    }
  }
}

/** Requests pages of a recompute on the bus (a rule brings them back to the scoring queue). */
export class BusRecomputeRequests implements RecomputeRequests {
  constructor(
    private readonly client: EventBridgeClient,
    private readonly busName: string,
  ) {}

  async publish(requests: readonly RecomputeRequest[]): Promise<void> {
    const failed = await publishEvents(
      this.client,
      this.busName,
      requests.map((detail) => ({
        source: 'nurture.scoring',
        detailType: 'scoring.recompute_requested',
        detail,
      })),
    );
    if (failed.length > 0) throw new Error(`${failed.length} recompute requests could not be put on the bus`);
  }
}
