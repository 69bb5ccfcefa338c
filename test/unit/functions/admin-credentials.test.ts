// The admin credential document: plain tokens that never expire, token lists with expiry, and failing closed.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  checkAdminToken,
  MalformedAdminSecretError,
  parseAdminCredentials,
} from '../../../functions/admin-authorizer/admin-credentials.ts';

const current = 'current-admin-token-0123456789';
const previous = 'previous-admin-token-0123456789';
const now = new Date('2025-06-01T12:00:00Z');

describe('reading the admin token secret', () => {
  it('takes a plain value as one token that never expires, as stacks deployed before expiry hold', () => {
    expect(parseAdminCredentials(current)).toEqual([{ token: current, expiresAt: undefined }]);
  });

  it('reads a token document with several tokens and their expiry times', () => {
    const secret = JSON.stringify({
      tokens: [{ token: current, expiresAt: '2025-09-01T00:00:00Z' }, { token: previous }],
    });

    expect(parseAdminCredentials(secret)).toEqual([
      { token: current, expiresAt: new Date('2025-09-01T00:00:00Z') },
      { token: previous, expiresAt: undefined },
    ]);
  });

  it('accepts expiry times with an offset', () => {
    const secret = JSON.stringify({ tokens: [{ token: current, expiresAt: '2025-09-01T02:00:00+02:00' }] });

    expect(parseAdminCredentials(secret)[0]?.expiresAt).toEqual(new Date('2025-09-01T00:00:00Z'));
  });

  it.each([
    ['broken JSON', '{"tokens": ['],
    ['no tokens', '{"tokens": []}'],
    ['a token that is too short to be secret', '{"tokens": [{"token": "short"}]}'],
    ['an expiry that is not a timestamp', `{"tokens": [{"token": "${current}", "expiresAt": "next week"}]}`],
    ['another document shape', `{"token": "${current}"}`],
  ])('refuses %s instead of taking it as a plain token', (_what, secret) => {
    expect(() => parseAdminCredentials(secret)).toThrow(MalformedAdminSecretError);
  });

  it('never repeats the secret in its error message', () => {
    const secret = JSON.stringify({ tokens: [{ token: current, expiresAt: 'soon' }] });

    expect(() => parseAdminCredentials(secret)).toThrow(/tokens\.0\.expiresAt/);
    expect(() => parseAdminCredentials(secret)).not.toThrow(new RegExp(current));
  });
});

describe('checking a presented admin token', () => {
  const rotation = [
    { token: current, expiresAt: new Date('2025-09-01T00:00:00Z') },
    { token: previous, expiresAt: new Date('2025-06-01T12:00:00Z') },
  ];

  it('accepts a token before its expiry', () => {
    expect(checkAdminToken({ presented: current, tokens: rotation, now })).toBe('valid');
  });

  it('refuses a token from the instant it expires on', () => {
    expect(checkAdminToken({ presented: previous, tokens: rotation, now })).toBe('expired');
  });

  it('accepts the previous token during the overlap of a rotation', () => {
    const earlier = new Date('2025-06-01T11:59:59Z');

    expect(checkAdminToken({ presented: previous, tokens: rotation, now: earlier })).toBe('valid');
  });

  it('refuses a token that is not in the secret', () => {
    expect(checkAdminToken({ presented: `${current}x`, tokens: rotation, now })).toBe('unknown');
  });

  it('accepts a token that never expires at any time', () => {
    const tokens = [{ token: current, expiresAt: undefined }];

    expect(checkAdminToken({ presented: current, tokens, now: new Date('2999-01-01T00:00:00Z') })).toBe(
      'valid',
    );
  });

  it('accepts a token listed twice when one of its entries is still live', () => {
    const tokens = [
      { token: current, expiresAt: new Date('2025-01-01T00:00:00Z') },
      { token: current, expiresAt: new Date('2026-01-01T00:00:00Z') },
    ];

    expect(checkAdminToken({ presented: current, tokens, now })).toBe('valid');
  });

  it('never accepts a token after every entry holding it has expired', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: -1_000_000, max: 0 }), { minLength: 1, maxLength: 5 }),
        (offsets) => {
          const tokens = offsets.map((offset) => ({
            token: current,
            expiresAt: new Date(now.getTime() + offset),
          }));
          return checkAdminToken({ presented: current, tokens, now }) === 'expired';
        },
      ),
    );
  });
});
