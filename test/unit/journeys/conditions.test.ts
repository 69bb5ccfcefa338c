// Journey conditions: traits, scores, stages, segments and event counts, each with a reason a marketer can read.
import { describe, expect, it } from 'vitest';
import { compare, evaluate } from '../../../functions/journeys/conditions.ts';
import type { ProfileFacts } from '../../../functions/journeys/model.ts';

const now = new Date('2025-07-02T12:00:00Z');

const facts: ProfileFacts = {
  profileId: 'p-1',
  userId: 'u-1',
  traits: {
    clv: 7200,
    seats: '12',
    plan: 'pro',
    tags: ['beta', 'vip'],
    subscription: { endsAt: '2025-08-01T00:00:00Z', startedAt: '2024-08-01' },
    address: { city: 'Berlin' },
  },
  scores: { engagement: 42 },
  stage: 'customer',
  segments: ['promoters'],
  events: [
    { event: 'nps.submitted', properties: { score: 9 }, at: '2025-06-30T10:00:00Z' },
    { event: 'nps.submitted', properties: { score: 4 }, at: '2025-05-01T10:00:00Z' },
    { event: 'nps.submitted', properties: { score: 10 }, at: '2025-01-01T10:00:00Z' },
    { event: 'page.viewed', properties: { path: '/pricing' }, at: '2025-07-01T10:00:00Z' },
  ],
};

describe('trait conditions', () => {
  it('compare numbers and say what they compared', () => {
    expect(evaluate({ trait: 'clv', op: 'gte', value: 5000 }, facts, now)).toEqual({
      result: true,
      reason: 'traits.clv = 7200 ≥ 5000',
    });
  });

  it('read nested traits by dot path', () => {
    expect(evaluate({ trait: 'address.city', op: 'eq', value: 'Berlin' }, facts, now).result).toBe(true);
  });

  it('compare a number sent as text with a number', () => {
    expect(evaluate({ trait: 'seats', op: 'gt', value: 10 }, facts, now).result).toBe(true);
  });

  it('compare ISO dates as dates', () => {
    expect(
      evaluate({ trait: 'subscription.endsAt', op: 'after', value: '2025-07-31' }, facts, now).result,
    ).toBe(true);
    expect(
      evaluate({ trait: 'subscription.startedAt', op: 'lt', value: '2025-01-01T00:00:00Z' }, facts, now)
        .result,
    ).toBe(true);
  });

  it('find dates within the next or the last period', () => {
    expect(
      evaluate({ trait: 'subscription.endsAt', op: 'withinNext', value: 'P90D' }, facts, now).result,
    ).toBe(true);
    expect(
      evaluate({ trait: 'subscription.endsAt', op: 'withinNext', value: 'P7D' }, facts, now).result,
    ).toBe(false);
    expect(
      evaluate({ trait: 'subscription.startedAt', op: 'withinLast', value: 'P1Y' }, facts, now).result,
    ).toBe(true);
  });

  it('find text inside text and elements inside lists', () => {
    expect(evaluate({ trait: 'plan', op: 'contains', value: 'ro' }, facts, now).result).toBe(true);
    expect(evaluate({ trait: 'tags', op: 'contains', value: 'vip' }, facts, now).result).toBe(true);
    expect(evaluate({ trait: 'tags', op: 'contains', value: 'v' }, facts, now).result).toBe(false);
  });

  it('check membership in a list of values', () => {
    expect(evaluate({ trait: 'plan', op: 'in', value: ['pro', 'enterprise'] }, facts, now).result).toBe(true);
    expect(evaluate({ trait: 'plan', op: 'notIn', value: ['pro', 'enterprise'] }, facts, now).result).toBe(
      false,
    );
  });

  it('compare objects and lists by their content', () => {
    expect(evaluate({ trait: 'tags', op: 'eq', value: ['beta', 'vip'] }, facts, now).result).toBe(true);
  });

  it('treat a missing trait as failing every comparison except the negative ones', () => {
    expect(evaluate({ trait: 'missing', op: 'gte', value: 0 }, facts, now)).toEqual({
      result: false,
      reason: 'traits.missing is missing',
    });
    expect(evaluate({ trait: 'missing', op: 'eq', value: null }, facts, now).result).toBe(false);
    expect(evaluate({ trait: 'missing', op: 'neq', value: 'x' }, facts, now).result).toBe(true);
    expect(evaluate({ trait: 'missing', op: 'notExists' }, facts, now).result).toBe(true);
    expect(evaluate({ trait: 'plan', op: 'exists' }, facts, now).result).toBe(true);
  });

  it('never read through the object prototype', () => {
    expect(compare(undefined, { op: 'exists' }, now)).toBe(false);
    expect(evaluate({ trait: 'plan.toString', op: 'exists' }, facts, now).result).toBe(false);
    expect(evaluate({ trait: 'hasOwnProperty', op: 'exists' }, facts, now).result).toBe(false);
  });
});

describe('event-count conditions', () => {
  it('count matching events in the window and say how many there were', () => {
    const condition = { events: { event: 'nps.submitted', where: [] }, within: 'P90D' };

    expect(evaluate(condition, facts, now)).toEqual({
      result: true,
      reason: '2 "nps.submitted" events in P90D (need gte 1)',
    });
  });

  it('count only events whose properties pass the filters', () => {
    const condition = {
      events: { event: 'nps.submitted', where: [{ property: 'score', op: 'gte' as const, value: 7 }] },
      within: 'P90D',
      count: { op: 'gte' as const, value: 2 },
    };

    expect(evaluate(condition, facts, now).result).toBe(false);
  });

  it('match remembered events with an EventBridge pattern over the tracked-event envelope', () => {
    const condition = {
      events: {
        pattern: { detail: { event: ['page.viewed'], properties: { path: [{ prefix: '/pri' }] } } },
        where: [],
      },
      within: 'P7D',
    };

    expect(evaluate(condition, facts, now).result).toBe(true);
  });
});

describe('lead conditions', () => {
  it('read scores, counting a missing score as zero', () => {
    expect(evaluate({ score: 'engagement', op: 'gt', value: 40 }, facts, now).result).toBe(true);
    expect(evaluate({ score: 'fit', op: 'eq', value: 0 }, facts, now).result).toBe(true);
  });

  it('check the lifecycle stage and segment membership', () => {
    expect(evaluate({ stage: { in: ['customer', 'opportunity'] } }, facts, now).result).toBe(true);
    expect(evaluate({ segment: 'promoters' }, facts, now).result).toBe(true);
    expect(evaluate({ segment: 'promoters', member: false }, facts, now).result).toBe(false);
  });
});

describe('combined conditions', () => {
  it('need every part for all, one part for any, and the opposite for not', () => {
    const high = { trait: 'clv', op: 'gte' as const, value: 5000 };
    const low = { trait: 'clv', op: 'lt' as const, value: 100 };

    expect(evaluate({ all: [high, low] }, facts, now)).toEqual({
      result: false,
      reason: 'traits.clv = 7200 is not < 100',
    });
    expect(evaluate({ any: [low, high] }, facts, now).result).toBe(true);
    expect(evaluate({ not: low }, facts, now).result).toBe(true);
  });
});
