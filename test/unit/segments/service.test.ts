// The segment service: one profile's memberships kept current across segments, timers and merges.
import { describe, expect, it } from 'vitest';
import type { FactEvent, ProfileFacts } from '../../../functions/journeys/model.ts';
import {
  type SegmentDefinitionInput,
  segmentDefinitionSchema,
} from '../../../functions/segments/definition.ts';
import type { MembershipConsent } from '../../../functions/segments/membership.ts';
import {
  type LiveSegment,
  type RecheckTimers,
  type SegmentProfile,
  SegmentService,
} from '../../../functions/segments/service.ts';
import type { ProfileSegment, SetMembership } from '../../../functions/segments/store.ts';

const NOW = new Date('2025-07-02T12:00:00.000Z');
const DAY = 86_400_000;
const at = (days: number) => new Date(NOW.getTime() + days * DAY).toISOString();

function segment(input: SegmentDefinitionInput, version = 1): LiveSegment {
  return { definition: segmentDefinitionSchema.parse(input), version };
}

const pricingTwiceThisWeek = segment({
  id: 'pricing-visitors',
  name: 'Visited pricing twice this week',
  rule: {
    all: [
      { events: { event: 'Pricing Viewed' }, within: 'P7D', count: { op: 'gte', value: 2 } },
      { consent: 'email', granted: true },
    ],
  },
});
const pros = segment({ id: 'pros', name: 'Pro plan', rule: { trait: 'plan', op: 'eq', value: 'pro' } });
const hotPros = segment({
  id: 'hot-pros',
  name: 'Pros looking at pricing',
  rule: { all: [{ segment: 'pros' }, { segment: 'pricing-visitors' }] },
});

const viewed = (days: number): FactEvent => ({ event: 'Pricing Viewed', properties: {}, at: at(days) });

/** Memberships as the DynamoDB store keeps them: idempotent, with a log of every change it made. */
class MemoryMemberships {
  readonly members = new Map<string, ProfileSegment>();
  readonly writes: SetMembership[] = [];

  async setMembership(input: SetMembership) {
    const key = `${input.profileId}/${input.segmentId}`;
    if (input.member === this.members.has(key)) return { changed: false };
    this.writes.push(input);
    if (input.member)
      this.members.set(key, { segmentId: input.segmentId, enteredAt: input.at, version: input.version });
    else this.members.delete(key);
    return { changed: true };
  }

  async segmentsOf(profileId: string) {
    return [...this.members.entries()].filter(([key]) => key.startsWith(`${profileId}/`)).map(([, s]) => s);
  }
}

class MemoryTimers implements RecheckTimers {
  readonly due = new Map<string, string>();

  async of(profileId: string) {
    return new Map(
      [...this.due.entries()]
        .filter(([key]) => key.startsWith(`${profileId}/`))
        .map(([key, dueAt]) => [key.slice(profileId.length + 1), dueAt]),
    );
  }

  async set(input: { profileId: string; segmentId: string; dueAt: string }) {
    this.due.set(`${input.profileId}/${input.segmentId}`, input.dueAt);
  }

  async clear(input: { profileId: string; segmentId: string }) {
    this.due.delete(`${input.profileId}/${input.segmentId}`);
  }
}

const CONSENTED: MembershipConsent = { profile: null, email: 'jane@example.com', address: null };

function setup(segments: readonly LiveSegment[]) {
  const profiles = new Map<string, { facts: Omit<ProfileFacts, 'segments'>; consent: MembershipConsent }>();
  const memberships = new MemoryMemberships();
  const timers = new MemoryTimers();
  let now = NOW;
  const service = new SegmentService({
    catalog: { live: async () => segments },
    profiles: {
      load: async (profileId): Promise<SegmentProfile | undefined> => {
        const profile = profiles.get(profileId);
        return profile && { facts: { ...profile.facts, segments: [] }, consent: profile.consent };
      },
    },
    store: memberships,
    timers,
    now: () => now,
  });
  const person = (input: {
    traits?: Record<string, string>;
    events?: FactEvent[];
    consent?: MembershipConsent;
  }) =>
    profiles.set('p-1', {
      facts: {
        profileId: 'p-1',
        userId: 'u-1',
        traits: input.traits ?? {},
        scores: {},
        stage: null,
        events: input.events ?? [],
      },
      consent: input.consent ?? CONSENTED,
    });
  return {
    service,
    memberships,
    timers,
    person,
    forget: (id: string) => profiles.delete(id),
    setNow: (next: Date) => {
      now = next;
    },
    segmentsOf: async (id: string) => (await memberships.segmentsOf(id)).map((s) => s.segmentId).sort(),
  };
}

describe('keeping a profile in the right segments', () => {
  it('enters a profile that visited pricing twice this week and may receive email', async () => {
    const { service, person, segmentsOf } = setup([pricingTwiceThisWeek]);
    person({ events: [viewed(-1), viewed(-2)] });

    const result = await service.evaluate({ profileId: 'p-1' });

    expect(result.changes).toEqual([{ segmentId: 'pricing-visitors', change: 'entered' }]);
    expect(await segmentsOf('p-1')).toEqual(['pricing-visitors']);
  });

  it('exits the profile when it withdraws email consent', async () => {
    const { service, person, segmentsOf } = setup([pricingTwiceThisWeek]);
    person({ events: [viewed(-1), viewed(-2)] });
    await service.evaluate({ profileId: 'p-1' });
    person({
      events: [viewed(-1), viewed(-2)],
      consent: {
        ...CONSENTED,
        profile: { categoryPreferences: { marketing: false }, updatedAt: at(0), source: 'test' },
      },
    });

    const result = await service.evaluate({ profileId: 'p-1' });

    expect(result.changes).toEqual([{ segmentId: 'pricing-visitors', change: 'exited' }]);
    expect(await segmentsOf('p-1')).toEqual([]);
  });

  it('writes nothing when an evaluation changes nothing, so no segment event follows', async () => {
    const { service, person, memberships } = setup([pricingTwiceThisWeek, pros]);
    person({ traits: { plan: 'pro' }, events: [viewed(-1)] });
    await service.evaluate({ profileId: 'p-1' });
    const writes = memberships.writes.length;

    const again = await service.evaluate({ profileId: 'p-1' });

    expect(again.changes).toEqual([]);
    expect(memberships.writes).toHaveLength(writes);
  });

  it('lets a segment that reads other segments see their fresh result in the same evaluation', async () => {
    // Listed readers first: the service must still decide what they read before them.
    const { service, person, segmentsOf } = setup([hotPros, pricingTwiceThisWeek, pros]);
    person({ traits: { plan: 'pro' }, events: [viewed(-1), viewed(-2)] });

    const result = await service.evaluate({ profileId: 'p-1' });

    expect(result.changes.map((c) => c.segmentId)).toEqual(['pros', 'pricing-visitors', 'hot-pros']);
    expect(await segmentsOf('p-1')).toEqual(['hot-pros', 'pricing-visitors', 'pros']);
  });

  it('re-evaluates only the segments reading a changed segment when asked for its dependents', async () => {
    const { service, person, segmentsOf } = setup([hotPros, pricingTwiceThisWeek, pros]);
    person({ traits: { plan: 'pro' }, events: [viewed(-1), viewed(-2)] });

    const result = await service.evaluate({ profileId: 'p-1', segmentIds: ['pros'] });

    expect(result.evaluated).toBe(2);
    expect(await segmentsOf('p-1')).toEqual(['pros']);
  });

  it('sets one recheck timer for when the older visit leaves the week', async () => {
    const { service, person, timers } = setup([pricingTwiceThisWeek]);
    person({ events: [viewed(-1), viewed(-3)] });

    await service.evaluate({ profileId: 'p-1' });

    expect(timers.due).toEqual(
      new Map([['p-1/pricing-visitors', new Date(Date.parse(at(4)) + 1).toISOString()]]),
    );
  });

  it('moves the timer when a newer visit pushes the exit back, and removes it once only an event can help', async () => {
    const { service, person, timers, setNow, segmentsOf } = setup([pricingTwiceThisWeek]);
    person({ events: [viewed(-1), viewed(-3)] });
    await service.evaluate({ profileId: 'p-1' });
    person({ events: [viewed(0), viewed(-1), viewed(-3)] });

    await service.evaluate({ profileId: 'p-1' });
    const moved = timers.due.get('p-1/pricing-visitors');
    setNow(new Date(Date.parse(at(7)) + 1000));
    await service.evaluate({ profileId: 'p-1' });

    expect(moved).toBe(new Date(Date.parse(at(6)) + 1).toISOString());
    expect(await segmentsOf('p-1')).toEqual([]);
    expect(timers.due.size).toBe(0);
  });

  it('ends where one evaluation of all the facts ends, whatever order the inputs arrived in', async () => {
    const orders = [
      [viewed(-2), viewed(-1)],
      [viewed(-1), viewed(-2)],
    ];
    const outcomes: string[][] = [];
    for (const events of orders) {
      const { service, person, segmentsOf } = setup([pricingTwiceThisWeek, pros, hotPros]);
      // Each input triggers an evaluation of what is stored by then; the last sees everything.
      person({ traits: { plan: 'pro' }, events: events.slice(0, 1) });
      await service.evaluate({ profileId: 'p-1' });
      person({ traits: { plan: 'pro' }, events });
      await service.evaluate({ profileId: 'p-1' });
      outcomes.push(await segmentsOf('p-1'));
    }

    expect(outcomes[0]).toEqual(['hot-pros', 'pricing-visitors', 'pros']);
    expect(outcomes[1]).toEqual(outcomes[0]);
  });

  it('takes a merged-away or erased profile out of every segment and drops its timers', async () => {
    const { service, person, forget, segmentsOf, timers } = setup([pricingTwiceThisWeek, pros]);
    person({ traits: { plan: 'pro' }, events: [viewed(-1), viewed(-2)] });
    await service.evaluate({ profileId: 'p-1' });
    forget('p-1');

    const result = await service.evaluate({ profileId: 'p-1' });

    expect(result.changes.map((c) => c.change)).toEqual(['exited', 'exited']);
    expect(await segmentsOf('p-1')).toEqual([]);
    expect(timers.due.size).toBe(0);
  });

  it('explains each decision without writing anything', async () => {
    const { service, person, memberships } = setup([pros]);
    person({ traits: { plan: 'pro' } });

    const explained = await service.explain('p-1');

    expect(explained?.[0]?.decision.member).toBe(true);
    expect(explained?.[0]?.decision.reason).toContain('plan');
    expect(memberships.writes).toEqual([]);
  });
});
