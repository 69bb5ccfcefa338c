// Hostile input against every public endpoint of the local stack: every answer is a clear 4xx, a valid 2xx or the
// pixel GIF, nothing crashes or hangs, nothing polluting is stored, and traits cannot inject email headers or Liquid.
import { randomBytes, randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { basicAuth, hostileCorpus, SEGMENT_PATHS } from './support/fuzz/corpus.ts';
import {
  array,
  CRLF_EMAIL,
  CRLF_NAME,
  HOSTILE_STRINGS,
  hostileEvent,
  hostileValue,
  LIQUID_INJECTIONS,
  literal,
  mangledText,
  object,
  POLLUTION_MARKER,
  rawText,
} from './support/fuzz/hostile-json.ts';
import { type Answer, type Expectation, problemsWith, send } from './support/fuzz/responses.ts';
import { prototypeKeyPaths, scanProfileTable, stringsIn } from './support/fuzz/stored-items.ts';
import {
  admin,
  eventually,
  type LocalStackProcess,
  startLocalStackProcess,
} from './support/local-stack-process.ts';

let stack: LocalStackProcess;
const runId = randomUUID().slice(0, 8);
const known = { userId: `known-${runId}`, email: `known.${runId}@example.com` };
let knownBefore: unknown;

/** Bounds each property so the whole fuzz stays within a minute on a busy two-core machine. */
const PROPERTY_BUDGET_MS = 12_000;

const profileView = z
  .object({ id: z.string(), emails: z.array(z.string()), traits: z.record(z.string(), z.unknown()) })
  .loose();
const storedEmail = z.object({
  subject: z.string(),
  destination: z
    .object({
      to: z.array(z.string()),
      cc: z.array(z.string()).optional(),
      bcc: z.array(z.string()).optional(),
    })
    .loose(),
  body: z.object({ html: z.string().optional(), text: z.string().optional() }),
  headers: z.array(z.object({ name: z.string(), value: z.string() })).optional(),
});
const messageState = z.object({ status: z.string(), reason: z.string().nullable() }).loose();

async function expectAcceptable(answer: Answer, expectation: Expectation, label: string): Promise<void> {
  expect(problemsWith(answer, expectation), label).toEqual([]);
  expect(answer.body.toString('utf8'), `${label}: a polluted object leaked into the answer`).not.toContain(
    POLLUTION_MARKER,
  );
}

async function identify(userId: string, traits: Record<string, unknown>): Promise<void> {
  const answer = await send(stack.local.apiUrl, {
    method: 'POST',
    path: '/v1/identify',
    headers: { authorization: basicAuth(stack.local.writeKey), 'content-type': 'application/json' },
    body: JSON.stringify({ messageId: randomUUID(), userId, traits }),
  });
  expect(answer.status).toBe(200);
}

async function profileOf(userId: string): Promise<z.infer<typeof profileView>> {
  return eventually(async () => {
    const response = await admin(stack, `/admin/profiles?userId=${encodeURIComponent(userId)}`);
    return response.status === 200 ? profileView.parse(await response.json()) : undefined;
  });
}

async function mailbox(): Promise<Array<z.infer<typeof storedEmail>>> {
  const response = await fetch(`${stack.local.mailboxUrl}/store`);
  return z.object({ emails: z.array(storedEmail) }).parse(await response.json()).emails;
}

async function sendTemplate(profileId: string, templateId: string): Promise<z.infer<typeof messageState>> {
  const sent = await admin(stack, '/admin/messages', {
    method: 'POST',
    body: JSON.stringify({ profileId, templateId, idempotencyKey: randomUUID() }),
  });
  expect(sent.status).toBe(202);
  const { messageId } = z.object({ messageId: z.string() }).parse(await sent.json());
  return eventually(async () => {
    const state = messageState.parse(await (await admin(stack, `/admin/messages/${messageId}`)).json());
    return ['sent', 'delivered', 'skipped', 'failed'].includes(state.status) ? state : undefined;
  }, 30_000);
}

async function profileTableName(): Promise<string> {
  const response = await admin(stack, '/admin/status');
  return z.object({ profileTable: z.string() }).parse(await response.json()).profileTable;
}

beforeAll(async () => {
  stack = await startLocalStackProcess({ args: ['--fresh'] });
  await identify(known.userId, { email: known.email, firstName: 'Kim', plan: 'gold' });
  knownBefore = await profileOf(known.userId);
  const saved = await admin(stack, '/admin/templates/fuzz-traits', {
    method: 'PUT',
    body: JSON.stringify({
      subject: 'Hello {{ traits.name }}',
      preheader: '{{ traits.name }}',
      html: '<html><body><p>Hi {{ traits.name }}</p><p>{{ traits.bio }}</p></body></html>',
      text: 'Hi {{ traits.name }}\n{{ traits.bio }}',
      topic: 'transactional',
    }),
  });
  expect(saved.status).toBe(201);
}, 240_000);

afterAll(async () => {
  await stack?.dispose();
});

describe('hostile input to the public endpoints', () => {
  it('answers every request of the hostile corpus with a clear 4xx, a valid 2xx or the pixel GIF', async () => {
    const cases = hostileCorpus({ writeKey: stack.local.writeKey, runId });
    const failures: string[] = [];
    for (const hostile of cases) {
      const answer = await send(stack.local.apiUrl, hostile.request);
      const problems = problemsWith(answer, hostile.expect);
      if (hostile.statuses && !hostile.statuses.includes(answer.status))
        problems.push(
          `status ${answer.status}, expected one of ${hostile.statuses.join(', ')}: ${answer.body.toString('utf8').slice(0, 160)}`,
        );
      if (answer.body.toString('utf8').includes(POLLUTION_MARKER))
        problems.push('the answer carries a polluted field');
      for (const problem of problems) failures.push(`${hostile.name}: ${problem}`);
    }

    expect(failures).toEqual([]);
  }, 120_000);

  it('answers generated hostile Segment bodies without a server error, whatever the body, encoding or key', async () => {
    const body = fc
      .record({
        path: fc.constantFrom(...SEGMENT_PATHS),
        events: fc.array(hostileEvent, { minLength: 1, maxLength: 3 }),
        envelope: fc.array(
          fc.tuple(fc.constantFrom('writeKey', 'sentAt', 'context', '__proto__', 'batch'), hostileValue),
          { maxLength: 2 },
        ),
      })
      .chain(({ path, events, envelope }) => {
        const isBatch = path === '/v1/batch' || path === '/v1/b';
        const first = events[0] ?? object([]);
        const json = isBatch ? object([['batch', array(events)], ...envelope]) : first;
        return mangledText(rawText(json)).map((text) => ({ path, text }));
      });
    const request = fc.record({
      body,
      contentType: fc.constantFrom(
        'application/json',
        'text/plain',
        'application/x-www-form-urlencoded',
        'application/octet-stream',
        '',
      ),
      key: fc.constantFrom('valid', 'unknown', 'none'),
    });

    await fc.assert(
      fc.asyncProperty(request, async ({ body: { path, text }, contentType, key }) => {
        const headers: Record<string, string> = contentType === '' ? {} : { 'content-type': contentType };
        if (key !== 'none')
          headers.authorization = basicAuth(key === 'valid' ? stack.local.writeKey : 'wk_unknown');
        const answer = await send(stack.local.apiUrl, { method: 'POST', path, headers, body: text });
        await expectAcceptable(answer, 'json', `${path} ${text.slice(0, 200)}`);
      }),
      { numRuns: 150, interruptAfterTimeLimit: PROPERTY_BUDGET_MS },
    );
  }, 120_000);

  it('answers every generated pixel and Snowplow GET with the GIF', async () => {
    const parameter = fc.tuple(
      fc.constantFrom(
        'writeKey',
        'userId',
        'anonymousId',
        'event',
        'messageId',
        'timestamp',
        'data',
        'properties.a',
        'traits.__proto__.x',
        'context.ip',
        'e',
        'aid',
        'eid',
        'uid',
        'ue_px',
        'cx',
        'dtm',
      ),
      fc.oneof(
        fc.constantFrom(...HOSTILE_STRINGS.filter((text) => text.length < 2_000)),
        fc.string({ unit: 'binary', maxLength: 30 }),
      ),
    );
    const request = fc.record({
      path: fc.constantFrom(
        '/v1/pixel/track',
        '/v1/pixel/identify',
        '/v1/pixel/page.gif',
        '/v1/pixel/%00',
        '/i',
      ),
      parameters: fc.array(parameter, { maxLength: 6 }),
      withKey: fc.boolean(),
    });

    await fc.assert(
      fc.asyncProperty(request, async ({ path, parameters, withKey }) => {
        const query = new URLSearchParams(parameters);
        if (withKey) query.append(path === '/i' ? 'aid' : 'writeKey', stack.local.writeKey);
        const answer = await send(stack.local.apiUrl, { method: 'GET', path: `${path}?${query}` });
        await expectAcceptable(answer, 'gif', `${path}?${query}`);
      }),
      { numRuns: 80, interruptAfterTimeLimit: PROPERTY_BUDGET_MS },
    );
  }, 60_000);

  it('answers generated hostile Snowplow POSTs and banner requests with a clear 4xx or a valid 2xx', async () => {
    const snowplow = fc
      .array(
        fc.array(
          fc.tuple(
            fc.constantFrom(
              'e',
              'aid',
              'eid',
              'uid',
              'duid',
              'dtm',
              'ue_px',
              'ue_pr',
              'cx',
              'co',
              'se_ca',
              'se_ac',
              'url',
              '__proto__',
            ),
            hostileValue,
          ),
          { maxLength: 6 },
        ),
        { minLength: 1, maxLength: 3 },
      )
      .map((events) =>
        rawText(
          object([
            ['schema', literal('iglu:com.snowplowanalytics.snowplow/payload_data/jsonschema/1-0-4')],
            ['data', array(events.map((fields) => object([['aid', literal('__writeKey__')], ...fields])))],
          ]),
        ),
      );
    const banner = fc.record({
      placement: fc.constantFrom('hero', '__proto__', '%00', 'a'.repeat(300), '..', 'x%2Fy'),
      parameters: fc.array(
        fc.tuple(
          fc.constantFrom('anonymousId', 'userId', 'writeKey', '__proto__'),
          fc.constantFrom(...HOSTILE_STRINGS.filter((text) => text.length < 2_000)),
        ),
        { maxLength: 3 },
      ),
    });

    await fc.assert(
      fc.asyncProperty(snowplow, async (text) => {
        const body = text.replaceAll('__writeKey__', stack.local.writeKey);
        const answer = await send(stack.local.apiUrl, {
          method: 'POST',
          path: '/com.snowplowanalytics.snowplow/tp2',
          headers: { 'content-type': 'application/json' },
          body,
        });
        await expectAcceptable(answer, 'json', body.slice(0, 200));
      }),
      { numRuns: 40, interruptAfterTimeLimit: PROPERTY_BUDGET_MS / 2 },
    );
    await fc.assert(
      fc.asyncProperty(banner, async ({ placement, parameters }) => {
        const query = new URLSearchParams([['writeKey', stack.local.writeKey], ...parameters]);
        const answer = await send(stack.local.apiUrl, {
          method: 'GET',
          path: `/v1/content/${placement}?${query}`,
        });
        await expectAcceptable(answer, 'json', `/v1/content/${placement}?${query}`);
      }),
      { numRuns: 40, interruptAfterTimeLimit: PROPERTY_BUDGET_MS / 2 },
    );
  }, 60_000);
});

describe('after the hostile input', () => {
  it('still stores a normal event and answers without any injected field', async () => {
    const answer = await send(stack.local.apiUrl, {
      method: 'POST',
      path: '/v1/track',
      headers: { authorization: basicAuth(stack.local.writeKey), 'content-type': 'application/json' },
      body: JSON.stringify({ messageId: randomUUID(), userId: `after-${runId}`, event: 'Signed Up' }),
    });
    const health = await send(stack.local.apiUrl, { method: 'GET', path: '/health' });

    expect(answer.status).toBe(200);
    expect(JSON.parse(answer.body.toString('utf8'))).toEqual({
      success: true,
      accepted: 1,
      duplicates: 0,
      rejected: 0,
      errors: [],
    });
    expect(Object.keys(JSON.parse(health.body.toString('utf8'))).sort()).toEqual([
      'service',
      'stage',
      'status',
      'version',
    ]);
    expect((await profileOf(`after-${runId}`)).traits).toEqual({});
  });

  it('left the known profile exactly as it was', async () => {
    expect(await profileOf(known.userId)).toEqual(knownBefore);
  });

  it('stored no prototype-polluting key, no polluted marker and no address with a line break anywhere in the table', async () => {
    const items = await scanProfileTable({
      endpoint: stack.local.endpoints.dynamodb,
      tableName: await profileTableName(),
    });
    const polluted = items.flatMap((item) =>
      prototypeKeyPaths(item.data).map((path) => `${item.pk} ${item.sk}: ${path}`),
    );
    const markers = items
      .filter((item) => JSON.stringify(item.data).includes(POLLUTION_MARKER))
      .map((item) => `${item.pk} ${item.sk}`);
    const brokenAddresses = items.flatMap((item) =>
      stringsIn(item.data)
        .filter(({ path, text }) => /(^|\.)emails\.\d+$/.test(path) && /[\r\n\0]/.test(text))
        .map(({ path }) => `${item.pk} ${item.sk}: ${path}`),
    );

    expect(items.length).toBeGreaterThan(10);
    expect(polluted).toEqual([]);
    expect(markers).toEqual([]);
    expect(brokenAddresses).toEqual([]);
  });
});

describe('a profile flooded with large traits', () => {
  it('keeps accepting identify calls after the traits reached their size limit', async () => {
    const userId = `flood-${runId}`;
    const statuses: number[] = [];
    for (let call = 0; call < 20; call += 1) {
      const answer = await send(stack.local.apiUrl, {
        method: 'POST',
        path: '/v1/identify',
        headers: { authorization: basicAuth(stack.local.writeKey), 'content-type': 'application/json' },
        body: JSON.stringify({
          messageId: randomUUID(),
          userId,
          traits: { [`blob${call}`]: randomBytes(22_000).toString('base64') },
        }),
      });
      statuses.push(answer.status);
    }
    await identify(userId, { plan: 'pro' });

    expect(statuses.every((status) => status === 200)).toBe(true);
    expect((await profileOf(userId)).traits.plan).toBe('pro');
  });
});

describe('traits that end up in email', () => {
  it('keeps an address with a line break off the profile, so nothing is sent to it', async () => {
    const userId = `crlf-email-${runId}`;
    await identify(userId, { email: CRLF_EMAIL, name: 'Eve' });
    const profile = await profileOf(userId);

    const outcome = await sendTemplate(profile.id, 'fuzz-traits');

    expect(profile.emails).toEqual([]);
    expect(outcome.status).toBe('skipped');
    expect((await mailbox()).filter((email) => JSON.stringify(email).includes('evil.example'))).toEqual([]);
  });

  it('sends a name with line breaks as one subject line, without any injected header or recipient', async () => {
    const userId = `crlf-name-${runId}`;
    const email = `crlf.${runId}@example.com`;
    await identify(userId, { email, name: CRLF_NAME, bio: 'plain' });
    const profile = await profileOf(userId);

    const outcome = await sendTemplate(profile.id, 'fuzz-traits');
    const [mail, ...more] = await eventually(async () => {
      const mails = (await mailbox()).filter((stored) => stored.destination.to.includes(email));
      return mails.length > 0 ? mails : undefined;
    });

    expect(outcome.status).toMatch(/^(sent|delivered)$/);
    expect(more).toEqual([]);
    expect(mail?.subject).not.toMatch(/[\r\n]/);
    expect(mail?.subject).toContain('Bcc: x@evil.example');
    expect(mail?.destination.to).toEqual([email]);
    expect(mail?.destination.bcc ?? []).toEqual([]);
    expect(mail?.destination.cc ?? []).toEqual([]);
    for (const header of mail?.headers ?? []) {
      expect(header.name).not.toMatch(/^(bcc|cc|to|x-injected)$/i);
      expect(header.value).not.toMatch(/[\r\n]/);
    }
  });

  it('renders Liquid sent as a trait as text, never as template code', async () => {
    const userId = `liquid-${runId}`;
    const email = `liquid.${runId}@example.com`;
    const bio = LIQUID_INJECTIONS.join(' | ');
    await identify(userId, { email, name: "{{ 'x' | append: 'pwned' }}", bio });
    const profile = await profileOf(userId);

    const outcome = await sendTemplate(profile.id, 'fuzz-traits');
    const mail = await eventually(async () =>
      (await mailbox()).find((stored) => stored.destination.to.includes(email)),
    );

    expect(outcome.status).toMatch(/^(sent|delivered)$/);
    expect(mail.subject).toBe("Hello {{ 'x' | append: 'pwned' }}");
    expect(mail.body.text).toContain(bio);
    expect(mail.body.html).toContain('{% include &#39;secrets&#39; %}');
    expect(`${mail.subject}${mail.body.text}${mail.body.html}`).not.toMatch(/xpwned|root:x:0/);
  });
});
