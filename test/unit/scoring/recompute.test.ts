// The recompute after a rules change: every profile rescored once, page by page, with progress, superseded by newer rules.
import { beforeEach, describe, expect, it } from 'vitest';
import type { IncomingEvent } from '../../../functions/journeys/model.ts';
import {
  type PageResult,
  type ProfileHistory,
  type ProfilePage,
  type RecomputeProgress,
  type RecomputeProgressStore,
  type RecomputeRequest,
  type RecomputeScanner,
  ScoringRecompute,
} from '../../../functions/scoring/recompute.ts';
import type { ScoringRulesInput } from '../../../functions/scoring/rules.ts';
import { LeadService } from '../../../functions/scoring/service.ts';
import type { JsonObject } from '../../../functions/tracking/model.ts';
import { tracked } from './fixtures.ts';
import {
  FixedProfileSummaries,
  InMemoryScoringStore,
  RecordingPublisher,
} from './support/in-memory-scoring-store.ts';

const now = new Date('2026-03-02T10:00:00.000Z');

/** Demo requests worth `points`, MQL at `mql` combined; no decay so the arithmetic is exact. */
const rulesWith = ({ points, mql }: { points: number; mql: number }): ScoringRulesInput => ({
  behaviour: [{ id: 'demo-request', match: { event: 'Demo Requested' }, points }],
  fit: [{ id: 'vp-title', condition: { trait: 'title', op: 'contains', value: 'VP' }, points: 20 }],
  thresholds: [{ stage: 'mql', score: 'combined', atLeast: mql }],
});

/** The progress store's contract as the DynamoDB adapter keeps it: counts added once per page key. */
class InMemoryProgress implements RecomputeProgressStore {
  readonly byVersion = new Map<number, RecomputeProgress>();
  private readonly pages = new Set<string>();

  async start(input: { version: number; totalSegments: number; at: string }): Promise<RecomputeProgress> {
    const existing = this.byVersion.get(input.version);
    if (existing) return existing;
    const progress: RecomputeProgress = {
      version: input.version,
      state: 'running',
      totalSegments: input.totalSegments,
      segmentsDone: 0,
      pages: 0,
      profilesRecomputed: 0,
      profilesChanged: 0,
      failures: 0,
      startedAt: input.at,
      finishedAt: null,
    };
    this.byVersion.set(input.version, progress);
    return progress;
  }

  async get(version: number): Promise<RecomputeProgress | undefined> {
    return this.byVersion.get(version);
  }

  async latest(): Promise<RecomputeProgress | undefined> {
    return [...this.byVersion.values()].sort((a, b) => b.version - a.version)[0];
  }

  async recordPage(page: PageResult): Promise<void> {
    const current = this.byVersion.get(page.version);
    if (!current) throw new Error(`no recompute of version ${page.version}`);
    const key = `${page.version}:${page.pageKey}`;
    let next = current;
    if (!this.pages.has(key)) {
      this.pages.add(key);
      next = {
        ...current,
        pages: current.pages + 1,
        segmentsDone: current.segmentsDone + (page.segmentDone ? 1 : 0),
        profilesRecomputed: current.profilesRecomputed + page.recomputed,
        profilesChanged: current.profilesChanged + page.changed,
        failures: current.failures + page.failures,
      };
    }
    if (next.state === 'running' && next.segmentsDone >= next.totalSegments)
      next = { ...next, state: 'done', finishedAt: page.at };
    this.byVersion.set(page.version, next);
  }

  async supersede(input: { version: number; at: string }): Promise<void> {
    const current = this.byVersion.get(input.version);
    if (current?.state === 'running')
      this.byVersion.set(input.version, { ...current, state: 'superseded', finishedAt: input.at });
  }
}

/** Segments as lists of pages; a page's cursor is its index. */
class FixedScanner implements RecomputeScanner {
  constructor(private readonly segments: readonly (readonly (readonly string[])[])[]) {}

  async page(input: { segment: number; cursor: string | null }): Promise<ProfilePage> {
    const pages = this.segments[input.segment] ?? [];
    const index = input.cursor === null ? 0 : Number(input.cursor);
    return {
      profileIds: pages[index] ?? [],
      cursor: index + 1 < pages.length ? String(index + 1) : null,
    };
  }
}

class FixedHistory implements ProfileHistory {
  readonly loads = new Map<string, number>();
  readonly failing = new Set<string>();

  constructor(private readonly profiles: Map<string, { events: IncomingEvent[]; traits: JsonObject }>) {}

  async load(profileId: string) {
    this.loads.set(profileId, (this.loads.get(profileId) ?? 0) + 1);
    if (this.failing.has(profileId)) throw new Error('the tracking store is unavailable');
    return this.profiles.get(profileId) ?? null;
  }
}

class QueuedRequests {
  readonly pending: RecomputeRequest[] = [];
  readonly all: RecomputeRequest[] = [];

  async publish(requests: readonly RecomputeRequest[]): Promise<void> {
    this.pending.push(...requests);
    this.all.push(...requests);
  }
}

const demo = (profileId: string, n: number) =>
  Array.from({ length: n }, (_, i) =>
    tracked({ event: 'Demo Requested', key: `${profileId}:demo-${i}`, at: '2026-03-01T10:00:00.000Z' }),
  );

let store: InMemoryScoringStore;
let publisher: RecordingPublisher;
let progress: InMemoryProgress;
let requests: QueuedRequests;
let history: FixedHistory;
let live: LeadService;

function recomputeOver(segments: readonly (readonly (readonly string[])[])[]): ScoringRecompute {
  return new ScoringRecompute({
    store,
    progress,
    scanner: new FixedScanner(segments),
    history,
    requests,
    leads: { publisher, profiles: new FixedProfileSummaries(), now: () => now },
    now: () => now,
    segments: segments.length,
    concurrency: 2,
  });
}

async function drain(recompute: ScoringRecompute): Promise<void> {
  for (let request = requests.pending.shift(); request; request = requests.pending.shift())
    await recompute.onRequest(request);
}

/** Scores every profile live under the rules in force, as the score function would have. */
async function scoreLive(): Promise<void> {
  for (const [profileId, { events, traits }] of profiles)
    for (const event of events) await live.onEvent({ profileId, event, traits });
}

let profiles: Map<string, { events: IncomingEvent[]; traits: JsonObject }>;

beforeEach(async () => {
  store = new InMemoryScoringStore();
  publisher = new RecordingPublisher();
  progress = new InMemoryProgress();
  requests = new QueuedRequests();
  profiles = new Map<string, { events: IncomingEvent[]; traits: JsonObject }>([
    ['p-1', { events: demo('p-1', 1), traits: {} }],
    ['p-2', { events: demo('p-2', 2), traits: { title: 'VP Sales' } }],
    ['p-3', { events: demo('p-3', 3), traits: {} }],
    // Traits but no scored event: no lead item until the recompute gives it its fit score.
    ['p-4', { events: [], traits: { title: 'VP Marketing' } }],
  ]);
  history = new FixedHistory(profiles);
  live = new LeadService({ store, publisher, profiles: new FixedProfileSummaries(), now: () => now });
  await store.putRules(rulesWith({ points: 10, mql: 100 }));
  await scoreLive();
});

describe('a recompute after a rules change', () => {
  it('rescores every profile on every page once under the new rules', async () => {
    await store.putRules(rulesWith({ points: 30, mql: 100 }));
    const recompute = recomputeOver([[['p-1', 'p-2'], ['p-3']], [['p-4']]]);

    await recompute.start(2);
    await drain(recompute);

    expect([...history.loads.values()]).toEqual([1, 1, 1, 1]);
    const combined = await Promise.all(
      ['p-1', 'p-2', 'p-3', 'p-4'].map(async (id) => (await store.getLead(id)).flat.scores.combined),
    );
    expect(combined).toEqual([30, 80, 90, 20]);
    for (const id of ['p-1', 'p-2', 'p-3', 'p-4'])
      expect((await store.getLead(id)).ledger.rulesVersion).toBe(2);
  });

  it('reports the recompute done with its pages and profile counts', async () => {
    await store.putRules(rulesWith({ points: 30, mql: 100 }));
    const recompute = recomputeOver([[['p-1', 'p-2'], ['p-3']], [['p-4']]]);

    await recompute.start(2);
    await drain(recompute);

    expect(await progress.get(2)).toMatchObject({
      state: 'done',
      totalSegments: 2,
      segmentsDone: 2,
      pages: 3,
      profilesRecomputed: 4,
      profilesChanged: 4,
      failures: 0,
      finishedAt: now.toISOString(),
    });
  });

  it('counts a redelivered page once and changes nothing the second time', async () => {
    await store.putRules(rulesWith({ points: 30, mql: 50 }));
    const recompute = recomputeOver([[['p-1', 'p-2', 'p-3']]]);
    await recompute.start(2);
    const [first] = requests.pending;
    if (!first) throw new Error('no first page was requested');
    await drain(recompute);
    const commits = store.commits;
    const published = publisher.published.length;

    const replay = await recompute.onRequest(first);

    expect(replay).toEqual({ kind: 'finished' });
    expect(store.commits).toBe(commits);
    expect(publisher.published).toHaveLength(published);
    expect((await progress.get(2))?.profilesRecomputed).toBe(3);
  });

  it('rescores a page again without a write or an event when the page is redelivered before it is recorded', async () => {
    await store.putRules(rulesWith({ points: 30, mql: 50 }));
    const recompute = recomputeOver([[['p-1', 'p-2'], ['p-3']]]);
    await recompute.start(2);
    const [first] = requests.pending;
    if (!first) throw new Error('no first page was requested');
    await recompute.onRequest(first);
    const commits = store.commits;
    const published = publisher.published.length;

    await recompute.onRequest(first);

    expect(store.commits).toBe(commits);
    expect(publisher.published).toHaveLength(published);
    expect((await progress.get(2))?.profilesRecomputed).toBe(2);
  });

  it('stops an older recompute when newer rules were published, and marks it superseded', async () => {
    await store.putRules(rulesWith({ points: 30, mql: 100 }));
    const recompute = recomputeOver([[['p-1'], ['p-2'], ['p-3']]]);
    await recompute.start(2);
    const first = requests.pending.shift();
    if (!first) throw new Error('no first page was requested');
    await recompute.onRequest(first);
    const second = requests.pending.shift();
    if (!second) throw new Error('no second page was requested');
    await store.putRules(rulesWith({ points: 40, mql: 100 }));

    const outcome = await recompute.onRequest(second);

    expect(outcome).toEqual({ kind: 'superseded' });
    expect(requests.pending).toEqual([]);
    expect((await progress.get(2))?.state).toBe('superseded');
    expect(history.loads.has('p-2')).toBe(false);
  });

  it('supersedes a running recompute as soon as the next one starts', async () => {
    await store.putRules(rulesWith({ points: 30, mql: 100 }));
    const recompute = recomputeOver([[['p-1'], ['p-2']]]);
    await recompute.start(2);
    await store.putRules(rulesWith({ points: 40, mql: 100 }));

    await recompute.start(3);
    await drain(recompute);

    expect((await progress.get(2))?.state).toBe('superseded');
    expect(await progress.latest()).toMatchObject({ version: 3, state: 'done', profilesRecomputed: 2 });
    expect((await store.getLead('p-2')).flat.scores.combined).toBe(100);
  });

  it('counts a profile that fails, and still rescores the rest of its page', async () => {
    await store.putRules(rulesWith({ points: 30, mql: 100 }));
    history.failing.add('p-2');
    const recompute = recomputeOver([[['p-1', 'p-2', 'p-3']]]);

    await recompute.start(2);
    await drain(recompute);

    expect(await progress.get(2)).toMatchObject({ state: 'done', profilesRecomputed: 2, failures: 1 });
    expect((await store.getLead('p-3')).flat.scores.combined).toBe(90);
  });
});

describe('stages after a rules change', () => {
  it('moves a profile a lowered threshold now lets through, with reason rules-changed, and hands it to sales once', async () => {
    await store.putRules(rulesWith({ points: 10, mql: 30 }));
    const recompute = recomputeOver([[['p-1', 'p-2', 'p-3']]]);
    publisher.published.length = 0;

    await recompute.start(2);
    await drain(recompute);
    await recompute.start(2);
    await drain(recompute);

    const moves = publisher.ofType('lead.stage_changed').map((event) => event.detail);
    expect(moves.map((move) => [move.profileId, move.to, move.reason])).toEqual([
      ['p-2', 'mql', 'rules-changed: combined score 40 reached 30'],
      ['p-3', 'mql', 'rules-changed: combined score 30 reached 30'],
    ]);
    expect(publisher.ofType('lead.qualified').map((event) => event.detail.profileId)).toEqual(['p-2', 'p-3']);
  });

  it('does not hand a lead to sales again when its stage stays the same under the new rules', async () => {
    await live.setStage({ profileId: 'p-3', stage: 'mql', reason: 'by hand', by: 'test' });
    await store.putRules(rulesWith({ points: 50, mql: 100 }));
    const recompute = recomputeOver([[['p-3']]]);
    publisher.published.length = 0;

    await recompute.start(2);
    await drain(recompute);

    expect((await store.getLead('p-3')).flat.scores.combined).toBe(150);
    expect(publisher.ofType('lead.stage_changed')).toEqual([]);
    expect(publisher.ofType('lead.qualified')).toEqual([]);
  });

  it('does not requalify a recycled lead that was already above the old threshold', async () => {
    await store.putRules(rulesWith({ points: 40, mql: 100 }));
    const recompute = recomputeOver([[['p-3']]]);
    await recompute.start(2);
    await drain(recompute);
    await live.setStage({ profileId: 'p-3', stage: 'recycled', reason: 'sales rejected', by: 'test' });
    await store.putRules(rulesWith({ points: 40, mql: 90 }));
    publisher.published.length = 0;

    await recompute.start(3);
    await drain(recompute);

    expect((await store.getLead('p-3')).lifecycle.stage).toBe('recycled');
    expect(publisher.ofType('lead.qualified')).toEqual([]);
  });
});
