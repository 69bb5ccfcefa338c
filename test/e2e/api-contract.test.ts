// Every documented route answers as docs/openapi.json says, against the running local stack.
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  admin,
  eventually,
  type LocalStackProcess,
  startLocalStackProcess,
} from './support/local-stack-process.ts';

const document = z
  .object({ components: z.object({ schemas: z.record(z.string(), z.record(z.string(), z.unknown())) }) })
  .parse(JSON.parse(readFileSync(new URL('../../docs/openapi.json', import.meta.url), 'utf8')));
const ajv = new Ajv2020({ strict: false, allErrors: true });

/** Asserts a response's status and that its JSON body matches the named component schema. */
async function conforms(response: Response, status: number, schemaName: string): Promise<unknown> {
  const body: unknown = await response.json();
  const schema = document.components.schemas[schemaName];
  if (!schema) throw new Error(`no component ${schemaName}`);
  const validate = ajv.getSchema(`urn:nurture:schema:${schemaName}`) ?? ajv.compile(schema);
  expect(response.status, JSON.stringify(body)).toBe(status);
  expect(validate(body), `${schemaName}: ${JSON.stringify(validate.errors)} in ${JSON.stringify(body)}`).toBe(
    true,
  );
  return body;
}

let stack: LocalStackProcess;
const userId = `contract-${randomUUID()}`;
const anonymousId = randomUUID();

beforeAll(async () => {
  stack = await startLocalStackProcess({ args: ['--fresh'] });
});
afterAll(async () => {
  await stack?.dispose();
});

function basic(writeKey: string): string {
  return `Basic ${Buffer.from(`${writeKey}:`).toString('base64')}`;
}

describe('API contract', () => {
  it('GET /health and GET /admin/status', async () => {
    await conforms(await fetch(`${stack.local.apiUrl}/health`), 200, 'Health');
    await conforms(await admin(stack, '/admin/status'), 200, 'AdminStatus');
    await conforms(await fetch(`${stack.local.apiUrl}/admin/status`), 401, 'GatewayError');
  });

  it('POST /v1/batch accepts, rejects per event, and refuses unknown keys', async () => {
    const url = `${stack.local.apiUrl}/v1/batch`;
    const batch = {
      batch: [
        { type: 'page', messageId: randomUUID(), anonymousId, properties: { path: '/pricing' } },
        {
          type: 'identify',
          messageId: randomUUID(),
          anonymousId,
          userId,
          traits: { email: `${userId}@example.com` },
        },
        { type: 'track', messageId: randomUUID(), userId },
      ],
    };

    const partial = await fetch(url, {
      method: 'POST',
      headers: { authorization: basic(stack.local.writeKey) },
      body: JSON.stringify(batch),
    });
    const body = await conforms(partial, 200, 'TrackResponse');
    await conforms(
      await fetch(url, {
        method: 'POST',
        headers: { authorization: basic('wk_unknown_key_123456') },
        body: JSON.stringify(batch),
      }),
      401,
      'TrackResponse',
    );
    await conforms(
      await fetch(url, {
        method: 'POST',
        headers: { authorization: basic(stack.local.writeKey) },
        body: '{not json',
      }),
      400,
      'TrackResponse',
    );

    expect(body).toMatchObject({ accepted: 2, rejected: 1 });
  });

  it('the tracking pixel and the snippet answer with their media types', async () => {
    const data = Buffer.from(
      JSON.stringify({ writeKey: stack.local.writeKey, anonymousId, event: 'Opened' }),
    ).toString('base64');
    const pixel = await fetch(`${stack.local.apiUrl}/v1/pixel/track?data=${encodeURIComponent(data)}`);
    const snippet = await fetch(`${stack.local.apiUrl}/v1/snippet.js`);

    expect(pixel.status).toBe(200);
    expect(pixel.headers.get('content-type')).toBe('image/gif');
    expect(snippet.headers.get('content-type')).toContain('javascript');
  });

  it('sources: create, import, list, get, rotate, revoke', async () => {
    const created = z
      .object({ id: z.string() })
      .parse(
        await conforms(
          await admin(stack, '/admin/sources', { method: 'POST', body: '{"name":"Shop"}' }),
          201,
          'SourceWithKey',
        ),
      );
    const imported = JSON.stringify({ name: 'From Segment', writeKey: `imported-${randomUUID()}` });
    await conforms(
      await admin(stack, '/admin/sources', { method: 'POST', body: imported }),
      201,
      'SourceWithKey',
    );
    await conforms(await admin(stack, '/admin/sources', { method: 'POST', body: imported }), 409, 'Error');
    await conforms(
      await admin(stack, '/admin/sources', { method: 'POST', body: '{"name":""}' }),
      400,
      'Error',
    );
    await conforms(await admin(stack, '/admin/sources'), 200, 'SourceList');
    await conforms(await admin(stack, `/admin/sources/${created.id}`), 200, 'Source');
    await conforms(
      await admin(stack, `/admin/sources/${created.id}/rotate`, { method: 'POST', body: '{"graceHours":1}' }),
      200,
      'SourceWithKey',
    );
    await conforms(await admin(stack, `/admin/sources/${created.id}`, { method: 'DELETE' }), 200, 'Source');
    await conforms(await admin(stack, '/admin/sources/src_missing'), 404, 'Error');
  });

  it('profiles: lookup by identifier, by id, and events', async () => {
    const profile = z.object({ id: z.string() }).parse(
      await eventually(async () => {
        const response = await admin(stack, `/admin/profiles?userId=${encodeURIComponent(userId)}`);
        return response.status === 200 ? conforms(response, 200, 'Profile') : undefined;
      }),
    );
    await conforms(await admin(stack, `/admin/profiles?anonymousId=${anonymousId}`), 200, 'Profile');
    await conforms(
      await admin(stack, `/admin/profiles?email=${encodeURIComponent(`${userId}@example.com`)}`),
      200,
      'Profile',
    );
    await conforms(await admin(stack, `/admin/profiles/${profile.id}`), 200, 'Profile');
    await conforms(await admin(stack, `/admin/profiles/${profile.id}/events?limit=10`), 200, 'ProfileEvents');
    await conforms(await admin(stack, '/admin/profiles?userId=nobody-at-all'), 404, 'Error');
    await conforms(await admin(stack, '/admin/profiles?userId=a&email=b@c.de'), 400, 'Error');
    await conforms(await admin(stack, `/admin/profiles/${profile.id}/events?limit=0`), 400, 'Error');
  });
});
