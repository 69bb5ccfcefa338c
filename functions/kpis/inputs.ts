// KPI inputs: the catalogued domain events that feed KPIs, normalised into the few facts the counters need.
import * as z from 'zod';
import type { LeadStage } from '../journeys/definition.ts';
import { journeyEntered, journeyExited } from '../journeys/domain-events.ts';
import {
  contactUnsubscribed,
  messageBounced,
  messageClicked,
  messageComplained,
  messageDelivered,
  messageOpened,
  messageSent,
} from '../messaging/domain-events.ts';
import { leadRevenueAttributed, leadStageChanged } from '../scoring/domain-events.ts';
import { eventTracked } from '../tracking/domain-events.ts';
import { DEVICE_TYPES, type DeviceType } from '../tracking/model.ts';
import { CHANNELS } from '../tracking/schemas.ts';

/** Where a session came from: the channel, campaign, landing page and device of its first event (KPIS.md). */
export interface SessionTouch {
  readonly channel: string;
  readonly campaign: string | null;
  readonly landingPage: string | null;
  readonly device: DeviceType | null;
}

/** A channel and campaign a profile's revenue is credited to. */
export interface RevenueTouch {
  readonly channel: string;
  readonly campaign: string | null;
}

/** The session an order happened in (last touch): also its landing page, for the landing-page rows. */
export interface LastTouch extends RevenueTouch {
  /** Null when the session had no page; undefined when unknown (a won deal published before pages were carried). */
  readonly landingPage?: string | null;
}

export const EMAIL_OUTCOMES = [
  'sent',
  'delivered',
  'hardBounced',
  'softBounced',
  'complained',
  'opened',
  'humanOpened',
  'clicked',
  'unsubscribed',
] as const;
export type EmailOutcome = (typeof EMAIL_OUTCOMES)[number];

/** One fact a KPI counts. `at` is the (skew-corrected) event time that decides the day it belongs to. */
export type KpiInput =
  | ({ readonly kind: 'sessionStarted'; readonly profileId: string; readonly at: string } & SessionTouch)
  | {
      readonly kind: 'pageViewed';
      readonly profileId: string;
      readonly at: string;
      /** The session the page view belongs to (it may have started the day before). */
      readonly session: SessionTouch;
    }
  | {
      readonly kind: 'stageEntered';
      readonly profileId: string;
      readonly at: string;
      readonly from: LeadStage | null;
      readonly stage: LeadStage;
      /** The session in which the profile moved, when the event that moved it is known; else null. */
      readonly session: SessionTouch | null;
    }
  | {
      readonly kind: 'revenue';
      /** `order`: an `Order Completed` track event; `deal`: a won deal (`lead.revenue_attributed`). */
      readonly source: 'order' | 'deal';
      readonly profileId: string;
      readonly at: string;
      readonly amount: number;
      /** ISO 4217 code; null when the event named none (the workspace currency is meant). */
      readonly currency: string | null;
      readonly firstTouch: RevenueTouch | null;
      /** The session in which the order happened (last touch). */
      readonly lastTouch: LastTouch | null;
      readonly device: DeviceType | null;
    }
  | {
      readonly kind: 'email';
      readonly outcome: EmailOutcome;
      readonly messageId: string;
      readonly profileId: string;
      readonly at: string;
      readonly journeyId: string | null;
    }
  | {
      readonly kind: 'journey';
      readonly outcome: 'entered' | 'goal';
      readonly profileId: string;
      readonly journeyId: string;
      readonly variant: string | null;
      readonly at: string;
    };

export type KpiInputKind = KpiInput['kind'];

export const ORDER_COMPLETED_EVENT = 'Order Completed';

const sessionTouchSchema = z.object({
  channel: z.enum(CHANNELS),
  campaign: z.string().nullable(),
  landingPage: z.string().nullable(),
  device: z.enum(DEVICE_TYPES).nullable(),
});

/**
 * event.tracked as KPIs read it. `sessionStart`, `session` and `firstTouch` are not in the catalogue yet (the lead
 * adds them to the tracking event): without `sessionStart: true` no session is counted; without `session` a page
 * view is credited to the event's own touch (right for the first page of a session, `direct` for internal clicks);
 * without `firstTouch` an order's first-touch channel is unknown.
 */
export const trackedForKpis = eventTracked.detail.extend({
  sessionStart: z.boolean().optional(),
  session: sessionTouchSchema.nullable().optional(),
  firstTouch: z.object({ channel: z.string(), campaign: z.string().nullable() }).nullable().optional(),
});

/** lead.stage_changed as KPIs read it; `session` (the session of the event that moved the stage) is optional. */
export const stageChangedForKpis = leadStageChanged.detail.extend({
  session: sessionTouchSchema.nullable().optional(),
});

/**
 * Messaging publishes the first open of any kind and hard bounces only. Human opens and soft bounces need their own
 * events; these names are proposed (same detail as the other message events) and read here once they are published.
 */
export const PROPOSED_MESSAGE_EVENTS = {
  'message.human_opened': 'humanOpened',
  'message.soft_bounced': 'softBounced',
} as const satisfies Record<string, EmailOutcome>;

const MESSAGE_EVENTS: Record<string, EmailOutcome> = {
  [messageSent.detailType]: 'sent',
  [messageDelivered.detailType]: 'delivered',
  [messageBounced.detailType]: 'hardBounced',
  [messageComplained.detailType]: 'complained',
  [messageOpened.detailType]: 'opened',
  [messageClicked.detailType]: 'clicked',
  [contactUnsubscribed.detailType]: 'unsubscribed',
  ...PROPOSED_MESSAGE_EVENTS,
};

/** The detail types KPIs consume (for the EventBridge rule); the proposed message events are included. */
export const KPI_DETAIL_TYPES: readonly string[] = [
  eventTracked.detailType,
  leadStageChanged.detailType,
  leadRevenueAttributed.detailType,
  journeyEntered.detailType,
  journeyExited.detailType,
  ...Object.keys(MESSAGE_EVENTS),
];

const amountSchema = z.union([
  z.number(),
  z
    .string()
    .regex(/^-?\d+(\.\d+)?$/)
    .transform(Number),
]);
const currencySchema = z
  .string()
  .regex(/^[A-Za-z]{3}$/)
  .transform((code) => code.toUpperCase());

/** `properties.revenue`, else `properties.total` (KPIS.md), as a finite number; undefined when neither is one. */
function orderAmount(properties: Record<string, unknown>): number | undefined {
  for (const field of ['revenue', 'total']) {
    const parsed = amountSchema.safeParse(properties[field]);
    if (parsed.success && Number.isFinite(parsed.data)) return parsed.data;
  }
  return undefined;
}

function fromTracked(detail: z.infer<typeof trackedForKpis>): KpiInput[] {
  const own: SessionTouch = {
    channel: detail.channel,
    campaign: detail.campaign,
    landingPage: detail.landingPage,
    device: detail.device,
  };
  // The event that starts a session carries the session's touch itself.
  const session = detail.sessionStart === true ? own : (detail.session ?? own);
  const base = { profileId: detail.profileId, at: detail.eventTime };
  const inputs: KpiInput[] = [];
  if (detail.sessionStart === true) inputs.push({ kind: 'sessionStarted', ...base, ...own });
  if (detail.type === 'page') inputs.push({ kind: 'pageViewed', ...base, session });
  if (detail.type === 'track' && detail.event === ORDER_COMPLETED_EVENT) {
    const amount = orderAmount(detail.properties);
    const currency = currencySchema.safeParse(detail.properties.currency);
    if (amount !== undefined)
      inputs.push({
        kind: 'revenue',
        source: 'order',
        ...base,
        amount,
        currency: currency.success ? currency.data : null,
        firstTouch: detail.firstTouch ?? null,
        lastTouch: { channel: session.channel, campaign: session.campaign, landingPage: session.landingPage },
        device: session.device,
      });
  }
  return inputs;
}

function fromStageChange(detail: z.infer<typeof stageChangedForKpis>): KpiInput[] {
  return [
    {
      kind: 'stageEntered',
      profileId: detail.profileId,
      at: detail.at,
      from: detail.from,
      stage: detail.to,
      session: detail.session ?? null,
    },
  ];
}

function fromRevenue(detail: z.infer<typeof leadRevenueAttributed.detail>): KpiInput[] {
  return [
    {
      kind: 'revenue',
      source: 'deal',
      profileId: detail.profileId,
      at: detail.at,
      amount: detail.revenue,
      currency: detail.currency.toUpperCase(),
      firstTouch: detail.firstTouch && {
        channel: detail.firstTouch.channel,
        campaign: detail.firstTouch.campaign,
      },
      lastTouch: detail.lastTouch && {
        channel: detail.lastTouch.channel,
        campaign: detail.lastTouch.campaign,
        ...(detail.lastTouch.landingPage === undefined ? {} : { landingPage: detail.lastTouch.landingPage }),
      },
      // The session the deal was won in, when scoring knew it (a deal from a CRM may fall in none).
      device: detail.lastTouch?.device ?? null,
    },
  ];
}

function fromMessage(outcome: EmailOutcome, detail: z.infer<typeof messageSent.detail>): KpiInput[] {
  // Test sends are previews for the marketer, not email the audience received.
  if (detail.test) return [];
  return [
    {
      kind: 'email',
      outcome,
      messageId: detail.messageId,
      profileId: detail.profileId,
      at: detail.at,
      journeyId: detail.journeyId,
    },
  ];
}

/**
 * The KPI inputs one domain event stands for: none for events KPIs ignore, several when one event is both a session
 * start and a page view or order. Throws (zod) when a consumed event does not match its catalogue schema.
 */
export function kpiInputsFrom(detailType: string, detail: unknown): KpiInput[] {
  if (detailType === eventTracked.detailType) return fromTracked(trackedForKpis.parse(detail));
  if (detailType === leadStageChanged.detailType) return fromStageChange(stageChangedForKpis.parse(detail));
  if (detailType === leadRevenueAttributed.detailType)
    return fromRevenue(leadRevenueAttributed.detail.parse(detail));
  if (detailType === journeyEntered.detailType) {
    const entered = journeyEntered.detail.parse(detail);
    return [
      {
        kind: 'journey',
        outcome: 'entered',
        profileId: entered.profileId,
        journeyId: entered.journeyId,
        variant: entered.variant,
        at: entered.at,
      },
    ];
  }
  if (detailType === journeyExited.detailType) {
    const exited = journeyExited.detail.parse(detail);
    if (exited.reason !== 'goal') return [];
    return [
      {
        kind: 'journey',
        outcome: 'goal',
        profileId: exited.profileId,
        journeyId: exited.journeyId,
        variant: exited.variant,
        at: exited.at,
      },
    ];
  }
  const outcome = MESSAGE_EVENTS[detailType];
  if (outcome !== undefined) return fromMessage(outcome, messageSent.detail.parse(detail));
  return [];
}

/**
 * The key under which one event's inputs are applied exactly once: its dedupe key, namespaced by detail type because
 * dedupe keys are only unique within one kind of event.
 */
export function kpiDedupeKey(detailType: string, detail: unknown): string {
  return `${detailType}|${z.object({ dedupeKey: z.string().min(1) }).parse(detail).dedupeKey}`;
}

/** Position in the funnel for "first reached lead or later" (recycled sits with leads, as in scoring). */
const FUNNEL_RANK: Record<LeadStage, number> = {
  subscriber: 0,
  lead: 1,
  recycled: 1,
  mql: 2,
  sql: 3,
  sal: 4,
  opportunity: 5,
  customer: 6,
  disqualified: -1,
};

/** Whether a stage change takes a profile from outside the leads into lead or a later stage. */
export function becomesLead(from: LeadStage | null, to: LeadStage): boolean {
  return FUNNEL_RANK[to] >= FUNNEL_RANK.lead && (from === null || FUNNEL_RANK[from] < FUNNEL_RANK.lead);
}
