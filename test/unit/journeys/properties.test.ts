// Invariants of the journey engine over random inputs: no step sends twice, splits are fair, quiet hours hold.
import fc from 'fast-check';
import { DateTime } from 'luxon';
import { describe, expect, it } from 'vitest';
import type { JourneyDefinitionInput } from '../../../functions/journeys/definition.ts';
import { parseJourneyDefinition } from '../../../functions/journeys/definition.ts';
import { enter, react, resume, type StepResult } from '../../../functions/journeys/engine.ts';
import type { Enrollment, IncomingEvent, Timer } from '../../../functions/journeys/model.ts';
import { chooseVariant } from '../../../functions/journeys/split.ts';
import { context, renewalOffer, tracked } from './fixtures.ts';

/** The renewal offer with everything that holds a send back: quiet hours, a delaying cap, re-entry after exit. */
const busyJourney: JourneyDefinitionInput = {
  ...renewalOffer,
  entry: { ...renewalOffer.entry, reentry: { mode: 'afterExit' } },
  quietHours: { start: '21:00', end: '08:00' },
  frequencyCap: { max: 2, window: 'P1D', onCap: 'delay' },
};

type Input =
  | { readonly kind: 'trigger'; readonly key: string }
  | { readonly kind: 'event'; readonly event: IncomingEvent }
  | { readonly kind: 'timer'; readonly timer: Timer };

type Action =
  | { readonly kind: 'trigger'; readonly key: number }
  | { readonly kind: 'event'; readonly name: string; readonly key: number }
  | { readonly kind: 'fireTimer'; readonly pick: number }
  | { readonly kind: 'replay'; readonly pick: number };

const actionArbitrary: fc.Arbitrary<{ action: Action; advanceMinutes: number }> = fc.record({
  advanceMinutes: fc.integer({ min: 0, max: 3 * 24 * 60 }),
  action: fc.oneof(
    {
      arbitrary: fc.record({ kind: fc.constant('trigger' as const), key: fc.integer({ min: 0, max: 3 }) }),
      weight: 1,
    },
    {
      arbitrary: fc.record({
        kind: fc.constant('event' as const),
        name: fc.constantFrom('offer.clicked', 'renewal.accepted', 'page.viewed'),
        key: fc.integer({ min: 0, max: 3 }),
      }),
      weight: 1,
    },
    { arbitrary: fc.record({ kind: fc.constant('fireTimer' as const), pick: fc.nat() }), weight: 3 },
    { arbitrary: fc.record({ kind: fc.constant('replay' as const), pick: fc.nat() }), weight: 2 },
  ),
});

describe('journey invariants', () => {
  it('never sends one step of one run twice, whatever is duplicated, replayed or reordered', () => {
    let sequencesThatSent = 0;
    fc.assert(
      fc.property(fc.array(actionArbitrary, { maxLength: 40 }), (generated) => {
        const actions = [{ action: { kind: 'trigger', key: 0 } as const, advanceMinutes: 0 }, ...generated];
        let now = Date.parse('2025-07-01T18:00:00Z');
        let state: Enrollment | undefined;
        const delivered: Input[] = [];
        const timers: Timer[] = [];
        const sendsPerStep = new Map<string, number>();

        const apply = (input: Input): void => {
          const ctx = context({ definition: busyJourney, now: new Date(now).toISOString() });
          let result: StepResult;
          if (input.kind === 'trigger') result = enter(ctx, state, input.key);
          else if (!state) return;
          else if (input.kind === 'event') result = react(ctx, state, input.event);
          else result = resume(ctx, state, input.timer);
          delivered.push(input);
          if (!result.changed) return;
          state = result.enrollment;
          timers.push(...result.setTimers);
          for (const effect of result.effects) {
            if (effect.kind !== 'sendEmail' || !state) continue;
            const step = `${state.run}:${effect.nodeId}`;
            sendsPerStep.set(step, (sendsPerStep.get(step) ?? 0) + 1);
          }
        };

        for (const { action, advanceMinutes } of actions) {
          now += advanceMinutes * 60_000;
          if (action.kind === 'trigger') apply({ kind: 'trigger', key: `trigger-${action.key}` });
          else if (action.kind === 'event') {
            const at = new Date(now).toISOString();
            apply({
              kind: 'event',
              event: tracked({ event: action.name, key: `${action.name}-${action.key}`, at }),
            });
          } else if (action.kind === 'fireTimer') {
            const timer = timers[action.pick % Math.max(timers.length, 1)];
            if (!timer) continue;
            now = Math.max(now, Date.parse(timer.dueAt));
            apply({ kind: 'timer', timer });
          } else {
            const input = delivered[action.pick % Math.max(delivered.length, 1)];
            if (input) apply(input);
          }
        }

        for (const count of sendsPerStep.values()) expect(count).toBe(1);
        if (sendsPerStep.size > 0) sequencesThatSent++;
      }),
      { numRuns: 300 },
    );

    // Guards the property itself: the random sequences must reach the sends, or it would hold vacuously.
    expect(sequencesThatSent).toBeGreaterThan(100);
  }, 30_000);

  it('splits the audience in proportion to the weights, holdout included', () => {
    const definition = parseJourneyDefinition({
      name: 'Split',
      triggers: [{ type: 'event', match: { event: 'go' } }],
      start: 'split',
      nodes: {
        split: {
          type: 'split',
          variants: [
            { name: 'A', weight: 1, next: 'done' },
            { name: 'B', weight: 1, next: 'done' },
          ],
          // A and B get 45% each, the holdout 10%.
          holdout: { weight: 2 / 9 },
        },
        done: { type: 'exit' },
      },
    });
    const node = definition.nodes.split;
    if (node?.type !== 'split') throw new Error('fixture has no split');
    const size = 20_000;

    fc.assert(
      fc.property(fc.string({ minLength: 1, maxLength: 20 }), (journeyId) => {
        const counts = new Map<string, number>();
        for (let index = 0; index < size; index++) {
          const { variant } = chooseVariant({ node, seed: `${journeyId}:p-${index}:1:split` });
          counts.set(variant, (counts.get(variant) ?? 0) + 1);
        }

        expect(Math.abs((counts.get('A') ?? 0) / size - 0.45)).toBeLessThan(0.02);
        expect(Math.abs((counts.get('B') ?? 0) / size - 0.45)).toBeLessThan(0.02);
        expect(Math.abs((counts.get('holdout') ?? 0) / size - 0.1)).toBeLessThan(0.02);
      }),
      { numRuns: 5 },
    );
  });

  it('never sends an email inside quiet hours, and always resumes outside them', () => {
    const zones = [
      'UTC',
      'Europe/Berlin',
      'America/New_York',
      'America/St_Johns',
      'Asia/Kolkata',
      'Australia/Lord_Howe',
      'Pacific/Chatham',
      'America/Santiago',
    ];
    const dstChanges = [
      '2025-03-30T01:00:00Z', // Europe
      '2025-10-26T01:00:00Z',
      '2025-03-09T07:00:00Z', // North America
      '2025-11-02T06:00:00Z',
      '2025-04-05T15:00:00Z', // Lord Howe, half an hour
      '2025-10-04T15:30:00Z',
      '2025-04-06T03:00:00Z', // Santiago
      '2025-09-07T04:00:00Z',
    ];
    const timeOfDay = fc
      .tuple(fc.integer({ min: 0, max: 23 }), fc.integer({ min: 0, max: 59 }))
      .map(([hour, minute]) => `${String(hour).padStart(2, '0')}:${String(minute).padStart(2, '0')}`);
    const minutesOf = (time: string): number => Number(time.slice(0, 2)) * 60 + Number(time.slice(3));
    const isQuiet = ({
      at,
      zone,
      start,
      end,
    }: {
      at: Date;
      zone: string;
      start: string;
      end: string;
    }): boolean => {
      const local = DateTime.fromJSDate(at, { zone });
      const minute = local.hour * 60 + local.minute + local.second / 60;
      const [from, to] = [minutesOf(start), minutesOf(end)];
      if (from === to) return false;
      return from < to ? minute >= from && minute < to : minute >= from || minute < to;
    };

    fc.assert(
      fc.property(
        fc.oneof(
          fc.date({
            min: new Date('2020-01-01T00:00:00Z'),
            max: new Date('2030-12-31T00:00:00Z'),
            noInvalidDate: true,
          }),
          // Around clock changes, where local times are skipped or repeat.
          fc
            .tuple(fc.constantFrom(...dstChanges), fc.integer({ min: -36 * 60, max: 36 * 60 }))
            .map(([change, minutes]) => new Date(Date.parse(change) + minutes * 60_000)),
        ),
        fc.constantFrom(...zones),
        timeOfDay,
        timeOfDay,
        (now, zone, start, end) => {
          const definition: JourneyDefinitionInput = {
            name: 'Quiet',
            triggers: [{ type: 'event', match: { event: 'go' } }],
            quietHours: { start, end },
            timeZone: zone,
            start: 'send',
            nodes: { send: { type: 'sendEmail', templateId: 't', next: 'done' }, done: { type: 'exit' } },
          };
          const facts = { ...context({ now: now.toISOString() }).facts, traits: {} };

          const entered = enter(context({ definition, facts, now: now.toISOString() }), undefined, 'go-1');

          const sent = entered.effects.some((effect) => effect.kind === 'sendEmail');
          expect(sent).toBe(!isQuiet({ at: now, zone, start, end }));
          if (sent) return;
          const waiting = entered.enrollment?.waiting;
          if (!waiting) throw new Error('held without a wait');
          const until = new Date(waiting.until);
          expect(until.getTime()).toBeGreaterThan(now.getTime());
          expect(isQuiet({ at: until, zone, start, end })).toBe(false);
        },
      ),
      { numRuns: 500 },
    );
  }, 30_000);
});
