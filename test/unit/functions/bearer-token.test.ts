// The admin API's bearer-token checks: which Authorization headers carry a token, and comparing tokens.
import { describe, expect, it } from 'vitest';
import { bearerToken, tokensEqual } from '../../../functions/admin-authorizer/bearer-token.ts';

describe('reading the bearer token from the Authorization header', () => {
  it('takes the token from "Bearer <token>"', () => {
    expect(bearerToken('Bearer s3cr3t-token')).toBe('s3cr3t-token');
  });

  it.each(['bearer abc', 'BEARER abc', 'BeArEr abc'])('accepts the scheme in any case: %s', (header) => {
    expect(bearerToken(header)).toBe('abc');
  });

  it('ignores spaces around and between the scheme and the token', () => {
    expect(bearerToken('   Bearer \t  abc   ')).toBe('abc');
  });

  it.each([
    ['another scheme', 'Basic dXNlcjpwYXNz'],
    ['a token without a scheme', 'abc'],
    ['the scheme without a token', 'Bearer'],
    ['the scheme followed only by spaces', 'Bearer    '],
    ['a scheme glued to the token', 'Bearerabc'],
    ['two tokens', 'Bearer abc def'],
    ['an empty header', ''],
    ['no header at all', undefined],
  ])('finds no token in %s', (_what, header) => {
    expect(bearerToken(header)).toBeUndefined();
  });
});

describe('comparing tokens', () => {
  it('accepts the expected token', () => {
    expect(tokensEqual('s3cr3t-token', 's3cr3t-token')).toBe(true);
  });

  it('rejects a token that differs in one character', () => {
    expect(tokensEqual('s3cr3t-tokem', 's3cr3t-token')).toBe(false);
  });

  it('rejects a token of a different length', () => {
    expect(tokensEqual('s3cr3t-token-and-more', 's3cr3t-token')).toBe(false);
  });

  it('rejects a prefix of the expected token', () => {
    expect(tokensEqual('s3cr3t', 's3cr3t-token')).toBe(false);
  });

  it('is case-sensitive', () => {
    expect(tokensEqual('S3CR3T-TOKEN', 's3cr3t-token')).toBe(false);
  });

  it('never matches when no token is configured, not even an empty one', () => {
    expect(tokensEqual('', '')).toBe(false);
  });

  it('agrees with plain string equality for any pair of tokens', () => {
    const alphabet = 'ab01-';
    let state = 20_240_601;
    const randomToken = (): string => {
      let token = '';
      state = (state * 48_271) % 2_147_483_647;
      const length = 1 + (state % 4);
      for (let i = 0; i < length; i++) {
        state = (state * 48_271) % 2_147_483_647;
        token += alphabet[state % alphabet.length];
      }
      return token;
    };

    let equalPairs = 0;
    for (let i = 0; i < 2000; i++) {
      const presented = randomToken();
      const expected = randomToken();
      if (presented === expected) equalPairs++;

      expect(tokensEqual(presented, expected)).toBe(presented === expected);
    }
    expect(equalPairs).toBeGreaterThan(0);
  });
});
