// Every KPI of a small synthetic day, played through inputs, counters and rollup, against hand-computed values.
import { beforeAll, describe, expect, it } from 'vitest';
import { type KpiReport, kpiCsv, kpiReport, lifetimeTotals } from '../../../functions/kpis/query.ts';
import { rollupDay } from '../../../functions/kpis/rollup.ts';
import { journey, message, play, revenueAttributed, stageChanged, tracked } from './fixtures.ts';

const DAY = '2026-05-04';
const at = (time: string) => `${DAY}T${time}:00.000Z`;

const p1Session = { channel: 'organic search', campaign: null, landingPage: '/pricing', device: 'desktop' };
const p2Session = { channel: 'paid social', campaign: 'spring', landingPage: '/promo', device: 'mobile' };
const p1Start = tracked({
  key: 'p1-1',
  profileId: 'p1',
  at: at('09:00'),
  sessionStart: true,
  channel: 'organic search',
  landingPage: '/pricing',
});

/**
 * p1: organic search on desktop, two page views, becomes a lead, orders for 100 EUR (properties.revenue).
 * p2: a paid-social session and an organic-social one on mobile, becomes lead, MQL, SQL; a deal of 1000 USD won.
 * p3: direct on a tablet, one page view, orders for 50 (properties.total, no currency: the workspace's EUR).
 * Mixed in: p1's first event delivered twice, a test email, a journey exit that is not a goal, an identify.
 */
const events = [
  p1Start,
  p1Start,
  tracked({ key: 'p1-2', profileId: 'p1', at: at('09:05'), session: p1Session }),
  stageChanged({ key: '1', profileId: 'p1', at: at('09:06'), from: null, to: 'lead', session: p1Session }),
  tracked({
    key: 'p1-3',
    profileId: 'p1',
    at: at('09:10'),
    type: 'track',
    event: 'Order Completed',
    properties: { revenue: 100, total: 120, currency: 'eur' },
    session: p1Session,
    firstTouch: { channel: 'organic search', campaign: null },
  }),
  tracked({
    key: 'p2-1',
    profileId: 'p2',
    at: at('10:00'),
    sessionStart: true,
    channel: 'paid social',
    campaign: 'spring',
    landingPage: '/promo',
    device: 'mobile',
  }),
  stageChanged({
    key: '1',
    profileId: 'p2',
    at: at('10:01'),
    from: 'subscriber',
    to: 'lead',
    session: p2Session,
  }),
  stageChanged({ key: '2', profileId: 'p2', at: at('10:02'), from: 'lead', to: 'mql', session: p2Session }),
  tracked({
    key: 'p2-2',
    profileId: 'p2',
    at: at('15:00'),
    sessionStart: true,
    channel: 'organic social',
    landingPage: '/blog',
    device: 'mobile',
  }),
  stageChanged({ key: '3', profileId: 'p2', at: at('15:01'), from: 'mql', to: 'sql', session: null }),
  revenueAttributed({
    profileId: 'p2',
    dealId: 'd1',
    at: at('16:00'),
    revenue: 1000,
    currency: 'USD',
    firstTouch: { channel: 'paid social', campaign: 'spring' },
    lastTouch: { channel: 'organic social', campaign: null },
  }),
  tracked({
    key: 'p3-1',
    profileId: 'p3',
    at: at('11:00'),
    sessionStart: true,
    channel: 'direct',
    landingPage: '/',
    device: 'tablet',
  }),
  tracked({
    key: 'p3-2',
    profileId: 'p3',
    at: at('11:03'),
    type: 'track',
    event: 'Order Completed',
    properties: { total: '50' },
    session: { channel: 'direct', campaign: null, landingPage: '/', device: 'tablet' },
    firstTouch: { channel: 'direct', campaign: null },
  }),
  tracked({ key: 'p3-3', profileId: 'p3', at: at('11:04'), type: 'identify' }),
  ...['m1', 'm2', 'm3'].map((id) =>
    message({ detailType: 'message.sent', messageId: id, profileId: 'p1', at: at('08:00') }),
  ),
  message({ detailType: 'message.sent', messageId: 'm-test', profileId: 'p1', at: at('08:00'), test: true }),
  message({ detailType: 'message.delivered', messageId: 'm1', profileId: 'p1', at: at('08:01') }),
  message({ detailType: 'message.delivered', messageId: 'm2', profileId: 'p2', at: at('08:01') }),
  message({ detailType: 'message.bounced', messageId: 'm3', profileId: 'p3', at: at('08:01') }),
  message({ detailType: 'message.opened', messageId: 'm1', profileId: 'p1', at: at('08:30') }),
  message({ detailType: 'message.clicked', messageId: 'm1', profileId: 'p1', at: at('08:31') }),
  message({ detailType: 'message.complained', messageId: 'm2', profileId: 'p2', at: at('08:40') }),
  message({ detailType: 'contact.unsubscribed', messageId: 'm2', profileId: 'p2', at: at('08:41') }),
  journey({ outcome: 'entered', journeyId: 'welcome', profileId: 'p1', variant: 'A', at: at('08:00') }),
  journey({ outcome: 'entered', journeyId: 'welcome', profileId: 'p2', variant: 'A', at: at('08:00') }),
  journey({ outcome: 'entered', journeyId: 'welcome', profileId: 'p3', variant: 'B', at: at('08:00') }),
  journey({ outcome: 'goal', journeyId: 'welcome', profileId: 'p1', variant: 'A', at: at('09:10') }),
  journey({ outcome: 'completed', journeyId: 'welcome', profileId: 'p3', variant: 'B', at: at('12:00') }),
];

const costs = [
  { scope: 'channel' as const, name: 'paid social', period: '2026-05', amount: 310, currency: 'EUR' },
  { scope: 'campaign' as const, name: 'spring', period: DAY, amount: 5, currency: 'EUR' },
];

describe('the KPI report of a synthetic day', () => {
  let report: KpiReport;
  let byChannel: KpiReport;
  let byLandingPage: KpiReport;

  beforeAll(async () => {
    const store = await play(events);
    const day = rollupDay(await store.readDay(DAY));
    const request = { days: [day], from: DAY, to: DAY, costs, lifetime: lifetimeTotals([day]) };
    report = kpiReport({ ...request, groupBy: 'none' });
    byChannel = kpiReport({ ...request, groupBy: 'channel' });
    byLandingPage = kpiReport({ ...request, groupBy: 'landingPage' });
  });

  it('counts visitors once per profile and sessions and page views once per event, despite the replay', () => {
    expect(report.totals).toMatchObject({ visitors: 3, sessions: 4, pageViews: 5 });
  });

  it('reports organic search, social reach and the share of traffic of each channel', () => {
    expect(report.totals.organicSearchSessions).toBe(1);
    expect(report.totals.socialReach).toEqual({ visitors: 1, sessions: 2, shareOfTraffic: 0.5 });
    const shares = Object.fromEntries(byChannel.rows.map((row) => [row.key, row.shareOfTraffic]));
    expect(shares).toEqual({
      direct: 0.25,
      'organic search': 0.25,
      'organic social': 0.25,
      'paid social': 0.25,
      '(unknown)': 0,
    });
  });

  it('reports the mobile share of sessions, new leads and new customers', () => {
    expect(report.totals.mobileShare).toEqual({ sessions: 0.75, newLeads: 0.5, newCustomers: 1 / 3 });
  });

  it('counts new leads and the traffic-to-lead ratio overall and per channel', () => {
    expect(report.totals.newLeads).toBe(2);
    expect(report.totals.trafficToLeadRatio).toBe(2 / 3);
    const organic = byChannel.rows.find((row) => row.key === 'organic search');
    expect(organic).toMatchObject({ visitors: 1, newLeads: 1, trafficToLeadRatio: 1 });
  });

  it('computes the landing-page conversion rate per landing page', () => {
    const rates = Object.fromEntries(
      byLandingPage.rows.map((row) => [row.key, row.landingPageConversionRate]),
    );
    expect(rates).toEqual({ '/': 0, '/blog': 0, '/pricing': 1, '/promo': 1, '(unknown)': null });
  });

  it('counts stage entries and the period ratios between stages', () => {
    expect(report.totals).toMatchObject({ mql: 1, sql: 1, sal: 0, mqlToSql: 1, sqlToSal: 0 });
  });

  it('reports revenue per currency, by first and by last touch, from orders and won deals', () => {
    expect(report.totals.revenue).toEqual({
      total: { EUR: 150, USD: 1000 },
      firstTouch: { 'organic search': { EUR: 100 }, direct: { EUR: 50 }, 'paid social': { USD: 1000 } },
      lastTouch: { 'organic search': { EUR: 100 }, direct: { EUR: 50 }, 'organic social': { USD: 1000 } },
    });
    expect(report.totals.orders).toBe(3);
  });

  it('counts orders, revenue and new customers per channel and per landing page of the session they happened in', () => {
    const row = (rows: typeof byChannel.rows, key: string) => rows.find((r) => r.key === key);

    expect(row(byChannel.rows, 'organic search')).toMatchObject({ orders: 1, newCustomers: 1 });
    expect(row(byChannel.rows, 'direct')).toMatchObject({ orders: 1, newCustomers: 1 });
    expect(row(byLandingPage.rows, '/pricing')).toMatchObject({
      orders: 1,
      newCustomers: 1,
      revenue: { lastTouch: { EUR: 100 } },
    });
    expect(row(byLandingPage.rows, '/')).toMatchObject({ orders: 1, revenue: { lastTouch: { EUR: 50 } } });
  });

  it('counts new customers and their value per currency, for the range and for their lifetime', () => {
    expect(report.totals.newCustomers).toBe(3);
    expect(report.totals.customerValue).toEqual({ EUR: 75, USD: 1000 });
    expect(report.lifetimeValue).toEqual({ EUR: 75, USD: 1000 });
  });

  it('derives cost per lead and marketing ROI from the costs of the range', () => {
    expect(report.totals).toMatchObject({
      cost: { EUR: 15 },
      costPerLead: { EUR: 7.5 },
      marketingRoi: { EUR: 9 },
    });
    const paidSocial = byChannel.rows.find((row) => row.key === 'paid social');
    expect(paidSocial).toMatchObject({
      cost: { EUR: 10 },
      costPerLead: { EUR: 10 },
      marketingRoi: { EUR: -1 },
    });
  });

  it('reports email outcomes and their rates per delivered message, without test sends', () => {
    expect(report.email).toMatchObject({
      sent: 3,
      delivered: 2,
      bounced: 1,
      hardBounced: 1,
      softBounced: 0,
      complained: 1,
      unsubscribed: 1,
      opened: 1,
      humanOpened: 0,
      clicked: 1,
    });
    expect(report.email.rates).toMatchObject({ opened: 0.5, clicked: 0.5, bounced: 0.5, complaints: 0.5 });
  });

  it('reports journey conversion per variant with the p-value of the two-proportion test', () => {
    const welcome = report.journeys.welcome;
    expect(welcome).toMatchObject({ entered: 3, goal: 1, conversionRate: 1 / 3 });
    expect(welcome?.variants.A).toMatchObject({ entered: 2, goal: 1, conversionRate: 0.5 });
    expect(welcome?.variants.A?.pValue).toBeCloseTo(0.3864762307712328, 6);
    expect(welcome?.variants.B?.pValue).toBeCloseTo(0.3864762307712328, 6);
  });

  it('shows the configurable reference values beside the figures', () => {
    expect(report.reference).toEqual({
      trafficToLeadRatio: { low: 0.07, high: 0.09 },
      landingPageConversionRate: { typical: 0.1 },
    });
  });

  it('exports the report as CSV with one line for the totals and one per row', () => {
    const [header, total, ...rows] = kpiCsv(byChannel).trimEnd().split('\r\n');
    const columns = header?.split(',') ?? [];
    const cell = (line: string | undefined, column: string) => line?.split(',')[columns.indexOf(column)];
    expect(rows).toHaveLength(5);
    expect(cell(total, 'key')).toBe('total');
    expect(cell(total, 'revenue.total.USD')).toBe('1000');
    expect(cell(rows[0], 'key')).toBe('(unknown)');
    expect(cell(rows[0], 'trafficToLeadRatio')).toBe('');
  });
});
