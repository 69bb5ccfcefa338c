// Admin API for webhooks: endpoints (create, update, list, delete, rotate the secret) and their deliveries.
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SQSClient } from '@aws-sdk/client-sqs';
import * as z from 'zod';
import { DynamoDbWebhookStore } from '../messaging/webhooks/dynamodb-store.ts';
import { lookupAll } from '../messaging/webhooks/http-post.ts';
import {
  DELIVERY_ID_PATTERN,
  publicEndpoint,
  type WebhookEndpoint,
  WebhookEndpointNotFoundError,
} from '../messaging/webhooks/model.ts';
import { WebhookPayloadTooLargeError, WebhookQueue } from '../messaging/webhooks/queue.ts';
import {
  createDeliveryRequest,
  deliverySummary,
  endpointIdSchema,
  listDeliveriesQuery,
  putEndpointRequest,
} from '../messaging/webhooks/requests.ts';
import { newWebhookSecret } from '../messaging/webhooks/signature.ts';
import { SqsDeliveryJobSender } from '../messaging/webhooks/sqs-adapters.ts';
import { WebhookVersionConflictError } from '../messaging/webhooks/store.ts';
import { checkWebhookTarget, RefusedWebhookTargetError } from '../messaging/webhooks/targets.ts';
import { readEnvironment } from '../shared/environment.ts';
import { HttpError, type HttpEvent, httpHandler, json } from '../shared/http.ts';
import { parseJsonBody } from '../shared/request.ts';

const env = readEnvironment({
  PROFILE_TABLE: z.string().min(1),
  WEBHOOK_QUEUE_URL: z.string().min(1),
  ALLOW_PRIVATE_WEBHOOK_TARGETS: z.enum(['true', 'false']).default('false'),
});
const store = new DynamoDbWebhookStore(new DynamoDBClient({}), env.PROFILE_TABLE);
// The queue URL names the queue; requests go to the SDK's endpoint, never to the host inside the URL.
const queue = new WebhookQueue(
  store,
  new SqsDeliveryJobSender(new SQSClient({ useQueueUrlAsEndpoint: false }), env.WEBHOOK_QUEUE_URL),
);
const policy = { allowPrivate: env.ALLOW_PRIVATE_WEBHOOK_TARGETS === 'true', lookup: lookupAll };

function endpointId(event: HttpEvent): string {
  const result = endpointIdSchema.safeParse(event.pathParameters?.id ?? '');
  if (!result.success) throw new HttpError(400, result.error.issues.map((i) => i.message).join('; '));
  return result.data;
}

async function existing(id: string) {
  const endpoint = await store.getEndpoint(id);
  if (!endpoint) throw new HttpError(404, `webhook endpoint ${id} does not exist`);
  return endpoint;
}

/** The URL as it will be called, after the scheme and target checks (at send time they run again). */
async function checkedUrl(url: string): Promise<string> {
  try {
    return (await checkWebhookTarget(url, policy)).toString();
  } catch (error) {
    if (error instanceof RefusedWebhookTargetError) throw new HttpError(400, error.message);
    throw error;
  }
}

async function save(endpoint: WebhookEndpoint, expectedVersion: number): Promise<void> {
  try {
    await store.saveEndpoint(endpoint, expectedVersion);
  } catch (error) {
    if (error instanceof WebhookVersionConflictError)
      throw new HttpError(409, `webhook endpoint ${endpoint.id} changed meanwhile; read it and try again`);
    throw error;
  }
}

export const handler = httpHandler(async (event) => {
  const now = new Date().toISOString();
  switch (event.routeKey) {
    case 'GET /admin/webhooks':
      return json(200, { endpoints: (await store.listEndpoints()).map(publicEndpoint) });
    case 'PUT /admin/webhooks/{id}': {
      const id = endpointId(event);
      const input = parseJsonBody(event, putEndpointRequest);
      const url = await checkedUrl(input.url);
      const current = await store.getEndpoint(id);
      if (!current) {
        const created: WebhookEndpoint = {
          id,
          url,
          description: input.description ?? '',
          secret: newWebhookSecret(),
          status: input.status ?? 'active',
          createdAt: now,
          updatedAt: now,
        };
        await save(created, 0);
        // The only answer that shows the secret, besides a rotation.
        return json(201, { ...publicEndpoint(created), secret: created.secret });
      }
      const updated: WebhookEndpoint = {
        ...current.value,
        url,
        description: input.description ?? current.value.description,
        status: input.status ?? current.value.status,
        updatedAt: now,
      };
      await save(updated, current.version);
      return json(200, publicEndpoint(updated));
    }
    case 'GET /admin/webhooks/{id}':
      return json(200, publicEndpoint((await existing(endpointId(event))).value));
    case 'DELETE /admin/webhooks/{id}': {
      const id = endpointId(event);
      if (!(await store.deleteEndpoint(id)))
        throw new HttpError(404, `webhook endpoint ${id} does not exist`);
      return { statusCode: 204, headers: { 'cache-control': 'no-store' } };
    }
    case 'POST /admin/webhooks/{id}/rotate-secret': {
      const current = await existing(endpointId(event));
      // Deliveries are signed with the new secret from now on: receivers accept both until they switch.
      const rotated: WebhookEndpoint = { ...current.value, secret: newWebhookSecret(), updatedAt: now };
      await save(rotated, current.version);
      return json(200, { ...publicEndpoint(rotated), secret: rotated.secret });
    }
    case 'POST /admin/webhooks/{id}/deliveries': {
      const id = endpointId(event);
      const input = parseJsonBody(event, createDeliveryRequest);
      const endpoint = await existing(id);
      if (endpoint.value.status === 'disabled')
        throw new HttpError(409, `webhook endpoint ${id} is disabled; PUT it with status "active" first`);
      try {
        const { delivery } = await queue.enqueue({ endpointId: id, ...input });
        return json(202, { deliveryId: delivery.deliveryId, status: delivery.status });
      } catch (error) {
        if (error instanceof WebhookPayloadTooLargeError) throw new HttpError(400, error.message);
        if (error instanceof WebhookEndpointNotFoundError) throw new HttpError(404, error.message);
        throw error;
      }
    }
    case 'GET /admin/webhooks/{id}/deliveries': {
      const id = endpointId(event);
      const query = listDeliveriesQuery.safeParse(event.queryStringParameters ?? {});
      if (!query.success)
        throw new HttpError(
          400,
          query.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '),
        );
      await existing(id);
      const deliveries = await store.listDeliveries(id, query.data.limit);
      return json(200, { deliveries: deliveries.map(deliverySummary) });
    }
    case 'GET /admin/webhooks/{id}/deliveries/{deliveryId}': {
      const id = endpointId(event);
      const deliveryId = event.pathParameters?.deliveryId ?? '';
      const delivery = DELIVERY_ID_PATTERN.test(deliveryId)
        ? await store.getDelivery(id, deliveryId)
        : undefined;
      if (!delivery)
        throw new HttpError(404, `delivery ${deliveryId} of webhook endpoint ${id} does not exist`);
      return json(200, delivery.value);
    }
    default:
      throw new HttpError(404, `No admin route ${event.routeKey}`);
  }
});
