// Admin API for segments: save versions (validated with the graph, then backfilled), list with sizes, members and exports.
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import * as z from 'zod';
import { DynamoDbProfileScanner } from '../journeys/profile-scanner.ts';
import {
  BusBackfillRequests,
  DynamoDbBackfillProgress,
  segmentEvaluationEnvironment,
  segmentServiceFor,
} from '../segments/aws-adapters.ts';
import { SegmentBackfill } from '../segments/backfill.ts';
import {
  parseSegmentDefinition,
  SEGMENT_ID_PATTERN,
  type SegmentDefinition,
  SegmentDefinitionError,
} from '../segments/definition.ts';
import { membersCsv, type SegmentMemberRow } from '../segments/membership.ts';
import { readEnvironment } from '../shared/environment.ts';
import { HttpError, type HttpEvent, type HttpResult, httpHandler, json } from '../shared/http.ts';
import { readJsonBody } from '../shared/request.ts';
import { normalizeEmail } from '../tracking/profile.ts';

const env = readEnvironment({ ...segmentEvaluationEnvironment, EVENT_BUS_NAME: z.string().min(1) });

const dynamodb = new DynamoDBClient({});
const progress = new DynamoDbBackfillProgress(dynamodb, env.PROFILE_TABLE);
// Always fresh: the admin API must see a definition it has just saved.
const { service, store, catalog, tracking } = segmentServiceFor({ client: dynamodb, env, refreshMs: 0 });
const backfill = new SegmentBackfill({
  scanner: new DynamoDbProfileScanner(dynamodb, env.PROFILE_TABLE),
  service,
  latestVersion: async (segmentId) => (await store.getHead(segmentId))?.latestVersion,
  requests: new BusBackfillRequests(new EventBridgeClient({}), env.EVENT_BUS_NAME),
  progress,
  now: () => new Date(),
});

/** JSON pages stay small; a CSV page looks up each member's email, and 1,000 rows stay far below 6 MB. */
const MAX_PAGE = 1000;
const membersQuery = z.object({
  cursor: z.string().min(1).max(1024).optional(),
  limit: z.coerce.number().int().min(1).max(MAX_PAGE).optional(),
  format: z.enum(['json', 'csv']).optional(),
});
const LOOKUP_CONCURRENCY = 25;

function segmentId(event: HttpEvent): string {
  const id = event.pathParameters?.id ?? '';
  if (!SEGMENT_ID_PATTERN.test(id))
    throw new HttpError(400, 'segment ids are 1–64 of A-Z, a-z, 0-9, "_" and "-"');
  return id;
}

async function definitions(): Promise<SegmentDefinition[]> {
  return (await catalog.live()).map((segment) => segment.definition);
}

async function segmentView(id: string) {
  const head = await store.getHead(id);
  if (!head) throw new HttpError(404, `segment ${id} does not exist`);
  const [version, size, backfillProgress] = await Promise.all([
    store.getVersion(id, head.latestVersion),
    store.size(id),
    progress.get(id),
  ]);
  return {
    id,
    name: head.name,
    version: head.latestVersion,
    definition: version?.definition ?? null,
    size,
    backfill: backfillProgress ?? null,
    createdAt: head.createdAt,
    updatedAt: head.updatedAt,
  };
}

function wantsCsv(event: HttpEvent, format: 'json' | 'csv' | undefined): boolean {
  if (format !== undefined) return format === 'csv';
  return (event.headers?.accept ?? '').toLowerCase().includes('text/csv');
}

async function memberRows(
  members: ReadonlyArray<{ profileId: string; enteredAt: string }>,
): Promise<SegmentMemberRow[]> {
  const rows: SegmentMemberRow[] = [];
  for (let i = 0; i < members.length; i += LOOKUP_CONCURRENCY) {
    const chunk = members.slice(i, i + LOOKUP_CONCURRENCY);
    rows.push(
      ...(await Promise.all(
        chunk.map(async (member) => {
          const [profile, traits] = await Promise.all([
            tracking.getProfile(member.profileId),
            tracking.getTraits(member.profileId),
          ]);
          return {
            profileId: member.profileId,
            userId: profile.value.userId,
            email: normalizeEmail(traits.value.traits.email) ?? profile.value.emails[0] ?? null,
            enteredAt: member.enteredAt,
          };
        }),
      )),
    );
  }
  return rows;
}

async function members(event: HttpEvent): Promise<HttpResult> {
  const id = segmentId(event);
  if (!(await store.getHead(id))) throw new HttpError(404, `segment ${id} does not exist`);
  const query = membersQuery.safeParse(event.queryStringParameters ?? {});
  if (!query.success)
    throw new HttpError(400, 'limit must be 1–1000, format "json" or "csv", cursor as returned');
  const asCsv = wantsCsv(event, query.data.format);
  const page = await store.members({
    segmentId: id,
    cursor: query.data.cursor ?? null,
    limit: query.data.limit ?? (asCsv ? MAX_PAGE : 100),
  });
  const next = new URLSearchParams();
  if (page.cursor !== null) {
    next.set('cursor', page.cursor);
    if (query.data.limit !== undefined) next.set('limit', String(query.data.limit));
    if (asCsv) next.set('format', 'csv');
  }
  const paging: Record<string, string> =
    page.cursor === null
      ? {}
      : { 'x-next-cursor': page.cursor, link: `<${event.rawPath}?${next.toString()}>; rel="next"` };
  if (!asCsv) return json(200, { members: page.members, cursor: page.cursor }, paging);
  return {
    statusCode: 200,
    headers: {
      'content-type': 'text/csv; charset=utf-8',
      'content-disposition': `attachment; filename="segment-${id}.csv"`,
      'cache-control': 'no-store',
      ...paging,
    },
    body: membersCsv(await memberRows(page.members)),
  };
}

export const handler = httpHandler(async (event) => {
  switch (event.routeKey) {
    case 'PUT /admin/segments/{id}': {
      const id = segmentId(event);
      const body = readJsonBody(event);
      const input =
        typeof body === 'object' && body !== null && !Array.isArray(body) ? { id, ...body } : body;
      let definition: SegmentDefinition;
      try {
        definition = parseSegmentDefinition(input, await definitions());
      } catch (error) {
        if (error instanceof SegmentDefinitionError)
          return json(400, { error: error.message, problems: error.problems });
        throw error;
      }
      if (definition.id !== id) throw new HttpError(400, `id in the body must be "${id}" as in the path`);
      const version = await store.putVersion(definition);
      // Profiles stored before this version are evaluated by a background scan; new events do the rest.
      await backfill.start(id, version.version);
      return json(version.version === 1 ? 201 : 200, await segmentView(id));
    }
    case 'GET /admin/segments': {
      const heads = await store.listHeads();
      const segments = await Promise.all(
        heads.map(async (head) => ({
          id: head.segmentId,
          name: head.name,
          version: head.latestVersion,
          size: await store.size(head.segmentId),
          updatedAt: head.updatedAt,
        })),
      );
      return json(200, { segments });
    }
    case 'GET /admin/segments/{id}':
      return json(200, await segmentView(segmentId(event)));
    case 'GET /admin/segments/{id}/members':
      return members(event);
    case 'GET /admin/profiles/{id}/segments': {
      const profileId = event.pathParameters?.id ?? '';
      const [memberships, explained] = await Promise.all([
        store.segmentsOf(profileId),
        service.explain(profileId),
      ]);
      if (explained === undefined && memberships.length === 0)
        throw new HttpError(404, `profile ${profileId} does not exist`);
      const reasons = new Map((explained ?? []).map((entry) => [entry.segmentId, entry.decision.reason]));
      return json(200, {
        profileId,
        segments: memberships.map((membership) => ({
          segmentId: membership.segmentId,
          enteredAt: membership.enteredAt,
          version: membership.version,
          reason: reasons.get(membership.segmentId) ?? null,
        })),
      });
    }
    default:
      throw new HttpError(404, 'Not found');
  }
});
