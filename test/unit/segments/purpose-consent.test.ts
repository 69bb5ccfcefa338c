// Segment rules on consent purposes: a profile is in or out by its tracking, email marketing or personalization state.
import { describe, expect, it } from 'vitest';
import { segmentRuleSchema } from '../../../functions/segments/definition.ts';
import { evaluateMembership, type MembershipConsent } from '../../../functions/segments/membership.ts';
import { recordConsent } from '../../../functions/tracking/consent.ts';

const NOW = new Date('2025-03-01T12:00:00Z');

function consentOf(
  categoryPreferences: Record<string, boolean> | null,
  extra: Partial<MembershipConsent> = {},
) {
  return {
    profile:
      categoryPreferences === null
        ? null
        : recordConsent(null, {
            categoryPreferences,
            at: '2025-03-01T09:00:00Z',
            source: 'admin',
            evidence: null,
          }),
    email: 'jane@example.com',
    address: null,
    ...extra,
  } satisfies MembershipConsent;
}

function member(rule: unknown, consent: MembershipConsent): boolean {
  return evaluateMembership({
    segment: { rule: segmentRuleSchema.parse(rule) },
    facts: {
      profileId: 'p-1',
      userId: 'u-1',
      traits: {},
      scores: {},
      stage: 'lead',
      segments: [],
      events: [],
    },
    consent,
    now: NOW,
  }).member;
}

describe('segment rules on consent purposes', () => {
  it('holds a profile that granted personalization in a "personalization granted" segment', () => {
    expect(member({ purpose: 'personalization', state: 'granted' }, consentOf({ functional: true }))).toBe(
      true,
    );
  });

  it('drops the profile once personalization is refused', () => {
    expect(member({ purpose: 'personalization', state: 'granted' }, consentOf({ functional: false }))).toBe(
      false,
    );
  });

  it('finds profiles never asked about email marketing, to ask them', () => {
    expect(member({ purpose: 'emailMarketing', state: 'unknown' }, consentOf(null))).toBe(true);
    expect(member({ purpose: 'emailMarketing', state: 'unknown' }, consentOf({ marketing: false }))).toBe(
      false,
    );
  });

  it('reads email marketing through the send policy’s categories when no purpose configuration is given', () => {
    const consent = consentOf(
      { newsletter: true },
      { policy: { categories: ['newsletter'], requireOptIn: true } },
    );

    expect(member({ purpose: 'emailMarketing', state: 'granted' }, consent)).toBe(true);
  });

  it('reads the configured categories of a purpose', () => {
    const purposes = { tracking: ['statistics'], emailMarketing: ['marketing'], personalization: ['ux'] };

    expect(
      member({ purpose: 'tracking', state: 'denied' }, consentOf({ statistics: false }, { purposes })),
    ).toBe(true);
  });

  it('refuses a rule naming a purpose that does not exist', () => {
    expect(segmentRuleSchema.safeParse({ purpose: 'profiling', state: 'granted' }).success).toBe(false);
  });
});
