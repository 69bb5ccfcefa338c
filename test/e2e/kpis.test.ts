// KPI correctness end to end: known traffic, email and a journey through the real APIs, a rollup, every KPI checked.
import { parse } from 'csv-parse/sync';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as z from 'zod';
import {
  expectedReport,
  type Facts,
  type GroupBy,
  KPI_SCENARIO,
  KpiTrafficPlayer,
  type ReferenceValues,
  scenarioDays,
  scenarioFacts,
  visitorCounters,
} from './support/kpi-traffic.ts';
import { type LocalStackProcess, startLocalStackProcess } from './support/local-stack-process.ts';

/** Our own reference values, so the report is seen to carry the configured ones, not the defaults. */
const REFERENCE: ReferenceValues = {
  trafficToLeadRatio: { low: 0.05, high: 0.12 },
  landingPageConversionRate: { typical: 0.15 },
};

let stack: LocalStackProcess;
let player: KpiTrafficPlayer;
let days: string[];
let facts: Facts;
let from: string;
let to: string;
let rollup: { status: number; body: unknown };
let costsPut: number;
let referencePut: number;

/** A variant's p-value is the product's statistics, not a count of the traffic: any probability will do. */
const P_VALUE: unknown = expect.toSatisfy(
  (value) => typeof value === 'number' && value >= 0 && value <= 1,
  'a p-value between 0 and 1',
);

/** The report the traffic must give, with the journey's variants as the split assigned them. */
function expected(range: { from: string; to: string }, groupBy: GroupBy) {
  return expectedReport({
    facts,
    ...range,
    groupBy,
    reference: REFERENCE,
    variants: player.log.variants,
    pValue: P_VALUE,
  });
}

beforeAll(async () => {
  stack = await startLocalStackProcess({ args: ['--fresh'] });
  days = scenarioDays();
  from = days[0] ?? '';
  to = days[days.length - 1] ?? '';
  facts = scenarioFacts(KPI_SCENARIO, days);
  player = new KpiTrafficPlayer(stack.local, days);
  await player.play(KPI_SCENARIO);
  costsPut = (await player.putCosts(facts)).status;
  referencePut = (
    await player.admin('/admin/kpis/reference', { method: 'PUT', body: JSON.stringify(REFERENCE) })
  ).status;
  const rolled = await player.admin('/admin/kpis/rollup', {
    method: 'POST',
    body: JSON.stringify({ from, to }),
  });
  rollup = { status: rolled.status, body: await rolled.json().catch(() => null) };
}, 200_000);

afterAll(async () => {
  await stack?.dispose();
});

async function report(query: Record<string, string>): Promise<unknown> {
  const response = await player.admin(
    `/admin/kpis?${new URLSearchParams({ from, to, ...query }).toString()}`,
  );
  const text = await response.text();
  if (response.status !== 200) throw new Error(`GET /admin/kpis answered ${response.status}: ${text}`);
  return JSON.parse(text);
}

describe('KPIs of known traffic', () => {
  it('stores each call once: duplicates are answered as such, Googlebot is accepted and dropped', () => {
    expect(player.log.failures).toEqual([]);
    // The landing page, the form and the order each sent twice with one messageId.
    expect(player.log.duplicates).toBe(3);
  });

  it('counted on each profile the sessions and page views the visitors had', async () => {
    const expected = Object.fromEntries(visitorCounters(facts));

    const actual: Record<string, unknown> = {};
    for (const [visitor, profileId] of player.log.profiles) {
      const response = await player.admin(`/admin/profiles/${encodeURIComponent(profileId)}`);
      const { counters } = z
        .object({ counters: z.object({ sessions: z.number(), pageViews: z.number() }) })
        .parse(await response.json());
      actual[visitor] = { sessions: counters.sessions, pageViews: counters.pageViews };
    }

    expect(actual).toEqual(expected);
  });

  it('counts each email once per outcome, with rates per delivered message', async () => {
    const { email } = z.looseObject({ email: z.unknown() }).parse(await report({ groupBy: 'none' }));

    // Five sent: one bounced, four delivered, one of them complained of; Alice opened and clicked, a crawler fetched
    // Carol's pixel (an open, not a human one) and Carol unsubscribed. The emulator has no soft bounce.
    expect(email).toMatchObject({
      sent: 5,
      delivered: 4,
      hardBounced: 1,
      softBounced: 0,
      bounced: 1,
      complained: 1,
      opened: 2,
      humanOpened: 1,
      clicked: 1,
      unsubscribed: 1,
    });
    expect(email).toEqual(expected({ from, to }, 'none').email);
  });

  it('reports who entered the journey and who reached its goal, overall and per variant of the split', async () => {
    const { journeys } = z.looseObject({ journeys: z.unknown() }).parse(await report({ groupBy: 'none' }));

    // Four visitors started a trial; Alice and Carol then upgraded. The split is random: the variants are read back.
    expect([...player.log.variants.keys()].sort()).toEqual(['alice', 'carol', 'frank', 'gina']);
    expect(journeys).toMatchObject({ 'kpi-trial': { entered: 4, goal: 2, conversionRate: 0.5 } });
    expect(journeys).toEqual(expected({ from, to }, 'none').journeys);
  });

  it('recomputes every day of the range on demand', () => {
    expect(rollup).toEqual({ status: 200, body: { days: 3, from, to } });
  });

  it('keeps the costs entered for channels and campaigns, per day and per month', async () => {
    const listed = await player.admin('/admin/kpis/costs');

    expect(costsPut).toBe(200);
    expect(listed.status).toBe(200);
    const entries = z
      .object({ entries: z.array(z.looseObject({ amount: z.number() })) })
      .parse(await listed.json());
    expect(entries.entries.map((entry) => entry.amount).sort()).toEqual(
      facts.costs.map((cost) => cost.amount).sort(),
    );
  });

  it('shows the configured reference values beside the figures', async () => {
    const { reference } = z.looseObject({ reference: z.unknown() }).parse(await report({ groupBy: 'none' }));

    expect(referencePut).toBe(200);
    expect(reference).toEqual(REFERENCE);
  });

  it.each<GroupBy>(['none', 'day', 'channel', 'campaign', 'landingPage'])(
    'reports every KPI of the range grouped by %s exactly as the traffic that was sent',
    async (groupBy) => {
      const actual = await report({ groupBy });

      expect(actual).toEqual(expected({ from, to }, groupBy));
    },
  );

  it('reports one day on its own with the figures of that day alone', async () => {
    const day = days[1] ?? '';

    const actual = await player.admin(`/admin/kpis?from=${day}&to=${day}&groupBy=channel`);

    expect(await actual.json()).toEqual(expected({ from: day, to: day }, 'channel'));
  });

  it('exports the channel view as CSV with the figures of the JSON report', async () => {
    const response = await player.admin(`/admin/kpis?from=${from}&to=${to}&groupBy=channel&format=csv`);
    const figures = expected({ from, to }, 'channel');

    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/csv/);
    const rows = z
      .array(z.record(z.string(), z.string()))
      .parse(parse(await response.text(), { columns: true }));
    expect(
      rows.map((row) => [row.key, Number(row.visitors), Number(row.sessions), Number(row.newLeads)]),
    ).toEqual([
      ['total', figures.totals.visitors, figures.totals.sessions, figures.totals.newLeads],
      ...figures.rows.map((row) => [row.key, row.visitors, row.sessions, row.newLeads]),
    ]);
  });

  it('gives the same report after rolling the same days up again', async () => {
    const before = await report({ groupBy: 'day' });

    const again = await player.admin('/admin/kpis/rollup', {
      method: 'POST',
      body: JSON.stringify({ from, to }),
    });

    expect(again.status).toBe(200);
    expect(await report({ groupBy: 'day' })).toEqual(before);
  });
});
