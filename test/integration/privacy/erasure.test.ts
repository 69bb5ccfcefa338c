// Export and erasure against DynamoDB Local: a person built through the real stores is exported whole, then erased
// so completely that a scan of the whole table finds none of their identifiers, and the address stays suppressed.
import { randomUUID } from 'node:crypto';
import { gunzipSync } from 'node:zlib';
import { type AttributeValue, ScanCommand } from '@aws-sdk/client-dynamodb';
import { beforeAll, describe, expect, it } from 'vitest';
import { DynamoDbJourneyStore } from '../../../functions/journeys/dynamodb-store.ts';
import type { Enrollment, Timer } from '../../../functions/journeys/model.ts';
import { DynamoDbCounterStore } from '../../../functions/kpis/dynamodb-counter-store.ts';
import { addressHash } from '../../../functions/messaging/address.ts';
import { newBanner } from '../../../functions/messaging/banners/banner.ts';
import { DynamoDbBannerStore } from '../../../functions/messaging/banners/dynamodb-store.ts';
import { DynamoDbMessagingStore } from '../../../functions/messaging/dynamodb-store.ts';
import { newMessageRecord } from '../../../functions/messaging/lifecycle.ts';
import { DEFAULT_CONSENT_POLICY, decideSend } from '../../../functions/messaging/policy.ts';
import { DynamoDbWebhookStore } from '../../../functions/messaging/webhooks/dynamodb-store.ts';
import { deliveryIdFor } from '../../../functions/messaging/webhooks/queue.ts';
import { newWebhookSecret } from '../../../functions/messaging/webhooks/signature.ts';
import { DynamoDbPrivacyStore } from '../../../functions/privacy/dynamodb-store.ts';
import type { ErasureAudit } from '../../../functions/privacy/person.ts';
import { PrivacyService } from '../../../functions/privacy/service.ts';
import type { ErasureJob } from '../../../functions/privacy/store.ts';
import { DynamoDbScoringStore } from '../../../functions/scoring/dynamodb-store.ts';
import { parseScoringRules } from '../../../functions/scoring/rules.ts';
import { applyEvent, emptyScoreState } from '../../../functions/scoring/score.ts';
import { newLifecycle, transition } from '../../../functions/scoring/stages.ts';
import { DynamoDbRecheckIndex } from '../../../functions/segments/dynamodb-rechecks.ts';
import { DynamoDbSegmentStore } from '../../../functions/segments/dynamodb-store.ts';
import { DynamoDbTrackingStore } from '../../../functions/tracking/dynamodb-store.ts';
import { IngestService } from '../../../functions/tracking/ingest-service.ts';
import type { EnrichedEvent, EventType, JsonObject } from '../../../functions/tracking/model.ts';
import { defaultProfileId } from '../../../functions/tracking/profile.ts';
import { b2bRules, pageView } from '../../unit/scoring/fixtures.ts';
import { createProfileStoreTable, dynamodb, uniqueName } from '../clients.ts';

const tableName = uniqueName('privacy');
const now = new Date('2026-11-20T10:00:00.000Z');
const clientOptions = { client: dynamodb, tableName };
const tracking = new DynamoDbTrackingStore({ ...clientOptions, eventRetentionDays: 396 });
const ingest = new IngestService(tracking);
const messaging = new DynamoDbMessagingStore({ ...clientOptions, messageRetentionDays: 396 });
const scoring = new DynamoDbScoringStore({ ...clientOptions, now: () => now });
const journeys = new DynamoDbJourneyStore({ ...clientOptions, now: () => now });
const segments = new DynamoDbSegmentStore(clientOptions);
const rechecks = new DynamoDbRecheckIndex(dynamodb, tableName);
const banners = new DynamoDbBannerStore({ ...clientOptions, now: () => now });
const webhooks = new DynamoDbWebhookStore(dynamodb, tableName);
const kpis = new DynamoDbCounterStore({ ...clientOptions, now: () => now });
const privacyStore = new DynamoDbPrivacyStore(clientOptions);
const privacy = new PrivacyService(privacyStore, { now: () => now });
const webhookEndpoint = `ep-${randomUUID().slice(0, 8)}`;

beforeAll(async () => {
  await createProfileStoreTable(tableName);
  await webhooks.saveEndpoint(
    {
      id: webhookEndpoint,
      url: 'https://crm.example.com/hooks',
      description: 'Sales hand-off',
      secret: newWebhookSecret(),
      status: 'active',
      createdAt: now.toISOString(),
      updatedAt: now.toISOString(),
    },
    0,
  );
});

let clock = Date.parse('2026-11-01T10:00:00Z');

function event(
  type: EventType,
  ids: { userId?: string; anonymousId?: string },
  extra: { traits?: JsonObject; event?: string; properties?: JsonObject } = {},
): EnrichedEvent {
  clock += 60_000;
  const at = new Date(clock).toISOString();
  return {
    type,
    protocol: 'segment',
    messageId: randomUUID(),
    ...ids,
    ...(extra.event ? { event: extra.event } : {}),
    traits: extra.traits ?? {},
    properties: extra.properties ?? {},
    context: { consent: { categoryPreferences: { analytics: true, marketing: true } } },
    sourceId: 'src_test',
    enrichment: {
      eventTime: at,
      receivedAt: at,
      touch: {
        channel: 'direct',
        campaign: null,
        landingPage: '/pricing',
        referrer: null,
        source: null,
        medium: null,
      },
      device: 'desktop',
      isBot: false,
      ip: '203.0.113.0',
      browser: null,
      os: null,
    },
  };
}

interface BuiltPerson {
  readonly userId: string;
  readonly email: string;
  readonly anonymousIds: readonly [string, string];
  /** The live profile and the one merged into it. */
  readonly profileId: string;
  readonly mergedProfileId: string;
  readonly segmentId: string;
}

function enrollment(profileId: string, journeyId: string, timerId: string): Enrollment {
  return {
    profileId,
    journeyId,
    run: 1,
    journeyVersion: 1,
    status: 'active',
    exitReason: null,
    goalId: null,
    nodeId: 'wait',
    waiting: { kind: 'wait', nodeId: 'wait', until: '2026-11-21T10:00:00.000Z', timerId },
    variant: null,
    enteredAt: now.toISOString(),
    updatedAt: now.toISOString(),
    exitedAt: null,
    history: [{ at: now.toISOString(), nodeId: 'wait', outcome: 'waiting' }],
    processed: ['trigger:1'],
    sends: [],
    steps: 1,
    pendingEffects: [],
    version: 1,
  };
}

async function message(profileId: string): Promise<void> {
  await messaging.createMessage(
    newMessageRecord({
      messageId: `msg_${randomUUID()}`,
      profileId,
      templateId: 'welcome',
      templateVersion: null,
      idempotencyKey: randomUUID(),
      origin: { journeyId: null, stepId: null, variant: null, campaign: null, run: null },
      toOverride: null,
      test: false,
      createdAt: now.toISOString(),
    }),
  );
}

/**
 * A person as the product builds one: two devices, an identify with an email, the second device merged in, a
 * message to each profile, a lead with a ledger, a journey waiting on a timer, a segment with a recheck, a banner,
 * a webhook delivery naming them, a KPI marker, and an unsubscribe.
 */
async function buildPerson(segmentId: string): Promise<BuiltPerson> {
  const userId = `user-${randomUUID()}`;
  const email = `ada.${randomUUID().slice(0, 8)}@example.com`;
  const anonymousIds = [`anon-${randomUUID()}`, `anon-${randomUUID()}`] as const;
  await ingest.ingest([event('page', { anonymousId: anonymousIds[0] })]);
  await ingest.ingest([
    event('identify', { anonymousId: anonymousIds[0], userId }, { traits: { email, firstName: 'Ada' } }),
  ]);
  await ingest.ingest([event('page', { anonymousId: anonymousIds[1] })]);
  await ingest.ingest([
    event(
      'track',
      { anonymousId: anonymousIds[1], userId },
      { event: 'Order Completed', properties: { currency: 'EUR' } },
    ),
  ]);
  const profileId = await ingest.resolve({ kind: 'userId', value: userId });
  const mergedProfileId = defaultProfileId({ kind: 'anonymousId', value: anonymousIds[1] });
  expect((await tracking.getProfile(mergedProfileId)).value.mergedInto).toBe(profileId);

  await message(profileId);
  await message(mergedProfileId);

  const rules = parseScoringRules(b2bRules);
  const read = await scoring.getLead(profileId);
  await scoring.commitLead({
    profileId,
    read,
    state: {
      ledger: applyEvent({
        state: emptyScoreState(rules.version),
        event: pageView({ url: 'https://example.com/pricing', key: 'view-1', at: now.toISOString() }),
        rules,
        now,
      }).state,
      lifecycle: transition({
        state: newLifecycle(profileId),
        input: { kind: 'manual', to: 'mql', reason: 'imported', actor: 'test' },
        now,
      }).state,
      announced: { behaviour: 10, fit: 0, combined: 10 },
      attributedDeals: [],
    },
    scores: { behaviour: 10, fit: 0, combined: 10 },
    outbox: [],
  });

  const journeyId = `journey-${randomUUID().slice(0, 8)}`;
  const timer: Timer = {
    timerId: `tmr_${randomUUID()}`,
    dueAt: '2026-11-21T10:00:00.000Z',
    profileId,
    journeyId,
    kind: 'step',
  };
  await journeys.commit({
    next: enrollment(profileId, journeyId, timer.timerId),
    expectedVersion: 0,
    setTimers: [timer],
    deleteTimers: [],
    counters: [{ nodeId: 'wait', counter: 'entered', variant: null, delta: 1 }],
    scores: [],
  });

  await segments.setMembership({ segmentId, profileId, member: true, at: now.toISOString(), version: 1 });
  await rechecks.set({ profileId, segmentId, dueAt: '2026-12-01T00:00:00.000Z', previous: null });

  await banners.assign(
    newBanner({
      profileId,
      placement: 'homepage-hero',
      content: { title: 'Hello Ada', body: 'Your offer', cta: { label: 'Go', url: 'https://example.com/' } },
      now,
    }),
  );

  const idempotencyKey = randomUUID();
  await webhooks.createDelivery({
    deliveryId: deliveryIdFor(webhookEndpoint, idempotencyKey),
    endpointId: webhookEndpoint,
    eventType: 'lead.qualified',
    payload: { profileId, email, stage: 'mql' },
    idempotencyKey,
    status: 'delivered',
    attempts: [],
    attemptCount: 1,
    createdAt: now.toISOString(),
    deliveredAt: now.toISOString(),
    failedReason: null,
  });

  await kpis.apply({
    dedupeKey: `stage:${profileId}`,
    increments: [
      {
        day: '2026-11-20',
        metric: 'newLeads',
        currency: null,
        dimension: 'all',
        value: 'all',
        by: 1,
        distinct: { key: profileId, scope: 'ever' },
      },
    ],
  });

  await messaging.unsubscribe({ addressHash: addressHash(email), topic: 'marketing', at: now.toISOString() });
  return { userId, email, anonymousIds, profileId, mergedProfileId, segmentId };
}

function identifiersOf(person: BuiltPerson): string[] {
  return [person.userId, person.email, ...person.anonymousIds, person.profileId, person.mergedProfileId];
}

/** An attribute as text, with gzip JSON opened: identifiers must not hide in compressed data either. */
function attributeText(value: AttributeValue): string {
  if (value.B !== undefined) {
    try {
      return gunzipSync(value.B).toString('utf8');
    } catch {
      return Buffer.from(value.B).toString('utf8');
    }
  }
  if (value.L !== undefined) return value.L.map(attributeText).join('\n');
  if (value.M !== undefined) return Object.values(value.M).map(attributeText).join('\n');
  return JSON.stringify(value);
}

async function scanTable(): Promise<Array<Record<string, AttributeValue>>> {
  const items: Array<Record<string, AttributeValue>> = [];
  let start: Record<string, AttributeValue> | undefined;
  do {
    const page = await dynamodb.send(
      new ScanCommand({ TableName: tableName, ExclusiveStartKey: start, ConsistentRead: true }),
    );
    items.push(...(page.Items ?? []));
    start = page.LastEvaluatedKey;
  } while (start);
  return items;
}

/** Items anywhere in the table whose text contains any of the identifiers (emails case-insensitively). */
async function itemsNaming(identifiers: readonly string[]): Promise<string[]> {
  const lowered = identifiers.map((id) => id.toLowerCase());
  return (await scanTable())
    .map((item) => Object.values(item).map(attributeText).join('\n'))
    .filter((text) => lowered.some((id) => text.toLowerCase().includes(id)));
}

async function segmentSize(segmentId: string): Promise<number> {
  return segments.size(segmentId);
}

describe('exporting a person', () => {
  it('returns every kind of item held about them, merged-away profiles included', async () => {
    const person = await buildPerson(`seg-${randomUUID().slice(0, 8)}`);

    const document = await privacy.exportPerson({ kind: 'email', value: person.email });

    expect(document?.counts).toMatchObject({
      profile: 2,
      traits: 1,
      identity: 3,
      event: 4,
      message: 2,
      lead: 1,
      enrollment: 1,
      journeyTimer: 1,
      segmentMembership: 1,
      profileSegment: 1,
      segmentRecheck: 2,
      banner: 1,
      webhookDelivery: 1,
      kpiMarker: 1,
    });
    expect(document?.person).toMatchObject({
      profileIds: expect.arrayContaining([person.profileId, person.mergedProfileId]),
      userIds: [person.userId],
      anonymousIds: [...person.anonymousIds].sort(),
      emails: [person.email],
    });
    expect(JSON.stringify(document?.traits)).toContain('Ada');
    expect(document?.addresses).toEqual([
      expect.objectContaining({
        email: person.email,
        state: expect.objectContaining({ unsubscribed: { marketing: now.toISOString() } }),
      }),
    ]);
  });

  it('finds the same person from any of their identifiers', async () => {
    const person = await buildPerson(`seg-${randomUUID().slice(0, 8)}`);

    const documents = await Promise.all([
      privacy.exportPerson({ kind: 'userId', value: person.userId }),
      privacy.exportPerson({ kind: 'anonymousId', value: person.anonymousIds[1] }),
      privacy.exportPerson({ kind: 'profileId', value: person.mergedProfileId }),
    ]);

    for (const document of documents) expect(document?.counts).toMatchObject({ profile: 2, event: 4 });
  });

  it('answers nothing for an identifier nobody has', async () => {
    expect(await privacy.exportPerson({ kind: 'email', value: 'nobody@example.com' })).toBeUndefined();
  });
});

describe('erasing a person', () => {
  it('leaves no item anywhere in the table that names them, and keeps others and segment sizes right', async () => {
    const segmentId = `seg-${randomUUID().slice(0, 8)}`;
    const person = await buildPerson(segmentId);
    const bystander = await buildPerson(segmentId);
    expect(await segmentSize(segmentId)).toBe(2);

    const result = await privacy.erasePerson(
      { kind: 'email', value: person.email },
      { reason: 'GDPR article 17 request, ticket 4711', requestedBy: 'dpo' },
    );

    expect(result).toMatchObject({
      audited: true,
      suppressed: 1,
      erased: expect.objectContaining({ profile: 2, event: 4, message: 2, journeyTimer: 1, kpiMarker: 1 }),
    });
    expect(await itemsNaming(identifiersOf(person))).toEqual([]);
    expect(await segmentSize(segmentId)).toBe(1);
    expect((await itemsNaming(identifiersOf(bystander))).length).toBeGreaterThan(10);
  });

  it('keeps only a hashed, suppressed address entry, which the send policy refuses', async () => {
    const person = await buildPerson(`seg-${randomUUID().slice(0, 8)}`);

    await privacy.erasePerson(
      { kind: 'userId', value: person.userId },
      { reason: 'erasure request', requestedBy: 'support' },
    );
    const address = await messaging.getAddress(addressHash(person.email));
    const decision = decideSend({
      topic: 'transactional',
      email: person.email,
      consent: null,
      address,
      recentMarketingSends: [],
      frequencyCap: null,
      consentPolicy: DEFAULT_CONSENT_POLICY,
      test: false,
      now,
    });

    expect(address?.suppressed?.reason).toBe('manual');
    expect(decision).toMatchObject({ send: false, reason: 'suppressed-manual' });
  });

  it('records an audit entry with hashes, counts, requester and reason, and no identifier in clear text', async () => {
    const person = await buildPerson(`seg-${randomUUID().slice(0, 8)}`);

    const result = await privacy.erasePerson(
      { kind: 'anonymousId', value: person.anonymousIds[0] },
      { reason: 'right to erasure', requestedBy: 'dpo-audit-test' },
    );
    const audit = (await privacy.listAudit(100)).find((a) => a.requestId === result.requestId);

    expect(audit).toMatchObject({
      requestedBy: 'dpo-audit-test',
      reason: 'right to erasure',
      identifier: { kind: 'anonymousId' },
      erased: result.erased,
      suppressed: 1,
    });
    expect(audit?.hashed.emails).toEqual([addressHash(person.email)]);
    const text = JSON.stringify(audit).toLowerCase();
    for (const id of identifiersOf(person)) expect(text).not.toContain(id.toLowerCase());
  });

  it('changes nothing when the same erasure runs again', async () => {
    const person = await buildPerson(`seg-${randomUUID().slice(0, 8)}`);
    const request = { reason: 'erasure request', requestedBy: 'support' };
    await privacy.erasePerson({ kind: 'email', value: person.email }, request);
    const before = await scanTable();

    const again = await privacy.erasePerson({ kind: 'email', value: person.email }, request);

    expect(again).toMatchObject({ audited: false, erased: {}, suppressed: 1 });
    expect(await scanTable()).toEqual(before);
  });

  it('refuses a reason that names the person, since reasons are kept in the audit', async () => {
    const person = await buildPerson(`seg-${randomUUID().slice(0, 8)}`);

    await expect(
      privacy.erasePerson(
        { kind: 'userId', value: person.userId },
        { reason: `requested by ${person.email}`, requestedBy: 'support' },
      ),
    ).rejects.toThrow(/must not name the person/);
  });
});

describe('an erasure that crashed', () => {
  it('is finished by running it again, after a crash half way through the deletes', async () => {
    const person = await buildPerson(`seg-${randomUUID().slice(0, 8)}`);
    class CrashingStore extends DynamoDbPrivacyStore {
      override async deleteItems(items: Parameters<DynamoDbPrivacyStore['deleteItems']>[0]) {
        await super.deleteItems(items.slice(0, Math.floor(items.length / 2)));
        throw new Error('the function was stopped');
      }
    }
    const request = { reason: 'erasure request', requestedBy: 'support' };
    await expect(
      new PrivacyService(new CrashingStore(clientOptions), { now: () => now }).erasePerson(
        { kind: 'email', value: person.email },
        request,
      ),
    ).rejects.toThrow('stopped');

    const resumed = await privacy.erasePerson({ kind: 'email', value: person.email }, request);

    expect(resumed.audited).toBe(true);
    expect(await itemsNaming(identifiersOf(person))).toEqual([]);
  });

  it('is finished from its job record when everything that led to the person is already gone', async () => {
    const person = await buildPerson(`seg-${randomUUID().slice(0, 8)}`);
    class CrashBeforeAudit extends DynamoDbPrivacyStore {
      override async finishErasure(_job: ErasureJob, _audit: ErasureAudit): Promise<void> {
        throw new Error('the function was stopped');
      }
    }
    const request = { reason: 'erasure request', requestedBy: 'support' };
    await expect(
      new PrivacyService(new CrashBeforeAudit(clientOptions), { now: () => now }).erasePerson(
        { kind: 'email', value: person.email },
        request,
      ),
    ).rejects.toThrow('stopped');
    expect((await itemsNaming(identifiersOf(person))).length).toBe(1);

    const resumed = await privacy.erasePerson({ kind: 'email', value: person.email }, request);

    expect(resumed).toMatchObject({ audited: true, erased: expect.objectContaining({ profile: 2 }) });
    expect(await itemsNaming(identifiersOf(person))).toEqual([]);
  });
});
