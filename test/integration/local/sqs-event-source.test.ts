import { fileURLToPath } from 'node:url';
import {
  CreateQueueCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
} from '@aws-sdk/client-sqs';
import type { SQSEvent } from 'aws-lambda';
import { afterEach, describe, expect, it } from 'vitest';
import { parseEventPattern } from '../../../lib/local/event-pattern.ts';
import { FunctionPool } from '../../../lib/local/lambda/function-pool.ts';
import { SqsEventSource, type SqsEventSourceDefinition } from '../../../lib/local/sqs-event-source.ts';
import { sqs, uniqueName } from '../clients.ts';

const codeDirectory = fileURLToPath(new URL('../../fixtures/functions/', import.meta.url));
const running: Array<{ stop(): Promise<void> }> = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((r) => r.stop()));
});

async function queueWithDlq(maxReceiveCount: number) {
  const name = uniqueName('esm');
  const dlq = await sqs.send(new CreateQueueCommand({ QueueName: `${name}-dlq` }));
  const dlqArn = `arn:aws:sqs:us-east-1:000000000000:${name}-dlq`;
  const queue = await sqs.send(
    new CreateQueueCommand({
      QueueName: name,
      Attributes: {
        VisibilityTimeout: '1',
        RedrivePolicy: JSON.stringify({
          deadLetterTargetArn: dlqArn,
          maxReceiveCount: String(maxReceiveCount),
        }),
      },
    }),
  );
  return {
    queueUrl: queue.QueueUrl ?? '',
    queueArn: `arn:aws:sqs:us-east-1:000000000000:${name}`,
    dlqUrl: dlq.QueueUrl ?? '',
  };
}

async function send(queueUrl: string, bodies: unknown[]) {
  await sqs.send(
    new SendMessageBatchCommand({
      QueueUrl: queueUrl,
      Entries: bodies.map((b, i) => ({ Id: String(i), MessageBody: JSON.stringify(b) })),
    }),
  );
}

async function count(queueUrl: string): Promise<number> {
  const { Attributes } = await sqs.send(
    new GetQueueAttributesCommand({
      QueueUrl: queueUrl,
      AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
    }),
  );
  return (
    Number(Attributes?.ApproximateNumberOfMessages ?? 0) +
    Number(Attributes?.ApproximateNumberOfMessagesNotVisible ?? 0)
  );
}

async function until(check: () => Promise<boolean>, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 100));
  }
}

function start(
  definition: Partial<SqsEventSourceDefinition> & { queueUrl: string; queueArn: string },
  handler: string,
) {
  const pool = new FunctionPool(
    {
      logicalId: 'Consumer',
      functionName: 'consumer',
      functionArn: 'arn:aws:lambda:us-east-1:000000000000:function:consumer',
      codeDirectory,
      handler,
      timeoutSeconds: 5,
      memorySize: 128,
      environment: {},
      maxConcurrency: 2,
      logGroupName: '/aws/lambda/consumer',
    },
    {},
    () => {},
  );
  const batches: SQSEvent[] = [];
  const source = new SqsEventSource(
    {
      logicalId: 'Mapping',
      functionLogicalId: 'Consumer',
      batchSize: 10,
      maximumBatchingWindowSeconds: 0,
      reportBatchItemFailures: true,
      maximumConcurrency: 1,
      filters: [],
      enabled: true,
      ...definition,
    },
    sqs,
    (event) => {
      batches.push(event);
      return pool.invoke(event);
    },
    'us-east-1',
    () => {},
  );
  source.start();
  running.push(source, { stop: () => pool.close() });
  return { source, batches };
}

describe('SQS event source mapping', () => {
  it('deletes a batch once the function succeeds', async () => {
    const { queueUrl, queueArn } = await queueWithDlq(3);
    await send(queueUrl, [{ n: 1 }, { n: 2 }, { n: 3 }]);

    const { source, batches } = start({ queueUrl, queueArn }, 'index.partialBatch');
    await until(async () => source.stats.messages >= 3 && (await count(queueUrl)) === 0);

    expect(batches.flatMap((b) => b.Records.map((r) => JSON.parse(r.body).n)).sort()).toEqual([1, 2, 3]);
    expect(batches[0]?.Records[0]).toMatchObject({ eventSource: 'aws:sqs', eventSourceARN: queueArn });
  });

  it('keeps only reported batch item failures and moves them to the DLQ after maxReceiveCount', async () => {
    const { queueUrl, queueArn, dlqUrl } = await queueWithDlq(2);
    await send(queueUrl, [{ n: 1 }, { n: 2, fail: true }]);

    start({ queueUrl, queueArn }, 'index.partialBatch');
    await until(async () => (await count(dlqUrl)) === 1 && (await count(queueUrl)) === 0);
    const { Messages } = await sqs.send(new ReceiveMessageCommand({ QueueUrl: dlqUrl }));

    expect(JSON.parse(Messages?.[0]?.Body ?? '{}')).toEqual({ n: 2, fail: true });
  });

  it('returns a whole batch to the queue when the function fails', async () => {
    const { queueUrl, queueArn, dlqUrl } = await queueWithDlq(2);
    await send(queueUrl, [{ n: 1 }, { n: 2 }]);

    const { source } = start({ queueUrl, queueArn }, 'index.fail');
    await until(async () => (await count(dlqUrl)) === 2);

    expect(source.stats.failedBatches).toBeGreaterThanOrEqual(2);
  });

  it('deletes messages that match no filter without invoking the function', async () => {
    const { queueUrl, queueArn } = await queueWithDlq(3);
    await send(queueUrl, [{ kind: 'email' }, { kind: 'sms' }]);

    const { source, batches } = start(
      { queueUrl, queueArn, filters: [parseEventPattern({ body: { kind: ['email'] } })] },
      'index.partialBatch',
    );
    await until(
      async () => source.stats.filteredOut + source.stats.messages >= 2 && (await count(queueUrl)) === 0,
    );

    expect(batches.flatMap((b) => b.Records.map((r) => JSON.parse(r.body).kind))).toEqual(['email']);
  });
});
