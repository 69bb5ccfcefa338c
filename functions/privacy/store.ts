// The privacy store port: finding, exporting and deleting every item of a person, erasure jobs and their audit.
import type { JsonValue } from '../tracking/model.ts';
import type { Identity, ProfileCore } from '../tracking/profile.ts';
import type { ErasedCounts, ErasureAudit, Person, PersonIdentifier, PersonItem } from './person.ts';

/**
 * An erasure under way. It names the person in clear text (that is what it is erasing), exists only while the
 * erasure runs, and is deleted with the audit record's write: a crashed erasure is finished by running it again.
 */
export interface ErasureJob {
  readonly key: string;
  readonly requestId: string;
  readonly requestedAt: string;
  readonly requestedBy: string;
  readonly reason: string;
  readonly identifier: PersonIdentifier;
  readonly person: Person;
  readonly erased: ErasedCounts;
}

export interface PrivacyStore {
  /** A profile's stored core item, merged-away ones included; undefined when there is none. */
  getProfile(profileId: string): Promise<ProfileCore | undefined>;
  getIdentityPointer(identity: Identity): Promise<string | undefined>;
  /** Every stored item that identifies the person (suppression entries excepted: they are keyed by hash). */
  findItems(person: Person): Promise<PersonItem[]>;
  /**
   * Deletes items in the order given. Segment memberships leave through the segment store, so sizes go down
   * with them. Deleting an item that is already gone succeeds.
   */
  deleteItems(items: readonly PersonItem[]): Promise<void>;
  /** Suppression and unsubscribe state of each address (hashed keys), for the export. */
  addressStates(
    emails: readonly string[],
  ): Promise<Array<{ email: string; addressHash: string; state: JsonValue }>>;
  /** Suppresses each address under its hash (kept forever); resolves how many were not suppressed before. */
  suppress(emails: readonly string[], at: string): Promise<number>;

  getErasureJob(key: string): Promise<ErasureJob | undefined>;
  putErasureJob(job: ErasureJob): Promise<void>;
  /** Writes the audit record and removes the job in one transaction. */
  finishErasure(job: ErasureJob, audit: ErasureAudit): Promise<void>;
  /** Newest first. */
  listAudit(limit: number): Promise<ErasureAudit[]>;
}
