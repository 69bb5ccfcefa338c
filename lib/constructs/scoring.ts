// Lead scoring: tracking and messaging events through a queue to the score function, and the scoring admin API.
import { Duration } from 'aws-cdk-lib';
import { HttpMethod, type IHttpRouteAuthorizer } from 'aws-cdk-lib/aws-apigatewayv2';
import type { Alarm } from 'aws-cdk-lib/aws-cloudwatch';
import type { Table } from 'aws-cdk-lib/aws-dynamodb';
import { type IEventBus, Rule } from 'aws-cdk-lib/aws-events';
import { SqsQueue } from 'aws-cdk-lib/aws-events-targets';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import type { RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { Queue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import {
  contactUnsubscribed,
  messageClicked,
  messageOpened,
} from '../../functions/messaging/domain-events.ts';
import { scoringRecomputeRequested } from '../../functions/scoring/domain-events.ts';
import { eventTracked, profileIdentified } from '../../functions/tracking/domain-events.ts';
import type { NurtureHttpApi } from './http-api.ts';
import { NurtureFunction } from './nurture-function.ts';
import type { Webhooks } from './webhooks.ts';
import { workQueue } from './work-queue.ts';

export interface ScoringProps {
  readonly httpApi: NurtureHttpApi;
  /** The profile table: rules versions and each profile's lead state are kept in it. */
  readonly table: Table;
  /** Scoring reads its inputs from this bus and puts `lead.*` events on it. */
  readonly eventBus: IEventBus;
  /** Guards every scoring admin route. */
  readonly adminAuthorizer: IHttpRouteAuthorizer;
  /** How long raw events are kept; the score function reads traits through the tracking store. */
  readonly eventRetentionDays: number;
  /** New MQLs are handed to sales as a signed webhook delivery through this. */
  readonly webhooks: Webhooks;
  /** The webhook endpoint id of the sales system (CRM). @default "sales" */
  readonly salesWebhookEndpoint?: string;
  readonly logRetention: RetentionDays;
  readonly retainData: boolean;
  readonly stage: string;
}

/**
 * What behaviour rules can score: tracked events (page views, forms, identify for fit) and engagement with
 * messages. Scoring's own `lead.*` events are left out, so a score change can never score again.
 */
export const SCORING_INPUTS = [
  eventTracked,
  profileIdentified,
  messageOpened,
  messageClicked,
  contactUnsubscribed,
] as const;

/** Receives before an input is parked: version conflicts and throttling are retried, a poison input is not. */
const SCORING_MAX_RECEIVES = 10;

export class Scoring extends Construct {
  public readonly queue: Queue;
  public readonly deadLetterQueue: Queue;
  public readonly deadLetterAlarm: Alarm;
  public readonly inputsRule: Rule;
  /** Pages of the rescoring after a rules change, requested by the admin API and by each page for the next. */
  public readonly recomputeRule: Rule;
  public readonly scorer: NurtureFunction;
  public readonly admin: NurtureFunction;

  constructor(scope: Construct, id: string, props: ScoringProps) {
    super(scope, id);
    const salesEndpoint = props.salesWebhookEndpoint ?? 'sales';
    if (!Number.isInteger(props.eventRetentionDays) || props.eventRetentionDays < 1)
      throw new Error('Scoring: eventRetentionDays must be a positive whole number of days');
    const common = {
      logRetention: props.logRetention,
      retainLogs: props.retainData,
      environment: { NURTURE_STAGE: props.stage },
    };

    const scorerTimeout = Duration.seconds(60);
    const work = workQueue(this, {
      name: 'scoring queue',
      consumerTimeout: scorerTimeout,
      maxReceives: SCORING_MAX_RECEIVES,
      alarmDescription: 'Scoring inputs parked after repeated failures. See docs/scoring.md.',
    });
    this.queue = work.queue;
    this.deadLetterQueue = work.deadLetterQueue;
    this.deadLetterAlarm = work.deadLetterAlarm;
    this.inputsRule = new Rule(this, 'Inputs', {
      eventBus: props.eventBus,
      description: 'Tracked events, identifications and message engagement that scoring rules can score',
      // Names are unique across sources, so one list of each matches exactly these catalogued events.
      eventPattern: {
        source: [...new Set(SCORING_INPUTS.map((e) => e.source))],
        detailType: SCORING_INPUTS.map((e) => e.detailType),
      },
      targets: [new SqsQueue(this.queue)],
    });
    // A rule of its own, so SCORING_INPUTS stay what behaviour rules can score.
    this.recomputeRule = new Rule(this, 'RecomputeRequests', {
      eventBus: props.eventBus,
      description: 'Pages of the rescoring of every profile after the scoring rules changed',
      eventPattern: {
        source: [scoringRecomputeRequested.source],
        detailType: [scoringRecomputeRequested.detailType],
      },
      targets: [new SqsQueue(this.queue)],
    });

    this.scorer = new NurtureFunction(this, 'Score', {
      ...common,
      entry: 'score',
      description:
        'Scores profiles on tracked events and message engagement, moves lifecycle stages, rescores after rules change',
      memorySize: 512,
      timeout: scorerTimeout,
      environment: {
        ...common.environment,
        EVENT_RETENTION_DAYS: String(props.eventRetentionDays),
        SALES_WEBHOOK_ENDPOINT: salesEndpoint,
      },
    })
      // readWrite includes the Scan of the recompute.
      .bindTable('PROFILE_TABLE', props.table, 'readWrite')
      // lead.* events, and the next page of a recompute.
      .bindEventBus('EVENT_BUS_NAME', props.eventBus);
    props.webhooks.bindEnqueue(this.scorer);
    this.scorer.function.addEventSource(
      new SqsEventSource(this.queue, {
        batchSize: 10,
        maxBatchingWindow: Duration.seconds(1),
        reportBatchItemFailures: true,
      }),
    );

    this.admin = new NurtureFunction(this, 'Admin', {
      ...common,
      entry: 'admin-scoring',
      description: 'Admin API: scoring rules, lead scores and stages, sales accept/reject/convert',
      environment: { ...common.environment, SALES_WEBHOOK_ENDPOINT: salesEndpoint },
    })
      .bindTable('PROFILE_TABLE', props.table, 'readWrite')
      // Stage moves and sales decisions publish lead.* events; a rules change requests the recompute's first pages.
      .bindEventBus('EVENT_BUS_NAME', props.eventBus);
    // A manual move to MQL hands the lead to sales too.
    props.webhooks.bindEnqueue(this.admin);
    const routes: Array<[HttpMethod, string]> = [
      [HttpMethod.PUT, '/admin/scoring/rules'],
      [HttpMethod.GET, '/admin/scoring/rules'],
      [HttpMethod.GET, '/admin/scoring/recompute'],
      [HttpMethod.GET, '/admin/profiles/{id}/lead'],
      [HttpMethod.POST, '/admin/profiles/{id}/stage'],
      [HttpMethod.POST, '/admin/leads/{id}/accept'],
      [HttpMethod.POST, '/admin/leads/{id}/reject'],
      [HttpMethod.POST, '/admin/leads/{id}/convert'],
    ];
    for (const [method, path] of routes)
      props.httpApi.addRoute({ method, path, handler: this.admin, authorizer: props.adminAuthorizer });
  }
}
