// AWS adapters of the lead service's ports: scoring events on the bus, and profile summaries from the tracking store.
import type { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { WebhookEndpointNotFoundError } from '../messaging/webhooks/model.ts';
import type { EnqueueWebhookInput } from '../messaging/webhooks/queue.ts';
import { publishEvents } from '../shared/publish.ts';
import type { JsonObject, JsonValue } from '../tracking/model.ts';
import type { TrackingStore } from '../tracking/store.ts';
import type { ProfileSummary } from './domain-events.ts';
import type { ProfileSummaries, ScoringPublisher } from './service.ts';
import type { ScoringEvent } from './store.ts';

export class BusScoringPublisher implements ScoringPublisher {
  constructor(
    private readonly client: EventBridgeClient,
    private readonly busName: string,
  ) {}

  async publish(events: readonly ScoringEvent[]): Promise<void> {
    if (events.length === 0) return;
    const failed = await publishEvents(
      this.client,
      this.busName,
      events.map((e) => ({ source: 'nurture.scoring', detailType: e.detailType, detail: e.detail })),
    );
    // Thrown so the input is retried: the events stay in the outbox and go out with the retry.
    if (failed.length > 0) throw new Error(`${failed.length} scoring events could not be put on the bus`);
  }
}

function text(value: JsonValue | undefined): string | null {
  if (typeof value === 'string') return value.trim() === '' ? null : value;
  if (typeof value === 'number') return String(value);
  return null;
}

function field(traits: JsonObject, key: string): JsonValue | undefined {
  return Object.hasOwn(traits, key) ? traits[key] : undefined;
}

/** Segment's reserved traits: `name`, else `firstName` and `lastName`. */
function nameOf(traits: JsonObject): string | null {
  const name = text(field(traits, 'name'));
  if (name !== null) return name;
  const parts = [text(field(traits, 'firstName')), text(field(traits, 'lastName'))].filter(
    (part) => part !== null,
  );
  return parts.length > 0 ? parts.join(' ') : null;
}

/** Segment's `company` trait is an object with a `name`; a plain string is accepted too. */
function companyOf(traits: JsonObject): string | null {
  const company = field(traits, 'company');
  if (typeof company === 'object' && company !== null && !Array.isArray(company))
    return text(field(company, 'name'));
  return text(company);
}

const touch = (value: { channel: string; campaign: string | null; landingPage: string | null } | null) =>
  value === null
    ? null
    : { channel: value.channel, campaign: value.campaign, landingPage: value.landingPage };

/** Who a profile is, from its tracked identity, touches and traits: what sales sees in `lead.qualified`. */
export class TrackingProfileSummaries implements ProfileSummaries {
  constructor(private readonly tracking: Pick<TrackingStore, 'getProfile' | 'getTraits'>) {}

  async summary(profileId: string): Promise<ProfileSummary> {
    const [profile, traits] = await Promise.all([
      this.tracking.getProfile(profileId),
      this.tracking.getTraits(profileId),
    ]);
    const core = profile.value;
    const values = traits.value.traits;
    return {
      profileId,
      userId: core.userId,
      email: text(field(values, 'email')) ?? core.emails[0] ?? null,
      name: nameOf(values),
      company: companyOf(values),
      title: text(field(values, 'title')),
      firstTouch: touch(core.firstTouch),
      lastTouch: touch(core.lastTouch),
    };
  }
}

/**
 * The MQL hand-off to sales: besides the bus, every `lead.qualified` becomes a signed webhook delivery to the sales
 * endpoint (the CRM), keyed by the event's dedupe key so a republished event never delivers twice. Without that
 * endpoint registered, only the bus event goes out (logged once per event).
 */
export class SalesHandOffPublisher implements ScoringPublisher {
  constructor(
    private readonly inner: ScoringPublisher,
    private readonly webhooks: { enqueue(input: EnqueueWebhookInput): Promise<unknown> },
    private readonly options: {
      endpointId: string;
      log?: (message: string, fields: Record<string, unknown>) => void;
    },
  ) {}

  async publish(events: readonly ScoringEvent[]): Promise<void> {
    for (const event of events) {
      if (event.detailType !== 'lead.qualified') continue;
      try {
        await this.webhooks.enqueue({
          endpointId: this.options.endpointId,
          eventType: 'lead.qualified',
          payload: JSON.parse(JSON.stringify(event.detail)),
          idempotencyKey: event.detail.dedupeKey,
        });
      } catch (error) {
        if (!(error instanceof WebhookEndpointNotFoundError)) throw error;
        this.options.log?.('no sales webhook endpoint registered; lead.qualified went to the bus only', {
          endpointId: this.options.endpointId,
          profileId: event.detail.profileId,
        });
      }
    }
    await this.inner.publish(events);
  }
}
