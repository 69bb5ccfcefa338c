// AWS adapters of the journey ports: profile writes through ingest, the lead item, and events on the bus.
import { type DynamoDBClient, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import type { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { publishEvents } from '../shared/publish.ts';
import { enrich } from '../tracking/enrichment/index.ts';
import type { IngestService } from '../tracking/ingest-service.ts';
import { identityOf, liveProfile } from '../tracking/live-profile.ts';
import type { JsonObject, NormalizedEvent } from '../tracking/model.ts';
import type { TrackingStore } from '../tracking/store.ts';
import type { BackfillPublisher, BackfillRequest } from './backfill.ts';
import type { LeadStage } from './definition.ts';
import type { JourneyEffectPorts, JourneyEventOut } from './effects.ts';

/** Profile changes made by journeys are stored under this source, apart from the customer's own sources. */
export const JOURNEY_SOURCE = 'nurture-journeys';

type ProfilePort = JourneyEffectPorts['profiles'];
type EventsPort = JourneyEffectPorts['events'];

export class JourneyProfileWriter implements ProfilePort {
  constructor(
    private readonly deps: {
      tracking: TrackingStore;
      ingest: IngestService;
      client: DynamoDBClient;
      tableName: string;
    },
  ) {}

  async userId(profileId: string): Promise<string | null> {
    const live = await this.live(profileId);
    return live?.userId ?? null;
  }

  /** A server-side identify with the step's key as message id: stored once, and it flows like any identify. */
  async setTraits(input: { profileId: string; traits: JsonObject; key: string; at: Date }): Promise<void> {
    const live = await this.live(input.profileId);
    const identity = live && identityOf(live);
    if (identity === undefined) return;
    const event: NormalizedEvent = {
      type: 'identify',
      protocol: 'segment',
      messageId: input.key,
      ...identity,
      traits: input.traits,
      properties: {},
      context: {},
      clientTimestamp: input.at.toISOString(),
    };
    await this.deps.ingest.ingest([
      { ...event, sourceId: JOURNEY_SOURCE, enrichment: enrich(event, { receivedAt: input.at }) },
    ]);
  }

  async setStage(input: { profileId: string; stage: LeadStage; key: string; at: Date }): Promise<void> {
    await this.deps.client
      .send(
        new UpdateItemCommand({
          TableName: this.deps.tableName,
          Key: { pk: { S: `PROFILE#${input.profileId}` }, sk: { S: 'LEAD' } },
          // The same step setting the same stage again changes nothing.
          UpdateExpression: 'SET stage = :stage, stageChangedAt = :at, stageKey = :key',
          ConditionExpression: 'attribute_not_exists(stageKey) OR stageKey <> :key',
          ExpressionAttributeValues: {
            ':stage': { S: input.stage },
            ':at': { S: input.at.toISOString() },
            ':key': { S: input.key },
          },
        }),
      )
      .catch((error: unknown) => {
        if (error instanceof Error && error.name === 'ConditionalCheckFailedException') return;
        throw error;
      });
  }

  private live(profileId: string) {
    return liveProfile({ store: this.deps.tracking, profiles: this.deps.ingest, profileId });
  }
}

export class BusJourneyEvents implements EventsPort {
  constructor(
    private readonly client: EventBridgeClient,
    private readonly busName: string,
  ) {}

  async publish(events: readonly JourneyEventOut[]): Promise<void> {
    const failed = await publishEvents(
      this.client,
      this.busName,
      events.map((e) => ({ source: 'nurture.journeys', detailType: e.detailType, detail: e.detail })),
    );
    if (failed.length > 0) throw new Error(`${failed.length} journey events could not be put on the bus`);
  }
}

/** Requests the next page of a date-trigger backfill on the bus (the journey queue brings it back). */
export class BusBackfillPublisher implements BackfillPublisher {
  constructor(
    private readonly client: EventBridgeClient,
    private readonly busName: string,
  ) {}

  async publish(requests: readonly BackfillRequest[]): Promise<void> {
    const failed = await publishEvents(
      this.client,
      this.busName,
      requests.map((detail) => ({
        source: 'nurture.journeys',
        detailType: 'journey.backfill_requested',
        detail,
      })),
    );
    if (failed.length > 0) throw new Error(`${failed.length} backfill requests could not be put on the bus`);
  }
}
