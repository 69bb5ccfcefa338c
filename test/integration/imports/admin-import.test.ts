// POST /admin/imports against DynamoDB Local: counts per row, row errors, idempotency, limits and enrichment.
import { randomUUID } from 'node:crypto';
import type { APIGatewayProxyEventV2, Context } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { z } from 'zod';
import { MAX_ADMIN_IMPORT_ROWS } from '../../../functions/imports/admin-import.ts';
import { DynamoDbTrackingStore } from '../../../functions/tracking/dynamodb-store.ts';
import { defaultProfileId } from '../../../functions/tracking/profile.ts';
import { createProfileStoreTable, dynamodb, endpoints, uniqueName } from '../clients.ts';

const tableName = uniqueName('admin-import');
vi.stubEnv('PROFILE_TABLE', tableName);
vi.stubEnv('AWS_REGION', 'us-east-1');
vi.stubEnv('AWS_ACCESS_KEY_ID', 'local');
vi.stubEnv('AWS_SECRET_ACCESS_KEY', 'local');
vi.stubEnv('AWS_ENDPOINT_URL_DYNAMODB', endpoints.dynamodb);
vi.stubEnv('POWERTOOLS_LOG_LEVEL', 'SILENT');
const { handler } = await import('../../../functions/admin-imports/handler.ts');

const store = new DynamoDbTrackingStore({ client: dynamodb, tableName, eventRetentionDays: 396 });

beforeAll(async () => {
  await createProfileStoreTable(tableName);
});
afterAll(() => {
  vi.unstubAllEnvs();
});

const context: Context = {
  callbackWaitsForEmptyEventLoop: false,
  functionName: 'admin-imports',
  functionVersion: '$LATEST',
  invokedFunctionArn: 'arn:aws:lambda:us-east-1:000000000000:function:admin-imports',
  memoryLimitInMB: '1024',
  awsRequestId: randomUUID(),
  logGroupName: '/aws/lambda/admin-imports',
  logStreamName: 'local',
  getRemainingTimeInMillis: () => 30_000,
  done: () => {},
  fail: () => {},
  succeed: () => {},
};

const report = z.object({
  kind: z.string(),
  format: z.string(),
  rows: z.number(),
  created: z.number(),
  updated: z.number(),
  unchanged: z.number(),
  failed: z.number(),
  notStarted: z.number(),
  complete: z.boolean(),
  errors: z.array(z.object({ row: z.number(), line: z.number(), field: z.string(), message: z.string() })),
  errorsTruncated: z.boolean(),
});

async function importFile(
  body: string,
  { contentType = 'text/csv', query = '', base64 = false, timeLeftMs = 30_000 } = {},
): Promise<{ status: number; body: unknown }> {
  const event: APIGatewayProxyEventV2 = {
    version: '2.0',
    routeKey: 'POST /admin/imports',
    rawPath: '/admin/imports',
    rawQueryString: query,
    headers: { 'content-type': contentType },
    body: base64 ? Buffer.from(body).toString('base64') : body,
    isBase64Encoded: base64,
    requestContext: {
      accountId: '000000000000',
      apiId: 'local',
      domainName: '127.0.0.1',
      domainPrefix: '127',
      http: {
        method: 'POST',
        path: '/admin/imports',
        protocol: 'HTTP/1.1',
        sourceIp: '8.8.8.8',
        userAgent: 'test',
      },
      requestId: randomUUID(),
      routeKey: 'POST /admin/imports',
      stage: '$default',
      time: '01/Mar/2026:10:00:00 +0000',
      timeEpoch: Date.now(),
    },
  };
  const response = await handler(event, { ...context, getRemainingTimeInMillis: () => timeLeftMs });
  return { status: response.statusCode ?? 0, body: response.body ? JSON.parse(response.body) : undefined };
}

async function traitsOfUser(userId: string) {
  return (await store.getTraits(defaultProfileId({ kind: 'userId', value: userId }))).value.traits;
}

const CONTACTS_QUERY = 'user-id=id&email=email&map=plan%3Dplan&map=seats%3Dseats%3Ainteger';

describe('POST /admin/imports', () => {
  it('creates new contacts, updates known ones and lists bad rows with their row, field and reason', async () => {
    const [known, fresh, bad] = [`c-${randomUUID()}`, `c-${randomUUID()}`, `c-${randomUUID()}`];
    await importFile(`id,email,plan,seats\n${known},known@example.com,free,1\n`, { query: CONTACTS_QUERY });

    const { status, body } = await importFile(
      `id,email,plan,seats\n${known},known@example.com,pro,5\n${fresh},fresh@example.com,team,2\n${bad},bad@example.com,pro,many\n`,
      { query: CONTACTS_QUERY },
    );

    expect(status).toBe(200);
    expect(report.parse(body)).toEqual({
      kind: 'contacts',
      format: 'csv',
      rows: 3,
      created: 1,
      updated: 1,
      unchanged: 0,
      failed: 1,
      notStarted: 0,
      complete: true,
      errors: [{ row: 3, line: 4, field: 'seats', message: '"many" is not an integer' }],
      errorsTruncated: false,
    });
    expect(await traitsOfUser(known)).toMatchObject({ plan: 'pro', seats: 5 });
    expect(await traitsOfUser(fresh)).toMatchObject({ email: 'fresh@example.com', plan: 'team', seats: 2 });
  });

  it('leaves every row unchanged when the same file is imported again', async () => {
    const file = `id,email,plan,seats\nc-${randomUUID()},a@example.com,pro,1\nc-${randomUUID()},b@example.com,team,3\n`;
    const first = report.parse((await importFile(file, { query: CONTACTS_QUERY })).body);

    const second = report.parse((await importFile(file, { query: CONTACTS_QUERY })).body);

    expect(first).toMatchObject({ created: 2, unchanged: 0 });
    expect(second).toMatchObject({ rows: 2, created: 0, updated: 0, unchanged: 2, failed: 0 });
  });

  it('enriches an imported contact by its email domain, and never by the importing machine’s IP', async () => {
    const userId = `c-${randomUUID()}`;

    await importFile(`id,email\n${userId},ana@web.de\n`, { query: 'user-id=id&email=email' });

    const traits = await traitsOfUser(userId);
    expect(traits.enrichment).toMatchObject({
      email: { domain: 'web.de', freeMail: true, provenance: { source: 'email-domain' } },
    });
    expect(traits.enrichment).not.toHaveProperty('geo');
  });

  it('imports JSON Lines sent base64-encoded, mapping dot paths like the CLI', async () => {
    const userId = `c-${randomUUID()}`;
    const lines = `${JSON.stringify({ id: userId, contact: { email: 'jl@example.com' }, plan: 'pro' })}\nnot json\n`;

    const { status, body } = await importFile(lines, {
      contentType: 'application/x-ndjson',
      query: 'user-id=id&email=contact.email&map=plan%3Dplan',
      base64: true,
    });

    expect(status).toBe(200);
    expect(report.parse(body)).toMatchObject({ format: 'jsonl', rows: 2, created: 1, failed: 1 });
    expect(report.parse(body).errors).toEqual([expect.objectContaining({ row: 2, line: 2, field: '' })]);
    expect(await traitsOfUser(userId)).toMatchObject({ email: 'jl@example.com', plan: 'pro' });
  });

  it('starts no row once time runs short, says how many did not start, and imports them when the file is sent again', async () => {
    const file = `id,email\nc-${randomUUID()},late1@example.com\nc-${randomUUID()},late2@example.com\n`;
    const cut = report.parse(
      (await importFile(file, { query: 'user-id=id&email=email', timeLeftMs: 2000 })).body,
    );

    const again = report.parse((await importFile(file, { query: 'user-id=id&email=email' })).body);

    expect(cut).toMatchObject({ rows: 2, created: 0, notStarted: 2, complete: false });
    expect(again).toMatchObject({ rows: 2, created: 2, notStarted: 0, complete: true });
  });

  it('refuses settings the file cannot satisfy with a 400 naming the problem, before writing anything', async () => {
    const { status, body } = await importFile('id,email\nx,x@example.com\n', { query: 'user-id=customer' });

    expect(status).toBe(400);
    expect(body).toEqual({ error: expect.stringContaining('no column "customer"') });
  });

  it('refuses a file with too many rows with a 413 that points to the CLI', async () => {
    const rows = Array.from({ length: MAX_ADMIN_IMPORT_ROWS + 1 }, (_, i) => `r${i}`).join('\n');

    const { status, body } = await importFile(`id\n${rows}\n`, { query: 'user-id=id' });

    expect(status).toBe(413);
    expect(body).toEqual({ error: expect.stringContaining('CLI') });
  });

  it('refuses a body that is not CSV or JSON Lines with a 415', async () => {
    const { status } = await importFile('{}', { contentType: 'application/json', query: 'user-id=id' });

    expect(status).toBe(415);
  });
});
