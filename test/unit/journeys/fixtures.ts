// Journeys and profiles the engine tests share: the renewal-offer journey a marketer would build, and its audience.
import {
  type JourneyDefinitionInput,
  parseJourneyDefinition,
} from '../../../functions/journeys/definition.ts';
import type { JourneyContext } from '../../../functions/journeys/engine.ts';
import type { IncomingEvent, ProfileFacts, Timer } from '../../../functions/journeys/model.ts';
import type { JsonObject } from '../../../functions/tracking/model.ts';

export const JOURNEY_ID = 'renewal-offer';

/** 90 days before the subscription ends: wait for 10:00 local, offer by email and banner, remind after a week. */
export const renewalOffer: JourneyDefinitionInput = {
  name: 'Renewal offer',
  triggers: [{ type: 'date', attribute: 'subscription.endsAt', offset: '-P90D' }],
  entry: {
    condition: {
      all: [
        { trait: 'clv', op: 'gte', value: 5000 },
        {
          events: { event: 'nps.submitted', where: [{ property: 'score', op: 'gte', value: 7 }] },
          within: 'P90D',
        },
      ],
    },
  },
  goals: [{ id: 'renewed', match: { event: 'renewal.accepted' } }],
  start: 'morning',
  nodes: {
    morning: { type: 'wait', untilTimeOfDay: '10:00', next: 'offer' },
    offer: { type: 'sendEmail', templateId: 'renewal-offer', next: 'banner' },
    banner: {
      type: 'setBanner',
      placement: 'dashboard-top',
      content: { title: 'Renew now and save 20%' },
      expiresAfter: 'P30D',
      next: 'await',
    },
    await: {
      type: 'waitForEvent',
      match: { event: 'offer.clicked' },
      timeout: 'P7D',
      onEvent: 'tellSales',
      onTimeout: 'reminder',
    },
    tellSales: { type: 'webhook', endpointId: 'crm', eventType: 'renewal.interested', next: 'done' },
    reminder: { type: 'sendEmail', templateId: 'renewal-reminder', next: 'done' },
    done: { type: 'exit' },
  },
};

/** A promoter worth 7200 in Berlin whose subscription ends on 30 September 2025. */
export function promoter(
  overrides: { traits?: JsonObject; events?: ProfileFacts['events'] } = {},
): ProfileFacts {
  return {
    profileId: 'p-1',
    userId: 'u-1',
    traits: {
      clv: 7200,
      timezone: 'Europe/Berlin',
      subscription: { endsAt: '2025-09-30T00:00:00Z' },
      ...overrides.traits,
    },
    scores: {},
    stage: 'customer',
    segments: [],
    events: overrides.events ?? [
      { event: 'nps.submitted', properties: { score: 9 }, at: '2025-06-20T12:00:00Z' },
    ],
  };
}

export function context({
  definition = renewalOffer,
  facts = promoter(),
  now,
  status = 'active',
}: {
  definition?: JourneyDefinitionInput;
  facts?: ProfileFacts;
  now: string;
  status?: JourneyContext['status'];
}): JourneyContext {
  return {
    journeyId: JOURNEY_ID,
    version: 1,
    definition: parseJourneyDefinition(definition),
    status,
    facts,
    now: new Date(now),
  };
}

export function tracked({
  event,
  key,
  at,
  properties = {},
}: {
  event: string;
  key: string;
  at: string;
  properties?: JsonObject;
}): IncomingEvent {
  return {
    source: 'nurture.tracking',
    'detail-type': 'event.tracked',
    detail: { event, properties, profileId: 'p-1' },
    dedupeKey: key,
    time: at,
  };
}

/** The timer the store would fire for a waiting enrollment. */
export function dueTimer(waiting: { timerId: string; until: string } | null): Timer {
  if (!waiting) throw new Error('the enrollment is not waiting');
  return {
    timerId: waiting.timerId,
    dueAt: waiting.until,
    profileId: 'p-1',
    journeyId: JOURNEY_ID,
    kind: 'step',
  };
}
