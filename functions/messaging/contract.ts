// HTTP contract of the messaging API: component schemas and operations, merged into docs/openapi.json.
import type * as z from 'zod';
import type { Operation } from '../shared/contract-types.ts';

export const messagingSchemas: Record<string, z.ZodType> = {};

export const messagingOperations: readonly Operation[] = [];
