// HTTP contract of the journey admin API: component schemas and operations, merged into docs/openapi.json.
import * as z from 'zod';
import type { Operation } from '../shared/contract-types.ts';
import { ENROLLMENT_STATUSES, EXIT_REASONS, JOURNEY_STATUSES, NODE_COUNTERS, WAIT_KINDS } from './model.ts';

/**
 * The definition as documented: its full grammar (triggers, nodes, conditions, goals) is in docs/journeys.md and is
 * enforced by the handler, which answers 400 listing every problem.
 */
const definition = z
  .looseObject({
    name: z.string(),
    description: z.string().optional(),
    triggers: z.array(z.looseObject({ type: z.enum(['event', 'segment', 'date', 'schedule']) })),
    entry: z.looseObject({}).optional(),
    goals: z.array(z.looseObject({ id: z.string() })).optional(),
    frequencyCap: z.looseObject({}).optional(),
    quietHours: z.looseObject({ start: z.string(), end: z.string() }).optional(),
    timeZone: z.string().optional(),
    campaign: z.string().optional(),
    start: z.string(),
    nodes: z.record(z.string(), z.looseObject({ type: z.string() })),
  })
  .meta({ description: 'A journey definition (docs/journeys.md).' });

const summary = z.object({
  id: z.string(),
  status: z.enum(JOURNEY_STATUSES),
  version: z.number().int(),
  createdAt: z.string(),
  updatedAt: z.string(),
  name: z.string().nullable(),
});

const counts = z.object(Object.fromEntries(NODE_COUNTERS.map((c) => [c, z.number().int()])));

const traceEntry = z.object({ nodeId: z.string().nullable(), decision: z.string(), reason: z.string() });

export const journeySchemas: Record<string, z.ZodType> = {
  JourneyDefinition: definition,
  Journey: summary.extend({ definition: definition.nullable() }),
  JourneyList: z.object({ journeys: z.array(summary) }),
  JourneyValidation: z.object({
    profileId: z.string().optional(),
    assumeEvents: z.array(z.string()).optional(),
    definition: definition.optional(),
  }),
  JourneyValidationResult: z.object({
    valid: z.literal(true),
    dryRun: z
      .object({ enters: z.boolean(), reason: z.string(), path: z.array(traceEntry) })
      .nullable()
      .meta({ description: 'The path the profile would take and why; null without a profileId.' }),
  }),
  JourneyStats: z.object({
    journeyId: z.string(),
    version: z.number().int().nullable(),
    nodes: z.array(
      counts.extend({
        nodeId: z.string(),
        type: z.string().nullable(),
        variants: z.record(z.string(), counts),
      }),
    ),
  }),
  ProfileJourneys: z.object({
    profileId: z.string(),
    enrollments: z.array(
      z.object({
        journeyId: z.string(),
        journeyVersion: z.number().int(),
        run: z.number().int(),
        status: z.enum(ENROLLMENT_STATUSES),
        exitReason: z.enum(EXIT_REASONS).nullable(),
        goalId: z.string().nullable(),
        nodeId: z.string(),
        waiting: z.object({ kind: z.enum(WAIT_KINDS), nodeId: z.string(), until: z.string() }).nullable(),
        variant: z.string().nullable(),
        enteredAt: z.string(),
        updatedAt: z.string(),
        exitedAt: z.string().nullable(),
        history: z.array(z.object({ at: z.string(), nodeId: z.string(), outcome: z.string() })),
      }),
    ),
  }),
};

const id = {
  name: 'id',
  in: 'path',
  required: true,
  description: 'Journey id: 1–63 of a-z, 0-9 and "-"',
} as const;

export const journeyOperations: readonly Operation[] = [
  {
    method: 'put',
    path: '/admin/journeys/{id}',
    summary:
      'Publishes a new version of a journey (201 for the first). Running enrollments stay on their version',
    auth: 'admin',
    parameters: [id],
    body: 'JourneyDefinition',
    responses: { '200': 'Journey', '201': 'Journey', '400': 'Error' },
  },
  {
    method: 'get',
    path: '/admin/journeys',
    summary: 'Every journey with its status and newest version',
    auth: 'admin',
    responses: { '200': 'JourneyList' },
  },
  {
    method: 'get',
    path: '/admin/journeys/{id}',
    summary: 'A journey with its newest definition',
    auth: 'admin',
    parameters: [id],
    responses: { '200': 'Journey', '400': 'Error', '404': 'Error' },
  },
  {
    method: 'post',
    path: '/admin/journeys/{id}/validate',
    summary:
      'Checks a definition (the stored one, or a draft in the body) and dry-runs a profile through it: the path it would take and why. Sends nothing',
    auth: 'admin',
    parameters: [id],
    body: 'JourneyValidation',
    responses: { '200': 'JourneyValidationResult', '400': 'Error', '404': 'Error' },
  },
  {
    method: 'post',
    path: '/admin/journeys/{id}/pause',
    summary: 'Stops new entries and holds running enrollments at their next step; goals still end them',
    auth: 'admin',
    parameters: [id],
    responses: { '200': 'Journey', '400': 'Error', '404': 'Error' },
  },
  {
    method: 'post',
    path: '/admin/journeys/{id}/resume',
    summary: 'Lets a paused journey take entries again; held enrollments continue within 15 minutes',
    auth: 'admin',
    parameters: [id],
    responses: { '200': 'Journey', '400': 'Error', '404': 'Error' },
  },
  {
    method: 'get',
    path: '/admin/journeys/{id}/stats',
    summary: 'Per node: entered, waiting, exited, goal reached, sent, skipped; totals and per A/B variant',
    auth: 'admin',
    parameters: [
      id,
      { name: 'version', in: 'query', required: false, description: 'One version; default all' },
    ],
    responses: { '200': 'JourneyStats', '400': 'Error', '404': 'Error' },
  },
  {
    method: 'get',
    path: '/admin/profiles/{id}/journeys',
    summary: "A profile's enrollments: where each run is, what it waits for, and its recent steps",
    auth: 'admin',
    parameters: [{ name: 'id', in: 'path', required: true, description: 'Profile id' }],
    responses: { '200': 'ProfileJourneys' },
  },
];
