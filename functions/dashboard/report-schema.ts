// The KPI report as the dashboard reads it from GET /admin/kpis: a zod schema of functions/kpis/query.ts's KpiReport.
import * as z from 'zod';

const count = z.number();
const rate = z.number().nullable();
/** Amounts per currency. */
const money = z.record(z.string(), z.number());
/** A ratio per currency, null where undefined (cost 0, no leads). */
const moneyRatio = z.record(z.string(), z.number().nullable());

const sliceFigures = {
  visitors: count,
  sessions: count,
  pageViews: count,
  shareOfTraffic: rate,
  newLeads: count,
  trafficToLeadRatio: rate,
  landingPageConversionRate: rate,
  mql: count,
  sql: count,
  sal: count,
  mqlToSql: rate,
  sqlToSal: rate,
  orders: count,
  newCustomers: count,
  cost: money,
  costPerLead: moneyRatio,
  marketingRoi: moneyRatio,
};

const wholeFigures = {
  ...sliceFigures,
  organicSearchSessions: count,
  socialReach: z.object({ visitors: count, sessions: count, shareOfTraffic: rate }),
  mobileShare: z.object({ sessions: rate, newLeads: rate, newCustomers: rate }),
  revenue: z.object({
    total: money,
    firstTouch: z.record(z.string(), money),
    lastTouch: z.record(z.string(), money),
  }),
  customerValue: moneyRatio,
};

export const kpiFiguresSchema = z.object(wholeFigures);
export type KpiFiguresView = z.infer<typeof kpiFiguresSchema>;

export const dayRowSchema = z.object({ key: z.string(), ...wholeFigures });
export type DayRowView = z.infer<typeof dayRowSchema>;

export const dimensionRowSchema = z.object({
  key: z.string(),
  ...sliceFigures,
  revenue: z.object({ firstTouch: money, lastTouch: money }),
});
export type DimensionRowView = z.infer<typeof dimensionRowSchema>;

export const emailFiguresSchema = z.object({
  sent: count,
  delivered: count,
  hardBounced: count,
  softBounced: count,
  bounced: count,
  complained: count,
  opened: count,
  humanOpened: count,
  clicked: count,
  unsubscribed: count,
  rates: z.object({
    bounced: rate,
    hardBounced: rate,
    softBounced: rate,
    complaints: rate,
    unsubscribed: rate,
    opened: rate,
    humanOpened: rate,
    clicked: rate,
  }),
});
export type EmailFiguresView = z.infer<typeof emailFiguresSchema>;

const variantSchema = z.object({ entered: count, goal: count, conversionRate: rate, pValue: rate });

export const journeyFiguresSchema = z.object({
  entered: count,
  goal: count,
  conversionRate: rate,
  variants: z.record(z.string(), variantSchema),
});
export type JourneyFiguresView = z.infer<typeof journeyFiguresSchema>;

const common = {
  from: z.string(),
  to: z.string(),
  reference: z.object({
    trafficToLeadRatio: z.object({ low: z.number(), high: z.number() }),
    landingPageConversionRate: z.object({ typical: z.number() }),
  }),
  totals: kpiFiguresSchema,
  lifetimeValue: moneyRatio.nullable(),
  email: emailFiguresSchema,
  journeys: z.record(z.string(), journeyFiguresSchema),
};

/** `groupBy=none` and `groupBy=day`: rows carry whole-traffic figures per day. */
export const dayReportSchema = z.object({
  ...common,
  groupBy: z.enum(['none', 'day']),
  rows: z.array(dayRowSchema),
});
export type DayReportView = z.infer<typeof dayReportSchema>;

/** `groupBy=channel|campaign|landingPage`: rows carry slice figures and first/last-touch revenue. */
export const dimensionReportSchema = z.object({
  ...common,
  groupBy: z.enum(['channel', 'campaign', 'landingPage']),
  rows: z.array(dimensionRowSchema),
});
export type DimensionReportView = z.infer<typeof dimensionReportSchema>;
