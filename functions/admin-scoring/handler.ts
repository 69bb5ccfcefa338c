// Admin API for lead scoring: rules versions, a profile's scores with their explanation, stages, sales decisions.
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { SQSClient } from '@aws-sdk/client-sqs';
import * as z from 'zod';
import { LEAD_STAGES } from '../journeys/definition.ts';
import { TrackingProfileSummaries } from '../scoring/aws-adapters.ts';
import { DynamoDbScoringStore } from '../scoring/dynamodb-store.ts';
import { scoringPublisher } from '../scoring/publisher.ts';
import { startRecompute } from '../scoring/recompute.ts';
import { BusRecomputeRequests, DynamoDbRecomputeProgress } from '../scoring/recompute-adapters.ts';
import { InvalidScoringRulesError, parseScoringRules, type ScoringRules } from '../scoring/rules.ts';
import { LeadService } from '../scoring/service.ts';
import { readEnvironment } from '../shared/environment.ts';
import { HttpError, type HttpEvent, httpHandler, json } from '../shared/http.ts';
import { logger } from '../shared/logger.ts';
import { parseJsonBody, readJsonBody } from '../shared/request.ts';
import { DynamoDbTrackingStore } from '../tracking/dynamodb-store.ts';

const env = readEnvironment({
  PROFILE_TABLE: z.string().min(1),
  EVENT_BUS_NAME: z.string().min(1),
  WEBHOOK_QUEUE_URL: z.string().min(1),
  SALES_WEBHOOK_ENDPOINT: z.string().min(1).default('sales'),
});
const dynamodb = new DynamoDBClient({});
const store = new DynamoDbScoringStore({ client: dynamodb, tableName: env.PROFILE_TABLE });
const tracking = new DynamoDbTrackingStore({
  client: dynamodb,
  tableName: env.PROFILE_TABLE,
  eventRetentionDays: 1,
});
const eventBridge = new EventBridgeClient({});
const recomputes = new DynamoDbRecomputeProgress(dynamodb, env.PROFILE_TABLE);
const recomputeRequests = new BusRecomputeRequests(eventBridge, env.EVENT_BUS_NAME);
const service = new LeadService({
  store,
  publisher: scoringPublisher({
    dynamodb,
    eventBridge,
    sqs: new SQSClient({ useQueueUrlAsEndpoint: false }),
    tableName: env.PROFILE_TABLE,
    busName: env.EVENT_BUS_NAME,
    webhookQueueUrl: env.WEBHOOK_QUEUE_URL,
    salesEndpointId: env.SALES_WEBHOOK_ENDPOINT,
    log: (message, fields) => logger.warn(message, fields),
  }),
  profiles: new TrackingProfileSummaries(tracking),
  now: () => new Date(),
});

export const stageRequest = z
  .object({
    stage: z.enum(LEAD_STAGES),
    reason: z.string().trim().min(1).max(500),
    /** Who moved it (a user name or system); shown in the history. */
    by: z.string().trim().min(1).max(200).default('admin'),
    /** Makes a retried request harmless. */
    key: z.string().min(1).max(200).optional(),
  })
  .strict();

export const salesDecisionRequest = z
  .object({
    reason: z.string().trim().max(500).default(''),
    by: z.string().trim().min(1).max(200).default('sales'),
    /** For reject: back to nurturing (recycled, the default) or out for good (disqualified). */
    outcome: z.enum(['recycle', 'disqualify']).optional(),
    key: z.string().min(1).max(200).optional(),
  })
  .strict();

async function existingProfile(event: HttpEvent): Promise<string> {
  const id = event.pathParameters?.id ?? '';
  if (!(await tracking.getProfile(id)).exists) throw new HttpError(404, `profile ${id} does not exist`);
  return id;
}

function leadView(outcome: { profileId: string; scores: unknown; stage: unknown; changed: boolean }) {
  return {
    profileId: outcome.profileId,
    stage: outcome.stage,
    scores: outcome.scores,
    changed: outcome.changed,
  };
}

export const handler = httpHandler(async (event) => {
  switch (event.routeKey) {
    case 'PUT /admin/scoring/rules': {
      let rules: ScoringRules;
      try {
        rules = parseScoringRules(readJsonBody(event));
      } catch (error) {
        if (error instanceof InvalidScoringRulesError) throw new HttpError(400, error.message);
        throw error;
      }
      const stored = await store.putRules(rules);
      // Every profile is rescored under the new version in the background (docs/scoring.md "Changing rules").
      const recompute = await startRecompute({
        deps: { progress: recomputes, requests: recomputeRequests, now: () => new Date() },
        version: stored.version,
      });
      return json(stored.version === 1 ? 201 : 200, { ...stored, recompute });
    }
    case 'GET /admin/scoring/rules': {
      const stored = await store.getRules('latest');
      if (!stored) throw new HttpError(404, 'no scoring rules were published yet');
      return json(200, { ...stored, recompute: (await recomputes.get(stored.version)) ?? null });
    }
    case 'GET /admin/scoring/recompute': {
      const latest = await recomputes.latest();
      if (!latest) throw new HttpError(404, 'no recompute was started yet');
      return json(200, latest);
    }
    case 'GET /admin/profiles/{id}/lead':
      return json(200, await service.explain(await existingProfile(event)));
    case 'POST /admin/profiles/{id}/stage': {
      const profileId = await existingProfile(event);
      const input = parseJsonBody(event, stageRequest);
      return json(
        200,
        leadView(
          await service.setStage({
            profileId,
            stage: input.stage,
            reason: input.reason,
            by: input.by,
            ...(input.key ? { key: input.key } : {}),
          }),
        ),
      );
    }
    case 'POST /admin/leads/{id}/accept':
    case 'POST /admin/leads/{id}/reject':
    case 'POST /admin/leads/{id}/convert': {
      const profileId = await existingProfile(event);
      const input = parseJsonBody(event, salesDecisionRequest, { allowEmpty: true });
      const decision = event.routeKey.endsWith('accept')
        ? 'accept'
        : event.routeKey.endsWith('reject')
          ? 'reject'
          : 'convert';
      if (decision === 'reject' && input.reason === '')
        throw new HttpError(
          400,
          'reason: a rejection needs a reason (sales and marketing agree on what a lead is)',
        );
      return json(
        200,
        leadView(
          await service.salesDecision({
            profileId,
            decision,
            reason: input.reason,
            by: input.by,
            ...(input.outcome ? { outcome: input.outcome } : {}),
            ...(input.key ? { key: input.key } : {}),
          }),
        ),
      );
    }
    default:
      throw new HttpError(404, 'Not Found');
  }
});
