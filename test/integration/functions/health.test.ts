// The health check and the admin status page answer API Gateway v2 requests with what this deployment is.
import { randomUUID } from 'node:crypto';
import type { APIGatewayProxyEventV2, Context } from 'aws-lambda';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { NURTURE_VERSION } from '../../../functions/shared/build-info.ts';
import { uniqueName } from '../clients.ts';

const stage = uniqueName('stage');
const profileTable = uniqueName('profiles');
const eventBus = uniqueName('nurture-bus');

vi.stubEnv('NURTURE_STAGE', stage);
vi.stubEnv('PROFILE_TABLE', profileTable);
vi.stubEnv('EVENT_BUS_NAME', eventBus);
vi.stubEnv('AWS_REGION', 'eu-central-1');
vi.stubEnv('POWERTOOLS_LOG_LEVEL', 'SILENT');
const health = (await import('../../../functions/health/handler.ts')).handler;
const adminStatus = (await import('../../../functions/admin-status/handler.ts')).handler;

afterAll(() => {
  vi.unstubAllEnvs();
});

function request(method: string, path: string): APIGatewayProxyEventV2 {
  const routeKey = `${method} ${path}`;
  return {
    version: '2.0',
    routeKey,
    rawPath: path,
    rawQueryString: '',
    headers: { host: '127.0.0.1', 'user-agent': 'uptime-monitor' },
    isBase64Encoded: false,
    requestContext: {
      accountId: '000000000000',
      apiId: 'local',
      domainName: '127.0.0.1',
      domainPrefix: '127',
      http: { method, path, protocol: 'HTTP/1.1', sourceIp: '127.0.0.1', userAgent: 'uptime-monitor' },
      requestId: randomUUID(),
      routeKey,
      stage: '$default',
      time: '01/May/2024:12:00:00 +0000',
      timeEpoch: 1_714_564_800_000,
    },
  };
}

function lambdaContext(functionName: string): Context {
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:eu-central-1:000000000000:function:${functionName}`,
    memoryLimitInMB: '256',
    awsRequestId: randomUUID(),
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: 'local',
    getRemainingTimeInMillis: () => 3000,
    done: () => {},
    fail: () => {},
    succeed: () => {},
  };
}

describe('GET /health', () => {
  it('answers 200 with the service, its version and the stage', async () => {
    const response = await health(request('GET', '/health'), lambdaContext('health'));

    expect(response.statusCode).toBe(200);
    expect(JSON.parse(response.body ?? '')).toEqual({
      status: 'ok',
      service: 'nurture',
      version: NURTURE_VERSION,
      stage,
    });
  });

  it('answers JSON that no cache keeps', async () => {
    const response = await health(request('GET', '/health'), lambdaContext('health'));

    expect(response.headers).toMatchObject({
      'content-type': 'application/json; charset=utf-8',
      'cache-control': 'no-store',
    });
  });
});

describe('GET /admin/status', () => {
  it('reports the stage, version, region, profile table and event bus of this deployment', async () => {
    const response = await adminStatus(request('GET', '/admin/status'), lambdaContext('admin-status'));

    expect(response.statusCode).toBe(200);
    expect(JSON.parse(response.body ?? '')).toEqual({
      service: 'nurture',
      version: NURTURE_VERSION,
      stage,
      region: 'eu-central-1',
      profileTable,
      eventBus,
    });
  });
});
