// Journey definitions: what the admin API accepts, and every mistake it reports at once.
import { describe, expect, it } from 'vitest';
import {
  JourneyDefinitionError,
  type JourneyDefinitionInput,
  parseJourneyDefinition,
} from '../../../functions/journeys/definition.ts';
import { renewalOffer } from './fixtures.ts';

function problemsOf(input: unknown): string[] {
  try {
    parseJourneyDefinition(input);
  } catch (error) {
    if (error instanceof JourneyDefinitionError) return error.problems.map((p) => `${p.path}: ${p.message}`);
    throw error;
  }
  return [];
}

const base = (nodes: JourneyDefinitionInput['nodes'], start = 'a'): JourneyDefinitionInput => ({
  name: 'Test',
  triggers: [{ type: 'event', match: { event: 'go' } }],
  start,
  nodes,
});

describe('journey definitions', () => {
  it('accept the renewal-offer journey and fill in the defaults', () => {
    const definition = parseJourneyDefinition(renewalOffer);

    expect(definition.entry.reentry).toEqual({ mode: 'never' });
    expect(definition.timeZone).toBe('UTC');
  });

  it('reject a step that leads to a node that does not exist', () => {
    const problems = problemsOf(base({ a: { type: 'sendEmail', templateId: 't', next: 'nowhere' } }));

    expect(problems).toEqual(['nodes.a: node "a" leads to "nowhere", which does not exist']);
  });

  it('reject nodes nobody can reach', () => {
    const problems = problemsOf(base({ a: { type: 'exit' }, orphan: { type: 'exit' } }));

    expect(problems).toEqual(['nodes.orphan: node "orphan" cannot be reached from "a"']);
  });

  it('reject a loop that never waits', () => {
    const problems = problemsOf(
      base({
        a: { type: 'sendEmail', templateId: 't', next: 'b' },
        b: { type: 'condition', condition: { segment: 's' }, onTrue: 'a', onFalse: 'c' },
        c: { type: 'exit' },
      }),
    );

    expect(problems).toEqual([expect.stringContaining('loop without a wait: a → b → a')]);
  });

  it('accept a loop that passes a wait', () => {
    const problems = problemsOf(
      base({
        a: { type: 'sendEmail', templateId: 't', next: 'w' },
        w: { type: 'wait', duration: 'P7D', next: 'b' },
        b: { type: 'condition', condition: { segment: 's' }, onTrue: 'a', onFalse: 'c' },
        c: { type: 'exit' },
      }),
    );

    expect(problems).toEqual([]);
  });

  it('list every problem of a document at once', () => {
    const problems = problemsOf({
      name: '',
      triggers: [],
      start: 'a',
      nodes: { a: { type: 'wait', duration: 'soon', next: 'b' } },
    });

    expect(problems.length).toBeGreaterThanOrEqual(3);
    expect(problems).toContainEqual(expect.stringMatching(/^name: /));
    expect(problems).toContainEqual(expect.stringMatching(/^triggers: /));
    expect(problems).toContainEqual(expect.stringMatching(/^nodes\.a\.duration: .*ISO 8601 duration/));
  });

  it('reject trait paths that reach into the object prototype', () => {
    const problems = problemsOf({
      ...base({ a: { type: 'exit' } }),
      entry: { condition: { trait: '__proto__.polluted', op: 'exists' } },
    });

    expect(problems.join('\n')).toContain('__proto__');
  });
});
