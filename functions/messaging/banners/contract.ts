// HTTP contract of the banner API: component schemas and operations, merged into docs/openapi.json.
import type * as z from 'zod';
import type { Operation } from '../../shared/contract-types.ts';

export const bannerSchemas: Record<string, z.ZodType> = {};

export const bannerOperations: readonly Operation[] = [];
