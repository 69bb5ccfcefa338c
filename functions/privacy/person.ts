// Who a person is across their profiles, which stored items are theirs, and what an erasure may keep: pure rules.
import { createHash } from 'node:crypto';
import * as z from 'zod';
import { addressHash } from '../messaging/address.ts';
import type { JsonValue } from '../tracking/model.ts';
import { defaultProfileId, type Identity, normalizeEmail, type ProfileCore } from '../tracking/profile.ts';

export const IDENTIFIER_KINDS = ['email', 'userId', 'anonymousId', 'profileId'] as const;
export type IdentifierKind = (typeof IDENTIFIER_KINDS)[number];

/** What a data subject request names the person by. */
export interface PersonIdentifier {
  readonly kind: IdentifierKind;
  readonly value: string;
}

export class InvalidIdentifierError extends Error {
  override name = 'InvalidIdentifierError';
}

const identifierFields = z.object({
  email: z.string().min(1).max(320).optional(),
  userId: z.string().min(1).max(1024).optional(),
  anonymousId: z.string().min(1).max(1024).optional(),
  profileId: z.string().min(1).max(256).optional(),
});

/** Exactly one of email, userId, anonymousId or profileId; emails are normalized as profiles store them. */
export function parseIdentifier(input: unknown): PersonIdentifier {
  const parsed = identifierFields.safeParse(input);
  if (!parsed.success) throw new InvalidIdentifierError(parsed.error.issues.map((i) => i.message).join('; '));
  const given = IDENTIFIER_KINDS.flatMap((kind) => {
    const value = parsed.data[kind];
    return value === undefined ? [] : [{ kind, value }];
  });
  const [only] = given;
  if (only === undefined || given.length > 1)
    throw new InvalidIdentifierError('give exactly one of email, userId, anonymousId or profileId');
  if (only.kind !== 'email') return only;
  const email = normalizeEmail(only.value);
  if (email === undefined) throw new InvalidIdentifierError('email is not an email address');
  return { kind: 'email', value: email };
}

/** Every identifier and profile id known to belong to one person, each list sorted and without repeats. */
export interface Person {
  readonly profileIds: readonly string[];
  readonly userIds: readonly string[];
  readonly anonymousIds: readonly string[];
  readonly emails: readonly string[];
}

const union = (a: readonly string[], b: readonly string[]) => [...new Set([...a, ...b])].sort();

export function personOf(identifier: PersonIdentifier): Person {
  return {
    profileIds: identifier.kind === 'profileId' ? [identifier.value] : [],
    userIds: identifier.kind === 'userId' ? [identifier.value] : [],
    anonymousIds: identifier.kind === 'anonymousId' ? [identifier.value] : [],
    emails: identifier.kind === 'email' ? [identifier.value] : [],
  };
}

export function mergePersons(a: Person, b: Person): Person {
  return {
    profileIds: union(a.profileIds, b.profileIds),
    userIds: union(a.userIds, b.userIds),
    anonymousIds: union(a.anonymousIds, b.anonymousIds),
    emails: union(a.emails, b.emails),
  };
}

/** A profile's ids and identifiers, and the profiles it was merged from or into: all the same person. */
export function personOfProfile(profile: ProfileCore): Person {
  return {
    profileIds: union(
      [profile.id, ...profile.mergedFrom],
      profile.mergedInto === null ? [] : [profile.mergedInto],
    ),
    userIds: profile.userId === null ? [] : [profile.userId],
    anonymousIds: union(profile.anonymousIds, []),
    emails: union(profile.emails, []),
  };
}

/** The identities whose identity-map items and event partitions belong to the person. */
export function identitiesOf(person: Person): Identity[] {
  return [
    ...person.userIds.map((value): Identity => ({ kind: 'userId', value })),
    ...person.anonymousIds.map((value): Identity => ({ kind: 'anonymousId', value })),
    ...person.emails.map((value): Identity => ({ kind: 'email', value })),
  ];
}

/** Profiles an identity may have without any identity-map item: the ones named after it (emails have none). */
export function defaultProfilesOf(person: Person): string[] {
  return identitiesOf(person)
    .filter((identity) => identity.kind !== 'email')
    .map(defaultProfileId);
}

export const ITEM_KINDS = [
  'journeyTimer',
  'enrollment',
  'segmentRecheck',
  'segmentMembership',
  'profileSegment',
  'segmentExit',
  'message',
  'banner',
  'webhookDelivery',
  'kpiMarker',
  'lead',
  'event',
  'identity',
  'traits',
  'other',
  'profile',
] as const;
/** Listed in erasure order: journeys stop first, the profile (what consumers check before acting) goes last. */
export type ItemKind = (typeof ITEM_KINDS)[number];

/** One stored item that identifies the person, decoded to plain JSON for an export. */
export interface PersonItem {
  readonly kind: ItemKind;
  readonly pk: string;
  readonly sk: string;
  readonly data: { readonly [attribute: string]: JsonValue };
}

/** What an item in a profile's own partition is, by its sort key; unknown kinds are still the person's. */
export function kindOfProfileItem(sk: string): ItemKind {
  if (sk === 'PROFILE') return 'profile';
  if (sk === 'TRAITS') return 'traits';
  if (sk === 'LEAD') return 'lead';
  if (sk.startsWith('ENROLLMENT#')) return 'enrollment';
  if (sk.startsWith('SEGMENT#')) return 'profileSegment';
  if (sk.startsWith('SEGEXIT#')) return 'segmentExit';
  if (sk.startsWith('SEGTIMER#')) return 'segmentRecheck';
  return 'other';
}

export type ErasedCounts = Partial<Record<ItemKind, number>>;

export function countByKind(items: readonly PersonItem[]): ErasedCounts {
  const counts: ErasedCounts = {};
  for (const item of items) counts[item.kind] = (counts[item.kind] ?? 0) + 1;
  return counts;
}

export function addCounts(a: ErasedCounts, b: ErasedCounts): ErasedCounts {
  const sum: ErasedCounts = { ...a };
  for (const kind of ITEM_KINDS) {
    const more = b[kind];
    if (more !== undefined) sum[kind] = (sum[kind] ?? 0) + more;
  }
  return sum;
}

/** Items in the order an erasure deletes them. */
export function inErasureOrder(items: readonly PersonItem[]): PersonItem[] {
  const rank = (kind: ItemKind) => ITEM_KINDS.indexOf(kind);
  return [...items].sort((a, b) => rank(a.kind) - rank(b.kind));
}

/**
 * Whether a JSON document (a webhook payload) concerns the person: one of its string values is one of their
 * profile ids, userIds, anonymousIds or emails. Whole values only, so a short id cannot match inside other text.
 */
export function mentionsPerson(json: string, person: Person): boolean {
  const lower = json.toLowerCase();
  return (
    [...person.profileIds, ...person.userIds, ...person.anonymousIds].some((id) =>
      json.includes(JSON.stringify(id)),
    ) || person.emails.some((email) => lower.includes(JSON.stringify(email)))
  );
}

/** Ids shorter than this are too common as plain text to call a mention of the person. */
const MIN_NAMED_ID_LENGTH = 6;

/** Whether free text (an erasure's reason) names the person: any email, or any id long enough to be theirs. */
export function namesPerson(text: string, person: Person): boolean {
  const lower = text.toLowerCase();
  return (
    person.emails.some((email) => lower.includes(email)) ||
    [...person.profileIds, ...person.userIds, ...person.anonymousIds].some(
      (id) => id.length >= MIN_NAMED_ID_LENGTH && text.includes(id),
    )
  );
}

/** One-way: lets an auditor confirm "was X erased?" given X, without the record naming anyone. */
export function hashIdentifier(value: string): string {
  return createHash('sha256').update(value).digest('hex');
}

/** The key of an erasure in progress: the same request run again finds it and finishes the job. */
export function erasureKey(identifier: PersonIdentifier): string {
  return hashIdentifier(`${identifier.kind}:${identifier.value}`);
}

export interface ErasureAudit {
  readonly requestId: string;
  /** When the erasure was first requested; a resumed erasure keeps it. */
  readonly requestedAt: string;
  readonly finishedAt: string;
  readonly requestedBy: string;
  readonly reason: string;
  readonly identifier: { readonly kind: IdentifierKind; readonly hash: string };
  /** SHA-256 (hex) of each identifier; emails as their suppression entry's address hash. */
  readonly hashed: {
    readonly profileIds: readonly string[];
    readonly userIds: readonly string[];
    readonly anonymousIds: readonly string[];
    readonly emails: readonly string[];
  };
  readonly erased: ErasedCounts;
  /** Addresses kept suppressed under their hash. */
  readonly suppressed: number;
}

export function erasureAudit(input: {
  requestId: string;
  requestedAt: string;
  finishedAt: string;
  requestedBy: string;
  reason: string;
  identifier: PersonIdentifier;
  person: Person;
  erased: ErasedCounts;
}): ErasureAudit {
  const { identifier, person } = input;
  return {
    requestId: input.requestId,
    requestedAt: input.requestedAt,
    finishedAt: input.finishedAt,
    requestedBy: input.requestedBy,
    reason: input.reason,
    identifier: {
      kind: identifier.kind,
      hash: identifier.kind === 'email' ? addressHash(identifier.value) : hashIdentifier(identifier.value),
    },
    hashed: {
      profileIds: person.profileIds.map(hashIdentifier),
      userIds: person.userIds.map(hashIdentifier),
      anonymousIds: person.anonymousIds.map(hashIdentifier),
      emails: person.emails.map(addressHash),
    },
    erased: input.erased,
    suppressed: person.emails.length,
  };
}

/** Export sections, one per kind of item, named as a reader of the export would look for them. */
const SECTIONS: Record<ItemKind, string> = {
  profile: 'profiles',
  traits: 'traits',
  identity: 'identities',
  event: 'events',
  message: 'messages',
  banner: 'banners',
  webhookDelivery: 'webhookDeliveries',
  lead: 'leads',
  enrollment: 'journeyEnrollments',
  journeyTimer: 'journeyTimers',
  segmentMembership: 'segmentMemberships',
  profileSegment: 'profileSegments',
  segmentExit: 'segmentExits',
  segmentRecheck: 'segmentRechecks',
  kpiMarker: 'kpiDistinctMarkers',
  other: 'otherItems',
};

export interface AddressRecord {
  readonly email: string;
  readonly addressHash: string;
  readonly state: JsonValue;
}

/** The export document: everything held about the person, grouped by kind, with consent pulled out per profile. */
export function exportDocument(input: {
  identifier: PersonIdentifier;
  person: Person;
  items: readonly PersonItem[];
  addresses: readonly AddressRecord[];
  exportedAt: string;
}): { [key: string]: JsonValue } {
  const sections: { [section: string]: JsonValue[] } = {};
  for (const section of Object.values(SECTIONS)) sections[section] = [];
  for (const item of input.items) sections[SECTIONS[item.kind]]?.push(item.data);
  const consent: JsonValue[] = input.items.flatMap((item) => {
    if (item.kind !== 'profile') return [];
    const profile = item.data.d;
    if (profile === null || typeof profile !== 'object' || Array.isArray(profile)) return [];
    return [{ profileId: item.pk.slice('PROFILE#'.length), consent: profile.consent ?? null }];
  });
  return {
    exportedAt: input.exportedAt,
    requestedFor: { kind: input.identifier.kind, value: input.identifier.value },
    person: {
      profileIds: [...input.person.profileIds],
      userIds: [...input.person.userIds],
      anonymousIds: [...input.person.anonymousIds],
      emails: [...input.person.emails],
    },
    counts: { ...countByKind(input.items) },
    consent,
    addresses: input.addresses.map((a) => ({ email: a.email, addressHash: a.addressHash, state: a.state })),
    ...sections,
  };
}
