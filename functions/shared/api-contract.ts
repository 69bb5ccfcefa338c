// The HTTP API contract as schemas: the source of docs/openapi.json (`npm run openapi`), checked by tests.
import * as z from 'zod';
import { dashboardOperations } from '../dashboard/contract.ts';
import { importOperations, importSchemas } from '../imports/contract.ts';
import { journeyOperations, journeySchemas } from '../journeys/contract.ts';
import { LEAD_STAGES } from '../journeys/definition.ts';
import { kpiOperations, kpiSchemas } from '../kpis/contract.ts';
import { bannerOperations, bannerSchemas } from '../messaging/banners/contract.ts';
import { messagingOperations, messagingSchemas } from '../messaging/contract.ts';
import { webhookOperations, webhookSchemas } from '../messaging/webhooks/contract.ts';
import { privacyOperations, privacySchemas } from '../privacy/contract.ts';
import { TIMELINE_KINDS } from '../profiles/timeline.ts';
import { scoringOperations, scoringSchemas } from '../scoring/contract.ts';
import { segmentOperations, segmentSchemas } from '../segments/contract.ts';
import { consentStateSchema } from '../tracking/consent.ts';
import { consentOperations, consentSchemas } from '../tracking/consent-contract.ts';
import { DEVICE_TYPES, EVENT_TYPES } from '../tracking/model.ts';
import type { Operation } from './contract-types.ts';

export type { Operation } from './contract-types.ts';

import { CHANNELS, touchSchema } from '../tracking/schemas.ts';
import { rateLimitSchema } from '../tracking/source-rate-limit.ts';

const rateLimit = rateLimitSchema.meta({
  description:
    'Events per second this source may send, and how many at once (per collect instance; README "Security"). ' +
    'Over it, the JSON endpoints answer 429 with Retry-After and pixels drop the event (counted per source).',
});

const touch = touchSchema
  .extend({ at: z.string() })
  .nullable()
  .meta({ description: 'Where a session came from (KPIS.md channels).' });

const source = z.object({
  id: z.string(),
  name: z.string(),
  status: z.enum(['active', 'revoked']),
  createdAt: z.string(),
  keyPrefix: z.string(),
  rotatedAt: z.string().nullable(),
  rateLimit: rateLimit.nullable().meta({ description: "null: the deployment's default (sourceRateLimit)." }),
});

const trackingSchemas = {
  Error: z.object({ error: z.string() }).meta({ description: 'An error a caller can act on.' }),
  GatewayError: z.object({ message: z.string() }).meta({ description: 'An error from API Gateway itself.' }),
  Health: z.object({
    status: z.literal('ok'),
    service: z.literal('nurture'),
    version: z.string(),
    stage: z.string(),
  }),
  AdminStatus: z.object({
    service: z.literal('nurture'),
    version: z.string(),
    stage: z.string(),
    region: z.string().nullable(),
    profileTable: z.string(),
    eventBus: z.string(),
  }),
  TrackResponse: z
    .object({
      success: z.boolean(),
      accepted: z.number().int().optional(),
      duplicates: z.number().int().optional(),
      rejected: z.number().int().optional(),
      errors: z.array(z.object({ index: z.number().int(), error: z.string() })).optional(),
      error: z.string().optional(),
    })
    .meta({
      description: 'Answer of the Segment-compatible endpoints; 200 means every accepted event is stored.',
    }),
  Source: source,
  SourceList: z.object({ sources: z.array(source) }),
  SourceWithKey: source.extend({
    writeKey: z.string().meta({ description: 'Shown once: only a hash is stored.' }),
    previousKeyValidUntil: z.string().optional(),
  }),
  CreateSource: z.object({
    name: z.string().min(1).max(200),
    writeKey: z
      .string()
      .min(16)
      .max(200)
      .optional()
      .meta({ description: 'Bring an existing key (e.g. from Segment).' }),
    rateLimit: rateLimit.nullable().optional(),
  }),
  UpdateSource: z.object({
    name: z.string().min(1).max(200).optional(),
    rateLimit: rateLimit
      .nullable()
      .optional()
      .meta({ description: "null: back to the deployment's default." }),
  }),
  RotateSource: z.object({ graceHours: z.number().int().min(0).max(720).optional() }),
  Profile: z.object({
    id: z.string(),
    userId: z.string().nullable(),
    anonymousIds: z.array(z.string()),
    emails: z.array(z.string()),
    traits: z.record(z.string(), z.json()),
    firstSeen: z.string().nullable(),
    lastSeen: z.string().nullable(),
    firstTouch: touch,
    lastTouch: touch,
    counters: z.object({
      events: z.number().int(),
      pageViews: z.number().int(),
      sessions: z.number().int(),
      sessionsByChannel: z.record(z.string(), z.number().int()),
    }),
    consent: consentStateSchema.nullable(),
    mergedFrom: z.array(z.string()),
  }),
  ProfileEvents: z.object({
    profileId: z.string(),
    truncated: z.boolean(),
    events: z.array(
      z.object({
        messageId: z.string(),
        sourceId: z.string(),
        type: z.enum(EVENT_TYPES),
        event: z.string().nullable(),
        name: z.string().nullable(),
        userId: z.string().nullable(),
        anonymousId: z.string().nullable(),
        eventTime: z.string(),
        receivedAt: z.string(),
        properties: z.record(z.string(), z.json()),
        traits: z.record(z.string(), z.json()),
        channel: z.enum(CHANNELS),
        campaign: z.string().nullable(),
        device: z.enum(DEVICE_TYPES),
      }),
    ),
  }),
  ProfileTimeline: z.object({
    profileId: z.string(),
    stage: z.enum(LEAD_STAGES).nullable(),
    entries: z.array(
      z.object({
        at: z.string(),
        kind: z.enum(TIMELINE_KINDS),
        summary: z.string(),
        detail: z.record(z.string(), z.json()),
      }),
    ),
  }),
} as const;

/** Every component schema: tracking's here, the other capabilities' in their own contract modules. */
export const schemas: Readonly<Record<string, z.ZodType>> = {
  ...trackingSchemas,
  ...messagingSchemas,
  ...bannerSchemas,
  ...webhookSchemas,
  ...journeySchemas,
  ...scoringSchemas,
  ...segmentSchemas,
  ...importSchemas,
  ...kpiSchemas,
  ...privacySchemas,
  ...consentSchemas,
};

const id = { name: 'id', in: 'path', required: true, description: 'Resource id' } as const;
const trackResponses = {
  '200': 'TrackResponse',
  '400': 'TrackResponse',
  '401': 'TrackResponse',
  '413': 'TrackResponse',
  // Over the source's rate limit (Retry-After says when to retry).
  '429': 'TrackResponse',
  '503': 'Error',
} as const;

const trackingOperations: readonly Operation[] = [
  { method: 'get', path: '/health', summary: 'Liveness check', auth: 'none', responses: { '200': 'Health' } },
  {
    method: 'get',
    path: '/admin/status',
    summary: 'What this deployment is',
    auth: 'admin',
    responses: { '200': 'AdminStatus', '401': 'GatewayError', '403': 'GatewayError' },
  },
  {
    method: 'post',
    path: '/v1/{type}',
    summary:
      'Segment tracking API: batch, b, identify, track, page, screen, group, alias and their one-letter forms, m',
    auth: 'writeKey',
    parameters: [
      {
        name: 'type',
        in: 'path',
        required: true,
        description: 'batch, b, identify|i, track|t, page|p, screen|s, group|g, alias|a, m',
      },
    ],
    responses: trackResponses,
  },
  {
    method: 'get',
    path: '/v1/pixel/{type}',
    summary: 'Tracking pixel (Segment format: ?data=base64 JSON, or flat parameters); always a GIF',
    auth: 'writeKey',
    parameters: [
      { name: 'type', in: 'path', required: true, description: 'page, track, identify, ...' },
      {
        name: 'data',
        in: 'query',
        required: false,
        description: 'base64 (url-safe or not) JSON event with writeKey',
      },
    ],
    responses: { '200': 'image/gif' },
  },
  {
    method: 'get',
    path: '/v1/snippet.js',
    summary: 'The browser snippet',
    auth: 'none',
    responses: { '200': 'application/javascript' },
  },
  {
    method: 'post',
    path: '/com.snowplowanalytics.snowplow/tp2',
    summary: 'Snowplow tracker protocol (POST); the app id (aid) is the write key',
    auth: 'writeKey',
    responses: trackResponses,
  },
  {
    method: 'get',
    path: '/i',
    summary: 'Snowplow tracker protocol (GET pixel); always a GIF',
    auth: 'writeKey',
    responses: { '200': 'image/gif' },
  },
  {
    method: 'post',
    path: '/admin/sources',
    summary: 'Create a source (optionally importing an existing write key)',
    auth: 'admin',
    body: 'CreateSource',
    responses: { '201': 'SourceWithKey', '400': 'Error', '409': 'Error' },
  },
  {
    method: 'get',
    path: '/admin/sources',
    summary: 'List sources',
    auth: 'admin',
    responses: { '200': 'SourceList' },
  },
  {
    method: 'get',
    path: '/admin/sources/{id}',
    summary: 'One source',
    auth: 'admin',
    parameters: [id],
    responses: { '200': 'Source', '404': 'Error' },
  },
  {
    method: 'patch',
    path: '/admin/sources/{id}',
    summary: 'Rename a source or change its rate limit',
    auth: 'admin',
    parameters: [id],
    body: 'UpdateSource',
    responses: { '200': 'Source', '400': 'Error', '404': 'Error', '409': 'Error' },
  },
  {
    method: 'post',
    path: '/admin/sources/{id}/rotate',
    summary: 'Issue a new write key; the previous one works for graceHours (default 24)',
    auth: 'admin',
    parameters: [id],
    body: 'RotateSource',
    responses: { '200': 'SourceWithKey', '404': 'Error' },
  },
  {
    method: 'delete',
    path: '/admin/sources/{id}',
    summary: 'Revoke every key of a source',
    auth: 'admin',
    parameters: [id],
    responses: { '200': 'Source', '404': 'Error' },
  },
  {
    method: 'get',
    path: '/admin/profiles',
    summary: 'The profile an identifier resolves to',
    auth: 'admin',
    parameters: [
      {
        name: 'email',
        in: 'query',
        required: false,
        description: 'exactly one of email, userId, anonymousId',
      },
      {
        name: 'userId',
        in: 'query',
        required: false,
        description: 'exactly one of email, userId, anonymousId',
      },
      {
        name: 'anonymousId',
        in: 'query',
        required: false,
        description: 'exactly one of email, userId, anonymousId',
      },
    ],
    responses: { '200': 'Profile', '400': 'Error', '404': 'Error' },
  },
  {
    method: 'get',
    path: '/admin/profiles/{id}',
    summary: 'A profile (merged ids answer with the surviving profile)',
    auth: 'admin',
    parameters: [id],
    responses: { '200': 'Profile', '404': 'Error' },
  },
  {
    method: 'get',
    path: '/admin/profiles/{id}/events',
    summary: "A profile's events, newest first",
    auth: 'admin',
    parameters: [id, { name: 'limit', in: 'query', required: false, description: '1–1000, default 100' }],
    responses: { '200': 'ProfileEvents', '400': 'Error', '404': 'Error' },
  },
  {
    method: 'get',
    path: '/admin/profiles/{id}/timeline',
    summary:
      "A profile's whole history, newest first: events, enrichment, score points, stage changes, messages, journey steps, segments",
    auth: 'admin',
    parameters: [id, { name: 'limit', in: 'query', required: false, description: '1–1000, default 200' }],
    responses: { '200': 'ProfileTimeline', '400': 'Error', '404': 'Error' },
  },
];

export const operations: readonly Operation[] = [
  ...trackingOperations,
  ...messagingOperations,
  ...bannerOperations,
  ...webhookOperations,
  ...journeyOperations,
  ...scoringOperations,
  ...segmentOperations,
  ...importOperations,
  ...dashboardOperations,
  ...kpiOperations,
  ...privacyOperations,
  ...consentOperations,
];

/**
 * A component's JSON Schema with its own `$id`, so the `#/$defs/...` references zod emits for recursive types
 * (JSON values) resolve inside the component rather than at the document root.
 */
function componentSchema(name: string, schema: z.ZodType): Record<string, unknown> {
  const { $schema: _dialect, ...rest } = z.toJSONSchema(schema, { target: 'draft-2020-12', io: 'output' });
  return { $id: `urn:nurture:schema:${name}`, ...rest };
}

/** The OpenAPI 3.1 document for the operations above. */
export function openApiDocument(version: string): Record<string, unknown> {
  const components = Object.fromEntries(
    Object.entries(schemas).map(([name, schema]) => [name, componentSchema(name, schema)]),
  );
  const paths: Record<string, Record<string, unknown>> = {};
  for (const op of operations) {
    for (const name of [op.body, ...Object.values(op.responses)])
      if (name !== undefined && !name.includes('/') && !(name in schemas))
        throw new Error(`${op.method.toUpperCase()} ${op.path}: no schema named ${name}`);
    const responses: Record<string, unknown> = {};
    for (const [status, target] of Object.entries(op.responses)) {
      responses[status] = target.includes('/')
        ? { description: target, content: { [target]: {} } }
        : {
            description: target,
            content: { 'application/json': { schema: { $ref: `#/components/schemas/${target}` } } },
          };
    }
    paths[op.path] = {
      ...paths[op.path],
      [op.method]: {
        summary: op.summary,
        security:
          op.auth === 'admin' ? [{ adminToken: [] }] : op.auth === 'writeKey' ? [{ writeKey: [] }] : [],
        ...(op.parameters
          ? { parameters: op.parameters.map((p) => ({ ...p, schema: { type: 'string' } })) }
          : {}),
        ...(op.body
          ? {
              requestBody: {
                required: true,
                content: { 'application/json': { schema: { $ref: `#/components/schemas/${op.body}` } } },
              },
            }
          : op.bodyMediaTypes
            ? {
                requestBody: {
                  required: true,
                  content: Object.fromEntries(
                    op.bodyMediaTypes.map((type) => [type, { schema: { type: 'string' } }]),
                  ),
                },
              }
            : {}),
        responses,
      },
    };
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'Nurture API',
      version,
      description: 'Tracking (Segment/Snowplow compatible) and admin API. Generated by `npm run openapi`.',
    },
    components: {
      schemas: components,
      securitySchemes: {
        adminToken: {
          type: 'http',
          scheme: 'bearer',
          description: 'Admin token from Secrets Manager (or .nurture/local.json)',
        },
        writeKey: {
          type: 'http',
          scheme: 'basic',
          description: 'Write key as the user name; or writeKey in the body or query',
        },
      },
    },
    paths,
  };
}
