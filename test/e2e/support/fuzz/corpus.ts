// The fixed hostile corpus: one named request per known attack or malformation, over every public endpoint.
import { gzipSync } from 'node:zlib';
import {
  CRLF_EMAIL,
  CRLF_NAME,
  LIQUID_INJECTIONS,
  literal,
  object,
  POLLUTION_MARKER,
  PROTOTYPE_KEYS,
  type RawJson,
  rawText,
} from './hostile-json.ts';
import type { Expectation, HostileRequest } from './responses.ts';

export interface HostileCase {
  readonly name: string;
  readonly request: HostileRequest;
  readonly expect: Expectation;
  /** When only some answers are right: e.g. 413 for a body over the limit. */
  readonly statuses?: readonly number[];
}

export const SEGMENT_PATHS = [
  '/v1/batch',
  '/v1/b',
  '/v1/identify',
  '/v1/i',
  '/v1/track',
  '/v1/t',
  '/v1/page',
  '/v1/p',
  '/v1/screen',
  '/v1/s',
  '/v1/group',
  '/v1/g',
  '/v1/alias',
  '/v1/a',
] as const;

export function basicAuth(writeKey: string): string {
  return `Basic ${Buffer.from(`${writeKey}:`).toString('base64')}`;
}

const MAX_BODY_BYTES = 4 * 1024 * 1024;

/** `[[[[…]]]]` or `{"a":{"a":…}}` nested `depth` times. */
function nested(depth: number, shape: 'array' | 'object'): string {
  return shape === 'array'
    ? `${'['.repeat(depth)}${']'.repeat(depth)}`
    : `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`;
}

/** `{key: {key: …}}` with the polluting key at every level, down to the marker. */
function pollutedAtEveryLevel(key: string, depth: number): RawJson {
  let value: RawJson = object([[POLLUTION_MARKER, literal(true)]]);
  for (let level = 0; level < depth; level += 1) value = object([[key, value]]);
  return value;
}

function base64url(text: string): string {
  return Buffer.from(text).toString('base64url');
}

export function hostileCorpus(options: { writeKey: string; runId: string }): HostileCase[] {
  const { writeKey, runId } = options;
  const auth = { authorization: basicAuth(writeKey), 'content-type': 'application/json' };
  const post = (path: string, body: string | Uint8Array, headers: Record<string, string> = auth) => ({
    method: 'POST' as const,
    path,
    headers,
    body,
  });
  const event = (fields: Record<string, unknown>) =>
    JSON.stringify({ userId: `fuzz-${runId}`, event: 'Fuzzed', ...fields });
  const cases: HostileCase[] = [];
  const add = (name: string, request: HostileRequest, expect: Expectation = 'json', statuses?: number[]) =>
    cases.push({ name, request, expect, ...(statuses ? { statuses } : {}) });

  // Malformed JSON and wrong shapes, on every Segment endpoint.
  for (const path of SEGMENT_PATHS) {
    add(`${path}: malformed JSON`, post(path, '{"userId": "a", '), 'json', [400]);
    add(`${path}: a JSON string`, post(path, '"just a string"'), 'json', [400]);
    add(`${path}: a JSON array`, post(path, '[1,2,3]'), 'json', [400]);
    add(`${path}: null`, post(path, 'null'), 'json', [400]);
    add(`${path}: empty body`, post(path, ''), 'json', [400]);
    add(
      `${path}: no auth`,
      post(path, event({}), { 'content-type': 'application/json' }),
      'json',
      [400, 401],
    );
  }

  // Wrong types for every field.
  const wrongTypes: Record<string, unknown[]> = {
    userId: [{ id: 1 }, [1, 2], true, 'x'.repeat(300)],
    anonymousId: [{ $ne: null }, []],
    messageId: [{}, 1.5, false],
    timestamp: [12, 'yesterday', '2024-02-31T00:00:00Z', {}, -1e300, '9999999-01-01'],
    sentAt: ['not a date', [], 1e300],
    properties: [[1, 2], 'props', 7],
    traits: [['email', 'a@b.com'], 'traits', null],
    context: ['ctx', [{}], 42],
    event: [{ name: 'x' }, 17, ''],
    type: [['track'], 'TRACK', 'nonsense', 1],
    writeKey: [{ key: writeKey }, 123, ''],
  };
  for (const [field, values] of Object.entries(wrongTypes)) {
    for (const [index, value] of values.entries()) {
      add(
        `/v1/track: ${field} as ${JSON.stringify(value).slice(0, 30)} (#${index})`,
        post('/v1/track', event({ [field]: value })),
      );
    }
  }
  add(
    '/v1/batch: batch is an object',
    post('/v1/batch', JSON.stringify({ batch: { 0: {} } })),
    'json',
    [400],
  );
  add(
    '/v1/batch: batch of nulls',
    post('/v1/batch', JSON.stringify({ batch: [null, 1, 'x', []] })),
    'json',
    [400],
  );
  add(
    '/v1/batch: 10,000 tiny invalid events',
    post('/v1/batch', JSON.stringify({ batch: Array.from({ length: 10_000 }, () => ({})) })),
    'json',
    [400],
  );

  // Size limits: just over 4 MB, a gzip bomb, and an event over 32 KiB.
  const overLimit = event({ properties: { blob: 'x'.repeat(MAX_BODY_BYTES) } });
  add('/v1/batch: a body just over 4 MB', post('/v1/batch', overLimit), 'json', [413]);
  const bomb = gzipSync(Buffer.alloc(64 * 1024 * 1024, 0x20));
  add(
    '/v1/batch: a gzip bomb (64 MB of spaces)',
    post('/v1/batch', bomb, { ...auth, 'content-encoding': 'gzip' }),
    'json',
    [413],
  );
  add(
    '/v1/batch: a gzip bomb without Content-Encoding',
    post('/v1/batch', bomb, { ...auth, 'content-type': 'application/x-www-form-urlencoded' }),
    'json',
    [413],
  );
  add(
    '/v1/track: broken gzip',
    post('/v1/track', Buffer.from([0x1f, 0x8b, 0x08, 0x00, 1, 2, 3]), {
      ...auth,
      'content-encoding': 'gzip',
    }),
    'json',
    [400],
  );
  add(
    '/v1/track: unknown Content-Encoding',
    post('/v1/track', event({}), { ...auth, 'content-encoding': 'zstd' }),
    'json',
    [400],
  );
  add(
    '/v1/track: deflate that is not deflate',
    post('/v1/track', Buffer.from('not deflate at all'), { ...auth, 'content-encoding': 'deflate' }),
    'json',
    [400],
  );
  add(
    '/v1/track: an event over 32 KiB',
    post('/v1/track', event({ properties: { blob: 'y'.repeat(40_000) } })),
    'json',
    [400],
  );

  // Deep nesting.
  for (const shape of ['array', 'object'] as const) {
    add(
      `/v1/track: 10,000-deep ${shape} in properties`,
      post('/v1/track', `{"userId":"fuzz-${runId}","event":"Deep","properties":${nested(10_000, shape)}}`),
      'json',
      [400],
    );
    add(
      `/v1/batch: 10,000-deep ${shape} as the body`,
      post('/v1/batch', nested(10_000, shape)),
      'json',
      [400],
    );
    add(
      `/v1/batch: 200,000-deep ${shape} as the body`,
      post('/v1/batch', nested(200_000, shape)),
      'json',
      [400, 413],
    );
  }

  // Prototype keys at every level.
  for (const key of PROTOTYPE_KEYS) {
    const polluted = object([
      ['userId', literal(`fuzz-${runId}-${key}`)],
      ['event', literal('Polluting')],
      [key, pollutedAtEveryLevel(key, 1)],
      ['properties', pollutedAtEveryLevel(key, 5)],
      ['traits', pollutedAtEveryLevel(key, 5)],
      [
        'context',
        object([
          ['traits', pollutedAtEveryLevel(key, 3)],
          [key, literal('x')],
        ]),
      ],
    ]);
    add(`/v1/track: ${key} at every level`, post('/v1/track', rawText(polluted)));
    add(`/v1/identify: ${key} at every level`, post('/v1/identify', rawText(polluted)));
    add(
      `/v1/batch: ${key} on the batch envelope`,
      post(
        '/v1/batch',
        `{"${key}":{"${POLLUTION_MARKER}":true},"batch":[${rawText(polluted)}],"context":{"${key}":{"${POLLUTION_MARKER}":true}}}`,
      ),
    );
    add(
      `pixel: ${key} in flat parameters`,
      {
        method: 'GET',
        path: `/v1/pixel/track?writeKey=${writeKey}&userId=fuzz-${runId}&event=Px&properties.${key}.${POLLUTION_MARKER}=1&traits.${key}=1`,
      },
      'gif',
    );
    add(
      `pixel: ${key} in base64 data`,
      {
        method: 'GET',
        path: `/v1/pixel/track?data=${base64url(rawText(polluted).replace('{', `{"writeKey":"${writeKey}",`))}`,
      },
      'gif',
    );
    add(`/v1/track: ${key} as the endpoint`, post(`/v1/${key}`, event({})), 'json', [404]);
  }

  // Invalid UTF-8 and odd characters.
  const invalidUtf8 = Buffer.concat([
    Buffer.from(`{"userId":"fuzz-${runId}-utf8","event":"`),
    Buffer.from([0xc3, 0x28, 0xff, 0xfe, 0xed, 0xa0, 0x80, 0xf8, 0x88, 0x80, 0x80, 0x80]),
    Buffer.from('","traits":{"name":"'),
    Buffer.from([0xe2, 0x82]),
    Buffer.from('"}}'),
  ]);
  add('/v1/track: invalid UTF-8 bytes as JSON', post('/v1/track', invalidUtf8));
  add(
    '/v1/identify: invalid UTF-8 bytes as a binary body',
    post('/v1/identify', invalidUtf8, {
      authorization: basicAuth(writeKey),
      'content-type': 'application/octet-stream',
    }),
  );
  add(
    '/v1/track: a lone surrogate escape',
    post('/v1/track', `{"userId":"fuzz-${runId}","event":"\\ud800\\udc00\\udfff"}`),
  );
  add(
    '/v1/track: NUL bytes everywhere',
    post('/v1/track', event({ event: 'a\u0000b', properties: { '\u0000': '\u0000' } })),
  );
  add(
    '/v1/track: control characters and bidi overrides',
    post('/v1/track', event({ event: '\u0007\u001b[2J\u202e', traits: { name: '\u2028\u2029' } })),
  );
  add('/v1/track: a UTF-8 BOM', post('/v1/track', `\ufeff${event({})}`));
  add('/v1/track: UTF-16 body', post('/v1/track', Buffer.from(event({}), 'utf16le')));

  // Write keys.
  add(
    '/v1/track: unknown write key',
    post('/v1/track', event({}), { ...auth, authorization: basicAuth('wk_nope') }),
    'json',
    [401],
  );
  add(
    '/v1/track: broken base64 Basic auth',
    post('/v1/track', event({}), { ...auth, authorization: 'Basic %%%===' }),
    'json',
    [400, 401],
  );
  add(
    '/v1/track: Bearer instead of Basic',
    post('/v1/track', event({}), { ...auth, authorization: 'Bearer x' }),
    'json',
    [400, 401],
  );
  add(
    '/v1/track: a 10 KB write key',
    post('/v1/track', event({}), { ...auth, authorization: basicAuth('k'.repeat(10_000)) }),
    'json',
    [400, 401],
  );
  add(
    '/v1/track: write key with control characters',
    post('/v1/track', event({ writeKey: 'a\u0000b' }), { 'content-type': 'application/json' }),
    'json',
    [400, 401],
  );
  add(
    '/v1/track: write key that looks like a table key',
    post('/v1/track', event({ writeKey: 'SOURCE#x' }), { 'content-type': 'application/json' }),
    'json',
    [400, 401],
  );
  add(
    '/v1/track: another write key inside the event of a Basic-auth request',
    post('/v1/track', event({ writeKey: 'wk_other' })),
  );

  // Header injection and template injection through traits (stored; the email tests check what is sent).
  add(
    '/v1/identify: CRLF in email and name',
    post(
      '/v1/identify',
      JSON.stringify({ userId: `fuzz-${runId}-crlf`, traits: { email: CRLF_EMAIL, name: CRLF_NAME } }),
    ),
  );
  add(
    '/v1/identify: Liquid in every trait',
    post(
      '/v1/identify',
      JSON.stringify({
        userId: `fuzz-${runId}-liquid`,
        traits: Object.fromEntries(LIQUID_INJECTIONS.map((text, i) => [`t${i}`, text])),
      }),
    ),
  );

  // Forms and other content types.
  add(
    '/v1/track: form without JSON',
    post('/v1/track', 'a=1&b=2', { ...auth, 'content-type': 'application/x-www-form-urlencoded' }),
    'json',
    [400],
  );
  add(
    '/v1/track: form with broken base64 data',
    post('/v1/track', 'data=%%%', { ...auth, 'content-type': 'application/x-www-form-urlencoded' }),
    'json',
    [400],
  );
  add(
    '/v1/track: multipart nonsense',
    post('/v1/track', '--x\r\nContent-Disposition: form-data\r\n\r\n{}\r\n--x--', {
      ...auth,
      'content-type': 'multipart/form-data; boundary=x',
    }),
    'json',
    [400],
  );

  // The metrics sink.
  add('/v1/m: garbage', post('/v1/m', Buffer.from([0xff, 0x00, 0x7b])), 'json', [200]);

  // Pixels: always the GIF.
  const pixel = (name: string, query: string, type = 'track') =>
    add(`pixel: ${name}`, { method: 'GET', path: `/v1/pixel/${type}?${query}` }, 'gif');
  pixel('broken base64 data', `data=${encodeURIComponent('!!!not base64***')}`);
  pixel('base64 with a length of 4n+1', 'data=abcde');
  pixel('base64 of invalid UTF-8', `data=${Buffer.from([0xff, 0xfe, 0xfd]).toString('base64')}`);
  pixel('base64 of a JSON array', `data=${base64url('[1,2]')}`);
  // 2,000 levels: deeper than the parser's limit, yet a URL that fits the gateway's request-line limit.
  pixel('base64 of 2,000-deep JSON', `data=${base64url(nested(2_000, 'array'))}`);
  pixel('broken percent-encoding in data', 'data=%E0%A4%A');
  pixel('plain JSON data that is broken', `data=${encodeURIComponent('{"userId":')}`);
  pixel('unknown type', `writeKey=${writeKey}&userId=x`, 'nonsense');
  pixel('__proto__ as the type', `writeKey=${writeKey}&userId=x`, '__proto__');
  pixel('no parameters at all', '');
  pixel('unknown write key', 'writeKey=wk_nope&userId=x&event=y');
  pixel(
    'CRLF in parameters',
    `writeKey=${writeKey}&userId=fuzz-${runId}-px&event=${encodeURIComponent('a\r\nSet-Cookie: x=1')}`,
  );
  pixel('NUL in parameters', `writeKey=${writeKey}&userId=%00&event=%00`);
  pixel('a repeated parameter', `writeKey=${writeKey}&writeKey=other&userId=a&userId=b&event=e`);
  pixel('a very long query', `writeKey=${writeKey}&userId=fuzz&event=e&properties.x=${'z'.repeat(8_000)}`);
  pixel(
    'data with a non-string timestamp',
    `data=${base64url(JSON.stringify({ writeKey, userId: `fuzz-${runId}`, event: 'e', timestamp: { $gt: 1 } }))}`,
  );

  // Snowplow.
  add(
    'snowplow POST: malformed JSON',
    post('/com.snowplowanalytics.snowplow/tp2', '{"schema":'),
    'json',
    [400],
  );
  add(
    'snowplow POST: data not an array',
    post('/com.snowplowanalytics.snowplow/tp2', JSON.stringify({ schema: 'iglu:x', data: {} })),
    'json',
    [400],
  );
  add(
    'snowplow POST: hostile fields',
    post(
      '/com.snowplowanalytics.snowplow/tp2',
      JSON.stringify({
        schema: 'iglu:com.snowplowanalytics.snowplow/payload_data/jsonschema/1-0-4',
        data: [
          { e: 'pv', aid: writeKey, eid: { x: 1 }, uid: ['a'] },
          { e: 'ue', aid: writeKey, eid: `fuzz-${runId}-sp`, uid: `fuzz-${runId}`, ue_px: '%%%not-base64' },
          {
            e: 'ue',
            aid: writeKey,
            eid: `fuzz-${runId}-sp2`,
            uid: `fuzz-${runId}`,
            ue_px: base64url('{"schema":"iglu:a","data":{"__proto__":{"x":1}}}'),
          },
          {
            e: 'se',
            aid: writeKey,
            eid: `fuzz-${runId}-sp3`,
            uid: `fuzz-${runId}`,
            se_ca: 'a',
            se_ac: 'b',
            cx: base64url(nested(10_000, 'array')),
          },
          { e: '\u0000', aid: writeKey, eid: 'x', uid: 'y', dtm: 'yesterday' },
        ],
      }),
    ),
  );
  add('snowplow GET: nothing', { method: 'GET', path: '/i' }, 'gif');
  add(
    'snowplow GET: broken ue_px',
    { method: 'GET', path: `/i?e=ue&aid=${writeKey}&eid=fuzz-${runId}-g&uid=u&ue_px=%25%25` },
    'gif',
  );
  add('snowplow GET: unknown app id', { method: 'GET', path: '/i?e=pv&aid=nope&eid=x&uid=u' }, 'gif');

  // Snippet, health, dashboard: fixed documents whatever the request says.
  add(
    'snippet: hostile forwarded host',
    {
      method: 'GET',
      path: '/v1/snippet.js',
      headers: {
        'x-forwarded-host': '"</script><script>alert(1)</script>',
        'x-forwarded-proto': 'javascript',
      },
    },
    'script',
  );
  add('health: with a body and odd headers', {
    method: 'GET',
    path: '/health?__proto__[x]=1',
    headers: { 'x-forwarded-for': 'not-an-ip' },
  });
  add(
    'dashboard: hostile validators',
    {
      method: 'GET',
      path: '/dashboard',
      headers: { 'if-none-match': 'W/"x", *, ""', 'accept-encoding': 'gzip;q=abc, br;q=-1' },
    },
    'page',
  );

  // Email links and banner content: broken tokens.
  const badTokens = [
    'x',
    '%E0%A4%A',
    'a.b.c',
    '..%2F..%2Fetc%2Fpasswd',
    'A'.repeat(5_000),
    '__proto__',
    '%00',
  ];
  for (const token of badTokens) {
    add(`open pixel: token ${token.slice(0, 20)}`, { method: 'GET', path: `/e/o/${token}` }, 'gif');
    add(`click link: token ${token.slice(0, 20)}`, { method: 'GET', path: `/e/c/${token}` }, 'page');
    add(`unsubscribe page: token ${token.slice(0, 20)}`, { method: 'GET', path: `/e/u/${token}` }, 'page');
    add(
      `one-click unsubscribe: token ${token.slice(0, 20)}`,
      {
        method: 'POST',
        path: `/e/u/${token}`,
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: 'List-Unsubscribe=One-Click',
      },
      'page',
    );
    add(`banner click: token ${token.slice(0, 20)}`, { method: 'GET', path: `/e/b/${token}` }, 'page');
  }
  add(
    'one-click unsubscribe: an invalid UTF-8 body',
    {
      method: 'POST',
      path: '/e/u/x',
      headers: { 'content-type': 'application/octet-stream' },
      body: Buffer.from([0xff, 0xfe]),
    },
    'page',
  );
  const content = (name: string, query: string, placement = 'hero', statuses?: number[]) =>
    add(
      `banner content: ${name}`,
      { method: 'GET', path: `/v1/content/${placement}?${query}` },
      'json',
      statuses,
    );
  content('no write key', 'anonymousId=a', 'hero', [401]);
  content('unknown write key', 'writeKey=nope&anonymousId=a', 'hero', [401]);
  content('both ids', `writeKey=${writeKey}&anonymousId=a&userId=b`, 'hero', [400]);
  content('a 10 KB id', `writeKey=${writeKey}&userId=${'u'.repeat(10_000)}`, 'hero', [400]);
  content('a NUL id', `writeKey=${writeKey}&userId=%00`);
  content('a hostile placement', `writeKey=${writeKey}&anonymousId=a`, '..%2F..%2Fadmin', [400, 404]);
  content('__proto__ placement', `writeKey=${writeKey}&anonymousId=a`, '__proto__', [400, 204]);
  content(
    '__proto__ query',
    `writeKey=${writeKey}&__proto__[userId]=x&constructor[prototype][x]=1`,
    'hero',
    [400],
  );

  // Admin routes without credentials: just 401/403, whatever else the request carries.
  const adminRoutes: Array<[HostileRequest['method'], string]> = [
    ['GET', '/admin/profiles?userId=x'],
    ['GET', '/admin/status'],
    ['POST', '/admin/sources'],
    ['PUT', '/admin/templates/x'],
    ['POST', '/admin/privacy/erasure'],
    ['POST', '/admin/imports'],
    ['DELETE', '/admin/sources/x'],
    ['GET', '/admin/kpis'],
  ];
  const adminAuth = [
    '',
    'Bearer ',
    'Bearer x',
    `Bearer ${'A'.repeat(9_000)}`,
    basicAuth(writeKey),
    'Bearer {{secrets}}',
  ];
  for (const [method, path] of adminRoutes) {
    for (const authorization of adminAuth) {
      add(
        `${method} ${path}: authorization "${authorization.slice(0, 16)}"`,
        {
          method,
          path,
          headers: { 'content-type': 'application/json', ...(authorization === '' ? {} : { authorization }) },
          ...(method === 'GET' || method === 'DELETE'
            ? {}
            : { body: rawText(pollutedAtEveryLevel('__proto__', 3)) }),
        },
        'json',
        [401, 403],
      );
    }
  }
  return cases;
}
