// HTTP contract of the consent admin API (GET/PUT /admin/profiles/{id}/consent): schemas and operations for docs/openapi.json.
import * as z from 'zod';
import type { Operation } from '../shared/contract-types.ts';
import { consentChangeSchema, consentEvidenceSchema, PURPOSE_STATES } from './consent.ts';

const purposeAnswers = z
  .object({
    tracking: z.boolean().optional(),
    emailMarketing: z.boolean().optional(),
    personalization: z.boolean().optional(),
  })
  .strict()
  .meta({
    description: 'true grants, false refuses; every consent category of the purpose gets the answer.',
  });

/** What an admin caller may record: purposes or raw categories (or both), where it came from, and the proof. */
export const consentUpdateSchema = z
  .object({
    purposes: purposeAnswers.optional(),
    categoryPreferences: z
      .record(z.string().min(1).max(64), z.boolean())
      .refine((preferences) => Object.keys(preferences).length <= 50, {
        message: 'at most 50 categories',
      })
      .optional(),
    source: z
      .string()
      .regex(/^[A-Za-z][\w.:-]{0,63}$/, 'source is 1–64 letters, digits, "_", ".", ":" or "-", e.g. "crm"')
      .default('admin'),
    evidence: consentEvidenceSchema.refine((evidence) => typeof evidence.method === 'string', {
      message:
        'evidence needs a "method" (e.g. "phone", "crm", "paper-form") saying how consent was captured',
    }),
  })
  .strict()
  .refine((update) => update.purposes !== undefined || update.categoryPreferences !== undefined, {
    message: 'give purposes or categoryPreferences',
  })
  .meta({
    description:
      'A consent choice captured outside tracking (phone, CRM, paper form). Categories are merged into the stored ones; purposes set every category of the purpose. evidence is free-form (at most 10 keys, 1000 characters) and must say its method.',
  });
export type ConsentUpdate = z.output<typeof consentUpdateSchema>;

const purposeStates = z.object({
  tracking: z.enum(PURPOSE_STATES),
  emailMarketing: z.enum(PURPOSE_STATES),
  personalization: z.enum(PURPOSE_STATES),
});

export const profileConsentSchema = z
  .object({
    profileId: z.string(),
    purposes: purposeStates,
    categoryPreferences: z.record(z.string(), z.boolean()),
    updatedAt: z.string().nullable(),
    source: z.string().nullable(),
    evidence: consentEvidenceSchema.nullable(),
    history: z.array(consentChangeSchema).meta({ description: 'The last 20 changes, oldest first.' }),
  })
  .meta({ description: "A profile's consent per purpose, the categories behind it, and how it was given." });
export type ProfileConsent = z.output<typeof profileConsentSchema>;

export const consentSchemas: Record<string, z.ZodType> = {
  ConsentUpdate: consentUpdateSchema,
  ProfileConsent: profileConsentSchema,
};

const id = {
  name: 'id',
  in: 'path' as const,
  required: true,
  description: 'Profile id (a merged one answers for its survivor)',
};

export const consentOperations: readonly Operation[] = [
  {
    method: 'get',
    path: '/admin/profiles/{id}/consent',
    summary:
      "A profile's consent per purpose (tracking, email marketing, personalization), with evidence and history",
    auth: 'admin',
    parameters: [id],
    responses: { '200': 'ProfileConsent', '404': 'Error' },
  },
  {
    method: 'put',
    path: '/admin/profiles/{id}/consent',
    summary:
      'Records a consent choice captured elsewhere (phone, CRM); it reaches segments, journeys, sends and banners within seconds',
    auth: 'admin',
    parameters: [id],
    body: 'ConsentUpdate',
    responses: { '200': 'ProfileConsent', '400': 'Error', '404': 'Error' },
  },
];
