// Picks a split's variant from a hash of the enrollment, so a replay or retry always picks the same one.
import { createHash } from 'node:crypto';
import type { JourneyNode } from './definition.ts';

export const HOLDOUT_VARIANT = 'holdout';

/** A uniform number in [0, 1) from 48 bits of SHA-256 (exact in a double). */
export function uniformFromSeed(seed: string): number {
  return createHash('sha256').update(seed).digest().readUIntBE(0, 6) / 2 ** 48;
}

/**
 * Chooses proportionally to the weights; the holdout's share gets `next: null` (the enrollment leaves as a control).
 * `seed` names the enrollment and node, e.g. `${journeyId}:${profileId}:${run}:${nodeId}`.
 */
export function chooseVariant({
  node,
  seed,
}: {
  node: Extract<JourneyNode, { type: 'split' }>;
  seed: string;
}): { variant: string; next: string | null } {
  const total = node.variants.reduce((sum, variant) => sum + variant.weight, 0) + (node.holdout?.weight ?? 0);
  let point = uniformFromSeed(seed) * total;
  for (const variant of node.variants) {
    if (point < variant.weight) return { variant: variant.name, next: variant.next };
    point -= variant.weight;
  }
  if (node.holdout) return { variant: HOLDOUT_VARIANT, next: null };
  // Only rounding can land here; the last variant owns the top of the range.
  const last = node.variants[node.variants.length - 1];
  if (!last) throw new Error('a split needs at least one variant');
  return { variant: last.name, next: last.next };
}
