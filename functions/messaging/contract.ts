// HTTP contract of the messaging API (templates, messages, suppressions, email links), merged into docs/openapi.json.
import * as z from 'zod';
import type { Operation } from '../shared/contract-types.ts';
import { MESSAGE_COUNTERS } from './lifecycle.ts';
import { MESSAGE_STATUSES, TOPICS } from './model.ts';
import { templateSummarySchema, templateVersionSchema } from './schemas.ts';

const id = { name: 'id', in: 'path', required: true, description: 'Resource id' } as const;
const nullableString = z.string().nullable();

export const sendMessageRequest = z.object({
  profileId: z.string().min(1).max(200),
  templateId: z.string().min(1).max(128),
  idempotencyKey: z
    .string()
    .min(1)
    .max(512)
    .optional()
    .meta({ description: 'Repeating a request with the same key never sends a second email.' }),
  templateVersion: z.number().int().positive().optional(),
  campaign: z
    .string()
    .min(1)
    .max(200)
    .optional()
    .meta({ description: 'utm_campaign; default: the template id' }),
});

export const putTemplateRequest = z
  .object({
    subject: z.string().min(1).max(998),
    mjml: z.string().min(1).optional(),
    html: z.string().min(1).optional(),
    text: z.string().optional(),
    preheader: z.string().max(500).optional(),
    topic: z.enum(TOPICS).optional(),
  })
  .refine((t) => (t.mjml === undefined) !== (t.html === undefined), {
    message: 'give exactly one of mjml or html',
  });

export const previewRequest = z.object({
  profileId: z.string().min(1),
  version: z.number().int().positive().optional(),
});

export const testSendRequest = z.object({
  profileId: z.string().min(1),
  to: z.email().optional().meta({ description: "Send here instead of the profile's address" }),
  version: z.number().int().positive().optional(),
});

const historyEntry = z.object({ at: z.string(), status: z.enum(MESSAGE_STATUSES), note: nullableString });
const message = z.object({
  messageId: z.string(),
  profileId: z.string(),
  templateId: z.string(),
  templateVersion: z.number().int().nullable(),
  idempotencyKey: z.string(),
  origin: z.object({
    journeyId: nullableString,
    stepId: nullableString,
    variant: nullableString,
    campaign: nullableString,
  }),
  test: z.boolean(),
  topic: z.enum(TOPICS).nullable(),
  subject: nullableString,
  status: z.enum(MESSAGE_STATUSES),
  reason: nullableString.meta({ description: 'Why it was not sent (skipped) or failed' }),
  detail: nullableString,
  attempts: z.number().int(),
  sesMessageId: nullableString,
  createdAt: z.string(),
  sentAt: nullableString,
  deliveredAt: nullableString,
  bouncedAt: nullableString,
  complainedAt: nullableString,
  firstOpenedAt: nullableString,
  firstHumanOpenAt: nullableString,
  firstClickedAt: nullableString,
  unsubscribedAt: nullableString,
  opens: z.number().int(),
  clicks: z.number().int(),
  softBounces: z.number().int(),
  history: z.array(historyEntry),
});

const templateSummary = templateSummarySchema;
const templateVersion = templateVersionSchema;
const counters = z.partialRecord(z.enum(MESSAGE_COUNTERS), z.number().int());
const rates = z.object({
  delivery: z.number().nullable(),
  bounce: z.number().nullable(),
  complaint: z.number().nullable(),
  humanOpen: z.number().nullable(),
  humanClick: z.number().nullable(),
  clickToOpen: z.number().nullable(),
  unsubscribe: z.number().nullable(),
});

export const messagingSchemas: Record<string, z.ZodType> = {
  SendMessage: sendMessageRequest,
  MessageAccepted: z.object({
    messageId: z.string(),
    status: z.enum(MESSAGE_STATUSES),
    duplicate: z.boolean().meta({ description: 'True when the idempotency key had already been used' }),
  }),
  Message: message,
  MessageList: z.object({ messages: z.array(message) }),
  PutTemplate: putTemplateRequest,
  TemplateVersion: templateVersion,
  TemplateList: z.object({ templates: z.array(templateSummary) }),
  TemplateValidationError: z.object({ error: z.string(), errors: z.array(z.string()) }),
  PreviewTemplate: previewRequest,
  TemplatePreview: z.object({
    subject: z.string(),
    html: z.string(),
    text: z.string(),
    headers: z.array(z.object({ name: z.string(), value: z.string() })),
  }),
  TestSend: testSendRequest,
  TemplateStats: z.object({
    templateId: z.string(),
    counters,
    rates,
    byOrigin: z.array(
      z.object({
        journeyId: nullableString,
        stepId: nullableString,
        variant: nullableString,
        counters,
        rates,
      }),
    ),
  }),
  Suppression: z.object({
    suppressed: z.object({ reason: z.enum(['bounce', 'complaint', 'manual']), at: z.string() }).nullable(),
    unsubscribed: z.partialRecord(z.enum(TOPICS), z.string()),
    softBounces: z.number().int(),
  }),
};

const email = {
  name: 'email',
  in: 'path',
  required: true,
  description: 'Email address (URL-encoded)',
} as const;
const token = { name: 'token', in: 'path', required: true, description: 'Signed link token' } as const;

export const messagingOperations: readonly Operation[] = [
  {
    method: 'post',
    path: '/admin/messages',
    summary: 'Queue one email for a profile (one-off or test send)',
    auth: 'admin',
    body: 'SendMessage',
    responses: { '202': 'MessageAccepted', '400': 'Error', '404': 'Error' },
  },
  {
    method: 'get',
    path: '/admin/messages/{id}',
    summary: "A message's status, and the reason when it was not sent",
    auth: 'admin',
    parameters: [id],
    responses: { '200': 'Message', '404': 'Error' },
  },
  {
    method: 'get',
    path: '/admin/profiles/{id}/messages',
    summary: "A profile's messages, newest first",
    auth: 'admin',
    parameters: [id, { name: 'limit', in: 'query', required: false, description: '1–200, default 50' }],
    responses: { '200': 'MessageList' },
  },
  {
    method: 'get',
    path: '/admin/suppressions/{email}',
    summary: 'Suppression and unsubscribe state of an address',
    auth: 'admin',
    parameters: [email],
    responses: { '200': 'Suppression', '400': 'Error' },
  },
  {
    method: 'put',
    path: '/admin/suppressions/{email}',
    summary: 'Suppress an address by hand',
    auth: 'admin',
    parameters: [email],
    responses: { '200': 'Suppression', '400': 'Error' },
  },
  {
    method: 'delete',
    path: '/admin/suppressions/{email}',
    summary: 'Lift a suppression (after the address was fixed)',
    auth: 'admin',
    parameters: [email],
    responses: { '200': 'Suppression', '400': 'Error' },
  },
  {
    method: 'put',
    path: '/admin/templates/{id}',
    summary: 'Create a template or add a version (MJML is compiled here, once)',
    auth: 'admin',
    parameters: [id],
    body: 'PutTemplate',
    responses: { '200': 'TemplateVersion', '201': 'TemplateVersion', '400': 'TemplateValidationError' },
  },
  {
    method: 'get',
    path: '/admin/templates',
    summary: 'All templates',
    auth: 'admin',
    responses: { '200': 'TemplateList' },
  },
  {
    method: 'get',
    path: '/admin/templates/{id}',
    summary: 'A template version (newest by default)',
    auth: 'admin',
    parameters: [id, { name: 'version', in: 'query', required: false, description: 'Version number' }],
    responses: { '200': 'TemplateVersion', '404': 'Error' },
  },
  {
    method: 'post',
    path: '/admin/templates/{id}/preview',
    summary: 'Render a template for a profile without sending',
    auth: 'admin',
    parameters: [id],
    body: 'PreviewTemplate',
    responses: { '200': 'TemplatePreview', '404': 'Error', '422': 'Error' },
  },
  {
    method: 'post',
    path: '/admin/templates/{id}/test',
    summary: 'Send a test (not counted in statistics; consent and suppression still apply)',
    auth: 'admin',
    parameters: [id],
    body: 'TestSend',
    responses: { '202': 'MessageAccepted', '404': 'Error' },
  },
  {
    method: 'get',
    path: '/admin/templates/{id}/stats',
    summary:
      'Sent, delivered, bounced, opened (human and all), clicked, unsubscribed, per journey step and variant',
    auth: 'admin',
    parameters: [id],
    responses: { '200': 'TemplateStats' },
  },
  {
    method: 'get',
    path: '/e/o/{token}',
    summary: 'Email open pixel',
    auth: 'none',
    parameters: [token],
    responses: { '200': 'image/gif' },
  },
  {
    method: 'get',
    path: '/e/c/{token}',
    summary: 'Tracked email link: redirects to the link that was in the message',
    auth: 'none',
    parameters: [token],
    responses: { '302': 'text/plain', '400': 'text/html' },
  },
  {
    method: 'get',
    path: '/e/u/{token}',
    summary: 'Unsubscribe confirmation page',
    auth: 'none',
    parameters: [token],
    responses: { '200': 'text/html', '400': 'text/html' },
  },
  {
    method: 'post',
    path: '/e/u/{token}',
    summary: 'RFC 8058 one-click unsubscribe (body List-Unsubscribe=One-Click)',
    auth: 'none',
    parameters: [token],
    responses: { '200': 'text/html', '400': 'text/html' },
  },
];
