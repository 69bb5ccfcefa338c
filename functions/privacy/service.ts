// Data subject rights: export everything held about a person, and erase them completely with an audit record.
import { randomUUID } from 'node:crypto';
import type { JsonValue } from '../tracking/model.ts';
import { defaultProfileId, identityKey } from '../tracking/profile.ts';
import {
  addCounts,
  countByKind,
  type ErasedCounts,
  type ErasureAudit,
  erasureAudit,
  erasureKey,
  exportDocument,
  identitiesOf,
  inErasureOrder,
  mergePersons,
  namesPerson,
  type Person,
  type PersonIdentifier,
  personOf,
  personOfProfile,
} from './person.ts';
import type { ErasureJob, PrivacyStore } from './store.ts';

/** A person spread over more profiles than this is a discovery gone wrong (a shared identifier), not a person. */
export const MAX_PROFILES_PER_PERSON = 500;
/** Passes of find-and-delete; more than one only when items appear while erasing (a request in flight). */
const MAX_ERASURE_ROUNDS = 5;

export class ErasureRequestError extends Error {
  override name = 'ErasureRequestError';
}

export interface ErasureRequest {
  readonly reason: string;
  /** Who asked (the operator or ticket), kept in the audit record. */
  readonly requestedBy: string;
}

export interface ErasureResult {
  readonly requestId: string;
  readonly erased: ErasedCounts;
  /** Addresses of the person kept suppressed (as hashes). */
  readonly suppressed: number;
  /** False when nothing was held and nothing changed: the request is answered but not recorded. */
  readonly audited: boolean;
}

export interface PrivacyServiceOptions {
  readonly now?: () => Date;
  readonly newRequestId?: () => string;
}

export class PrivacyService {
  private readonly now: () => Date;
  private readonly newRequestId: () => string;

  constructor(
    private readonly store: PrivacyStore,
    options: PrivacyServiceOptions = {},
  ) {
    this.now = options.now ?? (() => new Date());
    this.newRequestId = options.newRequestId ?? (() => `era_${randomUUID()}`);
  }

  /**
   * Every profile of the person and every identifier of those profiles, to a fixed point: an identifier leads to
   * its profile (identity map, or the profile named after it), a profile to its identifiers and to the profiles
   * it was merged from or into.
   */
  async discover(identifier: PersonIdentifier): Promise<Person> {
    let person = personOf(identifier);
    const lookedUp = new Set<string>();
    const loaded = new Set<string>();
    for (;;) {
      const identities = identitiesOf(person).filter((identity) => !lookedUp.has(identityKey(identity)));
      for (const identity of identities) lookedUp.add(identityKey(identity));
      const pointers = await Promise.all(identities.map((i) => this.store.getIdentityPointer(i)));
      const pointed = pointers.filter((id): id is string => id !== undefined);
      // A pointer is the person's data even when the profile it names is gone (an erasure that crashed).
      person = mergePersons(person, { profileIds: pointed, userIds: [], anonymousIds: [], emails: [] });
      const candidates = new Set([
        ...person.profileIds,
        ...identities.filter((i) => i.kind !== 'email').map(defaultProfileId),
      ]);
      const next = [...candidates].filter((id) => !loaded.has(id));
      if (next.length === 0) return person;
      if (loaded.size + next.length > MAX_PROFILES_PER_PERSON)
        throw new ErasureRequestError(
          `the identifier leads to more than ${MAX_PROFILES_PER_PERSON} profiles; ask for one profile id at a time`,
        );
      for (const id of next) loaded.add(id);
      const cores = await Promise.all(next.map((id) => this.store.getProfile(id)));
      for (const core of cores) if (core !== undefined) person = mergePersons(person, personOfProfile(core));
    }
  }

  /** One JSON document with everything held about the person; undefined when nothing is held. */
  async exportPerson(identifier: PersonIdentifier): Promise<{ [key: string]: JsonValue } | undefined> {
    const person = await this.discover(identifier);
    const [items, addresses] = await Promise.all([
      this.store.findItems(person),
      this.store.addressStates(person.emails),
    ]);
    if (items.length === 0 && addresses.length === 0) return undefined;
    return exportDocument({
      identifier,
      person,
      items,
      addresses,
      exportedAt: this.now().toISOString(),
    });
  }

  /**
   * Deletes every item that identifies the person, journeys first, and keeps their addresses suppressed under a
   * hash. Idempotent and resumable: the job item records who is being erased, so running the same request again
   * after a crash finishes it; running it after it finished changes nothing.
   */
  async erasePerson(identifier: PersonIdentifier, request: ErasureRequest): Promise<ErasureResult> {
    const key = erasureKey(identifier);
    const existing = await this.store.getErasureJob(key);
    const discovered = await this.discover(identifier);
    const person = existing === undefined ? discovered : mergePersons(existing.person, discovered);
    if (namesPerson(`${request.reason}\n${request.requestedBy}`, person))
      throw new ErasureRequestError(
        'reason and requestedBy are kept in the audit record and must not name the person being erased',
      );
    let items = await this.store.findItems(person);
    const at = this.now().toISOString();
    if (existing === undefined && items.length === 0) {
      const newlySuppressed = await this.store.suppress(person.emails, at);
      if (newlySuppressed === 0)
        return {
          requestId: this.newRequestId(),
          erased: {},
          suppressed: person.emails.length,
          audited: false,
        };
    }
    let job: ErasureJob = {
      ...(existing ?? {
        key,
        requestId: this.newRequestId(),
        requestedAt: at,
        requestedBy: request.requestedBy,
        reason: request.reason,
        identifier,
        erased: {},
      }),
      person,
    };
    await this.store.putErasureJob(job);
    for (let round = 0; items.length > 0; round += 1) {
      if (round >= MAX_ERASURE_ROUNDS)
        throw new Error('items of the person keep appearing while erasing them; run the erasure again');
      await this.store.deleteItems(inErasureOrder(items));
      job = { ...job, erased: addCounts(job.erased, countByKind(items)) };
      await this.store.putErasureJob(job);
      items = await this.store.findItems(person);
    }
    await this.store.suppress(person.emails, at);
    const audit = erasureAudit({
      requestId: job.requestId,
      requestedAt: job.requestedAt,
      finishedAt: this.now().toISOString(),
      requestedBy: job.requestedBy,
      reason: job.reason,
      identifier: job.identifier,
      person,
      erased: job.erased,
    });
    await this.store.finishErasure(job, audit);
    return { requestId: job.requestId, erased: job.erased, suppressed: person.emails.length, audited: true };
  }

  listAudit(limit: number): Promise<ErasureAudit[]> {
    return this.store.listAudit(limit);
  }
}
