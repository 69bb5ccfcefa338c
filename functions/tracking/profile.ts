// Profiles as pure data: applying tracked events, merging two profiles, and the identity rules behind them.
import { createHash } from 'node:crypto';
import { applyEnrichment, ENRICHMENT_TRAIT, type EnrichmentOutcome } from '../enrichment/enricher.ts';
import {
  type ConsentChange,
  type ConsentState,
  evidenceFrom,
  mergeConsent,
  recordConsent,
} from './consent.ts';
import type { Channel, DeviceType, EnrichedEvent, JsonObject, JsonValue, Touch } from './model.ts';

/** A session ends after 30 minutes without events (KPIS.md). */
export const SESSION_GAP_MS = 30 * 60 * 1000;
/** Anonymous profiles that are never identified expire this long after they were last seen (default of -c anonymousProfileRetentionDays). */
export const ANONYMOUS_PROFILE_TTL_DAYS = 30;
/** Bounds that keep a profile item small (DynamoDB bills writes per KB). */
export const MAX_ANONYMOUS_IDS = 50;
export const MAX_EMAILS = 10;
/**
 * Largest traits item (traits and their setters, as JSON). Past DynamoDB's 400 KB item limit every later write to
 * the profile would fail, and anyone holding the public write key could do that with enough identify calls; gzip
 * cannot be counted on (random values do not compress), so the bound is on the JSON. A trait past it is not stored.
 */
export const MAX_TRAITS_BYTES = 300 * 1024;

export interface TimedTouch extends Touch {
  /** Event time of the event that started the session. */
  readonly at: string;
  /** That event's message id: breaks ties between touches at the same time the same way everywhere. */
  readonly messageId: string;
  /** Whether it was a page or screen view (a session start, KPIS.md) rather than, say, a server-side identify. */
  readonly fromPageView: boolean;
}

/**
 * Orders candidate touches: page views before other events, then earlier first, then by message id.
 * A total order, so the first touch is the same whatever order events and merges arrive in.
 */
export function compareTouches(a: TimedTouch, b: TimedTouch): number {
  if (a.fromPageView !== b.fromPageView) return a.fromPageView ? -1 : 1;
  if (a.at !== b.at) return a.at < b.at ? -1 : 1;
  return a.messageId < b.messageId ? -1 : a.messageId > b.messageId ? 1 : 0;
}

export interface ProfileCounters {
  events: number;
  pageViews: number;
  sessions: number;
  /** Sessions per channel. */
  sessionsByChannel: Partial<Record<Channel, number>>;
}

export type { ConsentState } from './consent.ts';

/** The profile's core item: small, written on every batch that touches the profile. */
export interface ProfileCore {
  readonly id: string;
  userId: string | null;
  anonymousIds: string[];
  emails: string[];
  firstSeen: string | null;
  lastSeen: string | null;
  firstTouch: TimedTouch | null;
  lastTouch: TimedTouch | null;
  counters: ProfileCounters;
  /** The session the last event belongs to. */
  session: {
    startedAt: string;
    lastEventAt: string;
    channel: Channel;
    campaign?: string | null;
    source?: string | null;
    /** Path of the session's first page; absent on profiles stored before sessions recorded it. */
    landingPage?: string | null;
    device?: DeviceType | null;
  } | null;
  consent: ConsentState | null;
  /** Profiles merged into this one. */
  mergedFrom: string[];
  /** Set when this profile was merged into another; it then only forwards. */
  mergedInto: string | null;
  /** Optimistic-concurrency version: every write expects the version it read. */
  version: number;
}

/** Traits with, per key, the event time and message that set them: last write wins by event time. */
export interface ProfileTraits {
  readonly id: string;
  traits: JsonObject;
  setBy: Record<string, { at: string; messageId: string }>;
  version: number;
}

export function emptyProfile(id: string): ProfileCore {
  return {
    id,
    userId: null,
    anonymousIds: [],
    emails: [],
    firstSeen: null,
    lastSeen: null,
    firstTouch: null,
    lastTouch: null,
    counters: { events: 0, pageViews: 0, sessions: 0, sessionsByChannel: {} },
    session: null,
    consent: null,
    mergedFrom: [],
    mergedInto: null,
    version: 0,
  };
}

export function emptyTraits(id: string): ProfileTraits {
  return { id, traits: {}, setBy: {}, version: 0 };
}

function hashId(prefix: string, value: string): string {
  return `${prefix}_${createHash('sha256').update(value).digest('base64url').slice(0, 22)}`;
}

/**
 * Profile IDs follow from the identifier a profile was first known by, so the first event of a visitor needs no
 * identity-map write: `a_…` for an anonymousId, `u_…` for a userId. Merges redirect through the identity map.
 */
export function defaultProfileId(identity: Identity): string {
  return identity.kind === 'anonymousId' ? hashId('a', identity.value) : hashId('u', identity.value);
}

export type Identity =
  | { readonly kind: 'anonymousId'; readonly value: string }
  | { readonly kind: 'userId'; readonly value: string }
  | { readonly kind: 'email'; readonly value: string };

export function identityKey(identity: Identity): string {
  const prefix = identity.kind === 'anonymousId' ? 'a' : identity.kind === 'userId' ? 'u' : 'e';
  return `${prefix}:${identity.value}`;
}

/** The identity an event is filed under: its userId when it has one, else its anonymousId. */
export function primaryIdentity(event: { userId?: string; anonymousId?: string }): Identity | undefined {
  if (event.userId) return { kind: 'userId', value: event.userId };
  if (event.anonymousId) return { kind: 'anonymousId', value: event.anonymousId };
  return undefined;
}

export function normalizeEmail(value: JsonValue | undefined): string | undefined {
  if (typeof value !== 'string') return undefined;
  const email = value.trim().toLowerCase();
  return /^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(email) ? email : undefined;
}

function isRecord(value: JsonValue | undefined): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Traits an event sets: identify/group traits, and `context.traits` on any call. Never `enrichment`: only the
 * enrichers write it (docs/enrichment.md), so no caller can forge its provenance.
 */
/** The email address an event makes known: `traits.email` (identify, or `context.traits`) or `properties.email`. */
export function emailOf(event: EnrichedEvent): string | undefined {
  return normalizeEmail(traitsOf(event).email) ?? normalizeEmail(event.properties.email);
}

export function traitsOf(event: EnrichedEvent): JsonObject {
  const contextTraits = isRecord(event.context.traits) ? event.context.traits : {};
  const { [ENRICHMENT_TRAIT]: _reserved, ...traits } =
    event.type === 'identify' ? { ...contextTraits, ...event.traits } : contextTraits;
  return traits;
}

/** Segment's consent object (`context.consent.categoryPreferences`) or its consent-updated track event. */
export function consentOf(event: EnrichedEvent): { readonly [category: string]: boolean } | undefined {
  const fromContext = isRecord(event.context.consent) ? event.context.consent.categoryPreferences : undefined;
  const fromEvent =
    event.type === 'track' && event.event === 'Segment Consent Preference Updated'
      ? ((isRecord(event.properties.consent) ? event.properties.consent.categoryPreferences : undefined) ??
        event.properties.categoryPreferences)
      : undefined;
  const preferences = fromEvent ?? fromContext;
  if (!isRecord(preferences)) return undefined;
  const out: Record<string, boolean> = {};
  for (const [category, allowed] of Object.entries(preferences))
    if (typeof allowed === 'boolean') out[category] = allowed;
  return Object.keys(out).length > 0 ? out : undefined;
}

/** The consent choice an event carries, with its evidence (`consent.evidence`), as one change to record. */
export function consentSignalOf(event: EnrichedEvent): ConsentChange | undefined {
  const categoryPreferences = consentOf(event);
  if (categoryPreferences === undefined) return undefined;
  const fromProperties = isRecord(event.properties.consent) ? event.properties.consent : undefined;
  const fromContext = isRecord(event.context.consent) ? event.context.consent : undefined;
  const evidence = evidenceFrom(fromProperties) ?? evidenceFrom(fromContext);
  return {
    categoryPreferences,
    at: event.enrichment.eventTime,
    source: event.sourceId,
    evidence,
    messageId: event.messageId,
  };
}

/** Whether the event may be profiled: not when its own consent object withholds analytics. */
export function analyticsAllowed(event: EnrichedEvent): boolean {
  return consentOf(event)?.analytics !== false;
}

function earlier(a: string | null, b: string): string {
  return a === null || b < a ? b : a;
}

function later(a: string | null, b: string): string {
  return a === null || b > a ? b : a;
}

function addUnique(list: string[], value: string, max: number): string[] {
  if (list.includes(value)) return list;
  // The oldest entries go first when the bound is reached; the identity map still resolves them.
  return [...list, value].slice(-max);
}

/**
 * Whether the event is a visitor's own interaction, sent by a browser or an app: a page or screen view, or a track
 * call carrying page (browser) or app (mobile) context. Only these open sessions (KPIS.md: a session is a run of
 * page/track events). A server's track call (a CRM's `deal.won`, an email open recorded by messaging), an identify
 * or a group call belongs to the session it falls in, but never opens one or keeps one alive: a deal won at night
 * is not a direct visit.
 */
export function isVisitorInteraction(event: EnrichedEvent): boolean {
  if (event.type === 'page' || event.type === 'screen') return true;
  return event.type === 'track' && (isRecord(event.context.page) || isRecord(event.context.app));
}

/** Whether an event starts a new session after `session` (KPIS.md: 30 min gap, new campaign or external referrer). */
function startsSession(profile: ProfileCore, event: EnrichedEvent): boolean {
  if (!isVisitorInteraction(event)) return false;
  const session = profile.session;
  if (session === null) return true;
  const at = Date.parse(event.enrichment.eventTime);
  if (at < Date.parse(session.startedAt)) return false;
  if (at - Date.parse(session.lastEventAt) >= SESSION_GAP_MS) return true;
  const touch = event.enrichment.touch;
  const hasCampaign = touch.source !== null || touch.medium !== null || touch.campaign !== null;
  if (!(event.type === 'page' || event.type === 'screen') || !(hasCampaign || touch.referrer !== null))
    return false;
  // New campaign parameters or another external source start a session; the same ones again do not.
  return (
    touch.channel !== session.channel ||
    touch.campaign !== (session.campaign ?? null) ||
    touch.source !== (session.source ?? null)
  );
}

/** What applying an event decided about its session, recorded on the stored event for KPIs (docs/kpis.md). */
export interface EventSession {
  /** Whether this event started a session (`counters.sessions` went up for it). */
  readonly start: boolean;
  /** The session the event belongs to: channel, campaign, landing page and device of its first event. */
  readonly channel: Channel;
  readonly campaign: string | null;
  readonly landingPage: string | null;
  readonly device: DeviceType | null;
  /** The profile's first touch once the event was applied. */
  readonly firstTouch: { readonly channel: Channel; readonly campaign: string | null } | null;
}

/**
 * Applies events as `applyEvents` does and says, per messageId, whether each started a session and which session it
 * belongs to. The same decisions `applyEvents` takes, so the stored flag agrees with `counters.sessions`.
 */
export function applyEventsWithSessions(
  profile: ProfileCore,
  events: readonly EnrichedEvent[],
): { profile: ProfileCore; sessions: Map<string, EventSession> } {
  const sessions = new Map<string, EventSession>();
  const next = applyEventsTracking(profile, events, (event, after, start) => {
    const session = after.session;
    const own = event.enrichment.touch;
    sessions.set(event.messageId, {
      start,
      channel: session?.channel ?? own.channel,
      campaign: session === null ? own.campaign : (session.campaign ?? null),
      landingPage: session === null ? own.landingPage : (session.landingPage ?? null),
      device: session === null ? event.enrichment.device : (session.device ?? null),
      firstTouch:
        after.firstTouch === null
          ? null
          : { channel: after.firstTouch.channel, campaign: after.firstTouch.campaign },
    });
  });
  return { profile: next, sessions };
}

/**
 * Applies accepted (deduplicated, consented, non-bot) events to a profile's core item.
 * Events are applied in event-time order. Counters, first/last seen, identities and the first touch do not depend
 * on arrival order; sessions and the last touch assume events arrive roughly in order, as clients send them.
 */
export function applyEvents(profile: ProfileCore, events: readonly EnrichedEvent[]): ProfileCore {
  return applyEventsTracking(profile, events, () => undefined);
}

function applyEventsTracking(
  profile: ProfileCore,
  events: readonly EnrichedEvent[],
  applied: (event: EnrichedEvent, after: ProfileCore, sessionStart: boolean) => void,
): ProfileCore {
  const sorted = [...events].sort(compareEvents);
  let next: ProfileCore = {
    ...profile,
    counters: { ...profile.counters, sessionsByChannel: { ...profile.counters.sessionsByChannel } },
  };
  for (const event of sorted) {
    const at = event.enrichment.eventTime;
    const counters = next.counters;
    counters.events += 1;
    if (event.type === 'page' || event.type === 'screen') counters.pageViews += 1;
    if (event.anonymousId)
      next.anonymousIds = addUnique(next.anonymousIds, event.anonymousId, MAX_ANONYMOUS_IDS);
    if (event.userId && next.userId === null) next.userId = event.userId;
    const email = emailOf(event);
    if (email) next.emails = addUnique(next.emails, email, MAX_EMAILS);
    next.firstSeen = earlier(next.firstSeen, at);
    next.lastSeen = later(next.lastSeen, at);

    const touch: TimedTouch = {
      ...event.enrichment.touch,
      at,
      messageId: event.messageId,
      fromPageView: event.type === 'page' || event.type === 'screen',
    };
    if (next.firstTouch === null || compareTouches(touch, next.firstTouch) < 0) next.firstTouch = touch;
    const sessionStart = startsSession(next, event);
    if (sessionStart) {
      counters.sessions += 1;
      const { channel, campaign, source, landingPage } = event.enrichment.touch;
      counters.sessionsByChannel[channel] = (counters.sessionsByChannel[channel] ?? 0) + 1;
      const device = event.enrichment.device;
      next.session = { startedAt: at, lastEventAt: at, channel, campaign, source, landingPage, device };
      if (next.lastTouch === null || at >= next.lastTouch.at) next.lastTouch = touch;
    } else if (next.session !== null && isVisitorInteraction(event)) {
      next.session = { ...next.session, lastEventAt: later(next.session.lastEventAt, at) };
    }
    const signal = consentSignalOf(event);
    if (signal) next.consent = recordConsent(next.consent, signal);
    next = { ...next };
    applied(event, next, sessionStart);
  }
  return next;
}

/** Total order on events: event time, then message id, so ties resolve the same way everywhere. */
export function compareEvents(a: EnrichedEvent, b: EnrichedEvent): number {
  const byTime = a.enrichment.eventTime.localeCompare(b.enrichment.eventTime);
  return byTime !== 0 ? byTime : a.messageId.localeCompare(b.messageId);
}

function newerSetter(
  a: { at: string; messageId: string } | undefined,
  b: { at: string; messageId: string },
): boolean {
  if (a === undefined) return true;
  return b.at > a.at || (b.at === a.at && b.messageId > a.messageId);
}

type TraitSetter = { at: string; messageId: string };

function traitsBytes(traits: ProfileTraits): number {
  return Buffer.byteLength(JSON.stringify({ traits: traits.traits, setBy: traits.setBy }), 'utf8');
}

/** What one key adds to traitsBytes: `"key":value,` in traits and `"key":setter,` in setBy. */
function entryBytes(key: string, value: JsonValue | undefined, setter: TraitSetter | undefined): number {
  if (value === undefined || setter === undefined) return 0;
  const name = Buffer.byteLength(JSON.stringify(key), 'utf8') + 2;
  return (
    2 * name + Buffer.byteLength(JSON.stringify(value), 'utf8') + Buffer.byteLength(JSON.stringify(setter))
  );
}

/**
 * Sets one trait unless that takes the traits past MAX_TRAITS_BYTES (shrinking is always allowed); the new size, and
 * whether the trait was stored.
 */
function setTrait(
  next: ProfileTraits,
  size: number,
  trait: { key: string; value: JsonValue; setter: TraitSetter },
): { size: number; stored: boolean } {
  const { key, value, setter } = trait;
  const delta = entryBytes(key, value, setter) - entryBytes(key, next.traits[key], next.setBy[key]);
  if (delta > 0 && size + delta > MAX_TRAITS_BYTES) return { size, stored: false };
  next.traits[key] = value;
  next.setBy[key] = setter;
  return { size: size + delta, stored: true };
}

/**
 * Sets each trait whose event is newer than the one that set it before: last write wins by event time. A trait that
 * would take the profile past MAX_TRAITS_BYTES is not stored, and `onDropped` hears of it (the caller is told).
 */
export function applyTraits(
  traits: ProfileTraits,
  events: readonly EnrichedEvent[],
  onDropped: (dropped: { messageId: string; trait: string }) => void = () => undefined,
): ProfileTraits {
  const next: ProfileTraits = { ...traits, traits: { ...traits.traits }, setBy: { ...traits.setBy } };
  let size: number | undefined;
  for (const event of events) {
    const setter = { at: event.enrichment.eventTime, messageId: event.messageId };
    for (const [key, value] of Object.entries(traitsOf(event))) {
      if (!newerSetter(next.setBy[key], setter)) continue;
      const result = setTrait(next, size ?? traitsBytes(next), { key, value, setter });
      size = result.size;
      if (!result.stored) onDropped({ messageId: event.messageId, trait: key });
    }
  }
  return next;
}

/**
 * The identify whose enrichment the traits should carry: the latest identify among the events, unless the traits'
 * enrichment already comes from a later one (events arrive out of order; enrichment follows the newest identify).
 */
export function identifyToEnrich(
  traits: ProfileTraits,
  events: readonly EnrichedEvent[],
): EnrichedEvent | undefined {
  const latest = events
    .filter((e) => e.type === 'identify')
    .sort(compareEvents)
    .at(-1);
  if (latest === undefined) return undefined;
  const setter = { at: latest.enrichment.eventTime, messageId: latest.messageId };
  return newerSetter(traits.setBy[ENRICHMENT_TRAIT], setter) ? latest : undefined;
}

/**
 * Traits with an enrichment outcome applied under `enrichment` (see applyEnrichment), recorded as set by the
 * identify that caused it, so merges and later identifies treat it like any other trait. Nothing found: unchanged.
 */
export function applyIdentifyEnrichment(
  traits: ProfileTraits,
  { outcome, identify }: { outcome: EnrichmentOutcome; identify: EnrichedEvent },
): ProfileTraits {
  if (Object.keys(outcome.namespaces).length === 0) return traits;
  return {
    ...traits,
    traits: applyEnrichment(traits.traits, outcome),
    setBy: {
      ...traits.setBy,
      [ENRICHMENT_TRAIT]: { at: identify.enrichment.eventTime, messageId: identify.messageId },
    },
  };
}

/** Whether applying the events changes any trait (so the traits item is written only when needed). */
export function traitsChanged(before: ProfileTraits, after: ProfileTraits): boolean {
  return JSON.stringify(before.setBy) !== JSON.stringify(after.setBy);
}

function minTouch(a: TimedTouch | null, b: TimedTouch | null): TimedTouch | null {
  if (a === null) return b;
  if (b === null) return a;
  return compareTouches(b, a) < 0 ? b : a;
}

/** The touch of the latest session start; ties broken by message id, so merges agree in either direction. */
function maxTouch(a: TimedTouch | null, b: TimedTouch | null): TimedTouch | null {
  if (a === null) return b;
  if (b === null) return a;
  if (a.at !== b.at) return b.at > a.at ? b : a;
  return b.messageId > a.messageId ? b : a;
}

/**
 * Merges `from` into `into`: identities, counters, first/last seen and touches, consent. Commutative and
 * idempotent with respect to `mergedFrom`: merging the same profile twice changes nothing.
 */
export function mergeProfiles(into: ProfileCore, from: ProfileCore): ProfileCore {
  if (into.mergedFrom.includes(from.id) || into.id === from.id) return into;
  const sessionsByChannel: Partial<Record<Channel, number>> = { ...into.counters.sessionsByChannel };
  for (const [channel, count] of Object.entries(from.counters.sessionsByChannel) as Array<
    [Channel, number]
  >) {
    sessionsByChannel[channel] = (sessionsByChannel[channel] ?? 0) + count;
  }
  const consent = mergeConsent(into.consent, from.consent);
  let anonymousIds = into.anonymousIds;
  for (const id of from.anonymousIds) anonymousIds = addUnique(anonymousIds, id, MAX_ANONYMOUS_IDS);
  let emails = into.emails;
  for (const email of from.emails) emails = addUnique(emails, email, MAX_EMAILS);
  return {
    ...into,
    userId: into.userId ?? from.userId,
    anonymousIds,
    emails,
    firstSeen: from.firstSeen === null ? into.firstSeen : earlier(into.firstSeen, from.firstSeen),
    lastSeen: from.lastSeen === null ? into.lastSeen : later(into.lastSeen, from.lastSeen),
    firstTouch: minTouch(into.firstTouch, from.firstTouch),
    lastTouch: maxTouch(into.lastTouch, from.lastTouch),
    counters: {
      events: into.counters.events + from.counters.events,
      pageViews: into.counters.pageViews + from.counters.pageViews,
      sessions: into.counters.sessions + from.counters.sessions,
      sessionsByChannel,
    },
    session:
      into.session === null
        ? from.session
        : from.session === null
          ? into.session
          : from.session.lastEventAt > into.session.lastEventAt
            ? from.session
            : into.session,
    consent,
    mergedFrom: [
      ...into.mergedFrom,
      from.id,
      ...from.mergedFrom.filter((id) => !into.mergedFrom.includes(id)),
    ],
  };
}

/** Traits of two merged profiles: per key, the newest setter wins. */
export function mergeTraits(into: ProfileTraits, from: ProfileTraits): ProfileTraits {
  const next: ProfileTraits = { ...into, traits: { ...into.traits }, setBy: { ...into.setBy } };
  let size = traitsBytes(next);
  for (const [key, setter] of Object.entries(from.setBy)) {
    const value = from.traits[key];
    if (value === undefined || !newerSetter(next.setBy[key], setter)) continue;
    // Past the limit the surviving profile keeps its own value: nothing to report, no caller is waiting.
    size = setTrait(next, size, { key, value, setter }).size;
  }
  return next;
}

/**
 * Anonymous profiles expire `retentionDays` after they were last seen; a known profile keeps its data until erased.
 * Merging an anonymous profile into a known one copies its data into that known profile, which does not expire;
 * the emptied stub left behind keeps its own expiry, as nothing but its id points to it.
 */
export function expiresAt(profile: ProfileCore, retentionDays = ANONYMOUS_PROFILE_TTL_DAYS): number | null {
  if (profile.userId !== null || profile.emails.length > 0 || profile.lastSeen === null) return null;
  return Math.floor(Date.parse(profile.lastSeen) / 1000) + retentionDays * 86_400;
}
