// Segment definitions: what a marketer may write, and the references between segments that are refused.
import { describe, expect, it } from 'vitest';
import {
  checkSegmentGraph,
  dependentSegments,
  parseSegmentDefinition,
  readsEvents,
  type SegmentDefinition,
  SegmentDefinitionError,
  segmentDefinitionSchema,
  segmentReferences,
} from '../../../functions/segments/definition.ts';

/** Schema only: stored sets may hold references the test wants the graph checks to find. */
function segment(id: string, rule: unknown): SegmentDefinition {
  return segmentDefinitionSchema.parse({ id, name: id, rule });
}

const reads = (id: string, ...others: string[]) =>
  segment(
    id,
    others.length === 0 ? { stage: { in: ['lead'] } } : { all: others.map((o) => ({ segment: o })) },
  );

function problemsOf(action: () => unknown): string[] {
  try {
    action();
  } catch (error) {
    if (error instanceof SegmentDefinitionError) return error.problems.map((p) => `${p.path}: ${p.message}`);
    throw error;
  }
  return [];
}

describe('segment documents', () => {
  it('accept journey conditions mixed with consent at any depth', () => {
    const parsed = parseSegmentDefinition({
      id: 'engaged-pros',
      name: 'Engaged pro customers who said yes to marketing',
      rule: {
        all: [
          { trait: 'plan', op: 'eq', value: 'pro' },
          { any: [{ consent: 'marketing', granted: true }, { not: { consent: 'email', granted: false } }] },
          { events: { event: 'page.viewed' }, within: 'P30D', count: { op: 'gte', value: 3 } },
          { score: 'engagement', op: 'gt', value: 10 },
        ],
      },
    });

    expect(parsed.description).toBe('');
    expect(readsEvents(parsed.rule)).toBe(true);
  });

  it('refuse a consent condition that does not say granted or not', () => {
    const parse = () => parseSegmentDefinition({ id: 's', name: 'S', rule: { consent: 'marketing' } });

    expect(problemsOf(parse)).not.toEqual([]);
  });

  it('refuse ids that cannot be part of a storage key', () => {
    const parse = () => parseSegmentDefinition({ id: 'a#b', name: 'S', rule: { stage: { in: ['lead'] } } });

    expect(problemsOf(parse)[0]).toMatch(/^id: segment ids/);
  });

  it('refuse an event count over a window that is not a duration', () => {
    const rule = { events: { event: 'x' }, within: '30 days' };

    expect(problemsOf(() => parseSegmentDefinition({ id: 's', name: 'S', rule }))).not.toEqual([]);
  });

  it('list each referenced segment once', () => {
    const rule = { any: [{ segment: 'a' }, { not: { segment: 'a', member: false } }, { segment: 'b' }] };

    expect(segmentReferences(segment('s', rule).rule)).toEqual(['a', 'b']);
  });

  it('know when no condition reads events, so facts can be loaded without them', () => {
    expect(readsEvents(segment('s', { all: [{ trait: 'plan', op: 'exists' }] }).rule)).toBe(false);
  });
});

describe('references between segments', () => {
  it('refuse a segment that reads itself', () => {
    expect(problemsOf(() => parseSegmentDefinition({ id: 'a', name: 'A', rule: { segment: 'a' } }))).toEqual([
      'rule: segments would depend on each other in a cycle: a → a',
    ]);
  });

  it('refuse a segment that closes a cycle through others, naming the cycle', () => {
    const stored = [reads('b', 'c'), reads('c', 'a')];

    const problems = problemsOf(() =>
      parseSegmentDefinition({ id: 'a', name: 'A', rule: { segment: 'b' } }, stored),
    );

    expect(problems).toEqual(['rule: segments would depend on each other in a cycle: a → b → c → a']);
  });

  it('accept a new version of a segment that removes the reference that made a cycle', () => {
    const stored = [reads('a', 'b'), reads('b')];

    expect(() =>
      parseSegmentDefinition({ id: 'b', name: 'B', rule: { trait: 'plan', op: 'exists' } }, stored),
    ).not.toThrow();
  });

  it('refuse a reference to a segment that does not exist', () => {
    expect(
      problemsOf(() => parseSegmentDefinition({ id: 'a', name: 'A', rule: { segment: 'ghost' } })),
    ).toEqual(['rule: reads segment "ghost", which does not exist']);
  });

  it('find every cycle and dangling reference in a stored set', () => {
    const problems = checkSegmentGraph([reads('a', 'b'), reads('b', 'a'), reads('c', 'missing')]);

    expect(problems.map((p) => p.message)).toEqual([
      'segment "c" reads segment "missing", which does not exist',
      'segments depend on each other in a cycle: a → b → a',
    ]);
  });

  it('order the segments to re-evaluate after a change so each comes after what it reads', () => {
    const segments = [reads('base'), reads('mid', 'base'), reads('top', 'mid', 'base'), reads('other')];

    expect(dependentSegments('base', segments)).toEqual(['mid', 'top']);
  });
});
