// The KPI admin API as API Gateway calls it, on DynamoDB Local: range checks, report and CSV, rollup, costs, references.
import { randomUUID } from 'node:crypto';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { LOCAL_CREDENTIALS, LOCAL_REGION } from '../../../lib/local/emulators.ts';
import { createProfileStoreTable, endpoints, uniqueName } from '../clients.ts';

const tableName = uniqueName('kpiadmin');
vi.stubEnv('PROFILE_TABLE', tableName);
vi.stubEnv('KPI_CURRENCY', 'EUR');
vi.stubEnv('AWS_ENDPOINT_URL_DYNAMODB', endpoints.dynamodb);
vi.stubEnv('AWS_REGION', LOCAL_REGION);
vi.stubEnv('AWS_ACCESS_KEY_ID', LOCAL_CREDENTIALS.accessKeyId);
vi.stubEnv('AWS_SECRET_ACCESS_KEY', LOCAL_CREDENTIALS.secretAccessKey);
vi.stubEnv('POWERTOOLS_LOG_LEVEL', 'SILENT');
const { handler } = await import('../../../functions/admin-kpis/handler.ts');

beforeAll(async () => {
  await createProfileStoreTable(tableName);
});

afterAll(() => {
  vi.unstubAllEnvs();
});

const context: Context = {
  callbackWaitsForEmptyEventLoop: false,
  functionName: 'admin-kpis',
  functionVersion: '$LATEST',
  invokedFunctionArn: 'arn:aws:lambda:eu-central-1:000000000000:function:admin-kpis',
  memoryLimitInMB: '1024',
  awsRequestId: randomUUID(),
  logGroupName: '/aws/lambda/admin-kpis',
  logStreamName: 'local',
  getRemainingTimeInMillis: () => 29_000,
  done: () => {},
  fail: () => {},
  succeed: () => {},
};

async function call(input: {
  method: string;
  path: string;
  query?: Record<string, string>;
  body?: string;
  contentType?: string;
}): Promise<APIGatewayProxyStructuredResultV2 & { json: () => unknown }> {
  const routeKey = `${input.method} ${input.path}`;
  const event: APIGatewayProxyEventV2 = {
    version: '2.0',
    routeKey,
    rawPath: input.path,
    rawQueryString: new URLSearchParams(input.query ?? {}).toString(),
    headers: input.contentType === undefined ? {} : { 'content-type': input.contentType },
    ...(input.query === undefined ? {} : { queryStringParameters: input.query }),
    ...(input.body === undefined ? {} : { body: input.body }),
    isBase64Encoded: false,
    requestContext: {
      accountId: '000000000000',
      apiId: 'local',
      domainName: '127.0.0.1',
      domainPrefix: '127',
      http: {
        method: input.method,
        path: input.path,
        protocol: 'HTTP/1.1',
        sourceIp: '127.0.0.1',
        userAgent: 'test',
      },
      requestId: randomUUID(),
      routeKey,
      stage: '$default',
      time: '01/May/2031:12:00:00 +0000',
      timeEpoch: 1_935_489_600_000,
    },
  };
  const response = await handler(event, context);
  return { ...response, json: () => JSON.parse(String(response.body)) };
}

describe('GET /admin/kpis', () => {
  it.each([
    [{ from: '2031-01-02', to: '2031-01-01' }, 'from must not be after to'],
    [{ from: '2030-01-01', to: '2031-12-31' }, 'at most 400 days'],
    [{ from: '2031-13-01', to: '2031-12-31' }, 'dates YYYY-MM-DD'],
    [{ from: '2031-01-01', to: '2031-01-02', groupBy: 'week' }, 'groupBy must be one of'],
  ])('refuses %o with a 400 that says why', async (query, reason) => {
    const response = await call({ method: 'GET', path: '/admin/kpis', query });

    expect(response.statusCode).toBe(400);
    expect(String(response.body)).toContain(reason);
  });

  it('answers the report of a range with no traffic, and the same as a CSV download', async () => {
    const query = { from: '2031-01-01', to: '2031-01-03', groupBy: 'day' };
    const report = await call({ method: 'GET', path: '/admin/kpis', query });
    const csv = await call({ method: 'GET', path: '/admin/kpis', query: { ...query, format: 'csv' } });

    expect(report.statusCode).toBe(200);
    expect(report.json()).toMatchObject({
      from: '2031-01-01',
      to: '2031-01-03',
      groupBy: 'day',
      totals: { sessions: 0 },
    });
    expect(csv.headers).toMatchObject({
      'content-type': 'text/csv; charset=utf-8',
      'content-disposition': 'attachment; filename="kpis-2031-01-01-2031-01-03-day.csv"',
    });
    expect(String(csv.body).split('\n').filter(Boolean)).toHaveLength(5);
  });
});

describe('POST /admin/kpis/rollup', () => {
  it('recomputes the requested days and says how many', async () => {
    const response = await call({
      method: 'POST',
      path: '/admin/kpis/rollup',
      body: JSON.stringify({ from: '2031-02-01', to: '2031-02-10' }),
    });

    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({ days: 10, from: '2031-02-01', to: '2031-02-10' });
  });
});

describe('costs', () => {
  it('takes costs as CSV in the workspace currency and shows them in the report', async () => {
    const csv = 'channel,campaign,day,month,amount,currency\nreferral,,2031-03-05,,40,\n';

    const saved = await call({
      method: 'PUT',
      path: '/admin/kpis/costs',
      body: csv,
      contentType: 'text/csv',
    });
    const listed = await call({ method: 'GET', path: '/admin/kpis/costs' });
    const report = await call({
      method: 'GET',
      path: '/admin/kpis',
      query: { from: '2031-03-05', to: '2031-03-05' },
    });

    expect(saved.statusCode).toBe(200);
    expect(listed.json()).toMatchObject({
      entries: [{ scope: 'channel', name: 'referral', period: '2031-03-05', amount: 40, currency: 'EUR' }],
    });
    expect(report.json()).toMatchObject({ totals: { cost: { EUR: 40 } } });
  });

  it('answers 400 naming each bad line of a CSV', async () => {
    const csv = 'channel,day,amount\nreferral,2031-03-05,-3\n';

    const response = await call({
      method: 'PUT',
      path: '/admin/kpis/costs',
      body: csv,
      contentType: 'text/csv',
    });

    expect(response.statusCode).toBe(400);
    expect(response.json()).toMatchObject({ problems: [expect.stringMatching(/^line 2: amount/)] });
  });
});

describe('reference values', () => {
  it('answers the defaults until a workspace sets its own, then those', async () => {
    const own = {
      trafficToLeadRatio: { low: 0.03, high: 0.05 },
      landingPageConversionRate: { typical: 0.08 },
    };
    const before = await call({ method: 'GET', path: '/admin/kpis/reference' });

    const put = await call({ method: 'PUT', path: '/admin/kpis/reference', body: JSON.stringify(own) });
    const after = await call({ method: 'GET', path: '/admin/kpis/reference' });

    expect(before.json()).toEqual({
      trafficToLeadRatio: { low: 0.07, high: 0.09 },
      landingPageConversionRate: { typical: 0.1 },
    });
    expect(put.statusCode).toBe(200);
    expect(after.json()).toEqual(own);
  });
});
