// Schemas of stored journey items (enrollments, timers, heads), so the DynamoDB adapter parses what it reads.
import * as z from 'zod';
import { LEAD_STAGES } from './definition.ts';
import { ENROLLMENT_STATUSES, EXIT_REASONS, JOURNEY_STATUSES, WAIT_KINDS } from './model.ts';

const jsonObject = z.record(z.string(), z.json());
const nullableVariant = z.string().nullable();

export const waitingSchema = z.object({
  kind: z.enum(WAIT_KINDS),
  nodeId: z.string(),
  until: z.string(),
  timerId: z.string(),
});

export const effectSchema = z.discriminatedUnion('kind', [
  z.object({
    kind: z.literal('sendEmail'),
    key: z.string(),
    templateId: z.string(),
    templateVersion: z.number().int().nullable(),
    nodeId: z.string(),
    variant: nullableVariant,
    campaign: z.string(),
  }),
  z.object({
    kind: z.literal('setBanner'),
    key: z.string(),
    nodeId: z.string(),
    variant: nullableVariant,
    placement: z.string(),
    content: z.object({
      title: z.string(),
      body: z.string(),
      html: z.string().nullable(),
      cta: z.object({ label: z.string(), url: z.string() }).nullable(),
    }),
    expiresAt: z.string(),
  }),
  z.object({ kind: z.literal('clearBanners'), key: z.string() }),
  z.object({
    kind: z.literal('webhook'),
    key: z.string(),
    endpointId: z.string(),
    eventType: z.string(),
    payload: jsonObject,
  }),
  z.object({ kind: z.literal('setTraits'), key: z.string(), traits: jsonObject }),
  z.object({ kind: z.literal('addScore'), key: z.string(), name: z.string(), points: z.number() }),
  z.object({ kind: z.literal('setStage'), key: z.string(), stage: z.enum(LEAD_STAGES) }),
  z.object({ kind: z.literal('emitEvent'), key: z.string(), name: z.string(), properties: jsonObject }),
]);

export const enrollmentSchema = z.object({
  profileId: z.string(),
  journeyId: z.string(),
  run: z.number().int().positive(),
  journeyVersion: z.number().int().positive(),
  status: z.enum(ENROLLMENT_STATUSES),
  exitReason: z.enum(EXIT_REASONS).nullable(),
  goalId: z.string().nullable(),
  nodeId: z.string(),
  waiting: waitingSchema.nullable(),
  variant: nullableVariant,
  enteredAt: z.string(),
  updatedAt: z.string(),
  exitedAt: z.string().nullable(),
  history: z.array(z.object({ at: z.string(), nodeId: z.string(), outcome: z.string() })),
  processed: z.array(z.string()),
  sends: z.array(z.string()),
  steps: z.number().int().nonnegative(),
  pendingEffects: z.array(effectSchema),
  version: z.number().int().nonnegative(),
});

export const timerSchema = z.object({
  timerId: z.string(),
  dueAt: z.string(),
  profileId: z.string(),
  journeyId: z.string(),
  kind: z.enum(['step', 'entry', 'schedule']),
});

export const journeyHeadSchema = z.object({
  journeyId: z.string(),
  status: z.enum(JOURNEY_STATUSES),
  latestVersion: z.number().int().positive(),
  createdAt: z.string(),
  updatedAt: z.string(),
});
