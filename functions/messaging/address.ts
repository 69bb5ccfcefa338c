// Recipient addresses: one normalized form and its hash, the key of suppression and unsubscribe state.
import { createHash } from 'node:crypto';
import { normalizeEmail } from '../tracking/profile.ts';

/**
 * SHA-256 of the normalized address. Suppression and unsubscribes are kept under this hash, so an erased person's
 * address can stay suppressed without the address itself being kept.
 */
export function addressHash(email: string): string {
  const normalized = normalizeEmail(email) ?? email.trim().toLowerCase();
  return createHash('sha256').update(normalized).digest('hex');
}
