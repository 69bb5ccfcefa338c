// Shared shape of HTTP API handlers: middy with the HTTP error handler last, JSON responses, generic 500s.
import middy from '@middy/core';
import httpErrorHandler from '@middy/http-error-handler';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import { logger } from './logger.ts';

export type HttpEvent = APIGatewayProxyEventV2;
export type HttpResult = APIGatewayProxyStructuredResultV2;

/** An error whose message a caller can act on; anything else becomes a generic 500. */
export class HttpError extends Error {
  override name = 'HttpError';
  readonly expose = true;
  constructor(
    readonly statusCode: number,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(JSON.stringify({ error: message }));
  }
}

export function json(statusCode: number, body: unknown, headers: Record<string, string> = {}): HttpResult {
  return {
    statusCode,
    headers: { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', ...headers },
    body: JSON.stringify(body),
  };
}

export function httpHandler(fn: (event: HttpEvent, context: Context) => Promise<HttpResult>) {
  return middy<HttpEvent, HttpResult>()
    .use({
      before: (request) => {
        logger.addContext(request.context);
        logger.appendKeys({
          requestId: request.event.requestContext?.requestId,
          route: request.event.routeKey,
        });
      },
      after: () => logger.resetKeys(),
      onError: () => logger.resetKeys(),
    })
    .use(
      httpErrorHandler({
        fallbackMessage: JSON.stringify({ error: 'Internal server error' }),
        logger: (error: unknown) => {
          if (error instanceof HttpError) logger.info('request rejected', { statusCode: error.statusCode });
          else logger.error('unhandled error', error instanceof Error ? error : String(error));
        },
      }),
    )
    .handler(fn);
}
