// Which domain events a change in the profile store stands for (the outbox), and that each matches the catalogue.
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import {
  cleanUpAfterExpiry,
  decodeData,
  domainEventsFor,
  eventTracked,
  type ItemChange,
  profileConsentChanged,
  profileIdentified,
  profileMerged,
  TRACKING_EVENTS,
  type TrackingDomainEvent,
} from '../../../functions/tracking/domain-events.ts';
import type { EnrichedEvent } from '../../../functions/tracking/model.ts';
import { emptyProfile, type ProfileCore } from '../../../functions/tracking/profile.ts';

const PROFILE_ID = 'u_kT3mPq9xWbYc2LdEf8gHiJ';

function orderCompleted(overrides: Partial<EnrichedEvent> = {}): EnrichedEvent {
  return {
    type: 'track',
    protocol: 'segment',
    messageId: 'ajs-next-1717407000000-4c2e',
    anonymousId: 'anon-7f3a',
    userId: 'user-42',
    event: 'Order Completed',
    traits: {},
    properties: { order_id: 'ord-1001', revenue: 129.5, currency: 'EUR', products: [{ sku: 'PRO-1Y' }] },
    context: { page: { url: 'https://www.example.com/checkout/done' } },
    clientTimestamp: '2024-06-03T09:30:00.000Z',
    sentAt: '2024-06-03T09:30:01.000Z',
    sourceId: 'src_website',
    enrichment: {
      eventTime: '2024-06-03T09:30:00.250Z',
      receivedAt: '2024-06-03T09:30:01.250Z',
      touch: {
        channel: 'email',
        campaign: 'spring-sale',
        landingPage: '/checkout/done',
        referrer: null,
        source: 'newsletter',
        medium: 'email',
      },
      device: 'mobile',
      isBot: false,
      ip: '203.0.113.0',
      browser: 'Safari',
      os: 'iOS',
    },
    ...overrides,
  };
}

function eventInsert(event: EnrichedEvent): ItemChange {
  return {
    eventName: 'INSERT',
    keys: { pk: 'EVENTS#u:user-42', sk: `EVT#${event.sourceId}#${event.messageId}` },
    newData: { event, profileId: PROFILE_ID },
  };
}

function profile(overrides: Partial<ProfileCore> = {}): ProfileCore {
  return { ...emptyProfile(PROFILE_ID), anonymousIds: ['anon-7f3a'], version: 3, ...overrides };
}

function profileChange(
  before: ProfileCore | undefined,
  after: ProfileCore,
  eventName: ItemChange['eventName'] = before === undefined ? 'INSERT' : 'MODIFY',
): ItemChange {
  return {
    eventName,
    keys: { pk: `PROFILE#${after.id}`, sk: 'PROFILE' },
    newData: after,
    ...(before === undefined ? {} : { oldData: before }),
  };
}

const LATER_CHANGES: ReadonlyArray<ItemChange['eventName']> = ['MODIFY', 'REMOVE'];

function detailTypes(events: TrackingDomainEvent[]): string[] {
  return events.map((event) => event.detailType);
}

describe('domain events of a stored tracking event', () => {
  it('announces a newly stored event as event.tracked with what consumers need', () => {
    const event = orderCompleted();

    const [tracked, ...rest] = domainEventsFor(eventInsert(event));

    expect(rest).toEqual([]);
    expect(tracked).toEqual({
      detailType: 'event.tracked',
      detail: {
        dedupeKey: 'src_website:ajs-next-1717407000000-4c2e',
        profileId: PROFILE_ID,
        sourceId: 'src_website',
        messageId: 'ajs-next-1717407000000-4c2e',
        type: 'track',
        event: 'Order Completed',
        name: null,
        userId: 'user-42',
        anonymousId: 'anon-7f3a',
        eventTime: '2024-06-03T09:30:00.250Z',
        channel: 'email',
        campaign: 'spring-sale',
        landingPage: '/checkout/done',
        device: 'mobile',
        properties: { order_id: 'ord-1001', revenue: 129.5, currency: 'EUR', products: [{ sku: 'PRO-1Y' }] },
        hasEmail: false,
        sessionStart: false,
        session: null,
        firstTouch: null,
      },
    });
  });

  it('carries the session ingest recorded on the stored event: start, session touch and first touch', () => {
    const session = {
      start: true,
      channel: 'email',
      campaign: 'spring-sale',
      landingPage: '/checkout/done',
      device: 'mobile',
      firstTouch: { channel: 'organic search', campaign: null },
    } as const;
    const change = eventInsert(orderCompleted());

    const [tracked] = domainEventsFor({
      ...change,
      newData: { event: orderCompleted(), profileId: PROFILE_ID, session },
    });

    expect(tracked?.detail).toMatchObject({
      sessionStart: true,
      session: { channel: 'email', campaign: 'spring-sale', landingPage: '/checkout/done', device: 'mobile' },
      firstTouch: { channel: 'organic search', campaign: null },
    });
  });

  it('says whether the event made an email address known, without repeating the address', () => {
    const signUp: EnrichedEvent = {
      ...orderCompleted(),
      event: 'Signed Up',
      properties: { email: 'Ada@Example.com' },
    };
    const identify: EnrichedEvent = {
      ...orderCompleted(),
      type: 'identify',
      traits: { email: 'not an address' },
    };

    const [withEmail] = domainEventsFor(eventInsert(signUp));
    const [withoutEmail] = domainEventsFor(eventInsert(identify));

    expect(withEmail?.detail).toMatchObject({ hasEmail: true });
    expect(withoutEmail?.detail).toMatchObject({ hasEmail: false });
  });

  it('reports absent event fields of an anonymous page view as null', () => {
    const { userId: _userId, event: _event, ...pageFields } = orderCompleted();
    const page: EnrichedEvent = { ...pageFields, type: 'page', name: 'Pricing', properties: {} };

    const [tracked] = domainEventsFor(eventInsert(page));

    expect(tracked?.detail).toMatchObject({ type: 'page', event: null, name: 'Pricing', userId: null });
  });

  it('gives a replayed event the same dedupe key', () => {
    const first = domainEventsFor(eventInsert(orderCompleted()));

    const replayed = domainEventsFor(eventInsert(orderCompleted()));

    expect(replayed[0]?.detail.dedupeKey).toBe(first[0]?.detail.dedupeKey);
  });

  it.each(LATER_CHANGES)('announces nothing when a stored event sees a %s', (eventName) => {
    const change: ItemChange = {
      ...eventInsert(orderCompleted()),
      eventName,
      oldData: eventInsert(orderCompleted()).newData,
    };

    expect(domainEventsFor(change)).toEqual([]);
  });

  it('refuses a stored event that does not match the event schema', () => {
    const change: ItemChange = {
      ...eventInsert(orderCompleted()),
      newData: { event: { type: 'track' }, profileId: PROFILE_ID },
    };

    expect(() => domainEventsFor(change)).toThrow();
  });
});

describe('domain events of a profile change', () => {
  it('announces profile.merged, and only that, when a profile is merged into another', () => {
    const before = profile();
    const after = profile({ mergedInto: 'u_survivor', userId: 'user-42', emails: ['jane@example.com'] });

    const events = domainEventsFor(profileChange(before, after));

    expect(events).toEqual([
      {
        detailType: 'profile.merged',
        detail: {
          dedupeKey: `merge:${PROFILE_ID}:u_survivor`,
          fromProfileId: PROFILE_ID,
          intoProfileId: 'u_survivor',
        },
      },
    ]);
  });

  it('does not announce a merge again when a merged profile changes later', () => {
    const merged = profile({ mergedInto: 'u_survivor' });

    const events = domainEventsFor(
      profileChange(merged, { ...merged, lastSeen: '2024-06-04T10:00:00.000Z' }),
    );

    expect(events).toEqual([]);
  });

  it('announces profile.identified when a profile gets a userId', () => {
    const before = profile({ emails: ['jane@example.com'] });
    const after = profile({ emails: ['jane@example.com'], userId: 'user-42' });

    const events = domainEventsFor(profileChange(before, after));

    expect(events).toEqual([
      {
        detailType: 'profile.identified',
        detail: {
          dedupeKey: `identified:${PROFILE_ID}:user-42:jane@example.com`,
          profileId: PROFILE_ID,
          userId: 'user-42',
          emails: ['jane@example.com'],
          newUserId: true,
          newEmails: [],
        },
      },
    ]);
  });

  it('announces profile.identified with only the new emails when a profile gets another email', () => {
    const before = profile({ userId: 'user-42', emails: ['jane@example.com'] });
    const after = profile({ userId: 'user-42', emails: ['jane@example.com', 'jane@work.example'] });

    const [identified, ...rest] = domainEventsFor(profileChange(before, after));

    expect(rest).toEqual([]);
    expect(identified?.detailType).toBe('profile.identified');
    expect(identified?.detail).toMatchObject({ newUserId: false, newEmails: ['jane@work.example'] });
  });

  it('announces a profile created already identified, with all its identifiers new', () => {
    const created = profile({ userId: 'user-42', emails: ['jane@example.com'] });

    const [identified] = domainEventsFor(profileChange(undefined, created));

    expect(identified?.detail).toMatchObject({ newUserId: true, newEmails: ['jane@example.com'] });
  });

  it('gives the same identification the same dedupe key whatever the order of the emails', () => {
    const before = profile();
    const one = domainEventsFor(
      profileChange(before, profile({ emails: ['b@example.com', 'a@example.com'] })),
    );

    const other = domainEventsFor(
      profileChange(before, profile({ emails: ['a@example.com', 'b@example.com'] })),
    );

    expect(other[0]?.detail.dedupeKey).toBe(one[0]?.detail.dedupeKey);
  });

  it('announces nothing when counters change but identities do not', () => {
    const before = profile({ userId: 'user-42', emails: ['jane@example.com'] });
    const after = {
      ...before,
      counters: { ...before.counters, events: 12, pageViews: 7 },
      lastSeen: '2024-06-04T10:00:00.000Z',
    };

    expect(domainEventsFor(profileChange(before, after))).toEqual([]);
  });

  it('announces nothing for an anonymous profile being created', () => {
    expect(domainEventsFor(profileChange(undefined, profile()))).toEqual([]);
  });

  it('announces nothing when a profile is removed', () => {
    const identified = profile({ userId: 'user-42' });
    const change: ItemChange = {
      eventName: 'REMOVE',
      keys: { pk: `PROFILE#${PROFILE_ID}`, sk: 'PROFILE' },
      oldData: identified,
    };

    expect(domainEventsFor(change)).toEqual([]);
  });
});

describe('domain events of other items', () => {
  it.each([
    ['traits', { pk: `PROFILE#${PROFILE_ID}`, sk: 'TRAITS' }],
    ['an identity pointer', { pk: 'IDENTITY#e:jane@example.com', sk: 'IDENTITY' }],
    ['a source', { pk: 'SOURCE#src_website', sk: 'SOURCE' }],
  ])('announces nothing for a change of %s', (_item, keys) => {
    const change: ItemChange = { eventName: 'INSERT', keys, newData: { id: PROFILE_ID, userId: 'user-42' } };

    expect(domainEventsFor(change)).toEqual([]);
  });
});

describe('decoding stream images', () => {
  const stored = { event: { type: 'page' }, profileId: PROFILE_ID, unicode: 'Zoë ✓' };

  it('decodes gzip JSON given as bytes', () => {
    const bytes = new Uint8Array(gzipSync(Buffer.from(JSON.stringify(stored))));

    expect(decodeData(bytes)).toEqual(stored);
  });

  it('decodes gzip JSON given as the base64 string Lambda delivers', () => {
    const base64 = gzipSync(Buffer.from(JSON.stringify(stored))).toString('base64');

    expect(decodeData(base64)).toEqual(stored);
  });

  it('decodes an absent attribute as nothing', () => {
    expect(decodeData(undefined)).toBeUndefined();
  });

  it('refuses data that is not gzip', () => {
    expect(() => decodeData(Buffer.from(JSON.stringify(stored)).toString('base64'))).toThrow();
  });
});

describe('the catalogue', () => {
  it('lists event.tracked, profile.identified and profile.merged from the tracking source', () => {
    expect(TRACKING_EVENTS.map((e) => [e.source, e.detailType])).toEqual([
      ['nurture.tracking', 'event.tracked'],
      ['nurture.tracking', 'profile.identified'],
      ['nurture.tracking', 'profile.merged'],
    ]);
  });

  it('describes every detail the outbox produces with its catalogue schema', () => {
    const identifiedBefore = profile();
    const changes: ItemChange[] = [
      eventInsert(orderCompleted()),
      eventInsert(
        orderCompleted({ type: 'identify', event: undefined, messageId: 'm-2', traits: { plan: 'pro' } }),
      ),
      profileChange(identifiedBefore, profile({ userId: 'user-42', emails: ['jane@example.com'] })),
      profileChange(identifiedBefore, profile({ mergedInto: 'u_survivor' })),
    ];
    const schemas = {
      'event.tracked': eventTracked.detail,
      'profile.identified': profileIdentified.detail,
      'profile.merged': profileMerged.detail,
      'profile.consent_changed': profileConsentChanged.detail,
    };

    const produced = changes.flatMap(domainEventsFor);

    expect(detailTypes(produced)).toEqual([
      'event.tracked',
      'event.tracked',
      'profile.identified',
      'profile.merged',
    ]);
    for (const { detailType, detail } of produced) {
      expect(schemas[detailType].safeParse(detail).success, detailType).toBe(true);
    }
  });
});

describe('clean-up after an anonymous profile expired', () => {
  const removedByTtl = (before: unknown) => ({
    eventName: 'REMOVE',
    keys: { pk: `PROFILE#${PROFILE_ID}`, sk: 'PROFILE' },
    oldData: before,
    removedBy: 'dynamodb.amazonaws.com',
  });

  it('removes the traits, the identity pointers and the raw events of a visitor who never identified', () => {
    const expired = profile({ anonymousIds: ['anon-1', 'anon-2'] });

    const cleanUp = cleanUpAfterExpiry(removedByTtl(expired));

    expect(cleanUp).toEqual({
      items: [{ pk: `PROFILE#${PROFILE_ID}`, sk: 'TRAITS' }],
      pointers: [
        { pk: 'IDENTITY#a:anon-1', sk: 'IDENTITY', profileId: PROFILE_ID },
        { pk: 'IDENTITY#a:anon-2', sk: 'IDENTITY', profileId: PROFILE_ID },
      ],
      eventPartitions: ['EVENTS#a:anon-1', 'EVENTS#a:anon-2'],
    });
  });

  it('leaves the anonymous ids and events of a profile merged into a known one to that profile', () => {
    const stub = profile({ mergedInto: 'u_known' });

    const cleanUp = cleanUpAfterExpiry(removedByTtl(stub));

    expect(cleanUp).toEqual({
      items: [{ pk: `PROFILE#${PROFILE_ID}`, sk: 'TRAITS' }],
      pointers: [],
      eventPartitions: [],
    });
  });

  it('still removes the traits when the removed profile cannot be read', () => {
    expect(cleanUpAfterExpiry(removedByTtl(undefined)).items).toEqual([
      { pk: `PROFILE#${PROFILE_ID}`, sk: 'TRAITS' },
    ]);
  });

  it.each([
    ['a deletion by a caller, not by TTL', 'REMOVE', 'PROFILE#a_1', 'PROFILE', undefined],
    ['an update', 'MODIFY', 'PROFILE#a_1', 'PROFILE', 'dynamodb.amazonaws.com'],
    ['an expired event item', 'REMOVE', 'EVENTS#a:x', 'EVT#s#m', 'dynamodb.amazonaws.com'],
  ])('deletes nothing for %s', (_what, eventName, pk, sk, removedBy) => {
    expect(
      cleanUpAfterExpiry({
        eventName,
        keys: { pk, sk },
        oldData: profile(),
        ...(removedBy ? { removedBy } : {}),
      }),
    ).toEqual({ items: [], pointers: [], eventPartitions: [] });
  });
});
