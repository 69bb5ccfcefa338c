// The admin credential kept in its secret: a plain token that never expires, or several tokens with expiry times.
import * as z from 'zod';
import { tokensEqual } from './bearer-token.ts';

export interface AdminToken {
  readonly token: string;
  /** Undefined: the token never expires. */
  readonly expiresAt: Date | undefined;
}

/** Too short to be a secret; refused so that a typo in the secret cannot open the admin API to guessing. */
export const MIN_ADMIN_TOKEN_LENGTH = 16;

const tokenDocumentSchema = z.object({
  tokens: z
    .array(
      z.object({
        token: z.string().min(MIN_ADMIN_TOKEN_LENGTH),
        expiresAt: z.iso.datetime({ offset: true }).optional(),
      }),
    )
    .min(1),
});

export class MalformedAdminSecretError extends Error {
  override name = 'MalformedAdminSecretError';
}

/**
 * Reads the secret's value. Anything starting with `{` must be the JSON document
 * `{"tokens":[{"token":"…","expiresAt":"ISO 8601"}]}`; a broken document throws rather than being taken as a plain
 * token, so a typo fails closed. The error says where the document is wrong, never what it holds.
 */
export function parseAdminCredentials(secret: string): readonly AdminToken[] {
  if (!secret.trimStart().startsWith('{')) return [{ token: secret, expiresAt: undefined }];
  let document: unknown;
  try {
    document = JSON.parse(secret);
  } catch {
    throw new MalformedAdminSecretError('the admin token secret starts with "{" but is not JSON');
  }
  const parsed = tokenDocumentSchema.safeParse(document);
  if (!parsed.success) {
    const where = parsed.error.issues.map((issue) => `${issue.path.join('.') || '(root)'}: ${issue.code}`);
    throw new MalformedAdminSecretError(`the admin token document is invalid (${where.join('; ')})`);
  }
  return parsed.data.tokens.map((t) => ({
    token: t.token,
    expiresAt: t.expiresAt === undefined ? undefined : new Date(t.expiresAt),
  }));
}

export type AdminTokenVerdict = 'valid' | 'expired' | 'unknown';

/**
 * Checks a presented token against every stored one. Every comparison runs (no early exit), so the time taken
 * does not tell which entry matched. A token is expired from its `expiresAt` instant on.
 */
export function checkAdminToken(input: {
  readonly presented: string;
  readonly tokens: readonly AdminToken[];
  readonly now: Date;
}): AdminTokenVerdict {
  let verdict: AdminTokenVerdict = 'unknown';
  for (const stored of input.tokens) {
    if (!tokensEqual(input.presented, stored.token)) continue;
    const expired = stored.expiresAt !== undefined && stored.expiresAt.getTime() <= input.now.getTime();
    // Two entries may hold the same token during a rotation that extends it: any live entry wins.
    if (!expired) verdict = 'valid';
    else if (verdict === 'unknown') verdict = 'expired';
  }
  return verdict;
}
