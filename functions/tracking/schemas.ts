// Schemas for what the tracking store reads back from DynamoDB: stored data is parsed, never cast.
import * as z from 'zod';
import { consentStateSchema } from './consent.ts';
import { DEVICE_TYPES, type EnrichedEvent, EVENT_TYPES } from './model.ts';
import type { EventSession, ProfileCore, ProfileTraits } from './profile.ts';

export const CHANNELS = [
  'paid search',
  'paid social',
  'display',
  'affiliate',
  'email',
  'organic social',
  'organic search',
  'referral',
  'direct',
  'other',
] as const;

const json = z.json();
const jsonObject = z.record(z.string(), json);
const channel = z.enum(CHANNELS);

export const touchSchema = z.object({
  channel,
  campaign: z.string().nullable(),
  landingPage: z.string().nullable(),
  referrer: z.string().nullable(),
  source: z.string().nullable(),
  medium: z.string().nullable(),
});
// Profiles stored before touches carried messageId/fromPageView read with neutral defaults.
const timedTouch = touchSchema.extend({
  at: z.string(),
  messageId: z.string().default(''),
  fromPageView: z.boolean().default(true),
});

export const profileCoreSchema = z.object({
  id: z.string(),
  userId: z.string().nullable(),
  anonymousIds: z.array(z.string()),
  emails: z.array(z.string()),
  firstSeen: z.string().nullable(),
  lastSeen: z.string().nullable(),
  firstTouch: timedTouch.nullable(),
  lastTouch: timedTouch.nullable(),
  counters: z.object({
    events: z.number(),
    pageViews: z.number(),
    sessions: z.number(),
    sessionsByChannel: z.partialRecord(channel, z.number()),
  }),
  session: z
    .object({
      startedAt: z.string(),
      lastEventAt: z.string(),
      channel,
      campaign: z.string().nullable().optional(),
      source: z.string().nullable().optional(),
      landingPage: z.string().nullable().optional(),
      device: z.enum(DEVICE_TYPES).nullable().optional(),
    })
    .nullable(),
  consent: consentStateSchema.nullable(),
  mergedFrom: z.array(z.string()),
  mergedInto: z.string().nullable(),
  version: z.number(),
}) satisfies z.ZodType<ProfileCore>;

export const profileTraitsSchema = z.object({
  id: z.string(),
  traits: jsonObject,
  setBy: z.record(z.string(), z.object({ at: z.string(), messageId: z.string() })),
  version: z.number(),
}) satisfies z.ZodType<ProfileTraits>;

export const enrichedEventSchema = z.object({
  type: z.enum(EVENT_TYPES),
  protocol: z.enum(['segment', 'snowplow', 'pixel']),
  messageId: z.string(),
  anonymousId: z.string().optional(),
  userId: z.string().optional(),
  event: z.string().optional(),
  name: z.string().optional(),
  groupId: z.string().optional(),
  previousId: z.string().optional(),
  traits: jsonObject,
  properties: jsonObject,
  context: jsonObject,
  clientTimestamp: z.string().optional(),
  sentAt: z.string().optional(),
  writeKey: z.string().optional(),
  sourceId: z.string(),
  enrichment: z.object({
    eventTime: z.string(),
    receivedAt: z.string(),
    touch: touchSchema,
    device: z.enum(DEVICE_TYPES),
    isBot: z.boolean(),
    ip: z.string().nullable(),
    browser: z.string().nullable(),
    os: z.string().nullable(),
  }),
}) satisfies z.ZodType<EnrichedEvent>;

/** What ingest decided about a stored event's session (see `EventSession`); absent on events stored before. */
export const eventSessionSchema = z.object({
  start: z.boolean(),
  channel,
  campaign: z.string().nullable(),
  landingPage: z.string().nullable(),
  device: z.enum(DEVICE_TYPES).nullable(),
  firstTouch: z.object({ channel, campaign: z.string().nullable() }).nullable(),
}) satisfies z.ZodType<EventSession>;
