// Which events a journey reacts to, and when a date trigger (90 days before renewal) lets a profile in.
import { describe, expect, it } from 'vitest';
import { parseJourneyDefinition } from '../../../functions/journeys/definition.ts';
import { dateTriggerState, matchesEvent } from '../../../functions/journeys/matching.ts';
import type { IncomingEvent } from '../../../functions/journeys/model.ts';
import { tracked } from './fixtures.ts';

const click = tracked({
  event: 'offer.clicked',
  key: 'k-1',
  at: '2025-07-01T00:00:00Z',
  properties: { plan: 'pro' },
});

const messageClicked: IncomingEvent = {
  source: 'nurture.messaging',
  'detail-type': 'message.clicked',
  detail: { profileId: 'p-1', templateId: 'renewal-offer' },
  dedupeKey: 'm-1',
  time: '2025-07-01T00:00:00Z',
};

describe('event matchers', () => {
  it('match a tracked event by name and property filters', () => {
    expect(
      matchesEvent({ event: 'offer.clicked', where: [{ property: 'plan', op: 'eq', value: 'pro' }] }, click),
    ).toBe(true);
    expect(
      matchesEvent({ event: 'offer.clicked', where: [{ property: 'plan', op: 'eq', value: 'free' }] }, click),
    ).toBe(false);
    expect(matchesEvent({ event: 'offer.viewed', where: [] }, click)).toBe(false);
  });

  it('do not take a domain event for a tracked event of the same name', () => {
    expect(matchesEvent({ event: 'message.clicked', where: [] }, messageClicked)).toBe(false);
  });

  it('match any domain event with an EventBridge pattern', () => {
    const pattern = { 'detail-type': ['message.clicked'], detail: { templateId: [{ prefix: 'renewal' }] } };

    expect(matchesEvent({ pattern, where: [] }, messageClicked)).toBe(true);
    expect(matchesEvent({ pattern, where: [] }, click)).toBe(false);
  });
});

describe('date triggers', () => {
  const definition = parseJourneyDefinition({
    name: 'Renewal',
    triggers: [{ type: 'date', attribute: 'subscription.endsAt', offset: '-P90D' }],
    start: 'done',
    nodes: { done: { type: 'exit' } },
  });
  const trigger = definition.triggers[0];
  if (trigger?.type !== 'date') throw new Error('fixture has no date trigger');
  const traits = { subscription: { endsAt: '2025-09-30T00:00:00Z' } };

  it('are in the future before the moment', () => {
    const state = dateTriggerState({ trigger, traits, now: new Date('2025-06-01T00:00:00Z') });

    expect(state).toEqual({ state: 'future', at: new Date('2025-07-02T00:00:00Z') });
  });

  it('are due from the moment until the date itself when the offset is negative', () => {
    const due = dateTriggerState({ trigger, traits, now: new Date('2025-09-29T00:00:00Z') });
    const late = dateTriggerState({ trigger, traits, now: new Date('2025-09-30T00:00:00Z') });

    expect(due).toEqual({ state: 'due', moment: new Date('2025-07-02T00:00:00Z') });
    expect(late).toEqual({ state: 'none' });
  });

  it('have nothing to do for a profile without the date', () => {
    expect(dateTriggerState({ trigger, traits: { subscription: {} }, now: new Date() })).toEqual({
      state: 'none',
    });
  });
});
