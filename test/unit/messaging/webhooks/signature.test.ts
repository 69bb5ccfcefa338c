// Standard Webhooks signatures: the published test vector, verification, tampering, replays and rotation.
import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  InvalidWebhookSecretError,
  newWebhookSecret,
  signWebhook,
  verifyWebhook,
  webhookSecretKey,
  webhookSignatureHeaders,
} from '../../../../functions/messaging/webhooks/signature.ts';

// The test vector published with the Standard Webhooks specification and its reference libraries.
const vector = {
  secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
  id: 'msg_p5jXN8AQM9LWM0D4loKWxJek',
  timestamp: 1614265330,
  body: '{"test": 2432232314}',
  signature: 'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=',
};
const signedAt = new Date(vector.timestamp * 1000);

function headersFor(input: { id: string; timestamp: number; signature: string }) {
  return {
    'webhook-id': input.id,
    'webhook-timestamp': String(input.timestamp),
    'webhook-signature': input.signature,
  };
}

describe('signing a delivery', () => {
  it('reproduces the Standard Webhooks test vector, so any of its libraries can verify our deliveries', () => {
    expect(signWebhook(vector)).toBe(vector.signature);
  });

  it('matches an independent HMAC-SHA256 over "id.timestamp.body" with the decoded secret', () => {
    const secret = newWebhookSecret();
    const input = { secret, id: 'whd_abc', timestamp: 1_800_000_000, body: '{"id":"whd_abc","data":{}}' };
    const key = Buffer.from(secret.slice('whsec_'.length), 'base64');
    const expected = createHmac('sha256', key).update(`whd_abc.1800000000.${input.body}`).digest('base64');

    expect(signWebhook(input)).toBe(`v1,${expected}`);
  });

  it('sends the id, the unix timestamp and the signature as the three webhook-* headers', () => {
    expect(webhookSignatureHeaders(vector)).toEqual(headersFor(vector));
  });

  it('creates whsec_ secrets of 32 random bytes, different every time', () => {
    const first = newWebhookSecret();
    const second = newWebhookSecret();

    expect(first).toMatch(/^whsec_[A-Za-z0-9+/]+=*$/);
    expect(webhookSecretKey(first)).toHaveLength(32);
    expect(first).not.toBe(second);
  });

  it.each([
    ['not base64', 'whsec_not base64!'],
    ['too short to be safe', `whsec_${Buffer.alloc(16).toString('base64')}`],
    ['empty', 'whsec_'],
  ])('refuses a secret that is %s', (_what, secret) => {
    expect(() => signWebhook({ ...vector, secret })).toThrow(InvalidWebhookSecretError);
  });
});

describe('verifying a delivery', () => {
  it('accepts the test vector within the tolerance window', () => {
    const verified = verifyWebhook({
      secret: vector.secret,
      headers: headersFor(vector),
      body: vector.body,
      now: new Date(signedAt.getTime() + 299_000),
    });

    expect(verified).toBe(true);
  });

  it('accepts the secret without its whsec_ prefix and the body as bytes', () => {
    const verified = verifyWebhook({
      secret: vector.secret.slice('whsec_'.length),
      headers: headersFor(vector),
      body: Buffer.from(vector.body),
      now: signedAt,
    });

    expect(verified).toBe(true);
  });

  it('refuses a body changed after signing, even by one character', () => {
    const verified = verifyWebhook({
      secret: vector.secret,
      headers: headersFor(vector),
      body: '{"test": 2432232315}',
      now: signedAt,
    });

    expect(verified).toBe(false);
  });

  it('refuses a signature moved onto another delivery id', () => {
    const verified = verifyWebhook({
      secret: vector.secret,
      headers: headersFor({ ...vector, id: 'msg_other' }),
      body: vector.body,
      now: signedAt,
    });

    expect(verified).toBe(false);
  });

  it('refuses a replay older than the tolerance window, and a timestamp from too far in the future', () => {
    const input = { secret: vector.secret, headers: headersFor(vector), body: vector.body };

    expect(verifyWebhook({ ...input, now: new Date(signedAt.getTime() + 301_000) })).toBe(false);
    expect(verifyWebhook({ ...input, now: new Date(signedAt.getTime() - 301_000) })).toBe(false);
    expect(
      verifyWebhook({ ...input, now: new Date(signedAt.getTime() + 3_600_000), toleranceSeconds: 3600 }),
    ).toBe(true);
  });

  it('refuses a signature made with another secret', () => {
    const verified = verifyWebhook({
      secret: newWebhookSecret(),
      headers: headersFor(vector),
      body: vector.body,
      now: signedAt,
    });

    expect(verified).toBe(false);
  });

  it('accepts either secret during a rotation, and any one of several space-separated signatures', () => {
    const rotated = newWebhookSecret();
    const signature = `v1,${Buffer.alloc(32).toString('base64')} ${signWebhook({ ...vector, secret: rotated })}`;

    const verified = verifyWebhook({
      secret: [vector.secret, rotated],
      headers: headersFor({ ...vector, signature }),
      body: vector.body,
      now: signedAt,
    });

    expect(verified).toBe(true);
  });

  it.each([
    ['no signature header', { 'webhook-id': vector.id, 'webhook-timestamp': String(vector.timestamp) }],
    ['a non-numeric timestamp', { ...headersFor(vector), 'webhook-timestamp': '1614265330.5' }],
    [
      'an unknown signature version',
      { ...headersFor(vector), 'webhook-signature': vector.signature.replace('v1', 'v2') },
    ],
    ['a truncated signature', { ...headersFor(vector), 'webhook-signature': vector.signature.slice(0, -8) }],
  ])('refuses a request with %s', (_what, headers) => {
    expect(verifyWebhook({ secret: vector.secret, headers, body: vector.body, now: signedAt })).toBe(false);
  });
});
