// DynamoDB adapter of the privacy store: finds a person's items across the profile table's layouts and deletes them.
import { gunzipSync } from 'node:zlib';
import {
  type AttributeValue,
  BatchGetItemCommand,
  type DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  QueryCommand,
  type QueryCommandInput,
  TransactWriteItemsCommand,
} from '@aws-sdk/client-dynamodb';
import * as z from 'zod';
import { timerPartition, timerShard } from '../journeys/timer-keys.ts';
import { type KpiMetric, markerOf } from '../kpis/counters.ts';
import { counterKeys } from '../kpis/dynamodb-counter-store.ts';
import { addressHash } from '../messaging/address.ts';
import { DynamoDbMessagingStore } from '../messaging/dynamodb-store.ts';
import { DynamoDbSegmentStore } from '../segments/dynamodb-store.ts';
import { recheckPartition, recheckShard } from '../segments/recheck.ts';
import { deleteKeys } from '../shared/dynamodb-batch.ts';
import { DynamoDbTrackingStore } from '../tracking/dynamodb-store.ts';
import type { JsonValue } from '../tracking/model.ts';
import { type Identity, identityKey, type ProfileCore } from '../tracking/profile.ts';
import {
  type ErasureAudit,
  IDENTIFIER_KINDS,
  ITEM_KINDS,
  type ItemKind,
  identitiesOf,
  kindOfProfileItem,
  mentionsPerson,
  type Person,
  type PersonItem,
} from './person.ts';
import type { ErasureJob, PrivacyStore } from './store.ts';

type Item = Record<string, AttributeValue>;

/** BatchWriteItem and BatchGetItem limits. */
const BATCH_GET_SIZE = 100;
const MAX_BATCH_ATTEMPTS = 10;
/** A leaving decision later than any membership change, so it always wins the segment store's ordering check. */
const LEAVE_AT = '9999-12-31T23:59:59.999Z';
const AUDIT_PARTITION = 'AUDIT#erasure';
/** `ever` KPI markers are keyed by metric and currency: the currencies tried when the person's events name none. */
const DEFAULT_CURRENCIES = ['USD'];
const EVER_MARKER_METRICS: ReadonlyArray<{ metric: KpiMetric; perCurrency: boolean }> = [
  { metric: 'newLeads', perCurrency: false },
  { metric: 'newCustomers', perCurrency: false },
  { metric: 'currencyCustomers', perCurrency: true },
];

const jsonValue: z.ZodType<JsonValue> = z.json();
const countsSchema = z.partialRecord(z.enum(ITEM_KINDS), z.number());
const personSchema = z.object({
  profileIds: z.array(z.string()),
  userIds: z.array(z.string()),
  anonymousIds: z.array(z.string()),
  emails: z.array(z.string()),
});
const jobSchema = z.object({
  key: z.string(),
  requestId: z.string(),
  requestedAt: z.string(),
  requestedBy: z.string(),
  reason: z.string(),
  identifier: z.object({ kind: z.enum(IDENTIFIER_KINDS), value: z.string() }),
  person: personSchema,
  erased: countsSchema,
}) satisfies z.ZodType<ErasureJob>;
const auditSchema = z.object({
  requestId: z.string(),
  requestedAt: z.string(),
  finishedAt: z.string(),
  requestedBy: z.string(),
  reason: z.string(),
  identifier: z.object({ kind: z.enum(IDENTIFIER_KINDS), hash: z.string() }),
  hashed: personSchema,
  erased: countsSchema,
  suppressed: z.number(),
}) satisfies z.ZodType<ErasureAudit>;

const jobKey = (key: string) => ({ pk: { S: `ERASURE#${key}` }, sk: { S: 'JOB' } });

/** A JSON document in a string attribute (messages, enrollments, timers, ...) is exported as the document. */
function plainText(text: string): JsonValue {
  if (!/^\s*[[{]/.test(text)) return text;
  try {
    return jsonValue.parse(JSON.parse(text));
  } catch {
    return text;
  }
}

/** Tracking items are gzip JSON; anything else binary is exported as base64. */
function plainBinary(bytes: Uint8Array): JsonValue {
  try {
    return jsonValue.parse(JSON.parse(gunzipSync(bytes).toString('utf8')));
  } catch {
    return Buffer.from(bytes).toString('base64');
  }
}

function plainValue(value: AttributeValue): JsonValue {
  if (value.S !== undefined) return plainText(value.S);
  if (value.N !== undefined) return Number(value.N);
  if (value.B !== undefined) return plainBinary(value.B);
  if (value.BOOL !== undefined) return value.BOOL;
  if (value.NULL !== undefined) return null;
  if (value.L !== undefined) return value.L.map(plainValue);
  if (value.M !== undefined) return plainItem(value.M);
  if (value.SS !== undefined) return [...value.SS];
  if (value.NS !== undefined) return value.NS.map(Number);
  if (value.BS !== undefined) return value.BS.map((b) => Buffer.from(b).toString('base64'));
  return null;
}

/** An item as plain JSON: what an export shows and what the completeness test searches. */
export function plainItem(item: Item): { [attribute: string]: JsonValue } {
  const out: { [attribute: string]: JsonValue } = {};
  for (const [name, value] of Object.entries(item)) out[name] = plainValue(value);
  return out;
}

function personItem(kind: ItemKind, item: Item): PersonItem | undefined {
  const pk = item.pk?.S;
  const sk = item.sk?.S;
  if (pk === undefined || sk === undefined) return undefined;
  return { kind, pk, sk, data: plainItem(item) };
}

export interface DynamoDbPrivacyStoreOptions {
  readonly client: DynamoDBClient;
  readonly tableName: string;
}

export class DynamoDbPrivacyStore implements PrivacyStore {
  private readonly client: DynamoDBClient;
  private readonly tableName: string;
  private readonly tracking: DynamoDbTrackingStore;
  private readonly segments: DynamoDbSegmentStore;
  private readonly addresses: DynamoDbMessagingStore;

  constructor(options: DynamoDbPrivacyStoreOptions) {
    this.client = options.client;
    this.tableName = options.tableName;
    // Only reads and suppression go through these; the retention settings apply to writes they never make here.
    this.tracking = new DynamoDbTrackingStore({ ...options, eventRetentionDays: 1 });
    this.segments = new DynamoDbSegmentStore(options);
    this.addresses = new DynamoDbMessagingStore({ ...options, messageRetentionDays: 1 });
  }

  async getProfile(profileId: string): Promise<ProfileCore | undefined> {
    const profile = await this.tracking.getProfile(profileId);
    return profile.exists ? profile.value : undefined;
  }

  getIdentityPointer(identity: Identity): Promise<string | undefined> {
    return this.tracking.getIdentityPointer(identity);
  }

  private async queryAll(input: Omit<QueryCommandInput, 'TableName' | 'ExclusiveStartKey'>): Promise<Item[]> {
    const items: Item[] = [];
    let start: Item | undefined;
    do {
      const page = await this.client.send(
        new QueryCommand({ ...input, TableName: this.tableName, ExclusiveStartKey: start }),
      );
      items.push(...(page.Items ?? []));
      start = page.LastEvaluatedKey;
    } while (start);
    return items;
  }

  private partition(pk: string): Promise<Item[]> {
    return this.queryAll({
      KeyConditionExpression: 'pk = :pk',
      ExpressionAttributeValues: { ':pk': { S: pk } },
      ConsistentRead: true,
    });
  }

  async findItems(person: Person): Promise<PersonItem[]> {
    const found = await Promise.all([
      ...person.profileIds.map((id) => this.profileItems(id)),
      ...identitiesOf(person).map((identity) => this.identityItems(identity)),
      this.webhookDeliveries(person),
    ]);
    const items = found.flat();
    const markers = await this.kpiMarkers(person, items);
    const unique = new Map<string, PersonItem>();
    for (const item of [...items, ...markers]) unique.set(`${item.pk}\n${item.sk}`, item);
    return [...unique.values()];
  }

  /** Everything keyed by one profile id: its partition, memberships, timers, messages and banners. */
  private async profileItems(profileId: string): Promise<PersonItem[]> {
    const [own, rechecks, timers, messages, banners] = await Promise.all([
      this.partition(`PROFILE#${profileId}`),
      this.queryAll({
        KeyConditionExpression: 'pk = :pk',
        FilterExpression: 'profileId = :profileId',
        ExpressionAttributeValues: {
          ':pk': { S: recheckPartition(recheckShard(profileId)) },
          ':profileId': { S: profileId },
        },
      }),
      // Timers hold the profile id inside their JSON; entry timers of date triggers have no enrollment to find.
      this.queryAll({
        KeyConditionExpression: 'pk = :pk',
        FilterExpression: 'contains(t, :profile)',
        ExpressionAttributeValues: {
          ':pk': { S: timerPartition(timerShard(profileId)) },
          ':profile': { S: `"profileId":${JSON.stringify(profileId)}` },
        },
      }),
      this.queryAll({
        IndexName: 'gsi1',
        KeyConditionExpression: 'gsi1pk = :pk',
        ExpressionAttributeValues: { ':pk': { S: `PROFILE#${profileId}#MESSAGES` } },
      }),
      this.partition(`BANNER#${profileId}`),
    ]);
    const ownItems = own.flatMap((item) => {
      const found = personItem(kindOfProfileItem(item.sk?.S ?? ''), item);
      return found === undefined ? [] : [found];
    });
    const segmentIds = ownItems
      .filter((item) => item.kind === 'profileSegment')
      .map((item) => item.sk.slice('SEGMENT#'.length));
    const members = await this.getAll(
      segmentIds.map((segmentId) => ({
        pk: { S: `SEGMENT#${segmentId}` },
        sk: { S: `MEMBER#${profileId}` },
      })),
    );
    const tagged: Array<[ItemKind, Item[]]> = [
      ['segmentRecheck', rechecks],
      ['journeyTimer', timers],
      ['message', messages],
      ['banner', banners],
      ['segmentMembership', members],
    ];
    return [
      ...ownItems,
      ...tagged.flatMap(([kind, items]) =>
        items.flatMap((item) => {
          const found = personItem(kind, item);
          return found === undefined ? [] : [found];
        }),
      ),
    ];
  }

  /** The identity-map item of an identity, and the events filed under it. */
  private async identityItems(identity: Identity): Promise<PersonItem[]> {
    const key = identityKey(identity);
    const [pointer, events] = await Promise.all([
      this.client.send(
        new GetItemCommand({
          TableName: this.tableName,
          Key: { pk: { S: `IDENTITY#${key}` }, sk: { S: 'IDENTITY' } },
          ConsistentRead: true,
        }),
      ),
      identity.kind === 'email' ? Promise.resolve([]) : this.partition(`EVENTS#${key}`),
    ]);
    const items: PersonItem[] = [];
    const pointerItem = pointer.Item === undefined ? undefined : personItem('identity', pointer.Item);
    if (pointerItem !== undefined) items.push(pointerItem);
    for (const event of events) {
      const found = personItem('event', event);
      if (found !== undefined) items.push(found);
    }
    return items;
  }

  /**
   * Deliveries whose payload names the person. Deliveries are kept by endpoint, not by profile, so every
   * endpoint's deliveries are read; they expire after DELIVERY_RETENTION_DAYS, which bounds the read.
   */
  private async webhookDeliveries(person: Person): Promise<PersonItem[]> {
    const endpoints = await this.queryAll({
      IndexName: 'gsi1',
      KeyConditionExpression: 'gsi1pk = :endpoints',
      ExpressionAttributeValues: { ':endpoints': { S: 'WEBHOOKS' } },
      ProjectionExpression: 'pk',
    });
    const deliveries = await Promise.all(
      endpoints.flatMap((endpoint) => {
        const pk = endpoint.pk?.S;
        if (pk === undefined) return [];
        return [
          this.queryAll({
            KeyConditionExpression: 'pk = :pk AND begins_with(sk, :delivery)',
            ExpressionAttributeValues: { ':pk': { S: pk }, ':delivery': { S: 'DELIVERY#' } },
          }),
        ];
      }),
    );
    return deliveries.flat().flatMap((item) => {
      const data = item.data?.S;
      if (data === undefined || !mentionsPerson(data, person)) return [];
      const found = personItem('webhookDelivery', item);
      return found === undefined ? [] : [found];
    });
  }

  /**
   * KPI distinct markers counted once ever per profile (new leads, new customers) are keyed by a hash of the
   * profile id; the per-day ones expire by TTL within weeks and are not looked for.
   */
  private async kpiMarkers(person: Person, items: readonly PersonItem[]): Promise<PersonItem[]> {
    const currencies = new Set(DEFAULT_CURRENCIES);
    for (const item of items) {
      if (item.kind !== 'event') continue;
      const stored = item.data.d;
      const event =
        stored !== null && typeof stored === 'object' && !Array.isArray(stored) ? stored.event : null;
      const properties =
        event !== null && typeof event === 'object' && !Array.isArray(event) ? event.properties : null;
      const currency =
        properties !== null && typeof properties === 'object' && !Array.isArray(properties)
          ? properties.currency
          : null;
      if (typeof currency === 'string' && /^[A-Za-z]{3}$/.test(currency))
        currencies.add(currency.toUpperCase());
    }
    const keys = person.profileIds.flatMap((profileId) =>
      EVER_MARKER_METRICS.flatMap(({ metric, perCurrency }) =>
        (perCurrency ? [...currencies] : [null]).flatMap((currency) => {
          const marker = markerOf({
            day: '',
            metric,
            currency,
            dimension: 'all',
            value: 'all',
            by: 1,
            distinct: { key: profileId, scope: 'ever' },
          });
          return marker === null ? [] : [counterKeys.marker(marker)];
        }),
      ),
    );
    return (await this.getAll(keys)).flatMap((item) => {
      const found = personItem('kpiMarker', item);
      return found === undefined ? [] : [found];
    });
  }

  private async getAll(keys: ReadonlyArray<{ pk: { S: string }; sk: { S: string } }>): Promise<Item[]> {
    const items: Item[] = [];
    for (let i = 0; i < keys.length; i += BATCH_GET_SIZE) {
      let pending: Item[] = keys.slice(i, i + BATCH_GET_SIZE);
      for (let attempt = 0; pending.length > 0; attempt += 1) {
        if (attempt >= MAX_BATCH_ATTEMPTS)
          throw new Error('items could not be read: DynamoDB kept them unprocessed');
        if (attempt > 0) await backoff(attempt);
        const output = await this.client.send(
          new BatchGetItemCommand({
            RequestItems: { [this.tableName]: { Keys: pending, ConsistentRead: true } },
          }),
        );
        items.push(...(output.Responses?.[this.tableName] ?? []));
        pending = output.UnprocessedKeys?.[this.tableName]?.Keys ?? [];
      }
    }
    return items;
  }

  async deleteItems(items: readonly PersonItem[]): Promise<void> {
    // Kind by kind, in the order given: journeys must stop before anything else goes.
    const kinds = [...new Set(items.map((item) => item.kind))];
    for (const kind of kinds) {
      const ofKind = items.filter((item) => item.kind === kind);
      if (kind === 'segmentMembership') await this.leaveSegments(ofKind);
      else await this.deleteKeys(ofKind.map((item) => ({ pk: { S: item.pk }, sk: { S: item.sk } })));
    }
  }

  /** Through the segment store, so each segment's size goes down exactly once. */
  private async leaveSegments(memberships: readonly PersonItem[]): Promise<void> {
    for (const item of memberships) {
      const segmentId = item.pk.slice('SEGMENT#'.length);
      const profileId = item.sk.slice('MEMBER#'.length);
      await this.segments.setMembership({ segmentId, profileId, member: false, at: LEAVE_AT, version: 0 });
      // Leaving records when the profile left; that record is the person's too.
      await this.deleteKeys([{ pk: { S: `PROFILE#${profileId}` }, sk: { S: `SEGEXIT#${segmentId}` } }]);
    }
  }

  private async deleteKeys(keys: readonly Item[]): Promise<void> {
    await deleteKeys({ client: this.client, tableName: this.tableName, keys });
  }

  async addressStates(
    emails: readonly string[],
  ): Promise<Array<{ email: string; addressHash: string; state: JsonValue }>> {
    const states = await Promise.all(
      emails.map(async (email) => {
        const hash = addressHash(email);
        const state = await this.addresses.getAddress(hash);
        if (state === null) return [];
        return [
          {
            email,
            addressHash: hash,
            state: {
              suppressed: state.suppressed,
              unsubscribed: { ...state.unsubscribed },
              softBounces: state.softBounces,
            },
          },
        ];
      }),
    );
    return states.flat();
  }

  async suppress(emails: readonly string[], at: string): Promise<number> {
    let newly = 0;
    for (const email of emails) {
      const hash = addressHash(email);
      if ((await this.addresses.getAddress(hash))?.suppressed) continue;
      await this.addresses.suppress({ addressHash: hash, reason: 'manual', at });
      newly += 1;
    }
    return newly;
  }

  async getErasureJob(key: string): Promise<ErasureJob | undefined> {
    const { Item } = await this.client.send(
      new GetItemCommand({ TableName: this.tableName, Key: jobKey(key), ConsistentRead: true }),
    );
    const text = Item?.job?.S;
    return text === undefined ? undefined : jobSchema.parse(JSON.parse(text));
  }

  async putErasureJob(job: ErasureJob): Promise<void> {
    await this.client.send(
      new PutItemCommand({
        TableName: this.tableName,
        Item: { ...jobKey(job.key), job: { S: JSON.stringify(job) } },
      }),
    );
  }

  async finishErasure(job: ErasureJob, audit: ErasureAudit): Promise<void> {
    await this.client.send(
      new TransactWriteItemsCommand({
        TransactItems: [
          {
            Put: {
              TableName: this.tableName,
              Item: {
                pk: { S: AUDIT_PARTITION },
                sk: { S: `${audit.requestedAt}#${audit.requestId}` },
                audit: { S: JSON.stringify(audit) },
              },
            },
          },
          { Delete: { TableName: this.tableName, Key: jobKey(job.key) } },
        ],
      }),
    );
  }

  async listAudit(limit: number): Promise<ErasureAudit[]> {
    const { Items = [] } = await this.client.send(
      new QueryCommand({
        TableName: this.tableName,
        KeyConditionExpression: 'pk = :pk',
        ExpressionAttributeValues: { ':pk': { S: AUDIT_PARTITION } },
        ScanIndexForward: false,
        Limit: limit,
      }),
    );
    return Items.flatMap((item) => {
      const text = item.audit?.S;
      return text === undefined ? [] : [auditSchema.parse(JSON.parse(text))];
    });
  }
}

function backoff(attempt: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 50 * 2 ** Math.min(attempt, 6)));
}
