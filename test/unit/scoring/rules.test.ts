// Scoring rules documents: what a marketer may write, what is refused with a usable message, and what a page rule matches.
import { describe, expect, it } from 'vitest';
import {
  behaviourRuleMatches,
  compileUrlPattern,
  halfLifeMillis,
  InvalidScoringRulesError,
  parseScoringRules,
} from '../../../functions/scoring/rules.ts';
import { DAY, pageView, rules, tracked } from './fixtures.ts';

const at = '2026-03-02T10:00:00Z';

function pricingRule() {
  const rule = rules.behaviour.find((candidate) => candidate.id === 'pricing-page');
  if (!rule) throw new Error('fixture has no pricing rule');
  return rule;
}

describe('scoring rules documents', () => {
  it('fill in score names, weights, the MQL threshold and the default lead events when left out', () => {
    const parsed = parseScoringRules({});

    expect(parsed.scores).toEqual({
      behaviour: 'behaviour',
      fit: 'fit',
      combined: 'combined',
      weights: { behaviour: 1, fit: 1 },
    });
    expect(parsed.thresholds).toEqual([{ stage: 'mql', score: 'combined', atLeast: 100 }]);
    expect(parsed.leadEvents.map((matcher) => matcher.event)).toEqual([
      'Form Submitted',
      'form.submitted',
      undefined,
    ]);
    expect(parsed.leadEvents[2]?.pattern).toEqual({
      source: ['nurture.tracking'],
      'detail-type': ['event.tracked'],
      detail: { hasEmail: [true] },
    });
    expect(parsed.decay).toBeUndefined();
  });

  it('read the half-life in milliseconds', () => {
    expect(halfLifeMillis(rules)).toBe(30 * DAY);
  });

  it('refuse a behaviour rule that names both an event and a page', () => {
    const input = {
      behaviour: [{ id: 'both', match: { event: 'x' }, page: { urlPattern: '/pricing' }, points: 1 }],
    };

    expect(() => parseScoringRules(input)).toThrow(/behaviour\.0: give exactly one of "match"/);
  });

  it('refuse a half-life or cap period in months, whose length depends on the month', () => {
    expect(() => parseScoringRules({ decay: { halfLife: 'P1M' } })).toThrow(InvalidScoringRulesError);
    expect(() =>
      parseScoringRules({
        behaviour: [{ id: 'a', match: { event: 'x' }, points: 1, cap: { max: 5, per: 'P1M' } }],
      }),
    ).toThrow(/cap\.per/);
  });

  it('refuse fit rules that read events or scores instead of traits', () => {
    const input = {
      fit: [{ id: 'busy', condition: { events: { event: 'x' }, within: 'P7D' }, points: 5 }],
    };

    expect(() => parseScoringRules(input)).toThrow(/fit conditions read traits only/);
  });

  it('refuse the same rule id twice, across behaviour and fit', () => {
    const input = {
      behaviour: [{ id: 'same', match: { event: 'x' }, points: 1 }],
      fit: [{ id: 'same', condition: { trait: 'title', op: 'exists' }, points: 1 }],
    };

    expect(() => parseScoringRules(input)).toThrow(/rule id "same" is used twice/);
  });

  it('refuse a rule worth 0 points and report every problem at once', () => {
    const input = {
      behaviour: [{ id: 'nothing', match: { event: 'x' }, points: 0 }],
      scores: { behaviour: 'same', fit: 'same' },
    };

    expect(() => parseScoringRules(input)).toThrow(
      /0 points.*; .*score names must differ|score names must differ.*; .*0 points/,
    );
  });
});

describe('page rules', () => {
  it('match a pricing page view by its path, whatever the host and query', () => {
    const view = pageView({ url: 'https://example.com/pricing?plan=team', key: 'v1', at });

    expect(behaviourRuleMatches(pricingRule(), view)).toBe(true);
  });

  it('do not match other pages or tracked events that mention the pricing page', () => {
    const other = pageView({ url: 'https://example.com/blog/pricing-tips', key: 'v2', at });
    const track = tracked({
      event: 'Clicked',
      key: 't1',
      at,
      properties: { url: 'https://example.com/pricing' },
    });

    expect(behaviourRuleMatches(pricingRule(), other)).toBe(false);
    expect(behaviourRuleMatches(pricingRule(), track)).toBe(false);
  });

  it('accept a regular expression written between slashes', () => {
    const pattern = compileUrlPattern('/^https:\\/\\/example\\.com\\/(pricing|plans)/i');

    expect(pattern.test('https://example.com/Plans/team')).toBe(true);
    expect(pattern.test('https://other.com/pricing')).toBe(false);
  });

  it('treat regular-expression characters in a glob literally', () => {
    const pattern = compileUrlPattern('/docs/v1.0/*');

    expect(pattern.test('/docs/v1.0/setup')).toBe(true);
    expect(pattern.test('/docs/v1x0/setup')).toBe(false);
  });
});
