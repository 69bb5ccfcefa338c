// HTTP contract of the KPI admin API: component schemas and operations, merged into docs/openapi.json.
import * as z from 'zod';
import { dayReportSchema, dimensionReportSchema } from '../dashboard/report-schema.ts';
import type { Operation } from '../shared/contract-types.ts';
import { CHANNELS } from '../tracking/schemas.ts';
import { referenceValuesSchema } from './settings.ts';

const costEntry = z.object({
  scope: z.enum(['channel', 'campaign']),
  name: z.string(),
  period: z
    .string()
    .meta({ description: 'A day YYYY-MM-DD, or a month YYYY-MM spread evenly over its days.' }),
  amount: z.number(),
  currency: z.string(),
});

export const kpiSchemas: Record<string, z.ZodType> = {
  KpiReport: z.union([dayReportSchema, dimensionReportSchema]).meta({
    description:
      'KPIs of a range of days, named after the KPIs; formulas in docs/kpis.md. Ratios are null where their denominator is 0.',
  }),
  KpiRollupRequest: z.object({ from: z.string(), to: z.string() }),
  KpiRollupResult: z.object({ days: z.number().int(), from: z.string(), to: z.string() }),
  KpiCostsInput: z
    .object({
      entries: z.array(
        z.object({
          channel: z.enum(CHANNELS).optional(),
          campaign: z.string().optional(),
          day: z.string().optional(),
          month: z.string().optional(),
          amount: z.number().min(0),
          currency: z
            .string()
            .optional()
            .meta({ description: 'Default: the workspace currency (KPI_CURRENCY).' }),
        }),
      ),
    })
    .meta({
      description:
        'Costs per channel or campaign (one of them) per day or month (one of them). As text/csv: a header naming columns from channel,campaign,day,month,amount,currency.',
    }),
  KpiCosts: z.object({ entries: z.array(costEntry) }),
  KpiCostsSaved: z.object({ saved: z.number().int(), entries: z.array(costEntry) }),
  KpiReferenceValues: referenceValuesSchema.meta({
    description: 'Figures from the field shown beside ours (shares, 0–1).',
  }),
};

const query = (name: string, required: boolean, description: string) =>
  ({ name, in: 'query', required, description }) as const;

export const kpiOperations: readonly Operation[] = [
  {
    method: 'get',
    path: '/admin/kpis',
    summary:
      'KPIs of a range of days (at most 400), totals and rows grouped by day, channel, campaign or landing page; ?format=csv downloads the same as CSV',
    auth: 'admin',
    parameters: [
      query('from', true, 'First day, YYYY-MM-DD (workspace time zone)'),
      query('to', true, 'Last day, YYYY-MM-DD, not before from'),
      query('groupBy', false, 'none (default), day, channel, campaign or landingPage'),
      query('format', false, 'json (default) or csv'),
    ],
    responses: { '200': 'KpiReport', '400': 'Error' },
  },
  {
    method: 'post',
    path: '/admin/kpis/rollup',
    summary: 'Recomputes the KPI days of a range (at most 400) from their counters now; idempotent',
    auth: 'admin',
    body: 'KpiRollupRequest',
    responses: { '200': 'KpiRollupResult', '400': 'Error' },
  },
  {
    method: 'get',
    path: '/admin/kpis/costs',
    summary: 'Marketing costs entered per channel or campaign and day or month',
    auth: 'admin',
    responses: { '200': 'KpiCosts' },
  },
  {
    method: 'put',
    path: '/admin/kpis/costs',
    summary:
      'Adds marketing costs as JSON or as a CSV file (Content-Type: text/csv); an entry replaces the one for the same channel or campaign and period. Every bad entry or line is listed at once',
    auth: 'admin',
    body: 'KpiCostsInput',
    responses: { '200': 'KpiCostsSaved', '400': 'Error' },
  },
  {
    method: 'get',
    path: '/admin/kpis/reference',
    summary:
      'Reference values shown beside the KPIs (defaults: traffic-to-lead 7–9 %, landing-page conversion 10 %)',
    auth: 'admin',
    responses: { '200': 'KpiReferenceValues' },
  },
  {
    method: 'put',
    path: '/admin/kpis/reference',
    summary: 'Sets the reference values shown beside the KPIs',
    auth: 'admin',
    body: 'KpiReferenceValues',
    responses: { '200': 'KpiReferenceValues', '400': 'Error' },
  },
];
