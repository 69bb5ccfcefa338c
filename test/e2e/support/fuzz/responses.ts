// Sends one hostile request with a deadline and judges the answer: a clear 4xx, a valid 2xx, or the pixel GIF.
import { z } from 'zod';

/** Each request must be answered well within the gateway's 30 s integration timeout. */
export const REQUEST_TIMEOUT_MS = 20_000;

export interface HostileRequest {
  readonly method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  /** Path and query string, already encoded as they go on the wire. */
  readonly path: string;
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: string | Uint8Array;
}

/** What a request should get: JSON (tracking, banners, admin), the GIF (pixels), or a page for a person. */
export type Expectation = 'json' | 'gif' | 'page' | 'script';

export interface Answer {
  readonly status: number;
  readonly contentType: string;
  readonly body: Buffer;
  readonly headers: Headers;
}

export async function send(apiUrl: string, request: HostileRequest): Promise<Answer> {
  const response = await fetch(`${apiUrl}${request.path}`, {
    method: request.method,
    headers: request.headers ?? {},
    ...(request.body === undefined
      ? {}
      : { body: typeof request.body === 'string' ? request.body : Uint8Array.from(request.body) }),
    redirect: 'manual',
    signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
  });
  return {
    status: response.status,
    contentType: response.headers.get('content-type') ?? '',
    body: Buffer.from(await response.arrayBuffer()),
    headers: response.headers,
  };
}

const GIF_MAGIC = Buffer.from('GIF89a');

const errorBody = z.union([
  z.object({ error: z.string().min(1) }).loose(),
  // Tracking batches name the problem per event.
  z.object({ errors: z.array(z.object({ error: z.string().min(1) }).loose()).min(1) }).loose(),
  // API Gateway's own answers (404 route, 413 payload) carry `message`, as in AWS.
  z.object({ message: z.string().min(1) }).loose(),
]);

/** Problems with an answer; empty when the answer is acceptable for hostile input. */
export function problemsWith(answer: Answer, expectation: Expectation): string[] {
  const problems: string[] = [];
  const text = answer.body.toString('utf8');
  if (answer.status >= 500) problems.push(`status ${answer.status}: ${text.slice(0, 200)}`);
  if (expectation === 'gif') {
    if (answer.status !== 200) problems.push(`pixel answered ${answer.status} instead of 200`);
    if (!answer.contentType.startsWith('image/gif'))
      problems.push(`pixel content-type ${answer.contentType}`);
    if (!answer.body.subarray(0, 6).equals(GIF_MAGIC)) problems.push('pixel body is not a GIF');
    return problems;
  }
  if (expectation === 'page') {
    // Email and banner links: a redirect, or a page a person can read.
    if (answer.status >= 300 && answer.status < 400 && answer.headers.get('location') === null)
      problems.push('redirect without location');
    if (answer.status >= 400 && !answer.contentType.startsWith('text/html'))
      problems.push(`link error page is ${answer.contentType}`);
    return problems;
  }
  if (expectation === 'script') {
    if (answer.status !== 200 || !answer.contentType.startsWith('application/javascript'))
      problems.push(`snippet answered ${answer.status} ${answer.contentType}`);
    return problems;
  }
  if (answer.status === 204 || answer.status === 304) return problems;
  if (answer.status >= 400 && answer.status < 500) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      problems.push(`${answer.status} without a JSON body: ${text.slice(0, 120)}`);
      return problems;
    }
    if (!errorBody.safeParse(parsed).success)
      problems.push(`${answer.status} JSON names no error: ${text.slice(0, 120)}`);
  }
  if (answer.status >= 200 && answer.status < 300) {
    try {
      JSON.parse(text);
    } catch {
      problems.push(`${answer.status} body is not JSON: ${text.slice(0, 120)}`);
    }
  }
  return problems;
}
