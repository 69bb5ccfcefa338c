// The webhook admin API handler against DynamoDB Local and the SQS emulator: endpoints, secrets, deliveries, errors.
import { randomUUID } from 'node:crypto';
import { CreateQueueCommand, ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import type { APIGatewayProxyEventV2, Context } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { z } from 'zod';
import { createProfileStoreTable, endpoints, sqs, uniqueName } from '../clients.ts';

const tableName = uniqueName('webhook-admin');
const queueUrl =
  (await sqs.send(new CreateQueueCommand({ QueueName: uniqueName('webhook-admin-jobs') }))).QueueUrl ?? '';
vi.stubEnv('PROFILE_TABLE', tableName);
vi.stubEnv('WEBHOOK_QUEUE_URL', queueUrl);
vi.stubEnv('ALLOW_PRIVATE_WEBHOOK_TARGETS', 'false');
vi.stubEnv('AWS_REGION', 'us-east-1');
vi.stubEnv('AWS_ACCESS_KEY_ID', 'local');
vi.stubEnv('AWS_SECRET_ACCESS_KEY', 'local');
vi.stubEnv('AWS_ENDPOINT_URL_DYNAMODB', endpoints.dynamodb);
vi.stubEnv('AWS_ENDPOINT_URL_SQS', endpoints.sqs);
vi.stubEnv('POWERTOOLS_LOG_LEVEL', 'SILENT');
const { handler } = await import('../../../functions/admin-webhooks/handler.ts');

beforeAll(async () => {
  await createProfileStoreTable(tableName);
});
afterAll(() => {
  vi.unstubAllEnvs();
});

const context: Context = {
  callbackWaitsForEmptyEventLoop: false,
  functionName: 'admin-webhooks',
  functionVersion: '$LATEST',
  invokedFunctionArn: 'arn:aws:lambda:us-east-1:000000000000:function:admin-webhooks',
  memoryLimitInMB: '256',
  awsRequestId: randomUUID(),
  logGroupName: '/aws/lambda/admin-webhooks',
  logStreamName: 'local',
  getRemainingTimeInMillis: () => 10_000,
  done: () => {},
  fail: () => {},
  succeed: () => {},
};

/** Calls a route the way API Gateway does: route key with the template, path parameters filled in. */
async function call(
  routeKey: string,
  options: { params?: Record<string, string>; body?: unknown; query?: Record<string, string> } = {},
) {
  const [method = 'GET', template = '/'] = routeKey.split(' ');
  const path = template.replace(/\{(\w+)\}/g, (_, name: string) => options.params?.[name] ?? '');
  const event: APIGatewayProxyEventV2 = {
    version: '2.0',
    routeKey,
    rawPath: path,
    rawQueryString: new URLSearchParams(options.query).toString(),
    headers: { 'content-type': 'application/json' },
    ...(options.query ? { queryStringParameters: options.query } : {}),
    ...(options.params ? { pathParameters: options.params } : {}),
    ...(options.body === undefined ? {} : { body: JSON.stringify(options.body) }),
    isBase64Encoded: false,
    requestContext: {
      accountId: '000000000000',
      apiId: 'local',
      domainName: '127.0.0.1',
      domainPrefix: '127',
      http: { method, path, protocol: 'HTTP/1.1', sourceIp: '127.0.0.1', userAgent: 'test' },
      requestId: randomUUID(),
      routeKey,
      stage: '$default',
      time: '01/Mar/2026:10:00:00 +0000',
      timeEpoch: 1_772_359_200_000,
    },
  };
  const response = await handler(event, context);
  const body: unknown = response.body ? JSON.parse(response.body) : undefined;
  return { status: response.statusCode, body };
}

const publicUrl = 'https://93.184.216.34/hooks';
const withSecret = z.object({ secret: z.string() });
const accepted = z.object({ deliveryId: z.string() });
const endpointList = z.object({ endpoints: z.array(z.object({ id: z.string() })) });
const errorBody = z.object({ error: z.string() });

describe('webhook endpoints', () => {
  it('creates an endpoint with a whsec_ secret shown once, and never again', async () => {
    const id = `crm-${randomUUID().slice(0, 6)}`;

    const created = await call('PUT /admin/webhooks/{id}', { params: { id }, body: { url: publicUrl } });
    const read = await call('GET /admin/webhooks/{id}', { params: { id } });
    const listed = await call('GET /admin/webhooks');

    expect(created.status).toBe(201);
    const { secret } = withSecret.parse(created.body);
    expect(created.body).toMatchObject({ id, url: publicUrl, status: 'active', description: '' });
    expect(secret).toMatch(/^whsec_/);
    expect(read.status).toBe(200);
    expect(read.body).not.toHaveProperty('secret');
    expect(JSON.stringify(listed.body)).not.toContain(secret);
    expect(endpointList.parse(listed.body).endpoints.map((e) => e.id)).toContain(id);
  });

  it('updates an existing endpoint with 200 and keeps its secret', async () => {
    const id = `crm-${randomUUID().slice(0, 6)}`;
    await call('PUT /admin/webhooks/{id}', { params: { id }, body: { url: publicUrl } });

    const updated = await call('PUT /admin/webhooks/{id}', {
      params: { id },
      body: { url: 'https://93.184.216.34/v2', description: 'v2', status: 'disabled' },
    });

    expect(updated.status).toBe(200);
    expect(updated.body).toMatchObject({
      url: 'https://93.184.216.34/v2',
      description: 'v2',
      status: 'disabled',
    });
    expect(updated.body).not.toHaveProperty('secret');
  });

  it('rotates the secret and answers with the new one', async () => {
    const id = `crm-${randomUUID().slice(0, 6)}`;
    const created = await call('PUT /admin/webhooks/{id}', { params: { id }, body: { url: publicUrl } });

    const rotated = await call('POST /admin/webhooks/{id}/rotate-secret', { params: { id } });

    expect(rotated.status).toBe(200);
    expect(withSecret.parse(rotated.body).secret).toMatch(/^whsec_/);
    expect(withSecret.parse(rotated.body).secret).not.toBe(withSecret.parse(created.body).secret);
  });

  it('deletes an endpoint with 204, then answers 404 for it', async () => {
    const id = `crm-${randomUUID().slice(0, 6)}`;
    await call('PUT /admin/webhooks/{id}', { params: { id }, body: { url: publicUrl } });

    const deleted = await call('DELETE /admin/webhooks/{id}', { params: { id } });

    expect(deleted).toEqual({ status: 204, body: undefined });
    expect((await call('GET /admin/webhooks/{id}', { params: { id } })).status).toBe(404);
    expect((await call('DELETE /admin/webhooks/{id}', { params: { id } })).status).toBe(404);
  });

  it.each([
    ['a private address', 'http://10.0.0.5/hook', /private/],
    ['the metadata address', 'http://169.254.169.254/latest/meta-data/', /metadata/],
    ['loopback by name', 'http://localhost:8080/hook', /private/],
    ['another scheme', 'ftp://93.184.216.34/hook', /http or https/],
    ['a relative URL', '/hook', /absolute/],
  ])('refuses %s with a 400 that names the url', async (_what, url, reason) => {
    const response = await call('PUT /admin/webhooks/{id}', { params: { id: 'refused' }, body: { url } });

    expect(response.status).toBe(400);
    expect(errorBody.parse(response.body).error).toMatch(/^url /);
    expect(errorBody.parse(response.body).error).toMatch(reason);
  });

  it('refuses a bad id and a missing url with 400s naming the field', async () => {
    const badId = await call('PUT /admin/webhooks/{id}', {
      params: { id: 'no spaces' },
      body: { url: publicUrl },
    });
    const noUrl = await call('PUT /admin/webhooks/{id}', {
      params: { id: 'ok' },
      body: { description: 'x' },
    });

    expect(badId).toMatchObject({ status: 400, body: { error: expect.stringMatching(/^id must be/) } });
    expect(noUrl).toMatchObject({ status: 400, body: { error: expect.stringMatching(/^url: /) } });
  });
});

describe('webhook deliveries', () => {
  it('queues a delivery once per idempotency key and shows it with its attempts', async () => {
    const id = `crm-${randomUUID().slice(0, 6)}`;
    await call('PUT /admin/webhooks/{id}', { params: { id }, body: { url: publicUrl } });
    const body = { eventType: 'lead.qualified', payload: { leadId: 'lead-1' }, idempotencyKey: `k-${id}` };

    const first = await call('POST /admin/webhooks/{id}/deliveries', { params: { id }, body });
    const repeat = await call('POST /admin/webhooks/{id}/deliveries', { params: { id }, body });
    const { deliveryId } = accepted.parse(first.body);
    const detail = await call('GET /admin/webhooks/{id}/deliveries/{deliveryId}', {
      params: { id, deliveryId },
    });
    const list = await call('GET /admin/webhooks/{id}/deliveries', { params: { id }, query: { limit: '5' } });
    const { Messages = [] } = await sqs.send(
      new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1 }),
    );

    expect(first).toEqual({
      status: 202,
      body: { deliveryId: expect.stringMatching(/^whd_/), status: 'pending' },
    });
    expect(accepted.parse(repeat.body).deliveryId).toBe(deliveryId);
    expect(detail.body).toMatchObject({
      eventType: 'lead.qualified',
      payload: { leadId: 'lead-1' },
      attempts: [],
    });
    expect(list.body).toEqual({ deliveries: [expect.objectContaining({ deliveryId })] });
    expect(Messages.map((m) => JSON.parse(m.Body ?? ''))).toContainEqual({ deliveryId, endpointId: id });
  });

  it('answers 404 for an unknown endpoint or delivery, 409 for a disabled endpoint, 400 for bad input', async () => {
    const id = `crm-${randomUUID().slice(0, 6)}`;
    await call('PUT /admin/webhooks/{id}', { params: { id }, body: { url: publicUrl, status: 'disabled' } });
    const valid = { eventType: 'test', payload: {} };

    const unknownEndpoint = await call('POST /admin/webhooks/{id}/deliveries', {
      params: { id: 'nope' },
      body: valid,
    });
    const disabled = await call('POST /admin/webhooks/{id}/deliveries', { params: { id }, body: valid });
    const badType = await call('POST /admin/webhooks/{id}/deliveries', {
      params: { id },
      body: { eventType: 'has space', payload: {} },
    });
    const notObject = await call('POST /admin/webhooks/{id}/deliveries', {
      params: { id },
      body: { eventType: 'test', payload: [1] },
    });
    const unknownDelivery = await call('GET /admin/webhooks/{id}/deliveries/{deliveryId}', {
      params: { id, deliveryId: 'whd_00000000000000000000000000000000' },
    });
    const badLimit = await call('GET /admin/webhooks/{id}/deliveries', {
      params: { id },
      query: { limit: '1000' },
    });

    expect(unknownEndpoint.status).toBe(404);
    expect(disabled.status).toBe(409);
    expect(badType).toMatchObject({ status: 400, body: { error: expect.stringMatching(/^eventType: /) } });
    expect(notObject).toMatchObject({ status: 400, body: { error: expect.stringMatching(/^payload: /) } });
    expect(unknownDelivery.status).toBe(404);
    expect(badLimit).toMatchObject({ status: 400, body: { error: expect.stringMatching(/^limit: /) } });
  });
});
