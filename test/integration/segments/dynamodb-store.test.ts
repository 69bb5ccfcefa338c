// The segment store against DynamoDB Local: definitions, idempotent membership, exact sizes and member paging.
import { randomUUID } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { DynamoDbSegmentMembers } from '../../../functions/journeys/segment-members.ts';
import { parseSegmentDefinition } from '../../../functions/segments/definition.ts';
import { DynamoDbSegmentStore } from '../../../functions/segments/dynamodb-store.ts';
import { createProfileStoreTable, dynamodb, uniqueName } from '../clients.ts';

const T0 = '2026-05-01T12:00:00.000Z';
const T1 = '2026-05-01T13:00:00.000Z';
const T2 = '2026-05-01T14:00:00.000Z';

const segmentId = () => `seg-${randomUUID().slice(0, 8)}`;
const profileId = () => `prof_${randomUUID()}`;

describe('DynamoDbSegmentStore', () => {
  const tableName = uniqueName('segments');
  const store = new DynamoDbSegmentStore({
    client: dynamodb,
    tableName,
    now: () => new Date(T0),
  });

  beforeAll(async () => {
    await createProfileStoreTable(tableName);
  });

  describe('definitions', () => {
    it('keeps every version and points the head at the newest', async () => {
      const id = segmentId();
      const first = parseSegmentDefinition({ id, name: 'Trial users', rule: { stage: { in: ['lead'] } } });
      const second = parseSegmentDefinition({
        ...first,
        name: 'Trial leads',
        rule: { stage: { in: ['mql'] } },
      });

      await store.putVersion(first);
      const stored = await store.putVersion(second);

      expect(stored.version).toBe(2);
      expect(await store.getHead(id)).toMatchObject({ segmentId: id, name: 'Trial leads', latestVersion: 2 });
      expect((await store.getVersion(id, 1))?.definition).toEqual(first);
      expect((await store.listHeads()).map((head) => head.segmentId)).toContain(id);
    });

    it('knows nothing of a segment never stored', async () => {
      expect(await store.getHead(segmentId())).toBeUndefined();
      expect(await store.getVersion(segmentId(), 1)).toBeUndefined();
    });
  });

  describe('membership', () => {
    it('enters a profile once, however often the same decision is written', async () => {
      const [segment, profile] = [segmentId(), profileId()];
      const decision = { segmentId: segment, profileId: profile, member: true, at: T0, version: 1 };

      const first = await store.setMembership(decision);
      const again = await store.setMembership(decision);

      expect([first.changed, again.changed]).toEqual([true, false]);
      expect(await store.size(segment)).toBe(1);
      expect(await store.segmentsOf(profile)).toEqual([{ segmentId: segment, enteredAt: T0, version: 1 }]);
    });

    it('removes a profile that leaves, from both sides, and counts it out once', async () => {
      const [segment, profile] = [segmentId(), profileId()];
      await store.setMembership({ segmentId: segment, profileId: profile, member: true, at: T0, version: 1 });
      const exit = { segmentId: segment, profileId: profile, member: false, at: T1, version: 1 };

      const first = await store.setMembership(exit);
      const again = await store.setMembership(exit);

      expect([first.changed, again.changed]).toEqual([true, false]);
      expect(await store.size(segment)).toBe(0);
      expect(await store.segmentsOf(profile)).toEqual([]);
      expect((await store.members({ segmentId: segment, limit: 10 })).members).toEqual([]);
    });

    it('does not count a profile out that was never in', async () => {
      const segment = segmentId();

      const result = await store.setMembership({
        segmentId: segment,
        profileId: profileId(),
        member: false,
        at: T0,
        version: 1,
      });

      expect(result.changed).toBe(false);
      expect(await store.size(segment)).toBe(0);
    });

    it('ignores a late decision older than the change it would undo', async () => {
      const [segment, enteredLate, leftLate] = [segmentId(), profileId(), profileId()];
      await store.setMembership({
        segmentId: segment,
        profileId: enteredLate,
        member: true,
        at: T2,
        version: 1,
      });
      await store.setMembership({
        segmentId: segment,
        profileId: leftLate,
        member: true,
        at: T0,
        version: 1,
      });
      await store.setMembership({
        segmentId: segment,
        profileId: leftLate,
        member: false,
        at: T2,
        version: 1,
      });

      const staleExit = await store.setMembership({
        segmentId: segment,
        profileId: enteredLate,
        member: false,
        at: T1,
        version: 1,
      });
      const staleEntry = await store.setMembership({
        segmentId: segment,
        profileId: leftLate,
        member: true,
        at: T1,
        version: 1,
      });

      expect([staleExit.changed, staleEntry.changed]).toEqual([false, false]);
      const page = await store.members({ segmentId: segment, limit: 10 });
      expect(page.members.map((member) => member.profileId)).toEqual([enteredLate]);
      expect(await store.size(segment)).toBe(1);
    });

    it('lets a profile come back after leaving', async () => {
      const [segment, profile] = [segmentId(), profileId()];
      await store.setMembership({ segmentId: segment, profileId: profile, member: true, at: T0, version: 1 });
      await store.setMembership({
        segmentId: segment,
        profileId: profile,
        member: false,
        at: T1,
        version: 1,
      });

      const back = await store.setMembership({
        segmentId: segment,
        profileId: profile,
        member: true,
        at: T2,
        version: 2,
      });

      expect(back.changed).toBe(true);
      expect(await store.segmentsOf(profile)).toEqual([{ segmentId: segment, enteredAt: T2, version: 2 }]);
      expect(await store.size(segment)).toBe(1);
    });

    it('keeps the size exact under concurrent and repeated decisions', async () => {
      const segment = segmentId();
      const profiles = Array.from({ length: 24 }, profileId);
      const leaving = profiles.slice(0, 8);

      await Promise.all(
        profiles.flatMap((profile) =>
          [1, 2, 3].map(() =>
            store.setMembership({ segmentId: segment, profileId: profile, member: true, at: T0, version: 1 }),
          ),
        ),
      );
      await Promise.all(
        leaving.flatMap((profile) =>
          [1, 2].map(() =>
            store.setMembership({
              segmentId: segment,
              profileId: profile,
              member: false,
              at: T1,
              version: 1,
            }),
          ),
        ),
      );

      expect(await store.size(segment)).toBe(profiles.length - leaving.length);
    });
  });

  describe('member pages', () => {
    it('walks every member once in profile id order, a page at a time', async () => {
      const segment = segmentId();
      const profiles = Array.from({ length: 7 }, (_, index) => `prof_${index}_${randomUUID().slice(0, 4)}`);
      for (const profile of profiles)
        await store.setMembership({
          segmentId: segment,
          profileId: profile,
          member: true,
          at: T0,
          version: 3,
        });

      const seen: string[] = [];
      let cursor: string | null = null;
      let pages = 0;
      do {
        const page = await store.members({ segmentId: segment, cursor, limit: 3 });
        seen.push(...page.members.map((member) => member.profileId));
        cursor = page.cursor;
        pages += 1;
      } while (cursor !== null);

      expect(seen).toEqual([...profiles].sort());
      expect(pages).toBeGreaterThanOrEqual(3);
    });

    it('are readable by the journeys, which page through the same items', async () => {
      const segment = segmentId();
      const profile = profileId();
      await store.setMembership({ segmentId: segment, profileId: profile, member: true, at: T0, version: 1 });
      const journeys = new DynamoDbSegmentMembers({ client: dynamodb, tableName });

      const page = await journeys.page({ segmentId: segment, limit: 10 });

      expect(page.profileIds).toEqual([profile]);
    });
  });
});
