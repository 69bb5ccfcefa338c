// Segments benchmark: cost of keeping memberships current per event, in memory (10 and 50 segments) and on DynamoDB Local.
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { FactEvent, ProfileFacts } from '../functions/journeys/model.ts';
import { type SegmentDefinitionInput, segmentDefinitionSchema } from '../functions/segments/definition.ts';
import { DynamoDbRecheckIndex } from '../functions/segments/dynamodb-rechecks.ts';
import { DynamoDbSegmentStore } from '../functions/segments/dynamodb-store.ts';
import type { MembershipConsent } from '../functions/segments/membership.ts';
import {
  type LiveSegment,
  type RecheckTimers,
  type SegmentProfile,
  SegmentService,
} from '../functions/segments/service.ts';
import type { ProfileSegment, SetMembership } from '../functions/segments/store.ts';

const PURE_EVENTS = 2000;
const STORED_EVENTS = 300;
const PROFILES = 50;
const EVENT_NAMES = ['Pricing Viewed', 'Docs Viewed', 'Demo Requested', 'Signed Up', 'Webinar Attended'];
const CONSENT: MembershipConsent = { profile: null, email: 'bench@example.com', address: null };

/** A realistic mix: event counts in windows, traits, scores, consent, and every fifth segment reading another. */
function segmentMix(count: number): LiveSegment[] {
  return Array.from({ length: count }, (_, i) => {
    const base: SegmentDefinitionInput['rule'][] = [
      {
        events: { event: EVENT_NAMES[i % EVENT_NAMES.length] ?? 'Pricing Viewed' },
        within: i % 2 === 0 ? 'P7D' : 'P30D',
        count: { op: 'gte', value: 1 + (i % 3) },
      },
      { trait: 'plan', op: 'eq', value: i % 2 === 0 ? 'pro' : 'trial' },
      { score: 'engagement', op: 'gt', value: i },
      { consent: 'email', granted: true },
    ];
    const rule =
      i % 5 === 4 ? { all: [{ segment: `s${i - 1}` }, base[0]] } : { all: base.slice(0, 2 + (i % 3)) };
    return {
      version: 1,
      definition: segmentDefinitionSchema.parse({ id: `s${i}`, name: `Segment ${i}`, rule }),
    };
  });
}

class MemoryStore {
  private readonly members = new Map<string, ProfileSegment>();
  async setMembership(input: SetMembership) {
    const key = `${input.profileId}/${input.segmentId}`;
    if (input.member === this.members.has(key)) return { changed: false };
    if (input.member)
      this.members.set(key, { segmentId: input.segmentId, enteredAt: input.at, version: input.version });
    else this.members.delete(key);
    return { changed: true };
  }
  async segmentsOf(profileId: string) {
    return [...this.members.entries()].filter(([k]) => k.startsWith(`${profileId}/`)).map(([, v]) => v);
  }
}

class MemoryTimers implements RecheckTimers {
  private readonly due = new Map<string, Map<string, string>>();
  async of(profileId: string) {
    return this.due.get(profileId) ?? new Map<string, string>();
  }
  async set(input: { profileId: string; segmentId: string; dueAt: string }) {
    const timers = this.due.get(input.profileId) ?? new Map<string, string>();
    timers.set(input.segmentId, input.dueAt);
    this.due.set(input.profileId, timers);
  }
  async clear(input: { profileId: string; segmentId: string }) {
    this.due.get(input.profileId)?.delete(input.segmentId);
  }
}

/** Profiles whose recent events grow as the benchmark feeds them. */
function profiles(now: Date) {
  const events = new Map<string, FactEvent[]>();
  return {
    add(profileId: string, index: number) {
      const list = events.get(profileId) ?? [];
      const at = new Date(now.getTime() - (index % 20) * 3_600_000).toISOString();
      list.unshift({ event: EVENT_NAMES[index % EVENT_NAMES.length] ?? 'Docs Viewed', properties: {}, at });
      events.set(profileId, list.slice(0, 200));
    },
    port: {
      load: async (profileId: string): Promise<SegmentProfile> => {
        const facts: ProfileFacts = {
          profileId,
          userId: null,
          traits: { plan: profileId.endsWith('0') ? 'trial' : 'pro' },
          scores: { engagement: 25 },
          stage: 'lead',
          segments: [],
          events: events.get(profileId) ?? [],
        };
        return { facts, consent: CONSENT };
      },
    },
  };
}

async function microsecondsPerEvent(segmentCount: number): Promise<number> {
  const now = new Date();
  const feed = profiles(now);
  const service = new SegmentService({
    catalog: { live: async () => segmentMix(segmentCount) },
    profiles: feed.port,
    store: new MemoryStore(),
    timers: new MemoryTimers(),
    now: () => now,
  });
  for (let i = 0; i < 200; i += 1) {
    feed.add(`p${i % PROFILES}`, i);
    await service.evaluate({ profileId: `p${i % PROFILES}` });
  }
  const started = performance.now();
  for (let i = 0; i < PURE_EVENTS; i += 1) {
    feed.add(`p${i % PROFILES}`, i);
    await service.evaluate({ profileId: `p${i % PROFILES}` });
  }
  return Math.round(((performance.now() - started) * 1000) / PURE_EVENTS);
}

export async function benchSegments(options: {
  endpoint: string;
  tableName: string;
}): Promise<Record<string, number>> {
  const pure10 = await microsecondsPerEvent(10);
  const pure50 = await microsecondsPerEvent(50);
  const client = new DynamoDBClient({
    endpoint: options.endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
  try {
    const now = new Date();
    const feed = profiles(now);
    const service = new SegmentService({
      catalog: { live: async () => segmentMix(10) },
      profiles: feed.port,
      store: new DynamoDbSegmentStore({ client, tableName: options.tableName }),
      timers: new DynamoDbRecheckIndex(client, options.tableName),
      now: () => now,
    });
    let changes = 0;
    const started = performance.now();
    for (let i = 0; i < STORED_EVENTS; i += 1) {
      feed.add(`bench-seg-${i % PROFILES}`, i);
      changes += (await service.evaluate({ profileId: `bench-seg-${i % PROFILES}` })).changes.length;
    }
    const storedMs = (performance.now() - started) / STORED_EVENTS;
    const result = {
      microsecondsPerEvent10Segments: pure10,
      microsecondsPerEvent50Segments: pure50,
      dynamoDbLocalMsPerEvent10Segments: Number(storedMs.toFixed(2)),
      membershipChangesPerEvent: Number((changes / STORED_EVENTS).toFixed(2)),
    };
    console.log('\nsegments: keeping memberships current per event (facts loading excluded):');
    console.log(`  in memory, 10 segments: ${pure10} µs/event; 50 segments: ${pure50} µs/event`);
    console.log(
      `  DynamoDB Local (memberships, sizes, recheck timers), 10 segments: ${result.dynamoDbLocalMsPerEvent10Segments} ms/event, ${result.membershipChangesPerEvent} membership changes/event`,
    );
    return result;
  } finally {
    client.destroy();
  }
}
