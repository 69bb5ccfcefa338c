// The link-signing secret: one value, or several during a rotation, and the signer built from it.
import { describe, expect, it, vi } from 'vitest';

/** What Secrets Manager holds; Powertools' getSecret answers with it. */
const secretValue = vi.hoisted(() => {
  const value: { current: unknown } = { current: '' };
  return value;
});
vi.mock('@aws-lambda-powertools/parameters/secrets', () => ({
  getSecret: async () => secretValue.current,
}));

const { loadTokenSigner, signingSecrets } = await import('../../../../functions/shared/signing.ts');
const { TokenSigner } = await import('../../../../functions/messaging/tokens.ts');

const OLD = 'old-secret-0123456789abcdefghijklmnopqrstuvwxyz';
const NEW = 'new-secret-0123456789abcdefghijklmnopqrstuvwxyz';
const click = {
  kind: 'banner-click',
  bannerId: 'bnr_1',
  profileId: 'prof_1',
  url: 'https://example.com/',
  expiresAt: new Date('2030-01-01T00:00:00Z'),
} as const;

describe('the link-signing secret', () => {
  it('is used as it is when it is a plain string', () => {
    expect(signingSecrets(NEW)).toEqual([NEW]);
  });

  it('lists the secrets of a rotation newest first when it is a JSON array', () => {
    expect(signingSecrets(JSON.stringify([NEW, OLD]))).toEqual([NEW, OLD]);
  });

  it('is refused when it looks like a rotation but is not a list of strings', () => {
    expect(() => signingSecrets('[not json')).toThrow(/JSON array/);
    expect(() => signingSecrets('[]')).toThrow(/JSON array/);
    expect(() => signingSecrets('[1, 2]')).toThrow(/JSON array/);
  });

  it('keeps links signed before a rotation working, and signs new ones with the new secret', async () => {
    const beforeRotation = new TokenSigner([OLD]).sign(click);
    secretValue.current = JSON.stringify([NEW, OLD]);

    const signer = await loadTokenSigner('arn:aws:secretsmanager:eu-west-1:1:secret:signing');

    expect(signer.verify(beforeRotation)).toEqual(click);
    expect(new TokenSigner([NEW]).verify(signer.sign(click))).toEqual(click);
    expect(() => new TokenSigner([OLD]).verify(signer.sign(click))).toThrow();
  });

  it('refuses a binary secret rather than signing with something unexpected', async () => {
    secretValue.current = new Uint8Array([1, 2, 3]);

    await expect(loadTokenSigner('arn:binary')).rejects.toThrow(/not a string secret/);
  });
});
