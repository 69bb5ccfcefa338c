// The KPI dashboard in headless Chromium against `npm start`: token form, date range, headline figures, drawn charts.
import { DateTime } from 'luxon';
import type { Browser, BrowserContext, Page, Request, Route } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as z from 'zod';
import { PALETTE } from '../../functions/dashboard/palette.ts';
import { dayReportSchema } from '../../functions/dashboard/report-schema.ts';
import { DEFAULT_REFERENCE_VALUES } from '../../functions/kpis/query.ts';
import type { KpiDay } from '../../functions/kpis/rollup.ts';
import { launchChromium } from './support/chromium.ts';
import {
  daysFrom,
  expectedReport,
  firstDays,
  KPI_SCENARIO,
  KpiTrafficPlayer,
  scenarioDays,
  scenarioFacts,
} from './support/kpi-traffic.ts';
import { admin, type LocalStackProcess, startLocalStackProcess } from './support/local-stack-process.ts';
import { decodePng, nonBackgroundPixels, rowsWithColours } from './support/png.ts';
import { SYNTHETIC_DAYS, syntheticKpiAnswer, syntheticKpiDays } from './support/synthetic-kpis.ts';

/**
 * The page reads the stack's own KPI API: the first two days of the KPI e2e traffic (test/e2e/kpis.test.ts) are played
 * through the tracking and admin APIs and rolled up before the page opens. Set to true to answer the browser's calls
 * with the report of a synthetic set of days instead (functions/kpis/rollup.ts + query.ts, so the shape is the real
 * one). The played traffic sends no email and runs no journey, so the email chart and the journey variants are checked
 * against that synthetic report in their own describe block.
 */
const INTERCEPT_KPI_API = false;

/** The days of the played traffic. */
const PLAYED = firstDays(KPI_SCENARIO, 2);
const PLAYED_DAYS = scenarioDays().slice(0, 2);
const SYNTHETIC_RANGE = {
  from: SYNTHETIC_DAYS[0],
  to: SYNTHETIC_DAYS[SYNTHETIC_DAYS.length - 1] ?? SYNTHETIC_DAYS[0],
};
/** A range in which neither data set has anything: charts drawn without data, to compare against. */
const EMPTY_RANGE = { from: '2026-01-01', to: '2026-01-03' };
/** The played days and the quiet day before them, so the charts over time climb from nothing. */
const DATA_RANGE = INTERCEPT_KPI_API
  ? SYNTHETIC_RANGE
  : {
      from:
        DateTime.fromISO(PLAYED_DAYS[0] ?? '', { zone: 'utc' })
          .minus({ days: 1 })
          .toISODate() ?? '',
      to: PLAYED_DAYS[PLAYED_DAYS.length - 1] ?? '',
    };

/** Each chart and the colours of its series (functions/dashboard/client.ts; one currency, EUR). */
const CHARTS: ReadonlyArray<{ id: string; colours: readonly string[] }> = [
  { id: 'chart-traffic', colours: [PALETTE[0], PALETTE[1], PALETTE[2]] },
  { id: 'chart-revenue', colours: [PALETTE[3]] },
  { id: 'chart-channel', colours: [PALETTE[0], PALETTE[1], PALETTE[2]] },
  { id: 'chart-channel-revenue', colours: [PALETTE[3], PALETTE[4]] },
  { id: 'chart-funnel', colours: [PALETTE[0]] },
  { id: 'chart-email', colours: [PALETTE[6]] },
];
/** The charts the played traffic draws (it sends no email). */
const DATA_CHARTS = INTERCEPT_KPI_API ? CHARTS : CHARTS.filter((chart) => chart.id !== 'chart-email');

let stack: LocalStackProcess;
let browser: Browser;
let days: KpiDay[];

/** Plays the traffic, enters its costs and rolls its days up, as a marketer's site and `npm start` would. */
async function playTraffic(): Promise<void> {
  const player = new KpiTrafficPlayer(stack.local, scenarioDays());
  await player.play(PLAYED);
  const costs = await player.putCosts(scenarioFacts(PLAYED, PLAYED_DAYS));
  const rollup = await player.admin('/admin/kpis/rollup', {
    method: 'POST',
    body: JSON.stringify(DATA_RANGE),
  });
  if (player.log.failures.length > 0 || costs.status !== 200 || rollup.status !== 200)
    throw new Error(
      `playing the KPI traffic failed: ${[...player.log.failures, `costs ${costs.status}`, `rollup ${rollup.status}: ${await rollup.text()}`].join('; ')}`,
    );
}

beforeAll(async () => {
  [stack, browser, days] = await Promise.all([
    startLocalStackProcess({ args: ['--fresh'] }),
    launchChromium(),
    syntheticKpiDays(),
  ]);
  if (!INTERCEPT_KPI_API) await playTraffic();
});

afterAll(async () => {
  await browser?.close();
  await stack?.dispose();
});

interface Session {
  readonly context: BrowserContext;
  readonly page: Page;
  /** Every request the page made, and every KPI API call with the Authorization header it carried. */
  readonly requests: string[];
  readonly kpiCalls: Array<{ url: URL; authorization: string | undefined }>;
  readonly problems: string[];
}

async function answerKpis(route: Route, request: Request): Promise<void> {
  const authorization = await request.headerValue('authorization');
  if (authorization !== `Bearer ${stack.local.adminToken}`) {
    // API Gateway's answers: 401 without a token, 403 for a token the authorizer refuses.
    await route.fulfill({
      status: authorization === null ? 401 : 403,
      contentType: 'application/json',
      body: '{"message":"Forbidden"}',
    });
    return;
  }
  const answer = syntheticKpiAnswer(days, new URL(request.url()).searchParams);
  await route.fulfill({ status: answer.status, contentType: answer.contentType, body: answer.body });
}

async function openDashboard({ intercept = INTERCEPT_KPI_API } = {}): Promise<Session> {
  const context = await browser.newContext({
    locale: 'en-US',
    timezoneId: 'UTC',
    viewport: { width: 1280, height: 900 },
    acceptDownloads: true,
  });
  const page = await context.newPage();
  const requests: string[] = [];
  const kpiCalls: Session['kpiCalls'] = [];
  const problems: string[] = [];
  page.on('request', (request) => {
    requests.push(request.url());
    const url = new URL(request.url());
    if (url.pathname.endsWith('/admin/kpis'))
      kpiCalls.push({ url, authorization: request.headers().authorization });
  });
  page.on('console', (message) => {
    if (message.type() === 'error') problems.push(message.text());
  });
  page.on('pageerror', (error) => problems.push(error.message));
  if (intercept) await page.route('**/admin/kpis*', answerKpis);
  await page.goto(`${stack.local.apiUrl}/dashboard`);
  return { context, page, requests, kpiCalls, problems };
}

async function enterToken(page: Page, token: string): Promise<void> {
  await page.getByLabel('Admin token', { exact: true }).fill(token);
  await page.getByRole('button', { name: 'Show KPIs' }).click();
}

async function showRange(page: Page, range: { from: string; to: string }): Promise<void> {
  await page.getByLabel('From', { exact: true }).fill(range.from);
  await page.getByLabel('To', { exact: true }).fill(range.to);
  await page.getByRole('button', { name: 'Apply' }).click();
  await page.waitForSelector(`body[data-state="ready"]`);
  await expect.poll(() => page.textContent('#status')).toBe(`Showing ${range.from} to ${range.to}.`);
}

async function figure(page: Page, kpi: string): Promise<string> {
  return (await page.textContent(`[data-kpi="${kpi}"] dd.value`)) ?? '';
}

async function chartPixels(page: Page, id: string) {
  return decodePng(await page.locator(`#${id}`).screenshot());
}

/** The report the page must show: computed from the synthetic days, or read from the real API. */
async function expectedReportBody(range: { from: string; to: string }, groupBy: string): Promise<unknown> {
  const query = new URLSearchParams({ ...range, groupBy });
  const body = INTERCEPT_KPI_API
    ? syntheticKpiAnswer(days, query).body
    : await (await admin(stack, `/admin/kpis?${query.toString()}`)).text();
  return JSON.parse(body);
}

async function expectedDayReport(range: { from: string; to: string }) {
  return dayReportSchema.parse(await expectedReportBody(range, 'day'));
}

/** What the figures are: the synthetic report, or the played traffic's true values (support/kpi-traffic.ts). */
function trueDayReport(range: { from: string; to: string }) {
  if (INTERCEPT_KPI_API)
    return dayReportSchema.parse(
      JSON.parse(syntheticKpiAnswer(days, new URLSearchParams({ ...range, groupBy: 'day' })).body),
    );
  const facts = scenarioFacts(PLAYED, PLAYED_DAYS);
  return dayReportSchema.parse(
    expectedReport({ facts, ...range, groupBy: 'day', reference: DEFAULT_REFERENCE_VALUES }),
  );
}

/** The row keys (channels, landing pages) of a grouped report. */
async function expectedKeys(range: { from: string; to: string }, groupBy: string): Promise<string[]> {
  const { rows } = z
    .object({ rows: z.array(z.object({ key: z.string() }).loose()) })
    .loose()
    .parse(await expectedReportBody(range, groupBy));
  return rows.map((row) => row.key);
}

describe('the KPI dashboard in Chromium', () => {
  it('serves a shell with a strict Content-Security-Policy and no data in it', async () => {
    const response = await fetch(`${stack.local.apiUrl}/dashboard`, {
      headers: { 'accept-encoding': 'gzip' },
    });
    const html = await response.text();

    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(response.headers.get('content-security-policy')).toMatch(
      /^default-src 'none'; script-src 'sha256-[A-Za-z0-9+/=]+'; style-src 'sha256-/,
    );
    expect(html).toContain('<dl id="headline" class="figures"></dl>');
    expect(html).not.toContain(stack.local.adminToken);
  });

  it('answers a revalidation with 304 while the page is unchanged', async () => {
    const first = await fetch(`${stack.local.apiUrl}/dashboard`);
    const etag = first.headers.get('etag') ?? '';

    const again = await fetch(`${stack.local.apiUrl}/dashboard`, { headers: { 'if-none-match': etag } });

    expect(etag).not.toBe('');
    expect(again.status).toBe(304);
  });

  it('brings the token form back, with a message, when the admin API refuses the token', async () => {
    const { context, page } = await openDashboard();
    try {
      await page.waitForSelector('body[data-state="token"]');

      await enterToken(page, 'not-the-admin-token');

      await page.waitForSelector('body[data-state="token"]');
      expect(await page.isVisible('#token-form')).toBe(true);
      expect(await page.isVisible('#dashboard')).toBe(false);
      expect(await page.textContent('#token-message')).toMatch(/did not accept this token \(HTTP 40[13]\)/);
      expect(await page.evaluate('sessionStorage.length')).toBe(0);
    } finally {
      await context.close();
    }
  });

  it('asks for the token again when the KPI API answers 401 to a token it accepted before', async () => {
    const { context, page } = await openDashboard();
    try {
      await enterToken(page, stack.local.adminToken);
      await page.waitForSelector('body[data-state="ready"]');
      // Rotated meanwhile: from now on the API answers 401 (added last, this route wins over the stand-in).
      await page.route('**/admin/kpis*', (route) =>
        route.fulfill({ status: 401, contentType: 'application/json', body: '{"message":"Unauthorized"}' }),
      );

      await page.getByRole('button', { name: 'Last 90 days' }).click();

      await page.waitForSelector('body[data-state="token"]');
      expect(await page.isVisible('#token-form')).toBe(true);
      expect(await page.textContent('#token-message')).toContain('did not accept this token (HTTP 401)');
      expect(await page.evaluate('sessionStorage.length')).toBe(0);
    } finally {
      await context.close();
    }
  });

  describe('with the admin token', () => {
    let session: Session;

    beforeAll(async () => {
      session = await openDashboard();
      await enterToken(session.page, stack.local.adminToken);
      await session.page.waitForSelector('body[data-state="ready"], body[data-state="error"]');
    });

    afterAll(async () => {
      await session?.context.close();
    });

    it('shows the headline figures of the chosen range, with the reference values beside them', async () => {
      const { page } = session;
      const expected = await expectedDayReport(DATA_RANGE);

      await showRange(page, DATA_RANGE);

      expect(expected.totals.visitors).toBeGreaterThan(0);
      expect(expected.totals).toEqual(trueDayReport(DATA_RANGE).totals);
      expect(await figure(page, 'visitors')).toBe(expected.totals.visitors.toLocaleString('en-US'));
      expect(await figure(page, 'sessions')).toBe(expected.totals.sessions.toLocaleString('en-US'));
      expect(await figure(page, 'newLeads')).toBe(expected.totals.newLeads.toLocaleString('en-US'));
      const rate = expected.totals.trafficToLeadRatio ?? 0;
      expect(await figure(page, 'trafficToLeadRatio')).toBe(
        rate.toLocaleString('en-US', { style: 'percent', maximumFractionDigits: 1 }),
      );
      expect(await figure(page, 'revenue')).toBe(
        Object.entries(expected.totals.revenue.total)
          .map(([currency, amount]) => amount.toLocaleString('en-US', { style: 'currency', currency }))
          .join(' · '),
      );
      expect(await page.textContent('[data-kpi="trafficToLeadRatio"] dd.reference')).toBe('Reference: 7%–9%');
      expect(await page.textContent('[data-kpi="landingPageConversionRate"] dd.reference')).toBe(
        'Reference: about 10%',
      );
    });

    it('lists every channel, landing page, email outcome and day of the range in its tables', async () => {
      const { page } = session;
      const expectedChannels = await expectedKeys(DATA_RANGE, 'channel');
      const expectedLandingPages = await expectedKeys(DATA_RANGE, 'landingPage');

      await showRange(page, DATA_RANGE);

      const channels = await page.locator('#table-channel tbody th').allTextContents();
      const landingPages = await page.locator('#table-landingPage tbody th').allTextContents();
      expect(channels).toEqual(expect.arrayContaining(['organic search', 'paid social', 'email', 'direct']));
      expect(channels).toEqual(expect.arrayContaining(expectedChannels));
      expect(landingPages).toEqual(expect.arrayContaining(['/pricing', '/promo', '/blog', '/']));
      expect(landingPages).toEqual(expect.arrayContaining(expectedLandingPages));
      expect(await page.locator('#table-email tbody tr').count()).toBe(10);
      expect(await page.locator('#table-day tbody tr').count()).toBe(
        daysFrom(DATA_RANGE.from, DATA_RANGE.to).length,
      );
    });

    it('draws every chart with the data of the range, visibly more than for an empty range', async () => {
      const { page } = session;
      await showRange(page, EMPTY_RANGE);
      const empty = new Map<string, number>();
      for (const chart of DATA_CHARTS)
        empty.set(chart.id, rowsWithColours(await chartPixels(page, chart.id), chart.colours));

      await showRange(page, DATA_RANGE);

      for (const chart of DATA_CHARTS) {
        const pixels = await chartPixels(page, chart.id);
        expect(nonBackgroundPixels(pixels), chart.id).toBeGreaterThan(pixels.width * pixels.height * 0.02);
        // Lines that climb and bars that grow: the series take up many more rows than without data.
        expect(rowsWithColours(pixels, chart.colours), chart.id).toBeGreaterThan(
          (empty.get(chart.id) ?? 0) + 60,
        );
      }
    });

    it('moves the range to the last 7 days with the preset, asking the API for exactly those days', async () => {
      const { page, kpiCalls } = session;
      const to = new Date().toISOString().slice(0, 10);
      const from = new Date(Date.now() - 6 * 86_400_000).toISOString().slice(0, 10);
      kpiCalls.length = 0;

      await page.getByRole('button', { name: 'Last 7 days' }).click();

      await expect.poll(() => page.textContent('#status')).toBe(`Showing ${from} to ${to}.`);
      expect(kpiCalls.map((call) => call.url.searchParams.get('groupBy')).sort()).toEqual([
        'campaign',
        'channel',
        'day',
        'landingPage',
      ]);
      for (const call of kpiCalls) {
        expect(call.url.searchParams.get('from')).toBe(from);
        expect(call.url.searchParams.get('to')).toBe(to);
      }
    });

    it('downloads a view as CSV, fetched with the token', async () => {
      const { page } = session;
      await showRange(page, DATA_RANGE);

      const [download] = await Promise.all([
        page.waitForEvent('download'),
        page.getByRole('button', { name: 'Download CSV (per channel)' }).click(),
      ]);
      const path = await download.path();
      const { readFile } = await import('node:fs/promises');
      const csv = await readFile(path, 'utf8');

      expect(download.suggestedFilename()).toBe(
        `nurture-kpis-channel-${DATA_RANGE.from}-${DATA_RANGE.to}.csv`,
      );
      expect(csv.split('\r\n')[0]).toMatch(/^key,visitors,sessions,/);
      expect(csv).toContain('paid social');
    });

    it('sends the token only as a bearer header, keeps it in this tab only, and fetches nothing from elsewhere', async () => {
      const { page, requests, kpiCalls, problems } = session;
      const origin = new URL(stack.local.apiUrl).origin;

      await showRange(page, DATA_RANGE);

      expect(kpiCalls.length).toBeGreaterThan(0);
      for (const call of kpiCalls) expect(call.authorization).toBe(`Bearer ${stack.local.adminToken}`);
      expect(requests.filter((url) => url.includes(stack.local.adminToken))).toEqual([]);
      expect(requests.filter((url) => !url.startsWith(origin) && !url.startsWith('blob:'))).toEqual([]);
      expect(await page.evaluate('localStorage.length')).toBe(0);
      expect(await page.evaluate('sessionStorage.length')).toBe(1);
      // Content-Security-Policy violations and script errors are reported on the console.
      expect(problems).toEqual([]);
    });
  });

  describe('email and journey results, from the synthetic report (the played traffic sends no email)', () => {
    it('draws the email chart and lists each journey variant with its conversion', async () => {
      const chart = CHARTS.find((candidate) => candidate.id === 'chart-email');
      const { context, page } = await openDashboard({ intercept: true });
      try {
        await enterToken(page, stack.local.adminToken);
        await page.waitForSelector('body[data-state="ready"]');
        await showRange(page, EMPTY_RANGE);
        const empty = rowsWithColours(await chartPixels(page, 'chart-email'), chart?.colours ?? []);

        await showRange(page, SYNTHETIC_RANGE);

        const pixels = await chartPixels(page, 'chart-email');
        const journeys = await page.locator('#table-journeys tbody tr').allTextContents();
        expect(rowsWithColours(pixels, chart?.colours ?? [])).toBeGreaterThan(empty + 60);
        expect(journeys.some((row) => row.startsWith('welcomeB'))).toBe(true);
      } finally {
        await context.close();
      }
    });
  });
});
