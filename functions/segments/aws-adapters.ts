// AWS adapters of the segment ports: cached definitions, profile facts and consent, backfill pages and progress, rechecks.
import {
  type AttributeValue,
  ConditionalCheckFailedException,
  type DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import type { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { SendMessageBatchCommand, type SQSClient } from '@aws-sdk/client-sqs';
import * as z from 'zod';
import { factEventsOf, ProfileFactsLoader } from '../journeys/facts-store.ts';
import { type FactEvent, MAX_FACT_EVENTS } from '../journeys/model.ts';
import { addressHash } from '../messaging/address.ts';
import { DynamoDbMessagingStore } from '../messaging/dynamodb-store.ts';
import { type ConsentPolicy, DEFAULT_CONSENT_POLICY } from '../messaging/policy.ts';
import type { AddressStore } from '../messaging/store.ts';
import { publishEvents } from '../shared/publish.ts';
import { consentPurposesVariable, type PurposeCategories } from '../tracking/consent.ts';
import { DynamoDbTrackingStore } from '../tracking/dynamodb-store.ts';
import type { Identity } from '../tracking/profile.ts';
import { normalizeEmail } from '../tracking/profile.ts';
import type { TrackingStore } from '../tracking/store.ts';
import {
  BACKFILL_STATES,
  type BackfillProgress,
  type BackfillProgressStore,
  type BackfillRequests,
  type SegmentBackfillRequest,
} from './backfill.ts';
import { segmentBackfillRequested } from './domain-events.ts';
import { DynamoDbRecheckIndex } from './dynamodb-rechecks.ts';
import { DynamoDbSegmentStore } from './dynamodb-store.ts';
import type { DueRecheck, RecheckSender } from './recheck.ts';
import {
  type LiveSegment,
  type SegmentCatalog,
  type SegmentProfile,
  type SegmentProfiles,
  SegmentService,
} from './service.ts';
import type { SegmentStore } from './store.ts';

/**
 * Segment definitions as one function instance sees them: re-read every `refreshMs` (a save reaches every instance
 * within it), or at once after `invalidate()` (a backfill for a version this instance has not seen yet).
 */
export class CachedSegmentCatalog implements SegmentCatalog {
  private cached: { at: number; value: Promise<LiveSegment[]> } | undefined;

  constructor(
    private readonly store: Pick<SegmentStore, 'listHeads' | 'getVersion'>,
    private readonly options: { refreshMs: number; clock?: () => number },
  ) {}

  live(): Promise<LiveSegment[]> {
    const now = (this.options.clock ?? Date.now)();
    if (!this.cached || now - this.cached.at >= this.options.refreshMs) {
      const value = this.load();
      this.cached = { at: now, value };
      value.catch(() => {
        if (this.cached?.value === value) this.cached = undefined;
      });
    }
    return this.cached.value;
  }

  invalidate(): void {
    this.cached = undefined;
  }

  private async load(): Promise<LiveSegment[]> {
    const heads = await this.store.listHeads();
    const versions = await Promise.all(
      heads.map((head) => this.store.getVersion(head.segmentId, head.latestVersion)),
    );
    return versions.flatMap((version) =>
      version === undefined ? [] : [{ definition: version.definition, version: version.version }],
    );
  }
}

/** Traits, lead state and recent events as journeys read them, with the consent and address state sends obey. */
export class TrackingSegmentProfiles implements SegmentProfiles {
  constructor(
    private readonly deps: {
      readonly tracking: Pick<TrackingStore, 'getProfile' | 'getTraits' | 'listEvents'>;
      readonly lead: Pick<ProfileFactsLoader, 'readLeadState'>;
      readonly addresses: Pick<AddressStore, 'getAddress'>;
      readonly consentPolicy: ConsentPolicy;
      /** @default DEFAULT_PURPOSE_CATEGORIES with email marketing as `consentPolicy` */
      readonly purposes?: PurposeCategories;
    },
  ) {}

  async load(profileId: string, options: { events: boolean }): Promise<SegmentProfile | undefined> {
    const [profile, traits, lead] = await Promise.all([
      this.deps.tracking.getProfile(profileId),
      this.deps.tracking.getTraits(profileId),
      this.deps.lead.readLeadState(profileId),
    ]);
    // A merged-away profile only forwards: its survivor carries the memberships.
    if (!profile.exists || profile.value.mergedInto !== null) return undefined;
    const core = profile.value;
    const email = normalizeEmail(traits.value.traits.email) ?? core.emails[0] ?? null;
    const [events, address] = await Promise.all([
      options.events ? this.events(core.userId, core.anonymousIds) : Promise.resolve([]),
      email === null ? Promise.resolve(null) : this.deps.addresses.getAddress(addressHash(email)),
    ]);
    return {
      facts: {
        profileId,
        userId: core.userId,
        traits: traits.value.traits,
        scores: lead.scores,
        stage: lead.stage,
        segments: [],
        events,
      },
      consent: {
        profile: core.consent,
        email,
        address,
        policy: this.deps.consentPolicy,
        ...(this.deps.purposes === undefined ? {} : { purposes: this.deps.purposes }),
      },
    };
  }

  private async events(userId: string | null, anonymousIds: readonly string[]): Promise<FactEvent[]> {
    const identities: Identity[] = [
      ...(userId ? [{ kind: 'userId', value: userId } satisfies Identity] : []),
      ...anonymousIds.map((value): Identity => ({ kind: 'anonymousId', value })),
    ];
    if (identities.length === 0) return [];
    const listed = await this.deps.tracking.listEvents(identities, MAX_FACT_EVENTS);
    return factEventsOf(listed.events).slice(0, MAX_FACT_EVENTS);
  }
}

/** Requests backfill pages on the bus; the segments queue brings them back to the segment function. */
export class BusBackfillRequests implements BackfillRequests {
  constructor(
    private readonly client: EventBridgeClient,
    private readonly busName: string,
  ) {}

  async publish(requests: readonly SegmentBackfillRequest[]): Promise<void> {
    const failed = await publishEvents(
      this.client,
      this.busName,
      requests.map((detail) => ({
        source: segmentBackfillRequested.source,
        detailType: segmentBackfillRequested.detailType,
        detail,
      })),
    );
    if (failed.length > 0) throw new Error(`${failed.length} backfill requests could not be put on the bus`);
  }
}

/** The body the sweep puts on the segments queue for one due timer. */
export const recheckMessageSchema = z.object({
  recheck: z.object({ profileId: z.string().min(1), segmentId: z.string().min(1), dueAt: z.string() }),
});

/** Puts due rechecks on the segments queue, ten per SendMessageBatch. */
export class SqsRecheckSender implements RecheckSender {
  constructor(
    private readonly client: SQSClient,
    private readonly queueUrl: string,
  ) {}

  async send(rechecks: readonly DueRecheck[]): Promise<{ failed: readonly DueRecheck[] }> {
    const failed: DueRecheck[] = [];
    for (let start = 0; start < rechecks.length; start += 10) {
      const chunk = rechecks.slice(start, start + 10);
      try {
        const output = await this.client.send(
          new SendMessageBatchCommand({
            QueueUrl: this.queueUrl,
            Entries: chunk.map((recheck, index) => ({
              Id: String(index),
              MessageBody: JSON.stringify({ recheck }),
            })),
          }),
        );
        for (const failure of output.Failed ?? []) {
          const recheck = chunk[Number(failure.Id)];
          if (recheck) failed.push(recheck);
        }
      } catch {
        // The whole chunk stays indexed and fires on the next sweep.
        failed.push(...chunk);
      }
    }
    return { failed };
  }
}

const PART_ATTRIBUTE = (part: number) => `cursor${part}`;
/** Stored in place of a part's cursor: its first page has not been recorded, or its last one has. */
const FIRST_PAGE = '-';
const DONE = '.';

const progressSchema = z.object({
  version: z.object({ N: z.string() }),
  state: z.object({ S: z.enum(BACKFILL_STATES) }),
  scanned: z.object({ N: z.string() }),
  startedAt: z.object({ S: z.string() }),
  finishedAt: z.object({ S: z.string() }).optional(),
});

/**
 * Progress on the segment's definition partition (`SEGMENTDEF#<id>` / `BACKFILL`). Each part stores the cursor its
 * next page starts at; a page is counted only when it starts where the part stands, so replays never double count.
 */
export class DynamoDbBackfillProgress implements BackfillProgressStore {
  constructor(
    private readonly client: DynamoDBClient,
    private readonly tableName: string,
  ) {}

  private key(segmentId: string) {
    return { pk: { S: `SEGMENTDEF#${segmentId}` }, sk: { S: 'BACKFILL' } };
  }

  async start(input: { segmentId: string; version: number; parts: number; at: string }): Promise<void> {
    const cursors: Record<string, AttributeValue> = {};
    for (let part = 0; part < input.parts; part += 1) cursors[PART_ATTRIBUTE(part)] = { S: FIRST_PAGE };
    await this.client.send(
      new PutItemCommand({
        TableName: this.tableName,
        Item: {
          ...this.key(input.segmentId),
          version: { N: String(input.version) },
          state: { S: 'running' },
          scanned: { N: '0' },
          partsLeft: { N: String(input.parts) },
          startedAt: { S: input.at },
          ...cursors,
        },
      }),
    );
  }

  async recordPage(input: {
    segmentId: string;
    version: number;
    part: number;
    cursor: string | null;
    next: string | null;
    scanned: number;
    at: string;
  }): Promise<void> {
    const done = input.next === null;
    let partsLeft: number;
    try {
      const output = await this.client.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: this.key(input.segmentId),
          UpdateExpression: `SET #cursor = :next ADD scanned :scanned${done ? ', partsLeft :minusOne' : ''}`,
          ConditionExpression: '#version = :version AND #cursor = :cursor',
          ExpressionAttributeNames: { '#cursor': PART_ATTRIBUTE(input.part), '#version': 'version' },
          ExpressionAttributeValues: {
            ':next': { S: input.next ?? DONE },
            ':cursor': { S: input.cursor ?? FIRST_PAGE },
            ':scanned': { N: String(input.scanned) },
            ':version': { N: String(input.version) },
            ...(done ? { ':minusOne': { N: '-1' } } : {}),
          },
          ReturnValues: 'ALL_NEW',
        }),
      );
      partsLeft = Number(output.Attributes?.partsLeft?.N ?? '1');
    } catch (error) {
      // A replayed page, or a page of a version a newer save replaced: already counted or no longer shown.
      if (error instanceof ConditionalCheckFailedException) return;
      throw error;
    }
    if (partsLeft > 0) return;
    await this.client
      .send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: this.key(input.segmentId),
          UpdateExpression: 'SET #state = :finished, finishedAt = :at',
          ConditionExpression: '#version = :version AND #state = :running',
          ExpressionAttributeNames: { '#state': 'state', '#version': 'version' },
          ExpressionAttributeValues: {
            ':finished': { S: 'finished' },
            ':running': { S: 'running' },
            ':at': { S: input.at },
            ':version': { N: String(input.version) },
          },
        }),
      )
      .catch((error: unknown) => {
        if (!(error instanceof ConditionalCheckFailedException)) throw error;
      });
  }

  async get(segmentId: string): Promise<BackfillProgress | undefined> {
    const { Item } = await this.client.send(
      new GetItemCommand({ TableName: this.tableName, Key: this.key(segmentId), ConsistentRead: true }),
    );
    if (!Item) return undefined;
    const item = progressSchema.parse(Item);
    return {
      version: Number(item.version.N),
      state: item.state.S,
      scanned: Number(item.scanned.N),
      startedAt: item.startedAt.S,
      finishedAt: item.finishedAt?.S ?? null,
    };
  }
}

const csvList = z
  .string()
  .transform((value) => value.split(',').map((part) => part.trim()))
  .pipe(z.array(z.string().min(1)).min(1));

/**
 * The environment every function that evaluates segments reads (lib/constructs/segments.ts sets it): the send
 * policy's consent settings, so `{ consent: "email" }` means what the sender will allow, and the categories per
 * consent purpose, for `{ purpose }` rule leaves.
 */
export const segmentEvaluationEnvironment = {
  PROFILE_TABLE: z.string().min(1),
  EVENT_RETENTION_DAYS: z.coerce.number().int().positive().default(396),
  CONSENT_CATEGORIES: csvList.optional(),
  REQUIRE_OPT_IN: z.enum(['true', 'false']).default('false'),
  CONSENT_PURPOSES: consentPurposesVariable.optional(),
};
export type SegmentEvaluationEnvironment = z.output<z.ZodObject<typeof segmentEvaluationEnvironment>>;

/**
 * The segment service over the profile table, as the segment function and the segments admin API both evaluate
 * with it: same facts, same consent, same rechecks. `refreshMs` is how long definitions may be cached.
 */
export function segmentServiceFor({
  client,
  env,
  refreshMs,
}: {
  client: DynamoDBClient;
  env: SegmentEvaluationEnvironment;
  refreshMs: number;
}): {
  service: SegmentService;
  store: DynamoDbSegmentStore;
  catalog: CachedSegmentCatalog;
  tracking: DynamoDbTrackingStore;
} {
  const tableName = env.PROFILE_TABLE;
  const tracking = new DynamoDbTrackingStore({
    client,
    tableName,
    eventRetentionDays: env.EVENT_RETENTION_DAYS,
  });
  const store = new DynamoDbSegmentStore({ client, tableName });
  const catalog = new CachedSegmentCatalog(store, { refreshMs });
  const service = new SegmentService({
    catalog,
    profiles: new TrackingSegmentProfiles({
      tracking,
      lead: new ProfileFactsLoader({ client, tableName, tracking }),
      // Only address state is read; retention matters to writes.
      addresses: new DynamoDbMessagingStore({ client, tableName, messageRetentionDays: 1 }),
      consentPolicy: {
        categories: env.CONSENT_CATEGORIES ?? DEFAULT_CONSENT_POLICY.categories,
        requireOptIn: env.REQUIRE_OPT_IN === 'true',
      },
      ...(env.CONSENT_PURPOSES === undefined ? {} : { purposes: env.CONSENT_PURPOSES }),
    }),
    store,
    timers: new DynamoDbRecheckIndex(client, tableName),
    now: () => new Date(),
  });
  return { service, store, catalog, tracking };
}
