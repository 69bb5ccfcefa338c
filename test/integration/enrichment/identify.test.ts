// Enrichment on identify through the collect handler against DynamoDB Local: what the profile gets, and what it never keeps.
import { randomUUID } from 'node:crypto';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { loadIpCountryTable, lookupCountry } from '../../../functions/enrichment/ip-country.ts';
import { DynamoDbTrackingStore } from '../../../functions/tracking/dynamodb-store.ts';
import { defaultProfileId } from '../../../functions/tracking/profile.ts';
import { SourceStore } from '../../../functions/tracking/source-store.ts';
import { createProfileStoreTable, dynamodb, endpoints, uniqueName } from '../clients.ts';

const tableName = uniqueName('enrich-identify');
vi.stubEnv('PROFILE_TABLE', tableName);
vi.stubEnv('AWS_REGION', 'us-east-1');
vi.stubEnv('AWS_ACCESS_KEY_ID', 'local');
vi.stubEnv('AWS_SECRET_ACCESS_KEY', 'local');
vi.stubEnv('AWS_ENDPOINT_URL_DYNAMODB', endpoints.dynamodb);
vi.stubEnv('POWERTOOLS_LOG_LEVEL', 'SILENT');
const { handler } = await import('../../../functions/collect/handler.ts');

const store = new DynamoDbTrackingStore({ client: dynamodb, tableName, eventRetentionDays: 396 });
const writeKey = `wk_${randomUUID().replaceAll('-', '')}`;
let sourceId = '';
/** A public address and the country the shipped table gives it (the table's own correctness is unit-tested). */
const CLIENT_IP = '8.8.8.8';
const COUNTRY = lookupCountry(loadIpCountryTable().table, CLIENT_IP);

beforeAll(async () => {
  await createProfileStoreTable(tableName);
  sourceId = (await new SourceStore(dynamodb, tableName).create({ name: 'site', writeKey })).id;
});
afterAll(() => {
  vi.unstubAllEnvs();
});

async function post(
  path: string,
  body: unknown,
  sourceIp = CLIENT_IP,
): Promise<APIGatewayProxyStructuredResultV2> {
  const event: APIGatewayProxyEventV2 = {
    version: '2.0',
    routeKey: 'POST /v1/{type}',
    rawPath: path,
    rawQueryString: '',
    headers: {
      'content-type': 'application/json',
      authorization: `Basic ${Buffer.from(`${writeKey}:`).toString('base64')}`,
    },
    body: JSON.stringify(body),
    isBase64Encoded: false,
    requestContext: {
      accountId: '000000000000',
      apiId: 'local',
      domainName: '127.0.0.1',
      domainPrefix: '127',
      http: { method: 'POST', path, protocol: 'HTTP/1.1', sourceIp, userAgent: 'test' },
      requestId: randomUUID(),
      routeKey: 'POST /v1/{type}',
      stage: '$default',
      time: '01/Mar/2026:10:00:00 +0000',
      timeEpoch: Date.now(),
    },
  };
  const response = await handler(event);
  return response;
}

async function traitsOf(userId: string) {
  return (await store.getTraits(defaultProfileId({ kind: 'userId', value: userId }))).value;
}

describe('enrichment on identify', () => {
  it('gives an identify with a free-mail address and a public IP the email and geo namespaces with provenance', async () => {
    const userId = `u-${randomUUID()}`;

    const response = await post('/v1/identify', { userId, traits: { email: 'ana@web.de', plan: 'pro' } });

    expect(response.statusCode).toBe(200);
    expect(COUNTRY).toMatch(/^[A-Z]{2}$/);
    const { traits, setBy } = await traitsOf(userId);
    expect(traits).toMatchObject({
      email: 'ana@web.de',
      plan: 'pro',
      enrichment: {
        email: {
          domain: 'web.de',
          freeMail: true,
          disposable: false,
          role: false,
          provenance: { source: 'email-domain', version: expect.stringMatching(/^freemail-/) },
        },
        geo: {
          country: COUNTRY,
          provenance: { source: 'ip-country', version: expect.stringMatching(/^dbip-country-lite-/) },
        },
      },
    });
    expect(setBy.enrichment).toBeDefined();
  });

  it('enriches identify items of /v1/batch by the IP in their own context', async () => {
    const userId = `u-${randomUUID()}`;

    await post(
      '/v1/batch',
      {
        batch: [{ type: 'identify', userId, traits: { email: 'bo@web.de' }, context: { ip: CLIENT_IP } }],
      },
      '10.0.0.1',
    );

    expect((await traitsOf(userId)).traits).toMatchObject({
      enrichment: { email: { freeMail: true }, geo: { country: COUNTRY } },
    });
  });

  it('never stores the untruncated client IP, in the event, the profile or its traits', async () => {
    const userId = `u-${randomUUID()}`;
    const messageId = randomUUID();

    await post('/v1/identify', { userId, messageId, traits: { email: 'cy@web.de' } });

    const identity = { kind: 'userId', value: userId } as const;
    const stored = await store.getEvent(identity, sourceId, messageId);
    const profile = await store.getProfile(defaultProfileId(identity));
    const everything = JSON.stringify([stored, profile.value, await traitsOf(userId)]);
    expect(stored?.event.enrichment.ip).toBe('8.8.8.0');
    expect(everything).not.toContain(CLIENT_IP);
  });

  it('ignores a client-supplied traits.enrichment and says so, keeping the rest of the identify', async () => {
    const userId = `u-${randomUUID()}`;

    const response = await post(
      '/v1/identify',
      {
        userId,
        traits: {
          email: 'di@example.com',
          enrichment: { geo: { country: 'XX', provenance: { source: 'me' } } },
        },
      },
      '10.1.2.3',
    );

    expect(JSON.parse(response.body ?? '{}')).toMatchObject({
      success: true,
      accepted: 1,
      warnings: [{ index: 0, warning: expect.stringContaining('reserved') }],
    });
    const { traits } = await traitsOf(userId);
    expect(traits.email).toBe('di@example.com');
    expect(traits.enrichment).toMatchObject({ email: { domain: 'example.com', freeMail: false } });
    expect(traits.enrichment).not.toHaveProperty('geo');
  });

  it('replaces the country when a later identify comes from another country and keeps the email namespace', async () => {
    const userId = `u-${randomUUID()}`;
    const secondIp = '2a00:1450:4001:800::200e';
    const secondCountry = lookupCountry(loadIpCountryTable().table, secondIp);
    await post('/v1/identify', { userId, traits: { email: 'ed@web.de' } });

    await post('/v1/identify', { userId, traits: { plan: 'team' } }, secondIp);

    expect(secondCountry).toMatch(/^[A-Z]{2}$/);
    expect(secondCountry).not.toBe(COUNTRY);
    const { traits } = await traitsOf(userId);
    expect(traits.enrichment).toMatchObject({ email: { domain: 'web.de' }, geo: { country: secondCountry } });
  });
});
