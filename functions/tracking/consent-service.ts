// Reads and records a profile's consent outside tracking (the admin API), through the same profile write tracking uses.
import { type PurposeCategories, preferencesForPurposes, purposesOf, recordConsent } from './consent.ts';
import type { ConsentUpdate, ProfileConsent } from './consent-contract.ts';
import type { ProfileCore } from './profile.ts';
import { type TrackingStore, VersionConflictError } from './store.ts';

export class ProfileNotFoundError extends Error {
  override name = 'ProfileNotFoundError';
}

/** Concurrent tracking writes to the same profile make a write lose its race now and then; it re-reads and retries. */
const MAX_WRITE_ATTEMPTS = 10;

export interface ConsentServiceDeps {
  readonly store: Pick<TrackingStore, 'getProfile' | 'putProfile'>;
  /** The profile that holds a (possibly merged) profile's data now. */
  readonly resolveProfile: (profileId: string) => Promise<string>;
  readonly purposes: PurposeCategories;
  /** @default () => new Date() */
  readonly now?: () => Date;
}

export class ConsentService {
  constructor(private readonly deps: ConsentServiceDeps) {}

  async get(profileId: string): Promise<ProfileConsent> {
    const { value } = await this.live(profileId);
    return this.view(value);
  }

  /**
   * Records the choice as of now, so it stands over every earlier tracked signal. The write goes to the profile item,
   * whose stream change publishes `profile.consent_changed` exactly as a tracked consent change does.
   */
  async update(profileId: string, update: ConsentUpdate): Promise<ProfileConsent> {
    for (let attempt = 1; ; attempt += 1) {
      const current = await this.live(profileId);
      const profile = current.value;
      const categoryPreferences = {
        ...profile.consent?.categoryPreferences,
        ...update.categoryPreferences,
        ...preferencesForPurposes(update.purposes ?? {}, this.deps.purposes),
      };
      const at = (this.deps.now?.() ?? new Date()).toISOString();
      // A tracked signal stamped later than our clock (client clock skew) must not hide an operator's decision.
      const after =
        profile.consent !== null && profile.consent.updatedAt > at ? profile.consent.updatedAt : at;
      const consent = recordConsent(profile.consent, {
        categoryPreferences,
        at: after,
        source: update.source,
        evidence: update.evidence,
      });
      try {
        await this.deps.store.putProfile(
          { ...profile, consent, version: profile.version + 1 },
          { expectedVersion: profile.version, claims: current.claims },
        );
        return this.view({ ...profile, consent });
      } catch (error) {
        if (!(error instanceof VersionConflictError) || attempt >= MAX_WRITE_ATTEMPTS) throw error;
        await new Promise((resolve) => setTimeout(resolve, Math.random() * 20 * attempt));
      }
    }
  }

  private async live(profileId: string) {
    const first = await this.deps.store.getProfile(profileId);
    if (!first.exists) throw new ProfileNotFoundError(`profile ${profileId} does not exist`);
    if (first.value.mergedInto === null) return first;
    return this.deps.store.getProfile(await this.deps.resolveProfile(profileId));
  }

  private view(profile: ProfileCore): ProfileConsent {
    const consent = profile.consent;
    return {
      profileId: profile.id,
      purposes: purposesOf(consent?.categoryPreferences, this.deps.purposes),
      categoryPreferences: { ...consent?.categoryPreferences },
      updatedAt: consent?.updatedAt ?? null,
      source: consent?.source ?? null,
      evidence: consent?.evidence ?? null,
      history: [...(consent?.history ?? [])],
    };
  }
}
