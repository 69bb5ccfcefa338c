// Scoring rules a B2B marketer would write, and the tracked events and page views the scoring tests feed them.
import type { IncomingEvent } from '../../../functions/journeys/model.ts';
import { parseScoringRules, type ScoringRulesInput } from '../../../functions/scoring/rules.ts';
import type { JsonObject } from '../../../functions/tracking/model.ts';

export const DAY = 24 * 60 * 60 * 1000;

/** Pricing page views (capped), demo requests, email clicks, unsubscribes; fit by title, size, industry, country. */
export const b2bRules: ScoringRulesInput = {
  version: 3,
  behaviour: [
    {
      id: 'pricing-page',
      description: 'Viewed the pricing page',
      page: { urlPattern: '/pricing*' },
      points: 10,
      cap: { max: 30, per: 'P1D' },
    },
    { id: 'demo-request', description: 'Requested a demo', match: { event: 'Demo Requested' }, points: 50 },
    {
      id: 'email-click',
      match: { pattern: { source: ['nurture.messaging'], 'detail-type': ['message.clicked'] } },
      points: 5,
    },
    { id: 'unsubscribed', match: { event: 'Unsubscribed' }, points: -20 },
  ],
  fit: [
    {
      id: 'vp-title',
      description: 'VP or above',
      condition: { trait: 'title', op: 'contains', value: 'VP' },
      points: 20,
    },
    { id: 'company-size', condition: { trait: 'company.size', op: 'gte', value: 200 }, points: 15 },
    {
      id: 'target-industry',
      condition: { trait: 'industry', op: 'in', value: ['software', 'fintech'] },
      points: 10,
    },
    { id: 'student', condition: { trait: 'title', op: 'contains', value: 'Student' }, points: -30 },
  ],
  decay: { halfLife: 'P30D' },
  thresholds: [
    { stage: 'lead', score: 'combined', atLeast: 20 },
    { stage: 'mql', score: 'combined', atLeast: 100 },
  ],
};

export const rules = parseScoringRules(b2bRules);

/** The same rules without decay, for arithmetic that should not depend on time. */
export const rulesWithoutDecay = parseScoringRules({ ...b2bRules, decay: undefined });

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
    detail: { type: 'track', event, name: null, properties, profileId: 'p-1' },
    dedupeKey: key,
    time: at,
  };
}

export function pageView({ url, key, at }: { url: string; key: string; at: string }): IncomingEvent {
  return {
    source: 'nurture.tracking',
    'detail-type': 'event.tracked',
    detail: { type: 'page', event: null, name: null, properties: { url }, profileId: 'p-1' },
    dedupeKey: key,
    time: at,
  };
}

export function emailClick({ key, at }: { key: string; at: string }): IncomingEvent {
  return {
    source: 'nurture.messaging',
    'detail-type': 'message.clicked',
    detail: { profileId: 'p-1', templateId: 'welcome' },
    dedupeKey: key,
    time: at,
  };
}

export function later(at: string, millis: number): Date {
  return new Date(Date.parse(at) + millis);
}
