// HTTP contract of the webhook API: component schemas and operations, merged into docs/openapi.json.
import type * as z from 'zod';
import type { Operation } from '../../shared/contract-types.ts';

export const webhookSchemas: Record<string, z.ZodType> = {};

export const webhookOperations: readonly Operation[] = [];
