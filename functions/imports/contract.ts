// HTTP contract of the import admin API: the report schema and POST /admin/imports, merged into docs/openapi.json.
import * as z from 'zod';
import type { Operation } from '../shared/contract-types.ts';
import { MAX_ADMIN_IMPORT_BYTES, MAX_ADMIN_IMPORT_ROWS, MAX_LISTED_ROW_ERRORS } from './admin-import.ts';
import { RECORD_KINDS } from './csv-import.ts';

export const importSchemas: Record<string, z.ZodType> = {
  ImportReport: z
    .object({
      kind: z.enum(RECORD_KINDS),
      format: z.enum(['csv', 'jsonl']),
      rows: z.number().int().meta({ description: 'Data rows read from the file.' }),
      created: z.number().int().meta({ description: 'Rows that created a profile.' }),
      updated: z.number().int().meta({ description: 'Rows applied to a profile that existed.' }),
      unchanged: z
        .number()
        .int()
        .meta({ description: 'Rows imported before with the same content: nothing changed.' }),
      failed: z.number().int().meta({ description: 'Rows not imported; see errors.' }),
      notStarted: z.number().int().meta({
        description:
          'Rows not started because the time limit came first; send the same file again to import them.',
      }),
      complete: z.boolean().meta({ description: 'False when notStarted > 0.' }),
      errors: z
        .array(
          z.object({
            row: z.number().int().meta({ description: '1 for the first data row.' }),
            line: z
              .number()
              .int()
              .meta({ description: 'Line in the file where the row ends; 0 when unknown.' }),
            field: z
              .string()
              .meta({ description: 'Column or field path at fault; empty for the whole row.' }),
            message: z.string(),
          }),
        )
        .meta({ description: `Row errors in row order, at most ${MAX_LISTED_ROW_ERRORS}.` }),
      errorsTruncated: z.boolean(),
    })
    .meta({ description: 'What each row of an import did (docs/import.md).' }),
};

const option = (name: string, description: string) =>
  ({ name, in: 'query', required: false, description }) as const;

export const importOperations: readonly Operation[] = [
  {
    method: 'post',
    path: '/admin/imports',
    summary: `Imports a CSV or JSON Lines file (the request body, up to ${MAX_ADMIN_IMPORT_BYTES / 1024 / 1024} MB and ${MAX_ADMIN_IMPORT_ROWS.toLocaleString('en-US')} rows) synchronously, with the CLI's options; re-importing a file leaves it unchanged. Larger files: the CLI (413)`,
    auth: 'admin',
    bodyMediaTypes: ['text/csv', 'application/x-ndjson'],
    parameters: [
      option('kind', 'contacts (default), accounts or subscriptions, as --kind'),
      option('user-id', 'Column of the userId, as --user-id'),
      option('email', 'Column of the email, as --email'),
      option('external-id', 'Column of the source system id, as --external-id'),
      option('source', 'Source system name for externalIds, as --source (default crm)'),
      option('group-id', 'accounts: column of the account id, as --group-id'),
      option('map', 'COLUMN=PATH[:TYPE], repeatable, as --map'),
      option('all-columns', 'true: unmapped CSV columns become string traits, as --all-columns'),
      option('timestamp-column', 'Column of each row’s event time, as --timestamp-column'),
    ],
    responses: { '200': 'ImportReport', '400': 'Error', '413': 'Error', '415': 'Error' },
  },
];
