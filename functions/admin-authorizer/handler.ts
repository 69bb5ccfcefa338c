// Lambda authorizer for /admin/* routes: accepts the bearer token(s) kept in Secrets Manager (simple responses).
import { getSecret } from '@aws-lambda-powertools/parameters/secrets';
import type { APIGatewayRequestAuthorizerEventV2, APIGatewaySimpleAuthorizerResult } from 'aws-lambda';
import * as z from 'zod';
import { readEnvironment } from '../shared/environment.ts';
import { logger } from '../shared/logger.ts';
import { checkAdminToken, MalformedAdminSecretError, parseAdminCredentials } from './admin-credentials.ts';
import { bearerToken } from './bearer-token.ts';

const env = readEnvironment({ ADMIN_TOKEN_SECRET_ARN: z.string().min(1) });

/**
 * Cached so that a burst of admin calls reads the secret once; a rotated or removed token is picked up within this
 * time. Expiry needs no refresh: `expiresAt` is compared with the clock on every call.
 */
const SECRET_MAX_AGE_SECONDS = 300;

export async function handler(
  event: APIGatewayRequestAuthorizerEventV2,
): Promise<APIGatewaySimpleAuthorizerResult> {
  const presented = bearerToken(event.headers?.authorization ?? event.headers?.Authorization);
  if (presented === undefined) return { isAuthorized: false };
  const secret = await getSecret(env.ADMIN_TOKEN_SECRET_ARN, { maxAge: SECRET_MAX_AGE_SECONDS });
  if (typeof secret !== 'string') {
    // Fail closed: a misconfigured secret must never open the admin API.
    logger.error('admin token secret is not a string secret');
    return { isAuthorized: false };
  }
  let tokens: ReturnType<typeof parseAdminCredentials>;
  try {
    tokens = parseAdminCredentials(secret);
  } catch (error) {
    if (!(error instanceof MalformedAdminSecretError)) throw error;
    logger.error('admin token secret is malformed; every admin request is refused', {
      reason: error.message,
    });
    return { isAuthorized: false };
  }
  const verdict = checkAdminToken({ presented, tokens, now: new Date() });
  // Only the verdict is logged: no token, prefix or hash of one.
  if (verdict !== 'valid') logger.info('admin token rejected', { reason: verdict });
  return { isAuthorized: verdict === 'valid' };
}
