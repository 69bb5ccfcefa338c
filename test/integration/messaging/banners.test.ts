// The banner store against DynamoDB Local: one banner per placement, expiry on read, clearing, sharded counters.
import { randomUUID } from 'node:crypto';
import { GetItemCommand } from '@aws-sdk/client-dynamodb';
import { beforeAll, describe, expect, it } from 'vitest';
import { type NewBanner, newBanner } from '../../../functions/messaging/banners/banner.ts';
import { DynamoDbBannerStore } from '../../../functions/messaging/banners/dynamodb-store.ts';
import { createProfileStoreTable, dynamodb, uniqueName } from '../clients.ts';

const tableName = uniqueName('banners');
let now = new Date('2026-03-02T10:00:00.000Z');
const store = new DynamoDbBannerStore({ client: dynamodb, tableName, now: () => now });

beforeAll(async () => {
  await createProfileStoreTable(tableName);
});

function banner(overrides: Partial<NewBanner> = {}) {
  return newBanner({
    profileId: `prof_${randomUUID()}`,
    placement: 'homepage-hero',
    content: { title: 'Spring offer', body: '20% off', cta: { label: 'Go', url: 'https://example.com/' } },
    now,
    ...overrides,
  });
}

describe('the banner store', () => {
  it('answers the banner assigned to a profile placement, and nothing for other profiles or placements', async () => {
    const assigned = banner();

    await store.assign(assigned);

    expect(await store.get(assigned.profileId, 'homepage-hero')).toEqual(assigned);
    expect(await store.get(assigned.profileId, 'sidebar')).toBeUndefined();
    expect(await store.get(`prof_${randomUUID()}`, 'homepage-hero')).toBeUndefined();
  });

  it('replaces the banner of a placement with a newly assigned one', async () => {
    const first = banner();
    const second = banner({ profileId: first.profileId, content: { title: 'Summer offer' } });

    await store.assign(first);
    const stored = await store.assign(second);

    expect(stored).toEqual(second);
    expect((await store.get(first.profileId, 'homepage-hero'))?.title).toBe('Summer offer');
  });

  it('keeps an active banner as it is when the same banner id is assigned again', async () => {
    const first = banner({ bannerId: `bnr_${randomUUID().slice(0, 8)}` });
    await store.assign(first);
    now = new Date(now.getTime() + 3_600_000);

    const retried = await store.assign(
      banner({ profileId: first.profileId, bannerId: first.bannerId, content: { title: 'Edited' } }),
    );

    expect(retried).toEqual(first);
    expect(await store.get(first.profileId, 'homepage-hero')).toEqual(first);
  });

  it('assigns a banner id again once its earlier assignment has expired', async () => {
    const bannerId = `bnr_${randomUUID().slice(0, 8)}`;
    const first = banner({ bannerId, ttlHours: 1 });
    await store.assign(first);
    now = new Date(now.getTime() + 2 * 3_600_000);

    const renewed = banner({ bannerId, profileId: first.profileId, ttlHours: 5 });
    const stored = await store.assign(renewed);

    expect(stored).toEqual(renewed);
    expect(await store.get(first.profileId, 'homepage-hero')).toEqual(renewed);
  });

  it('never answers an expired banner, though DynamoDB has not removed it yet', async () => {
    const assigned = banner({ ttlHours: 1 });
    await store.assign(assigned);

    now = new Date(now.getTime() + 3_600_000);

    expect(await store.get(assigned.profileId, 'homepage-hero')).toBeUndefined();
    expect(await store.list(assigned.profileId)).toEqual([]);
  });

  it('stores the expiry as the table TTL attribute, in epoch seconds', async () => {
    const assigned = banner({ expiresAt: new Date('2026-04-01T00:00:00.000Z') });

    await store.assign(assigned);

    const { Item } = await dynamodb.send(
      new GetItemCommand({
        TableName: tableName,
        Key: { pk: { S: `BANNER#${assigned.profileId}` }, sk: { S: 'PLACEMENT#homepage-hero' } },
      }),
    );
    expect(Item?.expiresAt?.N).toBe(String(Date.parse('2026-04-01T00:00:00.000Z') / 1000));
  });

  it("lists a profile's active banners, one per placement", async () => {
    const hero = banner();
    const sidebar = banner({ profileId: hero.profileId, placement: 'sidebar' });
    const expired = banner({
      profileId: hero.profileId,
      placement: 'footer',
      expiresAt: new Date(now.getTime() - 1),
    });
    await Promise.all([store.assign(hero), store.assign(sidebar), store.assign(expired)]);

    const listed = await store.list(hero.profileId);

    expect(listed.map((b) => b.placement).sort()).toEqual(['homepage-hero', 'sidebar']);
  });

  it('clears one placement, leaving the others', async () => {
    const hero = banner();
    const sidebar = banner({ profileId: hero.profileId, placement: 'sidebar' });
    await Promise.all([store.assign(hero), store.assign(sidebar)]);

    await store.clear(hero.profileId, 'homepage-hero');

    expect(await store.get(hero.profileId, 'homepage-hero')).toBeUndefined();
    expect(await store.get(hero.profileId, 'sidebar')).toEqual(sidebar);
  });

  it('clears every banner of a profile, however many placements it has', async () => {
    const profileId = `prof_${randomUUID()}`;
    const placements = Array.from({ length: 30 }, (_, i) => `slot-${i}`);
    await Promise.all(placements.map((placement) => store.assign(banner({ profileId, placement }))));
    const other = banner();
    await store.assign(other);

    await store.clear(profileId);

    expect(await store.list(profileId)).toEqual([]);
    expect(await store.get(other.profileId, 'homepage-hero')).toEqual(other);
  });

  it('sums impressions and clicks over every counter shard', async () => {
    const bannerId = `bnr_${randomUUID().slice(0, 8)}`;

    await Promise.all([
      ...Array.from({ length: 40 }, () => store.count(bannerId, 'impression')),
      ...Array.from({ length: 7 }, () => store.count(bannerId, 'click')),
    ]);

    expect(await store.stats(bannerId)).toEqual({ impressions: 40, clicks: 7 });
    expect(await store.stats(`bnr_${randomUUID().slice(0, 8)}`)).toEqual({ impressions: 0, clicks: 0 });
  });
});
