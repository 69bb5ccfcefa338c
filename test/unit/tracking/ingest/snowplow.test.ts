// Parsing Snowplow tracker protocol requests (@snowplow/node-tracker POST batches and GET pixels) into normalized events.
import { Buffer } from 'node:buffer';
import { describe, expect, it } from 'vitest';
import type { EventVerdict, ParsedRequest } from '../../../../functions/tracking/ingest/segment.ts';
import { parseSnowplowGet, parseSnowplowPost } from '../../../../functions/tracking/ingest/snowplow.ts';
import type { NormalizedEvent } from '../../../../functions/tracking/model.ts';

const PAYLOAD_DATA = 'iglu:com.snowplowanalytics.snowplow/payload_data/jsonschema/1-0-4';

/** Fields @snowplow/node-tracker 4.8.0 adds to every event (captured) for appId shop-web and the setters it offers. */
const TRACKER = {
  p: 'srv',
  tv: 'node-4.8.0',
  tna: 'ns',
  aid: 'shop-web',
  uid: 'user-42',
  lang: 'en-GB',
  tz: 'Europe/Berlin',
  ua: 'Mozilla/5.0 (X11; Linux x86_64)',
  ip: '203.0.113.7',
  duid: 'duid-abc',
  nuid: 'nuid-def',
  sid: 'sess-1',
  stm: '1795371497564',
};
/** contexts envelope with one entity, base64url without padding, as the tracker encodes it (captured). */
const CX =
  'eyJzY2hlbWEiOiJpZ2x1OmNvbS5zbm93cGxvd2FuYWx5dGljcy5zbm93cGxvdy9jb250ZXh0cy9qc29uc2NoZW1hLzEtMC0wIiwiZGF0YSI6W3sic2NoZW1hIjoiaWdsdTpjb20uYWNtZS91c2VyL2pzb25zY2hlbWEvMS0wLTAiLCJkYXRhIjp7InRpZXIiOiJnb2xkIn19XX0';
const CO =
  '{"schema":"iglu:com.snowplowanalytics.snowplow/contexts/jsonschema/1-0-0","data":[{"schema":"iglu:com.acme/user/jsonschema/1-0-0","data":{"tier":"gold"}}]}';
/** self-describing `iglu:com.acme/checkout/jsonschema/1-0-0` event { step: 2, cart: 49.9 } (captured). */
const UE_PX =
  'eyJzY2hlbWEiOiJpZ2x1OmNvbS5zbm93cGxvd2FuYWx5dGljcy5zbm93cGxvdy91bnN0cnVjdF9ldmVudC9qc29uc2NoZW1hLzEtMC0wIiwiZGF0YSI6eyJzY2hlbWEiOiJpZ2x1OmNvbS5hY21lL2NoZWNrb3V0L2pzb25zY2hlbWEvMS0wLTAiLCJkYXRhIjp7InN0ZXAiOjIsImNhcnQiOjQ5Ljl9fX0';
const UE_PR =
  '{"schema":"iglu:com.snowplowanalytics.snowplow/unstruct_event/jsonschema/1-0-0","data":{"schema":"iglu:com.acme/checkout/jsonschema/1-0-0","data":{"step":2,"cart":49.9}}}';

const PAGE_VIEW = {
  e: 'pv',
  url: 'https://shop.example.com/p?utm_source=news&utm_campaign=spring',
  page: 'Product',
  refr: 'https://google.com/',
  eid: 'd82fbf91-f64c-4db5-8d4a-58c2871fd017',
  dtm: '1795371497561',
  cx: CX,
  ...TRACKER,
};
const PAGE_PING = {
  e: 'pp',
  url: 'https://shop.example.com/p',
  page: 'Product',
  pp_mix: '1',
  pp_max: '10',
  pp_miy: '2',
  pp_may: '300',
  eid: 'fb0d88b5-211a-451f-a1f1-ea030d2e9e2e',
  dtm: '1795371497562',
  ...TRACKER,
};
const STRUCTURED = {
  e: 'se',
  se_ca: 'video',
  se_ac: 'play',
  se_la: 'intro',
  se_pr: 'hd',
  se_va: '12.5',
  eid: '4a7ff2e5-bb7e-47dd-bbcd-a161e31d396b',
  dtm: '1795371497562',
  ...TRACKER,
};
const SELF_DESCRIBING = {
  e: 'ue',
  eid: '1eb3678c-bb52-4182-8a4d-fa8f5592f84f',
  dtm: '1795371497562',
  ue_px: UE_PX,
  cx: CX,
  ...TRACKER,
};
const TRANSACTION = {
  e: 'tr',
  tr_id: 'o-1',
  tr_af: 'web',
  tr_tt: '49.9',
  tr_tx: '8',
  tr_sh: '4.9',
  tr_ci: 'Berlin',
  tr_st: 'BE',
  tr_co: 'DE',
  tr_cu: 'EUR',
  eid: '0c9523a7-b2d5-4fcc-bd45-1e2aa7f63e2d',
  dtm: '1795371497562',
  ...TRACKER,
};
const TRANSACTION_ITEM = {
  e: 'ti',
  ti_id: 'o-1',
  ti_sk: 'sku-1',
  ti_nm: 'Mug',
  ti_ca: 'Kitchen',
  ti_pr: '24.95',
  ti_qu: '2',
  ti_cu: 'EUR',
  eid: '6b024d4e-adf0-4b22-b4ee-4eb7b4b23cde',
  dtm: '1795371497562',
  ...TRACKER,
};

const BATCH = {
  schema: PAYLOAD_DATA,
  data: [PAGE_VIEW, PAGE_PING, STRUCTURED, SELF_DESCRIBING, TRANSACTION, TRANSACTION_ITEM],
};

/** The GET /i request the tracker made for the self-describing event (captured). */
const GET_URL =
  '/i?stm=1795371497579&e=ue&eid=0c07062f-5075-43e5-b77f-e5629d7900a1&p=srv&tv=node-4.8.0&tna=ns&aid=shop-web' +
  '&uid=user-42&lang=en-GB&tz=Europe%2FBerlin&ua=Mozilla%2F5.0%20(X11%3B%20Linux%20x86_64)&ip=203.0.113.7' +
  `&dtm=1795371497575&duid=duid-abc&nuid=nuid-def&sid=sess-1&ue_px=${UE_PX}&cx=${CX}`;

const SNOWPLOW_CONTEXT = {
  appId: 'shop-web',
  platform: 'srv',
  namespace: 'ns',
  trackerVersion: 'node-4.8.0',
  domainUserId: 'duid-abc',
  networkUserId: 'nuid-def',
  sessionId: 'sess-1',
};

function events(result: ParsedRequest): EventVerdict[] {
  if ('error' in result) throw new Error(`unexpected request error: ${result.error}`);
  return result.events;
}

function accepted(verdict: EventVerdict | undefined): NormalizedEvent {
  if (verdict === undefined || !verdict.ok)
    throw new Error(`expected an accepted event, got ${JSON.stringify(verdict)}`);
  return verdict.event;
}

function rejection(verdict: EventVerdict | undefined): string {
  if (verdict === undefined || verdict.ok)
    throw new Error(`expected a rejected event, got ${JSON.stringify(verdict)}`);
  return verdict.error;
}

/** One event in a payload_data envelope. */
function post(event: Record<string, unknown>): EventVerdict | undefined {
  return events(parseSnowplowPost({ schema: PAYLOAD_DATA, data: [event] }))[0];
}

describe('a @snowplow/node-tracker POST batch (base64 encoding on, the default)', () => {
  const result = parseSnowplowPost(BATCH);
  const verdicts = events(result);

  it('accepts all six event kinds and uses the app id as the write key', () => {
    expect(verdicts.map((verdict) => verdict.ok)).toEqual([true, true, true, true, true, true]);
    expect(result).toMatchObject({ batchWriteKey: 'shop-web', batchSentAt: '2026-11-22T18:18:17.564Z' });
  });

  it('turns a page view into a page named after its title, with page context', () => {
    expect(accepted(verdicts[0])).toEqual({
      type: 'page',
      protocol: 'snowplow',
      messageId: 'd82fbf91-f64c-4db5-8d4a-58c2871fd017',
      userId: 'user-42',
      anonymousId: 'duid-abc',
      name: 'Product',
      traits: {},
      properties: {
        url: 'https://shop.example.com/p?utm_source=news&utm_campaign=spring',
        referrer: 'https://google.com/',
        title: 'Product',
      },
      context: {
        page: {
          url: 'https://shop.example.com/p?utm_source=news&utm_campaign=spring',
          referrer: 'https://google.com/',
          title: 'Product',
        },
        userAgent: 'Mozilla/5.0 (X11; Linux x86_64)',
        ip: '203.0.113.7',
        locale: 'en-GB',
        timezone: 'Europe/Berlin',
        snowplow: {
          ...SNOWPLOW_CONTEXT,
          entities: [{ schema: 'iglu:com.acme/user/jsonschema/1-0-0', data: { tier: 'gold' } }],
        },
      },
      clientTimestamp: '2026-11-22T18:18:17.561Z',
      sentAt: '2026-11-22T18:18:17.564Z',
      writeKey: 'shop-web',
    });
  });

  it('turns a page ping into a Page Ping track with numeric offsets', () => {
    expect(accepted(verdicts[1])).toMatchObject({
      type: 'track',
      event: 'Page Ping',
      properties: {
        url: 'https://shop.example.com/p',
        title: 'Product',
        minXOffset: 1,
        maxXOffset: 10,
        minYOffset: 2,
        maxYOffset: 300,
      },
    });
  });

  it('turns a structured event into a "category:action" track', () => {
    expect(accepted(verdicts[2])).toMatchObject({
      type: 'track',
      event: 'video:play',
      properties: { category: 'video', action: 'play', label: 'intro', property: 'hd', value: 12.5 },
    });
  });

  it('turns a self-describing event into a track named after its schema, its data the properties', () => {
    const event = accepted(verdicts[3]);

    expect(event).toMatchObject({ type: 'track', event: 'checkout', properties: { step: 2, cart: 49.9 } });
    expect(event.context.snowplow).toMatchObject({ eventSchema: 'iglu:com.acme/checkout/jsonschema/1-0-0' });
  });

  it('turns a transaction into Order Completed, its total also the revenue', () => {
    expect(accepted(verdicts[4])).toMatchObject({
      type: 'track',
      event: 'Order Completed',
      properties: {
        order_id: 'o-1',
        affiliation: 'web',
        total: 49.9,
        revenue: 49.9,
        tax: 8,
        shipping: 4.9,
        city: 'Berlin',
        state: 'BE',
        country: 'DE',
        currency: 'EUR',
      },
    });
  });

  it('turns a transaction item into Order Item', () => {
    expect(accepted(verdicts[5])).toMatchObject({
      type: 'track',
      event: 'Order Item',
      properties: {
        order_id: 'o-1',
        sku: 'sku-1',
        name: 'Mug',
        category: 'Kitchen',
        price: 24.95,
        quantity: 2,
        currency: 'EUR',
      },
    });
  });
});

describe('a @snowplow/node-tracker POST batch with base64 encoding off (ue_pr, co)', () => {
  it('normalizes exactly like the encoded batch', () => {
    const { ue_px: _uePx, cx: _cx, ...plain } = SELF_DESCRIBING;
    const { cx: _pageCx, ...plainPage } = PAGE_VIEW;

    const result = events(
      parseSnowplowPost({
        schema: PAYLOAD_DATA,
        data: [
          { ...plainPage, co: CO },
          { ...plain, ue_pr: UE_PR, co: CO },
        ],
      }),
    );

    expect(accepted(result[0])).toEqual(accepted(events(parseSnowplowPost(BATCH))[0]));
    expect(accepted(result[1])).toEqual(accepted(events(parseSnowplowPost(BATCH))[3]));
  });
});

describe('a GET /i pixel', () => {
  it('reads the event from the query parameters', () => {
    const query = Object.fromEntries(new URL(`https://collector.example.com${GET_URL}`).searchParams);

    const result = parseSnowplowGet(query);

    expect(accepted(events(result)[0])).toMatchObject({
      type: 'track',
      event: 'checkout',
      messageId: '0c07062f-5075-43e5-b77f-e5629d7900a1',
      userId: 'user-42',
      properties: { step: 2, cart: 49.9 },
      context: { timezone: 'Europe/Berlin', userAgent: 'Mozilla/5.0 (X11; Linux x86_64)' },
      clientTimestamp: '2026-11-22T18:18:17.575Z',
      sentAt: '2026-11-22T18:18:17.579Z',
    });
    expect(result).toMatchObject({ batchWriteKey: 'shop-web', batchSentAt: '2026-11-22T18:18:17.579Z' });
  });

  it('judges a query without an event instead of throwing', () => {
    expect(rejection(events(parseSnowplowGet({}))[0])).toMatch(/eid/);
  });

  it('ignores prototype-polluting parameter names', () => {
    const query = JSON.parse(`{"__proto__":{"polluted":"yes"},"e":"pv","eid":"e-1","uid":"u"}`);

    expect(accepted(events(parseSnowplowGet(query))[0]).type).toBe('page');
    expect(Object.prototype).not.toHaveProperty('polluted');
  });
});

describe('ids and times', () => {
  it.each([
    ['nuid when there is no duid', { nuid: 'n-1', sid: 's-1' }, 'n-1'],
    ['sid when there is neither duid nor nuid', { sid: 's-1' }, 's-1'],
  ])('takes the anonymousId from %s', (_what, ids, expected) => {
    expect(accepted(post({ e: 'pv', eid: 'e-1', ...ids })).anonymousId).toBe(expected);
  });

  it('uses the true timestamp when the tracker sent ttm instead of dtm', () => {
    expect(accepted(post({ e: 'pv', eid: 'e-1', uid: 'u', ttm: '1714557600000' })).clientTimestamp).toBe(
      '2024-05-01T10:00:00.000Z',
    );
  });

  it('reads the screen resolution and session index the JavaScript tracker sends', () => {
    const event = accepted(post({ e: 'pv', eid: 'e-1', duid: 'd', res: '1920x1080', vid: '3' }));

    expect(event.context).toMatchObject({
      screen: { width: 1920, height: 1080 },
      snowplow: { sessionIndex: 3 },
    });
  });

  it('reads numbers and booleans sent by trackers that do not stringify', () => {
    expect(
      accepted(post({ e: 'se', eid: 'e-1', uid: 7, se_ca: 'c', se_ac: 'a', se_va: 5 })).properties,
    ).toMatchObject({
      value: 5,
    });
  });

  it('leaves the batch write key unset when events carry different app ids, each keeping its own', () => {
    const result = parseSnowplowPost({
      schema: PAYLOAD_DATA,
      data: [
        { e: 'pv', eid: 'e-1', uid: 'u', aid: 'web' },
        { e: 'pv', eid: 'e-2', uid: 'u', aid: 'app' },
      ],
    });

    expect(result).not.toHaveProperty('batchWriteKey');
    expect(events(result).map((verdict) => accepted(verdict).writeKey)).toEqual(['web', 'app']);
  });
});

describe('rejecting one event with a clear reason, never its siblings', () => {
  it.each([
    ['no eid', { e: 'pv', uid: 'u' }, /eid \(the event id\) is required/],
    ['no id of the person', { e: 'pv', eid: 'e-1' }, /uid, duid, nuid or sid is required/],
    ['no e', { eid: 'e-1', uid: 'u' }, /e \(the event type\) is required/],
    ['an unsupported e', { e: 'ad', eid: 'e-1', uid: 'u' }, /e=ad is not supported/],
    [
      'broken ue_px base64',
      { e: 'ue', eid: 'e-1', uid: 'u', ue_px: 'ey$$$' },
      /ue_px is not valid base64url/,
    ],
    [
      'ue_px that is not JSON',
      { e: 'ue', eid: 'e-1', uid: 'u', ue_px: Buffer.from('not json').toString('base64url') },
      /ue_px does not decode to JSON/,
    ],
    [
      'ue_pr that is not JSON',
      { e: 'ue', eid: 'e-1', uid: 'u', ue_pr: '{"schema":' },
      /ue_pr is not valid JSON/,
    ],
    ['a ue without payload', { e: 'ue', eid: 'e-1', uid: 'u' }, /ue_px or ue_pr is required/],
    [
      'a ue without the unstruct_event envelope',
      { e: 'ue', eid: 'e-1', uid: 'u', ue_pr: '{"step":2}' },
      /must be \{"schema": "iglu:…\/unstruct_event/,
    ],
    [
      'a schema that is not an Iglu URI',
      { e: 'ue', eid: 'e-1', uid: 'u', ue_pr: '{"schema":"x","data":{"schema":"checkout","data":{}}}' },
      /Iglu URI/,
    ],
    [
      'self-describing data that is not an object',
      {
        e: 'ue',
        eid: 'e-1',
        uid: 'u',
        ue_pr: '{"schema":"x","data":{"schema":"iglu:a/b/jsonschema/1-0-0","data":3}}',
      },
      /data must be a JSON object/,
    ],
    ['broken cx base64', { e: 'pv', eid: 'e-1', uid: 'u', cx: '%%%' }, /cx is not valid base64url/],
    [
      'co that is not a contexts envelope',
      { e: 'pv', eid: 'e-1', uid: 'u', co: '{"data":5}' },
      /cx\/co must be/,
    ],
    ['a structured event without action', { e: 'se', eid: 'e-1', uid: 'u', se_ca: 'c' }, /se_ac \(action\)/],
    [
      'a non-numeric se_va',
      { e: 'se', eid: 'e-1', uid: 'u', se_ca: 'c', se_ac: 'a', se_va: 'lots' },
      /se_va must be a number/,
    ],
    ['a transaction without total', { e: 'tr', eid: 'e-1', uid: 'u', tr_id: 'o' }, /tr_tt \(total\)/],
    ['an item without sku', { e: 'ti', eid: 'e-1', uid: 'u', ti_id: 'o', ti_pr: '1' }, /ti_sk \(sku\)/],
    [
      'an unreadable dtm',
      { e: 'pv', eid: 'e-1', uid: 'u', dtm: 'yesterday' },
      /dtm\/ttm must be epoch milliseconds/,
    ],
    [
      'a field that is an object',
      { e: 'pv', eid: 'e-1', uid: 'u', url: { href: 'x' } },
      /url must be a string/,
    ],
    ['an eid beyond 256 characters', { e: 'pv', eid: 'e'.repeat(257), uid: 'u' }, /eid must be at most 256/],
    [
      'an event above 64 KiB',
      { e: 'pv', eid: 'e-1', uid: 'u', url: 'x'.repeat(65 * 1024) },
      /the limit is 65536 bytes/,
    ],
  ])('rejects %s', (_what, event, reason) => {
    const result = events(parseSnowplowPost({ schema: PAYLOAD_DATA, data: [PAGE_PING, event, STRUCTURED] }));

    expect(rejection(result[1])).toMatch(reason);
    expect(result[0]?.ok).toBe(true);
    expect(result[2]?.ok).toBe(true);
  });

  it('rejects an item of the batch that is not an object', () => {
    expect(rejection(events(parseSnowplowPost({ schema: PAYLOAD_DATA, data: ['pv'] }))[0])).toMatch(
      /JSON object/,
    );
  });
});

describe('bodies that can never succeed', () => {
  it.each([
    ['a Segment batch', { batch: [] }],
    ['an array', []],
    ['data that is not an array', { schema: PAYLOAD_DATA, data: {} }],
    ['null', null],
  ])('refuses %s', (_what, body) => {
    expect(parseSnowplowPost(body)).toEqual({ error: expect.stringMatching(/payload_data envelope/) });
  });

  it('refuses an empty data array', () => {
    expect(parseSnowplowPost({ schema: PAYLOAD_DATA, data: [] })).toEqual({
      error: expect.stringMatching(/empty/),
    });
  });
});
