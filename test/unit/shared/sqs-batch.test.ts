import { describe, expect, it } from 'vitest';
import { batchFailures, runByKey } from '../../../functions/shared/sqs-batch.ts';

describe('running an SQS batch by profile', () => {
  it("runs one profile's inputs in batch order while other profiles run beside them", async () => {
    const log: string[] = [];
    const slowFirst = (work: { key: string; n: number; ms: number }) =>
      new Promise<void>((resolve) =>
        setTimeout(() => {
          log.push(`${work.key}${work.n}`);
          resolve();
        }, work.ms),
      );
    const items = [
      { messageId: 'm1', key: 'a', work: { key: 'a', n: 1, ms: 30 } },
      { messageId: 'm2', key: 'b', work: { key: 'b', n: 1, ms: 1 } },
      { messageId: 'm3', key: 'a', work: { key: 'a', n: 2, ms: 1 } },
    ];

    const failed = await runByKey({ items, run: slowFirst, onError: () => undefined });

    expect(failed).toEqual([]);
    expect(log).toEqual(['b1', 'a1', 'a2']);
  });

  it('reports only the messages whose work failed, and goes on with the next input of that profile', async () => {
    const errors: string[] = [];
    const done: number[] = [];
    const items = [1, 2, 3].map((n) => ({ messageId: `m${n}`, key: 'a', work: n }));

    const failed = await runByKey({
      items,
      run: async (n) => {
        if (n === 2) throw new Error('conflict');
        done.push(n);
      },
      onError: (error, item) =>
        errors.push(`${item.messageId}: ${error instanceof Error ? error.message : String(error)}`),
    });

    expect(failed).toEqual(['m2']);
    expect(done).toEqual([1, 3]);
    expect(errors).toEqual(['m2: conflict']);
    expect(batchFailures(['m0', ...failed, 'm0'])).toEqual({
      batchItemFailures: [{ itemIdentifier: 'm0' }, { itemIdentifier: 'm2' }],
    });
  });
});
