// `nurture dlq` against the SQS emulator: dead-letter queues are found with their sources, shown masked, replayed.
import { randomUUID } from 'node:crypto';
import {
  CreateQueueCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
} from '@aws-sdk/client-sqs';
import { beforeEach, describe, expect, it } from 'vitest';
import { dlqCommand } from '../../../lib/cli/dlq.ts';
import { endpoints, sqs } from '../clients.ts';

let stack = '';
let sourceUrl = '';
let deadLettersUrl = '';

async function run(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await dlqCommand([...args, '--stack', stack, '--endpoint', endpoints.sqs], {
    sqs: () => sqs,
    stdout: { write: (text: string) => (out += text) },
    stderr: { write: (text: string) => (err += text) },
    env: {},
    cwd: '/nonexistent',
  });
  return { code, out, err };
}

async function depth(queueUrl: string): Promise<number> {
  const { Attributes = {} } = await sqs.send(
    new GetQueueAttributesCommand({
      QueueUrl: queueUrl,
      AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
    }),
  );
  return (
    Number(Attributes.ApproximateNumberOfMessages) + Number(Attributes.ApproximateNumberOfMessagesNotVisible)
  );
}

async function park(body: string): Promise<void> {
  await sqs.send(new SendMessageCommand({ QueueUrl: deadLettersUrl, MessageBody: body }));
}

beforeEach(async () => {
  // A stack of its own per test: its queues are the only ones the command sees.
  stack = `DlqTest${randomUUID().slice(0, 8)}`;
  deadLettersUrl =
    (await sqs.send(new CreateQueueCommand({ QueueName: `${stack}-WebhooksDeadLetters` }))).QueueUrl ?? '';
  const { Attributes = {} } = await sqs.send(
    new GetQueueAttributesCommand({ QueueUrl: deadLettersUrl, AttributeNames: ['QueueArn'] }),
  );
  sourceUrl =
    (
      await sqs.send(
        new CreateQueueCommand({
          QueueName: `${stack}-WebhooksQueue`,
          Attributes: {
            RedrivePolicy: JSON.stringify({ deadLetterTargetArn: Attributes.QueueArn, maxReceiveCount: 4 }),
          },
        }),
      )
    ).QueueUrl ?? '';
  await sqs.send(new CreateQueueCommand({ QueueName: `${stack}-TrackingPublishFailures` }));
  await sqs.send(new CreateQueueCommand({ QueueName: `${stack}-JourneysTimers` }));
});

describe('nurture dlq list', () => {
  it('lists every dead-letter queue of the stack with its depth and source, and no work queue', async () => {
    await park('{"deliveryId":"whd_1"}');
    await park('{"deliveryId":"whd_2"}');

    const { code, out } = await run('list');

    expect(code).toBe(0);
    const lines = out.trim().split('\n');
    expect(lines[0]).toMatch(/^QUEUE\s+DEPTH\s+IN FLIGHT\s+SOURCE/);
    expect(lines.find((l) => l.includes('WebhooksDeadLetters'))).toMatch(
      new RegExp(`WebhooksDeadLetters\\s+2\\s+0\\s+${stack}-WebhooksQueue \\(4\\)`),
    );
    expect(lines.find((l) => l.includes('TrackingPublishFailures'))).toContain('(failure destination)');
    expect(out).not.toContain('WebhooksQueue  ');
    expect(out).not.toContain('JourneysTimers');
  });
});

describe('nurture dlq show', () => {
  it('shows parked messages with their receive count, masking addresses and IPs, and leaves them parked', async () => {
    await park(JSON.stringify({ email: 'ada.lovelace@example.com', ip: '203.0.113.77', profileId: 'p-1' }));

    const { code, out } = await run('show', 'WebhooksDeadLetters');

    expect(code).toBe(0);
    expect(out).toContain('1 parked, showing 1');
    expect(out).toContain('***@example.com');
    expect(out).toContain('203.0.x.x');
    expect(out).toContain('p-1');
    expect(out).not.toContain('ada.lovelace');
    expect(out).not.toContain('113.77');
    expect(out).toMatch(/receives \d+/);
    expect(await depth(deadLettersUrl)).toBe(1);
  });

  it('names the dead-letter queues when the one asked for does not exist', async () => {
    const { code, err } = await run('show', 'NoSuchQueue');

    expect(code).toBe(1);
    expect(err).toContain('No dead-letter queue matches "NoSuchQueue"');
    expect(err).toContain(`${stack}-WebhooksDeadLetters`);
  });
});

describe('nurture dlq replay', () => {
  it('moves every parked message back to its source queue, bodies and attributes unchanged', async () => {
    await sqs.send(
      new SendMessageCommand({
        QueueUrl: deadLettersUrl,
        MessageBody: '{"deliveryId":"whd_a"}',
        MessageAttributes: { kind: { DataType: 'String', StringValue: 'webhook' } },
      }),
    );
    await park('{"deliveryId":"whd_b"}');

    const { code, out } = await run('replay', 'WebhooksDeadLetters');

    expect(code).toBe(0);
    expect(out).toContain(
      `Replayed 2 message(s) from ${stack}-WebhooksDeadLetters to ${stack}-WebhooksQueue`,
    );
    expect(await depth(deadLettersUrl)).toBe(0);
    const { Messages = [] } = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: sourceUrl,
        MaxNumberOfMessages: 10,
        MessageAttributeNames: ['All'],
      }),
    );
    expect(Messages.map((m) => m.Body).sort()).toEqual(['{"deliveryId":"whd_a"}', '{"deliveryId":"whd_b"}']);
    expect(Messages.find((m) => m.Body?.includes('whd_a'))?.MessageAttributes?.kind?.StringValue).toBe(
      'webhook',
    );
  });

  it('replays no more than --limit messages', async () => {
    for (const id of ['1', '2', '3']) await park(`{"deliveryId":"whd_${id}"}`);

    const { out } = await run('replay', 'WebhooksDeadLetters', '--limit', '2');

    expect(out).toContain('Replayed 2 message(s)');
    expect(await depth(sourceUrl)).toBe(2);
    expect(await depth(deadLettersUrl)).toBe(1);
  });

  it('only reports what it would move on a dry run', async () => {
    await park('{"deliveryId":"whd_dry"}');

    const { code, out } = await run('replay', 'WebhooksDeadLetters', '--dry-run');

    expect(code).toBe(0);
    expect(out).toContain('Dry run: would replay 1 message(s)');
    expect(await depth(deadLettersUrl)).toBe(1);
    expect(await depth(sourceUrl)).toBe(0);
  });

  it('refuses to replay a failure destination, which has no source queue to go back to', async () => {
    const { code, err } = await run('replay', 'TrackingPublishFailures');

    expect(code).toBe(1);
    expect(err).toContain('is not the dead-letter queue of any queue');
  });
});
