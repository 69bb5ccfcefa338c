// Standard Webhooks signatures (standardwebhooks.com): signing our deliveries and verifying them on the receiving side.
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

export const SECRET_PREFIX = 'whsec_';
/** The specification asks for secrets of 24 to 64 bytes. */
const MIN_SECRET_BYTES = 24;
const MAX_SECRET_BYTES = 64;
/** How far a delivery's timestamp may be from the receiver's clock; the specification's suggested window. */
export const DEFAULT_TOLERANCE_SECONDS = 5 * 60;

export class InvalidWebhookSecretError extends Error {
  override name = 'InvalidWebhookSecretError';
}

/** A fresh `whsec_` secret of 32 random bytes. */
export function newWebhookSecret(): string {
  return `${SECRET_PREFIX}${randomBytes(32).toString('base64')}`;
}

/** The key bytes of a secret; the `whsec_` prefix is optional, as receivers' libraries also accept it bare. */
export function webhookSecretKey(secret: string): Buffer {
  const encoded = secret.startsWith(SECRET_PREFIX) ? secret.slice(SECRET_PREFIX.length) : secret;
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(encoded) || encoded.length % 4 !== 0)
    throw new InvalidWebhookSecretError('a webhook secret is whsec_ followed by base64');
  const key = Buffer.from(encoded, 'base64');
  if (key.length < MIN_SECRET_BYTES || key.length > MAX_SECRET_BYTES)
    throw new InvalidWebhookSecretError(
      `a webhook secret holds ${MIN_SECRET_BYTES} to ${MAX_SECRET_BYTES} bytes`,
    );
  return key;
}

export interface WebhookSignatureInput {
  readonly secret: string;
  /** The `webhook-id` header: the delivery id, the same on every retry so receivers can deduplicate. */
  readonly id: string;
  /** The `webhook-timestamp` header, unix seconds. */
  readonly timestamp: number;
  /** The exact request body bytes: a receiver must verify before parsing or re-serializing it. */
  readonly body: string | Uint8Array;
}

function digest(key: Buffer, input: Omit<WebhookSignatureInput, 'secret'>): Buffer {
  return createHmac('sha256', key).update(`${input.id}.${input.timestamp}.`).update(input.body).digest();
}

/** The `webhook-signature` header value: `v1,<base64 HMAC-SHA256 of "id.timestamp.body">`. */
export function signWebhook(input: WebhookSignatureInput): string {
  return `v1,${digest(webhookSecretKey(input.secret), input).toString('base64')}`;
}

/** The three headers a signed delivery carries. */
export function webhookSignatureHeaders(input: WebhookSignatureInput): Record<string, string> {
  return {
    'webhook-id': input.id,
    'webhook-timestamp': String(input.timestamp),
    'webhook-signature': signWebhook(input),
  };
}

export interface WebhookVerificationInput {
  /** The endpoint's secret; during a rotation, pass both the new and the previous one. */
  readonly secret: string | readonly string[];
  /** Request headers with lower-case names (Node's `req.headers` works as is). */
  readonly headers: Readonly<Record<string, string | readonly string[] | undefined>>;
  readonly body: string | Uint8Array;
  readonly now?: Date;
  /** @default 300 seconds either way */
  readonly toleranceSeconds?: number;
}

function header(headers: WebhookVerificationInput['headers'], name: string): string | undefined {
  const value = headers[name];
  return typeof value === 'string' ? value : value?.[0];
}

/**
 * True when the request carries a `v1` signature made with one of the secrets over this very body, and its
 * timestamp is within the tolerance window (which stops replays of old deliveries). Comparisons are constant-time.
 */
export function verifyWebhook(input: WebhookVerificationInput): boolean {
  const id = header(input.headers, 'webhook-id');
  const timestampText = header(input.headers, 'webhook-timestamp');
  const signatures = header(input.headers, 'webhook-signature');
  if (!id || !timestampText || !signatures || !/^\d{1,12}$/.test(timestampText)) return false;
  const timestamp = Number(timestampText);
  const nowSeconds = Math.floor((input.now ?? new Date()).getTime() / 1000);
  if (Math.abs(nowSeconds - timestamp) > (input.toleranceSeconds ?? DEFAULT_TOLERANCE_SECONDS)) return false;
  const presented = signatures
    .split(' ')
    .filter((entry) => entry.startsWith('v1,'))
    .map((entry) => Buffer.from(entry.slice(3), 'base64'));
  const secrets = typeof input.secret === 'string' ? [input.secret] : input.secret;
  return secrets.some((secret) => {
    const expected = digest(webhookSecretKey(secret), { id, timestamp, body: input.body });
    return presented.some(
      (signature) => signature.length === expected.length && timingSafeEqual(signature, expected),
    );
  });
}
