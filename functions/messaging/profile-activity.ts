// Records email activity (opens, clicks, unsubscribes) on the person's profile as server-side track events.
import { enrich } from '../tracking/enrichment/index.ts';
import type { IngestService } from '../tracking/ingest-service.ts';
import { identityOf, liveProfile } from '../tracking/live-profile.ts';
import type { NormalizedEvent } from '../tracking/model.ts';
import type { TrackingStore } from '../tracking/store.ts';
import type { ProfileActivity } from './engagement.ts';

/** Events Nurture records itself are stored under this source, apart from the customer's own sources. */
export const EMAIL_ACTIVITY_SOURCE = 'nurture-email';

export class ProfileActivityRecorder {
  constructor(
    private readonly store: TrackingStore,
    private readonly profiles: IngestService,
    private readonly utmSource: string,
  ) {}

  async record(activity: ProfileActivity): Promise<void> {
    const live = await liveProfile({
      store: this.store,
      profiles: this.profiles,
      profileId: activity.profileId,
    });
    const identity = live && identityOf(live);
    if (identity === undefined) return;
    const event: NormalizedEvent = {
      type: 'track',
      protocol: 'segment',
      messageId: activity.messageId,
      ...identity,
      event: activity.event,
      traits: {},
      properties: activity.properties,
      // The email channel, as the link's own UTM parameters say (KPIS.md channel rules).
      context: { campaign: { source: this.utmSource, medium: 'email', name: activity.campaign } },
      clientTimestamp: activity.at.toISOString(),
    };
    await this.profiles.ingest([
      { ...event, sourceId: EMAIL_ACTIVITY_SOURCE, enrichment: enrich(event, { receivedAt: activity.at }) },
    ]);
  }
}
