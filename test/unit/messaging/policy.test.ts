// The send-time policy: which messages go out, and the reason recorded for each one that does not.
import { describe, expect, it } from 'vitest';
import type { AddressState, Topic } from '../../../functions/messaging/model.ts';
import {
  type ConsentPolicy,
  DEFAULT_CONSENT_POLICY,
  decideSend,
  type SendInput,
} from '../../../functions/messaging/policy.ts';
import type { ConsentState } from '../../../functions/tracking/profile.ts';

// Fixtures ------------------------------------------------------------------------------------------------------

const NOW = new Date('2024-06-10T12:00:00.000Z');
const EMAIL = 'jane.doe@example.com';

function hoursAgo(hours: number): string {
  return new Date(NOW.getTime() - hours * 3_600_000).toISOString();
}

function consent(categoryPreferences: Record<string, boolean>): ConsentState {
  return { categoryPreferences, updatedAt: hoursAgo(24), source: 'src-web' };
}

function address(overrides: Partial<AddressState> = {}): AddressState {
  return { addressHash: 'hash-1', suppressed: null, unsubscribed: {}, softBounces: 0, ...overrides };
}

const BOUNCED = address({ suppressed: { reason: 'bounce', at: hoursAgo(48) } });
const COMPLAINED = address({ suppressed: { reason: 'complaint', at: hoursAgo(48) } });
const MANUALLY_SUPPRESSED = address({ suppressed: { reason: 'manual', at: hoursAgo(48) } });
const UNSUBSCRIBED_FROM_MARKETING = address({ unsubscribed: { marketing: hoursAgo(72) } });

/** A marketing send everything allows; each test changes what it is about. */
function input(overrides: Partial<SendInput> = {}): SendInput {
  return {
    topic: 'marketing',
    email: EMAIL,
    consent: null,
    address: null,
    recentMarketingSends: [],
    frequencyCap: null,
    consentPolicy: DEFAULT_CONSENT_POLICY,
    test: false,
    now: NOW,
    ...overrides,
  };
}

function reasonOf(overrides: Partial<SendInput>): string | null {
  const decision = decideSend(input(overrides));
  return decision.send ? null : decision.reason;
}

// Rules -----------------------------------------------------------------------------------------------------------

describe('recipient address', () => {
  it('sends a marketing email when nothing stands in the way', () => {
    expect(decideSend(input())).toEqual({ send: true });
  });

  it('skips a profile without an email address', () => {
    expect(reasonOf({ email: null })).toBe('no-email-address');
  });

  it('treats a blank email address as no address', () => {
    expect(reasonOf({ email: '  ' })).toBe('no-email-address');
  });

  it.each([
    'jane.doe',
    'jane@',
    '@example.com',
    'jane@localhost',
    'jane@@example.com',
    'jane doe@example.com',
    'a,b@example.com',
    'jane..doe@example.com',
    '.jane@example.com',
    'jane@-example.com',
    'jane@example.c',
    'jané@example.com',
    `${'a'.repeat(65)}@example.com`,
  ])('refuses the malformed address %j', (email) => {
    expect(reasonOf({ email })).toBe('invalid-email-address');
  });

  it.each([
    'jane.doe+news@example.com',
    "o'brien@mail.example.co.uk",
    'x@sub-domain.example.org',
    'jane@xn--bcher-kva.xn--p1ai',
  ])('accepts the well-formed address %j', (email) => {
    expect(decideSend(input({ email }))).toEqual({ send: true });
  });

  it('never puts the address itself into the skip detail', () => {
    const decision = decideSend(input({ email: 'not an address@example.com' }));

    expect(decision).toMatchObject({ send: false, reason: 'invalid-email-address' });
    expect(JSON.stringify(decision)).not.toContain('example.com');
  });
});

describe('suppression', () => {
  it.each([
    [BOUNCED, 'suppressed-bounce'],
    [COMPLAINED, 'suppressed-complaint'],
    [MANUALLY_SUPPRESSED, 'suppressed-manual'],
  ] as const)('skips a suppressed address with the suppression reason (%#)', (state, reason) => {
    expect(reasonOf({ address: state })).toBe(reason);
  });

  it('blocks transactional email to a suppressed address too', () => {
    expect(reasonOf({ topic: 'transactional', address: COMPLAINED })).toBe('suppressed-complaint');
  });

  it('blocks test sends to a suppressed address', () => {
    expect(reasonOf({ test: true, address: BOUNCED })).toBe('suppressed-bounce');
  });

  it('says since when and why the address is suppressed, without naming it', () => {
    const decision = decideSend(input({ address: BOUNCED }));

    expect(decision).toMatchObject({ send: false, detail: expect.stringContaining(hoursAgo(48)) });
    expect(JSON.stringify(decision)).not.toContain(EMAIL);
  });

  it('is not affected by soft bounces alone', () => {
    expect(decideSend(input({ address: address({ softBounces: 2 }) }))).toEqual({ send: true });
  });
});

describe('consent', () => {
  it('skips marketing when a governing category is refused', () => {
    expect(reasonOf({ consent: consent({ marketing: false }) })).toBe('consent-withheld');
  });

  it('matches category names whatever their case', () => {
    expect(reasonOf({ consent: consent({ Email_Marketing: false }) })).toBe('consent-withheld');
  });

  it('lets a refusal in one governing category win over a grant in another', () => {
    expect(reasonOf({ consent: consent({ email: true, advertising: false }) })).toBe('consent-withheld');
  });

  it('ignores categories that do not govern email marketing', () => {
    expect(decideSend(input({ consent: consent({ analytics: false, functional: false }) }))).toEqual({
      send: true,
    });
  });

  it('sends to a profile without any consent record when opt-in is not required', () => {
    expect(decideSend(input({ consent: null }))).toEqual({ send: true });
  });

  it('skips a profile without a consent record when opt-in is required', () => {
    const optIn: ConsentPolicy = { ...DEFAULT_CONSENT_POLICY, requireOptIn: true };

    expect(reasonOf({ consent: null, consentPolicy: optIn })).toBe('consent-withheld');
  });

  it('skips a profile that granted only unrelated categories when opt-in is required', () => {
    const optIn: ConsentPolicy = { ...DEFAULT_CONSENT_POLICY, requireOptIn: true };

    expect(reasonOf({ consent: consent({ analytics: true }), consentPolicy: optIn })).toBe(
      'consent-withheld',
    );
  });

  it('sends to a profile that opted in to a governing category when opt-in is required', () => {
    const optIn: ConsentPolicy = { ...DEFAULT_CONSENT_POLICY, requireOptIn: true };

    expect(decideSend(input({ consent: consent({ Marketing: true }), consentPolicy: optIn }))).toEqual({
      send: true,
    });
  });

  it('uses the operator-configured categories instead of the defaults', () => {
    const custom: ConsentPolicy = { categories: ['C0004'], requireOptIn: false };

    expect(reasonOf({ consent: consent({ c0004: false }), consentPolicy: custom })).toBe('consent-withheld');
    expect(decideSend(input({ consent: consent({ marketing: false }), consentPolicy: custom }))).toEqual({
      send: true,
    });
  });

  it('does not apply marketing consent to transactional email', () => {
    expect(decideSend(input({ topic: 'transactional', consent: consent({ marketing: false }) }))).toEqual({
      send: true,
    });
  });

  it('names the refused category in the detail', () => {
    expect(decideSend(input({ consent: consent({ Advertising: false }) }))).toMatchObject({
      detail: expect.stringContaining('"advertising"'),
    });
  });
});

describe('unsubscribes', () => {
  it('skips marketing to an address unsubscribed from marketing', () => {
    expect(reasonOf({ address: UNSUBSCRIBED_FROM_MARKETING })).toBe('unsubscribed');
  });

  it('still sends transactional email to an address unsubscribed from marketing', () => {
    expect(decideSend(input({ topic: 'transactional', address: UNSUBSCRIBED_FROM_MARKETING }))).toEqual({
      send: true,
    });
  });

  it('honours an unsubscribe from transactional email', () => {
    const state = address({ unsubscribed: { transactional: hoursAgo(1) } });

    expect(reasonOf({ topic: 'transactional', address: state })).toBe('unsubscribed');
  });

  it('does not let a transactional unsubscribe stop marketing', () => {
    const state = address({ unsubscribed: { transactional: hoursAgo(1) } });

    expect(decideSend(input({ address: state }))).toEqual({ send: true });
  });

  it('applies to test sends', () => {
    expect(reasonOf({ test: true, address: UNSUBSCRIBED_FROM_MARKETING })).toBe('unsubscribed');
  });
});

describe('frequency cap', () => {
  const cap = { max: 2, windowHours: 24 };

  it('skips marketing once the cap is reached within the window', () => {
    expect(reasonOf({ frequencyCap: cap, recentMarketingSends: [hoursAgo(1), hoursAgo(23)] })).toBe(
      'frequency-cap',
    );
  });

  it('sends while the profile is under the cap', () => {
    expect(decideSend(input({ frequencyCap: cap, recentMarketingSends: [hoursAgo(1)] }))).toEqual({
      send: true,
    });
  });

  it('forgets sends older than the window', () => {
    const sends = [hoursAgo(1), hoursAgo(24), hoursAgo(30)];

    expect(decideSend(input({ frequencyCap: cap, recentMarketingSends: sends }))).toEqual({ send: true });
  });

  it('counts a send stamped slightly in the future (clock skew)', () => {
    const sends = [hoursAgo(1), hoursAgo(-0.01)];

    expect(reasonOf({ frequencyCap: cap, recentMarketingSends: sends })).toBe('frequency-cap');
  });

  it('does not cap when no cap is configured', () => {
    const sends = Array.from({ length: 50 }, (_, i) => hoursAgo(i / 10));

    expect(decideSend(input({ recentMarketingSends: sends }))).toEqual({ send: true });
  });

  it('does not cap test sends', () => {
    const sends = [hoursAgo(1), hoursAgo(2), hoursAgo(3)];

    expect(decideSend(input({ test: true, frequencyCap: cap, recentMarketingSends: sends }))).toEqual({
      send: true,
    });
  });

  it('does not cap transactional email', () => {
    const sends = [hoursAgo(1), hoursAgo(2), hoursAgo(3)];

    expect(
      decideSend(input({ topic: 'transactional', frequencyCap: cap, recentMarketingSends: sends })),
    ).toEqual({ send: true });
  });

  it('says how many sends hit which cap', () => {
    const decision = decideSend(
      input({ frequencyCap: cap, recentMarketingSends: [hoursAgo(1), hoursAgo(2)] }),
    );

    expect(decision).toMatchObject({ detail: expect.stringMatching(/2 marketing emails.*24 hours.*cap 2/) });
  });
});

describe('order of the rules', () => {
  const everythingWrong: Partial<SendInput> = {
    consent: consent({ marketing: false }),
    address: address({
      suppressed: { reason: 'complaint', at: hoursAgo(5) },
      unsubscribed: { marketing: hoursAgo(6) },
    }),
    frequencyCap: { max: 1, windowHours: 24 },
    recentMarketingSends: [hoursAgo(1)],
  };

  it('reports a missing address before anything else', () => {
    expect(reasonOf({ ...everythingWrong, email: null })).toBe('no-email-address');
  });

  it('reports an invalid address before suppression', () => {
    expect(reasonOf({ ...everythingWrong, email: 'nope' })).toBe('invalid-email-address');
  });

  it('reports suppression before consent', () => {
    expect(reasonOf(everythingWrong)).toBe('suppressed-complaint');
  });

  it('reports withheld consent before an unsubscribe', () => {
    expect(reasonOf({ ...everythingWrong, address: UNSUBSCRIBED_FROM_MARKETING })).toBe('consent-withheld');
  });

  it('reports an unsubscribe before the frequency cap', () => {
    expect(reasonOf({ ...everythingWrong, consent: null, address: UNSUBSCRIBED_FROM_MARKETING })).toBe(
      'unsubscribed',
    );
  });

  it('reports the frequency cap last', () => {
    expect(reasonOf({ ...everythingWrong, consent: null, address: null })).toBe('frequency-cap');
  });
});

// Property --------------------------------------------------------------------------------------------------------

/** Deterministic pseudo-random numbers in [0, 1) (mulberry32), so a failing run can be replayed from its seed. */
function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function pick<T>(random: () => number, items: readonly T[]): T {
  const item = items[Math.floor(random() * items.length)];
  if (item === undefined) throw new Error('pick needs a non-empty list');
  return item;
}

describe('suppression as an invariant (seeded property test)', () => {
  const topics: readonly Topic[] = ['marketing', 'transactional'];
  const emails = [EMAIL, 'JANE@EXAMPLE.COM', 'x+y@mail.example.org', 'bad', null];
  const categories = ['marketing', 'Email', 'advertising', 'analytics', 'C0004'];
  const reasons = ['bounce', 'complaint', 'manual'] as const;

  function randomConsent(random: () => number): ConsentState | null {
    if (random() < 0.3) return null;
    const preferences: Record<string, boolean> = {};
    for (const category of categories) if (random() < 0.5) preferences[category] = random() < 0.5;
    return consent(preferences);
  }

  it('never sends to a suppressed address, whatever else is true', () => {
    const random = seededRandom(20240610);
    for (let run = 0; run < 2000; run += 1) {
      const unsubscribed: AddressState['unsubscribed'] = {};
      if (random() < 0.3) unsubscribed.marketing = hoursAgo(random() * 100);
      if (random() < 0.1) unsubscribed.transactional = hoursAgo(random() * 100);
      const subject = input({
        topic: pick(random, topics),
        email: pick(random, emails),
        consent: randomConsent(random),
        address: address({
          suppressed: { reason: pick(random, reasons), at: hoursAgo(random() * 1000) },
          unsubscribed,
          softBounces: Math.floor(random() * 3),
        }),
        recentMarketingSends: Array.from({ length: Math.floor(random() * 5) }, () => hoursAgo(random() * 48)),
        frequencyCap: random() < 0.5 ? null : { max: 1 + Math.floor(random() * 5), windowHours: 24 },
        consentPolicy: { categories: ['marketing', 'email'], requireOptIn: random() < 0.5 },
        test: random() < 0.5,
      });

      const decision = decideSend(subject);

      expect(decision.send, `run ${run}`).toBe(false);
    }
  });
});
