// Sources and their write keys: generation, hashing (keys are stored only as hashes) and validation.
import { createHash, randomBytes } from 'node:crypto';
import * as z from 'zod';
import { type RateLimit, rateLimitSchema } from './source-rate-limit.ts';

export interface Source {
  readonly id: string;
  readonly name: string;
  readonly status: 'active' | 'revoked';
  readonly createdAt: string;
  /** The first characters of the current key, so people can tell keys apart; never the whole key. */
  readonly keyPrefix: string;
  /** Hashes of keys that currently authenticate this source (the current one, and a rotated one in its grace period). */
  readonly keyHashes: readonly string[];
  readonly rotatedAt: string | null;
  /** Events per second this source may send (per collect instance); null: the deployment's default. */
  readonly rateLimit: RateLimit | null;
}

export const sourceSchema = z.object({
  id: z.string(),
  name: z.string(),
  status: z.enum(['active', 'revoked']),
  createdAt: z.string(),
  keyPrefix: z.string(),
  keyHashes: z.array(z.string()),
  rotatedAt: z.string().nullable(),
  // Sources stored before rate limits existed have none: they get the default.
  rateLimit: rateLimitSchema.nullable().default(null),
}) satisfies z.ZodType<Source>;

/** Keys people bring along (e.g. an existing Segment write key) must be long enough not to be guessed. */
export const MIN_WRITE_KEY_LENGTH = 16;

export function newWriteKey(): string {
  return `wk_${randomBytes(24).toString('base64url')}`;
}

export function newSourceId(): string {
  return `src_${randomBytes(9).toString('base64url')}`;
}

export function hashWriteKey(writeKey: string): string {
  return createHash('sha256').update(writeKey).digest('base64url');
}

export function keyPrefix(writeKey: string): string {
  return `${writeKey.slice(0, 6)}…`;
}

export const createSourceRequest = z.object({
  name: z.string().trim().min(1, 'name is required').max(200),
  writeKey: z
    .string()
    .min(MIN_WRITE_KEY_LENGTH, `writeKey must be at least ${MIN_WRITE_KEY_LENGTH} characters`)
    .max(200)
    .regex(/^[\x21-\x7e]+$/, 'writeKey must be printable ASCII without spaces')
    .optional(),
  rateLimit: rateLimitSchema.nullable().optional(),
});

export const updateSourceRequest = z
  .object({
    name: z.string().trim().min(1, 'name is required').max(200).optional(),
    /** null goes back to the deployment's default. */
    rateLimit: rateLimitSchema.nullable().optional(),
  })
  .refine((update) => update.name !== undefined || update.rateLimit !== undefined, {
    message: 'give name or rateLimit',
  });

export const rotateSourceRequest = z.object({
  /** How long the previous key keeps working, so clients can be redeployed. */
  graceHours: z
    .number()
    .int()
    .min(0)
    .max(24 * 30)
    .default(24),
});

/** The public view of a source: no key material. */
export function publicSource(source: Source) {
  return {
    id: source.id,
    name: source.name,
    status: source.status,
    createdAt: source.createdAt,
    keyPrefix: source.keyPrefix,
    rotatedAt: source.rotatedAt,
    rateLimit: source.rateLimit,
  };
}
