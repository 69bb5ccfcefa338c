#!/usr/bin/env -S npx tsx
// `npm run nurture -- <command>`: operator commands against a running Nurture (local or deployed).
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import * as z from 'zod';
import {
  ImportConfigError,
  isRecordKind,
  parseFieldMapping,
  RECORD_KINDS,
} from '../functions/imports/csv-import.ts';
import { dlqCommand } from '../lib/cli/dlq.ts';
import {
  type ApiTarget,
  describeSummary,
  IMPORT_FORMATS,
  ImportFailedError,
  runImport,
} from '../lib/cli/import.ts';
import { eraseCommand, exportCommand } from '../lib/cli/privacy.ts';

interface Command {
  readonly summary: string;
  run(args: readonly string[]): Promise<number>;
}

const IMPORT_HELP = `Usage: npm run nurture -- import FILE [options]

Sends each row of a CSV or JSON Lines file to the tracking API (POST /v1/batch) as Segment calls. Re-running a
file is harmless: each call's messageId is derived from its content, so unchanged rows are stored once.

Options:
  --format csv|jsonl         file format (default: jsonl for .jsonl/.ndjson files, csv otherwise)
  --kind KIND                contacts (default): one identify per row
                             subscriptions: one identify per row, mapped traits under traits.subscription
                             accounts: one group call per row (see --group-id), plus the member's identify
                             with traits.company when the row names a member
  --user-id COLUMN           column holding the contact's userId
  --email COLUMN             column holding the email (also set as traits.email)
  --external-id COLUMN       column holding the source system's id (set as traits.externalIds.SOURCE)
                             (contacts and subscriptions need a value in at least one of the three)
  --source NAME              names the source system in externalIds (default: crm)
  --group-id COLUMN          accounts: column holding the account id
  --map COLUMN=PATH[:TYPE]   put COLUMN at trait PATH (dots nest: subscription.endsAt); repeatable.
                             With JSON Lines, COLUMN is a dot path into each line's object.
                             TYPE: string (default), number, integer, boolean, date, json
  --all-columns              CSV: also send unmapped columns as string traits named after their header
  --timestamp-column COLUMN  event time of each row (default: the time the import started)
  --api URL                  tracking API base URL (default: $NURTURE_API_URL, then .nurture/local.json)
  --write-key KEY            write key (default: $NURTURE_WRITE_KEY, then .nurture/local.json)
  --batch N                  rows per request (default 100; requests stay under 500 KB)
  --resume                   skip the rows an interrupted run of the unchanged file already sent
  --dry-run                  read, convert and report without sending
  -h, --help                 show this help

Rows that cannot be imported are written to FILE.errors.csv; they never stop the run.
Exit code: 0 when every row was sent or reported, 1 when the run could not finish.`;

const localStackFile = z.object({ apiUrl: z.string().optional(), writeKey: z.string().optional() });

/** Flags win over the environment, which wins over the file `npm start` writes in the current directory. */
function resolveApi(flags: { api?: string | undefined; writeKey?: string | undefined }): Partial<ApiTarget> {
  const path = join(process.cwd(), '.nurture', 'local.json');
  let local: z.infer<typeof localStackFile> = {};
  if (existsSync(path)) {
    try {
      const parsed = localStackFile.safeParse(JSON.parse(readFileSync(path, 'utf8')));
      if (parsed.success) local = parsed.data;
    } catch {
      // An unreadable file is treated as absent: the flags or the environment may still name the API.
    }
  }
  const url = flags.api || process.env.NURTURE_API_URL || local.apiUrl;
  const writeKey = flags.writeKey || process.env.NURTURE_WRITE_KEY || local.writeKey;
  return { ...(url ? { url } : {}), ...(writeKey ? { writeKey } : {}) };
}

async function importCommand(args: readonly string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: [...args],
    allowPositionals: true,
    strict: true,
    options: {
      format: { type: 'string' },
      kind: { type: 'string', default: 'contacts' },
      'user-id': { type: 'string' },
      email: { type: 'string' },
      'external-id': { type: 'string' },
      source: { type: 'string' },
      'group-id': { type: 'string' },
      map: { type: 'string', multiple: true, default: [] },
      'all-columns': { type: 'boolean', default: false },
      'timestamp-column': { type: 'string' },
      api: { type: 'string' },
      'write-key': { type: 'string' },
      batch: { type: 'string', default: '100' },
      resume: { type: 'boolean', default: false },
      'dry-run': { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    console.log(IMPORT_HELP);
    return 0;
  }
  const [file, ...extra] = positionals;
  if (file === undefined || extra.length > 0) {
    console.error(`Name exactly one file.\n\n${IMPORT_HELP}`);
    return 1;
  }
  const format = IMPORT_FORMATS.find((name) => name === values.format);
  if (values.format !== undefined && format === undefined) {
    console.error(`--format must be one of ${IMPORT_FORMATS.join(', ')}, got "${values.format}".`);
    return 1;
  }
  if (!isRecordKind(values.kind)) {
    console.error(`--kind must be one of ${RECORD_KINDS.join(', ')}, got "${values.kind}".`);
    return 1;
  }
  if (!/^\d+$/.test(values.batch) || Number(values.batch) < 1) {
    console.error(`--batch must be a positive whole number, got "${values.batch}".`);
    return 1;
  }
  const mappings = values.map.map(parseFieldMapping);
  const api = resolveApi({ api: values.api, writeKey: values['write-key'] });
  const dryRun = values['dry-run'];
  if (!dryRun && (api.url === undefined || api.writeKey === undefined)) {
    console.error(
      'No tracking API configured: pass --api and --write-key, set NURTURE_API_URL and NURTURE_WRITE_KEY, ' +
        'or run `npm start` in this directory first.',
    );
    return 1;
  }
  const summary = await runImport({
    file,
    ...(format === undefined ? {} : { format }),
    kind: values.kind,
    ...(values['external-id'] === undefined ? {} : { externalIdColumn: values['external-id'] }),
    ...(values.source === undefined ? {} : { source: values.source }),
    ...(values['group-id'] === undefined ? {} : { groupIdColumn: values['group-id'] }),
    ...(values['user-id'] === undefined ? {} : { userIdColumn: values['user-id'] }),
    ...(values.email === undefined ? {} : { emailColumn: values.email }),
    ...(values['timestamp-column'] === undefined ? {} : { timestampColumn: values['timestamp-column'] }),
    mappings,
    allColumns: values['all-columns'],
    batchSize: Number(values.batch),
    dryRun,
    resume: values.resume,
    ...(api.url !== undefined && api.writeKey !== undefined
      ? { api: { url: api.url, writeKey: api.writeKey } }
      : {}),
  });
  console.log(describeSummary(summary));
  return 0;
}

const COMMANDS: ReadonlyMap<string, Command> = new Map([
  [
    'import',
    {
      summary: 'import contacts, accounts or subscriptions from a CSV or JSON Lines file',
      run: importCommand,
    },
  ],
  [
    'export',
    { summary: 'export everything held about a person as JSON', run: (args) => exportCommand(args) },
  ],
  [
    'erase',
    {
      summary: 'erase a person, keeping their address suppressed and an audit record',
      run: (args) => eraseCommand(args),
    },
  ],
  [
    'dlq',
    {
      summary: 'list dead-letter queues, show what is parked, replay it to the source queue',
      run: (args) => dlqCommand(args),
    },
  ],
]);

function help(): string {
  const lines = [...COMMANDS].map(([name, command]) => `  ${name.padEnd(10)} ${command.summary}`);
  return `Usage: npm run nurture -- <command> [options]\n\nCommands:\n${lines.join('\n')}\n\nRun a command with --help for its options.`;
}

async function main(argv: readonly string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '-h' || name === '--help') {
    console.log(help());
    return name === undefined ? 1 : 0;
  }
  const command = COMMANDS.get(name);
  if (command === undefined) {
    console.error(`Unknown command "${name}".\n\n${help()}`);
    return 1;
  }
  try {
    return await command.run(rest);
  } catch (error) {
    if (error instanceof ImportFailedError) {
      if (error.summary !== undefined && error.summary.rowsRead > 0)
        console.log(describeSummary(error.summary));
      console.error(`Import failed: ${error.message}`);
      return 1;
    }
    // Bad flags and mappings are the operator's to fix; anything else is a bug worth its stack trace.
    if (error instanceof ImportConfigError || (error instanceof TypeError && 'code' in error)) {
      console.error(error.message);
      return 1;
    }
    throw error;
  }
}

process.exitCode = await main(process.argv.slice(2));
