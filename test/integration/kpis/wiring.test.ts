// KPIs end to end on DynamoDB Local: tracked events stored with their sessions, counted, rolled up and reported.
import { randomUUID } from 'node:crypto';
import { GetItemCommand } from '@aws-sdk/client-dynamodb';
import { beforeAll, describe, expect, it } from 'vitest';
import { DynamoDbCounterStore } from '../../../functions/kpis/dynamodb-counter-store.ts';
import { DynamoDbKpiDayStore } from '../../../functions/kpis/dynamodb-day-store.ts';
import { DEFAULT_REFERENCE_VALUES } from '../../../functions/kpis/query.ts';
import { recordKpiEvent, reportFor, rollUpDays } from '../../../functions/kpis/service.ts';
import { decodeData, domainEventsFor } from '../../../functions/tracking/domain-events.ts';
import { DynamoDbTrackingStore } from '../../../functions/tracking/dynamodb-store.ts';
import { IngestService } from '../../../functions/tracking/ingest-service.ts';
import type { EnrichedEvent, EventType, Touch } from '../../../functions/tracking/model.ts';
import { createProfileStoreTable, dynamodb, uniqueName } from '../clients.ts';

const tableName = uniqueName('kpiwiring');
const tracking = new DynamoDbTrackingStore({ client: dynamodb, tableName, eventRetentionDays: 396 });
const ingest = new IngestService(tracking);
const counters = new DynamoDbCounterStore({ client: dynamodb, tableName });
const days = new DynamoDbKpiDayStore(dynamodb, tableName);
const settings = { timeZone: 'UTC', currency: 'EUR' };

beforeAll(async () => {
  await createProfileStoreTable(tableName);
});

const DIRECT: Touch = {
  channel: 'direct',
  campaign: null,
  landingPage: '/',
  referrer: null,
  source: null,
  medium: null,
};
const GOOGLE: Touch = {
  channel: 'organic search',
  campaign: null,
  landingPage: '/blog/crm',
  referrer: 'https://www.google.com/',
  source: 'google.com',
  medium: null,
};
const NEWSLETTER: Touch = {
  channel: 'email',
  campaign: 'spring',
  landingPage: '/pricing',
  referrer: null,
  source: 'newsletter',
  medium: 'email',
};

function tracked(input: {
  anonymousId: string;
  at: string;
  type?: EventType;
  touch?: Touch;
  event?: string;
  properties?: Record<string, number | string>;
  isBot?: boolean;
}): EnrichedEvent {
  return {
    type: input.type ?? 'page',
    protocol: 'segment',
    messageId: randomUUID(),
    anonymousId: input.anonymousId,
    ...(input.event === undefined ? {} : { event: input.event }),
    traits: {},
    properties: input.properties ?? {},
    context: {},
    sourceId: 'src_web',
    enrichment: {
      eventTime: input.at,
      receivedAt: input.at,
      touch: input.touch ?? DIRECT,
      device: 'desktop',
      isBot: input.isBot ?? false,
      ip: null,
      browser: null,
      os: null,
    },
  };
}

/** The event.tracked detail the stream publisher builds from the stored event item. */
async function publishedDetail(event: EnrichedEvent) {
  const { Item } = await dynamodb.send(
    new GetItemCommand({
      TableName: tableName,
      Key: {
        pk: { S: `EVENTS#a:${event.anonymousId}` },
        sk: { S: `EVT#${event.sourceId}#${event.messageId}` },
      },
      ConsistentRead: true,
    }),
  );
  const [published] = domainEventsFor({
    eventName: 'INSERT',
    keys: { pk: `EVENTS#a:${event.anonymousId}`, sk: `EVT#${event.sourceId}#${event.messageId}` },
    newData: decodeData(Item?.d?.B),
  });
  if (published?.detailType !== 'event.tracked') throw new Error('no event.tracked for a stored event');
  return published.detail;
}

describe('sessions recorded on stored events', () => {
  it('marks exactly the first event of each session as a session start, and a replay keeps the marks', async () => {
    const anonymousId = randomUUID();
    const first = [
      tracked({ anonymousId, at: '2031-03-04T09:00:00.000Z', touch: GOOGLE }),
      tracked({ anonymousId, at: '2031-03-04T09:05:00.000Z' }),
    ];
    const second = [
      tracked({ anonymousId, at: '2031-03-04T09:50:00.000Z', touch: NEWSLETTER }),
      tracked({ anonymousId, at: '2031-03-04T09:52:00.000Z', type: 'track', event: 'Clicked' }),
    ];

    await ingest.ingest(first);
    await ingest.ingest(second);
    const replay = await ingest.ingest([...first, ...second]);
    const details = await Promise.all([...first, ...second].map(publishedDetail));

    expect(replay).toMatchObject({ accepted: 0, duplicates: 4 });
    expect(details.map((detail) => detail.sessionStart)).toEqual([true, false, true, false]);
    expect(details.map((detail) => detail.session?.channel)).toEqual([
      'organic search',
      'organic search',
      'email',
      'email',
    ]);
    expect(details[1]?.session).toEqual({
      channel: 'organic search',
      campaign: null,
      landingPage: '/blog/crm',
      device: 'desktop',
    });
    expect(details[3]?.firstTouch).toEqual({ channel: 'organic search', campaign: null });
  });
});

describe('KPIs from events to report', () => {
  it('reports the hand-counted figures of a small day of traffic, leads, orders and email', async () => {
    const day = '2031-05-06';
    const ann = randomUUID();
    const bob = randomUUID();
    const annVisit = [
      tracked({ anonymousId: ann, at: `${day}T09:00:00.000Z`, touch: GOOGLE }),
      tracked({ anonymousId: ann, at: `${day}T09:05:00.000Z` }),
      tracked({
        anonymousId: ann,
        at: `${day}T09:10:00.000Z`,
        type: 'track',
        event: 'Order Completed',
        properties: { revenue: 100, currency: 'EUR' },
      }),
    ];
    const bobVisits = [
      tracked({ anonymousId: bob, at: `${day}T10:00:00.000Z`, touch: NEWSLETTER }),
      tracked({ anonymousId: bob, at: `${day}T11:00:00.000Z` }),
      // Bots never reach the stored events, so never the KPIs.
      tracked({ anonymousId: bob, at: `${day}T11:01:00.000Z`, isBot: true }),
    ];
    await ingest.ingest(annVisit);
    await ingest.ingest(bobVisits);
    const annProfile = await ingest.resolve({ kind: 'anonymousId', value: ann });
    const bobProfile = await ingest.resolve({ kind: 'anonymousId', value: bob });
    const published = await Promise.all([...annVisit, ...bobVisits.slice(0, 2)].map(publishedDetail));
    const message = (detailType: string, at: string) => ({
      detailType,
      detail: {
        dedupeKey: `${detailType}:m-${bob}`,
        messageId: `m-${bob}`,
        profileId: bobProfile,
        templateId: 'welcome',
        journeyId: null,
        stepId: null,
        variant: null,
        topic: null,
        status: 'sent',
        reason: null,
        at,
        test: false,
      },
    });
    const events = [
      ...published.map((detail) => ({ detailType: 'event.tracked', detail })),
      {
        detailType: 'lead.stage_changed',
        detail: {
          dedupeKey: `${annProfile}:stage:1`,
          profileId: annProfile,
          from: null,
          to: 'lead',
          at: `${day}T09:06:00.000Z`,
          reason: 'form submitted',
          by: 'nurture.scoring',
          trigger: 'event',
          session: published[1]?.session,
        },
      },
      message('message.sent', `${day}T12:00:00.000Z`),
      message('message.delivered', `${day}T12:00:01.000Z`),
      message('message.opened', `${day}T12:30:00.000Z`),
      message('message.human_opened', `${day}T12:30:00.000Z`),
    ];

    for (const event of [...events, ...events]) await recordKpiEvent({ counters, settings, ...event });
    await days.putCosts([
      { scope: 'channel', name: 'organic search', period: day, amount: 50, currency: 'EUR' },
    ]);
    await rollUpDays({ counters, days, from: day, to: day, now: new Date(), timeZone: 'UTC' });
    const totals = await reportFor({ days, from: day, to: day, groupBy: 'none' });
    const byChannel = await reportFor({ days, from: day, to: day, groupBy: 'channel' });

    expect(totals.totals).toMatchObject({
      visitors: 2,
      sessions: 3,
      pageViews: 4,
      organicSearchSessions: 1,
      newLeads: 1,
      trafficToLeadRatio: 0.5,
      orders: 1,
      newCustomers: 1,
      revenue: { total: { EUR: 100 }, firstTouch: { 'organic search': { EUR: 100 } } },
      cost: { EUR: 50 },
    });
    expect(totals.email).toMatchObject({ sent: 1, delivered: 1, opened: 1, humanOpened: 1 });
    expect(totals.reference).toEqual(DEFAULT_REFERENCE_VALUES);
    expect(totals.lifetimeValue).toEqual({ EUR: 100 });
    expect(byChannel.rows.map((row) => [row.key, row.sessions, row.visitors, row.newLeads])).toEqual([
      ['direct', 1, 1, 0],
      ['email', 1, 1, 0],
      ['organic search', 1, 1, 1],
    ]);
    expect(byChannel.rows.find((row) => row.key === 'organic search')).toMatchObject({
      costPerLead: { EUR: 50 },
      marketingRoi: { EUR: 1 },
      revenue: { firstTouch: { EUR: 100 }, lastTouch: { EUR: 100 } },
    });
  });

  it('writes the same KPI day when the same counters are rolled up again', async () => {
    const day = '2031-07-08';
    const anonymousId = randomUUID();
    const page = tracked({ anonymousId, at: `${day}T08:00:00.000Z`, touch: GOOGLE });
    await ingest.ingest([page]);
    await recordKpiEvent({
      counters,
      settings,
      detailType: 'event.tracked',
      detail: await publishedDetail(page),
    });
    const roll = () =>
      rollUpDays({
        counters,
        days,
        from: day,
        to: day,
        now: new Date('2031-07-09T03:00:00Z'),
        timeZone: 'UTC',
      });

    await roll();
    const first = await days.getDays({ from: day, to: day });
    await roll();
    const second = await days.getDays({ from: day, to: day });

    expect(second).toEqual(first);
    expect(first).toMatchObject([{ final: true, day: { day, overall: { sessions: 1, visitors: 1 } } }]);
  });
});

describe('DynamoDbKpiDayStore', () => {
  it('reads the days of a range in one query, in order, and every day up to a date for lifetime figures', async () => {
    const store = new DynamoDbKpiDayStore(dynamodb, tableName);
    await rollUpDays({
      counters,
      days: store,
      from: '2032-01-01',
      to: '2032-01-05',
      now: new Date(),
      timeZone: 'UTC',
    });

    const range = await store.getDays({ from: '2032-01-02', to: '2032-01-04' });
    const upTo = await store.getDays({ from: null, to: '2032-01-03' });

    expect(range.map((entry) => entry.day.day)).toEqual(['2032-01-02', '2032-01-03', '2032-01-04']);
    expect(upTo.map((entry) => entry.day.day).filter((d) => d >= '2032-01-01')).toEqual([
      '2032-01-01',
      '2032-01-02',
      '2032-01-03',
    ]);
  });

  it('replaces a cost entered again for the same channel and period, and keeps the others', async () => {
    const store = new DynamoDbKpiDayStore(dynamodb, uniqueName('kpicosts'));
    await createProfileStoreTable(store.tableName);

    await store.putCosts([
      { scope: 'channel', name: 'paid search', period: '2031-02', amount: 300, currency: 'EUR' },
      { scope: 'campaign', name: 'spring', period: '2031-02-03', amount: 20, currency: 'EUR' },
    ]);
    await store.putCosts([
      { scope: 'channel', name: 'paid search', period: '2031-02', amount: 280, currency: 'EUR' },
    ]);

    expect(await store.getCosts()).toEqual([
      { scope: 'campaign', name: 'spring', period: '2031-02-03', amount: 20, currency: 'EUR' },
      { scope: 'channel', name: 'paid search', period: '2031-02', amount: 280, currency: 'EUR' },
    ]);
  });

  it('keeps the reference values a workspace sets, and has none before', async () => {
    const store = new DynamoDbKpiDayStore(dynamodb, uniqueName('kpiref'));
    await createProfileStoreTable(store.tableName);
    const before = await store.getReference();

    await store.putReference({
      trafficToLeadRatio: { low: 0.05, high: 0.08 },
      landingPageConversionRate: { typical: 0.12 },
    });

    expect(before).toBeUndefined();
    expect(await store.getReference()).toEqual({
      trafficToLeadRatio: { low: 0.05, high: 0.08 },
      landingPageConversionRate: { typical: 0.12 },
    });
  });
});
