// Which session each tracked event starts or belongs to, as ingest records it on the stored event for KPIs.
import { describe, expect, it } from 'vitest';
import type { EnrichedEvent, Touch } from '../../../functions/tracking/model.ts';
import { applyEvents, applyEventsWithSessions, emptyProfile } from '../../../functions/tracking/profile.ts';

const DIRECT: Touch = {
  channel: 'direct',
  campaign: null,
  landingPage: '/docs',
  referrer: null,
  source: null,
  medium: null,
};
const ADS: Touch = {
  channel: 'paid search',
  campaign: 'brand',
  landingPage: '/pricing',
  referrer: 'https://www.google.com/',
  source: 'google',
  medium: 'cpc',
};

function page(
  messageId: string,
  at: string,
  touch: Touch = DIRECT,
  device: 'desktop' | 'mobile' = 'mobile',
): EnrichedEvent {
  return {
    type: 'page',
    protocol: 'segment',
    messageId,
    anonymousId: 'anon-1',
    traits: {},
    properties: {},
    context: {},
    sourceId: 'src',
    enrichment: {
      eventTime: at,
      receivedAt: at,
      touch,
      device,
      isBot: false,
      ip: null,
      browser: null,
      os: null,
    },
  };
}

describe('sessions of tracked events', () => {
  it('starts a session on the first event, after a 30-minute gap and on new campaign parameters only', () => {
    const events = [
      page('m1', '2026-06-01T09:00:00.000Z', ADS),
      page('m2', '2026-06-01T09:10:00.000Z'),
      page('m3', '2026-06-01T09:45:00.000Z'),
      page('m4', '2026-06-01T09:50:00.000Z', ADS, 'desktop'),
    ];

    const { sessions } = applyEventsWithSessions(emptyProfile('p1'), events);

    expect(['m1', 'm2', 'm3', 'm4'].map((id) => sessions.get(id)?.start)).toEqual([true, false, true, true]);
  });

  it('credits a later event to its session’s channel, campaign, landing page and device, with the first touch', () => {
    const events = [page('m1', '2026-06-01T09:00:00.000Z', ADS), page('m2', '2026-06-01T09:05:00.000Z')];

    const { sessions } = applyEventsWithSessions(emptyProfile('p1'), events);

    expect(sessions.get('m2')).toEqual({
      start: false,
      channel: 'paid search',
      campaign: 'brand',
      landingPage: '/pricing',
      device: 'mobile',
      firstTouch: { channel: 'paid search', campaign: 'brand' },
    });
  });

  it('continues a session the profile had before this batch', () => {
    const before = applyEvents(emptyProfile('p1'), [page('m1', '2026-06-01T09:00:00.000Z', ADS)]);

    const { sessions } = applyEventsWithSessions(before, [page('m2', '2026-06-01T09:20:00.000Z')]);

    expect(sessions.get('m2')).toMatchObject({
      start: false,
      channel: 'paid search',
      landingPage: '/pricing',
    });
  });

  it('decides the same sessions as the profile counts', () => {
    const events = [
      page('m1', '2026-06-01T09:00:00.000Z'),
      page('m2', '2026-06-01T10:00:00.000Z'),
      page('m3', '2026-06-01T10:01:00.000Z', ADS),
    ];

    const { profile, sessions } = applyEventsWithSessions(emptyProfile('p1'), events);

    expect([...sessions.values()].filter((session) => session.start)).toHaveLength(profile.counters.sessions);
    expect(profile).toEqual(applyEvents(emptyProfile('p1'), events));
  });
});
