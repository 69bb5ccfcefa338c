// Consent against DynamoDB Local: the admin consent API's store, opt-in tracking that stores nothing before consent.
import { randomUUID } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_PURPOSE_CATEGORIES } from '../../../functions/tracking/consent.ts';
import { ConsentService, ProfileNotFoundError } from '../../../functions/tracking/consent-service.ts';
import { domainEventsFor } from '../../../functions/tracking/domain-events.ts';
import { DynamoDbTrackingStore } from '../../../functions/tracking/dynamodb-store.ts';
import { IngestService } from '../../../functions/tracking/ingest-service.ts';
import type { EnrichedEvent, JsonObject } from '../../../functions/tracking/model.ts';
import type { Identity } from '../../../functions/tracking/profile.ts';
import { directEnrichment } from '../../fixtures/enrichment.ts';
import { createProfileStoreTable, dynamodb, uniqueName } from '../clients.ts';

const tableName = uniqueName('consent');
let store: DynamoDbTrackingStore;
let optIn: IngestService;
let optOut: IngestService;
let consent: ConsentService;

beforeAll(async () => {
  await createProfileStoreTable(tableName);
  store = new DynamoDbTrackingStore({ client: dynamodb, tableName, eventRetentionDays: 396 });
  const tracking = { trackingCategories: DEFAULT_PURPOSE_CATEGORIES.tracking };
  optIn = new IngestService(store, { consent: { mode: 'opt-in', ...tracking } });
  optOut = new IngestService(store, { consent: { mode: 'opt-out', ...tracking } });
  consent = new ConsentService({
    store,
    resolveProfile: (id) => optOut.resolveProfile(id),
    purposes: DEFAULT_PURPOSE_CATEGORIES,
  });
});

let clock = Date.parse('2026-11-01T10:00:00Z');

function pageView(anonymousId: string, context: JsonObject = {}, userId?: string): EnrichedEvent {
  clock += 60_000;
  const at = new Date(clock).toISOString();
  return {
    type: 'page',
    protocol: 'segment',
    messageId: randomUUID(),
    anonymousId,
    ...(userId ? { userId } : {}),
    traits: {},
    properties: {},
    context,
    sourceId: 'src_site',
    enrichment: directEnrichment(at),
  };
}

const granted = (evidence?: JsonObject): JsonObject => ({
  consent: {
    categoryPreferences: { analytics: true, personalization: true },
    ...(evidence ? { evidence } : {}),
  },
});

describe('opt-in tracking', () => {
  it('stores nothing about a visitor before consent: no profile, no event, no identity', async () => {
    const anonymousId = randomUUID();
    const identity: Identity = { kind: 'anonymousId', value: anonymousId };

    const result = await optIn.ingest([
      pageView(anonymousId),
      pageView(anonymousId, {}, `user-${anonymousId}`),
    ]);

    expect(result).toMatchObject({ accepted: 0, consentWithheld: 2 });
    expect(await optIn.find(identity)).toBeUndefined();
    expect(await store.getIdentityPointer({ kind: 'userId', value: `user-${anonymousId}` })).toBeUndefined();
    expect((await store.listEvents([identity], 10)).events).toEqual([]);
  });

  it('tracks a visitor from their consent on, with the evidence on the profile', async () => {
    const anonymousId = randomUUID();
    const evidence = { method: 'banner', bannerVersion: '2026-10', url: 'https://shop.example/' };

    const first = await optIn.ingest([pageView(anonymousId, granted(evidence))]);
    // A server-side client sends without a consent object: the profile's stored grant covers it.
    const later = await optIn.ingest([pageView(anonymousId)]);
    const id = await optIn.resolve({ kind: 'anonymousId', value: anonymousId });

    expect(first.accepted + later.accepted).toBe(2);
    expect((await consent.get(id)).evidence).toEqual(evidence);
  });
});

describe('the admin consent API store', () => {
  it('answers a profile’s consent per purpose', async () => {
    const anonymousId = randomUUID();
    await optOut.ingest([pageView(anonymousId, granted())]);
    const id = await optOut.resolve({ kind: 'anonymousId', value: anonymousId });

    const answer = await consent.get(id);

    expect(answer.purposes).toEqual({
      tracking: 'granted',
      emailMarketing: 'unknown',
      personalization: 'granted',
    });
    expect(answer.history).toHaveLength(1);
  });

  it('records a refusal given by phone over the tracked grant, with its evidence, as a profile change that announces it', async () => {
    const anonymousId = randomUUID();
    await optOut.ingest([pageView(anonymousId, granted())]);
    const id = await optOut.resolve({ kind: 'anonymousId', value: anonymousId });
    const before = (await store.getProfile(id)).value;

    const answer = await consent.update(id, {
      purposes: { personalization: false, emailMarketing: true },
      source: 'crm',
      evidence: { method: 'phone', reference: 'call-4711' },
    });
    const after = (await store.getProfile(id)).value;

    expect(answer.purposes).toEqual({
      tracking: 'granted',
      emailMarketing: 'granted',
      personalization: 'denied',
    });
    expect(after.consent).toMatchObject({
      source: 'crm',
      evidence: { method: 'phone', reference: 'call-4711' },
    });
    expect(after.consent?.history?.map((h) => h.source)).toEqual(['src_site', 'crm']);
    const events = domainEventsFor({
      eventName: 'MODIFY',
      keys: { pk: `PROFILE#${id}`, sk: 'PROFILE' },
      oldData: before,
      newData: after,
    });
    expect(events.map((e) => e.detailType)).toEqual(['profile.consent_changed']);
  });

  it('stops server-side tracking of a profile whose tracking an operator withdrew', async () => {
    const anonymousId = randomUUID();
    await optOut.ingest([pageView(anonymousId)]);
    const id = await optOut.resolve({ kind: 'anonymousId', value: anonymousId });

    await consent.update(id, {
      purposes: { tracking: false },
      source: 'admin',
      evidence: { method: 'email-request' },
    });
    const result = await optOut.ingest([pageView(anonymousId)]);

    expect(result).toMatchObject({ accepted: 0, consentWithheld: 1 });
    expect((await store.getProfile(id)).value.counters.events).toBe(1);
  });

  it('answers for the survivor when asked about a merged profile', async () => {
    const anonymousId = randomUUID();
    const userId = `user-${anonymousId}`;
    await optOut.ingest([pageView(anonymousId, granted())]);
    const anonymous = await optOut.resolve({ kind: 'anonymousId', value: anonymousId });
    await optOut.ingest([pageView(randomUUID(), {}, userId)]);
    await optOut.ingest([pageView(anonymousId, {}, userId)]);
    const survivor = await optOut.resolve({ kind: 'userId', value: userId });

    const answer = await consent.get(anonymous);

    expect(anonymous).not.toBe(survivor);
    expect(answer).toMatchObject({ profileId: survivor, purposes: { tracking: 'granted' } });
  });

  it('says a profile does not exist rather than creating one', async () => {
    await expect(
      consent.update('a_doesNotExist0000000000', {
        purposes: { tracking: true },
        source: 'admin',
        evidence: { method: 'phone' },
      }),
    ).rejects.toThrow(ProfileNotFoundError);
  });
});
