// Admin API for profiles: look one up by id or identifier, list its events, and its whole history as a timeline.
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import * as z from 'zod';
import { DynamoDbJourneyStore } from '../journeys/dynamodb-store.ts';
import { DynamoDbMessagingStore } from '../messaging/dynamodb-store.ts';
import { buildTimeline } from '../profiles/timeline.ts';
import { DynamoDbScoringStore } from '../scoring/dynamodb-store.ts';
import { DynamoDbSegmentStore } from '../segments/dynamodb-store.ts';
import { readEnvironment } from '../shared/environment.ts';
import { HttpError, httpHandler, json } from '../shared/http.ts';
import { DynamoDbTrackingStore } from '../tracking/dynamodb-store.ts';
import { IngestService } from '../tracking/ingest-service.ts';
import type { Identity } from '../tracking/profile.ts';
import { normalizeEmail } from '../tracking/profile.ts';
import { profileView } from '../tracking/profile-view.ts';

const env = readEnvironment({
  PROFILE_TABLE: z.string().min(1),
  EVENT_RETENTION_DAYS: z.coerce.number().int().positive().default(396),
});
const client = new DynamoDBClient({});
const store = new DynamoDbTrackingStore({
  client,
  tableName: env.PROFILE_TABLE,
  eventRetentionDays: env.EVENT_RETENTION_DAYS,
});
// The timeline only reads these; the messaging store's retention applies to writes it never makes here.
const leads = new DynamoDbScoringStore({ client, tableName: env.PROFILE_TABLE });
const messages = new DynamoDbMessagingStore({
  client,
  tableName: env.PROFILE_TABLE,
  messageRetentionDays: 1,
});
const journeys = new DynamoDbJourneyStore({ client, tableName: env.PROFILE_TABLE });
const segments = new DynamoDbSegmentStore({ client, tableName: env.PROFILE_TABLE });
const profiles = new IngestService(store);

const lookupQuery = z
  .object({
    email: z.string().min(1).optional(),
    userId: z.string().min(1).optional(),
    anonymousId: z.string().min(1).optional(),
  })
  .refine((q) => [q.email, q.userId, q.anonymousId].filter(Boolean).length === 1, {
    message: 'give exactly one of email, userId or anonymousId',
  });
const eventsQuery = z.object({ limit: z.coerce.number().int().min(1).max(1000).default(100) });
const timelineQuery = z.object({ limit: z.coerce.number().int().min(1).max(1000).default(200) });

/** Identities whose events belong to the profile (merged profiles' ids are in `anonymousIds`). */
function identitiesOf(core: { userId: string | null; anonymousIds: readonly string[] }): Identity[] {
  return [
    ...(core.userId ? [{ kind: 'userId', value: core.userId } satisfies Identity] : []),
    ...core.anonymousIds.map((value): Identity => ({ kind: 'anonymousId', value })),
  ];
}

function parseQuery<T extends z.ZodType>(
  schema: T,
  query: Record<string, string | undefined> | undefined,
): z.output<T> {
  const result = schema.safeParse(query ?? {});
  if (!result.success) throw new HttpError(400, result.error.issues.map((i) => i.message).join('; '));
  return result.data;
}

/** The live profile for an id: merged profiles answer with the profile they were merged into. */
async function load(id: string) {
  const core = await store.getProfile(id);
  if (!core.exists) throw new HttpError(404, `profile ${id} does not exist`);
  const liveId = core.value.mergedInto === null ? id : await profiles.resolveProfile(id);
  const live = liveId === id ? core : await store.getProfile(liveId);
  const traits = await store.getTraits(liveId);
  return { core: live.value, traits: traits.value };
}

export const handler = httpHandler(async (event) => {
  switch (event.routeKey) {
    case 'GET /admin/profiles': {
      const query = parseQuery(lookupQuery, event.queryStringParameters);
      const email = query.email === undefined ? undefined : normalizeEmail(query.email);
      if (query.email !== undefined && email === undefined)
        throw new HttpError(400, 'email is not an email address');
      const identity: Identity = email
        ? { kind: 'email', value: email }
        : query.userId
          ? { kind: 'userId', value: query.userId }
          : { kind: 'anonymousId', value: query.anonymousId ?? '' };
      const id = await profiles.find(identity);
      if (id === undefined) throw new HttpError(404, 'no profile has this identifier');
      const { core, traits } = await load(id);
      return json(200, profileView(core, traits));
    }
    case 'GET /admin/profiles/{id}': {
      const { core, traits } = await load(event.pathParameters?.id ?? '');
      return json(200, profileView(core, traits));
    }
    case 'GET /admin/profiles/{id}/events': {
      const { limit } = parseQuery(eventsQuery, event.queryStringParameters);
      const { core } = await load(event.pathParameters?.id ?? '');
      const { events, truncated } = await store.listEvents(identitiesOf(core), limit);
      return json(200, {
        profileId: core.id,
        truncated,
        events: events.map((e) => ({
          messageId: e.messageId,
          sourceId: e.sourceId,
          type: e.type,
          event: e.event ?? null,
          name: e.name ?? null,
          userId: e.userId ?? null,
          anonymousId: e.anonymousId ?? null,
          eventTime: e.enrichment.eventTime,
          receivedAt: e.enrichment.receivedAt,
          properties: e.properties,
          traits: e.traits,
          channel: e.enrichment.touch.channel,
          campaign: e.enrichment.touch.campaign,
          device: e.enrichment.device,
        })),
      });
    }
    case 'GET /admin/profiles/{id}/timeline': {
      const { limit } = parseQuery(timelineQuery, event.queryStringParameters);
      const { core, traits } = await load(event.pathParameters?.id ?? '');
      const [listed, lead, sent, runs, memberships] = await Promise.all([
        store.listEvents(identitiesOf(core), limit),
        leads.getLead(core.id),
        messages.listByProfile(core.id, Math.min(limit, 200)),
        journeys.listEnrollments(core.id),
        segments.segmentsOf(core.id),
      ]);
      const entries = buildTimeline(
        {
          profile: { id: core.id, firstSeen: core.firstSeen, traits: traits.traits },
          events: listed.events.map((e) => ({
            messageId: e.messageId,
            type: e.type,
            event: e.event ?? null,
            name: e.name ?? null,
            eventTime: e.enrichment.eventTime,
            channel: e.enrichment.touch.channel,
            campaign: e.enrichment.touch.campaign,
            properties: e.properties,
          })),
          lead:
            lead.version === 0 && lead.lifecycle.history.length === 0
              ? null
              : {
                  awards: lead.ledger.awards,
                  fit: lead.ledger.fit,
                  transitions: lead.lifecycle.history,
                },
          messages: sent.map((m) => ({
            messageId: m.request.messageId,
            templateId: m.request.templateId,
            subject: m.subject,
            history: m.history,
          })),
          journeys: runs.map((r) => ({ journeyId: r.journeyId, run: r.run, history: r.history })),
          segments: memberships,
        },
        limit,
      );
      return json(200, { profileId: core.id, stage: lead.lifecycle.stage, entries });
    }
    default:
      throw new HttpError(404, `No admin route ${event.routeKey}`);
  }
});
