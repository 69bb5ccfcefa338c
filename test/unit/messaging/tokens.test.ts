// Signed link tokens: what a valid link carries, and that no altered, foreign, expired or junk link is believed.
import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { InvalidTokenError, type LinkToken, TokenSigner } from '../../../functions/messaging/tokens.ts';

const SECRET = 'first-secret-0123456789abcdefghijklmnop';
const OTHER_SECRET = 'other-secret-0123456789abcdefghijklmnop';
const NEW_SECRET = 'newer-secret-0123456789abcdefghijklmnop';
const NOW = new Date('2024-06-10T12:00:00.000Z');

const TOKENS: Record<LinkToken['kind'], LinkToken> = {
  open: { kind: 'open', messageId: 'msg-1', profileId: 'prof-1' },
  click: {
    kind: 'click',
    messageId: 'msg-1',
    profileId: 'prof-1',
    url: 'https://shop.example.com/sale?utm_source=nurture&utm_medium=email#top',
    linkIndex: 3,
  },
  unsubscribe: {
    kind: 'unsubscribe',
    messageId: 'msg-1',
    profileId: 'prof-1',
    addressHash: 'a'.repeat(64),
    topic: 'marketing',
  },
  // Whole seconds: banner expiry is carried in epoch seconds.
  'banner-click': {
    kind: 'banner-click',
    bannerId: 'banner-1',
    profileId: 'prof-1',
    url: 'https://shop.example.com/upgrade',
    expiresAt: new Date('2024-06-11T12:00:00.000Z'),
  },
};

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

const BASE64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

/**
 * Signs an arbitrary body the way TokenSigner derives its key, so the tests can reach the checks that run after the
 * signature: only the holder of the secret could make such a token, but the signer must still not trust its content.
 */
function signRaw(secret: string, body: string): string {
  const key = createHmac('sha256', secret).update('nurture-link-token-v1').digest();
  const tag = createHmac('sha256', key).update(body).digest().subarray(0, 16).toString('base64url');
  return `${body}.${tag}`;
}

function encode(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

/** What verify threw, so a test can say it was InvalidTokenError and nothing else. */
function failureOf(action: () => unknown): unknown {
  try {
    action();
  } catch (error) {
    return error;
  }
  return undefined;
}

describe('round trip', () => {
  it.each(Object.entries(TOKENS))('gives back every field of a %s token', (_kind, token) => {
    const signer = new TokenSigner([SECRET]);

    expect(signer.verify(signer.sign(token), NOW)).toEqual(token);
  });

  it('produces a URL-safe token', () => {
    const signer = new TokenSigner([SECRET]);

    expect(signer.sign(TOKENS.click)).toMatch(/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{22}$/);
  });

  it('refuses a secret too short to be safe', () => {
    expect(() => new TokenSigner(['short'])).toThrow(/32 characters/);
    expect(() => new TokenSigner([])).toThrow(/32 characters/);
  });
});

describe('tampering', () => {
  it('refuses a token with any one character changed, in the body or the tag (seeded property test)', () => {
    const signer = new TokenSigner([SECRET]);
    const random = seededRandom(8058);
    const originals = Object.values(TOKENS).map((token) => signer.sign(token));
    for (const original of originals) {
      for (let position = 0; position < original.length; position += 1) {
        if (original[position] === '.') continue;
        for (let draw = 0; draw < 6; draw += 1) {
          const replacement = BASE64URL[Math.floor(random() * BASE64URL.length)] ?? 'A';
          if (replacement === original[position]) continue;
          const changed = `${original.slice(0, position)}${replacement}${original.slice(position + 1)}`;

          expect(
            failureOf(() => signer.verify(changed, NOW)),
            `position ${position} → ${replacement}`,
          ).toBeInstanceOf(InvalidTokenError);
        }
      }
    }
  });

  it('refuses every other spelling of the tag’s last character', () => {
    const signer = new TokenSigner([SECRET]);
    const original = signer.sign(TOKENS.open);
    const spellings = [...BASE64URL]
      .filter((c) => c !== original.at(-1))
      .map((c) => `${original.slice(0, -1)}${c}`);

    const accepted = spellings.filter(
      (spelling) => failureOf(() => signer.verify(spelling, NOW)) === undefined,
    );

    expect(accepted).toEqual([]);
  });

  it('refuses a token with characters appended to the tag', () => {
    const signer = new TokenSigner([SECRET]);
    const original = signer.sign(TOKENS.open);

    expect(failureOf(() => signer.verify(`${original}=`, NOW))).toBeInstanceOf(InvalidTokenError);
    expect(failureOf(() => signer.verify(`${original}A`, NOW))).toBeInstanceOf(InvalidTokenError);
  });

  it('refuses a click token whose destination was swapped, keeping the old tag', () => {
    const signer = new TokenSigner([SECRET]);
    const [, tag] = signer.sign(TOKENS.click).split('.');
    const swapped = encode({ k: 'c', m: 'msg-1', p: 'prof-1', u: 'https://evil.example.net/', i: 3 });

    expect(failureOf(() => signer.verify(`${swapped}.${tag}`, NOW))).toBeInstanceOf(InvalidTokenError);
  });

  it('refuses a token signed with another secret', () => {
    const foreign = new TokenSigner([OTHER_SECRET]).sign(TOKENS.unsubscribe);

    expect(failureOf(() => new TokenSigner([SECRET]).verify(foreign, NOW))).toBeInstanceOf(InvalidTokenError);
  });
});

describe('secret rotation', () => {
  it('signs with the newest secret once it is put first', () => {
    const rotated = new TokenSigner([NEW_SECRET, SECRET]);

    const token = rotated.sign(TOKENS.open);

    expect(new TokenSigner([NEW_SECRET]).verify(token, NOW)).toEqual(TOKENS.open);
    expect(failureOf(() => new TokenSigner([SECRET]).verify(token, NOW))).toBeInstanceOf(InvalidTokenError);
  });

  it('keeps links in mail already sent working while the old secret is still listed', () => {
    const sentBefore = new TokenSigner([SECRET]).sign(TOKENS.click);

    expect(new TokenSigner([NEW_SECRET, SECRET]).verify(sentBefore, NOW)).toEqual(TOKENS.click);
  });

  it('refuses those links once the old secret is removed', () => {
    const sentBefore = new TokenSigner([SECRET]).sign(TOKENS.click);

    expect(failureOf(() => new TokenSigner([NEW_SECRET]).verify(sentBefore, NOW))).toBeInstanceOf(
      InvalidTokenError,
    );
  });
});

describe('expiry', () => {
  const banner = TOKENS['banner-click'];
  const expiresAt = banner.kind === 'banner-click' ? banner.expiresAt : NOW;

  it('refuses a banner click after the banner expired', () => {
    const signer = new TokenSigner([SECRET]);
    const after = new Date(expiresAt.getTime() + 1_000);

    const failure = failureOf(() => signer.verify(signer.sign(banner), after));

    expect(failure).toBeInstanceOf(InvalidTokenError);
    expect(failure).toMatchObject({ message: 'link expired' });
  });

  it('accepts a banner click up to the moment it expires', () => {
    const signer = new TokenSigner([SECRET]);

    expect(signer.verify(signer.sign(banner), expiresAt)).toEqual(banner);
  });

  it('never expires email links: mail is read months later', () => {
    const signer = new TokenSigner([SECRET]);
    const yearsLater = new Date('2034-01-01T00:00:00.000Z');

    expect(signer.verify(signer.sign(TOKENS.unsubscribe), yearsLater)).toEqual(TOKENS.unsubscribe);
  });
});

describe('garbage', () => {
  const signer = new TokenSigner([SECRET]);
  const validTag = signer.sign(TOKENS.open).split('.')[1] ?? '';

  it.each([
    ['empty', ''],
    ['no dot', 'eyJrIjoibyJ9'],
    ['only a dot', '.'],
    ['nothing before the dot', `.${validTag}`],
    ['nothing after the dot', 'eyJrIjoibyJ9.'],
    ['huge', `${'A'.repeat(100_000)}.${validTag}`],
    ['invalid base64 in the tag', 'eyJrIjoibyJ9.!!!!!!!!!!!!!!!!!!!!!!'],
    ['invalid base64 in the body', `!!!!.${validTag}`],
    ['non-ASCII tag of the right length', `eyJrIjoibyJ9.${'é'.repeat(11)}`],
    ['two dots', `${signer.sign(TOKENS.open)}.${validTag}`],
    ['whitespace', ' \n\t '],
  ])('refuses %s input with InvalidTokenError', (_name, token) => {
    expect(failureOf(() => signer.verify(token, NOW))).toBeInstanceOf(InvalidTokenError);
  });

  it('can sign raw bodies the way the signer does (so the tests below reach past the signature check)', () => {
    const raw = signRaw(SECRET, encode({ k: 'o', m: 'msg-1', p: 'prof-1' }));

    expect(signer.verify(raw, NOW)).toEqual(TOKENS.open);
  });

  it.each([
    ['not JSON', Buffer.from('not json {').toString('base64url')],
    ['a JSON string', encode('open')],
    ['a JSON number', encode(42)],
    ['JSON null', encode(null)],
    ['a JSON array', encode([{ k: 'o', m: 'msg-1', p: 'prof-1' }])],
    ['an object of an unknown kind', encode({ k: 'z', m: 'msg-1', p: 'prof-1' })],
    ['an object missing fields', encode({ k: 'c', m: 'msg-1', p: 'prof-1' })],
    ['a click to something that is not a URL', encode({ k: 'c', m: 'm', p: 'p', u: 'not a url', i: 0 })],
    ['an unknown topic', encode({ k: 'u', m: 'm', p: 'p', a: 'h', t: 'newsletter' })],
    ['a prototype-polluting object', 'eyJfX3Byb3RvX18iOnsiayI6Im8ifX0'],
  ])('refuses a correctly signed body that is %s with InvalidTokenError', (_name, body) => {
    expect(failureOf(() => signer.verify(signRaw(SECRET, body), NOW))).toBeInstanceOf(InvalidTokenError);
  });

  it('throws nothing but InvalidTokenError for random junk (seeded property test)', () => {
    const random = seededRandom(404);
    const alphabet = `${BASE64URL}.=!%é\u0000 `;
    for (let run = 0; run < 2000; run += 1) {
      const length = Math.floor(random() * 80);
      const junk = Array.from({ length }, () => alphabet[Math.floor(random() * alphabet.length)] ?? '').join(
        '',
      );

      expect(
        failureOf(() => signer.verify(junk, NOW)),
        `junk ${JSON.stringify(junk)}`,
      ).toBeInstanceOf(InvalidTokenError);
    }
  });
});
