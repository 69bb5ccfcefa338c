// What sales sees about a qualified lead: the profile summary read from tracked identity, touches and traits.
import { describe, expect, it } from 'vitest';
import { TrackingProfileSummaries } from '../../../functions/scoring/aws-adapters.ts';
import type { JsonObject } from '../../../functions/tracking/model.ts';
import type { ProfileCore, ProfileTraits } from '../../../functions/tracking/profile.ts';
import { emptyProfile, emptyTraits } from '../../../functions/tracking/profile.ts';

const touch = {
  landingPage: null,
  referrer: null,
  source: null,
  medium: null,
  messageId: 'm1',
  fromPageView: true,
};

function summaries(input: { profile?: Partial<ProfileCore>; traits?: JsonObject }) {
  const profile: ProfileCore = { ...emptyProfile('p1'), ...input.profile };
  const traits: ProfileTraits = { ...emptyTraits('p1'), traits: input.traits ?? {} };
  return new TrackingProfileSummaries({
    getProfile: async () => ({ value: profile, claims: [], exists: true }),
    getTraits: async () => ({ value: traits, claims: [], exists: true }),
  });
}

describe('profile summary for the sales hand-off', () => {
  it('names the person, their company and title from Segment traits, and the first and last touch', async () => {
    const lookup = summaries({
      profile: {
        userId: 'u-42',
        emails: ['ada@example.com'],
        firstTouch: { ...touch, channel: 'paid search', campaign: 'spring', at: '2026-01-01T00:00:00Z' },
        lastTouch: { ...touch, channel: 'email', campaign: null, at: '2026-02-01T00:00:00Z' },
      },
      traits: { firstName: 'Ada', lastName: 'Lovelace', company: { name: 'Analytical' }, title: 'VP Eng' },
    });

    expect(await lookup.summary('p1')).toEqual({
      profileId: 'p1',
      userId: 'u-42',
      email: 'ada@example.com',
      name: 'Ada Lovelace',
      company: 'Analytical',
      title: 'VP Eng',
      firstTouch: { channel: 'paid search', campaign: 'spring', landingPage: null },
      lastTouch: { channel: 'email', campaign: null, landingPage: null },
    });
  });

  it('prefers the email and name traits, and accepts a company given as plain text', async () => {
    const lookup = summaries({
      profile: { emails: ['old@example.com'] },
      traits: { email: 'new@example.com', name: 'Grace Hopper', firstName: 'G', company: 'Navy' },
    });

    expect(await lookup.summary('p1')).toMatchObject({
      email: 'new@example.com',
      name: 'Grace Hopper',
      company: 'Navy',
    });
  });

  it('leaves unknown facts empty rather than guessing', async () => {
    const lookup = summaries({ traits: { title: '  ', company: { size: 200 } } });

    expect(await lookup.summary('p1')).toEqual({
      profileId: 'p1',
      userId: null,
      email: null,
      name: null,
      company: null,
      title: null,
      firstTouch: null,
      lastTouch: null,
    });
  });
});
