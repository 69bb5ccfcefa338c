// Bearer-token checks for the admin API: parsing the header and comparing in constant time.
import { createHash, timingSafeEqual } from 'node:crypto';

/** The token from an `Authorization: Bearer <token>` header, or undefined when the header has another form. */
export function bearerToken(header: string | undefined): string | undefined {
  const match = header?.match(/^\s*bearer\s+(\S+)\s*$/i);
  return match?.[1];
}

/**
 * Compares two tokens in time independent of where they differ and of their lengths:
 * both are hashed first, so timingSafeEqual always sees equal-length inputs.
 */
export function tokensEqual(presented: string, expected: string): boolean {
  if (expected.length === 0) return false;
  const a = createHash('sha256').update(presented).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b);
}
