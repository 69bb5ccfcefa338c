// The tracking domain events (catalogue entries) and how they follow from changes in the store (the outbox).
import { gunzipSync } from 'node:zlib';
import * as z from 'zod';
import { defineDomainEvent } from '../shared/events.ts';
import { consentChanged } from './consent.ts';
import { DEVICE_TYPES, EVENT_TYPES } from './model.ts';
import { emailOf, identityKey } from './profile.ts';
import { CHANNELS, enrichedEventSchema, eventSessionSchema, profileCoreSchema } from './schemas.ts';

export const eventTracked = defineDomainEvent({
  detailType: 'event.tracked',
  source: 'nurture.tracking',
  detail: z.object({
    /** Consumers dedupe on this: a replayed or re-published event carries the same key. */
    dedupeKey: z.string(),
    profileId: z.string(),
    sourceId: z.string(),
    messageId: z.string(),
    type: z.enum(EVENT_TYPES),
    event: z.string().nullable(),
    name: z.string().nullable(),
    userId: z.string().nullable(),
    anonymousId: z.string().nullable(),
    eventTime: z.string(),
    channel: z.enum(CHANNELS),
    campaign: z.string().nullable(),
    landingPage: z.string().nullable(),
    device: z.enum(DEVICE_TYPES),
    properties: z.record(z.string(), z.json()),
    /**
     * Whether the event carried a valid email address (`traits.email` of an identify, `context.traits.email`, or
     * `properties.email` of a track call such as `Signed Up`): what makes a profile a lead by default (KPIS.md).
     * The address itself is not repeated here.
     */
    hasEmail: z.boolean().default(false),
    /** Whether this event started a session of its profile (false for events stored before this was recorded). */
    sessionStart: z.boolean().default(false),
    /** The session the event belongs to (channel, campaign, landing page, device of its first event); null if unknown. */
    session: z
      .object({
        channel: z.enum(CHANNELS),
        campaign: z.string().nullable(),
        landingPage: z.string().nullable(),
        device: z.enum(DEVICE_TYPES).nullable(),
      })
      .nullable()
      .default(null),
    /** The profile's first touch once the event was applied; null if unknown. */
    firstTouch: z
      .object({ channel: z.enum(CHANNELS), campaign: z.string().nullable() })
      .nullable()
      .default(null),
  }),
});

export const profileIdentified = defineDomainEvent({
  detailType: 'profile.identified',
  source: 'nurture.tracking',
  detail: z.object({
    dedupeKey: z.string(),
    profileId: z.string(),
    userId: z.string().nullable(),
    emails: z.array(z.string()),
    /** Identifiers new in this change. */
    newUserId: z.boolean(),
    newEmails: z.array(z.string()),
  }),
});

export const profileMerged = defineDomainEvent({
  detailType: 'profile.merged',
  source: 'nurture.tracking',
  detail: z.object({ dedupeKey: z.string(), fromProfileId: z.string(), intoProfileId: z.string() }),
});

/**
 * A profile's consent choice changed, from tracking or the admin API alike: segments re-evaluate on it, so a
 * withdrawal takes effect within seconds. Not among TRACKING_EVENTS, which journeys and KPIs subscribe to whole.
 */
export const profileConsentChanged = defineDomainEvent({
  detailType: 'profile.consent_changed',
  source: 'nurture.tracking',
  detail: z.object({
    dedupeKey: z.string(),
    profileId: z.string(),
    categoryPreferences: z.record(z.string(), z.boolean()),
    updatedAt: z.string(),
    source: z.string(),
  }),
});

export const TRACKING_EVENTS = [eventTracked, profileIdentified, profileMerged] as const;

export type TrackingDomainEvent =
  | { detailType: 'event.tracked'; detail: z.infer<typeof eventTracked.detail> }
  | { detailType: 'profile.identified'; detail: z.infer<typeof profileIdentified.detail> }
  | { detailType: 'profile.merged'; detail: z.infer<typeof profileMerged.detail> }
  | { detailType: 'profile.consent_changed'; detail: z.infer<typeof profileConsentChanged.detail> };

/** One change of one item, as a DynamoDB stream delivers it (binary attributes may arrive base64-encoded). */
export interface ItemChange {
  readonly eventName: 'INSERT' | 'MODIFY' | 'REMOVE';
  readonly keys: { readonly pk: string; readonly sk: string };
  readonly newData?: unknown;
  readonly oldData?: unknown;
}

/** What to remove once DynamoDB's TTL removed an anonymous profile, so nothing of the visitor outlives it. */
export interface ExpiryCleanUp {
  /** The profile's traits item. */
  readonly items: ReadonlyArray<{ pk: string; sk: string }>;
  /** Identity pointers to delete only while they still point to the expired profile (a visitor may be back). */
  readonly pointers: ReadonlyArray<{ pk: string; sk: string; profileId: string }>;
  /** Partitions of raw events filed under the profile's anonymous ids. */
  readonly eventPartitions: readonly string[];
}

const NOTHING: ExpiryCleanUp = { items: [], pointers: [], eventPartitions: [] };

/**
 * What to delete when DynamoDB's TTL removed a profile (an anonymous profile never identified): its traits, and
 * unless it was merged into another profile (which then owns its anonymous ids and their events), its identity
 * pointers and its raw events, which would otherwise stay for `eventRetentionDays`. Only TTL deletions count (the
 * stream marks them with the DynamoDB service principal); erasure has its own path.
 */
export function cleanUpAfterExpiry(change: {
  readonly eventName: string;
  readonly keys: { readonly pk: string; readonly sk: string };
  readonly oldData?: unknown;
  readonly removedBy?: string;
}): ExpiryCleanUp {
  if (change.eventName !== 'REMOVE' || change.keys.sk !== 'PROFILE' || !change.keys.pk.startsWith('PROFILE#'))
    return NOTHING;
  if (change.removedBy !== 'dynamodb.amazonaws.com') return NOTHING;
  const traits = { pk: change.keys.pk, sk: 'TRAITS' };
  const profile = storedProfile.safeParse(change.oldData);
  // Identified or merged away: the identifiers belong to a profile that lives on.
  if (!profile.success || profile.data.mergedInto !== null || profile.data.userId !== null)
    return { ...NOTHING, items: [traits] };
  const anonymous = profile.data.anonymousIds.map((value) => identityKey({ kind: 'anonymousId', value }));
  return {
    items: [traits],
    pointers: anonymous.map((key) => ({ pk: `IDENTITY#${key}`, sk: 'IDENTITY', profileId: profile.data.id })),
    eventPartitions: anonymous.map((key) => `EVENTS#${key}`),
  };
}

/** Decodes a stream image's gzip `d` attribute, given either bytes or Lambda's base64 string. */
export function decodeData(value: string | Uint8Array | undefined): unknown {
  if (value === undefined) return undefined;
  const bytes = typeof value === 'string' ? Buffer.from(value, 'base64') : value;
  return JSON.parse(gunzipSync(bytes).toString('utf8'));
}

const storedEvent = z.object({
  event: enrichedEventSchema,
  profileId: z.string(),
  session: eventSessionSchema.optional(),
});
const storedProfile = profileCoreSchema.omit({ version: true });

/** The domain events an item change stands for; items other than events and profiles stand for none. */
export function domainEventsFor(change: ItemChange): TrackingDomainEvent[] {
  if (change.keys.pk.startsWith('EVENTS#') && change.eventName === 'INSERT') {
    const { event, profileId, session } = storedEvent.parse(change.newData);
    return [
      {
        detailType: 'event.tracked',
        detail: {
          dedupeKey: `${event.sourceId}:${event.messageId}`,
          profileId,
          sourceId: event.sourceId,
          messageId: event.messageId,
          type: event.type,
          event: event.event ?? null,
          name: event.name ?? null,
          userId: event.userId ?? null,
          anonymousId: event.anonymousId ?? null,
          eventTime: event.enrichment.eventTime,
          channel: event.enrichment.touch.channel,
          campaign: event.enrichment.touch.campaign,
          landingPage: event.enrichment.touch.landingPage,
          device: event.enrichment.device,
          properties: event.properties,
          hasEmail: emailOf(event) !== undefined,
          sessionStart: session?.start ?? false,
          session:
            session === undefined
              ? null
              : {
                  channel: session.channel,
                  campaign: session.campaign,
                  landingPage: session.landingPage,
                  device: session.device,
                },
          firstTouch: session?.firstTouch ?? null,
        },
      },
    ];
  }
  if (
    change.keys.pk.startsWith('PROFILE#') &&
    change.keys.sk === 'PROFILE' &&
    change.eventName !== 'REMOVE'
  ) {
    const after = storedProfile.parse(change.newData);
    const before = change.oldData === undefined ? undefined : storedProfile.parse(change.oldData);
    const out: TrackingDomainEvent[] = [];
    if (after.mergedInto !== null && before?.mergedInto !== after.mergedInto) {
      out.push({
        detailType: 'profile.merged',
        detail: {
          dedupeKey: `merge:${after.id}:${after.mergedInto}`,
          fromProfileId: after.id,
          intoProfileId: after.mergedInto,
        },
      });
      return out;
    }
    const newUserId = after.userId !== null && before?.userId !== after.userId;
    const newEmails = after.emails.filter((e) => !(before?.emails ?? []).includes(e));
    if (newUserId || newEmails.length > 0) {
      out.push({
        detailType: 'profile.identified',
        detail: {
          dedupeKey: `identified:${after.id}:${after.userId ?? ''}:${[...after.emails].sort().join(',')}`,
          profileId: after.id,
          userId: after.userId,
          emails: after.emails,
          newUserId,
          newEmails,
        },
      });
    }
    const consent = after.consent;
    if (consent !== null && consentChanged(before?.consent ?? null, consent)) {
      out.push({
        detailType: 'profile.consent_changed',
        detail: {
          dedupeKey: `consent:${after.id}:${consent.updatedAt}:${JSON.stringify(consent.categoryPreferences)}`,
          profileId: after.id,
          categoryPreferences: consent.categoryPreferences,
          updatedAt: consent.updatedAt,
          source: consent.source,
        },
      });
    }
    return out;
  }
  return [];
}
