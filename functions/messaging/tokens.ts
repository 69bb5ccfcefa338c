// Signed link tokens for opens, clicks, unsubscribes and banner clicks: HMAC-SHA256, verifiable without a read.
import { createHmac, timingSafeEqual } from 'node:crypto';
import * as z from 'zod';
import { TOPICS } from './model.ts';

/**
 * What a token carries. A click token holds the destination itself: only a link that was in a rendered message
 * (or banner) ever gets signed, so a verified token can never redirect anywhere else.
 */
const payloadSchema = z.discriminatedUnion('k', [
  z.object({ k: z.literal('o'), m: z.string().min(1), p: z.string().min(1) }),
  z.object({
    k: z.literal('c'),
    m: z.string().min(1),
    p: z.string().min(1),
    u: z.url(),
    i: z.number().int(),
  }),
  z.object({
    k: z.literal('u'),
    m: z.string().min(1),
    p: z.string().min(1),
    a: z.string().min(1),
    t: z.enum(TOPICS),
  }),
  z.object({
    k: z.literal('b'),
    b: z.string().min(1),
    p: z.string().min(1),
    u: z.url(),
    /** Expiry, epoch seconds: banners are short-lived, unlike email links. */
    x: z.number().int(),
  }),
]);
export type TokenPayload = z.infer<typeof payloadSchema>;

export type LinkToken =
  | { readonly kind: 'open'; readonly messageId: string; readonly profileId: string }
  | {
      readonly kind: 'click';
      readonly messageId: string;
      readonly profileId: string;
      readonly url: string;
      /** Position of the link in the message, for per-link statistics. */
      readonly linkIndex: number;
    }
  | {
      readonly kind: 'unsubscribe';
      readonly messageId: string;
      readonly profileId: string;
      /** Hash of the normalized recipient address (see addressHash). */
      readonly addressHash: string;
      readonly topic: (typeof TOPICS)[number];
    }
  | {
      readonly kind: 'banner-click';
      readonly bannerId: string;
      readonly profileId: string;
      readonly url: string;
      readonly expiresAt: Date;
    };

export type TokenKind = LinkToken['kind'];

export class InvalidTokenError extends Error {
  override name = 'InvalidTokenError';
}

/** 128-bit tags: forging one takes 2^128 tries; links stay short enough for every mail client. */
const TAG_BYTES = 16;
/** Unpadded base64url length of a tag. */
const TAG_CHARS = Math.ceil((TAG_BYTES * 8) / 6);

function toPayload(token: LinkToken): TokenPayload {
  switch (token.kind) {
    case 'open':
      return { k: 'o', m: token.messageId, p: token.profileId };
    case 'click':
      return { k: 'c', m: token.messageId, p: token.profileId, u: token.url, i: token.linkIndex };
    case 'unsubscribe':
      return { k: 'u', m: token.messageId, p: token.profileId, a: token.addressHash, t: token.topic };
    case 'banner-click':
      return {
        k: 'b',
        b: token.bannerId,
        p: token.profileId,
        u: token.url,
        x: Math.floor(token.expiresAt.getTime() / 1000),
      };
  }
}

function fromPayload(payload: TokenPayload): LinkToken {
  switch (payload.k) {
    case 'o':
      return { kind: 'open', messageId: payload.m, profileId: payload.p };
    case 'c':
      return {
        kind: 'click',
        messageId: payload.m,
        profileId: payload.p,
        url: payload.u,
        linkIndex: payload.i,
      };
    case 'u':
      return {
        kind: 'unsubscribe',
        messageId: payload.m,
        profileId: payload.p,
        addressHash: payload.a,
        topic: payload.t,
      };
    case 'b':
      return {
        kind: 'banner-click',
        bannerId: payload.b,
        profileId: payload.p,
        url: payload.u,
        expiresAt: new Date(payload.x * 1000),
      };
  }
}

/**
 * Signs with the first secret and accepts any of them, so a secret can be rotated without breaking links in
 * mail already sent: put the new one first and keep the old one until its links no longer matter.
 */
export class TokenSigner {
  private readonly keys: readonly Buffer[];

  constructor(secrets: readonly string[]) {
    if (secrets.length === 0 || secrets.some((s) => s.length < 32))
      throw new Error('TokenSigner needs at least one secret of 32 characters or more');
    // A key of its own for link tokens, so the secret can serve other purposes without cross-use of tags.
    this.keys = secrets.map((secret) =>
      createHmac('sha256', secret).update('nurture-link-token-v1').digest(),
    );
  }

  sign(token: LinkToken): string {
    const body = Buffer.from(JSON.stringify(toPayload(token))).toString('base64url');
    const [key] = this.keys;
    if (key === undefined) throw new Error('unreachable: no key');
    return `${body}.${this.tag(key, body)}`;
  }

  /** Verifies and decodes a token; throws InvalidTokenError for anything tampered, truncated, foreign or expired. */
  verify(token: string, now: Date = new Date()): LinkToken {
    const dot = token.indexOf('.');
    if (dot <= 0 || token.length > 4096) throw new InvalidTokenError('malformed token');
    const body = token.slice(0, dot);
    // Compared as text, not decoded: base64url decoding skips stray characters and ignores the last character's
    // spare bits, so comparing bytes would accept several spellings of one tag.
    const presented = Buffer.from(token.slice(dot + 1));
    if (presented.length !== TAG_CHARS) throw new InvalidTokenError('malformed token');
    const valid = this.keys.some((key) => timingSafeEqual(Buffer.from(this.tag(key, body)), presented));
    if (!valid) throw new InvalidTokenError('token signature does not match');
    let decoded: unknown;
    try {
      decoded = JSON.parse(Buffer.from(body, 'base64url').toString('utf8'));
    } catch {
      throw new InvalidTokenError('malformed token');
    }
    const parsed = payloadSchema.safeParse(decoded);
    if (!parsed.success) throw new InvalidTokenError('malformed token');
    const result = fromPayload(parsed.data);
    if (result.kind === 'banner-click' && result.expiresAt.getTime() < now.getTime())
      throw new InvalidTokenError('link expired');
    return result;
  }

  private tag(key: Buffer, body: string): string {
    return createHmac('sha256', key).update(body).digest().subarray(0, TAG_BYTES).toString('base64url');
  }
}
