// Data subject requests as pure rules: naming a person, finding their identifiers, erasure order, the audit, the export.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { addressHash } from '../../../functions/messaging/address.ts';
import {
  erasureAudit,
  exportDocument,
  InvalidIdentifierError,
  ITEM_KINDS,
  inErasureOrder,
  kindOfProfileItem,
  mentionsPerson,
  mergePersons,
  namesPerson,
  type Person,
  type PersonItem,
  parseIdentifier,
  personOfProfile,
} from '../../../functions/privacy/person.ts';
import { emptyProfile } from '../../../functions/tracking/profile.ts';

const ada: Person = {
  profileIds: ['u_9f8e7d6c5b4a'],
  userIds: ['user-1234567'],
  anonymousIds: ['anon-abcdefgh'],
  emails: ['ada@example.com'],
};

function item(kind: PersonItem['kind'], sk: string = kind): PersonItem {
  return { kind, pk: 'PROFILE#u_9f8e7d6c5b4a', sk, data: { sk } };
}

describe('naming the person a request is about', () => {
  it('takes exactly one identifier and normalizes an email as profiles store it', () => {
    expect(parseIdentifier({ email: '  Ada@Example.COM ' })).toEqual({
      kind: 'email',
      value: 'ada@example.com',
    });
    expect(parseIdentifier({ profileId: 'u_1' })).toEqual({ kind: 'profileId', value: 'u_1' });
  });

  it('refuses none, two, or an email that is not an address', () => {
    expect(() => parseIdentifier({})).toThrow(InvalidIdentifierError);
    expect(() => parseIdentifier({ userId: 'u', anonymousId: 'a' })).toThrow(InvalidIdentifierError);
    expect(() => parseIdentifier({ email: 'not an address' })).toThrow(InvalidIdentifierError);
  });
});

describe('who a person is', () => {
  it('is every identifier of a profile and the profiles it was merged from and into', () => {
    const profile = {
      ...emptyProfile('u_live'),
      userId: 'user-1',
      anonymousIds: ['anon-2', 'anon-1'],
      emails: ['ada@example.com'],
      mergedFrom: ['a_old'],
    };

    expect(personOfProfile(profile)).toEqual({
      profileIds: ['a_old', 'u_live'],
      userIds: ['user-1'],
      anonymousIds: ['anon-1', 'anon-2'],
      emails: ['ada@example.com'],
    });
  });

  it('gathers the same person whatever order their profiles are found in', () => {
    const ids = fc.array(fc.string({ minLength: 1, maxLength: 4 }), { maxLength: 4 });
    const person = fc.record({ profileIds: ids, userIds: ids, anonymousIds: ids, emails: ids });
    fc.assert(
      fc.property(person, person, person, (a, b, c) => {
        expect(mergePersons(mergePersons(a, b), c)).toEqual(mergePersons(c, mergePersons(b, a)));
      }),
    );
  });
});

describe('what is theirs and in which order it goes', () => {
  it('reads the kind of an item in a profile partition from its sort key, unknown kinds included', () => {
    expect(kindOfProfileItem('PROFILE')).toBe('profile');
    expect(kindOfProfileItem('ENROLLMENT#welcome')).toBe('enrollment');
    expect(kindOfProfileItem('SEGMENT#trial')).toBe('profileSegment');
    expect(kindOfProfileItem('SEGTIMER#trial')).toBe('segmentRecheck');
    expect(kindOfProfileItem('CONSENT#email')).toBe('other');
  });

  it('stops journeys first and removes the profile, what consumers check before acting, last', () => {
    const items = [...ITEM_KINDS].reverse().map((kind) => item(kind));

    const ordered = inErasureOrder(items).map((i) => i.kind);

    expect(ordered[0]).toBe('journeyTimer');
    expect(ordered[1]).toBe('enrollment');
    expect(ordered.at(-1)).toBe('profile');
  });

  it('counts a webhook payload as theirs only when a whole value is one of their identifiers', () => {
    const short: Person = { ...ada, anonymousIds: ['a'] };

    expect(mentionsPerson(JSON.stringify({ lead: { email: 'ADA@example.com' } }), ada)).toBe(true);
    expect(mentionsPerson(JSON.stringify({ profileId: 'u_9f8e7d6c5b4a' }), ada)).toBe(true);
    expect(mentionsPerson(JSON.stringify({ stage: 'a', note: 'a lead' }), { ...short, emails: [] })).toBe(
      true,
    );
    expect(mentionsPerson(JSON.stringify({ note: 'a lead' }), { ...short, emails: [] })).toBe(false);
  });

  it('finds a person named in free text by email or a long id, not by a short common one', () => {
    expect(namesPerson('ticket from Ada@Example.com', ada)).toBe(true);
    expect(namesPerson('user user-1234567 asked', ada)).toBe(true);
    expect(namesPerson('a request', { ...ada, anonymousIds: ['a'], emails: [] })).toBe(false);
  });
});

describe('the erasure audit record', () => {
  it('holds hashes, counts, requester and reason, and none of the identifiers', () => {
    const audit = erasureAudit({
      requestId: 'era_1',
      requestedAt: '2026-11-20T10:00:00.000Z',
      finishedAt: '2026-11-20T10:00:01.000Z',
      requestedBy: 'dpo',
      reason: 'article 17',
      identifier: { kind: 'email', value: 'ada@example.com' },
      person: ada,
      erased: { profile: 1, event: 12 },
    });

    const text = JSON.stringify(audit);
    for (const id of [...ada.profileIds, ...ada.userIds, ...ada.anonymousIds, ...ada.emails])
      expect(text).not.toContain(id);
    expect(audit.identifier.hash).toBe(addressHash('ada@example.com'));
    expect(audit).toMatchObject({ erased: { profile: 1, event: 12 }, suppressed: 1, requestedBy: 'dpo' });
  });
});

describe('the export document', () => {
  it('puts each item under its section and pulls consent out of each profile', () => {
    const consent = {
      categoryPreferences: { marketing: true },
      updatedAt: '2026-11-01T00:00:00Z',
      source: 'banner',
    };
    const profile: PersonItem = { ...item('profile', 'PROFILE'), data: { d: { consent } } };

    const document = exportDocument({
      identifier: { kind: 'email', value: 'ada@example.com' },
      person: ada,
      items: [profile, item('event', 'EVT#1'), item('event', 'EVT#2'), item('enrollment', 'ENROLLMENT#j')],
      addresses: [],
      exportedAt: '2026-11-20T10:00:00.000Z',
    });

    expect(document.events).toHaveLength(2);
    expect(document.journeyEnrollments).toHaveLength(1);
    expect(document.messages).toEqual([]);
    expect(document.consent).toEqual([{ profileId: 'u_9f8e7d6c5b4a', consent }]);
    expect(document.counts).toEqual({ profile: 1, event: 2, enrollment: 1 });
  });
});
