// Security of the running stack: admin credentials (missing, wrong, expired) on every admin route, per-source rate
// limits, and CORS limited to the configured origins.
import { randomUUID } from 'node:crypto';
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PutSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { Template } from 'aws-cdk-lib/assertions';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import * as z from 'zod';
import { buildNurtureApp } from '../../lib/app.ts';
import { LOCAL_CREDENTIALS, LOCAL_REGION } from '../../lib/local/emulators.ts';
import { admin, type LocalStackProcess, startLocalStackProcess } from './support/local-stack-process.ts';

const SHOP_ORIGIN = 'https://shop.example.com';
const OTHER_ORIGIN = 'https://attacker.example.net';

const templateSchema = z.object({
  Resources: z.record(
    z.string(),
    z.object({ Type: z.string(), Properties: z.record(z.string(), z.unknown()).optional() }),
  ),
});
const routeProperties = z.object({ RouteKey: z.string() });
const corsProperties = z.object({ CorsConfiguration: z.record(z.string(), z.unknown()) });

function templateFileOf(assemblyDirectory: string): string {
  const [file] = readdirSync(assemblyDirectory).filter((name) => name.endsWith('.template.json'));
  if (file === undefined) throw new Error(`no template in ${assemblyDirectory}`);
  return join(assemblyDirectory, file);
}

/**
 * The shared cloud assembly (dev, CORS for any origin) with the CORS configuration the app synthesizes for
 * `allowedOrigins=https://shop.example.com`: allowedOrigins changes nothing else in the template, so the suite's
 * bundles are reused instead of bundling every function again for this file.
 */
function assemblyAllowingOnlyTheShop(sharedAssembly: string): string {
  const { app, stack } = buildNurtureApp({
    context: { stage: 'dev', allowedOrigins: SHOP_ORIGIN, 'aws:cdk:bundling-stacks': [] },
  });
  app.synth();
  const [api] = Object.values(Template.fromStack(stack).findResources('AWS::ApiGatewayV2::Api'));
  const cors = corsProperties.parse(api?.Properties).CorsConfiguration;

  const directory = mkdtempSync(join(tmpdir(), 'nurture-e2e-security-'));
  cpSync(sharedAssembly, directory, { recursive: true });
  const file = templateFileOf(directory);
  const template = templateSchema.parse(JSON.parse(readFileSync(file, 'utf8')));
  const apis = Object.values(template.Resources).filter((r) => r.Type === 'AWS::ApiGatewayV2::Api');
  expect(apis).toHaveLength(1);
  for (const resource of apis) resource.Properties = { ...resource.Properties, CorsConfiguration: cors };
  writeFileSync(file, JSON.stringify(template));
  return directory;
}

/** Every admin route of the synthesized template, so a route added later is covered without editing this file. */
function adminRoutes(assemblyDirectory: string): Array<{ method: string; path: string; routeKey: string }> {
  const template = templateSchema.parse(JSON.parse(readFileSync(templateFileOf(assemblyDirectory), 'utf8')));
  return Object.values(template.Resources)
    .filter((r) => r.Type === 'AWS::ApiGatewayV2::Route')
    .map((r) => routeProperties.parse(r.Properties).RouteKey)
    .filter((routeKey) => routeKey.split(' ')[1]?.startsWith('/admin/'))
    .map((routeKey) => {
      const [method = '', template = ''] = routeKey.split(' ');
      return { method, path: template.replace(/\{[^}]+\}/g, 'e2e-security'), routeKey };
    });
}

let stack: LocalStackProcess;
let assemblyDirectory: string;
let routes: ReturnType<typeof adminRoutes>;

beforeAll(async () => {
  assemblyDirectory = assemblyAllowingOnlyTheShop(inject('assemblyDirectory'));
  routes = adminRoutes(assemblyDirectory);
  stack = await startLocalStackProcess({ env: { NURTURE_ASSEMBLY_DIR: assemblyDirectory } });
});

afterAll(async () => {
  await stack?.dispose();
  if (assemblyDirectory) rmSync(assemblyDirectory, { recursive: true, force: true });
});

/** Calls every admin route with `authorization` (or none) and returns the statuses by route. */
async function statusesOfEveryAdminRoute(authorization: string | undefined): Promise<Record<string, number>> {
  const statuses: Record<string, number> = {};
  for (const route of routes) {
    const response = await fetch(`${stack.local.apiUrl}${route.path}`, {
      method: route.method,
      headers: {
        'content-type': 'application/json',
        ...(authorization === undefined ? {} : { authorization }),
      },
      ...(['POST', 'PUT', 'PATCH'].includes(route.method) ? { body: '{}' } : {}),
    });
    await response.arrayBuffer();
    statuses[route.routeKey] = response.status;
  }
  return statuses;
}

const everyRouteAnswers = (status: number) => Object.fromEntries(routes.map((r) => [r.routeKey, status]));

async function clockNow(): Promise<Date> {
  const response = await fetch(`${stack.local.apiUrl}/_local/clock`);
  return new Date(z.object({ now: z.string() }).parse(await response.json()).now);
}

async function advanceClock(duration: string): Promise<void> {
  const response = await fetch(`${stack.local.apiUrl}/_local/clock`, {
    method: 'POST',
    body: JSON.stringify({ advance: duration }),
  });
  expect(response.status).toBe(200);
}

async function putAdminSecret(value: string): Promise<void> {
  const local = z
    .object({ endpoints: z.object({ secretsmanager: z.string().url() }) })
    .parse(JSON.parse(readFileSync(join(stack.dataDirectory, 'local.json'), 'utf8')));
  const template = templateSchema.parse(JSON.parse(readFileSync(templateFileOf(assemblyDirectory), 'utf8')));
  const secretIds = Object.entries(template.Resources)
    .filter(([id, r]) => r.Type === 'AWS::SecretsManager::Secret' && id.startsWith('AdminAuthAdminToken'))
    .map(([id]) => id);
  expect(secretIds).toHaveLength(1);
  const client = new SecretsManagerClient({
    region: LOCAL_REGION,
    credentials: LOCAL_CREDENTIALS,
    endpoint: local.endpoints.secretsmanager,
  });
  await client.send(new PutSecretValueCommand({ SecretId: secretIds[0], SecretString: value }));
  client.destroy();
}

describe('admin credentials on every admin route', () => {
  it('finds the admin routes in the synthesized template', () => {
    expect(routes.length).toBeGreaterThan(20);
    expect(routes.map((r) => r.routeKey)).toContain('GET /admin/status');
  });

  it('answers 401 to every admin route called without credentials', async () => {
    expect(await statusesOfEveryAdminRoute(undefined)).toEqual(everyRouteAnswers(401));
  });

  it('answers 403 to every admin route called with a wrong token', async () => {
    expect(await statusesOfEveryAdminRoute(`Bearer wrong_${randomUUID()}`)).toEqual(everyRouteAnswers(403));
  });

  it('answers the admin status to the valid token', async () => {
    const response = await admin(stack, '/admin/status');

    expect(response.status).toBe(200);
  });

  it('refuses an expired token on every admin route while the current one keeps working', async () => {
    const now = await clockNow();
    const expired = `admin_expired_${randomUUID()}`;
    await putAdminSecret(
      JSON.stringify({
        tokens: [
          { token: stack.local.adminToken },
          { token: expired, expiresAt: new Date(now.getTime() - 3_600_000).toISOString() },
        ],
      }),
    );
    // Past the authorizer's secret cache (5 min) and API Gateway's authorizer cache (60 s).
    await advanceClock('PT6M');

    expect(await statusesOfEveryAdminRoute(`Bearer ${expired}`)).toEqual(everyRouteAnswers(403));
    expect((await admin(stack, '/admin/status')).status).toBe(200);
  });

  it('stops accepting a token once it expires, within the authorizer cache time', async () => {
    const now = await clockNow();
    const expiring = `admin_expiring_${randomUUID()}`;
    await putAdminSecret(
      JSON.stringify({
        tokens: [
          { token: stack.local.adminToken },
          { token: expiring, expiresAt: new Date(now.getTime() + 7 * 60_000).toISOString() },
        ],
      }),
    );
    await advanceClock('PT6M');
    const call = () =>
      fetch(`${stack.local.apiUrl}/admin/status`, { headers: { authorization: `Bearer ${expiring}` } });
    expect((await call()).status).toBe(200);

    // One minute after expiry, plus the 60 s a cached "allowed" may live.
    await advanceClock('PT2M');

    expect((await call()).status).toBe(403);
  });
});

const sourceResponse = z.object({
  id: z.string(),
  writeKey: z.string(),
  rateLimit: z.object({ eventsPerSecond: z.number(), burst: z.number() }).nullable(),
});

async function createSource(body: Record<string, unknown>) {
  const response = await admin(stack, '/admin/sources', { method: 'POST', body: JSON.stringify(body) });
  expect(response.status).toBe(201);
  return sourceResponse.parse(await response.json());
}

function track(writeKey: string): Promise<Response> {
  return fetch(`${stack.local.apiUrl}/v1/track`, {
    method: 'POST',
    headers: {
      authorization: `Basic ${Buffer.from(`${writeKey}:`).toString('base64')}`,
      'content-type': 'application/json',
    },
    body: JSON.stringify({
      userId: `user-${randomUUID()}`,
      event: 'Viewed Pricing',
      messageId: randomUUID(),
    }),
  });
}

async function statusesOf(writeKey: string, requests: number): Promise<number[]> {
  const statuses: number[] = [];
  for (let i = 0; i < requests; i++) {
    const response = await track(writeKey);
    await response.arrayBuffer();
    statuses.push(response.status);
  }
  return statuses;
}

describe('per-source rate limits', () => {
  it('answers 429 with Retry-After to a source over its limit while another source goes on', async () => {
    const limited = await createSource({
      name: `Limited ${randomUUID()}`,
      rateLimit: { eventsPerSecond: 0.2, burst: 2 },
    });
    const unlimited = await createSource({ name: `Default ${randomUUID()}` });

    const limitedStatuses = await statusesOf(limited.writeKey, 2);
    const refused = await track(limited.writeKey);
    const otherStatuses = await statusesOf(unlimited.writeKey, 5);

    expect(limitedStatuses).toEqual([200, 200]);
    expect(refused.status).toBe(429);
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(otherStatuses).toEqual([200, 200, 200, 200, 200]);
  });

  it('still answers a pixel of a source over its limit with the GIF', async () => {
    const limited = await createSource({
      name: `Pixel ${randomUUID()}`,
      rateLimit: { eventsPerSecond: 0.2, burst: 1 },
    });
    await statusesOf(limited.writeKey, 1);
    const data = Buffer.from(
      JSON.stringify({ writeKey: limited.writeKey, userId: 'pixel-user', event: 'Email Opened' }),
    ).toString('base64');

    const response = await fetch(`${stack.local.apiUrl}/v1/pixel/track?data=${encodeURIComponent(data)}`);

    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('image/gif');
  });

  it('applies a limit set later through PATCH within a minute', async () => {
    const source = await createSource({ name: `Patched ${randomUUID()}` });
    expect(await statusesOf(source.writeKey, 3)).toEqual([200, 200, 200]);

    const patched = await admin(stack, `/admin/sources/${source.id}`, {
      method: 'PATCH',
      body: JSON.stringify({ rateLimit: { eventsPerSecond: 0.2, burst: 1 } }),
    });
    expect(patched.status).toBe(200);
    expect(sourceResponse.omit({ writeKey: true }).parse(await patched.json()).rateLimit).toEqual({
      eventsPerSecond: 0.2,
      burst: 1,
    });
    // Collect reads a source's limit once a minute per instance.
    await advanceClock('PT61S');

    expect(await statusesOf(source.writeKey, 2)).toEqual([200, 429]);
  });
});

describe('CORS limited to the configured origins', () => {
  function preflight(origin: string): Promise<Response> {
    return fetch(`${stack.local.apiUrl}/v1/track`, {
      method: 'OPTIONS',
      headers: {
        origin,
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'authorization,content-type',
      },
    });
  }

  it('lets the configured origin send tracking calls with credentials', async () => {
    const response = await preflight(SHOP_ORIGIN);

    expect(response.headers.get('access-control-allow-origin')).toBe(SHOP_ORIGIN);
    expect(response.headers.get('access-control-allow-credentials')).toBe('true');
  });

  it('gives another origin no CORS permission at all', async () => {
    const response = await preflight(OTHER_ORIGIN);

    expect(response.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('lets the configured origin read an answer of the API, and another origin not', async () => {
    const health = (origin: string) => fetch(`${stack.local.apiUrl}/health`, { headers: { origin } });

    const fromShop = await health(SHOP_ORIGIN);
    const fromOther = await health(OTHER_ORIGIN);

    expect(fromShop.headers.get('access-control-allow-origin')).toBe(SHOP_ORIGIN);
    expect(fromOther.headers.get('access-control-allow-origin')).toBeNull();
  });
});
