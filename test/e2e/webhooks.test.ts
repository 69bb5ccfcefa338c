// Webhooks on the local stack (`npm start`): retries stop at success, and failures are parked in the DLQ.
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { ListQueuesCommand, ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { verifyWebhook } from '../../functions/messaging/webhooks/signature.ts';
import {
  admin,
  eventually,
  type LocalStackProcess,
  startLocalStackProcess,
} from './support/local-stack-process.ts';

interface Received {
  readonly headers: IncomingMessage['headers'];
  readonly body: string;
  readonly answeredWith: number;
}

let stack: LocalStackProcess;
const servers: Server[] = [];

beforeAll(async () => {
  stack = await startLocalStackProcess({ args: ['--fresh'] });
});
afterAll(async () => {
  await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
  await stack?.dispose();
});

/** A receiver on 127.0.0.1 answering each request with the next status in the list (the last one repeats). */
async function receiver(statuses: number[]): Promise<{ url: string; received: Received[] }> {
  const received: Received[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => {
      body += chunk.toString();
    });
    req.on('end', () => {
      const status = statuses.length > 1 ? (statuses.shift() ?? 500) : (statuses[0] ?? 500);
      received.push({ headers: req.headers, body, answeredWith: status });
      res.writeHead(status).end();
    });
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  return { url: `http://127.0.0.1:${port}/hooks/nurture`, received };
}

const createdEndpoint = z.object({ id: z.string(), secret: z.string().startsWith('whsec_') });
const accepted = z.object({ deliveryId: z.string().startsWith('whd_'), status: z.literal('pending') });
const delivery = z.object({
  status: z.enum(['pending', 'delivered', 'failed']),
  attemptCount: z.number(),
  attempts: z.array(z.object({ statusCode: z.number().nullable() })),
  failedReason: z.string().nullable(),
});

async function createEndpoint(id: string, url: string) {
  const response = await admin(stack, `/admin/webhooks/${id}`, {
    method: 'PUT',
    body: JSON.stringify({ url, description: 'e2e receiver' }),
  });
  expect(response.status).toBe(201);
  return createdEndpoint.parse(await response.json());
}

async function send(id: string, payload: Record<string, unknown>) {
  const response = await admin(stack, `/admin/webhooks/${id}/deliveries`, {
    method: 'POST',
    body: JSON.stringify({ eventType: 'lead.qualified', payload }),
  });
  expect(response.status).toBe(202);
  return accepted.parse(await response.json());
}

/** The delivery once it is no longer pending. */
function settled(id: string, deliveryId: string) {
  return eventually(async () => {
    const response = await admin(stack, `/admin/webhooks/${id}/deliveries/${deliveryId}`);
    const body = delivery.parse(await response.json());
    return body.status === 'pending' ? undefined : body;
  }, 60_000);
}

describe('webhooks on the local stack', () => {
  it('retries a failing receiver and stops at its first success: exactly three attempts, one accepted, signed', async () => {
    const { url, received } = await receiver([500, 500, 200]);
    const endpoint = await createEndpoint('e2e-flaky', url);

    const { deliveryId } = await send('e2e-flaky', { leadId: 'lead-7', stage: 'sql' });
    const result = await settled('e2e-flaky', deliveryId);
    // Long enough for a fourth attempt to have shown up, had the retries not stopped.
    await new Promise((r) => setTimeout(r, 3000));

    expect(result).toMatchObject({ status: 'delivered', attemptCount: 3, failedReason: null });
    expect(result.attempts.map((a) => a.statusCode)).toEqual([500, 500, 200]);
    expect(received.map((r) => r.answeredWith)).toEqual([500, 500, 200]);
    const success = received.filter((r) => r.answeredWith === 200);
    expect(success).toHaveLength(1);
    const [successful] = success;
    expect(successful?.headers['webhook-id']).toBe(deliveryId);
    expect(
      verifyWebhook({
        secret: endpoint.secret,
        headers: successful?.headers ?? {},
        body: successful?.body ?? '',
      }),
    ).toBe(true);
    expect(JSON.parse(successful?.body ?? '')).toMatchObject({
      id: deliveryId,
      type: 'lead.qualified',
      data: { leadId: 'lead-7', stage: 'sql' },
    });
  });

  it('parks a delivery whose receiver always fails: failed after 4 attempts, its message in the DLQ', async () => {
    const { url, received } = await receiver([500]);
    await createEndpoint('e2e-broken', url);

    const { deliveryId } = await send('e2e-broken', { leadId: 'lead-8' });
    const result = await settled('e2e-broken', deliveryId);

    expect(result).toMatchObject({ status: 'failed', attemptCount: 4 });
    expect(result.failedReason).toBe('parked after 4 attempts (last: HTTP 500)');
    expect(received).toHaveLength(4);
    const sqs = new SQSClient({
      region: 'us-east-1',
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
      endpoint: stack.local.endpoints.sqs,
      useQueueUrlAsEndpoint: false,
    });
    const { QueueUrls = [] } = await sqs.send(new ListQueuesCommand({}));
    const dlq = QueueUrls.find((u) => /WebhooksDeadLetters/.test(u));
    if (!dlq) throw new Error(`no webhook DLQ among ${QueueUrls.join(', ')}`);
    const parked = await eventually(async () => {
      const { Messages = [] } = await sqs.send(
        new ReceiveMessageCommand({ QueueUrl: dlq, MaxNumberOfMessages: 10, WaitTimeSeconds: 1 }),
      );
      const bodies = Messages.map((m) => JSON.parse(m.Body ?? 'null'));
      return bodies.some((b) => b?.deliveryId === deliveryId) ? bodies : undefined;
    }, 30_000);
    expect(parked).toContainEqual({ deliveryId, endpointId: 'e2e-broken' });
    sqs.destroy();
  });
});

const document = z
  .object({ components: z.object({ schemas: z.record(z.string(), z.record(z.string(), z.unknown())) }) })
  .parse(JSON.parse(readFileSync(new URL('../../docs/openapi.json', import.meta.url), 'utf8')));
const ajv = new Ajv2020({ strict: false, allErrors: true });

/** The response's status, and its JSON body checked against the documented component schema. */
async function conforms(response: Response, status: number, schemaName: string): Promise<unknown> {
  const body: unknown = await response.json();
  const schema = document.components.schemas[schemaName];
  if (!schema) throw new Error(`no component ${schemaName}`);
  const validate = ajv.getSchema(`urn:nurture:schema:${schemaName}`) ?? ajv.compile(schema);
  expect(response.status, JSON.stringify(body)).toBe(status);
  expect(validate(body), `${schemaName}: ${JSON.stringify(validate.errors)}`).toBe(true);
  return body;
}

describe('the webhook admin API', () => {
  it('answers every route as docs/openapi.json documents it', async () => {
    const { url } = await receiver([200]);
    const path = '/admin/webhooks/e2e-contract';

    await conforms(
      await admin(stack, path, { method: 'PUT', body: JSON.stringify({ url }) }),
      201,
      'WebhookEndpointWithSecret',
    );
    await conforms(
      await admin(stack, path, { method: 'PUT', body: JSON.stringify({ url, description: 'contract' }) }),
      200,
      'WebhookEndpoint',
    );
    await conforms(await admin(stack, '/admin/webhooks'), 200, 'WebhookEndpointList');
    await conforms(await admin(stack, path), 200, 'WebhookEndpoint');
    await conforms(
      await admin(stack, `${path}/rotate-secret`, { method: 'POST' }),
      200,
      'WebhookEndpointWithSecret',
    );
    const { deliveryId } = accepted.parse(
      await conforms(
        await admin(stack, `${path}/deliveries`, {
          method: 'POST',
          body: JSON.stringify({ eventType: 'test.ping', payload: { n: 1 } }),
        }),
        202,
        'WebhookDeliveryAccepted',
      ),
    );
    await settled('e2e-contract', deliveryId);
    await conforms(await admin(stack, `${path}/deliveries?limit=5`), 200, 'WebhookDeliveryList');
    await conforms(await admin(stack, `${path}/deliveries/${deliveryId}`), 200, 'WebhookDelivery');
    await conforms(await admin(stack, `${path}/deliveries?limit=0`), 400, 'Error');
    await conforms(
      await admin(stack, path, { method: 'PUT', body: JSON.stringify({ url: 'ftp://example.com/' }) }),
      400,
      'Error',
    );
    const deleted = await admin(stack, path, { method: 'DELETE' });
    expect(deleted.status).toBe(204);
    expect(await deleted.text()).toBe('');
    await conforms(await admin(stack, path), 404, 'Error');
  });
});
