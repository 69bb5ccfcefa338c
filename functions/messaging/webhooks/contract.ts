// HTTP contract of the webhook API: component schemas and operations, merged into docs/openapi.json.
import * as z from 'zod';
import type { Operation } from '../../shared/contract-types.ts';
import { ENDPOINT_STATUSES } from './model.ts';
import { createDeliveryRequest, deliveryStatusSchema, putEndpointRequest } from './requests.ts';

const endpoint = z.object({
  id: z.string(),
  url: z.string(),
  description: z.string(),
  status: z.enum(ENDPOINT_STATUSES),
  createdAt: z.string(),
  updatedAt: z.string(),
});

const attempt = z.object({
  at: z.string(),
  statusCode: z.number().int().nullable(),
  error: z.string().nullable(),
  durationMs: z.number(),
});

const deliverySummary = z.object({
  deliveryId: z.string(),
  endpointId: z.string(),
  eventType: z.string(),
  status: deliveryStatusSchema,
  attemptCount: z.number().int(),
  lastAttempt: attempt.nullable(),
  createdAt: z.string(),
  deliveredAt: z.string().nullable(),
  failedReason: z.string().nullable(),
});

export const webhookSchemas: Record<string, z.ZodType> = {
  WebhookEndpoint: endpoint,
  WebhookEndpointWithSecret: endpoint.extend({
    secret: z.string().meta({
      description: 'whsec_… signing secret; shown only on creation and rotation.',
    }),
  }),
  WebhookEndpointList: z.object({ endpoints: z.array(endpoint) }),
  PutWebhookEndpoint: putEndpointRequest,
  CreateWebhookDelivery: createDeliveryRequest,
  WebhookDeliveryAccepted: z.object({ deliveryId: z.string(), status: deliveryStatusSchema }),
  WebhookDeliveryList: z.object({ deliveries: z.array(deliverySummary) }),
  WebhookDelivery: z.object({
    deliveryId: z.string(),
    endpointId: z.string(),
    eventType: z.string(),
    payload: z.record(z.string(), z.json()),
    idempotencyKey: z.string(),
    status: deliveryStatusSchema,
    attempts: z.array(attempt).meta({ description: 'The most recent attempts (at most 20), oldest first.' }),
    attemptCount: z.number().int(),
    createdAt: z.string(),
    deliveredAt: z.string().nullable(),
    failedReason: z.string().nullable(),
  }),
};

const id = {
  name: 'id',
  in: 'path',
  required: true,
  description: 'Webhook endpoint id (chosen on PUT)',
} as const;

export const webhookOperations: readonly Operation[] = [
  {
    method: 'get',
    path: '/admin/webhooks',
    summary: 'List webhook endpoints',
    auth: 'admin',
    responses: { '200': 'WebhookEndpointList' },
  },
  {
    method: 'put',
    path: '/admin/webhooks/{id}',
    summary: 'Create (201, with the signing secret) or update (200) a webhook endpoint',
    auth: 'admin',
    parameters: [id],
    body: 'PutWebhookEndpoint',
    responses: {
      '200': 'WebhookEndpoint',
      '201': 'WebhookEndpointWithSecret',
      '400': 'Error',
      '409': 'Error',
    },
  },
  {
    method: 'get',
    path: '/admin/webhooks/{id}',
    summary: 'One webhook endpoint (without its secret)',
    auth: 'admin',
    parameters: [id],
    responses: { '200': 'WebhookEndpoint', '404': 'Error' },
  },
  {
    method: 'delete',
    path: '/admin/webhooks/{id}',
    summary: 'Delete a webhook endpoint; answers 204 with no body. Its pending deliveries fail',
    auth: 'admin',
    parameters: [id],
    responses: { '204': 'text/plain', '404': 'Error' },
  },
  {
    method: 'post',
    path: '/admin/webhooks/{id}/rotate-secret',
    summary: 'Issue a new signing secret; deliveries are signed with it from now on',
    auth: 'admin',
    parameters: [id],
    responses: { '200': 'WebhookEndpointWithSecret', '404': 'Error' },
  },
  {
    method: 'post',
    path: '/admin/webhooks/{id}/deliveries',
    summary: 'Queue a delivery (a test or a one-off event); the same idempotencyKey never delivers twice',
    auth: 'admin',
    parameters: [id],
    body: 'CreateWebhookDelivery',
    responses: { '202': 'WebhookDeliveryAccepted', '400': 'Error', '404': 'Error', '409': 'Error' },
  },
  {
    method: 'get',
    path: '/admin/webhooks/{id}/deliveries',
    summary: "An endpoint's deliveries, newest first",
    auth: 'admin',
    parameters: [id, { name: 'limit', in: 'query', required: false, description: '1–100, default 20' }],
    responses: { '200': 'WebhookDeliveryList', '400': 'Error', '404': 'Error' },
  },
  {
    method: 'get',
    path: '/admin/webhooks/{id}/deliveries/{deliveryId}',
    summary: 'One delivery, with its payload and attempts',
    auth: 'admin',
    parameters: [id, { name: 'deliveryId', in: 'path', required: true, description: 'whd_… delivery id' }],
    responses: { '200': 'WebhookDelivery', '404': 'Error' },
  },
];
