// Builders of the domain events that feed KPIs, shaped exactly like the catalogue's details.
import { InMemoryCounterStore } from '../../../functions/kpis/counter-store.ts';
import { countersFor, mergeIncrements, type WorkspaceSettings } from '../../../functions/kpis/counters.ts';
import { kpiDedupeKey, kpiInputsFrom } from '../../../functions/kpis/inputs.ts';

export interface DomainEvent {
  readonly detailType: string;
  readonly detail: Record<string, unknown>;
}

type Channel =
  | 'paid search'
  | 'paid social'
  | 'organic social'
  | 'organic search'
  | 'direct'
  | 'referral'
  | 'email';

export function tracked(input: {
  key: string;
  profileId: string;
  at: string;
  type?: 'page' | 'track' | 'identify';
  event?: string;
  sessionStart?: boolean;
  channel?: Channel;
  campaign?: string | null;
  landingPage?: string | null;
  device?: 'desktop' | 'mobile' | 'tablet';
  properties?: Record<string, unknown>;
  session?: Record<string, unknown> | null;
  firstTouch?: { channel: string; campaign: string | null } | null;
}): DomainEvent {
  return {
    detailType: 'event.tracked',
    detail: {
      dedupeKey: `src:${input.key}`,
      profileId: input.profileId,
      sourceId: 'src',
      messageId: input.key,
      type: input.type ?? 'page',
      event: input.event ?? null,
      name: null,
      userId: null,
      anonymousId: `anon-${input.profileId}`,
      eventTime: input.at,
      channel: input.channel ?? 'direct',
      campaign: input.campaign ?? null,
      landingPage: input.landingPage ?? null,
      device: input.device ?? 'desktop',
      properties: input.properties ?? {},
      ...(input.sessionStart === undefined ? {} : { sessionStart: input.sessionStart }),
      ...(input.session === undefined ? {} : { session: input.session }),
      ...(input.firstTouch === undefined ? {} : { firstTouch: input.firstTouch }),
    },
  };
}

export function stageChanged(input: {
  key: string;
  profileId: string;
  at: string;
  from: string | null;
  to: string;
  session?: Record<string, unknown> | null;
}): DomainEvent {
  return {
    detailType: 'lead.stage_changed',
    detail: {
      dedupeKey: `${input.profileId}:stage:${input.key}`,
      profileId: input.profileId,
      from: input.from,
      to: input.to,
      at: input.at,
      reason: 'test',
      by: 'rules',
      trigger: 'threshold',
      ...(input.session === undefined ? {} : { session: input.session }),
    },
  };
}

export function revenueAttributed(input: {
  profileId: string;
  dealId: string;
  at: string;
  revenue: number;
  currency: string;
  firstTouch: { channel: string; campaign: string | null } | null;
  lastTouch: { channel: string; campaign: string | null } | null;
}): DomainEvent {
  const { profileId, dealId, at, revenue, currency, firstTouch, lastTouch } = input;
  return {
    detailType: 'lead.revenue_attributed',
    detail: {
      dedupeKey: `deal:${profileId}:${dealId}`,
      profileId,
      dealId,
      revenue,
      currency,
      at,
      firstTouch,
      lastTouch,
    },
  };
}

export function message(input: {
  detailType: string;
  messageId: string;
  profileId: string;
  at: string;
  journeyId?: string | null;
  test?: boolean;
}): DomainEvent {
  return {
    detailType: input.detailType,
    detail: {
      dedupeKey: `${input.detailType}:${input.messageId}`,
      messageId: input.messageId,
      profileId: input.profileId,
      templateId: 'welcome',
      journeyId: input.journeyId ?? null,
      stepId: null,
      variant: null,
      topic: 'marketing',
      status: 'sent',
      reason: null,
      at: input.at,
      test: input.test ?? false,
    },
  };
}

export function journey(input: {
  outcome: 'entered' | 'goal' | 'completed';
  journeyId: string;
  profileId: string;
  variant: string | null;
  at: string;
}): DomainEvent {
  const base = {
    profileId: input.profileId,
    journeyId: input.journeyId,
    journeyVersion: 1,
    run: 1,
    at: input.at,
    variant: input.variant,
  };
  if (input.outcome === 'entered')
    return {
      detailType: 'journey.entered',
      detail: { ...base, dedupeKey: `${input.journeyId}:${input.profileId}:1:entered` },
    };
  return {
    detailType: 'journey.exited',
    detail: {
      ...base,
      dedupeKey: `${input.journeyId}:${input.profileId}:1:exited`,
      reason: input.outcome,
      goalId: input.outcome === 'goal' ? 'bought' : null,
      nodeId: 'end',
    },
  };
}

/** Plays events through the write path the handler will use: inputs, increments, one exactly-once apply each. */
export async function play(
  events: readonly DomainEvent[],
  settings: WorkspaceSettings = { timeZone: 'UTC', currency: 'EUR' },
  store = new InMemoryCounterStore(),
): Promise<InMemoryCounterStore> {
  for (const { detailType, detail } of events) {
    const increments = mergeIncrements(
      kpiInputsFrom(detailType, detail).flatMap((input) => countersFor(input, settings)),
    );
    await store.apply({ dedupeKey: kpiDedupeKey(detailType, detail), increments });
  }
  return store;
}
