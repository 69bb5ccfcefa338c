// `nurture export` and `nurture erase`: data subject requests through the admin API, for operators and scripts.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import * as z from 'zod';

export interface AdminApi {
  /** Base URL of the API, e.g. `http://127.0.0.1:4000`. */
  readonly url: string;
  readonly adminToken: string;
}

/** What the commands touch outside themselves; tests substitute it. */
export interface PrivacyIo {
  readonly fetch?: typeof fetch;
  readonly stdout?: { write(text: string): unknown };
  readonly stderr?: { write(text: string): unknown };
  readonly env?: Readonly<Record<string, string | undefined>>;
  readonly cwd?: string;
}

const localStackFile = z.object({ apiUrl: z.string().optional(), adminToken: z.string().optional() });
const errorBody = z.object({ error: z.string() });
const erasureResult = z.object({
  requestId: z.string(),
  erased: z.record(z.string(), z.number()),
  suppressed: z.number(),
  audited: z.boolean(),
});

const IDENTIFIER_OPTIONS = {
  email: { type: 'string' },
  'user-id': { type: 'string' },
  'anonymous-id': { type: 'string' },
  'profile-id': { type: 'string' },
  api: { type: 'string' },
  'admin-token': { type: 'string' },
  help: { type: 'boolean', short: 'h', default: false },
} as const;

const IDENTIFIER_HELP = `  --email ADDRESS | --user-id ID | --anonymous-id ID | --profile-id ID
                             the person, by exactly one identifier (all their profiles are found from it)
  --api URL                  API base URL (default: $NURTURE_API_URL, then .nurture/local.json)
  --admin-token TOKEN        admin token (default: $NURTURE_ADMIN_TOKEN, then .nurture/local.json)
  -h, --help                 show this help`;

export const EXPORT_HELP = `Usage: npm run nurture -- export --email ADDRESS [--out FILE]

Writes everything held about a person as one JSON document (GET /admin/privacy/export): every profile, merged
ones included, identities, traits, consent, events, messages, scores, journeys, segments, banners, webhook
deliveries and address state. See docs/privacy.md.

Options:
${IDENTIFIER_HELP}
  --out FILE                 write the document to FILE (default: standard output)`;

export const ERASE_HELP = `Usage: npm run nurture -- erase --email ADDRESS --reason TEXT --by WHO

Erases a person (POST /admin/privacy/erasure): every item that identifies them, journeys stopped, their addresses
kept suppressed as hashes, and an audit record. Running it again finishes an interrupted erasure and is otherwise
harmless. The reason and requester are kept in the audit record: do not name the person in them.

Options:
${IDENTIFIER_HELP}
  --reason TEXT              why (e.g. a ticket number), kept in the audit record
  --by WHO                   who asked, kept in the audit record`;

/** A problem the operator can fix (flags, configuration, a refused request); printed without a stack trace. */
export class PrivacyCommandError extends Error {
  override name = 'PrivacyCommandError';
}

/** Flags win over the environment, which wins over the file `npm start` writes in the current directory. */
export function resolveAdminApi(
  flags: { api?: string | undefined; adminToken?: string | undefined },
  io: PrivacyIo = {},
): AdminApi {
  const env = io.env ?? process.env;
  const path = join(io.cwd ?? process.cwd(), '.nurture', 'local.json');
  let local: z.infer<typeof localStackFile> = {};
  if (existsSync(path)) {
    try {
      const parsed = localStackFile.safeParse(JSON.parse(readFileSync(path, 'utf8')));
      if (parsed.success) local = parsed.data;
    } catch {
      // An unreadable file is treated as absent: the flags or the environment may still name the API.
    }
  }
  const url = flags.api || env.NURTURE_API_URL || local.apiUrl;
  const adminToken = flags.adminToken || env.NURTURE_ADMIN_TOKEN || local.adminToken;
  if (!url || !adminToken)
    throw new PrivacyCommandError(
      'No admin API configured: pass --api and --admin-token, set NURTURE_API_URL and NURTURE_ADMIN_TOKEN, ' +
        'or run `npm start` in this directory first.',
    );
  return { url: url.replace(/\/+$/, ''), adminToken };
}

/** The one identifier flag given, as the API's field name and value. */
export function identifierFrom(flags: {
  email?: string | undefined;
  'user-id'?: string | undefined;
  'anonymous-id'?: string | undefined;
  'profile-id'?: string | undefined;
}): { field: 'email' | 'userId' | 'anonymousId' | 'profileId'; value: string } {
  const given = (
    [
      ['email', flags.email],
      ['userId', flags['user-id']],
      ['anonymousId', flags['anonymous-id']],
      ['profileId', flags['profile-id']],
    ] as const
  ).flatMap(([field, value]) => (value === undefined || value === '' ? [] : [{ field, value }]));
  const [only] = given;
  if (only === undefined || given.length > 1)
    throw new PrivacyCommandError('Give exactly one of --email, --user-id, --anonymous-id or --profile-id.');
  return only;
}

async function call(api: AdminApi, path: string, init: RequestInit, io: PrivacyIo): Promise<Response> {
  const response = await (io.fetch ?? fetch)(`${api.url}${path}`, {
    ...init,
    headers: { authorization: `Bearer ${api.adminToken}`, 'content-type': 'application/json' },
  });
  if (response.ok) return response;
  const text = await response.text();
  let message = text;
  try {
    const parsed = errorBody.safeParse(JSON.parse(text));
    if (parsed.success) message = parsed.data.error;
  } catch {
    // Not JSON (a gateway error page): the raw text is the best explanation there is.
  }
  throw new PrivacyCommandError(`The API refused the request (${response.status}): ${message}`);
}

export async function exportCommand(args: readonly string[], io: PrivacyIo = {}): Promise<number> {
  const stdout = io.stdout ?? process.stdout;
  const stderr = io.stderr ?? process.stderr;
  try {
    const { values } = parseArgs({
      args: [...args],
      strict: true,
      options: { ...IDENTIFIER_OPTIONS, out: { type: 'string' } },
    });
    if (values.help) {
      stdout.write(`${EXPORT_HELP}\n`);
      return 0;
    }
    const identifier = identifierFrom(values);
    const api = resolveAdminApi({ api: values.api, adminToken: values['admin-token'] }, io);
    const query = new URLSearchParams({ [identifier.field]: identifier.value });
    const response = await call(api, `/admin/privacy/export?${query}`, { method: 'GET' }, io);
    const document = `${JSON.stringify(await response.json(), null, 2)}\n`;
    if (values.out === undefined) stdout.write(document);
    else {
      writeFileSync(values.out, document, { mode: 0o600 });
      stderr.write(`Wrote the export to ${values.out}.\n`);
    }
    return 0;
  } catch (error) {
    return failed(error, stderr);
  }
}

export async function eraseCommand(args: readonly string[], io: PrivacyIo = {}): Promise<number> {
  const stdout = io.stdout ?? process.stdout;
  const stderr = io.stderr ?? process.stderr;
  try {
    const { values } = parseArgs({
      args: [...args],
      strict: true,
      options: { ...IDENTIFIER_OPTIONS, reason: { type: 'string' }, by: { type: 'string' } },
    });
    if (values.help) {
      stdout.write(`${ERASE_HELP}\n`);
      return 0;
    }
    const identifier = identifierFrom(values);
    if (!values.reason || !values.by)
      throw new PrivacyCommandError('--reason and --by are required: they go into the audit record.');
    const api = resolveAdminApi({ api: values.api, adminToken: values['admin-token'] }, io);
    const response = await call(
      api,
      '/admin/privacy/erasure',
      {
        method: 'POST',
        body: JSON.stringify({
          [identifier.field]: identifier.value,
          reason: values.reason,
          requestedBy: values.by,
        }),
      },
      io,
    );
    stdout.write(`${describeErasure(erasureResult.parse(await response.json()))}\n`);
    return 0;
  } catch (error) {
    return failed(error, stderr);
  }
}

export function describeErasure(result: z.infer<typeof erasureResult>): string {
  const kinds = Object.entries(result.erased).filter(([, count]) => count > 0);
  const total = kinds.reduce((sum, [, count]) => sum + count, 0);
  const suppressed = `${result.suppressed} address${result.suppressed === 1 ? '' : 'es'} kept suppressed (hashed)`;
  if (!result.audited) return `Nothing held about this person any more; ${suppressed}. Nothing was changed.`;
  const detail = kinds.map(([kind, count]) => `${kind} ${count}`).join(', ');
  return `Erased ${total} item${total === 1 ? '' : 's'}${detail ? ` (${detail})` : ''}; ${suppressed}. Audit record ${result.requestId}.`;
}

function failed(error: unknown, stderr: { write(text: string): unknown }): number {
  // Bad flags and refused requests are the operator's to fix; anything else is a bug worth its stack trace.
  if (error instanceof PrivacyCommandError || (error instanceof TypeError && 'code' in error)) {
    stderr.write(`${error.message}\n`);
    return 1;
  }
  throw error;
}
