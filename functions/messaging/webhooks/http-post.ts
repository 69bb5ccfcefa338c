// One webhook HTTP request: POST with a timeout, no redirects, and the target policy applied to the address connected to.
import { lookup as dnsLookup, type LookupAddress, type LookupAllOptions } from 'node:dns';
import { request as httpRequest, type IncomingMessage, type RequestOptions } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { LookupFunction } from 'node:net';
import {
  type AddressLookup,
  checkAddress,
  literalAddress,
  parseWebhookUrl,
  RefusedWebhookTargetError,
  type TargetPolicy,
} from './targets.ts';

export interface WebhookPostResult {
  /** Null when no response came back. */
  readonly statusCode: number | null;
  /** Why no response came back (or a short note about the one that did); never the body or headers. */
  readonly error: string | null;
  readonly durationMs: number;
  /** From a Retry-After header in seconds, when the receiver sent one. */
  readonly retryAfterSeconds: number | null;
}

export interface WebhookPostRequest {
  readonly url: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
  readonly timeoutMs: number;
  readonly policy: TargetPolicy;
}

/** Every address of a host, as the target check needs them. */
export const lookupAll: AddressLookup = (hostname) =>
  new Promise((resolve, reject) =>
    dnsLookup(hostname, { all: true, verbatim: true }, (error, addresses: LookupAddress[]) =>
      error ? reject(error) : resolve(addresses.map((a) => a.address)),
    ),
  );

/**
 * A socket lookup that applies the target policy to the addresses the connection will actually use, so a host
 * that resolved to a public address when it was checked cannot switch to a private one for the request itself.
 */
function guardedLookup(policy: TargetPolicy): LookupFunction {
  return (hostname, options, callback) => {
    const all: LookupAllOptions = { ...options, all: true };
    dnsLookup(hostname, all, (error, addresses: LookupAddress[]) => {
      if (error) return callback(error, '', 4);
      try {
        for (const { address } of addresses) checkAddress(address, policy);
      } catch (refusal) {
        return callback(refusal instanceof Error ? refusal : new Error(String(refusal)), '', 4);
      }
      if (options.all) return callback(null, addresses);
      const [first] = addresses;
      if (!first) return callback(new Error(`${hostname} has no address`), '', 4);
      return callback(null, first.address, first.family);
    });
  };
}

function retryAfter(response: IncomingMessage): number | null {
  const value = response.headers['retry-after'];
  if (typeof value !== 'string' || !/^\d{1,9}$/.test(value.trim())) return null;
  return Number(value.trim());
}

/** `timedOutAfterMs`: set when the timeout aborted the request. */
function describe(error: unknown, timedOutAfterMs?: number): string {
  if (timedOutAfterMs !== undefined) return `no response within ${timedOutAfterMs / 1000} s`;
  if (error instanceof RefusedWebhookTargetError) return `refused: ${error.message}`;
  if (error instanceof Error) {
    const code: unknown = Reflect.get(error, 'code');
    if (error.cause instanceof RefusedWebhookTargetError) return `refused: ${error.cause.message}`;
    return (typeof code === 'string' ? code : error.message).slice(0, 200);
  }
  return String(error).slice(0, 200);
}

/**
 * POSTs and resolves with what happened; never throws. The answer is the status line: the response body is
 * drained and ignored, and a redirect counts as a failed attempt (it is not followed).
 */
export async function postWebhook(request: WebhookPostRequest): Promise<WebhookPostResult> {
  const started = performance.now();
  const elapsed = () => Math.round(performance.now() - started);
  const signal = AbortSignal.timeout(request.timeoutMs);
  let url: URL;
  try {
    url = parseWebhookUrl(request.url);
    // Literal addresses never go through a lookup, so they are checked here.
    const literal = literalAddress(url);
    if (literal !== undefined) checkAddress(literal, request.policy);
  } catch (error) {
    return {
      statusCode: null,
      error: describe(error),
      durationMs: elapsed(),
      retryAfterSeconds: null,
    };
  }
  const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
  const options: RequestOptions = {
    method: 'POST',
    headers: { ...request.headers, 'content-length': String(Buffer.byteLength(request.body)) },
    lookup: guardedLookup(request.policy),
    signal,
    // A fresh connection each time: a pooled socket would skip the lookup, and with it the target check.
    agent: false,
  };
  return new Promise((resolve) => {
    const req = send(url, options, (response) => {
      // Drained, not read: what the receiver says in its body has no bearing on the outcome.
      response.on('error', () => {});
      response.resume();
      resolve({
        statusCode: response.statusCode ?? null,
        error: null,
        durationMs: elapsed(),
        retryAfterSeconds: retryAfter(response),
      });
    });
    req.on('error', (error) =>
      resolve({
        statusCode: null,
        error: describe(error, signal.aborted ? request.timeoutMs : undefined),
        durationMs: elapsed(),
        retryAfterSeconds: null,
      }),
    );
    req.end(request.body);
  });
}
