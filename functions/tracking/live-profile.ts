// The profile that stands for a profile id now (following merges), and the identity server-side events use for it.
import type { IngestService } from './ingest-service.ts';
import type { ProfileCore } from './profile.ts';
import type { TrackingStore } from './store.ts';

/** The surviving profile of a possibly merged id; undefined when there is none. */
export async function liveProfile(input: {
  store: Pick<TrackingStore, 'getProfile'>;
  profiles: Pick<IngestService, 'resolveProfile'>;
  profileId: string;
}): Promise<ProfileCore | undefined> {
  const core = await input.store.getProfile(input.profileId);
  if (!core.exists) return undefined;
  if (core.value.mergedInto === null) return core.value;
  const live = await input.store.getProfile(await input.profiles.resolveProfile(input.profileId));
  return live.exists ? live.value : undefined;
}

/** The identifier a server-side event about the profile carries: its userId, else its first anonymous id. */
export function identityOf(profile: ProfileCore): { userId: string } | { anonymousId: string } | undefined {
  if (profile.userId !== null) return { userId: profile.userId };
  const anonymousId = profile.anonymousIds[0];
  return anonymousId === undefined ? undefined : { anonymousId };
}
