// Lambda authorizer for /admin/* routes: accepts the bearer token kept in Secrets Manager (simple responses).
import { getSecret } from '@aws-lambda-powertools/parameters/secrets';
import type { APIGatewayRequestAuthorizerEventV2, APIGatewaySimpleAuthorizerResult } from 'aws-lambda';
import * as z from 'zod';
import { readEnvironment } from '../shared/environment.ts';
import { logger } from '../shared/logger.ts';
import { bearerToken, tokensEqual } from './bearer-token.ts';

const env = readEnvironment({ ADMIN_TOKEN_SECRET_ARN: z.string().min(1) });

/** Cached so that a burst of admin calls reads the secret once; a rotated token is picked up within this time. */
const SECRET_MAX_AGE_SECONDS = 300;

export async function handler(
  event: APIGatewayRequestAuthorizerEventV2,
): Promise<APIGatewaySimpleAuthorizerResult> {
  const presented = bearerToken(event.headers?.authorization ?? event.headers?.Authorization);
  if (presented === undefined) return { isAuthorized: false };
  const expected = await getSecret(env.ADMIN_TOKEN_SECRET_ARN, { maxAge: SECRET_MAX_AGE_SECONDS });
  if (typeof expected !== 'string') {
    // Fail closed: a misconfigured secret must never open the admin API.
    logger.error('admin token secret is not a string secret');
    return { isAuthorized: false };
  }
  const isAuthorized = tokensEqual(presented, expected);
  if (!isAuthorized) logger.info('admin token rejected');
  return { isAuthorized };
}
