// What an operator or a journey may assign as a banner, and how long it shows.
import { describe, expect, it } from 'vitest';
import { assignBannerRequest, bannerFromRequest } from '../../../../functions/messaging/banners/admin.ts';
import {
  DEFAULT_TTL_HOURS,
  InvalidBannerError,
  isActive,
  MAX_HTML_BYTES,
  type NewBanner,
  newBanner,
} from '../../../../functions/messaging/banners/banner.ts';

const NOW = new Date('2026-03-02T10:00:00.000Z');

function banner(overrides: Partial<NewBanner> = {}) {
  return newBanner({
    profileId: 'prof_1',
    placement: 'homepage-hero',
    content: { title: 'Spring offer', body: '20% off this week' },
    now: NOW,
    ...overrides,
  });
}

describe('assigning a banner', () => {
  it('shows for seven days unless told otherwise', () => {
    const assigned = banner();

    expect(assigned.assignedAt).toBe(NOW.toISOString());
    expect(Date.parse(assigned.expiresAt) - NOW.getTime()).toBe(DEFAULT_TTL_HOURS * 3_600_000);
    expect(DEFAULT_TTL_HOURS).toBe(168);
  });

  it('shows until an explicit expiry, which wins over a time to live', () => {
    const expiresAt = new Date('2026-03-05T00:00:00.000Z');

    expect(banner({ expiresAt, ttlHours: 1 }).expiresAt).toBe(expiresAt.toISOString());
    expect(banner({ ttlHours: 2 }).expiresAt).toBe('2026-03-02T12:00:00.000Z');
  });

  it('accepts an expiry in the past, giving a banner that never shows', () => {
    const withdrawn = banner({ expiresAt: new Date(NOW.getTime() - 1000) });

    expect(isActive(withdrawn, NOW)).toBe(false);
  });

  it('is active up to, and not at, its expiry', () => {
    const assigned = banner({ ttlHours: 1 });
    const expiry = Date.parse(assigned.expiresAt);

    expect(isActive(assigned, new Date(expiry - 1))).toBe(true);
    expect(isActive(assigned, new Date(expiry))).toBe(false);
  });

  it('refuses an expiry more than a year away, and a time to live of zero', () => {
    expect(() => banner({ ttlHours: 0 })).toThrow(InvalidBannerError);
    expect(() => banner({ expiresAt: new Date(NOW.getTime() + 366 * 86_400_000) })).toThrow(
      InvalidBannerError,
    );
  });

  it('gets a new URL-safe id unless one is given', () => {
    const first = banner();
    const second = banner();

    expect(first.bannerId).toMatch(/^bnr_[A-Za-z0-9_-]+$/);
    expect(first.bannerId).not.toBe(second.bannerId);
    expect(banner({ bannerId: 'spring-2026' }).bannerId).toBe('spring-2026');
    expect(() => banner({ bannerId: 'spring 2026/a' })).toThrow(InvalidBannerError);
  });

  it('defaults to no HTML, no call to action, an empty body and no journey origin', () => {
    const assigned = banner({ content: { title: 'Hello' } });

    expect(assigned).toMatchObject({ body: '', html: null, cta: null, origin: null });
  });
});

describe('placement names', () => {
  it.each(['homepage-hero', 'a', 'sidebar_2', '0-top', 'x'.repeat(64)])('accepts "%s"', (placement) => {
    expect(banner({ placement }).placement).toBe(placement);
  });

  it.each(['', 'Homepage', '-top', '_top', 'top banner', 'top/banner', 'x'.repeat(65), 'café'])(
    'refuses "%s"',
    (placement) => {
      expect(() => banner({ placement })).toThrow(InvalidBannerError);
    },
  );
});

describe('banner content limits', () => {
  it('refuses an empty title and one over 200 characters', () => {
    expect(() => banner({ content: { title: '  ' } })).toThrow(/title/);
    expect(() => banner({ content: { title: 't'.repeat(201) } })).toThrow(/title/);
    expect(banner({ content: { title: 't'.repeat(200) } }).title).toHaveLength(200);
  });

  it('refuses a body over 2000 characters', () => {
    expect(() => banner({ content: { title: 'T', body: 'b'.repeat(2001) } })).toThrow(/body/);
  });

  it('measures the HTML limit in bytes, so 20 KB of multi-byte text is refused', () => {
    const ascii = 'a'.repeat(MAX_HTML_BYTES);
    const euros = '€'.repeat(Math.ceil(MAX_HTML_BYTES / 3) + 1);

    expect(banner({ content: { title: 'T', html: ascii } }).html).toBe(ascii);
    expect(() => banner({ content: { title: 'T', html: euros } })).toThrow(/html/);
  });

  it.each(['https://example.com/offer?x=1', 'http://localhost:3000/'])(
    'takes %s as a call to action',
    (url) => {
      expect(banner({ content: { title: 'T', cta: { label: 'Go', url } } }).cta).toEqual({
        label: 'Go',
        url,
      });
    },
  );

  it.each([
    'javascript:alert(1)',
    'data:text/html,<script>alert(1)</script>',
    'mailto:a@example.com',
    '/relative/path',
    `https://example.com/${'x'.repeat(2048)}`,
  ])('refuses %s as a call to action', (url) => {
    expect(() => banner({ content: { title: 'T', cta: { label: 'Go', url } } })).toThrow(/cta\.url/);
  });
});

describe('the admin request', () => {
  it('refuses expiresAt and ttlHours together', () => {
    const result = assignBannerRequest.safeParse({
      title: 'T',
      expiresAt: '2026-03-05T00:00:00Z',
      ttlHours: 3,
    });

    expect(result.success).toBe(false);
  });

  it('builds the banner for the profile and placement in the path, with an expiry given with an offset', () => {
    const request = assignBannerRequest.parse({
      title: 'Welcome back',
      cta: { label: 'See plans', url: 'https://example.com/plans' },
      expiresAt: '2026-03-05T12:00:00+02:00',
      bannerId: 'welcome',
    });

    const assigned = bannerFromRequest({ profileId: 'prof_9', placement: 'sidebar', request, now: NOW });

    expect(assigned).toMatchObject({
      bannerId: 'welcome',
      profileId: 'prof_9',
      placement: 'sidebar',
      title: 'Welcome back',
      expiresAt: '2026-03-05T10:00:00.000Z',
      cta: { label: 'See plans', url: 'https://example.com/plans' },
    });
  });
});
