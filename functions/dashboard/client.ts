/// <reference lib="dom" />
/// <reference lib="dom.iterable" />
// The dashboard in the browser: asks for the admin token, fetches KPI reports from the admin API, draws charts and tables.
import {
  BarController,
  BarElement,
  CategoryScale,
  Chart,
  type ChartConfiguration,
  Legend,
  LinearScale,
  LineController,
  LineElement,
  PointElement,
  Tooltip,
} from 'chart.js';
import type * as z from 'zod';
import { PALETTE } from './palette.ts';
import {
  type DayReportView,
  type DimensionReportView,
  type DimensionRowView,
  dayReportSchema,
  dimensionReportSchema,
  type KpiFiguresView,
} from './report-schema.ts';

Chart.register(
  BarController,
  BarElement,
  CategoryScale,
  LinearScale,
  LineController,
  LineElement,
  PointElement,
  Tooltip,
  Legend,
);

/** sessionStorage, not localStorage: the token is gone when the tab closes, and it never goes into a URL. */
const TOKEN_KEY = 'nurture.adminToken';
const DEFAULT_RANGE_DAYS = 30;

type DimensionGroupBy = 'channel' | 'campaign' | 'landingPage';
type GroupBy = 'day' | DimensionGroupBy;
interface Range {
  readonly from: string;
  readonly to: string;
}

/** The admin API refused the token (API Gateway answers 401 without one, 403 for a wrong one). */
class TokenRejected extends Error {}

function byId<T extends HTMLElement>(id: string, type: { new (): T; prototype: T }): T {
  const found = document.getElementById(id);
  if (!(found instanceof type)) throw new Error(`the dashboard page has no #${id}`);
  return found;
}

const tokenForm = byId('token-form', HTMLFormElement);
const tokenInput = byId('token', HTMLInputElement);
const tokenMessage = byId('token-message', HTMLElement);
const forgetButton = byId('forget-token', HTMLButtonElement);
const dashboard = byId('dashboard', HTMLElement);
const rangeForm = byId('range-form', HTMLFormElement);
const fromInput = byId('from', HTMLInputElement);
const toInput = byId('to', HTMLInputElement);
const status = byId('status', HTMLElement);

// ---- formatting -------------------------------------------------------------------------------------------------

const NOT_DEFINED = '—';
const countFormat = new Intl.NumberFormat(undefined, { maximumFractionDigits: 0 });
const percentFormat = new Intl.NumberFormat(undefined, { style: 'percent', maximumFractionDigits: 1 });
const decimalFormat = new Intl.NumberFormat(undefined, { maximumFractionDigits: 2 });

const formatCount = (value: number) => countFormat.format(value);
const formatRate = (value: number | null) => (value === null ? NOT_DEFINED : percentFormat.format(value));

function formatAmount(currency: string, amount: number): string {
  try {
    return new Intl.NumberFormat(undefined, { style: 'currency', currency }).format(amount);
  } catch {
    // Not an ISO 4217 code Intl knows: show the amount with the code as the report gives it.
    return `${decimalFormat.format(amount)} ${currency}`;
  }
}

/** Amounts per currency, never added across currencies. */
function formatMoney(money: Readonly<Record<string, number | null>>): string {
  const parts = Object.entries(money).map(([currency, amount]) =>
    amount === null ? `${NOT_DEFINED} ${currency}` : formatAmount(currency, amount),
  );
  return parts.length === 0 ? NOT_DEFINED : parts.join(' · ');
}

function formatRatioPerCurrency(ratios: Readonly<Record<string, number | null>>): string {
  const parts = Object.entries(ratios).map(
    ([currency, value]) => `${formatRate(value)}${Object.keys(ratios).length > 1 ? ` (${currency})` : ''}`,
  );
  return parts.length === 0 ? NOT_DEFINED : parts.join(' · ');
}

function formatPValue(value: number | null): string {
  if (value === null) return NOT_DEFINED;
  return value < 0.001 ? '< 0.001' : value.toFixed(3);
}

// ---- dates ------------------------------------------------------------------------------------------------------

/** Days are UTC calendar days, as the KPI API's default workspace time zone. */
function isoDay(date: Date): string {
  return date.toISOString().slice(0, 10);
}

function lastDays(days: number): Range {
  const to = new Date();
  const from = new Date(to.getTime() - (days - 1) * 86_400_000);
  return { from: isoDay(from), to: isoDay(to) };
}

// ---- the admin API ----------------------------------------------------------------------------------------------

function kpiUrl(input: { readonly groupBy: GroupBy; readonly range: Range; readonly csv?: boolean }): string {
  const query = new URLSearchParams({ from: input.range.from, to: input.range.to, groupBy: input.groupBy });
  if (input.csv === true) query.set('format', 'csv');
  // Relative to the page, so that the API is reached on the same origin (and path prefix) as the dashboard.
  return `admin/kpis?${query.toString()}`;
}

async function callKpiApi(url: string): Promise<Response> {
  const token = sessionStorage.getItem(TOKEN_KEY);
  if (token === null) throw new TokenRejected('Enter the admin token to see the KPIs.');
  const response = await fetch(url, {
    headers: { authorization: `Bearer ${token}` },
    cache: 'no-store',
    credentials: 'omit',
  });
  if (response.status === 401 || response.status === 403)
    throw new TokenRejected(
      `The admin API did not accept this token (HTTP ${response.status}). Enter the current admin token.`,
    );
  if (!response.ok) {
    const detail = await response.text().catch(() => '');
    throw new Error(
      `The KPI API answered HTTP ${response.status}${detail ? `: ${detail.slice(0, 200)}` : ''}`,
    );
  }
  return response;
}

async function fetchReport<T>(input: { groupBy: GroupBy; range: Range; schema: z.ZodType<T> }): Promise<T> {
  const response = await callKpiApi(kpiUrl(input));
  const parsed = input.schema.safeParse(await response.json());
  if (!parsed.success)
    throw new Error(`The KPI API answered groupBy=${input.groupBy} in a shape this dashboard does not know`);
  return parsed.data;
}

async function downloadCsv(groupBy: GroupBy, range: Range): Promise<void> {
  const response = await callKpiApi(kpiUrl({ groupBy, range, csv: true }));
  const url = URL.createObjectURL(await response.blob());
  const link = document.createElement('a');
  link.href = url;
  link.download = `nurture-kpis-${groupBy}-${range.from}-${range.to}.csv`;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}

// ---- rendering --------------------------------------------------------------------------------------------------

interface Figure {
  readonly kpi: string;
  readonly label: string;
  readonly value: string;
  readonly reference?: string;
}

function renderFigures(listId: string, figures: readonly Figure[]): void {
  const list = byId(listId, HTMLElement);
  list.replaceChildren(
    ...figures.map((figure) => {
      const item = document.createElement('div');
      item.dataset.kpi = figure.kpi;
      const term = document.createElement('dt');
      term.textContent = figure.label;
      const value = document.createElement('dd');
      value.className = 'value';
      value.textContent = figure.value;
      item.append(term, value);
      if (figure.reference !== undefined) {
        const reference = document.createElement('dd');
        reference.className = 'reference';
        reference.textContent = figure.reference;
        item.append(reference);
      }
      return item;
    }),
  );
}

interface Column<Row> {
  readonly label: string;
  readonly cell: (row: Row) => string;
}

/** Tables carry every number a chart shows, for screen readers and for reading exact values. */
function renderTable<Row>(input: {
  containerId: string;
  caption: string;
  columns: readonly Column<Row>[];
  rows: readonly Row[];
  empty: string;
}): void {
  const container = byId(input.containerId, HTMLElement);
  if (input.rows.length === 0) {
    const note = document.createElement('p');
    note.textContent = input.empty;
    container.replaceChildren(note);
    return;
  }
  const table = document.createElement('table');
  const caption = table.createCaption();
  caption.textContent = input.caption;
  const headRow = table.createTHead().insertRow();
  for (const column of input.columns) {
    const th = document.createElement('th');
    th.scope = 'col';
    th.textContent = column.label;
    headRow.append(th);
  }
  const body = table.createTBody();
  for (const row of input.rows) {
    const tr = body.insertRow();
    input.columns.forEach((column, index) => {
      const cell = document.createElement(index === 0 ? 'th' : 'td');
      if (cell instanceof HTMLTableCellElement && index === 0) cell.scope = 'row';
      cell.textContent = column.cell(row);
      tr.append(cell);
    });
  }
  container.replaceChildren(table);
}

const charts = new Map<string, Chart>();

function drawChart(canvasId: string, config: ChartConfiguration): void {
  charts.get(canvasId)?.destroy();
  const canvas = byId(canvasId, HTMLCanvasElement);
  charts.set(
    canvasId,
    new Chart(canvas, {
      ...config,
      options: {
        // No animation: the chart is complete when drawn, for people who prefer less motion and for screenshots.
        animation: false,
        responsive: true,
        maintainAspectRatio: false,
        ...config.options,
      },
    }),
  );
}

const colour = (index: number) => PALETTE[index % PALETTE.length] ?? '#1f6feb';

function currenciesOf(moneys: readonly Readonly<Record<string, number>>[]): string[] {
  return [...new Set(moneys.flatMap((money) => Object.keys(money)))].sort();
}

function renderHeadline(report: DayReportView): void {
  const t = report.totals;
  const ref = report.reference;
  renderFigures('headline', [
    { kpi: 'visitors', label: 'Visitors', value: formatCount(t.visitors) },
    { kpi: 'sessions', label: 'Sessions', value: formatCount(t.sessions) },
    { kpi: 'pageViews', label: 'Page views', value: formatCount(t.pageViews) },
    { kpi: 'newLeads', label: 'New leads', value: formatCount(t.newLeads) },
    {
      kpi: 'trafficToLeadRatio',
      label: 'Traffic-to-lead ratio',
      value: formatRate(t.trafficToLeadRatio),
      reference: `Reference: ${formatRate(ref.trafficToLeadRatio.low)}–${formatRate(ref.trafficToLeadRatio.high)}`,
    },
    {
      kpi: 'landingPageConversionRate',
      label: 'Landing-page conversion rate',
      value: formatRate(t.landingPageConversionRate),
      reference: `Reference: about ${formatRate(ref.landingPageConversionRate.typical)}`,
    },
    { kpi: 'revenue', label: 'Sales revenue', value: formatMoney(t.revenue.total) },
    { kpi: 'orders', label: 'Orders', value: formatCount(t.orders) },
    { kpi: 'newCustomers', label: 'New customers', value: formatCount(t.newCustomers) },
    {
      kpi: 'customerValue',
      label: 'Customer value (revenue per paying customer)',
      value: formatMoney(t.customerValue),
    },
    {
      kpi: 'lifetimeValue',
      label: 'Lifetime value (all-time revenue per customer)',
      value: report.lifetimeValue === null ? NOT_DEFINED : formatMoney(report.lifetimeValue),
    },
    { kpi: 'cost', label: 'Marketing cost', value: formatMoney(t.cost) },
    { kpi: 'costPerLead', label: 'Cost per lead', value: formatMoney(t.costPerLead) },
    { kpi: 'marketingRoi', label: 'Marketing ROI', value: formatRatioPerCurrency(t.marketingRoi) },
  ]);
  renderFigures('reach', [
    {
      kpi: 'organicSearchSessions',
      label: 'Organic search sessions',
      value: formatCount(t.organicSearchSessions),
    },
    {
      kpi: 'socialReach.visitors',
      label: 'Social reach: visitors',
      value: formatCount(t.socialReach.visitors),
    },
    {
      kpi: 'socialReach.sessions',
      label: 'Social reach: sessions',
      value: formatCount(t.socialReach.sessions),
    },
    {
      kpi: 'socialReach.shareOfTraffic',
      label: 'Social share of traffic',
      value: formatRate(t.socialReach.shareOfTraffic),
    },
    {
      kpi: 'mobileShare.sessions',
      label: 'Mobile share of visits',
      value: formatRate(t.mobileShare.sessions),
    },
    {
      kpi: 'mobileShare.newLeads',
      label: 'Mobile share of new leads',
      value: formatRate(t.mobileShare.newLeads),
    },
    {
      kpi: 'mobileShare.newCustomers',
      label: 'Mobile share of new customers',
      value: formatRate(t.mobileShare.newCustomers),
    },
  ]);
}

function renderOverTime(report: DayReportView): void {
  const labels = report.rows.map((row) => row.key);
  drawChart('chart-traffic', {
    type: 'line',
    data: {
      labels,
      datasets: [
        {
          label: 'Visitors',
          data: report.rows.map((r) => r.visitors),
          borderColor: colour(0),
          backgroundColor: colour(0),
        },
        {
          label: 'Sessions',
          data: report.rows.map((r) => r.sessions),
          borderColor: colour(1),
          backgroundColor: colour(1),
        },
        {
          label: 'New leads',
          data: report.rows.map((r) => r.newLeads),
          borderColor: colour(2),
          backgroundColor: colour(2),
        },
      ],
    },
    options: { scales: { y: { beginAtZero: true } } },
  });
  const currencies = currenciesOf(report.rows.map((r) => r.revenue.total));
  drawChart('chart-revenue', {
    type: 'bar',
    data: {
      labels,
      datasets: (currencies.length === 0 ? [''] : currencies).map((currency, index) => ({
        label: currency === '' ? 'Revenue' : `Revenue (${currency})`,
        data: report.rows.map((r) => r.revenue.total[currency] ?? 0),
        backgroundColor: colour(index + 3),
      })),
    },
    options: { scales: { y: { beginAtZero: true } } },
  });
  renderTable({
    containerId: 'table-day',
    caption: 'KPIs per day',
    rows: report.rows,
    empty: 'No days in this range.',
    columns: [
      { label: 'Day', cell: (r) => r.key },
      { label: 'Visitors', cell: (r) => formatCount(r.visitors) },
      { label: 'Sessions', cell: (r) => formatCount(r.sessions) },
      { label: 'Page views', cell: (r) => formatCount(r.pageViews) },
      { label: 'New leads', cell: (r) => formatCount(r.newLeads) },
      { label: 'Traffic-to-lead', cell: (r) => formatRate(r.trafficToLeadRatio) },
      { label: 'Landing-page conversion', cell: (r) => formatRate(r.landingPageConversionRate) },
      { label: 'MQL', cell: (r) => formatCount(r.mql) },
      { label: 'SQL', cell: (r) => formatCount(r.sql) },
      { label: 'SAL', cell: (r) => formatCount(r.sal) },
      { label: 'Orders', cell: (r) => formatCount(r.orders) },
      { label: 'New customers', cell: (r) => formatCount(r.newCustomers) },
      { label: 'Revenue', cell: (r) => formatMoney(r.revenue.total) },
      { label: 'Customer value', cell: (r) => formatMoney(r.customerValue) },
      { label: 'Cost', cell: (r) => formatMoney(r.cost) },
      { label: 'Organic search sessions', cell: (r) => formatCount(r.organicSearchSessions) },
      { label: 'Social sessions', cell: (r) => formatCount(r.socialReach.sessions) },
      { label: 'Mobile share', cell: (r) => formatRate(r.mobileShare.sessions) },
    ],
  });
}

/** Columns every channel, campaign and landing-page table shares. */
function sliceColumns(firstLabel: string): Column<DimensionRowView>[] {
  return [
    { label: firstLabel, cell: (r) => r.key },
    { label: 'Sessions', cell: (r) => formatCount(r.sessions) },
    { label: 'Visitors', cell: (r) => formatCount(r.visitors) },
    { label: 'Page views', cell: (r) => formatCount(r.pageViews) },
    { label: 'Share of traffic', cell: (r) => formatRate(r.shareOfTraffic) },
    { label: 'New leads', cell: (r) => formatCount(r.newLeads) },
    { label: 'Traffic-to-lead', cell: (r) => formatRate(r.trafficToLeadRatio) },
    { label: 'Conversion rate', cell: (r) => formatRate(r.landingPageConversionRate) },
    { label: 'MQL', cell: (r) => formatCount(r.mql) },
    { label: 'SQL', cell: (r) => formatCount(r.sql) },
    { label: 'SAL', cell: (r) => formatCount(r.sal) },
    { label: 'MQL→SQL', cell: (r) => formatRate(r.mqlToSql) },
    { label: 'SQL→SAL', cell: (r) => formatRate(r.sqlToSal) },
    { label: 'Orders', cell: (r) => formatCount(r.orders) },
    { label: 'New customers', cell: (r) => formatCount(r.newCustomers) },
    { label: 'Revenue (first touch)', cell: (r) => formatMoney(r.revenue.firstTouch) },
    { label: 'Revenue (last touch)', cell: (r) => formatMoney(r.revenue.lastTouch) },
    { label: 'Cost', cell: (r) => formatMoney(r.cost) },
    { label: 'Cost per lead', cell: (r) => formatMoney(r.costPerLead) },
    { label: 'ROI', cell: (r) => formatRatioPerCurrency(r.marketingRoi) },
  ];
}

function renderChannels(report: DimensionReportView): void {
  const labels = report.rows.map((row) => row.key);
  drawChart('chart-channel', {
    type: 'bar',
    data: {
      labels,
      datasets: [
        { label: 'Sessions', data: report.rows.map((r) => r.sessions), backgroundColor: colour(1) },
        { label: 'Visitors', data: report.rows.map((r) => r.visitors), backgroundColor: colour(0) },
        { label: 'New leads', data: report.rows.map((r) => r.newLeads), backgroundColor: colour(2) },
      ],
    },
    options: { scales: { y: { beginAtZero: true } } },
  });
  const currencies = currenciesOf(report.rows.flatMap((r) => [r.revenue.firstTouch, r.revenue.lastTouch]));
  drawChart('chart-channel-revenue', {
    type: 'bar',
    data: {
      labels,
      datasets: (currencies.length === 0 ? [''] : currencies).flatMap((currency, index) =>
        (['firstTouch', 'lastTouch'] as const).map((touch, t) => ({
          label: `${touch === 'firstTouch' ? 'First touch' : 'Last touch'}${currency ? ` (${currency})` : ''}`,
          data: report.rows.map((r) => r.revenue[touch][currency] ?? 0),
          backgroundColor: colour(3 + index * 2 + t),
        })),
      ),
    },
    options: { scales: { y: { beginAtZero: true } } },
  });
  renderTable({
    containerId: 'table-channel',
    caption: 'KPIs per channel',
    rows: report.rows,
    empty: 'No channel had traffic or cost in this range.',
    columns: sliceColumns('Channel'),
  });
}

function renderFunnel(totals: KpiFiguresView): void {
  const stages: Array<{ stage: string; count: number; conversion: number | null; from: string }> = [
    { stage: 'New leads', count: totals.newLeads, conversion: null, from: '' },
    { stage: 'MQL', count: totals.mql, conversion: ratio(totals.mql, totals.newLeads), from: 'lead → MQL' },
    { stage: 'SQL', count: totals.sql, conversion: totals.mqlToSql, from: 'MQL → SQL' },
    { stage: 'SAL', count: totals.sal, conversion: totals.sqlToSal, from: 'SQL → SAL' },
    {
      stage: 'New customers',
      count: totals.newCustomers,
      conversion: ratio(totals.newCustomers, totals.sal),
      from: 'SAL → customer',
    },
  ];
  drawChart('chart-funnel', {
    type: 'bar',
    data: {
      labels: stages.map((s) => s.stage),
      datasets: [{ label: 'Profiles', data: stages.map((s) => s.count), backgroundColor: colour(0) }],
    },
    options: {
      indexAxis: 'y',
      scales: { x: { beginAtZero: true } },
      plugins: { legend: { display: false } },
    },
  });
  renderTable({
    containerId: 'table-funnel',
    caption: 'Lead funnel (entries in the range; conversions are period ratios)',
    rows: stages,
    empty: '',
    columns: [
      { label: 'Stage', cell: (s) => s.stage },
      { label: 'Profiles', cell: (s) => formatCount(s.count) },
      {
        label: 'Stage conversion',
        cell: (s) => (s.from === '' ? '' : `${formatRate(s.conversion)} (${s.from})`),
      },
    ],
  });
}

function ratio(numerator: number, denominator: number): number | null {
  return denominator === 0 ? null : numerator / denominator;
}

function renderEmail(report: DayReportView): void {
  const e = report.email;
  const outcomes: Array<{ outcome: string; count: number; rate: number | null | undefined }> = [
    { outcome: 'Sent', count: e.sent, rate: undefined },
    { outcome: 'Delivered', count: e.delivered, rate: undefined },
    { outcome: 'Opened', count: e.opened, rate: e.rates.opened },
    { outcome: 'Opened by people', count: e.humanOpened, rate: e.rates.humanOpened },
    { outcome: 'Clicked', count: e.clicked, rate: e.rates.clicked },
    { outcome: 'Bounced', count: e.bounced, rate: e.rates.bounced },
    { outcome: 'Hard bounces', count: e.hardBounced, rate: e.rates.hardBounced },
    { outcome: 'Soft bounces', count: e.softBounced, rate: e.rates.softBounced },
    { outcome: 'Complaints', count: e.complained, rate: e.rates.complaints },
    { outcome: 'Unsubscribed', count: e.unsubscribed, rate: e.rates.unsubscribed },
  ];
  const charted = outcomes.filter((o) => !['Hard bounces', 'Soft bounces'].includes(o.outcome));
  drawChart('chart-email', {
    type: 'bar',
    data: {
      labels: charted.map((o) => o.outcome),
      datasets: [{ label: 'Messages', data: charted.map((o) => o.count), backgroundColor: colour(6) }],
    },
    options: { scales: { y: { beginAtZero: true } }, plugins: { legend: { display: false } } },
  });
  renderTable({
    containerId: 'table-email',
    caption: 'Email results (rates per delivered message)',
    rows: outcomes,
    empty: '',
    columns: [
      { label: 'Outcome', cell: (o) => o.outcome },
      { label: 'Messages', cell: (o) => formatCount(o.count) },
      { label: 'Rate', cell: (o) => (o.rate === undefined ? '' : formatRate(o.rate)) },
    ],
  });
}

function renderJourneys(report: DayReportView): void {
  const rows = Object.entries(report.journeys).flatMap(([journeyId, journey]) => [
    { journey: journeyId, variant: 'all', ...journey, pValue: null },
    ...Object.entries(journey.variants).map(([variant, v]) => ({ journey: journeyId, variant, ...v })),
  ]);
  renderTable({
    containerId: 'table-journeys',
    caption: 'Journeys: entered, goal reached, and A/B variants (p-value against the other variants)',
    rows,
    empty: 'No journey activity in this range.',
    columns: [
      { label: 'Journey', cell: (r) => r.journey },
      { label: 'Variant', cell: (r) => r.variant },
      { label: 'Entered', cell: (r) => formatCount(r.entered) },
      { label: 'Goal reached', cell: (r) => formatCount(r.goal) },
      { label: 'Conversion rate', cell: (r) => formatRate(r.conversionRate) },
      { label: 'p-value', cell: (r) => (r.variant === 'all' ? '' : formatPValue(r.pValue)) },
    ],
  });
}

function renderLandingPages(report: DimensionReportView): void {
  const typical = formatRate(report.reference.landingPageConversionRate.typical);
  renderTable({
    containerId: 'table-landingPage',
    caption: `Landing pages (conversion rate: sessions in which the visitor became a lead; reference about ${typical})`,
    rows: report.rows,
    empty: 'No landing page had sessions in this range.',
    columns: [
      { label: 'Landing page', cell: (r) => r.key },
      { label: 'Sessions', cell: (r) => formatCount(r.sessions) },
      { label: 'Visitors', cell: (r) => formatCount(r.visitors) },
      { label: 'Page views', cell: (r) => formatCount(r.pageViews) },
      { label: 'Share of traffic', cell: (r) => formatRate(r.shareOfTraffic) },
      { label: 'New leads', cell: (r) => formatCount(r.newLeads) },
      { label: 'Conversion rate', cell: (r) => formatRate(r.landingPageConversionRate) },
      { label: 'Orders', cell: (r) => formatCount(r.orders) },
      { label: 'New customers', cell: (r) => formatCount(r.newCustomers) },
    ],
  });
}

function renderCampaigns(report: DimensionReportView): void {
  renderTable({
    containerId: 'table-campaign',
    caption: 'KPIs per campaign (utm_campaign of the session)',
    rows: report.rows,
    empty: 'No campaign had traffic or cost in this range.',
    columns: sliceColumns('Campaign'),
  });
}

// ---- flow -------------------------------------------------------------------------------------------------------

function currentRange(): Range | undefined {
  const from = fromInput.value;
  const to = toInput.value;
  if (from === '' || to === '' || from > to) return undefined;
  return { from, to };
}

function askForToken(message: string): void {
  sessionStorage.removeItem(TOKEN_KEY);
  for (const chart of charts.values()) chart.destroy();
  charts.clear();
  dashboard.hidden = true;
  forgetButton.hidden = true;
  tokenForm.hidden = false;
  tokenMessage.textContent = message;
  tokenInput.value = '';
  document.body.dataset.state = 'token';
  tokenInput.focus();
}

function showDashboard(): void {
  tokenForm.hidden = true;
  tokenMessage.textContent = '';
  dashboard.hidden = false;
  forgetButton.hidden = false;
}

let loads = 0;

async function load(): Promise<void> {
  const range = currentRange();
  if (range === undefined) {
    status.textContent = 'Choose a start date on or before the end date.';
    return;
  }
  const attempt = ++loads;
  document.body.dataset.state = 'loading';
  status.textContent = `Loading ${range.from} to ${range.to}…`;
  try {
    const [day, channel, campaign, landingPage] = await Promise.all([
      fetchReport({ groupBy: 'day', range, schema: dayReportSchema }),
      fetchReport({ groupBy: 'channel', range, schema: dimensionReportSchema }),
      fetchReport({ groupBy: 'campaign', range, schema: dimensionReportSchema }),
      fetchReport({ groupBy: 'landingPage', range, schema: dimensionReportSchema }),
    ]);
    // A slower answer for a range the user has since changed must not overwrite the newer one.
    if (attempt !== loads) return;
    renderHeadline(day);
    renderOverTime(day);
    renderChannels(channel);
    renderFunnel(day.totals);
    renderEmail(day);
    renderJourneys(day);
    renderLandingPages(landingPage);
    renderCampaigns(campaign);
    status.textContent = `Showing ${range.from} to ${range.to}.`;
    document.body.dataset.state = 'ready';
  } catch (error) {
    if (attempt !== loads) return;
    if (error instanceof TokenRejected) askForToken(error.message);
    else {
      status.textContent = error instanceof Error ? error.message : 'The KPIs could not be loaded.';
      document.body.dataset.state = 'error';
    }
  }
}

function setRange(range: Range): void {
  fromInput.value = range.from;
  toInput.value = range.to;
}

tokenForm.addEventListener('submit', (event) => {
  event.preventDefault();
  const token = tokenInput.value.trim();
  if (token === '') return;
  sessionStorage.setItem(TOKEN_KEY, token);
  tokenInput.value = '';
  showDashboard();
  void load();
});

forgetButton.addEventListener('click', () =>
  askForToken('Token forgotten. Enter an admin token to see the KPIs.'),
);

rangeForm.addEventListener('submit', (event) => {
  event.preventDefault();
  void load();
});

for (const button of rangeForm.querySelectorAll<HTMLButtonElement>('button[data-preset-days]')) {
  button.addEventListener('click', () => {
    setRange(lastDays(Number(button.dataset.presetDays)));
    void load();
  });
}

for (const button of document.querySelectorAll<HTMLButtonElement>('button[data-csv]')) {
  button.addEventListener('click', () => {
    const range = currentRange();
    const groupBy = button.dataset.csv;
    if (range === undefined || !isGroupBy(groupBy)) return;
    downloadCsv(groupBy, range).catch((error: unknown) => {
      if (error instanceof TokenRejected) askForToken(error.message);
      else status.textContent = error instanceof Error ? error.message : 'The CSV could not be downloaded.';
    });
  });
}

function isGroupBy(value: string | undefined): value is GroupBy {
  return value === 'day' || value === 'channel' || value === 'campaign' || value === 'landingPage';
}

setRange(lastDays(DEFAULT_RANGE_DAYS));
if (sessionStorage.getItem(TOKEN_KEY) === null) askForToken('');
else {
  showDashboard();
  void load();
}
