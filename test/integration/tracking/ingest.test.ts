// Ingest against DynamoDB Local: exact dedupe, merges, no lost updates under concurrency, recovery after a crash.
import { randomUUID } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { DynamoDbTrackingStore } from '../../../functions/tracking/dynamodb-store.ts';
import { IngestService } from '../../../functions/tracking/ingest-service.ts';
import type { EnrichedEvent, EventType, JsonObject } from '../../../functions/tracking/model.ts';
import type { Identity, ProfileCore } from '../../../functions/tracking/profile.ts';
import type { TrackingStore } from '../../../functions/tracking/store.ts';
import { directEnrichment } from '../../fixtures/enrichment.ts';
import { createProfileStoreTable, dynamodb, uniqueName } from '../clients.ts';

const tableName = uniqueName('tracking');
let store: DynamoDbTrackingStore;
let service: IngestService;

beforeAll(async () => {
  await createProfileStoreTable(tableName);
  store = new DynamoDbTrackingStore({ client: dynamodb, tableName, eventRetentionDays: 396 });
  service = new IngestService(store);
});

let clock = Date.parse('2026-11-01T10:00:00Z');

function event(
  type: EventType,
  ids: { userId?: string; anonymousId?: string; previousId?: string },
  extra: { traits?: JsonObject; event?: string; at?: string; messageId?: string } = {},
): EnrichedEvent {
  clock += 60_000;
  const at = extra.at ?? new Date(clock).toISOString();
  return {
    type,
    protocol: 'segment',
    messageId: extra.messageId ?? randomUUID(),
    ...(ids.userId ? { userId: ids.userId } : {}),
    ...(ids.anonymousId ? { anonymousId: ids.anonymousId } : {}),
    ...(ids.previousId ? { previousId: ids.previousId } : {}),
    ...(extra.event ? { event: extra.event } : {}),
    traits: extra.traits ?? {},
    properties: {},
    context: {},
    sourceId: 'src_test',
    enrichment: directEnrichment(at),
  };
}

async function profileOf(identity: Identity): Promise<ProfileCore> {
  const id = await service.resolve(identity);
  return (await store.getProfile(id)).value;
}

describe('ingesting tracked events', () => {
  it('applies each event once, however often the same batch is replayed', async () => {
    const anonymousId = randomUUID();
    const batch = [event('page', { anonymousId }), event('track', { anonymousId }, { event: 'Clicked' })];

    const first = await service.ingest(batch);
    const replay = await service.ingest(batch);
    const profile = await profileOf({ kind: 'anonymousId', value: anonymousId });

    expect(first).toMatchObject({ accepted: 2, duplicates: 0 });
    expect(replay).toMatchObject({ accepted: 0, duplicates: 2 });
    expect(profile.counters).toMatchObject({ events: 2, pageViews: 1 });
  });

  it('turns the anonymous profile into the known one when the visitor first identifies', async () => {
    const anonymousId = randomUUID();
    const userId = `user-${randomUUID()}`;
    await service.ingest([event('page', { anonymousId }), event('page', { anonymousId })]);

    const result = await service.ingest([
      event('identify', { anonymousId, userId }, { traits: { email: 'Grace@Example.com', plan: 'pro' } }),
    ]);
    const byAnonymous = await service.resolve({ kind: 'anonymousId', value: anonymousId });
    const byUser = await service.resolve({ kind: 'userId', value: userId });
    const profile = await profileOf({ kind: 'userId', value: userId });
    const traits = await store.getTraits(byUser);

    expect(result.merges).toHaveLength(0);
    expect(byAnonymous).toBe(byUser);
    expect(profile).toMatchObject({ userId, anonymousIds: [anonymousId], emails: ['grace@example.com'] });
    expect(profile.counters).toMatchObject({ events: 3, pageViews: 2 });
    expect(traits.value.traits).toEqual({ email: 'Grace@Example.com', plan: 'pro' });
    expect(await service.find({ kind: 'email', value: 'grace@example.com' })).toBe(byUser);
  });

  it('merges through alias (previousId → userId) and files later anonymous events on the known profile', async () => {
    const anonymousId = randomUUID();
    const userId = `user-${randomUUID()}`;
    await service.ingest([event('page', { anonymousId })]);
    await service.ingest([event('track', { userId }, { event: 'Signed Up' })]);

    await service.ingest([event('alias', { userId, previousId: anonymousId })]);
    await service.ingest([event('page', { anonymousId })]);
    const profile = await profileOf({ kind: 'userId', value: userId });

    expect(profile.counters).toMatchObject({ events: 4, pageViews: 2 });
    expect(profile.anonymousIds).toContain(anonymousId);
  });

  it('loses no update when many requests for one profile arrive at once', async () => {
    const anonymousId = randomUUID();
    const requests = Array.from({ length: 20 }, () =>
      service.ingest([event('track', { anonymousId }, { event: 'Tick' })]),
    );

    await Promise.all(requests);
    const profile = await profileOf({ kind: 'anonymousId', value: anonymousId });

    expect(profile.counters.events).toBe(20);
  });

  it('merges once and leaves no orphan when two requests identify the same visitor concurrently', async () => {
    const anonymousId = randomUUID();
    const userId = `user-${randomUUID()}`;
    await service.ingest([
      event('page', { anonymousId }),
      event('page', { anonymousId }),
      event('page', { anonymousId }),
    ]);

    await Promise.all([
      service.ingest([event('identify', { anonymousId, userId })]),
      service.ingest([event('track', { anonymousId, userId }, { event: 'Viewed' })]),
      service.ingest([event('page', { anonymousId })]),
    ]);
    const profile = await profileOf({ kind: 'userId', value: userId });
    const anonymousProfile = await store.getProfile(
      await service.resolve({ kind: 'anonymousId', value: anonymousId }),
    );

    expect(anonymousProfile.value.id).toBe(profile.id);
    expect(profile.counters.events).toBe(6);
    expect(profile.counters.pageViews).toBe(4);
  });

  it('keeps every event of a new user whose identify and other events arrive in parallel requests', async () => {
    for (let round = 0; round < 10; round += 1) {
      const anonymousId = randomUUID();
      const userId = `user-${randomUUID()}`;

      await Promise.all([
        service.ingest([event('identify', { anonymousId, userId })]),
        service.ingest([event('track', { userId }, { event: 'A' })]),
        service.ingest([event('track', { userId }, { event: 'B' })]),
      ]);
      const profile = await profileOf({ kind: 'userId', value: userId });

      expect(profile.counters.events).toBe(3);
      expect(await service.resolve({ kind: 'anonymousId', value: anonymousId })).toBe(profile.id);
    }
  });

  it('merges two profiles that share an email only when the workspace asks for it', async () => {
    const email = `shared-${randomUUID()}@example.com`;
    const first = `user-${randomUUID()}`;
    const second = `user-${randomUUID()}`;
    const third = `user-${randomUUID()}`;
    const merging = new IngestService(store, { mergeOnEmail: true });
    await service.ingest([event('identify', { userId: first }, { traits: { email } })]);

    await service.ingest([event('identify', { userId: second }, { traits: { email } })]);
    const result = await merging.ingest([event('identify', { userId: third }, { traits: { email } })]);

    expect(await service.resolve({ kind: 'userId', value: second })).not.toBe(
      await service.resolve({ kind: 'userId', value: first }),
    );
    expect(result.merges).toHaveLength(1);
    expect(await service.resolve({ kind: 'userId', value: third })).toBe(
      await service.find({ kind: 'email', value: email }),
    );
  });

  it('merges a new device into the known profile when an already known visitor identifies on it', async () => {
    const laptop = randomUUID();
    const phone = randomUUID();
    const userId = `user-${randomUUID()}`;
    await service.ingest([
      event('page', { anonymousId: laptop }),
      event('identify', { anonymousId: laptop, userId }),
    ]);
    await service.ingest([event('page', { anonymousId: phone }), event('page', { anonymousId: phone })]);

    const result = await service.ingest([event('identify', { anonymousId: phone, userId })]);
    const profile = await profileOf({ kind: 'userId', value: userId });

    expect(result.merges).toHaveLength(1);
    expect(await service.resolve({ kind: 'anonymousId', value: phone })).toBe(profile.id);
    expect(profile.anonymousIds.sort()).toEqual([laptop, phone].sort());
    expect(profile.counters).toMatchObject({ events: 5, pageViews: 3 });
    expect(profile.mergedFrom).toHaveLength(1);
  });

  it('applies the events of a request that died after storing them when the client retries', async () => {
    const anonymousId = randomUUID();
    const batch = [event('page', { anonymousId }), event('track', { anonymousId }, { event: 'Bought' })];
    const crashing = new IngestService(crashOnFirstProfileWrite(store));

    await expect(crashing.ingest(batch)).rejects.toThrow('simulated crash');
    const retry = await service.ingest(batch);
    const again = await service.ingest(batch);
    const profile = await profileOf({ kind: 'anonymousId', value: anonymousId });

    expect(retry.accepted).toBe(2);
    expect(again).toMatchObject({ accepted: 0, duplicates: 2 });
    expect(profile.counters).toMatchObject({ events: 2, pageViews: 1 });
  });

  it('does not profile bots and keeps only the consent decision of a visitor who withheld it', async () => {
    const anonymousId = randomUUID();
    const bot = event('page', { anonymousId: randomUUID() });
    const withheld = {
      ...event('page', { anonymousId }),
      context: { consent: { categoryPreferences: { analytics: false, marketing: false } } },
    };

    const result = await service.ingest([
      { ...bot, enrichment: { ...bot.enrichment, isBot: true } },
      withheld,
    ]);
    const profile = await profileOf({ kind: 'anonymousId', value: anonymousId });

    expect(result).toMatchObject({ accepted: 0, bots: 1, consentWithheld: 1 });
    expect(profile.counters.events).toBe(0);
    expect(profile.consent?.categoryPreferences).toEqual({ analytics: false, marketing: false });
  });

  it("lists a profile's events newest first across its identities, up to the limit", async () => {
    const anonymousId = randomUUID();
    const userId = `user-${randomUUID()}`;
    await service.ingest([event('page', { anonymousId }, { messageId: 'a-1' })]);
    await service.ingest([event('identify', { anonymousId, userId }, { messageId: 'u-1' })]);
    await service.ingest([event('track', { userId }, { event: 'Later', messageId: 'u-2' })]);
    const identities: Identity[] = [
      { kind: 'userId', value: userId },
      { kind: 'anonymousId', value: anonymousId },
    ];

    const all = await store.listEvents(identities, 10);
    const two = await store.listEvents(identities, 2);

    expect(all.events.map((e) => e.messageId)).toEqual(['u-2', 'u-1', 'a-1']);
    expect(two).toMatchObject({ truncated: true });
    expect(two.events.map((e) => e.messageId)).toEqual(['u-2', 'u-1']);
  });
});

/** A store whose first profile write fails as if the function died between storing events and the profile. */
function crashOnFirstProfileWrite(inner: TrackingStore): TrackingStore {
  let crashed = false;
  return {
    putEventOnce: (s) => inner.putEventOnce(s),
    getEvent: (...args) => inner.getEvent(...args),
    listEvents: (...args) => inner.listEvents(...args),
    getProfile: (id) => inner.getProfile(id),
    putProfile: async (profile, options) => {
      if (!crashed) {
        crashed = true;
        throw new Error('simulated crash');
      }
      return inner.putProfile(profile, options);
    },
    getTraits: (id) => inner.getTraits(id),
    putTraits: (traits, version) => inner.putTraits(traits, version),
    getIdentityPointer: (identity) => inner.getIdentityPointer(identity),
    putIdentityPointer: (identity, id) => inner.putIdentityPointer(identity, id),
    claimIdentity: (identity, id) => inner.claimIdentity(identity, id),
    countUnprofiled: (counts) => inner.countUnprofiled(counts),
  };
}
