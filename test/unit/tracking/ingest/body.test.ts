// Decoding tracking request bodies as real clients and API Gateway deliver them, and as attackers might.
import { Buffer } from 'node:buffer';
import { brotliCompressSync, deflateSync, gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import {
  cleanJson,
  DEFAULT_BODY_LIMITS,
  decodeBase64Text,
  decodeBody,
  headerValue,
  MAX_BODY_BYTES,
} from '../../../../functions/tracking/ingest/body.ts';

/**
 * A RudderStack batch exactly as @rudderstack/rudder-sdk-node 3.0.13 sent it (captured from the wire): the
 * library gzips the JSON and axios labels the bytes `application/x-www-form-urlencoded`; API Gateway hands
 * binary bodies over base64-encoded.
 */
const RUDDERSTACK_GZIP_BASE64 =
  'H4sIAAAAAAAAA42QMWvDMBCF/8ubJWM5SrA9tWP30CGllLN1TQWWHKRriAn+70UeupUG3nBwH9877o6BZPxC/3bHd+b04tBvg7YNFCSRl4z+Dg7kJ/QgR098o3CZuBrngFVhnKPwTQr1ED/5IVFaChUpcIEiTYv4Mes4O4bClVP2c0SPXVVXZod1VZDlUmDvOIr/XKAwflGMXGoypysnKHwEFnIktOlnx6+/qqauSsoJc/JnH2k6+sBZKFy2dXPQxuimOZq2LzlU1tYnKATOmc68PWdwna2HetDtoeu0Hd1et51lzbYlY22937UdFDJHeZY/teaE9V1B/u03p8dkP8Xe+o7JAQAA';
const RUDDERSTACK_HEADERS = {
  accept: 'application/json, text/plain, */*',
  'content-type': 'application/x-www-form-urlencoded',
  'user-agent': 'analytics-node/3.0.13',
  'content-encoding': 'gzip',
  authorization: 'Basic cnVkZGVyX3dyaXRlX2tleV80NTY6',
};

const SEGMENT_TRACK = {
  batch: [
    {
      timestamp: '2024-05-01T10:00:00.000Z',
      integrations: {},
      event: 'Order Completed',
      type: 'track',
      properties: { revenue: 99.5, currency: 'EUR' },
      context: { library: { name: '@segment/analytics-node', version: '3.1.0' } },
      userId: 'user-42',
      messageId: 'node-next-1714557600000-4eac2a41-79d3-4c36-b052-af7a57c279ac',
      _metadata: { nodeVersion: 'v20.20.2', jsRuntime: 'node' },
    },
  ],
  writeKey: 'seg_write_key_123',
  sentAt: '2024-05-01T10:00:01.000Z',
};

/** A Segment batch whose JSON is about `bytes` long. */
function batchOfSize(bytes: number): string {
  const event = { type: 'track', event: 'Viewed', userId: 'u', properties: { padding: 'x'.repeat(1000) } };
  const count = Math.ceil(bytes / JSON.stringify(event).length);
  return JSON.stringify({
    batch: Array.from({ length: count }, (_, i) => ({ ...event, messageId: `m-${i}` })),
  });
}

function expectRejected(result: ReturnType<typeof decodeBody>, status: 400 | 413): string {
  expect(result.ok).toBe(false);
  if (result.ok) throw new Error('expected a rejection');
  expect(result.status).toBe(status);
  return result.error;
}

describe('decoding what real clients send', () => {
  it('parses a Segment batch sent as application/json', () => {
    const result = decodeBody({
      body: JSON.stringify(SEGMENT_TRACK),
      isBase64Encoded: false,
      headers: { 'content-type': 'application/json' },
    });

    expect(result).toEqual({ ok: true, value: SEGMENT_TRACK });
  });

  it('parses a body API Gateway delivered base64-encoded', () => {
    const body = Buffer.from(JSON.stringify(SEGMENT_TRACK)).toString('base64');

    const result = decodeBody({ body, isBase64Encoded: true, headers: {} });

    expect(result).toEqual({ ok: true, value: SEGMENT_TRACK });
  });

  it('gunzips a RudderStack batch labelled as a form, exactly as the library sends it', () => {
    const result = decodeBody({
      body: RUDDERSTACK_GZIP_BASE64,
      isBase64Encoded: true,
      headers: RUDDERSTACK_HEADERS,
    });

    expect(result.ok).toBe(true);
    expect(result.ok && result.value).toMatchObject({
      batch: [
        {
          type: 'identify',
          userId: 'user-42',
          channel: 'server',
          originalTimestamp: '2026-11-22T18:18:16.440Z',
          messageId: 'bd940b0b-8699-4cd5-894e-e48a14405389',
        },
      ],
      sentAt: '2026-11-22T18:18:16.441Z',
    });
  });

  it('recognises gzip by its magic bytes when no Content-Encoding says so', () => {
    const { 'content-encoding': _dropped, ...headers } = RUDDERSTACK_HEADERS;

    const result = decodeBody({ body: RUDDERSTACK_GZIP_BASE64, isBase64Encoded: true, headers });

    expect(result.ok).toBe(true);
  });

  it('reads the Content-Encoding header whatever its spelling', () => {
    const body = gzipSync(JSON.stringify(SEGMENT_TRACK)).toString('base64');

    const result = decodeBody({ body, isBase64Encoded: true, headers: { 'Content-Encoding': 'GZIP' } });

    expect(result).toEqual({ ok: true, value: SEGMENT_TRACK });
  });

  it('accepts a body labelled gzip that a proxy already inflated', () => {
    const result = decodeBody({
      body: JSON.stringify(SEGMENT_TRACK),
      isBase64Encoded: false,
      headers: { 'content-encoding': 'gzip' },
    });

    expect(result).toEqual({ ok: true, value: SEGMENT_TRACK });
  });

  it('parses JSON sent as text/plain, as analytics.js does to avoid a CORS preflight', () => {
    const event = { type: 'track', event: 'Signed Up', anonymousId: 'a-1', writeKey: 'wk' };

    const result = decodeBody({
      body: JSON.stringify(event),
      isBase64Encoded: false,
      headers: { 'content-type': 'text/plain' },
    });

    expect(result).toEqual({ ok: true, value: event });
  });

  it.each([
    ['deflate', (data: string) => deflateSync(data)],
    ['br', (data: string) => brotliCompressSync(data)],
  ])('decompresses Content-Encoding %s', (encoding, compress) => {
    const body = compress(JSON.stringify(SEGMENT_TRACK)).toString('base64');

    const result = decodeBody({ body, isBase64Encoded: true, headers: { 'content-encoding': encoding } });

    expect(result).toEqual({ ok: true, value: SEGMENT_TRACK });
  });

  it('skips a UTF-8 byte order mark', () => {
    const result = decodeBody({ body: '\uFEFF{"batch":[]}', isBase64Encoded: false, headers: {} });

    expect(result).toEqual({ ok: true, value: { batch: [] } });
  });
});

describe('form-encoded bodies carrying JSON', () => {
  const headers = { 'content-type': 'application/x-www-form-urlencoded' };

  it('accepts a JSON document that is the whole percent-encoded form', () => {
    const body = encodeURIComponent(JSON.stringify(SEGMENT_TRACK));

    const result = decodeBody({ body, isBase64Encoded: false, headers });

    expect(result).toEqual({ ok: true, value: SEGMENT_TRACK });
  });

  it('accepts JSON in a data field', () => {
    const body = new URLSearchParams({ data: JSON.stringify(SEGMENT_TRACK) }).toString();

    const result = decodeBody({ body, isBase64Encoded: false, headers });

    expect(result).toEqual({ ok: true, value: SEGMENT_TRACK });
  });

  it('refuses a form without JSON and says where the JSON should be', () => {
    const error = expectRejected(decodeBody({ body: 'a=1&b=2', isBase64Encoded: false, headers }), 400);

    expect(error).toMatch(/"data" field/);
  });
});

describe('refusing bodies that can never succeed', () => {
  it.each([
    ['no body', undefined],
    ['an empty body', ''],
    ['only spaces', '   \n '],
  ])('answers 400 to %s', (_what, body) => {
    const error = expectRejected(decodeBody({ body, isBase64Encoded: false, headers: {} }), 400);

    expect(error).toMatch(/empty/);
  });

  it('answers 400 to malformed JSON, naming the position without echoing the data', () => {
    const body = '{"batch":[{"userId":"ada@example.com",}]}';

    const error = expectRejected(decodeBody({ body, isBase64Encoded: false, headers: {} }), 400);

    expect(error).toMatch(/not valid JSON \(syntax error at character \d+\)/);
    expect(error).not.toContain('ada@example.com');
  });

  it('says when the JSON ends too early, as a truncated upload does', () => {
    const error = expectRejected(
      decodeBody({ body: '{"batch":[{"type":', isBase64Encoded: false, headers: {} }),
      400,
    );

    expect(error).toMatch(/not valid JSON/);
  });

  it('answers 400 to bytes that claim to be gzip but are not', () => {
    const body = Buffer.from([0x1f, 0x8b, 0x08, 0x00, 1, 2, 3, 4, 5]).toString('base64');

    const error = expectRejected(decodeBody({ body, isBase64Encoded: true, headers: {} }), 400);

    expect(error).toMatch(/not valid gzip/);
  });

  it('answers 400 to an encoding it cannot decode, naming the ones it can', () => {
    const error = expectRejected(
      decodeBody({ body: 'xyz', isBase64Encoded: false, headers: { 'content-encoding': 'zstd' } }),
      400,
    );

    expect(error).toMatch(/"zstd" is not supported: send gzip/);
  });

  it('answers 400 to JSON nested absurdly deep', () => {
    const body = `${'['.repeat(100_000)}${']'.repeat(100_000)}`;

    const error = expectRejected(decodeBody({ body, isBase64Encoded: false, headers: {} }), 400);

    expect(error).toMatch(/nested deeper than 512 levels/);
  });
});

describe('size limits', () => {
  it('accepts at least 1 MB: a 2 MB batch goes through', () => {
    const body = batchOfSize(2 * 1024 * 1024);

    const result = decodeBody({ body, isBase64Encoded: false, headers: {} });

    expect(body.length).toBeGreaterThan(2 * 1024 * 1024);
    expect(result.ok).toBe(true);
  });

  it('accepts a 2 MB batch that arrives gzipped and base64-encoded', () => {
    const body = gzipSync(batchOfSize(2 * 1024 * 1024)).toString('base64');

    const result = decodeBody({ body, isBase64Encoded: true, headers: { 'content-encoding': 'gzip' } });

    expect(result.ok).toBe(true);
  });

  it('answers 413 to a 5 MB body', () => {
    const body = batchOfSize(5 * 1024 * 1024);

    const error = expectRejected(decodeBody({ body, isBase64Encoded: false, headers: {} }), 413);

    expect(error).toMatch(/larger than 4194304 bytes/);
  });

  it('answers 413 to a gzip bomb: a few KB that would expand past the limit', () => {
    const bomb = gzipSync(Buffer.alloc(64 * 1024 * 1024, 0x20));

    const error = expectRejected(
      decodeBody({
        body: bomb.toString('base64'),
        isBase64Encoded: true,
        headers: { 'content-encoding': 'gzip' },
      }),
      413,
    );

    expect(bomb.length).toBeLessThan(100 * 1024);
    expect(error).toMatch(/after decompression/);
  });

  it('accepts a body of exactly the limit and refuses one byte more', () => {
    const limits = { ...DEFAULT_BODY_LIMITS, maxBytes: 20 };
    const exact = '{"a":"0123456789ab"}';

    expect(exact.length).toBe(20);
    expect(decodeBody({ body: exact, isBase64Encoded: false, headers: {} }, limits).ok).toBe(true);
    expectRejected(decodeBody({ body: `${exact} `, isBase64Encoded: false, headers: {} }, limits), 413);
  });

  it('defaults to 4 MiB', () => {
    expect(MAX_BODY_BYTES).toBe(4 * 1024 * 1024);
  });
});

describe('prototype-polluting keys', () => {
  it('drops __proto__, constructor and prototype at every depth and leaves Object.prototype untouched', () => {
    const body =
      '{"__proto__":{"polluted":"yes"},"batch":[{"type":"track","properties":{"constructor":{"prototype":' +
      '{"polluted":"yes"}},"__proto__":{"isAdmin":true},"plan":"pro"},"context":[{"__proto__":{"x":1},"ok":1}]}]}';

    const result = decodeBody({ body, isBase64Encoded: false, headers: {} });

    expect(result).toEqual({
      ok: true,
      value: { batch: [{ type: 'track', properties: { plan: 'pro' }, context: [{ ok: 1 }] }] },
    });
    expect(Object.prototype).not.toHaveProperty('polluted');
    expect(Object.prototype).not.toHaveProperty('isAdmin');
    expect({}).not.toHaveProperty('polluted');
    const value = result.ok ? result.value : null;
    expect(Object.getPrototypeOf(value)).toBe(Object.prototype);
    expect(JSON.stringify(value)).not.toContain('__proto__');
  });

  it('cleans values handed over directly, not only parsed text', () => {
    const hostile: unknown = JSON.parse('{"a":{"__proto__":{"polluted":1},"b":[1,{"constructor":2}]}}');

    expect(cleanJson(hostile)).toEqual({ ok: true, value: { a: { b: [1, {}] } } });
    expect(Object.prototype).not.toHaveProperty('polluted');
  });

  it('turns what JSON cannot hold into what JSON.stringify would', () => {
    expect(cleanJson({ a: Number.POSITIVE_INFINITY, b: undefined, c: [undefined, Number.NaN] })).toEqual({
      ok: true,
      value: { a: null, c: [null, null] },
    });
  });
});

describe('base64 as clients send it', () => {
  const text = 'Über uns ??? >>> ~~~';
  const standard = Buffer.from(text).toString('base64');

  it.each([
    ['standard and padded', standard],
    ['unpadded', standard.replace(/=+$/, '')],
    ['URL-safe', standard.replace(/\+/g, '-').replace(/\//g, '_')],
    ["with '+' turned into spaces by query decoding", standard.replace(/\+/g, ' ')],
    ['still percent-encoded', encodeURIComponent(standard)],
    ['wrapped in lines', `${standard.slice(0, 8)}\r\n${standard.slice(8)}`],
  ])('decodes %s', (_variant, encoded) => {
    expect(standard).toMatch(/[+/=]/);
    expect(decodeBase64Text(encoded)).toBe(text);
  });

  it.each([
    ['characters outside the alphabet', 'abc$def'],
    ['an impossible length', 'abcde'],
    ['padding in the middle', 'ab==cd'],
    ['bytes that are not UTF-8', Buffer.from([0xff, 0xfe, 0xfd]).toString('base64')],
    ['broken percent-encoding', 'abc%zz'],
    ['nothing', ''],
  ])('refuses %s without throwing', (_what, encoded) => {
    expect(decodeBase64Text(encoded)).toBeUndefined();
  });
});

describe('headers', () => {
  it('finds a header whatever the case of its name', () => {
    expect(headerValue({ 'Content-Type': 'text/plain' }, 'content-type')).toBe('text/plain');
    expect(headerValue({ 'content-type': undefined }, 'Content-Type')).toBeUndefined();
  });
});
