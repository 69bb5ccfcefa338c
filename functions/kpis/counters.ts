// The counter increments a KPI input adds at write time: which day, metric, dimension value, amount and distinct key.
import { DateTime } from 'luxon';
import {
  becomesLead,
  type EmailOutcome,
  type KpiInput,
  type LastTouch,
  type RevenueTouch,
  type SessionTouch,
} from './inputs.ts';

export const KPI_METRICS = [
  'sessions',
  'visitors',
  'pageViews',
  'newLeads',
  'mql',
  'sql',
  'sal',
  'orders',
  /** Money: per currency. */
  'revenue',
  /** Distinct profiles that paid that day, per currency (customer value's denominator). */
  'payingProfiles',
  /** Profiles whose first order or won deal this is, whatever the currency. */
  'newCustomers',
  /** Profiles whose first payment in this currency this is (lifetime value's denominator per currency). */
  'currencyCustomers',
  'emailSent',
  'emailDelivered',
  'emailHardBounced',
  'emailSoftBounced',
  'emailComplained',
  'emailOpened',
  'emailHumanOpened',
  'emailClicked',
  'emailUnsubscribed',
  'journeyEntered',
  'journeyGoal',
] as const;
export type KpiMetric = (typeof KPI_METRICS)[number];

export const KPI_DIMENSIONS = [
  'all',
  'channel',
  'campaign',
  'landingPage',
  'device',
  /** Revenue by the profile's first touch (`channel`/`campaign` of revenue are the last touch). */
  'firstTouchChannel',
  'firstTouchCampaign',
  /** Channels taken together where a distinct count cannot be summed from the channels: `social`. */
  'channelGroup',
  'journey',
  /** `<journeyId>/<variant>`. */
  'variant',
] as const;
export type KpiDimension = (typeof KPI_DIMENSIONS)[number];

/** A campaign or landing page that was absent (KPIS.md: "none when absent"). */
export const NONE = '(none)';
/** A dimension not known for the input, e.g. a lead whose session is not known. */
export const UNKNOWN = '(unknown)';
export const SOCIAL_CHANNELS: readonly string[] = ['organic social', 'paid social'];
export const SOCIAL_GROUP = 'social';

/**
 * Counted once per key: `day` scope once per (day, metric, currency, dimension, value, key), e.g. visitors; `ever`
 * scope once per (metric, currency, key) for all time and all dimensions together, e.g. new leads.
 */
export interface DistinctKey {
  readonly key: string;
  readonly scope: 'day' | 'ever';
}

export interface CounterIncrement {
  /** Calendar day in the workspace time zone, `YYYY-MM-DD`. */
  readonly day: string;
  readonly metric: KpiMetric;
  /** ISO 4217 code for money and per-currency counts; null otherwise. Never summed across currencies. */
  readonly currency: string | null;
  readonly dimension: KpiDimension;
  /** The dimension's value; `all` for the `all` dimension. */
  readonly value: string;
  readonly by: number;
  readonly distinct?: DistinctKey;
}

export interface WorkspaceSettings {
  /** IANA zone whose calendar days KPIs use (KPIS.md); default UTC. */
  readonly timeZone: string;
  /** Currency of amounts that name none; default USD (as for won deals). */
  readonly currency?: string;
}

/** The counter an increment adds to, unique within one day. */
export function counterKey(counter: Pick<CounterIncrement, 'metric' | 'currency' | 'dimension' | 'value'>) {
  return [counter.metric, counter.currency ?? '', counter.dimension, counter.value].join('\u001f');
}

/** The marker that gates an increment, or null when it is not distinct. Increments sharing a marker apply together. */
export function markerOf(increment: CounterIncrement): string | null {
  const { distinct } = increment;
  if (distinct === undefined) return null;
  const parts =
    distinct.scope === 'ever'
      ? ['ever', increment.metric, increment.currency ?? '', distinct.key]
      : ['day', increment.day, counterKey(increment), distinct.key];
  return parts.join('\u001f');
}

/** The calendar day of an instant in a time zone; throws on an unreadable time or zone. */
export function dayOf(at: string, timeZone: string): string {
  const day = DateTime.fromISO(at, { setZone: true }).setZone(timeZone).toISODate();
  if (day === null) throw new RangeError(`cannot place ${at} on a day in ${timeZone}`);
  return day;
}

type DimensionValue = readonly [KpiDimension, string];

function touchDimensions(touch: SessionTouch | null): DimensionValue[] {
  if (touch === null)
    return [
      ['all', 'all'],
      ['channel', UNKNOWN],
      ['campaign', UNKNOWN],
      ['landingPage', UNKNOWN],
      ['device', UNKNOWN],
    ];
  return [
    ['all', 'all'],
    ['channel', touch.channel],
    ['campaign', touch.campaign ?? NONE],
    ['landingPage', touch.landingPage ?? NONE],
    ['device', touch.device ?? UNKNOWN],
  ];
}

function revenueDimensions(input: {
  firstTouch: RevenueTouch | null;
  lastTouch: LastTouch | null;
  device: string | null;
}): DimensionValue[] {
  const { firstTouch, lastTouch } = input;
  return [
    ['all', 'all'],
    ['channel', lastTouch?.channel ?? UNKNOWN],
    ['campaign', lastTouch === null ? UNKNOWN : (lastTouch.campaign ?? NONE)],
    ['landingPage', lastTouch?.landingPage === undefined ? UNKNOWN : (lastTouch.landingPage ?? NONE)],
    ['firstTouchChannel', firstTouch?.channel ?? UNKNOWN],
    ['firstTouchCampaign', firstTouch === null ? UNKNOWN : (firstTouch.campaign ?? NONE)],
    ['device', input.device ?? UNKNOWN],
  ];
}

const EMAIL_METRICS: Record<EmailOutcome, KpiMetric> = {
  sent: 'emailSent',
  delivered: 'emailDelivered',
  hardBounced: 'emailHardBounced',
  softBounced: 'emailSoftBounced',
  complained: 'emailComplained',
  opened: 'emailOpened',
  humanOpened: 'emailHumanOpened',
  clicked: 'emailClicked',
  unsubscribed: 'emailUnsubscribed',
};

const STAGE_METRICS: Partial<Record<string, KpiMetric>> = { mql: 'mql', sql: 'sql', sal: 'sal' };

/** The increments one KPI input adds. Pure; the counter store applies them exactly once per event. */
export function countersFor(input: KpiInput, settings: WorkspaceSettings): CounterIncrement[] {
  const day = dayOf(input.at, settings.timeZone);
  const out: CounterIncrement[] = [];
  const add = (
    metric: KpiMetric,
    dimensions: readonly DimensionValue[],
    options: { by?: number; currency?: string | null; distinct?: DistinctKey } = {},
  ) => {
    for (const [dimension, value] of dimensions)
      out.push({
        day,
        metric,
        currency: options.currency ?? null,
        dimension,
        value,
        by: options.by ?? 1,
        ...(options.distinct === undefined ? {} : { distinct: options.distinct }),
      });
  };
  switch (input.kind) {
    case 'sessionStarted': {
      const dimensions = touchDimensions(input);
      add('sessions', dimensions);
      const social: DimensionValue[] = SOCIAL_CHANNELS.includes(input.channel)
        ? [['channelGroup', SOCIAL_GROUP]]
        : [];
      add('visitors', [...dimensions, ...social], { distinct: { key: input.profileId, scope: 'day' } });
      break;
    }
    case 'pageViewed':
      add('pageViews', touchDimensions(input.session));
      break;
    case 'stageEntered': {
      const dimensions = touchDimensions(input.session);
      if (becomesLead(input.from, input.stage))
        add('newLeads', dimensions, { distinct: { key: input.profileId, scope: 'ever' } });
      const metric = STAGE_METRICS[input.stage];
      if (metric !== undefined) add(metric, dimensions);
      break;
    }
    case 'revenue': {
      const currency = input.currency ?? settings.currency ?? 'USD';
      const dimensions = revenueDimensions(input);
      add('revenue', dimensions, { by: input.amount, currency });
      // Orders, like new customers, per the session the order happened in (last touch).
      add(
        'orders',
        dimensions.filter(([dimension]) => !dimension.startsWith('firstTouch')),
      );
      add('payingProfiles', [['all', 'all']], { currency, distinct: { key: input.profileId, scope: 'day' } });
      add(
        'newCustomers',
        dimensions.filter(([dimension]) => dimension !== 'firstTouchCampaign'),
        { distinct: { key: input.profileId, scope: 'ever' } },
      );
      add('currencyCustomers', [['all', 'all']], {
        currency,
        distinct: { key: input.profileId, scope: 'ever' },
      });
      break;
    }
    case 'email':
      add(EMAIL_METRICS[input.outcome], [
        ['all', 'all'],
        ['journey', input.journeyId ?? NONE],
      ]);
      break;
    case 'journey': {
      const metric = input.outcome === 'entered' ? 'journeyEntered' : 'journeyGoal';
      const variant: DimensionValue[] =
        input.variant === null ? [] : [['variant', `${input.journeyId}/${input.variant}`]];
      add(metric, [['journey', input.journeyId], ...variant]);
      break;
    }
  }
  return out;
}

/**
 * One event's increments with those on the same counter and marker added together (a page event that also starts a
 * session yields several inputs), so a store never touches one counter twice in one write.
 */
export function mergeIncrements(increments: readonly CounterIncrement[]): CounterIncrement[] {
  const merged = new Map<string, CounterIncrement>();
  for (const increment of increments) {
    const key = `${increment.day}\u001e${counterKey(increment)}\u001e${markerOf(increment) ?? ''}`;
    const existing = merged.get(key);
    merged.set(key, existing === undefined ? increment : { ...existing, by: existing.by + increment.by });
  }
  return [...merged.values()];
}
