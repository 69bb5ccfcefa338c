import { describe, expect, it } from 'vitest';
import { buildTimeline, type TimelineSources } from '../../../functions/profiles/timeline.ts';

const empty: TimelineSources = {
  profile: { id: 'p1', firstSeen: null, traits: {} },
  events: [],
  lead: null,
  messages: [],
  journeys: [],
  segments: [],
};

describe('a profile timeline', () => {
  it('tells an imported, enriched, scored and qualified contact’s story newest first', () => {
    const timeline = buildTimeline(
      {
        ...empty,
        profile: {
          id: 'p1',
          firstSeen: '2026-11-01T09:00:00.000Z',
          traits: {
            email: 'ana@example.com',
            enrichment: {
              emailDomain: {
                freeMail: false,
                provenance: { source: 'email-domain', version: '1.7.0', at: '2026-11-01T09:00:01.000Z' },
              },
            },
          },
        },
        events: [
          {
            messageId: 'm1',
            type: 'page',
            event: null,
            name: 'Pricing',
            eventTime: '2026-11-02T10:00:00.000Z',
            channel: 'organic',
            campaign: null,
            properties: { path: '/pricing' },
          },
        ],
        lead: {
          awards: [{ ruleId: 'pricing', points: 20, at: '2026-11-02T10:00:00.000Z' }],
          fit: [{ ruleId: 'cto', points: 30, since: '2026-11-01T09:00:01.000Z' }],
          transitions: [
            {
              from: 'lead',
              to: 'mql',
              at: '2026-11-02T10:00:02.000Z',
              reason: 'combined score 50 ≥ 50',
              by: 'nurture.scoring',
              trigger: 'threshold',
            },
          ],
        },
      },
      100,
    );

    expect(timeline.map((e) => e.summary)).toEqual([
      'stage lead → mql: combined score 50 ≥ 50 (threshold, by nurture.scoring)',
      '+20 behaviour points (rule pricing)',
      'page view /pricing (organic)',
      '+30 fit points (rule cto)',
      'enriched emailDomain by email-domain 1.7.0',
      'first seen',
    ]);
    expect(timeline.find((e) => e.kind === 'enrichment')?.detail).toEqual({
      namespace: 'emailDomain',
      freeMail: false,
    });
  });

  it('lists every step of messages and journey runs, and segments entered', () => {
    const timeline = buildTimeline(
      {
        ...empty,
        messages: [
          {
            messageId: 'msg-1',
            templateId: 'renewal',
            subject: 'Stay with us',
            history: [
              { at: '2026-11-03T08:00:00.000Z', status: 'queued', note: null },
              { at: '2026-11-03T08:00:05.000Z', status: 'sent', note: null },
            ],
          },
        ],
        journeys: [
          {
            journeyId: 'renewal',
            run: 1,
            history: [{ at: '2026-11-03T07:59:59.000Z', nodeId: 'email', outcome: 'sent' }],
          },
        ],
        segments: [{ segmentId: 'high-clv', enteredAt: '2026-11-03T07:00:00.000Z' }],
      },
      100,
    );

    expect(timeline.map((e) => `${e.kind}: ${e.summary}`)).toEqual([
      'message: email renewal "Stay with us" sent',
      'message: email renewal "Stay with us" queued',
      'journey: journey renewal at email: sent',
      'segment: entered segment high-clv',
    ]);
  });

  it('keeps the newest entries when there are more than the limit', () => {
    const events = Array.from({ length: 5 }, (_, i) => ({
      messageId: `m${i}`,
      type: 'track',
      event: `E${i}`,
      name: null,
      eventTime: `2026-11-0${i + 1}T00:00:00.000Z`,
      channel: null,
      campaign: null,
      properties: {},
    }));

    const timeline = buildTimeline({ ...empty, events }, 2);

    expect(timeline.map((e) => e.summary)).toEqual(['tracked "E4"', 'tracked "E3"']);
  });
});
