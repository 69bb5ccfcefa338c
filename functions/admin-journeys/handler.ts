// Admin API for journeys: publish versions, list, read, dry-run for a profile, pause/resume, statistics, enrollments.
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import * as z from 'zod';
import { BusBackfillPublisher } from '../journeys/aws-adapters.ts';
import { backfillRequests, hasDateTriggers } from '../journeys/backfill.ts';
import {
  JOURNEY_ID_PATTERN,
  JourneyDefinitionError,
  parseJourneyDefinition,
} from '../journeys/definition.ts';
import { DynamoDbJourneyStore } from '../journeys/dynamodb-store.ts';
import { dryRun } from '../journeys/engine.ts';
import { ProfileFactsLoader } from '../journeys/facts-store.ts';
import { armSchedules } from '../journeys/schedule-trigger.ts';
import { enrollmentView, journeyView, statsView } from '../journeys/views.ts';
import { readEnvironment } from '../shared/environment.ts';
import { HttpError, type HttpEvent, httpHandler, json } from '../shared/http.ts';
import { parseJsonBody, readJsonBody } from '../shared/request.ts';
import { DynamoDbTrackingStore } from '../tracking/dynamodb-store.ts';

const env = readEnvironment({ PROFILE_TABLE: z.string().min(1), EVENT_BUS_NAME: z.string().min(1) });
const backfills = new BusBackfillPublisher(new EventBridgeClient({}), env.EVENT_BUS_NAME);
const dynamodb = new DynamoDBClient({});
const store = new DynamoDbJourneyStore({ client: dynamodb, tableName: env.PROFILE_TABLE });
const tracking = new DynamoDbTrackingStore({
  client: dynamodb,
  tableName: env.PROFILE_TABLE,
  eventRetentionDays: 1,
});
const facts = new ProfileFactsLoader({ client: dynamodb, tableName: env.PROFILE_TABLE, tracking });

const validateRequest = z
  .object({
    /** Dry-run this profile through the journey. */
    profileId: z.string().min(1).max(200).optional(),
    /** Tracked event names the dry run assumes arrive while a waitForEvent node waits. */
    assumeEvents: z.array(z.string().min(1).max(200)).max(20).default([]),
    /** A draft to check instead of the stored latest version. */
    definition: z.unknown().optional(),
  })
  .strict();

const statsQuery = z.object({ version: z.coerce.number().int().positive().optional() });

function journeyId(event: HttpEvent): string {
  const id = event.pathParameters?.id ?? '';
  if (!JOURNEY_ID_PATTERN.test(id))
    throw new HttpError(400, 'journey id must be 1–63 of a-z, 0-9 and "-", starting with a letter or digit');
  return id;
}

function parseDefinition(input: unknown) {
  try {
    return parseJourneyDefinition(input);
  } catch (error) {
    if (error instanceof JourneyDefinitionError) throw new HttpError(400, error.message);
    throw error;
  }
}

async function found(id: string) {
  const head = await store.getHead(id);
  if (!head) throw new HttpError(404, `journey ${id} does not exist`);
  return head;
}

export const handler = httpHandler(async (event) => {
  switch (event.routeKey) {
    case 'PUT /admin/journeys/{id}': {
      const id = journeyId(event);
      const definition = parseDefinition(readJsonBody(event));
      const version = await store.putVersion(id, definition);
      // Older versions' schedule timers find they are no longer the latest when they fire, and stop.
      await armSchedules({ store, version, now: new Date() });
      // Profiles stored before this version get their date-trigger timers from a background scan.
      if (hasDateTriggers(version.definition)) await backfills.publish(backfillRequests(id, version.version));
      const head = await found(id);
      return json(version.version === 1 ? 201 : 200, journeyView(head, version));
    }
    case 'GET /admin/journeys': {
      const heads = await store.listHeads();
      const journeys = await Promise.all(
        heads.map(async (head) => {
          const view = journeyView(head, await store.getVersion(head.journeyId, head.latestVersion));
          const { definition: _omitted, ...summary } = view;
          return summary;
        }),
      );
      return json(200, { journeys });
    }
    case 'GET /admin/journeys/{id}': {
      const id = journeyId(event);
      const head = await found(id);
      return json(200, journeyView(head, await store.getVersion(id, head.latestVersion)));
    }
    case 'POST /admin/journeys/{id}/pause':
    case 'POST /admin/journeys/{id}/resume': {
      const id = journeyId(event);
      await found(id);
      const head = await store.setStatus(id, event.routeKey.endsWith('pause') ? 'paused' : 'active');
      const latest = await store.getVersion(id, head.latestVersion);
      // A paused journey's schedules keep re-arming themselves; arming again on resume writes the same timers.
      if (head.status === 'active' && latest) await armSchedules({ store, version: latest, now: new Date() });
      return json(200, journeyView(head, latest));
    }
    case 'POST /admin/journeys/{id}/validate': {
      const id = journeyId(event);
      const input = parseJsonBody(event, validateRequest, { allowEmpty: true });
      const head = input.definition === undefined ? await found(id) : undefined;
      const definition =
        input.definition !== undefined
          ? parseDefinition(input.definition)
          : (await store.getVersion(id, head?.latestVersion ?? 0))?.definition;
      if (!definition) throw new HttpError(404, `journey ${id} has no version`);
      if (input.profileId === undefined) return json(200, { valid: true, dryRun: null });
      const profile = await facts.load(input.profileId, { events: true });
      if (!profile) throw new HttpError(404, `profile ${input.profileId} does not exist`);
      const result = dryRun(
        {
          journeyId: id,
          version: head?.latestVersion ?? 0,
          definition,
          facts: profile,
          now: new Date(),
          ...(head ? { status: head.status } : {}),
        },
        { assumeEvents: input.assumeEvents },
      );
      return json(200, { valid: true, dryRun: result });
    }
    case 'GET /admin/journeys/{id}/stats': {
      const id = journeyId(event);
      const head = await found(id);
      const query = statsQuery.safeParse(event.queryStringParameters ?? {});
      if (!query.success) throw new HttpError(400, 'version must be a positive integer');
      const version = query.data.version ?? null;
      const definition = (await store.getVersion(id, version ?? head.latestVersion))?.definition;
      if (version !== null && !definition)
        throw new HttpError(404, `journey ${id} has no version ${version}`);
      return json(
        200,
        statsView({ journeyId: id, version, definition, stats: await store.stats(id, version) }),
      );
    }
    case 'GET /admin/profiles/{id}/journeys': {
      const profileId = event.pathParameters?.id ?? '';
      const enrollments = await store.listEnrollments(profileId);
      return json(200, { profileId, enrollments: enrollments.map(enrollmentView) });
    }
    default:
      throw new HttpError(404, 'Not Found');
  }
});
