// HTTP contract of the segments admin API: component schemas and operations, merged into docs/openapi.json.
import * as z from 'zod';
import type { Operation } from '../shared/contract-types.ts';
import { BACKFILL_STATES } from './backfill.ts';

/** The document as documented; its rule grammar is in docs/segments.md and enforced by the handler (400). */
const definition = z
  .looseObject({
    id: z.string().optional().meta({ description: 'Defaults to the id in the path; must match it.' }),
    name: z.string(),
    description: z.string().optional(),
    rule: z.looseObject({}),
  })
  .meta({ description: 'A segment definition (docs/segments.md).' });

const backfill = z
  .object({
    version: z.number().int(),
    state: z.enum(BACKFILL_STATES),
    scanned: z.number().int().meta({ description: 'Stored profiles evaluated so far.' }),
    startedAt: z.string(),
    finishedAt: z.string().nullable(),
  })
  .nullable();

const member = z.object({ profileId: z.string(), enteredAt: z.string(), version: z.number().int() });

export const segmentSchemas: Record<string, z.ZodType> = {
  SegmentDefinition: definition,
  Segment: z.object({
    id: z.string(),
    name: z.string(),
    version: z.number().int(),
    definition: definition.nullable(),
    size: z.number().int(),
    backfill,
    createdAt: z.string(),
    updatedAt: z.string(),
  }),
  SegmentList: z.object({
    segments: z.array(
      z.object({
        id: z.string(),
        name: z.string(),
        version: z.number().int(),
        size: z.number().int(),
        updatedAt: z.string(),
      }),
    ),
  }),
  SegmentProblems: z.object({
    error: z.string(),
    problems: z.array(z.object({ path: z.string(), message: z.string() })),
  }),
  SegmentMembers: z.object({
    members: z.array(member),
    cursor: z
      .string()
      .nullable()
      .meta({ description: 'Pass as ?cursor= for the next page; null at the end.' }),
  }),
  ProfileSegments: z.object({
    profileId: z.string(),
    segments: z.array(
      member.omit({ profileId: true }).extend({
        segmentId: z.string(),
        reason: z.string().nullable().meta({ description: 'Why the profile is a member, evaluated now.' }),
      }),
    ),
  }),
};

const segmentId = { name: 'id', in: 'path', required: true, description: 'Segment id' } as const;

export const segmentOperations: readonly Operation[] = [
  {
    method: 'put',
    path: '/admin/segments/{id}',
    summary:
      'Saves a new version of a segment (201 for the first) and backfills it over stored profiles; every problem, references and cycles included, is listed at once',
    auth: 'admin',
    parameters: [segmentId],
    body: 'SegmentDefinition',
    responses: { '200': 'Segment', '201': 'Segment', '400': 'SegmentProblems' },
  },
  {
    method: 'get',
    path: '/admin/segments',
    summary: 'Every segment with its newest version and size',
    auth: 'admin',
    responses: { '200': 'SegmentList' },
  },
  {
    method: 'get',
    path: '/admin/segments/{id}',
    summary: 'A segment: definition, version, size and backfill progress',
    auth: 'admin',
    parameters: [segmentId],
    responses: { '200': 'Segment', '400': 'Error', '404': 'Error' },
  },
  {
    method: 'get',
    path: '/admin/segments/{id}/members',
    summary:
      'A page of members in profile id order; ?format=csv (or Accept: text/csv) exports the page as CSV with email and userId. The next page is in the x-next-cursor and Link headers',
    auth: 'admin',
    parameters: [
      segmentId,
      { name: 'cursor', in: 'query', required: false, description: 'From the previous page' },
      { name: 'limit', in: 'query', required: false, description: '1–1000 (default 100, CSV 1000)' },
      { name: 'format', in: 'query', required: false, description: 'json (default) or csv' },
    ],
    responses: { '200': 'SegmentMembers', '400': 'Error', '404': 'Error' },
  },
  {
    method: 'get',
    path: '/admin/profiles/{id}/segments',
    summary: "A profile's segments, when it entered each, and why it is a member now",
    auth: 'admin',
    parameters: [{ name: 'id', in: 'path', required: true, description: 'Profile id' }],
    responses: { '200': 'ProfileSegments', '404': 'Error' },
  },
];
