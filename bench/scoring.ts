// Scoring benchmark: cost per scored event (pure and through DynamoDB Local) and recompute throughput after a rules change.
import { randomUUID } from 'node:crypto';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { IncomingEvent } from '../functions/journeys/model.ts';
import { DynamoDbScoringStore } from '../functions/scoring/dynamodb-store.ts';
import { type RecomputeRequest, ScoringRecompute, startRecompute } from '../functions/scoring/recompute.ts';
import {
  DynamoDbRecomputeProgress,
  DynamoDbRecomputeScanner,
  TrackingProfileHistory,
} from '../functions/scoring/recompute-adapters.ts';
import { parseScoringRules, type ScoringRulesInput } from '../functions/scoring/rules.ts';
import {
  applyEvent,
  emptyScoreState,
  explain,
  MAX_AWARDS,
  type ScoreState,
  scoresAt,
} from '../functions/scoring/score.ts';
import { LeadService, type ProfileSummaries, type ScoringPublisher } from '../functions/scoring/service.ts';
import { DynamoDbTrackingStore } from '../functions/tracking/dynamodb-store.ts';
import { IngestService } from '../functions/tracking/ingest-service.ts';
import type { EnrichedEvent } from '../functions/tracking/model.ts';
import { directEnrichment } from '../test/fixtures/enrichment.ts';

const PURE_EVENTS = 5000;
const STORED_EVENTS = 500;
const RECOMPUTE_PROFILES = 2000;
const EVENT_NAMES = ['Demo Requested', 'Webinar Attended', 'Trial Started', 'Docs Viewed', 'Signed Up'];

/** 12 behaviour and 6 fit rules, decay and two thresholds: what a B2B team ends up with. */
function benchRules(demoPoints: number): ScoringRulesInput {
  return {
    behaviour: [
      { id: 'pricing', page: { urlPattern: '/pricing*' }, points: 10, cap: { max: 30, per: 'P1D' } },
      { id: 'docs', page: { urlPattern: '/docs/*' }, points: 2, cap: { max: 10, per: 'P1D' } },
      { id: 'case-study', page: { urlPattern: '/customers/*' }, points: 5 },
      { id: 'blog', page: { urlPattern: '/blog/*' }, points: 1, cap: { max: 5, per: 'P7D' } },
      { id: 'careers', page: { urlPattern: '/careers*' }, points: -10 },
      { id: 'demo', match: { event: 'Demo Requested' }, points: demoPoints },
      { id: 'webinar', match: { event: 'Webinar Attended' }, points: 15 },
      { id: 'trial', match: { event: 'Trial Started' }, points: 40 },
      { id: 'docs-event', match: { event: 'Docs Viewed' }, points: 1, cap: { max: 5, per: 'P1D' } },
      { id: 'signup', match: { event: 'Signed Up' }, points: 20 },
      { id: 'unsubscribed', match: { event: 'Unsubscribed' }, points: -20 },
      {
        id: 'email-click',
        match: { pattern: { source: ['nurture.messaging'], 'detail-type': ['message.clicked'] } },
        points: 3,
      },
    ],
    fit: [
      { id: 'vp', condition: { trait: 'title', op: 'contains', value: 'VP' }, points: 20 },
      { id: 'director', condition: { trait: 'title', op: 'contains', value: 'Director' }, points: 10 },
      { id: 'size', condition: { trait: 'company.size', op: 'gte', value: 200 }, points: 15 },
      {
        id: 'industry',
        condition: { trait: 'industry', op: 'in', value: ['software', 'fintech'] },
        points: 10,
      },
      { id: 'student', condition: { trait: 'title', op: 'contains', value: 'Student' }, points: -30 },
      { id: 'country', condition: { trait: 'country', op: 'in', value: ['US', 'GB', 'DE'] }, points: 5 },
    ],
    decay: { halfLife: 'P30D' },
    thresholds: [
      { stage: 'lead', score: 'combined', atLeast: 20 },
      { stage: 'mql', score: 'combined', atLeast: 100 },
    ],
  };
}

function trackedEvent(i: number, at: Date): IncomingEvent {
  const page = i % 2 === 0;
  return {
    source: 'nurture.tracking',
    'detail-type': 'event.tracked',
    detail: page
      ? { type: 'page', event: null, name: null, properties: { url: `https://example.com/docs/${i}` } }
      : {
          type: 'track',
          event: EVENT_NAMES[i % EVENT_NAMES.length] ?? 'Signed Up',
          name: null,
          properties: {},
        },
    dedupeKey: `bench-${i}`,
    time: at.toISOString(),
  };
}

const noPublisher: ScoringPublisher = { publish: async () => {} };
const summaries: ProfileSummaries = {
  summary: async (profileId) => ({
    profileId,
    userId: null,
    email: null,
    name: null,
    company: null,
    title: null,
    firstTouch: null,
    lastTouch: null,
  }),
};

/** What the lead service computes per event on a full ledger: apply, scores before and after, the explanation. */
function benchPure(): { microsecondsPerEvent: number } {
  const rules = parseScoringRules(benchRules(50));
  const start = Date.parse('2026-01-01T00:00:00Z');
  let state: ScoreState = emptyScoreState(rules.version);
  for (let i = 0; i < MAX_AWARDS * 2; i += 1)
    state = applyEvent({
      state,
      event: trackedEvent(i, new Date(start + i * 60_000)),
      rules,
      now: new Date(start + i * 60_000),
    }).state;
  const full = state;
  const began = process.cpuUsage();
  for (let i = 0; i < PURE_EVENTS; i += 1) {
    const now = new Date(start + (MAX_AWARDS * 2 + i) * 60_000);
    const applied = applyEvent({
      state: full,
      event: trackedEvent(MAX_AWARDS * 2 + i, now),
      rules,
      now,
    }).state;
    scoresAt({ state: full, rules, now });
    scoresAt({ state: applied, rules, now });
    explain({ state: applied, rules, now });
  }
  const used = process.cpuUsage(began);
  return { microsecondsPerEvent: Math.round(((used.user + used.system) / PURE_EVENTS) * 10) / 10 };
}

function storedEvent(userId: string, i: number, at: string): EnrichedEvent {
  return {
    type: 'track',
    protocol: 'segment',
    messageId: randomUUID(),
    userId,
    event: EVENT_NAMES[i % EVENT_NAMES.length] ?? 'Signed Up',
    traits: {},
    properties: {},
    context: {},
    sourceId: 'src_bench',
    enrichment: directEnrichment(at),
  };
}

export async function benchScoring(options: {
  endpoint: string;
  tableName: string;
}): Promise<Record<string, number>> {
  const pure = benchPure();
  const client = new DynamoDBClient({
    endpoint: options.endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
  try {
    const store = new DynamoDbScoringStore({ client, tableName: options.tableName });
    await store.putRules(benchRules(50));
    const leads = new LeadService({
      store,
      publisher: noPublisher,
      profiles: summaries,
      now: () => new Date(),
    });
    const now = new Date();
    let started = performance.now();
    for (let i = 0; i < STORED_EVENTS; i += 1)
      await leads.onEvent({ profileId: `bench-lead-${i % 50}`, event: trackedEvent(i, now) });
    const storedMs = (performance.now() - started) / STORED_EVENTS;

    const tracking = new DynamoDbTrackingStore({
      client,
      tableName: options.tableName,
      eventRetentionDays: 396,
    });
    const ingest = new IngestService(tracking);
    const at = now.toISOString();
    for (let i = 0; i < RECOMPUTE_PROFILES; i += 50)
      await Promise.all(
        Array.from({ length: 50 }, (_, j) => {
          const userId = `bench-user-${i + j}`;
          return ingest.ingest([0, 1, 2].map((n) => storedEvent(userId, i + j + n, at)));
        }),
      );
    const stored = await store.putRules(benchRules(60));
    const pending: RecomputeRequest[] = [];
    const requests = { publish: async (next: readonly RecomputeRequest[]) => void pending.push(...next) };
    const progress = new DynamoDbRecomputeProgress(client, options.tableName);
    const recompute = new ScoringRecompute({
      store,
      progress,
      scanner: new DynamoDbRecomputeScanner(client, options.tableName),
      history: new TrackingProfileHistory(tracking),
      requests,
      leads: { publisher: noPublisher, profiles: summaries, now: () => new Date() },
      now: () => new Date(),
    });
    started = performance.now();
    await startRecompute({ deps: { progress, requests, now: () => new Date() }, version: stored.version });
    // Segments run side by side, as their page chains do on the queue.
    while (pending.length > 0)
      await Promise.all(pending.splice(0).map((request) => recompute.onRequest(request)));
    const seconds = (performance.now() - started) / 1000;
    const done = await progress.get(stored.version);
    const profiles = done?.profilesRecomputed ?? 0;

    const results = {
      pureMicrosecondsPerEvent: pure.microsecondsPerEvent,
      dynamoDbLocalMsPerEvent: Math.round(storedMs * 100) / 100,
      recomputeProfiles: profiles,
      recomputeSeconds: Math.round(seconds * 10) / 10,
      recomputeProfilesPerSecond: Math.round(profiles / seconds),
    };
    console.log('\nscoring (18 rules, ledger of 200 awards):');
    console.log(`  pure: apply + scores + explanation: ${results.pureMicrosecondsPerEvent} µs CPU per event`);
    console.log(
      `  through LeadService and DynamoDB Local (read, commit, clear outbox): ${results.dynamoDbLocalMsPerEvent} ms per event`,
    );
    console.log(
      `  recompute after a rules change: ${profiles} profiles in ${results.recomputeSeconds} s (${results.recomputeProfilesPerSecond} profiles/s, state ${done?.state})`,
    );
    return results;
  } finally {
    client.destroy();
  }
}
