// Random splits: the same enrollment always lands in the same variant, and a holdout leaves the journey.
import { describe, expect, it } from 'vitest';
import { parseJourneyDefinition } from '../../../functions/journeys/definition.ts';
import { chooseVariant } from '../../../functions/journeys/split.ts';

function splitNode(holdout?: number) {
  const definition = parseJourneyDefinition({
    name: 'Split',
    triggers: [{ type: 'event', match: { event: 'go' } }],
    start: 'split',
    nodes: {
      split: {
        type: 'split',
        variants: [
          { name: 'A', weight: 1, next: 'done' },
          { name: 'B', weight: 3, next: 'done' },
        ],
        ...(holdout === undefined ? {} : { holdout: { weight: holdout } }),
      },
      done: { type: 'exit' },
    },
  });
  const node = definition.nodes.split;
  if (node?.type !== 'split') throw new Error('fixture has no split');
  return node;
}

describe('split', () => {
  it('chooses the same variant every time for the same enrollment', () => {
    const node = splitNode(1);
    const seed = 'journey:p-1:1:split';

    const choices = new Set([1, 2, 3].map(() => chooseVariant({ node, seed }).variant));

    expect(choices.size).toBe(1);
  });

  it('sends each variant on to its next node and the holdout nowhere', () => {
    const node = splitNode(1);
    const seeds = Array.from({ length: 200 }, (_, index) => `j:p-${index}:1:split`);

    const choices = seeds.map((seed) => chooseVariant({ node, seed }));

    expect(new Set(choices.map((choice) => choice.variant))).toEqual(new Set(['A', 'B', 'holdout']));
    for (const choice of choices) expect(choice.next).toBe(choice.variant === 'holdout' ? null : 'done');
  });

  it('never puts anyone in a holdout the split does not have', () => {
    const node = splitNode();

    const variants = Array.from(
      { length: 500 },
      (_, index) => chooseVariant({ node, seed: `s-${index}` }).variant,
    );

    expect(variants).not.toContain('holdout');
  });
});
