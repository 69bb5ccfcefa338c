// Banner views and clicks become profile events that a retried request can never store twice.
import { describe, expect, it } from 'vitest';
import {
  BANNER_CLICK_SOURCE,
  BANNER_CLICKED,
  BANNER_VIEWED,
  bannerActivity,
} from '../../../../functions/messaging/banners/activity.ts';

const request = {
  identity: { kind: 'anonymousId', value: 'anon-1' },
  sourceId: 'src_site',
  requestId: 'req-123',
  receivedAt: new Date('2026-03-02T10:00:00.000Z'),
} as const;

describe('banner activity events', () => {
  it('records a view as a "Banner Viewed" track call with the banner and placement, under the asking source', () => {
    const event = bannerActivity({ kind: 'viewed', bannerId: 'bnr_1', placement: 'hero' }, request);

    expect(event).toMatchObject({
      type: 'track',
      event: BANNER_VIEWED,
      anonymousId: 'anon-1',
      sourceId: 'src_site',
      properties: { bannerId: 'bnr_1', placement: 'hero' },
    });
    expect(event.userId).toBeUndefined();
    expect(event.enrichment.eventTime).toBe('2026-03-02T10:00:00.000Z');
  });

  it('records a click as a "Banner Clicked" track call with its destination, filed under a user id', () => {
    const event = bannerActivity(
      { kind: 'clicked', bannerId: 'bnr_1', url: 'https://example.com/offer' },
      { ...request, identity: { kind: 'userId', value: 'user-7' }, sourceId: BANNER_CLICK_SOURCE },
    );

    expect(event).toMatchObject({
      event: BANNER_CLICKED,
      userId: 'user-7',
      sourceId: 'banners',
      properties: { bannerId: 'bnr_1', url: 'https://example.com/offer' },
    });
  });

  it('gives the same request the same message id at any time, and two requests two ids', () => {
    const viewed = { kind: 'viewed', bannerId: 'bnr_1', placement: 'hero' } as const;

    const first = bannerActivity(viewed, request);
    const retried = bannerActivity(viewed, { ...request, receivedAt: new Date('2026-03-02T10:00:05.000Z') });
    const another = bannerActivity(viewed, { ...request, requestId: 'req-124' });

    expect(retried.messageId).toBe(first.messageId);
    expect(another.messageId).not.toBe(first.messageId);
  });

  it('keeps views and clicks of one request apart', () => {
    const viewed = bannerActivity({ kind: 'viewed', bannerId: 'b', placement: 'hero' }, request);
    const clicked = bannerActivity({ kind: 'clicked', bannerId: 'b', url: 'https://example.com/' }, request);

    expect(viewed.messageId).not.toBe(clicked.messageId);
  });

  it('flags a crawler by the browser user agent it sends, so its views stay out of profiles and counts', () => {
    const crawler = bannerActivity(
      { kind: 'viewed', bannerId: 'b', placement: 'hero' },
      { ...request, userAgent: 'Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)' },
    );
    const person = bannerActivity(
      { kind: 'viewed', bannerId: 'b', placement: 'hero' },
      {
        ...request,
        userAgent:
          'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36',
      },
    );

    expect(crawler.enrichment.isBot).toBe(true);
    expect(person.enrichment.isBot).toBe(false);
  });
});
