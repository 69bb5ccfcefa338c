// HTTP contract of the privacy admin API (export, erasure, audit): schemas and operations, merged into docs/openapi.json.
import * as z from 'zod';
import type { Operation } from '../shared/contract-types.ts';
import { IDENTIFIER_KINDS, ITEM_KINDS } from './person.ts';

const counts = z
  .partialRecord(z.enum(ITEM_KINDS), z.number().int())
  .meta({ description: 'Items erased, per kind of item (docs/privacy.md).' });

const identifierFields = {
  email: z.string().optional(),
  userId: z.string().optional(),
  anonymousId: z.string().optional(),
  profileId: z.string().optional(),
};

const hashedIdentifiers = z.object({
  profileIds: z.array(z.string()),
  userIds: z.array(z.string()),
  anonymousIds: z.array(z.string()),
  emails: z.array(z.string()).meta({ description: 'Address hashes, the keys of the suppression entries.' }),
});

const audit = z
  .object({
    requestId: z.string(),
    requestedAt: z.string(),
    finishedAt: z.string(),
    requestedBy: z.string(),
    reason: z.string(),
    identifier: z.object({ kind: z.enum(IDENTIFIER_KINDS), hash: z.string() }),
    hashed: hashedIdentifiers,
    erased: counts,
    suppressed: z.number().int(),
  })
  .meta({ description: 'One finished erasure: SHA-256 hashes of the identifiers, never the identifiers.' });

export const privacySchemas: Record<string, z.ZodType> = {
  PersonExport: z
    .looseObject({
      exportedAt: z.string(),
      requestedFor: z.object({ kind: z.enum(IDENTIFIER_KINDS), value: z.string() }),
      person: z.object({
        profileIds: z.array(z.string()),
        userIds: z.array(z.string()),
        anonymousIds: z.array(z.string()),
        emails: z.array(z.string()),
      }),
      counts,
      consent: z.array(z.looseObject({ profileId: z.string() })),
      addresses: z.array(z.looseObject({ email: z.string(), addressHash: z.string() })),
      profiles: z.array(z.looseObject({})),
      traits: z.array(z.looseObject({})),
      identities: z.array(z.looseObject({})),
      events: z.array(z.looseObject({})),
      messages: z.array(z.looseObject({})),
      leads: z.array(z.looseObject({})),
      journeyEnrollments: z.array(z.looseObject({})),
      journeyTimers: z.array(z.looseObject({})),
      segmentMemberships: z.array(z.looseObject({})),
      webhookDeliveries: z.array(z.looseObject({})),
      banners: z.array(z.looseObject({})),
    })
    .meta({
      description:
        'Everything held about a person, one section per kind of stored item, each item as stored (decoded to JSON).',
    }),
  ErasureRequest: z
    .object({
      ...identifierFields,
      reason: z.string().min(1).max(500),
      requestedBy: z.string().min(1).max(200),
    })
    .meta({
      description:
        'Exactly one of email, userId, anonymousId or profileId. reason and requestedBy go into the audit record and must not name the person.',
    }),
  ErasureResult: z.object({
    requestId: z.string(),
    erased: counts,
    suppressed: z.number().int().meta({ description: 'Addresses kept suppressed under their hash.' }),
    audited: z
      .boolean()
      .meta({ description: 'False when nothing was held and nothing changed (a repeated erasure).' }),
  }),
  ErasureAudit: audit,
  ErasureAuditList: z.object({ erasures: z.array(audit) }),
};

const identifierParameters = IDENTIFIER_KINDS.map((name) => ({
  name,
  in: 'query' as const,
  required: false,
  description: 'Give exactly one of email, userId, anonymousId or profileId.',
}));

export const privacyOperations: readonly Operation[] = [
  {
    method: 'get',
    path: '/admin/privacy/export',
    summary:
      'Everything held about a person (all their profiles, merged ones included) as one JSON attachment; 404 when nothing is held',
    auth: 'admin',
    parameters: identifierParameters,
    responses: { '200': 'PersonExport', '400': 'Error', '404': 'Error' },
  },
  {
    method: 'post',
    path: '/admin/privacy/erasure',
    summary:
      'Erases a person: every item that identifies them, journeys stopped, addresses kept suppressed as hashes, with an audit record. Safe to repeat',
    auth: 'admin',
    body: 'ErasureRequest',
    responses: { '200': 'ErasureResult', '400': 'Error' },
  },
  {
    method: 'get',
    path: '/admin/privacy/audit',
    summary: 'The most recent erasures, newest first (hashed identifiers only)',
    auth: 'admin',
    parameters: [{ name: 'limit', in: 'query', required: false, description: '1–500, default 100' }],
    responses: { '200': 'ErasureAuditList' },
  },
];
