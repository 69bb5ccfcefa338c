// Ingest: dedupes, resolves identities (with merges) and applies events to profiles exactly once.
import { randomBytes } from 'node:crypto';
import {
  type Enricher,
  type EnrichmentFailure,
  type EnrichmentTrigger,
  runEnrichers,
} from '../enrichment/enricher.ts';
import { DEFAULT_PURPOSE_CATEGORIES, type PurposeState, purposeState, recordConsent } from './consent.ts';
import type { EnrichedEvent } from './model.ts';
import {
  applyEvents,
  applyEventsWithSessions,
  applyIdentifyEnrichment,
  applyTraits,
  consentOf,
  consentSignalOf,
  defaultProfileId,
  type EventSession,
  type Identity,
  identifyToEnrich,
  mergeProfiles,
  mergeTraits,
  normalizeEmail,
  type ProfileCore,
  type ProfileTraits,
  primaryIdentity,
  traitsChanged,
  traitsOf,
} from './profile.ts';
import { type TrackingStore, VersionConflictError } from './store.ts';

export interface IngestResult {
  /** Events stored and applied now. */
  readonly accepted: number;
  /** Events seen before (same source and messageId): nothing changed. */
  readonly duplicates: number;
  readonly bots: number;
  readonly consentWithheld: number;
  /** Profiles merged into others while ingesting. */
  readonly merges: ReadonlyArray<{ readonly from: string; readonly into: string }>;
  /** Traits not stored because the profile's traits are at MAX_TRAITS_BYTES, per event (the rest of it was). */
  readonly droppedTraits?: ReadonlyArray<{ readonly messageId: string; readonly traits: readonly string[] }>;
}

/** Merge chains longer than this mean a cycle, which merges never create. */
const MAX_ATTEMPTS = 8;
/** Conditional writes that lose a race re-read and retry; a write losing this often means something is wrong. */
const MAX_WRITE_ATTEMPTS = 30;
/** Parallel DynamoDB calls per request: enough to hide latency, few enough not to throttle a partition. */
const CONCURRENCY = 16;

async function inParallel<T, R>(items: readonly T[], fn: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const workers = Array.from({ length: Math.min(CONCURRENCY, items.length) }, async () => {
    while (next < items.length) {
      const index = next++;
      const item = items[index];
      if (item !== undefined) results[index] = await fn(item);
    }
  });
  await Promise.all(workers);
  return results;
}

export interface IngestOptions {
  /**
   * Merge a profile into the one that already has the same email (a workspace choice: an email alone is weaker
   * evidence of one person than a userId). Off: the email then points at the profile that used it last.
   */
  readonly mergeOnEmail?: boolean;
  /**
   * Third-party enrichment on identify (docs/enrichment.md). Called when an identify first needs it, so the data
   * loads lazily; a throw counts as an enrichment failure. @default no enrichment
   */
  readonly enrichers?: () => readonly Enricher[];
  /** Told about enrichment failures (to log them); they never fail the identify. */
  readonly onEnrichmentFailures?: (failures: readonly EnrichmentFailure[]) => void;
  /** @default () => new Date() */
  readonly now?: () => Date;
  /**
   * Whether tracking needs a granted tracking purpose (`opt-in`: nothing about a visitor is stored before consent)
   * or only the absence of a refusal (`opt-out`: server-side clients that manage consent themselves).
   * @default none: only an event's own refusal withholds it (for internal activity, which consent to send covers)
   */
  readonly consent?: TrackingConsent;
}

export interface TrackingConsent {
  readonly mode: 'opt-in' | 'opt-out';
  /** Consent categories that govern the tracking purpose. */
  readonly trackingCategories: readonly string[];
}

/** What enrichment may know about one identify beyond the stored event: held in memory for the request only. */
export interface IdentifyContext {
  /** The client IP before truncation; it is never stored. */
  readonly ip?: string;
  /** @default 'identify' */
  readonly trigger?: EnrichmentTrigger;
}

/** Per-request facts that are not part of the stored events. */
export interface IngestRequest {
  /** By messageId. */
  readonly identifies?: ReadonlyMap<string, IdentifyContext>;
}

export class IngestService {
  constructor(
    private readonly store: TrackingStore,
    private readonly options: IngestOptions = {},
  ) {}

  /**
   * Follows identity pointers and finishes any merge a crashed request left half done, so the answer is always
   * the live profile for the identity.
   */
  async resolve(identity: Identity): Promise<string> {
    return this.live((await this.store.getIdentityPointer(identity)) ?? defaultProfileId(identity));
  }

  /** The profile that holds a (possibly merged) profile's data now. */
  resolveProfile(profileId: string): Promise<string> {
    return this.live(profileId);
  }

  /**
   * Resolves an identity that is about to receive data. `adopt` names a profile a new userId should become (the
   * visitor's anonymous profile): the userId is claimed for it with a conditional pointer write, unless the userId
   * already has a profile. Adoption races with a request that creates the userId's own profile at the same time;
   * both sides write first and then read the other's write (see `reconcileNewUser`), so at least one of them sees
   * the other and merges the two.
   */
  private async resolveForWrite(identity: Identity, adopt?: string): Promise<string> {
    const pointer = await this.store.getIdentityPointer(identity);
    if (pointer !== undefined) return this.live(pointer);
    const ownProfile = defaultProfileId(identity);
    if (identity.kind !== 'userId' || adopt === undefined) return this.live(ownProfile);
    if ((await this.store.getProfile(ownProfile)).exists) return this.live(ownProfile);
    if (!(await this.store.claimIdentity(identity, adopt))) return this.resolve(identity);
    await this.reconcileNewUser(identity, adopt);
    return this.live(adopt);
  }

  /**
   * After a userId's profile came to exist (claimed for an adopted profile, or created as the userId's own), checks
   * for the other: a claim pointing elsewhere, or an own profile created concurrently. Whichever exists besides
   * the survivor named by the pointer is merged into it. Idempotent, so both racing requests may run it.
   */
  private async reconcileNewUser(identity: Identity, created: string): Promise<void> {
    const pointer = await this.store.getIdentityPointer(identity);
    const ownProfile = defaultProfileId(identity);
    if (pointer === undefined || pointer === ownProfile) return;
    const survivor = await this.live(pointer);
    const own = await this.store.getProfile(ownProfile);
    if (own.exists && own.value.mergedInto === null && ownProfile !== survivor)
      await this.merge(ownProfile, survivor);
    if (created !== survivor && created !== ownProfile) await this.merge(await this.live(created), survivor);
  }

  /** Follows `mergedInto` from a profile to the one that holds its data now. */
  private async live(profileId: string): Promise<string> {
    let id = profileId;
    for (let hops = 0; hops < MAX_ATTEMPTS; hops += 1) {
      const { value } = await this.store.getProfile(id);
      if (value.mergedInto === null) return id;
      await this.completeMerge(id, value.mergedInto);
      id = value.mergedInto;
    }
    throw new Error(`profile ${profileId} forwards through too many merges`);
  }

  /** Resolves an identity to an existing profile, or undefined when nothing was ever recorded for it. */
  async find(identity: Identity): Promise<string | undefined> {
    const pointer = await this.store.getIdentityPointer(identity);
    if (pointer === undefined && identity.kind === 'email') return undefined;
    const id = await this.live(pointer ?? defaultProfileId(identity));
    const { exists } = await this.store.getProfile(id);
    return exists ? id : undefined;
  }

  /**
   * Merges profile `from` into `into`. Safe to repeat and to run concurrently: `from` is first marked with
   * `mergedInto` (a conditional write that fails any concurrent update of it), then its state is folded into
   * `into` once (guarded by `mergedFrom`), and finally its identities are pointed at `into`.
   */
  async merge(fromId: string, intoId: string): Promise<boolean> {
    if (fromId === intoId) return false;
    const target = await untilWritten(async () => {
      const from = await this.store.getProfile(fromId);
      // Already merged elsewhere: join the two chains by merging where it went.
      if (from.value.mergedInto !== null) return from.value.mergedInto;
      await this.store.putProfile(
        { ...from.value, mergedInto: intoId, version: from.value.version + 1 },
        { expectedVersion: from.value.version, claims: from.claims },
      );
      return intoId;
    });
    if (target !== intoId) return this.merge(await this.live(target), intoId);
    await this.completeMerge(fromId, intoId);
    return true;
  }

  private async completeMerge(fromId: string, intoId: string): Promise<void> {
    const from = await this.store.getProfile(fromId);
    await untilWritten(async () => {
      const into = await this.store.getProfile(intoId);
      if (into.value.mergedFrom.includes(fromId)) return;
      const merged = mergeProfiles(into.value, { ...from.value, mergedInto: null });
      await this.store.putProfile(
        { ...merged, version: into.value.version + 1 },
        { expectedVersion: into.value.version, claims: into.claims },
      );
    });
    await untilWritten(async () => {
      const [fromTraits, intoTraits] = await Promise.all([
        this.store.getTraits(fromId),
        this.store.getTraits(intoId),
      ]);
      if (!fromTraits.exists) return;
      const merged = mergeTraits(intoTraits.value, fromTraits.value);
      if (!traitsChanged(intoTraits.value, merged)) return;
      await this.store.putTraits(
        { ...merged, version: intoTraits.value.version + 1 },
        intoTraits.value.version,
      );
    });
    const identities: Identity[] = [
      ...from.value.anonymousIds.map((value): Identity => ({ kind: 'anonymousId', value })),
      ...(from.value.userId ? [{ kind: 'userId', value: from.value.userId } satisfies Identity] : []),
    ];
    await inParallel(identities, (identity) => this.store.putIdentityPointer(identity, intoId));
  }

  /** Links identities that an event or alias says belong to one person, merging their profiles. */
  private async link(
    primary: Identity,
    others: readonly Identity[],
    merges: Array<{ from: string; into: string }>,
  ): Promise<string> {
    const [first] = others;
    // A person's first identification: their anonymous profile becomes their known profile (one pointer write
    // instead of a merge). If the userId is already claimed, the anonymous profile is merged into its owner.
    let into = await this.resolveForWrite(primary, first ? await this.resolve(first) : undefined);
    for (const other of others) {
      const otherId = await this.resolve(other);
      if (otherId === into) continue;
      // The known (userId) profile survives; an anonymous one is folded into it.
      await this.merge(otherId, into);
      merges.push({ from: otherId, into });
      into = await this.resolve(primary);
    }
    return into;
  }

  /** Ingests enriched events of one source: the whole effect happens exactly once, however often it is retried. */
  async ingest(events: readonly EnrichedEvent[], request: IngestRequest = {}): Promise<IngestResult> {
    const merges: Array<{ from: string; into: string }> = [];
    const bots = events.filter((e) => e.enrichment.isBot);
    const humans = events.filter((e) => !e.enrichment.isBot);
    const allowed = await this.trackingAllowed(humans);
    const withheld = humans.filter((_, index) => !allowed[index]);
    const profiled = humans.filter((_, index) => allowed[index]);

    // Identity links first (alias, identify with both ids), in event-time order, so events land on merged profiles.
    for (const event of [...profiled].sort((a, b) =>
      a.enrichment.eventTime.localeCompare(b.enrichment.eventTime),
    )) {
      if (event.type === 'alias' && event.userId && event.previousId) {
        await this.link(
          { kind: 'userId', value: event.userId },
          [await this.previousIdentity(event.previousId)],
          merges,
        );
      } else if (event.userId && event.anonymousId) {
        await this.link(
          { kind: 'userId', value: event.userId },
          [{ kind: 'anonymousId', value: event.anonymousId }],
          merges,
        );
      }
    }

    const claim = newClaim();
    const byProfile = new Map<string, EnrichedEvent[]>();
    let duplicates = 0;
    const resolved = await inParallel(profiled, async (event) => {
      const identity = primaryIdentity(event);
      return { event, identity, profileId: identity ? await this.resolveForWrite(identity) : undefined };
    });
    const sessions = await this.sessionsOf(resolved);
    const placed = await inParallel(resolved, async ({ event, identity, profileId }) => {
      if (!identity || profileId === undefined) return { event, profileId: undefined, fresh: false };
      const session = sessions.get(profileId)?.get(event.messageId);
      const fresh = await this.store.putEventOnce({
        event,
        profileId,
        claim,
        ...(session === undefined ? {} : { session }),
      });
      if (fresh) return { event, profileId, fresh: true };
      // A duplicate: apply it only if the request that stored it died before its profile write.
      const stored = await this.store.getEvent(identity, event.sourceId, event.messageId);
      if (stored === undefined) return { event, profileId, fresh: false };
      // profileId was resolved just above; if it has been merged away since, applyToProfile follows the merge.
      const profile = await this.store.getProfile(profileId);
      const applied =
        profile.claims.includes(stored.claim) ||
        (profile.value.mergedFrom.length > 0 && (await this.appliedBeforeMerge(profile.value, stored.claim)));
      return { event: stored.event, profileId, fresh: !applied, reclaimed: stored.claim };
    });
    const reclaimed = new Set<string>();
    for (const item of placed) {
      if (!item.profileId) continue;
      if (!item.fresh) {
        duplicates += 1;
        continue;
      }
      if ('reclaimed' in item && item.reclaimed) reclaimed.add(item.reclaimed);
      const list = byProfile.get(item.profileId) ?? [];
      list.push(item.event);
      byProfile.set(item.profileId, list);
    }

    const droppedTraits = new Map<string, Set<string>>();
    await inParallel([...byProfile], ([profileId, profileEvents]) =>
      this.applyToProfile({
        profileId,
        events: profileEvents,
        claims: [claim, ...reclaimed],
        merges,
        request,
        droppedTraits,
      }),
    );

    for (const event of withheld) await this.recordConsentOnly(event);

    const day = new Date().toISOString().slice(0, 10);
    const sourceId = events[0]?.sourceId;
    if (sourceId && (bots.length > 0 || withheld.length > 0)) {
      await this.store.countUnprofiled({
        sourceId,
        day,
        bots: bots.length,
        consentWithheld: withheld.length,
      });
    }
    const accepted = [...byProfile.values()].reduce((n, list) => n + list.length, 0);
    return {
      accepted,
      duplicates,
      bots: bots.length,
      consentWithheld: withheld.length,
      merges,
      ...(droppedTraits.size > 0
        ? {
            droppedTraits: [...droppedTraits].map(([messageId, traits]) => ({
              messageId,
              traits: [...traits].sort(),
            })),
          }
        : {}),
    };
  }

  /**
   * Whether each event may be stored, decided before anything is written (identity links included). The event's own
   * consent object is the freshest answer; without one, the stored consent of the profiles it names decides (so a
   * withdrawal recorded through the admin API stops server-side tracking too); with neither, the mode does.
   */
  private async trackingAllowed(events: readonly EnrichedEvent[]): Promise<boolean[]> {
    const policy = this.options.consent;
    // Without a tracking-consent policy (internal activity: journeys, email engagement, banner views) only the
    // event's own refusal counts, and nothing is read for it.
    if (policy === undefined)
      return events.map((e) => purposeState(consentOf(e), DEFAULT_PURPOSE_CATEGORIES.tracking) !== 'denied');
    const { mode, trackingCategories } = policy;
    const stored = new Map<string, Promise<PurposeState>>();
    const storedState = (identity: Identity): Promise<PurposeState> => {
      const key = `${identity.kind}:${identity.value}`;
      let state = stored.get(key);
      if (state === undefined) {
        state = this.storedConsent(identity).then((consent) =>
          purposeState(consent?.categoryPreferences, trackingCategories),
        );
        stored.set(key, state);
      }
      return state;
    };
    return inParallel(events, async (event) => {
      const own = purposeState(consentOf(event), trackingCategories);
      if (own !== 'unknown') return own === 'granted';
      const identities: Identity[] = [
        ...(event.userId ? [{ kind: 'userId', value: event.userId } satisfies Identity] : []),
        ...(event.anonymousId ? [{ kind: 'anonymousId', value: event.anonymousId } satisfies Identity] : []),
      ];
      const states = await Promise.all(identities.map(storedState));
      if (states.includes('denied')) return false;
      if (states.includes('granted')) return true;
      return mode === 'opt-out';
    });
  }

  /**
   * The consent stored for an identity's live profile, following merges without finishing any (this runs before
   * consent is known, so it must not write); null when nothing was ever stored for it. Two reads.
   */
  private async storedConsent(identity: Identity): Promise<ProfileCore['consent']> {
    let id = (await this.store.getIdentityPointer(identity)) ?? defaultProfileId(identity);
    for (let hops = 0; hops < MAX_ATTEMPTS; hops += 1) {
      const { value } = await this.store.getProfile(id);
      if (value.mergedInto === null) return value.consent;
      id = value.mergedInto;
    }
    return null;
  }

  /**
   * Which events start a session and which session each belongs to, decided on the profile as read before the events
   * are stored: the decision is written once with the event (KPIs read it from the stream), so a replay carries the
   * same one. It can differ from the profile write only when two requests for one profile race.
   */
  private async sessionsOf(
    resolved: ReadonlyArray<{ event: EnrichedEvent; profileId: string | undefined }>,
  ): Promise<Map<string, Map<string, EventSession>>> {
    const byProfile = new Map<string, EnrichedEvent[]>();
    for (const { event, profileId } of resolved) {
      if (profileId === undefined) continue;
      byProfile.set(profileId, [...(byProfile.get(profileId) ?? []), event]);
    }
    const out = new Map<string, Map<string, EventSession>>();
    await inParallel([...byProfile], async ([profileId, events]) => {
      const { value } = await this.store.getProfile(profileId);
      out.set(profileId, applyEventsWithSessions(value, events).sessions);
    });
    return out;
  }

  /** An alias's previousId is usually an anonymousId; Segment also allows a former userId, if one is known. */
  private async previousIdentity(previousId: string): Promise<Identity> {
    const asUser: Identity = { kind: 'userId', value: previousId };
    return (await this.find(asUser)) !== undefined ? asUser : { kind: 'anonymousId', value: previousId };
  }

  /** A claim recorded on a profile that was later merged away counts as applied: its counters moved with it. */
  private async appliedBeforeMerge(profile: ProfileCore, claim: string): Promise<boolean> {
    for (const id of profile.mergedFrom) {
      if ((await this.store.getProfile(id)).claims.includes(claim)) return true;
    }
    return false;
  }

  private async applyToProfile({
    profileId,
    events,
    claims,
    merges,
    request,
    droppedTraits,
  }: {
    profileId: string;
    events: EnrichedEvent[];
    claims: readonly string[];
    merges: Array<{ from: string; into: string }>;
    request: IngestRequest;
    /** Collects, per messageId, traits not stored for lack of room. */
    droppedTraits: Map<string, Set<string>>;
  }): Promise<void> {
    let id = profileId;
    let created = false;
    await untilWritten(async () => {
      const current = await this.store.getProfile(id);
      if (current.value.mergedInto !== null) {
        // Merged away since we resolved it: the events belong to the surviving profile.
        id = await this.live(current.value.mergedInto);
        throw new VersionConflictError(`profile ${current.value.id} was merged`);
      }
      // Every claim this write settles is recorded, including those of stored-but-unapplied events it recovers.
      await this.store.putProfile(
        { ...applyEvents(current.value, events), version: current.value.version + 1 },
        { expectedVersion: current.value.version, claims: [...current.claims, ...claims] },
      );
      created = !current.exists;
    });
    const userId = events.find((e) => e.userId)?.userId;
    if (created && userId !== undefined && id === defaultProfileId({ kind: 'userId', value: userId })) {
      // A userId's own profile was just created: an identify elsewhere may have claimed the userId meanwhile.
      await this.reconcileNewUser({ kind: 'userId', value: userId }, id);
      id = await this.live(id);
    }
    const enriches = this.options.enrichers !== undefined && events.some((e) => e.type === 'identify');
    if (enriches || events.some((e) => Object.keys(traitsOf(e)).length > 0)) {
      await untilWritten(async () => {
        const current = await this.store.getTraits(id);
        // Enrichment rides on the identify's own traits write: one write, and no window without it.
        const applied = applyTraits(current.value, events, ({ messageId, trait }) => {
          const traits = droppedTraits.get(messageId) ?? new Set<string>();
          droppedTraits.set(messageId, traits.add(trait));
        });
        const next = await this.enriched(applied, events, request);
        if (!traitsChanged(current.value, next)) return;
        await this.store.putTraits({ ...next, version: current.value.version + 1 }, current.value.version);
      });
    }
    const emails = new Set(
      events.map((e) => normalizeEmail(traitsOf(e).email)).filter((e): e is string => !!e),
    );
    for (const email of emails) {
      const identity: Identity = { kind: 'email', value: email };
      const owner = this.options.mergeOnEmail ? await this.store.getIdentityPointer(identity) : undefined;
      const ownerId = owner === undefined ? undefined : await this.live(owner);
      if (ownerId !== undefined && ownerId !== id) {
        // The profile that had the email first survives; this one is folded into it.
        await this.merge(id, ownerId);
        merges.push({ from: id, into: ownerId });
        id = ownerId;
        continue;
      }
      await this.store.putIdentityPointer(identity, id);
    }
  }

  /** Traits with the enrichment of the latest identify applied; unchanged when there is none to run. */
  private async enriched(
    traits: ProfileTraits,
    events: readonly EnrichedEvent[],
    request: IngestRequest,
  ): Promise<ProfileTraits> {
    const load = this.options.enrichers;
    const identify = load === undefined ? undefined : identifyToEnrich(traits, events);
    if (load === undefined || identify === undefined) return traits;
    let enrichers: readonly Enricher[];
    try {
      enrichers = load();
    } catch (error) {
      this.options.onEnrichmentFailures?.([
        {
          enricher: 'enrichment-data',
          version: 'unknown',
          reason: error instanceof Error ? `${error.name}: ${error.message}`.slice(0, 300) : 'load failed',
        },
      ]);
      return traits;
    }
    const context = request.identifies?.get(identify.messageId);
    const email = traits.traits.email;
    const outcome = await runEnrichers(enrichers, {
      traits: traits.traits,
      ...(typeof email === 'string' ? { email } : {}),
      ...(context?.ip === undefined ? {} : { ip: context.ip }),
      context: { now: this.options.now?.() ?? new Date(), trigger: context?.trigger ?? 'identify' },
    });
    if (outcome.failures.length > 0) this.options.onEnrichmentFailures?.(outcome.failures);
    return applyIdentifyEnrichment(traits, { outcome, identify });
  }

  /**
   * An event that may not be tracked is not stored; only a consent decision it carries is kept (with its evidence),
   * so a refusal is remembered and proven without keeping anything else about the visitor.
   */
  private async recordConsentOnly(event: EnrichedEvent): Promise<void> {
    const identity = primaryIdentity(event);
    const signal = consentSignalOf(event);
    if (!identity || !signal) return;
    const id = await this.resolveForWrite(identity);
    await untilWritten(async () => {
      const current = await this.store.getProfile(id);
      const consent = recordConsent(current.value.consent, signal);
      if (consent === current.value.consent) return;
      await this.store.putProfile(
        { ...current.value, consent, version: current.value.version + 1 },
        { expectedVersion: current.value.version, claims: current.claims },
      );
    });
  }
}

/**
 * Runs a read-modify-write until its conditional write wins. Losers back off with jitter, so even a profile
 * that many requests update at once converges; a conflict that never ends is an error, never a silent skip.
 */
async function untilWritten<T>(attempt: () => Promise<T>): Promise<T> {
  for (let n = 1; ; n += 1) {
    try {
      return await attempt();
    } catch (error) {
      if (!(error instanceof VersionConflictError) || n >= MAX_WRITE_ATTEMPTS) throw error;
      await new Promise((resolve) => setTimeout(resolve, Math.random() * Math.min(250, 4 * 2 ** n)));
    }
  }
}

function newClaim(): string {
  return randomBytes(6).toString('base64url');
}
