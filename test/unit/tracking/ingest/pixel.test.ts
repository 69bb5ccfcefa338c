// Reading Segment tracking pixels: base64 `data` in every variant, flat parameters, and garbage that must not throw.
import { Buffer } from 'node:buffer';
import { describe, expect, it } from 'vitest';
import { parsePixel, TRANSPARENT_GIF } from '../../../../functions/tracking/ingest/pixel.ts';

/** The example from Segment's pixel documentation: unpadded standard base64. */
const SEGMENT_DOCS_DATA =
  'eyJ3cml0ZUtleSI6ICJZT1VSX1dSSVRFX0tFWSIsICJ1c2VySWQiOiAiMDI1cGlrYWNodTAyNSIsICJldmVudCI6ICJFbWFpbCBPcGVuZWQiLCAicHJvcGVydGllcyI6IHsgICAic3ViamVjdCI6ICJUaGUgRWxlY3RyaWMgRGFpbHkiLCAgICJlbWFpbCI6ICJwZWVrQXRNZUBlbWFpbC5wb2tlIiB9fQ';

/** A payload whose base64 has '+', '/' and padding, so every variant differs. */
const OPENED = {
  writeKey: 'wk_pixel',
  userId: 'user_123',
  event: 'Email Opened',
  properties: { subject: 'Über uns ??? >>> ~~~' },
};
const STANDARD = Buffer.from(JSON.stringify(OPENED)).toString('base64');

describe('base64 data', () => {
  it("reads the example of Segment's documentation", () => {
    const result = parsePixel({ type: 'track', query: { data: SEGMENT_DOCS_DATA } });

    expect(result).toMatchObject({
      writeKey: 'YOUR_WRITE_KEY',
      event: {
        type: 'track',
        protocol: 'pixel',
        userId: '025pikachu025',
        event: 'Email Opened',
        properties: { subject: 'The Electric Daily', email: 'peekAtMe@email.poke' },
      },
    });
    expect(result.error).toBeUndefined();
  });

  it.each([
    ['standard and padded', STANDARD],
    ['unpadded', STANDARD.replace(/=+$/, '')],
    ['URL-safe', Buffer.from(JSON.stringify(OPENED)).toString('base64url')],
    ["with '+' decoded to spaces", STANDARD.replace(/\+/g, ' ')],
  ])('reads %s base64', (_variant, data) => {
    expect(STANDARD).toMatch(/\+/);
    expect(STANDARD).toMatch(/\//);
    expect(STANDARD).toMatch(/=$/);

    const result = parsePixel({ type: 'track', query: { data } });

    expect(result.event).toMatchObject({ event: 'Email Opened', properties: OPENED.properties });
    expect(result.writeKey).toBe('wk_pixel');
  });

  it('reads data sent as plain JSON, since Segment makes the encoding optional', () => {
    const result = parsePixel({ type: 'track', query: { data: JSON.stringify(OPENED) } });

    expect(result.event).toMatchObject({ event: 'Email Opened', userId: 'user_123' });
  });

  it('prefers the write key inside data to one in the query', () => {
    expect(parsePixel({ type: 'track', query: { data: STANDARD, writeKey: 'other' } }).writeKey).toBe(
      'wk_pixel',
    );
  });
});

describe('flat parameters', () => {
  it("reads Segment's unencoded example, dotted keys nesting into properties", () => {
    const result = parsePixel({
      type: 'track',
      query: {
        userId: 'user_123',
        event: 'Email Opened',
        'properties.subject': 'The Electric Daily',
        'properties.email': 'jane.kim@example.com',
        writeKey: 'wk_flat',
      },
    });

    expect(result).toMatchObject({
      writeKey: 'wk_flat',
      event: {
        type: 'track',
        userId: 'user_123',
        event: 'Email Opened',
        properties: { subject: 'The Electric Daily', email: 'jane.kim@example.com' },
        writeKey: 'wk_flat',
      },
    });
  });

  it('nests deeper dots and fills traits and context too', () => {
    const result = parsePixel({
      type: 'identify',
      query: {
        userId: 'u',
        'traits.address.city': 'Paris',
        'traits.plan': 'pro',
        'context.campaign.source': 'newsletter',
      },
    });

    expect(result.event).toMatchObject({
      type: 'identify',
      traits: { address: { city: 'Paris' }, plan: 'pro' },
      context: { campaign: { source: 'newsletter' } },
    });
  });

  it('keeps values as strings', () => {
    const result = parsePixel({ type: 't', query: { userId: 'u', event: 'E', 'properties.zip': '007' } });

    expect(result.event?.properties).toEqual({ zip: '007' });
  });

  it('keeps the first of two conflicting keys', () => {
    const result = parsePixel({
      type: 't',
      query: { userId: 'u', event: 'E', 'properties.plan': 'pro', 'properties.plan.tier': 'gold' },
    });

    expect(result.event?.properties).toEqual({ plan: 'pro' });
  });

  it('takes a whole object given as JSON, dotted keys adding to it', () => {
    const result = parsePixel({
      type: 't',
      query: { userId: 'u', event: 'E', properties: '{"revenue":9.99}', 'properties.currency': 'EUR' },
    });

    expect(result.event?.properties).toEqual({ revenue: 9.99, currency: 'EUR' });
  });

  it('ignores parameters it does not know', () => {
    const result = parsePixel({
      type: 't',
      query: { userId: 'u', event: 'E', utm_source: 'x', cachebuster: '123' },
    });

    expect(result.event?.properties).toEqual({});
    expect(result.event).not.toHaveProperty('utm_source');
  });

  it('ignores prototype-polluting segments and leaves Object.prototype untouched', () => {
    const query = JSON.parse(
      '{"userId":"u","event":"E","properties.__proto__.polluted":"yes","properties.a.constructor.prototype.polluted":"yes",' +
        '"__proto__":{"polluted":"yes"},"properties.ok":"1"}',
    );

    const result = parsePixel({ type: 't', query });

    expect(result.event?.properties).toEqual({ ok: '1' });
    expect(Object.prototype).not.toHaveProperty('polluted');
  });
});

describe('the pixel type', () => {
  it.each([
    ['page', 'page'],
    ['p', 'page'],
    ['track', 'track'],
    ['t', 'track'],
    ['identify', 'identify'],
    ['i', 'identify'],
    ['screen', 'screen'],
    ['group', 'group'],
    ['alias', 'alias'],
    ['track.gif', 'track'],
  ])('takes %s from the path as %s', (type, expected) => {
    const query = { userId: 'u', anonymousId: 'a', event: 'E', groupId: 'g', previousId: 'p' };

    expect(parsePixel({ type, query }).event?.type).toBe(expected);
  });

  it('reports an unknown type with the write key, so the caller can count it against the source', () => {
    expect(parsePixel({ type: 'batch', query: { writeKey: 'wk', userId: 'u' } })).toEqual({
      writeKey: 'wk',
      error: expect.stringMatching(/Unknown pixel type/),
    });
  });
});

describe('messageIds of pixels', () => {
  const query = { userId: 'u', event: 'Email Opened', writeKey: 'wk' };

  it('makes every load a distinct event when the caller passes the request id', () => {
    const first = parsePixel({ type: 't', query, requestId: 'req-1' });
    const second = parsePixel({ type: 't', query, requestId: 'req-2' });

    expect(first.event?.messageId).toBe('pixel-req-1');
    expect(second.event?.messageId).toBe('pixel-req-2');
  });

  it('keeps a messageId the pixel carries', () => {
    expect(
      parsePixel({ type: 't', query: { ...query, messageId: 'm-1' }, requestId: 'req-1' }).event?.messageId,
    ).toBe('m-1');
  });

  it('derives a stable id from the content without a request id', () => {
    const id = parsePixel({ type: 't', query }).event?.messageId;

    expect(id).toMatch(/^derived-/);
    expect(parsePixel({ type: 't', query }).event?.messageId).toBe(id);
  });
});

describe('pixels that cannot become events still answer', () => {
  it.each([
    ['broken base64', { data: 'eyJ$$$', writeKey: 'wk' }, /neither base64 nor JSON/],
    [
      'base64 of something that is not JSON',
      { data: Buffer.from('hello').toString('base64'), writeKey: 'wk' },
      /valid JSON/,
    ],
    [
      'data that is a JSON array',
      { data: Buffer.from('[1]').toString('base64'), writeKey: 'wk' },
      /JSON object/,
    ],
    ['no user or anonymous id', { event: 'E', writeKey: 'wk' }, /userId or anonymousId is required/],
    ['a track without event', { userId: 'u', writeKey: 'wk' }, /event is required/],
  ])('reports %s as an error, keeping the query write key', (_what, query, reason) => {
    const result = parsePixel({ type: 'track', query });

    expect(result.event).toBeUndefined();
    expect(result.error).toMatch(reason);
    expect(result.writeKey).toBe('wk');
  });

  it('never throws on random query strings', () => {
    let seed = 7;
    const next = (): number => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed / 2147483648;
    };
    const pieces = [
      'data',
      'writeKey',
      'userId',
      'event',
      'properties',
      'properties.a',
      'traits.b.c',
      '.',
      '%',
      '=',
      '{',
      '}',
      'ey',
      '__proto__',
      ' ',
    ];
    const word = (): string =>
      Array.from({ length: Math.floor(next() * 5) }, () => pieces[Math.floor(next() * pieces.length)]).join(
        '',
      );
    for (let run = 0; run < 2000; run++) {
      const query = Object.fromEntries(
        Array.from({ length: Math.floor(next() * 5) }, () => [word(), word()]),
      );
      const type = ['t', 'page', 'identify', 'x', ''][run % 5] ?? '';

      const result = parsePixel({ type, query });

      expect(result.event !== undefined || result.error !== undefined).toBe(true);
    }
    expect(Object.prototype).not.toHaveProperty('polluted');
  });
});

describe('the GIF', () => {
  it('is the 43-byte transparent 1x1 GIF', () => {
    const gif = Buffer.from(TRANSPARENT_GIF, 'base64');

    expect(gif.length).toBe(43);
    expect(gif.subarray(0, 6).toString('ascii')).toBe('GIF89a');
    expect(gif.readUInt16LE(6)).toBe(1);
    expect(gif.readUInt16LE(8)).toBe(1);
    expect(gif[gif.length - 1]).toBe(0x3b);
  });
});
