// Fault injection in the local stack: DynamoDB errors on the wire, PutEvents partial failures, function crashes.
import { fileURLToPath } from 'node:url';
import {
  CreateTableCommand,
  DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  TransactWriteItemsCommand,
} from '@aws-sdk/client-dynamodb';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { DynamoDbFaultProxy } from '../../../lib/local/dynamodb-fault-proxy.ts';
import { LOCAL_CREDENTIALS, LOCAL_REGION } from '../../../lib/local/emulators.ts';
import { LocalEventBus } from '../../../lib/local/event-bus.ts';
import { FunctionFaults } from '../../../lib/local/function-faults.ts';
import { FunctionPool } from '../../../lib/local/lambda/function-pool.ts';
import { endpoints, uniqueName } from '../clients.ts';

const common = { region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS };

describe('the DynamoDB fault proxy', () => {
  const proxy = new DynamoDbFaultProxy({ upstreamUrl: endpoints.dynamodb });
  const tableName = uniqueName('faults');
  let once: DynamoDBClient;
  let retrying: DynamoDBClient;

  beforeAll(async () => {
    await proxy.start();
    once = new DynamoDBClient({ ...common, endpoint: proxy.url, maxAttempts: 1 });
    retrying = new DynamoDBClient({ ...common, endpoint: proxy.url, maxAttempts: 3 });
    await once.send(
      new CreateTableCommand({
        TableName: tableName,
        BillingMode: 'PAY_PER_REQUEST',
        KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
        AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }],
      }),
    );
  });
  afterEach(() => proxy.faults.clear());
  afterAll(async () => {
    once.destroy();
    retrying.destroy();
    await proxy.stop();
  });

  const put = (client: DynamoDBClient, pk: string) =>
    client.send(new PutItemCommand({ TableName: tableName, Item: { pk: { S: pk } } }));

  it('passes calls through unchanged when no fault is set', async () => {
    await put(once, 'plain');

    const { Item } = await once.send(
      new GetItemCommand({ TableName: tableName, Key: { pk: { S: 'plain' } } }),
    );

    expect(Item?.pk?.S).toBe('plain');
  });

  it('throttles the next call with the exception the SDK names, and stores nothing', async () => {
    proxy.faults.set([{ error: 'ProvisionedThroughputExceededException', count: 1 }]);

    await expect(put(once, 'throttled')).rejects.toMatchObject({
      name: 'ProvisionedThroughputExceededException',
      $metadata: { httpStatusCode: 400 },
    });
    const { Item } = await once.send(
      new GetItemCommand({ TableName: tableName, Key: { pk: { S: 'throttled' } } }),
    );
    expect(Item).toBeUndefined();
  });

  it('answers 500 InternalServerError when asked to', async () => {
    proxy.faults.set([{ error: 'InternalServerError', count: 1 }]);

    await expect(put(once, 'broken')).rejects.toMatchObject({
      name: 'InternalServerError',
      $metadata: { httpStatusCode: 500 },
    });
  });

  it("is absorbed by the SDK's own retries when fewer calls fail than it attempts", async () => {
    proxy.faults.set([{ error: 'ThrottlingException', count: 2 }]);

    const result = await put(retrying, 'retried');

    expect(result.$metadata.attempts).toBe(3);
    expect(proxy.faults.remaining()).toEqual([]);
  });

  it('fails only the operation and table it is filtered on', async () => {
    proxy.faults.set([
      { error: 'ThrottlingException', count: 1, operation: 'TransactWriteItems', table: tableName },
    ]);
    await put(once, 'not-a-transaction');

    const transaction = once.send(
      new TransactWriteItemsCommand({
        TransactItems: [{ Put: { TableName: tableName, Item: { pk: { S: 'in-a-transaction' } } } }],
      }),
    );

    await expect(transaction).rejects.toMatchObject({ name: 'ThrottlingException' });
    expect(proxy.faults.remaining()).toEqual([]);
  });

  it('leaves calls to other tables alone', async () => {
    proxy.faults.set([{ error: 'ThrottlingException', count: 1, table: 'some-other-table' }]);

    await put(once, 'elsewhere');

    expect(proxy.faults.remaining()).toHaveLength(1);
  });
});

describe('PutEvents partial failures on the local bus', () => {
  const bus = new LocalEventBus({
    region: LOCAL_REGION,
    accountId: '000000000000',
    buses: ['faults-test'],
    rules: [],
    deliver: async () => {},
  });
  let client: EventBridgeClient;

  beforeAll(async () => {
    await bus.start(0);
    client = new EventBridgeClient({ ...common, endpoint: bus.url });
  });
  afterAll(async () => {
    client.destroy();
    await bus.stop();
  });

  it('fails the next entries with an ErrorCode in a 200 answer and accepts the rest', async () => {
    bus.faults.set({ failEntries: 2, errorCode: 'ThrottlingException' });
    const entry = { EventBusName: 'faults-test', Source: 'nurture.test', DetailType: 'x', Detail: '{}' };

    const result = await client.send(new PutEventsCommand({ Entries: [entry, entry, entry] }));

    expect(result.FailedEntryCount).toBe(2);
    expect(result.Entries?.map((e) => e.ErrorCode ?? 'ok')).toEqual([
      'ThrottlingException',
      'ThrottlingException',
      'ok',
    ]);
    expect(result.Entries?.[2]?.EventId).toBeTruthy();
    expect(bus.faults.remaining().failEntries).toBe(0);
  });
});

describe('function crashes in the local function pool', () => {
  const codeDirectory = fileURLToPath(new URL('../../fixtures/functions/', import.meta.url));
  const faults = new FunctionFaults();
  const lines: string[] = [];
  const pool = new FunctionPool(
    {
      logicalId: 'SenderFunctionABC123',
      functionName: 'nurture-sender',
      functionArn: 'arn:aws:lambda:us-east-1:000000000000:function:nurture-sender',
      codeDirectory,
      handler: 'records.logRecords',
      timeoutSeconds: 5,
      memorySize: 128,
      environment: {},
      maxConcurrency: 1,
      logGroupName: '/aws/lambda/nurture-sender',
    },
    { AWS_REGION: LOCAL_REGION },
    ({ line }) => lines.push(line),
    { faults },
  );
  const batch = { Records: [{ body: 'first' }, { body: 'second' }, { body: 'third' }] };
  const processed = () =>
    lines.filter((line) => line.includes('processed')).map((line) => line.split(' ').pop());

  afterEach(() => {
    lines.length = 0;
    faults.clear();
  });
  afterAll(() => pool.close());

  it('processes the first records of a batch, then fails the invocation as a dying sandbox does', async () => {
    faults.set([{ function: 'Sender', crash: 'afterRecords', records: 2, count: 1 }]);

    const result = await pool.invoke(batch);

    expect(result).toMatchObject({ ok: false, error: { errorType: 'Runtime.ExitError' } });
    // Worker output arrives on its own stream, shortly after the result.
    await vi.waitFor(() => expect(processed()).toEqual(['first', 'second']));
  });

  it('runs the whole batch, side effects included, and still reports a crash after the invocation', async () => {
    faults.set([{ function: 'nurture-sender', crash: 'afterInvoke', count: 1, redeliverAfterSeconds: 0 }]);

    const result = await pool.invoke(batch);

    expect(result).toMatchObject({ ok: false, redeliverAfterSeconds: 0 });
    // Worker output arrives on its own stream, shortly after the result.
    await vi.waitFor(() => expect(processed()).toEqual(['first', 'second', 'third']));
  });

  it('crashes before any work, only as many times as asked, then runs normally', async () => {
    faults.set([{ function: 'Sender', crash: 'beforeInvoke', count: 1 }]);

    const crashed = await pool.invoke(batch);
    const next = await pool.invoke(batch);

    expect(crashed.ok).toBe(false);
    expect(next.ok).toBe(true);
    // Worker output arrives on its own stream, shortly after the result.
    await vi.waitFor(() => expect(processed()).toEqual(['first', 'second', 'third']));
  });

  it('leaves other functions alone', async () => {
    faults.set([{ function: 'Journey', crash: 'beforeInvoke', count: 1 }]);

    const result = await pool.invoke(batch);

    expect(result.ok).toBe(true);
    expect(faults.remaining()).toHaveLength(1);
  });
});
