// Consent per purpose: categories read as purposes, recorded with evidence and a bounded history, merged and announced.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type ConsentChange,
  type ConsentState,
  consentChanged,
  consentEvidenceSchema,
  DEFAULT_PURPOSE_CATEGORIES,
  evidenceFrom,
  MAX_CONSENT_HISTORY,
  mergeConsent,
  PURPOSES,
  preferencesForPurposes,
  purposeState,
  purposesOf,
  recordConsent,
} from '../../../functions/tracking/consent.ts';
import { domainEventsFor } from '../../../functions/tracking/domain-events.ts';
import { emptyProfile } from '../../../functions/tracking/profile.ts';

const BANNER = { method: 'banner', bannerVersion: '2025-03', textHash: 'sha256:9f2c' };

function change(
  minute: number,
  categoryPreferences: Record<string, boolean>,
  extra: Partial<ConsentChange> = {},
) {
  return {
    categoryPreferences,
    at: new Date(Date.UTC(2025, 2, 1, 9, minute)).toISOString(),
    source: 'src_website',
    evidence: null,
    ...extra,
  } satisfies ConsentChange;
}

describe('purposes read from consent categories', () => {
  it('grants tracking when the analytics category is granted', () => {
    expect(purposesOf({ analytics: true }).tracking).toBe('granted');
  });

  it('leaves a purpose unknown when none of its categories was answered', () => {
    expect(purposesOf({ analytics: true })).toEqual({
      tracking: 'granted',
      emailMarketing: 'unknown',
      personalization: 'unknown',
    });
  });

  it('denies a purpose when any of its categories is refused, even if another is granted', () => {
    expect(
      purposeState({ marketing: true, advertising: false }, DEFAULT_PURPOSE_CATEGORIES.emailMarketing),
    ).toBe('denied');
  });

  it('matches category names case-insensitively, as consent platforms spell them differently', () => {
    expect(purposesOf({ Personalization: false }).personalization).toBe('denied');
  });

  it('reads personalization from functional and targeting categories too', () => {
    expect(purposesOf({ functional: true }).personalization).toBe('granted');
    expect(purposesOf({ targeting: false }).personalization).toBe('denied');
  });

  it('uses the configured categories of a workspace', () => {
    const config = { ...DEFAULT_PURPOSE_CATEGORIES, tracking: ['statistics'] };

    expect(purposesOf({ analytics: false, statistics: true }, config).tracking).toBe('granted');
  });

  it('turns a purpose answer into the same answer for every category of the purpose', () => {
    expect(preferencesForPurposes({ personalization: false })).toEqual({
      personalization: false,
      functional: false,
      targeting: false,
    });
  });

  it('reads back every purpose answer it wrote, whatever the earlier categories said', () => {
    const answer = fc.boolean();
    fc.assert(
      fc.property(
        fc.dictionary(
          fc.constantFrom('analytics', 'marketing', 'advertising', 'functional', 'other'),
          fc.boolean(),
        ),
        fc.record(
          { tracking: answer, emailMarketing: answer, personalization: answer },
          { requiredKeys: [] },
        ),
        (before, purposes) => {
          const after = purposesOf({ ...before, ...preferencesForPurposes(purposes) });
          for (const purpose of PURPOSES) {
            const granted = purposes[purpose];
            if (granted !== undefined) expect(after[purpose]).toBe(granted ? 'granted' : 'denied');
          }
        },
      ),
    );
  });
});

describe('recording consent with evidence and history', () => {
  it('records a first choice with its source, time and evidence', () => {
    const state = recordConsent(null, change(0, { analytics: true }, { evidence: BANNER }));

    expect(state).toMatchObject({
      categoryPreferences: { analytics: true },
      updatedAt: '2025-03-01T09:00:00.000Z',
      source: 'src_website',
      evidence: BANNER,
    });
    expect(state.history).toHaveLength(1);
  });

  it('adds nothing to the history when a consent platform repeats the same choice on every page', () => {
    let state = recordConsent(null, change(0, { analytics: true }, { evidence: BANNER }));
    for (let minute = 1; minute < 30; minute += 1)
      state = recordConsent(state, change(minute, { analytics: true }));

    expect(state.history).toHaveLength(1);
    expect(state.updatedAt).toBe('2025-03-01T09:29:00.000Z');
    expect(state.evidence).toEqual(BANNER);
  });

  it('adds a withdrawal to the history and makes it the standing choice', () => {
    const granted = recordConsent(null, change(0, { analytics: true, marketing: true }));

    const withdrawn = recordConsent(
      granted,
      change(5, { analytics: true, marketing: false }, { source: 'admin' }),
    );

    expect(withdrawn.categoryPreferences).toEqual({ analytics: true, marketing: false });
    expect(withdrawn.source).toBe('admin');
    expect(withdrawn.history?.map((h) => h.categoryPreferences.marketing)).toEqual([true, false]);
  });

  it('records the same choice again when it comes with new evidence (a new banner version)', () => {
    const first = recordConsent(null, change(0, { analytics: true }, { evidence: BANNER }));

    const renewed = recordConsent(
      first,
      change(9, { analytics: true }, { evidence: { ...BANNER, bannerVersion: '2025-09' } }),
    );

    expect(renewed.history).toHaveLength(2);
    expect(renewed.evidence).toMatchObject({ bannerVersion: '2025-09' });
  });

  it('ignores a choice older than the standing one, as events arrive out of order', () => {
    const current = recordConsent(null, change(10, { analytics: false }));

    expect(recordConsent(current, change(0, { analytics: true }))).toBe(current);
  });

  it('keeps at most the last 20 changes, newest last', () => {
    const changes = fc.array(fc.tuple(fc.boolean(), fc.boolean()), { minLength: 1, maxLength: 60 });
    fc.assert(
      fc.property(changes, (answers) => {
        const state = answers.reduce<ConsentState | null>(
          (current, [analytics, marketing], minute) =>
            recordConsent(current, change(minute, { analytics, marketing })),
          null,
        );
        const history = state?.history ?? [];
        expect(history.length).toBeLessThanOrEqual(MAX_CONSENT_HISTORY);
        expect(history.at(-1)?.categoryPreferences).toEqual(state?.categoryPreferences);
        expect([...history].sort((a, b) => a.at.localeCompare(b.at))).toEqual(history);
      }),
    );
  });
});

describe('merging the consent of two profiles', () => {
  const anonymous = recordConsent(null, change(0, { analytics: true }, { evidence: BANNER }));
  const known = recordConsent(
    recordConsent(null, change(3, { marketing: true }, { source: 'admin', evidence: { method: 'phone' } })),
    change(7, { marketing: false }, { source: 'admin', evidence: { method: 'phone' } }),
  );

  it('keeps the newer standing choice and both histories, in time order', () => {
    const merged = mergeConsent(anonymous, known);

    expect(merged?.categoryPreferences).toEqual({ marketing: false });
    expect(merged?.history?.map((h) => h.at.slice(11, 16))).toEqual(['09:00', '09:03', '09:07']);
  });

  it('gives the same history in either direction and when merged twice', () => {
    const one = mergeConsent(anonymous, known);
    const other = mergeConsent(known, anonymous);

    expect(other?.history).toEqual(one?.history);
    expect(mergeConsent(one, anonymous)?.history).toEqual(one?.history);
  });
});

describe('what counts as a consent change', () => {
  it('is a change when a category answer differs, not when only the time moved', () => {
    const state = recordConsent(null, change(0, { analytics: true }));

    expect(consentChanged(state, recordConsent(state, change(1, { analytics: true })))).toBe(false);
    expect(consentChanged(state, recordConsent(state, change(1, { analytics: false })))).toBe(true);
    expect(consentChanged(null, state)).toBe(true);
  });
});

describe('evidence', () => {
  it('reads the evidence a consent object carries beside its categories', () => {
    expect(evidenceFrom({ categoryPreferences: { analytics: true }, evidence: BANNER })).toEqual(BANNER);
  });

  it('drops evidence that is too large rather than the consent it came with', () => {
    expect(evidenceFrom({ evidence: { note: 'x'.repeat(501) } })).toBeNull();
    expect(
      evidenceFrom({ evidence: Object.fromEntries(Array.from({ length: 11 }, (_, i) => [`k${i}`, i])) }),
    ).toBeNull();
  });

  it('refuses nested objects, so evidence stays a flat, bounded record', () => {
    expect(consentEvidenceSchema.safeParse({ method: 'banner', page: { url: '/' } }).success).toBe(false);
  });
});

describe('announcing consent changes from the profile stream', () => {
  const id = 'a_consentStream000000000';
  function changeOf(before: ConsentState | null, after: ConsentState | null) {
    return domainEventsFor({
      eventName: 'MODIFY',
      keys: { pk: `PROFILE#${id}`, sk: 'PROFILE' },
      oldData: { ...emptyProfile(id), consent: before },
      newData: { ...emptyProfile(id), consent: after },
    });
  }

  it('publishes profile.consent_changed when the standing choice changes', () => {
    const before = recordConsent(null, change(0, { analytics: true }));
    const after = recordConsent(
      before,
      change(1, { analytics: true, personalization: false }, { source: 'admin' }),
    );

    expect(changeOf(before, after)).toEqual([
      {
        detailType: 'profile.consent_changed',
        detail: {
          dedupeKey: `consent:${id}:${after.updatedAt}:{"analytics":true,"personalization":false}`,
          profileId: id,
          categoryPreferences: { analytics: true, personalization: false },
          updatedAt: after.updatedAt,
          source: 'admin',
        },
      },
    ]);
  });

  it('publishes nothing when a repeated answer only moved the time', () => {
    const before = recordConsent(null, change(0, { analytics: true }));

    expect(changeOf(before, recordConsent(before, change(5, { analytics: true })))).toEqual([]);
  });
});
