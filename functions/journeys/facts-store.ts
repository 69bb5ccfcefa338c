// Loads what journey conditions read about a profile: identity, traits, recent events, lead state and segments.
import {
  type AttributeValue,
  type DynamoDBClient,
  GetItemCommand,
  QueryCommand,
} from '@aws-sdk/client-dynamodb';
import * as z from 'zod';
import type { EnrichedEvent } from '../tracking/model.ts';
import type { Identity } from '../tracking/profile.ts';
import type { TrackingStore } from '../tracking/store.ts';
import { LEAD_STAGES } from './definition.ts';
import { SCORE_ATTRIBUTE_PREFIX } from './dynamodb-store.ts';
import { type FactEvent, MAX_FACT_EVENTS, type ProfileFacts } from './model.ts';
import type { LeadState } from './store.ts';

const SEGMENT_PREFIX = 'SEGMENT#';
const stageSchema = z.enum(LEAD_STAGES).nullable();

export interface ProfileFactsLoaderOptions {
  readonly client: DynamoDBClient;
  readonly tableName: string;
  readonly tracking: Pick<TrackingStore, 'getProfile' | 'getTraits' | 'listEvents'>;
}

/** Conditions match tracked events by name; other call types (identify, page, ...) are not events to them. */
export function factEventsOf(events: readonly EnrichedEvent[]): FactEvent[] {
  return events.flatMap((event) =>
    event.type === 'track' && event.event !== undefined
      ? [{ event: event.event, properties: event.properties, at: event.enrichment.eventTime }]
      : [],
  );
}

export class ProfileFactsLoader {
  constructor(private readonly options: ProfileFactsLoaderOptions) {}

  /** Events cost a read per identity, so they are loaded only when a condition of the step reads them. */
  async load(profileId: string, options: { events: boolean }): Promise<ProfileFacts> {
    const [profile, traits, lead, segments] = await Promise.all([
      this.options.tracking.getProfile(profileId),
      this.options.tracking.getTraits(profileId),
      this.readLeadState(profileId),
      this.readSegments(profileId),
    ]);
    let events: FactEvent[] = [];
    if (options.events) {
      const core = profile.value;
      const identities: Identity[] = [
        ...(core.userId ? [{ kind: 'userId', value: core.userId } satisfies Identity] : []),
        ...core.anonymousIds.map((value): Identity => ({ kind: 'anonymousId', value })),
      ];
      if (identities.length > 0) {
        const listed = await this.options.tracking.listEvents(identities, MAX_FACT_EVENTS);
        events = factEventsOf(listed.events).slice(0, MAX_FACT_EVENTS);
      }
    }
    return {
      profileId,
      userId: profile.value.userId,
      traits: traits.value.traits,
      scores: lead.scores,
      stage: lead.stage,
      segments,
      events,
    };
  }

  /** Scores (`score_<name>` attributes, added to by journeys and scoring rules) and the lifecycle stage. */
  async readLeadState(profileId: string): Promise<LeadState> {
    const { Item } = await this.options.client.send(
      new GetItemCommand({
        TableName: this.options.tableName,
        Key: { pk: { S: `PROFILE#${profileId}` }, sk: { S: 'LEAD' } },
        ConsistentRead: true,
      }),
    );
    const scores: Record<string, number> = {};
    for (const [name, value] of Object.entries(Item ?? {})) {
      if (name.startsWith(SCORE_ATTRIBUTE_PREFIX) && value.N !== undefined)
        scores[name.slice(SCORE_ATTRIBUTE_PREFIX.length)] = Number(value.N);
    }
    return { scores, stage: stageSchema.parse(Item?.stage?.S ?? null) };
  }

  /** Ids of the segments the profile is a member of (one `SEGMENT#<id>` item each in its partition). */
  async readSegments(profileId: string): Promise<string[]> {
    const segments: string[] = [];
    let startKey: Record<string, AttributeValue> | undefined;
    do {
      const page = await this.options.client.send(
        new QueryCommand({
          TableName: this.options.tableName,
          KeyConditionExpression: 'pk = :pk AND begins_with(sk, :segment)',
          ExpressionAttributeValues: {
            ':pk': { S: `PROFILE#${profileId}` },
            ':segment': { S: SEGMENT_PREFIX },
          },
          ProjectionExpression: 'sk',
          ExclusiveStartKey: startKey,
        }),
      );
      for (const item of page.Items ?? []) {
        const sk = item.sk?.S;
        if (sk !== undefined) segments.push(sk.slice(SEGMENT_PREFIX.length));
      }
      startKey = page.LastEvaluatedKey;
    } while (startKey);
    return segments;
  }
}
