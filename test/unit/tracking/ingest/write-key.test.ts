// Finding the write key wherever Segment, RudderStack, analytics.js and pixels put it.
import { Buffer } from 'node:buffer';
import { describe, expect, it } from 'vitest';
import { writeKeyFrom } from '../../../../functions/tracking/ingest/write-key.ts';

const basic = (credentials: string): string => `Basic ${Buffer.from(credentials).toString('base64')}`;

describe('the Basic auth user name', () => {
  it('is the write key @segment/analytics-node sends (captured header)', () => {
    expect(writeKeyFrom({ authorization: 'Basic c2VnX3dyaXRlX2tleV8xMjM6' })).toBe('seg_write_key_123');
  });

  it('is the write key @rudderstack/rudder-sdk-node sends (captured header)', () => {
    expect(writeKeyFrom({ authorization: 'Basic cnVkZGVyX3dyaXRlX2tleV80NTY6' })).toBe(
      'rudder_write_key_456',
    );
  });

  it('tolerates a missing colon', () => {
    expect(writeKeyFrom({ authorization: basic('wk_no_colon') })).toBe('wk_no_colon');
  });

  it('ignores a password', () => {
    expect(writeKeyFrom({ authorization: basic('wk:secret') })).toBe('wk');
  });

  it('accepts the scheme in any case and URL-safe or unpadded base64', () => {
    const encoded = Buffer.from('wk~~~?:').toString('base64url');

    expect(writeKeyFrom({ authorization: `basic ${encoded}` })).toBe('wk~~~?');
  });

  it('takes precedence over a writeKey in the body', () => {
    expect(writeKeyFrom({ authorization: basic('from-header:'), body: { writeKey: 'from-body' } })).toBe(
      'from-header',
    );
  });
});

describe('falling back when the header gives nothing', () => {
  it.each([
    ['broken base64', 'Basic !!!not-base64!!!'],
    ['bytes that are not text', `Basic ${Buffer.from([0xff, 0xfe, 0x00, 0x3a]).toString('base64')}`],
    ['an empty user name', basic(':password')],
    ['a control character', basic('wk\u0000:')],
    ['another scheme', 'Bearer abc.def.ghi'],
    ['a scheme without credentials', 'Basic'],
    ['an empty header', ''],
  ])('moves on to the body after %s, without throwing', (_what, authorization) => {
    expect(writeKeyFrom({ authorization, body: { writeKey: 'from-body' } })).toBe('from-body');
  });

  it('uses the event writeKey when the body has none (analytics.js batches)', () => {
    expect(writeKeyFrom({ body: { batch: [] }, event: { writeKey: 'from-event' } })).toBe('from-event');
  });

  it('uses the query writeKey last (pixels)', () => {
    expect(writeKeyFrom({ body: {}, event: {}, query: { writeKey: 'from-query' } })).toBe('from-query');
  });

  it.each([
    ['a number', { writeKey: 42 }],
    ['an object', { writeKey: { key: 'x' } }],
    ['an empty string', { writeKey: '  ' }],
    ['an absurdly long string', { writeKey: 'k'.repeat(1000) }],
    ['an array body', ['writeKey']],
    ['null', null],
  ])('ignores a body writeKey that is %s', (_what, body) => {
    expect(writeKeyFrom({ body, query: { writeKey: 'from-query' } })).toBe('from-query');
  });

  it('finds nothing when no place has a key', () => {
    expect(writeKeyFrom({})).toBeUndefined();
  });
});
