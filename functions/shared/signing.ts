// The link-signing secret as a TokenSigner: one secret, or during a rotation several, newest first.
import { getSecret } from '@aws-lambda-powertools/parameters/secrets';
import * as z from 'zod';
import { TokenSigner } from '../messaging/tokens.ts';

/** Cached like the admin token: a rotated secret is picked up within this time, and a burst reads it once. */
const SECRET_MAX_AGE_SECONDS = 300;

const rotation = z.array(z.string()).min(1);

/**
 * The secrets a stored value holds: a plain string, or a JSON array of strings with the newest first
 * (`["new","old"]`), so that links signed before a rotation keep working until the old secret is dropped.
 */
export function signingSecrets(value: string): string[] {
  const trimmed = value.trim();
  if (!trimmed.startsWith('[')) return [trimmed];
  let parsed: unknown;
  try {
    parsed = JSON.parse(trimmed);
  } catch {
    throw new Error('the link-signing secret starts with "[" but is not a JSON array of strings');
  }
  const secrets = rotation.safeParse(parsed);
  if (!secrets.success) throw new Error('the link-signing secret is not a JSON array of strings');
  return secrets.data;
}

let cached: { readonly value: string; readonly signer: TokenSigner } | undefined;

export async function loadTokenSigner(secretArn: string): Promise<TokenSigner> {
  const value = await getSecret(secretArn, { maxAge: SECRET_MAX_AGE_SECONDS });
  if (typeof value !== 'string') throw new Error('the link-signing secret is not a string secret');
  if (cached?.value !== value) cached = { value, signer: new TokenSigner(signingSecrets(value)) };
  return cached.signer;
}
