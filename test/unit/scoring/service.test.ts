// The lead service: events score a profile, thresholds and sales move its stage, and each change is announced once.
import { beforeEach, describe, expect, it } from 'vitest';
import type { LeadStage } from '../../../functions/journeys/definition.ts';
import { LeadService } from '../../../functions/scoring/service.ts';
import { MAX_ATTRIBUTED_DEALS, scoringEventSchema } from '../../../functions/scoring/store.ts';
import type { JsonObject } from '../../../functions/tracking/model.ts';
import { b2bRules, pageView, tracked } from './fixtures.ts';
import {
  FixedProfileSummaries,
  InMemoryScoringStore,
  RecordingPublisher,
} from './support/in-memory-scoring-store.ts';

const now = new Date('2026-03-02T10:00:00.000Z');
const minutesAgo = (minutes: number) => new Date(now.getTime() - minutes * 60_000).toISOString();

let store: InMemoryScoringStore;
let publisher: RecordingPublisher;
let service: LeadService;

beforeEach(async () => {
  store = new InMemoryScoringStore();
  publisher = new RecordingPublisher();
  service = new LeadService({ store, publisher, profiles: new FixedProfileSummaries(), now: () => now });
  // Without decay, so the arithmetic in these tests does not depend on time.
  await store.putRules({
    ...b2bRules,
    decay: undefined,
    behaviour: [...(b2bRules.behaviour ?? []), { id: 'scrolled', match: { event: 'Scrolled' }, points: 0.5 }],
  });
});

const pricingVisit = (key: string) =>
  pageView({ url: 'https://example.com/pricing', key, at: minutesAgo(5) });
const demoRequest = (key: string) => tracked({ event: 'Demo Requested', key, at: minutesAgo(5) });

async function reachStage(stage: LeadStage): Promise<void> {
  await service.setStage({ profileId: 'p-1', stage, reason: 'set up', by: 'test' });
  publisher.published.length = 0;
}

describe('scoring events', () => {
  it('adds the pricing page points to the behaviour and combined scores', async () => {
    const outcome = await service.onEvent({ profileId: 'p-1', event: pricingVisit('view-1') });

    expect(outcome.scores).toEqual({ behaviour: 10, fit: 0, combined: 10 });
    expect((await store.getLead('p-1')).flat.scores).toMatchObject({ behaviour: 10, combined: 10 });
    expect(publisher.ofType('lead.score_changed')).toHaveLength(1);
  });

  it('counts a repeated event once and announces it once', async () => {
    await service.onEvent({ profileId: 'p-1', event: pricingVisit('view-1') });

    const repeat = await service.onEvent({ profileId: 'p-1', event: pricingVisit('view-1') });

    expect(repeat.changed).toBe(false);
    expect(repeat.scores.combined).toBe(10);
    expect(publisher.ofType('lead.score_changed')).toHaveLength(1);
    expect(store.commits).toBe(1);
  });

  it('scores fit from the traits that come with the event', async () => {
    const outcome = await service.onEvent({
      profileId: 'p-1',
      event: pricingVisit('view-1'),
      traits: { title: 'VP Marketing', industry: 'software' },
    });

    expect(outcome.scores).toEqual({ behaviour: 10, fit: 30, combined: 40 });
  });

  it('does not announce a move of less than one point, but does once the moves add up to one', async () => {
    await service.onEvent({
      profileId: 'p-1',
      event: tracked({ event: 'Scrolled', key: 's-1', at: minutesAgo(2) }),
    });
    const quiet = publisher.ofType('lead.score_changed').length;

    await service.onEvent({
      profileId: 'p-1',
      event: tracked({ event: 'Scrolled', key: 's-2', at: minutesAgo(1) }),
    });

    expect(quiet).toBe(0);
    expect(publisher.ofType('lead.score_changed').map((event) => event.detail)).toMatchObject([
      { previous: { combined: 0 }, scores: { combined: 1 } },
    ]);
  });

  it('ignores events no rule gives points for without writing anything', async () => {
    const outcome = await service.onEvent({
      profileId: 'p-1',
      event: pageView({ url: 'https://example.com/blog', key: 'view-1', at: minutesAgo(1) }),
    });

    expect(outcome.changed).toBe(false);
    expect(store.commits).toBe(0);
  });

  it('makes a subscriber who submits a form a lead', async () => {
    const outcome = await service.onEvent({
      profileId: 'p-1',
      event: tracked({ event: 'Form Submitted', key: 'form-1', at: minutesAgo(1) }),
    });

    expect(outcome.stage).toBe('lead');
  });
});

describe('qualification', () => {
  it('makes a profile an MQL and hands it to sales once when the combined score crosses 100', async () => {
    await service.onEvent({ profileId: 'p-1', event: demoRequest('demo-1') });
    await service.onEvent({ profileId: 'p-1', event: demoRequest('demo-2') });
    await service.onEvent({ profileId: 'p-1', event: demoRequest('demo-2') });
    await service.onEvent({ profileId: 'p-1', event: pricingVisit('view-1') });

    const lead = await store.getLead('p-1');
    expect(lead.lifecycle.stage).toBe('mql');
    expect(lead.flat.stage).toBe('mql');
    const qualified = publisher.ofType('lead.qualified');
    expect(qualified).toHaveLength(1);
    expect(qualified[0]?.detail).toMatchObject({
      profileId: 'p-1',
      profile: { email: 'ada@example.com', company: 'Analytical Engines' },
      explanation: { scores: { combined: 100 }, behaviour: [{ ruleId: 'demo-request', awards: 2 }] },
    });
  });

  it('passes through lead on the way, one stage change per crossed threshold', async () => {
    await service.onEvent({ profileId: 'p-1', event: demoRequest('demo-1') });
    await service.onEvent({ profileId: 'p-1', event: demoRequest('demo-2') });

    expect(publisher.ofType('lead.stage_changed').map((event) => event.detail)).toMatchObject([
      { from: null, to: 'lead', trigger: 'threshold' },
      { from: 'lead', to: 'mql', trigger: 'threshold' },
    ]);
  });
});

describe('the session of a stage change', () => {
  it('credits a stage change to the session of the tracked event that caused it', async () => {
    const session = { channel: 'paid search', campaign: 'brand', landingPage: '/demo', device: 'desktop' };
    const request = demoRequest('demo-1');

    await service.onEvent({
      profileId: 'p-1',
      event: { ...request, detail: { ...request.detail, session } },
    });

    expect(publisher.ofType('lead.stage_changed').map((event) => event.detail)).toMatchObject([
      { to: 'lead', session },
    ]);
  });

  it("leaves the session out of a stage change nobody's visit caused", async () => {
    await service.setStage({ profileId: 'p-1', stage: 'mql', reason: 'met at a fair', by: 'sales' });

    expect(publisher.ofType('lead.stage_changed')[0]?.detail.session).toBeUndefined();
  });
});

describe('sales decisions', () => {
  it('moves an MQL that sales accepts to SAL', async () => {
    await reachStage('mql');

    const outcome = await service.salesDecision({ profileId: 'p-1', decision: 'accept', reason: 'good fit' });

    expect(outcome.stage).toBe('sal');
    expect(publisher.ofType('lead.stage_changed').map((event) => event.detail)).toMatchObject([
      { from: 'mql', to: 'sal', by: 'sales' },
    ]);
  });

  it('recycles a lead that sales rejects, keeping the reason', async () => {
    await reachStage('mql');

    await service.salesDecision({ profileId: 'p-1', decision: 'reject', reason: 'no budget this year' });

    const lead = await store.getLead('p-1');
    expect(lead.lifecycle.stage).toBe('recycled');
    expect(lead.lifecycle.history.at(-1)?.reason).toBe('sales rejected: no budget this year');
  });

  it('applies a decision with the same key once', async () => {
    await reachStage('sal');

    await service.salesDecision({ profileId: 'p-1', decision: 'reject', reason: 'gone quiet', key: 'crm-7' });
    await service.setStage({ profileId: 'p-1', stage: 'sal', reason: 'back on', by: 'admin' });
    await service.salesDecision({ profileId: 'p-1', decision: 'reject', reason: 'gone quiet', key: 'crm-7' });

    expect((await store.getLead('p-1')).lifecycle.stage).toBe('sal');
  });
});

describe('manual moves', () => {
  it('lets a person move a profile backward, recording who and why', async () => {
    await reachStage('sal');

    await service.setStage({ profileId: 'p-1', stage: 'lead', reason: 'wrong contact', by: 'admin-1' });

    const lead = await store.getLead('p-1');
    expect(lead.lifecycle.stage).toBe('lead');
    expect(lead.lifecycle.history.at(-1)).toMatchObject({
      from: 'sal',
      to: 'lead',
      by: 'admin-1',
      trigger: 'manual',
      reason: 'wrong contact',
    });
  });
});

describe('concurrent writers', () => {
  it('retries on a conflict and keeps both changes', async () => {
    store.interruptNextCommit(async () => {
      await service.onEvent({ profileId: 'p-1', event: demoRequest('demo-1') });
    });

    await service.onEvent({ profileId: 'p-1', event: pricingVisit('view-1') });

    const lead = await store.getLead('p-1');
    expect(lead.ledger.awards.map((award) => award.eventKey).sort()).toEqual(['demo-1', 'view-1']);
    expect(lead.flat.scores.combined).toBe(60);
  });

  it('gives up after the configured attempts when the profile keeps changing', async () => {
    const impatient = new LeadService({
      store,
      publisher,
      profiles: new FixedProfileSummaries(),
      now: () => now,
      maxAttempts: 2,
    });
    for (const key of ['a', 'b'])
      store.interruptNextCommit(() =>
        service.onEvent({ profileId: 'p-1', event: pricingVisit(`other-${key}`) }).then(() => undefined),
      );

    await expect(impatient.onEvent({ profileId: 'p-1', event: demoRequest('demo-1') })).rejects.toThrow(
      'changed',
    );
  });

  it('keeps points a journey added on top of the rules score', async () => {
    await store.journeyAddsScore({ profileId: 'p-1', name: 'combined', points: 5 });

    await service.onEvent({ profileId: 'p-1', event: pricingVisit('view-1') });
    await service.onEvent({ profileId: 'p-1', event: pricingVisit('view-2') });

    expect((await store.getLead('p-1')).flat.scores.combined).toBe(25);
    expect((await service.explain('p-1')).journeyAdjustments).toEqual({ combined: 5 });
  });

  it('adopts a stage a journey set into the history', async () => {
    await service.onEvent({ profileId: 'p-1', event: pricingVisit('view-1') });
    await store.journeySetsStage({ profileId: 'p-1', stage: 'customer', key: 'journey-step-9' });

    await service.onEvent({ profileId: 'p-1', event: pricingVisit('view-2') });

    expect((await store.getLead('p-1')).lifecycle.history.at(-1)).toMatchObject({
      to: 'customer',
      by: 'nurture.journeys',
      key: 'journey:journey-step-9',
    });
  });
});

describe('publishing', () => {
  it('publishes the events of a committed change when the same input is retried after the bus failed', async () => {
    publisher.failNext(1);
    await expect(service.onEvent({ profileId: 'p-1', event: demoRequest('demo-1') })).rejects.toThrow();

    await service.onEvent({ profileId: 'p-1', event: demoRequest('demo-1') });

    expect(publisher.ofType('lead.score_changed')).toHaveLength(1);
    expect((await store.getLead('p-1')).outbox).toEqual([]);
  });
});

describe('recompute', () => {
  it('rescores a profile under the latest rules', async () => {
    await service.onEvent({ profileId: 'p-1', event: pricingVisit('view-1') });
    await store.putRules({
      ...b2bRules,
      decay: undefined,
      behaviour: [{ id: 'pricing-page', page: { urlPattern: '/pricing*' }, points: 40 }],
    });

    const outcome = await service.recomputeProfile({
      profileId: 'p-1',
      events: [pricingVisit('view-1')],
      traits: {},
    });

    expect(outcome.scores.combined).toBe(40);
    expect((await store.getLead('p-1')).ledger.rulesVersion).toBe(2);
    expect(publisher.ofType('lead.stage_changed').map((event) => event.detail.to)).toEqual(['lead']);
  });
});

describe('closed-loop revenue', () => {
  const dealWon = ({ key, properties }: { key: string; properties: JsonObject }) =>
    tracked({ event: 'deal.won', key, at: minutesAgo(1), properties });

  it('makes the profile a customer and attributes the revenue to its first and last touch once', async () => {
    await reachStage('opportunity');

    const outcome = await service.onEvent({
      profileId: 'p-1',
      event: dealWon({ key: 'won-1', properties: { dealId: 'd-42', revenue: 12_000, currency: 'eur' } }),
    });

    expect(outcome.stage).toBe('customer');
    expect(outcome.attribution).toEqual({ attributed: true, dealId: 'd-42' });
    expect(publisher.published.every((event) => scoringEventSchema.safeParse(event).success)).toBe(true);
    expect(publisher.ofType('lead.revenue_attributed').map((event) => event.detail)).toEqual([
      {
        dedupeKey: 'deal:p-1:d-42',
        profileId: 'p-1',
        dealId: 'd-42',
        revenue: 12_000,
        currency: 'EUR',
        at: minutesAgo(1),
        firstTouch: { channel: 'organic', campaign: null },
        lastTouch: { channel: 'email', campaign: 'spring-launch' },
      },
    ]);
  });

  it('credits a deal to the session and the day of its own event, not to when it was processed', async () => {
    const won = dealWon({ key: 'won-9', properties: { dealId: 'd-9', revenue: 500, currency: 'EUR' } });
    const session = { channel: 'paid search', campaign: 'brand', landingPage: '/pricing', device: 'mobile' };
    const wonYesterday = {
      ...won,
      detail: { ...won.detail, eventTime: minutesAgo(24 * 60), session },
    };

    await service.onEvent({ profileId: 'p-1', event: wonYesterday });

    const [attributed] = publisher.ofType('lead.revenue_attributed').map((event) => event.detail);
    const [customer] = publisher.ofType('lead.stage_changed').map((event) => event.detail);
    expect(attributed).toMatchObject({ at: minutesAgo(24 * 60), lastTouch: session });
    expect(customer).toMatchObject({ to: 'customer', at: minutesAgo(24 * 60) });
  });

  it('attributes nothing more when the same deal is won again, even under another event', async () => {
    await service.onEvent({
      profileId: 'p-1',
      event: dealWon({ key: 'won-1', properties: { dealId: 'd-42', revenue: 12_000 } }),
    });

    const replay = await service.onEvent({
      profileId: 'p-1',
      event: dealWon({ key: 'won-1', properties: { dealId: 'd-42', revenue: 12_000 } }),
    });
    const repeat = await service.onEvent({
      profileId: 'p-1',
      event: dealWon({ key: 'won-2', properties: { dealId: 'd-42', revenue: 12_000 } }),
    });

    expect(replay.changed).toBe(false);
    expect(repeat.attribution).toEqual({ attributed: false, reason: 'deal d-42 was already attributed' });
    expect(publisher.ofType('lead.revenue_attributed')).toHaveLength(1);
  });

  it('attributes a customer’s second deal too, in US dollars when no currency is given', async () => {
    await service.onEvent({
      profileId: 'p-1',
      event: dealWon({ key: 'won-1', properties: { dealId: 'd-42', revenue: 12_000 } }),
    });

    await service.onEvent({
      profileId: 'p-1',
      event: dealWon({ key: 'won-2', properties: { dealId: 'd-43', revenue: 3_500 } }),
    });

    expect(publisher.ofType('lead.revenue_attributed').map((event) => event.detail)).toMatchObject([
      { dealId: 'd-42', revenue: 12_000, currency: 'USD' },
      { dealId: 'd-43', revenue: 3_500, currency: 'USD' },
    ]);
    expect(publisher.ofType('lead.stage_changed').map((event) => event.detail.to)).toEqual(['customer']);
  });

  it.each([
    ['without a deal id', { revenue: 12_000 }],
    ['without revenue', { dealId: 'd-42' }],
    ['with revenue as text', { dealId: 'd-42', revenue: '12000' }],
    ['with negative revenue', { dealId: 'd-42', revenue: -1 }],
  ])('attributes nothing for a deal won %s, and says why', async (_case, properties) => {
    const outcome = await service.onEvent({ profileId: 'p-1', event: dealWon({ key: 'won-1', properties }) });

    expect(outcome.attribution).toMatchObject({
      attributed: false,
      reason: expect.stringContaining('deal.won'),
    });
    expect(publisher.ofType('lead.revenue_attributed')).toEqual([]);
    expect((await store.getLead('p-1')).attributedDeals).toEqual([]);
  });

  it('remembers only the latest deals it attributed', async () => {
    for (let deal = 1; deal <= MAX_ATTRIBUTED_DEALS + 1; deal += 1)
      await service.onEvent({
        profileId: 'p-1',
        event: dealWon({ key: `won-${deal}`, properties: { dealId: `d-${deal}`, revenue: 1 } }),
      });

    const remembered = (await store.getLead('p-1')).attributedDeals;

    expect(remembered).toHaveLength(MAX_ATTRIBUTED_DEALS);
    expect(remembered[0]).toBe('d-2');
    expect(remembered.at(-1)).toBe(`d-${MAX_ATTRIBUTED_DEALS + 1}`);
  });
});
