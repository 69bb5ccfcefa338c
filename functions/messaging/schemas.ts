// Schemas of stored template items, shared by the DynamoDB adapter (reading) and the API contract (answering).
import * as z from 'zod';
import { TOPICS } from './model.ts';

export const templateVersionSchema = z.object({
  templateId: z.string(),
  version: z.number().int(),
  subject: z.string(),
  html: z.string(),
  text: z.string(),
  preheader: z.string(),
  topic: z.enum(TOPICS),
  mjml: z.string().nullable(),
  createdAt: z.string(),
});

export const templateSummarySchema = z.object({
  templateId: z.string(),
  latestVersion: z.number().int(),
  subject: z.string(),
  topic: z.enum(TOPICS),
  createdAt: z.string(),
  updatedAt: z.string(),
});
