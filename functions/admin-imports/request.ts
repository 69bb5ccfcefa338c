// Reads POST /admin/imports: the file from the body, its format from Content-Type, the CLI's options from the query.
import { Buffer } from 'node:buffer';
import {
  type AdminImportFormat,
  ImportTooLargeError,
  MAX_ADMIN_IMPORT_BYTES,
} from '../imports/admin-import.ts';
import {
  ImportConfigError,
  type ImportSettings,
  isRecordKind,
  parseFieldMapping,
  RECORD_KINDS,
} from '../imports/csv-import.ts';

/** Media types of a JSON Lines body; `text/csv` (and `application/csv`) is CSV. */
const JSON_LINES_TYPES: ReadonlySet<string> = new Set([
  'application/x-ndjson',
  'application/ndjson',
  'application/jsonl',
  'application/x-jsonlines',
  'application/jsonlines',
]);
const CSV_TYPES: ReadonlySet<string> = new Set(['text/csv', 'application/csv']);

/** The query parameters: the CLI's flags by the same names (docs/import.md). */
export const IMPORT_QUERY_PARAMETERS = [
  'kind',
  'user-id',
  'email',
  'external-id',
  'source',
  'group-id',
  'map',
  'all-columns',
  'timestamp-column',
] as const;

/** A request the caller can fix; the handler answers with its status and message. */
export class ImportRequestError extends Error {
  override readonly name = 'ImportRequestError';
  constructor(
    readonly status: 400 | 413 | 415,
    message: string,
  ) {
    super(message);
  }
}

export function formatOf(contentType: string | undefined): AdminImportFormat {
  const mediaType = contentType?.split(';')[0]?.trim().toLowerCase() ?? '';
  if (CSV_TYPES.has(mediaType)) return 'csv';
  if (JSON_LINES_TYPES.has(mediaType)) return 'jsonl';
  throw new ImportRequestError(
    415,
    `Send the file as the body with Content-Type text/csv or application/x-ndjson (got "${mediaType || 'none'}").`,
  );
}

/** The body as text; 413 beyond MAX_ADMIN_IMPORT_BYTES, telling the caller to use the CLI. */
export function fileText({ body, isBase64Encoded }: { body?: string; isBase64Encoded: boolean }): string {
  const bytes = Buffer.from(body ?? '', isBase64Encoded ? 'base64' : 'utf8');
  if (bytes.length > MAX_ADMIN_IMPORT_BYTES) {
    throw new ImportRequestError(
      413,
      `The file is ${bytes.length.toLocaleString('en-US')} bytes; the admin API imports files up to ${MAX_ADMIN_IMPORT_BYTES.toLocaleString('en-US')} bytes. Import larger files with the CLI (npm run nurture -- import FILE, docs/import.md).`,
    );
  }
  if (bytes.length === 0)
    throw new ImportRequestError(400, 'The request body is empty: send the file as the body.');
  return bytes.toString('utf8');
}

function single(params: URLSearchParams, name: string): string | undefined {
  const values = params.getAll(name);
  if (values.length > 1) throw new ImportRequestError(400, `Give "${name}" once.`);
  const value = values[0]?.trim();
  return value === undefined || value === '' ? undefined : value;
}

/** The CLI's import options from a query string; `map` repeats like `--map`. */
export function settingsOf(rawQueryString: string): ImportSettings {
  const params = new URLSearchParams(rawQueryString);
  const known: ReadonlySet<string> = new Set(IMPORT_QUERY_PARAMETERS);
  const unknown = [...new Set(params.keys())].filter((name) => !known.has(name));
  if (unknown.length > 0) {
    throw new ImportRequestError(
      400,
      `Unknown query parameter ${unknown.map((n) => `"${n}"`).join(', ')} (known: ${IMPORT_QUERY_PARAMETERS.join(', ')}).`,
    );
  }
  const kind = single(params, 'kind') ?? 'contacts';
  if (!isRecordKind(kind)) {
    throw new ImportRequestError(400, `kind must be one of ${RECORD_KINDS.join(', ')}, got "${kind}".`);
  }
  const allColumns = single(params, 'all-columns') ?? 'false';
  if (allColumns !== 'true' && allColumns !== 'false') {
    throw new ImportRequestError(400, `all-columns must be true or false, got "${allColumns}".`);
  }
  const userIdColumn = single(params, 'user-id');
  const emailColumn = single(params, 'email');
  const externalIdColumn = single(params, 'external-id');
  const source = single(params, 'source');
  const groupIdColumn = single(params, 'group-id');
  const timestampColumn = single(params, 'timestamp-column');
  try {
    return {
      kind,
      ...(userIdColumn === undefined ? {} : { userIdColumn }),
      ...(emailColumn === undefined ? {} : { emailColumn }),
      ...(externalIdColumn === undefined ? {} : { externalIdColumn }),
      ...(source === undefined ? {} : { source }),
      ...(groupIdColumn === undefined ? {} : { groupIdColumn }),
      ...(timestampColumn === undefined ? {} : { timestampColumn }),
      mappings: params.getAll('map').map(parseFieldMapping),
      allColumns: allColumns === 'true',
    };
  } catch (error) {
    if (error instanceof ImportConfigError) throw new ImportRequestError(400, error.message);
    throw error;
  }
}

/** 4xx for what the caller can fix: import settings the file cannot satisfy, or too many rows. */
export function requestErrorOf(error: unknown): ImportRequestError | undefined {
  if (error instanceof ImportRequestError) return error;
  if (error instanceof ImportConfigError) return new ImportRequestError(400, error.message);
  if (error instanceof ImportTooLargeError) return new ImportRequestError(413, error.message);
  return undefined;
}
