// Segment membership: who is in, why, and the next moment that could change without anything happening.
import { describe, expect, it } from 'vitest';
import type { FactEvent, ProfileFacts } from '../../../functions/journeys/model.ts';
import type { AddressState } from '../../../functions/messaging/model.ts';
import { segmentRuleSchema } from '../../../functions/segments/definition.ts';
import {
  evaluateMembership,
  type MembershipConsent,
  membersCsv,
  membershipChange,
} from '../../../functions/segments/membership.ts';

const NOW = new Date('2025-07-02T12:00:00.000Z');
const DAY = 86_400_000;

const daysFromNow = (days: number) => new Date(NOW.getTime() + days * DAY);
const at = (days: number) => daysFromNow(days).toISOString();

function facts(overrides: Partial<ProfileFacts> = {}): ProfileFacts {
  return {
    profileId: 'p-1',
    userId: 'u-1',
    traits: { plan: 'pro' },
    scores: { engagement: 42 },
    stage: 'mql',
    segments: ['newsletter'],
    events: [],
    ...overrides,
  };
}

const NO_CONSENT: MembershipConsent = { profile: null, email: 'jane@example.com', address: null };

function decide(rule: unknown, profile: ProfileFacts = facts(), consent = NO_CONSENT, now = NOW) {
  return evaluateMembership({
    segment: { rule: segmentRuleSchema.parse(rule) },
    facts: profile,
    consent,
    now,
  });
}

function viewed(days: number, path = '/pricing'): FactEvent {
  return { event: 'page.viewed', properties: { path }, at: at(days) };
}

const pricingViews = (count: number, within = 'P7D') => ({
  events: { event: 'page.viewed', where: [{ property: 'path', op: 'eq', value: '/pricing' }] },
  within,
  count: { op: 'gte', value: count },
});

describe('membership from profile facts', () => {
  it('admits a profile that meets every condition and says which held', () => {
    const decision = decide({
      all: [
        { trait: 'plan', op: 'eq', value: 'pro' },
        { stage: { in: ['mql', 'sql'] } },
        { score: 'engagement', op: 'gte', value: 40 },
      ],
    });

    expect(decision).toEqual({
      member: true,
      reason: 'traits.plan = "pro" = "pro" and stage mql is in mql, sql and score engagement = 42 ≥ 40',
      recheckAt: null,
    });
  });

  it('turns a profile away with the condition that failed', () => {
    const decision = decide({ all: [{ trait: 'plan', op: 'eq', value: 'pro' }, { stage: { in: ['sql'] } }] });

    expect(decision.member).toBe(false);
    expect(decision.reason).toBe('stage mql is not in sql');
  });

  it('reads membership of other segments', () => {
    expect(decide({ segment: 'newsletter' }).member).toBe(true);
    expect(decide({ segment: 'newsletter', member: false }).member).toBe(false);
  });
});

describe('consent conditions', () => {
  const withConsent = (categoryPreferences: Record<string, boolean>): MembershipConsent => ({
    ...NO_CONSENT,
    profile: { categoryPreferences, updatedAt: at(-1), source: 'src-web' },
  });

  it('count only an explicit yes as granted, whatever the category name case', () => {
    const decision = decide(
      { consent: 'marketing', granted: true },
      facts(),
      withConsent({ Marketing: true }),
    );

    expect(decision).toMatchObject({ member: true, reason: 'consent marketing granted' });
  });

  it('treat a category never asked about as not granted', () => {
    expect(decide({ consent: 'analytics', granted: true }, facts(), withConsent({})).member).toBe(false);
    expect(decide({ consent: 'analytics', granted: false }, facts(), withConsent({})).member).toBe(true);
  });

  it('treat a refusal as not granted', () => {
    const decision = decide(
      { consent: 'analytics', granted: false },
      facts(),
      withConsent({ analytics: false }),
    );

    expect(decision).toMatchObject({ member: true, reason: 'consent analytics refused' });
  });

  it('grant email to a reachable address the send policy would mail', () => {
    expect(decide({ consent: 'email', granted: true }).member).toBe(true);
  });

  it('withhold email from an address unsubscribed from marketing', () => {
    const address: AddressState = {
      addressHash: 'h',
      suppressed: null,
      unsubscribed: { marketing: at(-3) },
      softBounces: 0,
    };

    const decision = decide({ consent: 'email', granted: true }, facts(), { ...NO_CONSENT, address });

    expect(decision.member).toBe(false);
    expect(decision.reason).toMatch(/^marketing email not allowed: The recipient unsubscribed/);
  });

  it('withhold email from a profile without an address or refusing marketing consent', () => {
    expect(decide({ consent: 'email', granted: true }, facts(), { ...NO_CONSENT, email: null }).member).toBe(
      false,
    );
    expect(
      decide({ consent: 'email', granted: false }, facts(), withConsent({ marketing: false })).member,
    ).toBe(true);
  });
});

describe('when to look again without a new event', () => {
  it('is never for a rule that only reads traits, scores and stage', () => {
    expect(
      decide({
        all: [
          { trait: 'plan', op: 'exists' },
          { score: 'engagement', op: 'gt', value: 1 },
        ],
      }).recheckAt,
    ).toBeNull();
  });

  it('is when the only counted event leaves the window', () => {
    const decision = decide(pricingViews(1), facts({ events: [viewed(-3)] }));

    expect(decision.member).toBe(true);
    expect(decision.recheckAt).toEqual(new Date(daysFromNow(4).getTime() + 1));
  });

  it('is when the count first drops below the threshold, not when any event leaves', () => {
    const events = [viewed(-1), viewed(-2), viewed(-5), viewed(-6)];

    const decision = decide(pricingViews(3), facts({ events }));

    expect(decision.recheckAt).toEqual(new Date(daysFromNow(2).getTime() + 1));
  });

  it('ignores events the matcher does not count', () => {
    const decision = decide(pricingViews(1), facts({ events: [viewed(-1), viewed(-6, '/blog')] }));

    expect(decision.recheckAt).toEqual(new Date(daysFromNow(6).getTime() + 1));
  });

  it('is when an old event leaves a window that caps the count', () => {
    const rule = { ...pricingViews(0), count: { op: 'lte', value: 1 } };

    const decision = decide(rule, facts({ events: [viewed(-1), viewed(-4)] }));

    expect(decision.member).toBe(false);
    expect(decision.recheckAt).toEqual(new Date(daysFromNow(3).getTime() + 1));
  });

  it('is when an event stamped in the future by a skewed clock comes into the window', () => {
    const decision = decide(pricingViews(1), facts({ events: [viewed(0.5)] }));

    expect(decision).toMatchObject({ member: false, recheckAt: daysFromNow(0.5) });
  });

  it('follows calendar months when a window is counted in months', () => {
    // A month back from 30 April is 30 March, so an event of 31 March stays in until 1 May.
    const now = new Date('2025-04-01T00:00:00.000Z');
    const profile = facts({ events: [{ ...viewed(0), at: '2025-03-31T12:00:00.000Z' }] });
    const rule = pricingViews(1, 'P1M');

    const { recheckAt } = decide(rule, profile, NO_CONSENT, now);

    expect(recheckAt).toEqual(new Date('2025-05-01T00:00:00.000Z'));
    const moment = recheckAt ?? now;
    expect(decide(rule, profile, NO_CONSENT, new Date(moment.getTime() - 1)).member).toBe(true);
    expect(decide(rule, profile, NO_CONSENT, moment).member).toBe(false);
  });

  it('is when a date trait comes within the next period', () => {
    const profile = facts({ traits: { renewsAt: at(100) } });

    const decision = decide({ trait: 'renewsAt', op: 'withinNext', value: 'P90D' }, profile);

    expect(decision).toMatchObject({ member: false, recheckAt: daysFromNow(10) });
  });

  it('is just after a date within the next period has passed', () => {
    const profile = facts({ traits: { renewsAt: at(5) } });

    const decision = decide({ trait: 'renewsAt', op: 'withinNext', value: 'P90D' }, profile);

    expect(decision).toMatchObject({ member: true, recheckAt: new Date(daysFromNow(5).getTime() + 1) });
  });

  it('is never for a date that has already passed a withinNext window', () => {
    const profile = facts({ traits: { renewsAt: at(-1) } });

    expect(decide({ trait: 'renewsAt', op: 'withinNext', value: 'P90D' }, profile).recheckAt).toBeNull();
  });

  it('is when a date within the last period grows too old', () => {
    const profile = facts({ traits: { signedUpAt: at(-20) } });

    const decision = decide({ trait: 'signedUpAt', op: 'withinLast', value: 'P30D' }, profile);

    expect(decision).toMatchObject({ member: true, recheckAt: new Date(daysFromNow(10).getTime() + 1) });
  });

  it('is never while a failing part of "all" can only change with new facts', () => {
    const rule = { all: [pricingViews(1), { trait: 'plan', op: 'eq', value: 'free' }] };

    expect(decide(rule, facts({ events: [viewed(-1)] })).recheckAt).toBeNull();
  });

  it('waits for the last true part of "any" to lapse', () => {
    const rule = { any: [pricingViews(1), { trait: 'signedUpAt', op: 'withinLast', value: 'P30D' }] };
    const profile = facts({ events: [viewed(-1)], traits: { signedUpAt: at(-20) } });

    expect(decide(rule, profile).recheckAt).toEqual(new Date(daysFromNow(10).getTime() + 1));
  });

  it('keeps the moment through a negation', () => {
    const decision = decide({ not: pricingViews(1) }, facts({ events: [viewed(-3)] }));

    expect(decision).toMatchObject({ member: false, recheckAt: new Date(daysFromNow(4).getTime() + 1) });
  });
});

describe('membership changes', () => {
  it.each([
    [undefined, true, 'entered'],
    [false, true, 'entered'],
    [true, false, 'exited'],
    [true, true, null],
    [false, false, null],
    [undefined, false, null],
  ] as const)('from %s to %s is %s', (previous, next, change) => {
    expect(membershipChange(previous, next)).toBe(change);
  });
});

describe('member export', () => {
  it('writes a header and one CRLF line per member, quoting what needs quotes', () => {
    const csv = membersCsv([
      { profileId: 'p-1', userId: 'u-1', email: 'a@example.com', enteredAt: '2025-07-01T00:00:00.000Z' },
      { profileId: 'p-2', userId: 'Doe, "J"', enteredAt: '2025-07-02T00:00:00.000Z' },
    ]);

    expect(csv).toBe(
      'profileId,userId,email,enteredAt\r\n' +
        'p-1,u-1,a@example.com,2025-07-01T00:00:00.000Z\r\n' +
        'p-2,"Doe, ""J""",,2025-07-02T00:00:00.000Z\r\n',
    );
  });

  it('defuses cells a spreadsheet would run as a formula', () => {
    const csv = membersCsv([{ profileId: 'p-1', userId: '=HYPERLINK("x")', enteredAt: 'x' }]);

    expect(csv.split('\r\n')[1]).toBe('p-1,"\'=HYPERLINK(""x"")",,x');
  });
});
