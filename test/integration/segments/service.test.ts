// Segment evaluation against DynamoDB Local: memberships with sizes, one recheck timer per segment, sweeps, backfill pages.
import { randomUUID } from 'node:crypto';
import { PutItemCommand, QueryCommand } from '@aws-sdk/client-dynamodb';
import { beforeAll, describe, expect, it } from 'vitest';
import type { FactEvent } from '../../../functions/journeys/model.ts';
import { DynamoDbProfileScanner } from '../../../functions/journeys/profile-scanner.ts';
import { DynamoDbBackfillProgress } from '../../../functions/segments/aws-adapters.ts';
import { SegmentBackfill, type SegmentBackfillRequest } from '../../../functions/segments/backfill.ts';
import { parseSegmentDefinition } from '../../../functions/segments/definition.ts';
import { DynamoDbRecheckIndex } from '../../../functions/segments/dynamodb-rechecks.ts';
import { DynamoDbSegmentStore } from '../../../functions/segments/dynamodb-store.ts';
import { type DueRecheck, RECHECK_SHARDS, RecheckSweeper } from '../../../functions/segments/recheck.ts';
import {
  type LiveSegment,
  type SegmentProfile,
  SegmentService,
} from '../../../functions/segments/service.ts';
import { createProfileStoreTable, dynamodb, uniqueName } from '../clients.ts';

const NOW = new Date('2026-05-01T12:00:00.000Z');
const DAY = 86_400_000;
const at = (days: number) => new Date(NOW.getTime() + days * DAY).toISOString();
const viewed = (days: number): FactEvent => ({ event: 'Pricing Viewed', properties: {}, at: at(days) });

function world(tableName: string) {
  const segmentId = `fans-${randomUUID().slice(0, 8)}`;
  const live: LiveSegment[] = [
    {
      version: 1,
      definition: parseSegmentDefinition({
        id: segmentId,
        name: 'Pricing fans',
        rule: { events: { event: 'Pricing Viewed' }, within: 'P7D', count: { op: 'gte', value: 2 } },
      }),
    },
  ];
  const events = new Map<string, FactEvent[]>();
  const store = new DynamoDbSegmentStore({ client: dynamodb, tableName });
  const index = new DynamoDbRecheckIndex(dynamodb, tableName);
  let now = NOW;
  const service = new SegmentService({
    catalog: { live: async () => live },
    profiles: {
      load: async (profileId): Promise<SegmentProfile | undefined> => {
        const list = events.get(profileId);
        if (list === undefined) return undefined;
        return {
          facts: { profileId, userId: null, traits: {}, scores: {}, stage: null, segments: [], events: list },
          consent: { profile: null, email: null, address: null },
        };
      },
    },
    store,
    timers: index,
    now: () => now,
  });
  return {
    segmentId,
    events,
    store,
    index,
    service,
    setNow: (next: Date) => {
      now = next;
    },
  };
}

async function indexEntries(tableName: string, profileId: string): Promise<number> {
  let count = 0;
  for (let shard = 0; shard < RECHECK_SHARDS; shard += 1) {
    const output = await dynamodb.send(
      new QueryCommand({
        TableName: tableName,
        KeyConditionExpression: 'pk = :pk',
        FilterExpression: 'profileId = :profile',
        ExpressionAttributeValues: { ':pk': { S: `SEGRECHECK#${shard}` }, ':profile': { S: profileId } },
      }),
    );
    count += output.Items?.length ?? 0;
  }
  return count;
}

describe('segment evaluation on DynamoDB', () => {
  const tableName = uniqueName('segment-service');
  beforeAll(async () => {
    await createProfileStoreTable(tableName);
  });

  it('stores a new member with the size counted once, however often the same facts are evaluated', async () => {
    const { service, store, events, segmentId } = world(tableName);
    const profileId = `prof_${randomUUID()}`;
    events.set(profileId, [viewed(-1), viewed(-2)]);

    await service.evaluate({ profileId });
    await service.evaluate({ profileId });

    expect(await store.size(segmentId)).toBe(1);
    expect((await store.segmentsOf(profileId)).map((s) => s.segmentId)).toEqual([segmentId]);
  });

  it('keeps exactly one recheck timer per profile and segment as newer visits move it', async () => {
    const { service, events, index, segmentId } = world(tableName);
    const profileId = `prof_${randomUUID()}`;
    events.set(profileId, [viewed(-1), viewed(-3)]);
    await service.evaluate({ profileId });
    events.set(profileId, [viewed(0), viewed(-1), viewed(-3)]);

    await service.evaluate({ profileId });

    expect(await index.of(profileId)).toEqual(
      new Map([[segmentId, new Date(Date.parse(at(6)) + 1).toISOString()]]),
    );
    expect(await indexEntries(tableName, profileId)).toBe(1);
  });

  it('fires a due recheck once through the sweep, and the evaluation it causes takes the lapsed member out', async () => {
    const { service, events, index, store, segmentId, setNow } = world(tableName);
    const profileId = `prof_${randomUUID()}`;
    events.set(profileId, [viewed(-1), viewed(-3)]);
    await service.evaluate({ profileId });
    const later = new Date(Date.parse(at(5)));
    const sent: DueRecheck[] = [];
    const sweeper = new RecheckSweeper({
      index,
      sender: {
        send: async (rechecks) => {
          sent.push(...rechecks.filter((r) => r.profileId === profileId));
          return { failed: [] };
        },
      },
      now: () => later,
    });

    await sweeper.sweep();
    await sweeper.sweep();
    setNow(later);
    for (const recheck of sent) await service.evaluate({ profileId, segmentIds: [recheck.segmentId] });

    expect(sent).toHaveLength(1);
    expect(await store.segmentsOf(profileId)).toEqual([]);
    expect(await store.size(segmentId)).toBe(0);
    expect(await index.of(profileId)).toEqual(new Map());
    expect(await indexEntries(tableName, profileId)).toBe(0);
  });
});

describe('segment backfill on DynamoDB', () => {
  const tableName = uniqueName('segment-backfill');
  beforeAll(async () => {
    await createProfileStoreTable(tableName);
  });

  it('evaluates every stored profile in pages, counts each page once, and finishes', async () => {
    const { service, events, store, segmentId } = world(tableName);
    const profiles = Array.from({ length: 7 }, () => `prof_${randomUUID()}`);
    for (const [i, profileId] of profiles.entries()) {
      events.set(profileId, i % 2 === 0 ? [viewed(-1), viewed(-2)] : []);
      await dynamodb.send(
        new PutItemCommand({
          TableName: tableName,
          Item: { pk: { S: `PROFILE#${profileId}` }, sk: { S: 'TRAITS' } },
        }),
      );
    }
    const pending: SegmentBackfillRequest[] = [];
    const progress = new DynamoDbBackfillProgress(dynamodb, tableName);
    const backfill = new SegmentBackfill({
      scanner: new DynamoDbProfileScanner(dynamodb, tableName, 3),
      service,
      latestVersion: async () => 1,
      requests: { publish: async (requests) => void pending.push(...requests) },
      progress,
      now: () => NOW,
    });

    await backfill.start(segmentId, 1);
    const handled: SegmentBackfillRequest[] = [];
    while (pending.length > 0) {
      const request = pending.shift();
      if (!request) break;
      await backfill.page(request);
      handled.push(request);
    }
    // A page delivered twice is evaluated again but not counted again.
    const replay = handled.find((request) => request.cursor !== null) ?? handled[0];
    if (replay) await backfill.page(replay);
    pending.length = 0;

    expect(await progress.get(segmentId)).toMatchObject({ version: 1, state: 'finished', scanned: 7 });
    expect(await store.size(segmentId)).toBe(4);
  });

  it('stops a backfill of a version a newer save replaced', async () => {
    const { service, segmentId } = world(tableName);
    const progress = new DynamoDbBackfillProgress(dynamodb, tableName);
    let scannedPages = 0;
    const backfill = new SegmentBackfill({
      scanner: {
        page: async () => {
          scannedPages += 1;
          return { profileIds: [], cursor: null };
        },
      },
      service,
      latestVersion: async () => 2,
      requests: { publish: async () => undefined },
      progress,
      now: () => NOW,
    });

    const result = await backfill.page({
      dedupeKey: 'k',
      segmentId,
      version: 1,
      part: 0,
      parts: 8,
      cursor: null,
    });

    expect(result.scanned).toBe(0);
    expect(scannedPages).toBe(0);
  });
});
