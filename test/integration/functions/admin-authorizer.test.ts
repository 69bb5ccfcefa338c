// The admin authorizer against a local Secrets Manager through the real SDK: which requests reach the admin API.
import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { APIGatewayRequestAuthorizerEventV2 } from 'aws-lambda';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { z } from 'zod';
import { LOCAL_ACCOUNT_ID, LOCAL_CREDENTIALS, LOCAL_REGION } from '../../../lib/local/emulators.ts';
import { LocalSecretsManager } from '../../../lib/local/secrets-manager.ts';
import { uniqueName } from '../clients.ts';

const adminToken = `token-${randomUUID()}`;
const secretArn = (name: string): string =>
  `arn:aws:secretsmanager:${LOCAL_REGION}:${LOCAL_ACCOUNT_ID}:secret:${name}-local`;
const checkedSecret = secretArn(uniqueName('AdminToken'));
/** A second secret that only the handler used for "must not read the secret" cases is bound to. */
const untouchedSecret = secretArn(uniqueName('UntouchedAdminToken'));

const secrets = new LocalSecretsManager();
secrets.define({ arn: checkedSecret, name: checkedSecret.split(':').at(-1) ?? '', value: adminToken });
secrets.define({ arn: untouchedSecret, name: untouchedSecret.split(':').at(-1) ?? '', value: adminToken });
const secretsUrl = await secrets.start(0);

/** Every SecretId the function asked Secrets Manager for, seen by a pass-through proxy in front of the emulator. */
const secretReads: string[] = [];
const secretRequest = z.object({ SecretId: z.string() });
const proxy: Server = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (chunk: Buffer) => chunks.push(chunk));
  req.on('end', () => {
    const body = Buffer.concat(chunks);
    try {
      const parsed = secretRequest.safeParse(JSON.parse(body.toString('utf8')));
      if (parsed.success) secretReads.push(parsed.data.SecretId);
    } catch {
      // not a JSON request: nothing to record, the emulator answers it
    }
    fetch(`${secretsUrl}${req.url ?? '/'}`, {
      method: req.method ?? 'POST',
      headers: {
        'content-type': req.headers['content-type'] ?? 'application/x-amz-json-1.1',
        'x-amz-target': String(req.headers['x-amz-target']),
      },
      body,
    })
      .then(async (upstream) => {
        res.writeHead(upstream.status, { 'content-type': upstream.headers.get('content-type') ?? '' });
        res.end(Buffer.from(await upstream.arrayBuffer()));
      })
      .catch(() => {
        res.writeHead(502);
        res.end();
      });
  });
});
await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
const proxyAddress = proxy.address();
if (proxyAddress === null || typeof proxyAddress === 'string') throw new Error('the proxy has no TCP port');
const { port } = proxyAddress;

vi.stubEnv('AWS_ENDPOINT_URL_SECRETS_MANAGER', `http://127.0.0.1:${port}`);
vi.stubEnv('AWS_REGION', LOCAL_REGION);
vi.stubEnv('AWS_ACCESS_KEY_ID', LOCAL_CREDENTIALS.accessKeyId);
vi.stubEnv('AWS_SECRET_ACCESS_KEY', LOCAL_CREDENTIALS.secretAccessKey);
vi.stubEnv('POWERTOOLS_LOG_LEVEL', 'SILENT');

/** The handler as a cold start sees it: its environment is read when the module loads. */
async function coldStart(secret: string) {
  vi.stubEnv('ADMIN_TOKEN_SECRET_ARN', secret);
  vi.resetModules();
  const { handler } = await import('../../../functions/admin-authorizer/handler.ts');
  return handler;
}

const authorize = await coldStart(checkedSecret);
const authorizeUntouched = await coldStart(untouchedSecret);

afterAll(async () => {
  vi.unstubAllEnvs();
  await new Promise<void>((resolve) => proxy.close(() => resolve()));
  proxy.closeAllConnections();
  await secrets.stop();
});

function adminRequest(headers: Record<string, string>): APIGatewayRequestAuthorizerEventV2 {
  return {
    version: '2.0',
    type: 'REQUEST',
    routeArn: `arn:aws:execute-api:${LOCAL_REGION}:${LOCAL_ACCOUNT_ID}:api/$default/GET/admin/status`,
    identitySource: headers.authorization ? [headers.authorization] : [],
    routeKey: 'GET /admin/status',
    rawPath: '/admin/status',
    rawQueryString: '',
    cookies: [],
    headers,
    requestContext: {
      accountId: LOCAL_ACCOUNT_ID,
      apiId: 'local',
      domainName: '127.0.0.1',
      domainPrefix: '127',
      http: {
        method: 'GET',
        path: '/admin/status',
        protocol: 'HTTP/1.1',
        sourceIp: '127.0.0.1',
        userAgent: 'test',
      },
      requestId: randomUUID(),
      routeKey: 'GET /admin/status',
      stage: '$default',
      time: '01/May/2024:12:00:00 +0000',
      timeEpoch: 1_714_564_800_000,
    },
  };
}

describe('admin authorizer', () => {
  it('authorizes a request carrying the token kept in Secrets Manager', async () => {
    const result = await authorize(adminRequest({ authorization: `Bearer ${adminToken}` }));

    expect(result).toEqual({ isAuthorized: true });
    expect(secretReads).toContain(checkedSecret);
  });

  it('accepts the header under its capitalised name too', async () => {
    const result = await authorize(adminRequest({ Authorization: `bearer ${adminToken}` }));

    expect(result).toEqual({ isAuthorized: true });
  });

  it('denies a request carrying another token', async () => {
    const result = await authorize(adminRequest({ authorization: `Bearer ${adminToken}x` }));

    expect(result).toEqual({ isAuthorized: false });
  });

  it('denies a request without an Authorization header without reading the secret', async () => {
    const result = await authorizeUntouched(adminRequest({}));

    expect(result).toEqual({ isAuthorized: false });
    expect(secretReads).not.toContain(untouchedSecret);
  });

  it('denies a request with another authorization scheme without reading the secret', async () => {
    const result = await authorizeUntouched(adminRequest({ authorization: `Basic ${adminToken}` }));

    expect(result).toEqual({ isAuthorized: false });
    expect(secretReads).not.toContain(untouchedSecret);
  });
});
