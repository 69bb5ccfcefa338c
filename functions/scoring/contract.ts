// HTTP contract of the scoring admin API: component schemas and operations, merged into docs/openapi.json.
import * as z from 'zod';
import { LEAD_STAGES } from '../journeys/definition.ts';
import type { Operation } from '../shared/contract-types.ts';

const scores = z.object({ behaviour: z.number(), fit: z.number(), combined: z.number() });

/** The rules document as documented; its full grammar is in docs/scoring.md and enforced by the handler (400). */
const rules = z
  .looseObject({
    scores: z.looseObject({}).optional(),
    behaviour: z.array(z.looseObject({ id: z.string(), points: z.number() })).optional(),
    fit: z.array(z.looseObject({ id: z.string(), points: z.number() })).optional(),
    decay: z.looseObject({ halfLife: z.string() }).optional(),
    thresholds: z.array(z.looseObject({ stage: z.enum(LEAD_STAGES) })).optional(),
    leadEvents: z.array(z.looseObject({})).optional(),
  })
  .meta({ description: 'Scoring rules (docs/scoring.md).' });

const transition = z.looseObject({
  from: z.enum(LEAD_STAGES).nullable(),
  to: z.enum(LEAD_STAGES),
  at: z.string(),
  reason: z.string(),
  by: z.string(),
});

const recompute = z
  .object({
    version: z.number().int(),
    state: z.enum(['running', 'done', 'superseded']),
    totalSegments: z.number().int(),
    segmentsDone: z.number().int(),
    pages: z.number().int(),
    profilesRecomputed: z.number().int(),
    profilesChanged: z.number().int(),
    failures: z.number().int(),
    startedAt: z.string(),
    finishedAt: z.string().nullable(),
  })
  .meta({ description: 'Progress of rescoring every profile under a rules version (docs/scoring.md).' });

export const scoringSchemas: Record<string, z.ZodType> = {
  ScoringRules: rules,
  StoredScoringRules: z.object({
    version: z.number().int(),
    rules,
    createdAt: z.string(),
    recompute: recompute
      .nullable()
      .optional()
      .meta({ description: "This version's recompute; null when none was started." }),
  }),
  ScoringRecompute: recompute,
  Lead: z
    .looseObject({
      profileId: z.string(),
      stage: z.enum(LEAD_STAGES).nullable(),
      history: z.array(transition),
      explanation: z.looseObject({}),
      journeyAdjustments: z.record(z.string(), z.number()),
    })
    .meta({
      description: "A profile's scores with where each point came from, its stage and the stage history.",
    }),
  LeadChange: z.object({
    profileId: z.string(),
    stage: z.enum(LEAD_STAGES).nullable(),
    scores,
    changed: z.boolean(),
  }),
  StageChange: z.object({
    stage: z.enum(LEAD_STAGES),
    reason: z.string(),
    by: z.string().optional(),
    key: z.string().optional(),
  }),
  SalesDecision: z.object({
    reason: z.string().optional().meta({ description: 'Required to reject.' }),
    by: z.string().optional(),
    outcome: z
      .enum(['recycle', 'disqualify'])
      .optional()
      .meta({ description: 'For reject; default recycle.' }),
    key: z.string().optional(),
  }),
};

const profileId = { name: 'id', in: 'path', required: true, description: 'Profile id' } as const;

export const scoringOperations: readonly Operation[] = [
  {
    method: 'put',
    path: '/admin/scoring/rules',
    summary:
      'Publishes a new version of the scoring rules (201 for the first) and starts rescoring every profile; every problem is listed at once',
    auth: 'admin',
    body: 'ScoringRules',
    responses: { '200': 'StoredScoringRules', '201': 'StoredScoringRules', '400': 'Error' },
  },
  {
    method: 'get',
    path: '/admin/scoring/rules',
    summary: "The scoring rules in force, with the progress of their recompute (field 'recompute')",
    auth: 'admin',
    responses: { '200': 'StoredScoringRules', '404': 'Error' },
  },
  {
    method: 'get',
    path: '/admin/scoring/recompute',
    summary: 'Progress of the latest rescoring of every profile after a rules change',
    auth: 'admin',
    responses: { '200': 'ScoringRecompute', '404': 'Error' },
  },
  {
    method: 'get',
    path: '/admin/profiles/{id}/lead',
    summary:
      "A profile's behaviour, fit and combined scores with their explanation, its stage and stage history",
    auth: 'admin',
    parameters: [profileId],
    responses: { '200': 'Lead', '404': 'Error' },
  },
  {
    method: 'post',
    path: '/admin/profiles/{id}/stage',
    summary: 'Moves a profile to a lifecycle stage by hand (backward moves allowed), with a reason',
    auth: 'admin',
    parameters: [profileId],
    body: 'StageChange',
    responses: { '200': 'LeadChange', '400': 'Error', '404': 'Error' },
  },
  ...(['accept', 'reject', 'convert'] as const).map(
    (decision): Operation => ({
      method: 'post',
      path: `/admin/leads/{id}/${decision}`,
      summary:
        decision === 'accept'
          ? 'Sales accepts the lead (SAL)'
          : decision === 'reject'
            ? 'Sales rejects the lead, with a reason: recycled (default) or disqualified'
            : 'Sales converts the lead into an opportunity',
      auth: 'admin',
      parameters: [profileId],
      body: 'SalesDecision',
      responses: { '200': 'LeadChange', '400': 'Error', '404': 'Error' },
    }),
  ),
];
