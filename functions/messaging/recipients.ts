// Reads the recipient of a message from the tracking store: the live profile after merges, its email and traits.
import type { IngestService } from '../tracking/ingest-service.ts';
import { normalizeEmail } from '../tracking/profile.ts';
import type { TrackingStore } from '../tracking/store.ts';
import type { Recipient, RecipientReader } from './sender.ts';

export class TrackingRecipientReader implements RecipientReader {
  constructor(
    private readonly store: TrackingStore,
    private readonly profiles: IngestService,
  ) {}

  async recipient(profileId: string): Promise<Recipient | undefined> {
    const core = await this.store.getProfile(profileId);
    if (!core.exists) return undefined;
    const liveId = core.value.mergedInto === null ? profileId : await this.profiles.resolveProfile(profileId);
    const live = liveId === profileId ? core.value : (await this.store.getProfile(liveId)).value;
    const { traits } = (await this.store.getTraits(liveId)).value;
    return {
      profileId: liveId,
      userId: live.userId,
      // The email trait is the address the person gave last; older addresses stay on the profile as identities.
      email: normalizeEmail(traits.email) ?? live.emails[0] ?? null,
      traits,
      consent: live.consent,
    };
  }
}
