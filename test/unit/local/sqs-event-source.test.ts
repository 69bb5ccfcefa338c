// The local SQS event source deletes exactly the messages Lambda would, and builds Lambda's SQS records.
import type { Message } from '@aws-sdk/client-sqs';
import type { SQSRecord } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import { messagesToDelete, toSqsRecord } from '../../../lib/local/sqs-event-source.ts';
import type { InvokeResult } from '../../../lib/local/types.ts';

const QUEUE_ARN = 'arn:aws:sqs:us-east-1:000000000000:nurture-work';

function record(messageId: string): SQSRecord {
  return toSqsRecord(
    { MessageId: messageId, ReceiptHandle: `receipt-${messageId}`, Body: `{"n":"${messageId}"}` },
    QUEUE_ARN,
    'us-east-1',
  );
}

const batch: readonly SQSRecord[] = [record('m1'), record('m2'), record('m3')];
const returned = (value: unknown): InvokeResult => ({ ok: true, value, durationMs: 5 });
const failedInvocation: InvokeResult = {
  ok: false,
  error: { errorType: 'Runtime.UnhandledPromiseRejection', errorMessage: 'boom' },
  durationMs: 5,
};
const idsOf = (records: readonly SQSRecord[]): string[] => records.map((r) => r.messageId);

describe('which messages a batch deletes without ReportBatchItemFailures', () => {
  it('deletes every message after a successful invocation, whatever the function returned', () => {
    const deleted = messagesToDelete(
      batch,
      returned({ batchItemFailures: [{ itemIdentifier: 'm2' }] }),
      false,
    );

    expect(idsOf(deleted)).toEqual(['m1', 'm2', 'm3']);
  });

  it('deletes nothing after a failed invocation', () => {
    expect(messagesToDelete(batch, failedInvocation, false)).toEqual([]);
  });
});

describe('which messages a batch deletes with ReportBatchItemFailures', () => {
  it('keeps only the messages the function listed as failed', () => {
    const result = returned({ batchItemFailures: [{ itemIdentifier: 'm1' }, { itemIdentifier: 'm3' }] });

    expect(idsOf(messagesToDelete(batch, result, true))).toEqual(['m2']);
  });

  it('deletes every message when batchItemFailures is empty', () => {
    expect(idsOf(messagesToDelete(batch, returned({ batchItemFailures: [] }), true))).toEqual([
      'm1',
      'm2',
      'm3',
    ]);
  });

  it('deletes every message when batchItemFailures is null', () => {
    expect(idsOf(messagesToDelete(batch, returned({ batchItemFailures: null }), true))).toEqual([
      'm1',
      'm2',
      'm3',
    ]);
  });

  it.each([
    ['null', null],
    ['nothing', undefined],
    ['an empty object', {}],
  ])('deletes every message when the function returns %s', (_what, value) => {
    expect(idsOf(messagesToDelete(batch, returned(value), true))).toEqual(['m1', 'm2', 'm3']);
  });

  it('keeps the whole batch when a listed identifier is not in the batch', () => {
    const result = returned({
      batchItemFailures: [{ itemIdentifier: 'm1' }, { itemIdentifier: 'elsewhere' }],
    });

    expect(messagesToDelete(batch, result, true)).toEqual([]);
  });

  it.each([
    ['a string', 'done'],
    ['a number', 200],
    ['batchItemFailures that is not a list', { batchItemFailures: 'm1' }],
    ['a failure without itemIdentifier', { batchItemFailures: [{ id: 'm1' }] }],
    ['an empty itemIdentifier', { batchItemFailures: [{ itemIdentifier: '' }] }],
    ['a null itemIdentifier', { batchItemFailures: [{ itemIdentifier: null }] }],
    ['a failure that is not an object', { batchItemFailures: ['m1'] }],
  ])('keeps the whole batch when the response is malformed: %s', (_what, value) => {
    expect(messagesToDelete(batch, returned(value), true)).toEqual([]);
  });

  it('deletes nothing after a failed invocation', () => {
    expect(messagesToDelete(batch, failedInvocation, true)).toEqual([]);
  });

  it('never deletes a listed failure and always deletes an unlisted message', () => {
    let state = 17;
    const random = (): number => {
      state = (state * 16_807) % 2_147_483_647;
      return state / 2_147_483_647;
    };
    const records = Array.from({ length: 10 }, (_, i) => record(`msg-${i}`));

    for (let run = 0; run < 200; run++) {
      const failed = records.filter(() => random() < 0.3).map((r) => r.messageId);
      const result = returned({ batchItemFailures: failed.map((itemIdentifier) => ({ itemIdentifier })) });

      const deleted = idsOf(messagesToDelete(records, result, true));

      expect(deleted).toEqual(idsOf(records).filter((id) => !failed.includes(id)));
    }
  });
});

describe('the SQS record a function receives', () => {
  const received: Message = {
    MessageId: '5fea7756-0ea4-451a-a703-a558b933e274',
    ReceiptHandle: 'AQEBwJnKyrHigUMZj6rYigCgxlaS3SLy0a',
    Body: '{"profileId":"p-1"}',
    MD5OfBody: 'e4e68fb7bd0e697a0ae8f1bb342846b3',
    Attributes: {
      ApproximateReceiveCount: '2',
      SentTimestamp: '1545082649183',
      SenderId: 'AIDAIENQZJOLO23YVJ4VO',
      ApproximateFirstReceiveTimestamp: '1545082649185',
      MessageGroupId: 'profile-p-1',
      MessageDeduplicationId: 'dedup-1',
      SequenceNumber: '18849496460467696128',
    },
    MessageAttributes: {
      journeyId: { DataType: 'String', StringValue: 'j-42' },
      attempt: { DataType: 'Number', StringValue: '3' },
      payload: { DataType: 'Binary', BinaryValue: new Uint8Array([1, 2, 3]) },
    },
  };

  it('carries the message, its queue and region as Lambda does', () => {
    const sqsRecord = toSqsRecord(received, QUEUE_ARN, 'eu-west-1');

    expect(sqsRecord).toMatchObject({
      messageId: '5fea7756-0ea4-451a-a703-a558b933e274',
      receiptHandle: 'AQEBwJnKyrHigUMZj6rYigCgxlaS3SLy0a',
      body: '{"profileId":"p-1"}',
      md5OfBody: 'e4e68fb7bd0e697a0ae8f1bb342846b3',
      eventSource: 'aws:sqs',
      eventSourceARN: QUEUE_ARN,
      awsRegion: 'eu-west-1',
    });
  });

  it('copies the system attributes, FIFO ones included', () => {
    const sqsRecord = toSqsRecord(received, QUEUE_ARN, 'eu-west-1');

    expect(sqsRecord.attributes).toEqual({
      ApproximateReceiveCount: '2',
      SentTimestamp: '1545082649183',
      SenderId: 'AIDAIENQZJOLO23YVJ4VO',
      ApproximateFirstReceiveTimestamp: '1545082649185',
      MessageGroupId: 'profile-p-1',
      MessageDeduplicationId: 'dedup-1',
      SequenceNumber: '18849496460467696128',
    });
  });

  it('maps message attributes to Lambda names, with binary values in base64', () => {
    const sqsRecord = toSqsRecord(received, QUEUE_ARN, 'eu-west-1');

    expect(sqsRecord.messageAttributes).toEqual({
      journeyId: {
        dataType: 'String',
        stringValue: 'j-42',
        binaryValue: undefined,
        stringListValues: [],
        binaryListValues: [],
      },
      attempt: {
        dataType: 'Number',
        stringValue: '3',
        binaryValue: undefined,
        stringListValues: [],
        binaryListValues: [],
      },
      payload: {
        dataType: 'Binary',
        stringValue: undefined,
        binaryValue: 'AQID',
        stringListValues: [],
        binaryListValues: [],
      },
    });
  });

  it('fills in standard-queue defaults when the message has no attributes', () => {
    const before = Date.now();

    const sqsRecord = toSqsRecord(
      { MessageId: 'm', ReceiptHandle: 'r', Body: 'plain text' },
      QUEUE_ARN,
      'us-east-1',
    );

    expect(sqsRecord.messageAttributes).toEqual({});
    expect(sqsRecord.md5OfBody).toBe('');
    expect(sqsRecord.attributes).toMatchObject({ ApproximateReceiveCount: '1', SenderId: 'local' });
    expect(Number(sqsRecord.attributes.SentTimestamp)).toBeGreaterThanOrEqual(before);
    expect(Number(sqsRecord.attributes.ApproximateFirstReceiveTimestamp)).toBeGreaterThanOrEqual(before);
    for (const fifoOnly of ['MessageGroupId', 'MessageDeduplicationId', 'SequenceNumber']) {
      expect(sqsRecord.attributes).not.toHaveProperty(fifoOnly);
    }
  });

  it('treats a message attribute without a data type as a String', () => {
    const sqsRecord = toSqsRecord(
      { MessageId: 'm', MessageAttributes: { plan: { StringValue: 'pro', DataType: undefined } } },
      QUEUE_ARN,
      'us-east-1',
    );

    expect(sqsRecord.messageAttributes.plan).toMatchObject({ dataType: 'String', stringValue: 'pro' });
  });
});

describe('responses that are not an object', () => {
  it.each([
    ['an array', [{ itemIdentifier: 'm1' }]],
    ['a string', 'ok'],
  ])('keeps every message when the function returns %s with ReportBatchItemFailures', (_what, value) => {
    expect(messagesToDelete(batch, returned(value), true)).toEqual([]);
  });
});
