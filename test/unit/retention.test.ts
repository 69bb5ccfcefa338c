// Log retention from configuration: always a period CloudWatch Logs accepts, never shorter than asked for.
import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { describe, expect, it } from 'vitest';
import { retentionDays } from '../../lib/retention.ts';

const ACCEPTED = Object.values(RetentionDays)
  .filter((v): v is number => typeof v === 'number' && v > 0)
  .sort((a, b) => a - b);
const LONGEST_FINITE = 3653;

/** A small deterministic generator, so a failing day count can be reproduced. */
function seededDays(seed: number, count: number, max: number): number[] {
  let state = seed;
  const days: number[] = [];
  for (let i = 0; i < count; i++) {
    state = (state * 1_103_515_245 + 12_345) % 2 ** 31;
    days.push(1 + (state % max));
  }
  return days;
}

describe('log retention', () => {
  it.each([
    [1, RetentionDays.ONE_DAY],
    [7, RetentionDays.ONE_WEEK],
    [14, RetentionDays.TWO_WEEKS],
    [90, RetentionDays.THREE_MONTHS],
    [365, RetentionDays.ONE_YEAR],
  ])('keeps %i days as exactly that period', (days, expected) => {
    expect(retentionDays(days)).toBe(expected);
  });

  it.each([
    [2, RetentionDays.THREE_DAYS],
    [8, RetentionDays.TWO_WEEKS],
    [31, RetentionDays.TWO_MONTHS],
    [366, RetentionDays.THIRTEEN_MONTHS],
  ])('rounds %i days up to the next accepted period', (days, expected) => {
    expect(retentionDays(days)).toBe(expected);
  });

  it('keeps logs forever when asked for longer than ten years', () => {
    expect(retentionDays(LONGEST_FINITE + 1)).toBe(RetentionDays.INFINITE);
  });

  it('keeps logs forever for a day count beyond every finite period', () => {
    expect(retentionDays(50_000)).toBe(RetentionDays.INFINITE);
  });

  it('chooses the shortest accepted period that is at least the days asked for', () => {
    for (const days of seededDays(42, 500, LONGEST_FINITE)) {
      const chosen = retentionDays(days);

      expect(ACCEPTED).toContain(chosen);
      expect(chosen).toBeGreaterThanOrEqual(days);
      expect(ACCEPTED.filter((period) => period >= days && period < chosen)).toEqual([]);
    }
  });

  it('never chooses a shorter period for a longer request', () => {
    const days = seededDays(7, 300, 5000).sort((a, b) => a - b);

    const chosen = days.map(retentionDays);

    for (let i = 1; i < chosen.length; i++) {
      expect(chosen[i]).toBeGreaterThanOrEqual(chosen[i - 1] ?? 0);
    }
  });
});
