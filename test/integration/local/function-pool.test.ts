import { fileURLToPath } from 'node:url';
import { GetItemCommand } from '@aws-sdk/client-dynamodb';
import { afterEach, describe, expect, it } from 'vitest';
import { FunctionPool, type LocalFunctionDefinition } from '../../../lib/local/lambda/function-pool.ts';
import { createProfileStoreTable, dynamodb, endpoints, uniqueName } from '../clients.ts';

const codeDirectory = fileURLToPath(new URL('../../fixtures/functions/', import.meta.url));
const pools: FunctionPool[] = [];

function pool(
  handler: string,
  overrides: Partial<LocalFunctionDefinition> = {},
  base: Record<string, string> = {},
) {
  const created = new FunctionPool(
    {
      logicalId: 'Fixture',
      functionName: 'fixture',
      functionArn: 'arn:aws:lambda:us-east-1:000000000000:function:fixture',
      codeDirectory,
      handler,
      timeoutSeconds: 3,
      memorySize: 128,
      environment: { STAGE: 'test' },
      maxConcurrency: 2,
      logGroupName: '/aws/lambda/fixture',
      ...overrides,
    },
    { AWS_REGION: 'us-east-1', ...base },
    () => {},
  );
  pools.push(created);
  return created;
}

afterEach(async () => {
  await Promise.all(pools.splice(0).map((p) => p.close()));
});

describe('local function runtime', () => {
  it('passes the event, the function environment and a Lambda context to the handler', async () => {
    const result = await pool('index.echo').invoke({ hello: 'world' });

    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.value).toMatchObject({
      event: { hello: 'world' },
      env: { STAGE: 'test', AWS_REGION: 'us-east-1' },
      context: { functionName: 'fixture', memoryLimitInMB: '128' },
    });
    const remaining = (result.value as { context: { remaining: number } }).context.remaining;
    expect(remaining).toBeGreaterThan(0);
    expect(remaining).toBeLessThanOrEqual(3000);
  });

  it('keeps an instance warm between invocations, like a reused Lambda sandbox', async () => {
    const echo = pool('index.echo');
    await echo.invoke({});
    const second = await echo.invoke({});

    expect(second.ok && (second.value as { invocations: number }).invocations).toBe(2);
    expect(echo.coldStarts).toBe(1);
  });

  it('reports a thrown error with its type and message', async () => {
    const result = await pool('index.fail').invoke({});

    expect(result).toMatchObject({
      ok: false,
      error: { errorType: 'TypeError', errorMessage: 'fixture failure' },
    });
  });

  it('stops an invocation that runs past the timeout and starts a fresh instance afterwards', async () => {
    const slow = pool('index.sleep', { timeoutSeconds: 1 });

    const timedOut = await slow.invoke({ ms: 5000 });
    const next = await slow.invoke({ ms: 1 });

    expect(timedOut).toMatchObject({ ok: false, error: { errorType: 'Sandbox.Timedout' } });
    expect(next.ok).toBe(true);
    expect(slow.coldStarts).toBe(2);
  });

  it('runs invocations concurrently up to the concurrency limit', async () => {
    const slow = pool('index.sleep', { maxConcurrency: 2 });
    const started = Date.now();

    await Promise.all([slow.invoke({ ms: 400 }), slow.invoke({ ms: 400 }), slow.invoke({ ms: 400 })]);

    expect(slow.coldStarts).toBe(2);
    expect(Date.now() - started).toBeGreaterThanOrEqual(800);
  });

  it('reports a missing handler export as Runtime.HandlerNotFound', async () => {
    const result = await pool('index.nope').invoke({});

    expect(result).toMatchObject({ ok: false, error: { errorType: 'Runtime.HandlerNotFound' } });
  });

  it('reports a bundle that cannot load as Runtime.ImportModuleError and logs the error', async () => {
    const lines: string[] = [];
    const broken = new FunctionPool(
      {
        logicalId: 'Broken',
        functionName: 'broken',
        functionArn: 'arn:aws:lambda:us-east-1:000000000000:function:broken',
        codeDirectory,
        handler: 'missing-file.handler',
        timeoutSeconds: 3,
        memorySize: 128,
        environment: {},
        maxConcurrency: 1,
        logGroupName: '/aws/lambda/broken',
      },
      {},
      ({ line }) => lines.push(line),
    );
    pools.push(broken);

    const result = await broken.invoke({});

    expect(result).toMatchObject({ ok: false, error: { errorType: 'Runtime.ImportModuleError' } });
    expect(lines.join('\n')).toContain('Runtime.ImportModuleError');
  });

  it('lets handler SDK clients reach the emulator only through AWS_ENDPOINT_URL_DYNAMODB', async () => {
    const tableName = uniqueName('pool');
    await createProfileStoreTable(tableName);
    const writer = pool(
      'sdk.putItem',
      { environment: { TABLE_NAME: tableName } },
      {
        AWS_ENDPOINT_URL_DYNAMODB: endpoints.dynamodb,
        AWS_ACCESS_KEY_ID: 'local',
        AWS_SECRET_ACCESS_KEY: 'local',
      },
    );

    const result = await writer.invoke({ pk: 'p-1' });
    const stored = await dynamodb.send(
      new GetItemCommand({ TableName: tableName, Key: { pk: { S: 'p-1' }, sk: { S: 'fixture' } } }),
    );

    expect(result.ok).toBe(true);
    expect(stored.Item?.pk?.S).toBe('p-1');
  });
});
