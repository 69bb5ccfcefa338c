// What a site receives for a banner: its content, with the call to action behind a signed link that tracks the click.
import { describe, expect, it } from 'vitest';
import { type Banner, newBanner } from '../../../../functions/messaging/banners/banner.ts';
import { contentFor } from '../../../../functions/messaging/banners/content.ts';
import { InvalidTokenError, TokenSigner } from '../../../../functions/messaging/tokens.ts';

const NOW = new Date('2026-03-02T10:00:00.000Z');
const BASE = 'https://api.example.com';
const signer = new TokenSigner(['a-link-signing-secret-of-at-least-32-characters']);

function banner(overrides: Partial<Banner> = {}): Banner {
  return {
    ...newBanner({
      profileId: 'prof_1',
      placement: 'homepage-hero',
      bannerId: 'bnr_spring',
      content: {
        title: 'Spring offer',
        body: '20% off <b>this week</b>',
        html: '<img src="https://cdn.example.com/spring.png" alt="">',
        cta: { label: 'Get the offer', url: 'https://shop.example.com/spring?utm_source=site' },
      },
      now: NOW,
      ttlHours: 24,
    }),
    ...overrides,
  };
}

/** The signed token at the end of a tracked link, checked to be under the API's banner-click path. */
function tokenIn(url: string, base = BASE): string {
  const prefix = `${base}/e/b/`;
  expect(url.startsWith(prefix)).toBe(true);
  return url.slice(prefix.length);
}

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

describe('banner content', () => {
  it('carries the id, title, body and operator HTML as they were assigned', () => {
    const content = contentFor(banner(), { now: NOW, trackingBaseUrl: BASE, signer });

    expect(content).toMatchObject({
      id: 'bnr_spring',
      title: 'Spring offer',
      body: '20% off <b>this week</b>',
      html: '<img src="https://cdn.example.com/spring.png" alt="">',
    });
    expect(content?.cta?.label).toBe('Get the offer');
  });

  it('replaces the call to action with a signed link that leads to the destination, the banner and the profile', () => {
    const content = contentFor(banner(), { now: NOW, trackingBaseUrl: BASE, signer });

    const token = signer.verify(tokenIn(content?.cta?.url ?? ''), NOW);

    expect(token).toEqual({
      kind: 'banner-click',
      bannerId: 'bnr_spring',
      profileId: 'prof_1',
      url: 'https://shop.example.com/spring?utm_source=site',
      expiresAt: new Date('2026-03-03T10:00:00.000Z'),
    });
  });

  it('makes the tracked link stop working when the banner expires', () => {
    const content = contentFor(banner(), { now: NOW, trackingBaseUrl: BASE, signer });
    const token = tokenIn(content?.cta?.url ?? '');

    expect(() => signer.verify(token, new Date('2026-03-03T10:00:01.000Z'))).toThrow(InvalidTokenError);
  });

  it('builds links under an API path prefix, ignoring a trailing slash', () => {
    const content = contentFor(banner(), { now: NOW, trackingBaseUrl: `${BASE}/prod/`, signer });

    expect(signer.verify(tokenIn(content?.cta?.url ?? '', `${BASE}/prod`), NOW).kind).toBe('banner-click');
  });

  it('has no call to action when the banner has none', () => {
    const content = contentFor(banner({ cta: null, html: null }), {
      now: NOW,
      trackingBaseUrl: BASE,
      signer,
    });

    expect(content).toMatchObject({ cta: null, html: null });
  });

  it('is nothing once the banner has expired, whether or not storage has removed it yet', () => {
    const expired = banner({ expiresAt: '2026-03-02T09:59:59.000Z' });

    expect(contentFor(expired, { now: NOW, trackingBaseUrl: BASE, signer })).toBeNull();
  });

  it('leads every tracked link to exactly its own destination, whatever the URL holds', () => {
    const random = seededRandom(20260302);
    const alphabet = "abcXYZ019-._~!$&'()*+,;=:@/?#%éü 日本";
    for (let run = 0; run < 200; run += 1) {
      const length = Math.floor(random() * 120);
      let tail = '';
      for (let i = 0; i < length; i += 1) tail += alphabet[Math.floor(random() * alphabet.length)] ?? '';
      const url = new URL(`https://shop.example.com/${tail}`).href;
      const bannerId = `bnr_${Math.floor(random() * 1e9)}`;
      const profileId = `prof_${Math.floor(random() * 1e9)}`;

      const content = contentFor(banner({ bannerId, profileId, cta: { label: 'Go', url } }), {
        now: NOW,
        trackingBaseUrl: BASE,
        signer,
      });
      const token = signer.verify(tokenIn(content?.cta?.url ?? ''), NOW);

      expect(token).toMatchObject({ kind: 'banner-click', url, bannerId, profileId });
    }
  });

  it('refuses a tracked link whose destination was altered', () => {
    const content = contentFor(banner(), { now: NOW, trackingBaseUrl: BASE, signer });
    const [body, tag] = tokenIn(content?.cta?.url ?? '').split('.');
    const payload = JSON.parse(Buffer.from(body ?? '', 'base64url').toString('utf8'));
    const forged = Buffer.from(JSON.stringify({ ...payload, u: 'https://evil.example.com/' })).toString(
      'base64url',
    );

    expect(() => signer.verify(`${forged}.${tag}`, NOW)).toThrow(InvalidTokenError);
  });
});
