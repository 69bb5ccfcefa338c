// When an anonymous profile expires: a configurable time after it was last seen, and never once it is known.
import { describe, expect, it } from 'vitest';
import {
  ANONYMOUS_PROFILE_TTL_DAYS,
  emptyProfile,
  expiresAt,
  type ProfileCore,
} from '../../../functions/tracking/profile.ts';

const DAY = 86_400;
const LAST_SEEN = '2026-03-01T12:00:00.000Z';

function anonymous(lastSeen: string | null = LAST_SEEN): ProfileCore {
  return { ...emptyProfile('a_visitor'), anonymousIds: ['anon-1'], firstSeen: lastSeen, lastSeen };
}

describe('anonymous profile retention', () => {
  it('expires an anonymous profile the configured number of days after it was last seen', () => {
    expect(expiresAt(anonymous(), 7)).toBe(Date.parse(LAST_SEEN) / 1000 + 7 * DAY);
  });

  it('expires after 30 days when no retention is configured', () => {
    expect(ANONYMOUS_PROFILE_TTL_DAYS).toBe(30);
    expect(expiresAt(anonymous())).toBe(Date.parse(LAST_SEEN) / 1000 + 30 * DAY);
  });

  it('pushes the expiry back when the visitor is seen again', () => {
    const later = '2026-03-20T08:00:00.000Z';

    expect(expiresAt(anonymous(later), 30)).toBeGreaterThan(
      expiresAt(anonymous(), 30) ?? Number.POSITIVE_INFINITY,
    );
    expect(expiresAt(anonymous(later), 30)).toBe(Date.parse(later) / 1000 + 30 * DAY);
  });

  it('never expires a profile that has a userId', () => {
    expect(expiresAt({ ...anonymous(), userId: 'user-42' }, 30)).toBeNull();
  });

  it('never expires a profile that has an email address', () => {
    expect(expiresAt({ ...anonymous(), emails: ['someone@example.com'] }, 30)).toBeNull();
  });

  it('sets no expiry on a profile that has never seen an event', () => {
    expect(expiresAt(anonymous(null), 30)).toBeNull();
  });
});
