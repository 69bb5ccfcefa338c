// The domain event catalogue: event names follow one convention, and rule patterns select catalogued events.
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  type DomainEventDefinition,
  defineDomainEvent,
  eventPatternFor,
} from '../../../functions/shared/events.ts';
import { matchesEventPattern, parseEventPattern } from '../../../lib/local/event-pattern.ts';

const profileIdentified = defineDomainEvent({
  detailType: 'profile.identified',
  source: 'nurture.tracking',
  detail: z.object({ profileId: z.string() }),
});
const pageViewed = defineDomainEvent({
  detailType: 'page.viewed',
  source: 'nurture.tracking',
  detail: z.object({ url: z.string() }),
});
const emailLinkClicked = defineDomainEvent({
  detailType: 'email.link_clicked',
  source: 'nurture.messaging',
  detail: z.object({ messageId: z.string() }),
});

function busEvent(source: string, detailType: string): Record<string, unknown> {
  return {
    version: '0',
    id: 'f1e2d3c4-0000-4000-8000-000000000000',
    'detail-type': detailType,
    source,
    account: '000000000000',
    time: '2024-05-01T12:00:00Z',
    region: 'us-east-1',
    resources: [],
    detail: {},
  };
}

describe('defining a domain event', () => {
  it('returns the definition unchanged', () => {
    const definition: DomainEventDefinition<z.ZodType> = {
      detailType: 'journey.step_completed',
      source: 'nurture.journeys',
      detail: z.object({}),
    };

    expect(defineDomainEvent(definition)).toBe(definition);
  });

  it.each(['profile.identified', 'email.link_clicked', 'lead_stage.changed', 'kpi.rolled_up'])(
    'accepts the snake-case "noun.verb_past" name %s',
    (detailType) => {
      expect(() =>
        defineDomainEvent({ detailType, source: 'nurture.test', detail: z.object({}) }),
      ).not.toThrow();
    },
  );

  it.each([
    ['no verb', 'profile'],
    ['three parts', 'profile.identified.again'],
    ['capital letters', 'Profile.Identified'],
    ['camel case', 'email.linkClicked'],
    ['dashes', 'email.link-clicked'],
    ['digits', 'email2.sent'],
    ['a leading underscore', '_email.sent'],
    ['a trailing underscore', 'email.sent_'],
    ['spaces', 'email .sent'],
    ['an empty name', ''],
  ])('rejects a name with %s', (_what, detailType) => {
    expect(() => defineDomainEvent({ detailType, source: 'nurture.test', detail: z.object({}) })).toThrow(
      `Domain event names are "noun.verb_past" in snake case, got "${detailType}"`,
    );
  });
});

describe('the event pattern for catalogued events', () => {
  it('has one branch per source, listing each of its names once', () => {
    const pattern = eventPatternFor([profileIdentified, pageViewed, emailLinkClicked, pageViewed]);

    expect(pattern).toEqual({
      $or: [
        { source: ['nurture.tracking'], 'detail-type': ['profile.identified', 'page.viewed'] },
        { source: ['nurture.messaging'], 'detail-type': ['email.link_clicked'] },
      ],
    });
  });

  it('is a plain source and detail-type pattern when all events share a source', () => {
    expect(eventPatternFor([profileIdentified, pageViewed])).toEqual({
      source: ['nurture.tracking'],
      'detail-type': ['profile.identified', 'page.viewed'],
    });
  });

  it('refuses to build a pattern from no events, which would match nothing or everything', () => {
    expect(() => eventPatternFor([])).toThrow('at least one event definition');
  });

  it('is a pattern EventBridge accepts', () => {
    const pattern = eventPatternFor([profileIdentified, emailLinkClicked]);

    expect(() => parseEventPattern(pattern)).not.toThrow();
  });

  it('matches every catalogued event it was built from', () => {
    const definitions = [profileIdentified, pageViewed, emailLinkClicked];
    const pattern = parseEventPattern(eventPatternFor(definitions));

    for (const definition of definitions) {
      expect(matchesEventPattern(pattern, busEvent(definition.source, definition.detailType))).toBe(true);
    }
  });

  it('does not match a catalogued event it was not built from', () => {
    const pattern = parseEventPattern(eventPatternFor([profileIdentified]));

    expect(matchesEventPattern(pattern, busEvent(pageViewed.source, pageViewed.detailType))).toBe(false);
  });

  it('does not match an event from another source with a catalogued name', () => {
    const pattern = parseEventPattern(eventPatternFor([profileIdentified]));

    expect(matchesEventPattern(pattern, busEvent('nurture.imports', 'profile.identified'))).toBe(false);
  });

  it('does not match a catalogued name paired with the source of another catalogued event', () => {
    const pattern = parseEventPattern(eventPatternFor([profileIdentified, emailLinkClicked]));

    expect(matchesEventPattern(pattern, busEvent('nurture.messaging', 'profile.identified'))).toBe(false);
  });
});
