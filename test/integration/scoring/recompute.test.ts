// The rules recompute against DynamoDB Local: tracked profiles rescored page by page under new rules, with progress.
import { randomUUID } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { DynamoDbScoringStore } from '../../../functions/scoring/dynamodb-store.ts';
import {
  type RecomputeRequest,
  ScoringRecompute,
  startRecompute,
} from '../../../functions/scoring/recompute.ts';
import {
  DynamoDbRecomputeProgress,
  DynamoDbRecomputeScanner,
  TrackingProfileHistory,
  trackedEventOf,
} from '../../../functions/scoring/recompute-adapters.ts';
import type { ScoringRulesInput } from '../../../functions/scoring/rules.ts';
import { LeadService } from '../../../functions/scoring/service.ts';
import { DynamoDbTrackingStore } from '../../../functions/tracking/dynamodb-store.ts';
import { IngestService } from '../../../functions/tracking/ingest-service.ts';
import type { EnrichedEvent, EventType, JsonObject } from '../../../functions/tracking/model.ts';
import { directEnrichment } from '../../fixtures/enrichment.ts';
import {
  FixedProfileSummaries,
  RecordingPublisher,
} from '../../unit/scoring/support/in-memory-scoring-store.ts';
import { createProfileStoreTable, dynamodb, uniqueName } from '../clients.ts';

const now = new Date('2026-06-01T12:00:00.000Z');

const rulesWith = (demoPoints: number): ScoringRulesInput => ({
  behaviour: [{ id: 'demo-request', match: { event: 'Demo Requested' }, points: demoPoints }],
  fit: [{ id: 'vp-title', condition: { trait: 'title', op: 'contains', value: 'VP' }, points: 20 }],
  thresholds: [{ stage: 'mql', score: 'combined', atLeast: 1000 }],
});

function event(
  type: EventType,
  userId: string,
  extra: { traits?: JsonObject; event?: string } = {},
): EnrichedEvent {
  const at = '2026-06-01T09:00:00.000Z';
  return {
    type,
    protocol: 'segment',
    messageId: randomUUID(),
    userId,
    ...(extra.event ? { event: extra.event } : {}),
    traits: extra.traits ?? {},
    properties: {},
    context: {},
    sourceId: 'src_test',
    enrichment: directEnrichment(at),
  };
}

class QueuedRequests {
  readonly pending: RecomputeRequest[] = [];

  async publish(requests: readonly RecomputeRequest[]): Promise<void> {
    this.pending.push(...requests);
  }
}

describe('recomputing every profile after a rules change', () => {
  const tableName = uniqueName('recompute');
  const tracking = new DynamoDbTrackingStore({ client: dynamodb, tableName, eventRetentionDays: 396 });
  const ingest = new IngestService(tracking);
  const store = new DynamoDbScoringStore({ client: dynamodb, tableName, now: () => now });
  const progress = new DynamoDbRecomputeProgress(dynamodb, tableName);
  const publisher = new RecordingPublisher();
  const leadDeps = { publisher, profiles: new FixedProfileSummaries(), now: () => now };
  const leads = new LeadService({ ...leadDeps, store });
  const history = new TrackingProfileHistory(tracking);
  const requests = new QueuedRequests();
  const recompute = new ScoringRecompute({
    store,
    progress,
    // A few items per page, so the 12 profiles and their events span several pages of both segments.
    scanner: new DynamoDbRecomputeScanner(dynamodb, tableName, 7),
    history,
    requests,
    leads: leadDeps,
    now: () => now,
    segments: 2,
    concurrency: 3,
  });
  /** userId → demo requests made; every third profile is a VP. */
  const people = Array.from({ length: 12 }, (_, i) => ({
    userId: `user-${randomUUID()}`,
    demos: (i % 3) + 1,
    vp: i % 3 === 0,
  }));
  const profileIds = new Map<string, string>();

  async function drain(): Promise<void> {
    for (let request = requests.pending.shift(); request; request = requests.pending.shift())
      await recompute.onRequest(request);
  }

  beforeAll(async () => {
    await createProfileStoreTable(tableName);
    await store.putRules(rulesWith(10));
    for (const person of people) {
      await ingest.ingest([
        event('identify', person.userId, { traits: { title: person.vp ? 'VP Sales' : 'Engineer' } }),
        ...Array.from({ length: person.demos }, () =>
          event('track', person.userId, { event: 'Demo Requested' }),
        ),
      ]);
      const profileId = await ingest.resolve({ kind: 'userId', value: person.userId });
      profileIds.set(person.userId, profileId);
      // Scored live under version 1, as the score function would have.
      const loaded = await history.load(profileId);
      if (!loaded) throw new Error(`profile ${profileId} was not stored`);
      for (const tracked of loaded.events)
        await leads.onEvent({ profileId, event: tracked, traits: loaded.traits });
    }
  }, 60_000);

  it('gives every lead its scores under the new rules and reports the recompute done with every profile counted', async () => {
    const stored = await store.putRules(rulesWith(25));

    await startRecompute({
      deps: { progress, requests, now: () => now, segments: 2 },
      version: stored.version,
    });
    await drain();

    for (const person of people) {
      const lead = await store.getLead(profileIds.get(person.userId) ?? '');
      expect(lead.ledger.rulesVersion, person.userId).toBe(2);
      expect(lead.flat.scores.combined, person.userId).toBe(person.demos * 25 + (person.vp ? 20 : 0));
    }
    expect(await progress.latest()).toMatchObject({
      version: 2,
      state: 'done',
      totalSegments: 2,
      segmentsDone: 2,
      profilesRecomputed: people.length,
      profilesChanged: people.length,
      failures: 0,
    });
  }, 60_000);

  it('replays a stored event with the dedupe key the score function saw', async () => {
    const stored = event('track', 'user-x', { event: 'Demo Requested' });

    const replayed = trackedEventOf(stored, 'prof-x');

    expect(replayed).toMatchObject({
      'detail-type': 'event.tracked',
      dedupeKey: `src_test:${stored.messageId}`,
      time: stored.enrichment.eventTime,
      detail: { profileId: 'prof-x', event: 'Demo Requested', type: 'track' },
    });
  });

  it('marks a running recompute superseded when newer rules start their own', async () => {
    const third = await store.putRules(rulesWith(30));
    await startRecompute({
      deps: { progress, requests, now: () => now, segments: 2 },
      version: third.version,
    });
    const fourth = await store.putRules(rulesWith(40));

    await startRecompute({
      deps: { progress, requests, now: () => now, segments: 2 },
      version: fourth.version,
    });
    await drain();

    expect((await progress.get(third.version))?.state).toBe('superseded');
    expect(await progress.latest()).toMatchObject({
      version: fourth.version,
      state: 'done',
      profilesRecomputed: people.length,
    });
  }, 60_000);
});
