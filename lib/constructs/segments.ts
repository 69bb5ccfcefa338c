// Segments: profile changes, due rechecks and backfill pages through a queue to the segment function; sweep; admin API.
import { Duration } from 'aws-cdk-lib';
import { HttpMethod, type IHttpRouteAuthorizer } from 'aws-cdk-lib/aws-apigatewayv2';
import type { Alarm } from 'aws-cdk-lib/aws-cloudwatch';
import type { Table } from 'aws-cdk-lib/aws-dynamodb';
import { type IEventBus, Rule, Schedule } from 'aws-cdk-lib/aws-events';
import { LambdaFunction, SqsQueue } from 'aws-cdk-lib/aws-events-targets';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import type { RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { Queue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { segmentEntered, segmentExited } from '../../functions/journeys/domain-events.ts';
import {
  contactUnsubscribed,
  messageBounced,
  messageComplained,
} from '../../functions/messaging/domain-events.ts';
import { leadScoreChanged, leadStageChanged } from '../../functions/scoring/domain-events.ts';
import { segmentBackfillRequested } from '../../functions/segments/domain-events.ts';
import type { PurposeCategories } from '../../functions/tracking/consent.ts';
import {
  eventTracked,
  profileConsentChanged,
  profileIdentified,
  profileMerged,
} from '../../functions/tracking/domain-events.ts';
import type { NurtureHttpApi } from './http-api.ts';
import { NurtureFunction } from './nurture-function.ts';
import { workQueue } from './work-queue.ts';

export interface SegmentsProps {
  readonly httpApi: NurtureHttpApi;
  /** Definitions, memberships, size counters and recheck timers live in the profile table. */
  readonly table: Table;
  readonly eventBus: IEventBus;
  readonly adminAuthorizer: IHttpRouteAuthorizer;
  readonly eventRetentionDays: number;
  /** The send policy's consent settings, so `{ consent: "email" }` matches what the sender allows. */
  readonly consent: {
    readonly categories: readonly string[];
    readonly requireOptIn: boolean;
    /** Categories per consent purpose, for `{ purpose }` rule leaves. @default DEFAULT_PURPOSE_CATEGORIES */
    readonly purposes?: PurposeCategories;
  };
  /** How often due rechecks are swept, in minutes (the precision of time-based membership). @default 1 */
  readonly sweepMinutes?: number;
  readonly logRetention: RetentionDays;
  readonly retainData: boolean;
  readonly stage: string;
}

/**
 * What can change a membership: traits, consent and events (tracking), suppression and unsubscribes (messaging),
 * scores and stages (scoring), other segments (for the segments reading them), merges, and backfill pages.
 */
export const SEGMENT_INPUTS = [
  eventTracked,
  profileIdentified,
  profileMerged,
  profileConsentChanged,
  contactUnsubscribed,
  messageBounced,
  messageComplained,
  leadStageChanged,
  leadScoreChanged,
  segmentEntered,
  segmentExited,
  segmentBackfillRequested,
] as const;

/** Receives before an input is parked: throttling and transaction conflicts are retried, a poison input is not. */
const SEGMENT_MAX_RECEIVES = 10;

export class Segments extends Construct {
  public readonly queue: Queue;
  public readonly deadLetterQueue: Queue;
  public readonly deadLetterAlarm: Alarm;
  public readonly inputsRule: Rule;
  public readonly evaluator: NurtureFunction;
  public readonly sweeper: NurtureFunction;
  public readonly sweepRule: Rule;
  public readonly admin: NurtureFunction;

  constructor(scope: Construct, id: string, props: SegmentsProps) {
    super(scope, id);
    const sweepMinutes = props.sweepMinutes ?? 1;
    if (!Number.isInteger(sweepMinutes) || sweepMinutes < 1 || sweepMinutes > 60)
      throw new Error('Segments: sweepMinutes must be a whole number from 1 to 60');
    if (!Number.isInteger(props.eventRetentionDays) || props.eventRetentionDays < 1)
      throw new Error('Segments: eventRetentionDays must be a positive whole number of days');
    if (props.consent.categories.length === 0)
      throw new Error('Segments: consent.categories must name at least one consent category');
    const common = {
      logRetention: props.logRetention,
      retainLogs: props.retainData,
      environment: { NURTURE_STAGE: props.stage },
    };
    const evaluation = {
      ...common.environment,
      EVENT_RETENTION_DAYS: String(props.eventRetentionDays),
      CONSENT_CATEGORIES: props.consent.categories.join(','),
      REQUIRE_OPT_IN: String(props.consent.requireOptIn),
      ...(props.consent.purposes ? { CONSENT_PURPOSES: JSON.stringify(props.consent.purposes) } : {}),
    };

    const evaluatorTimeout = Duration.seconds(120);
    const work = workQueue(this, {
      name: 'segments queue',
      consumerTimeout: evaluatorTimeout,
      maxReceives: SEGMENT_MAX_RECEIVES,
      alarmDescription: 'Segment inputs parked after repeated failures. See docs/segments.md.',
    });
    this.queue = work.queue;
    this.deadLetterQueue = work.deadLetterQueue;
    this.deadLetterAlarm = work.deadLetterAlarm;
    this.inputsRule = new Rule(this, 'Inputs', {
      eventBus: props.eventBus,
      description: 'Profile changes that can change segment memberships, and segment backfill pages',
      // Names are unique across sources, so one list of each matches exactly these catalogued events.
      eventPattern: {
        source: [...new Set(SEGMENT_INPUTS.map((e) => e.source))],
        detailType: SEGMENT_INPUTS.map((e) => e.detailType),
      },
      targets: [new SqsQueue(this.queue)],
    });

    this.evaluator = new NurtureFunction(this, 'Evaluate', {
      ...common,
      entry: 'segment',
      description: 'Keeps segment memberships current on profile changes, due rechecks and backfill pages',
      memorySize: 512,
      timeout: evaluatorTimeout,
      environment: evaluation,
    })
      .bindTable('PROFILE_TABLE', props.table, 'readWrite')
      // Backfills request their next page on the bus.
      .bindEventBus('EVENT_BUS_NAME', props.eventBus);
    this.evaluator.function.addEventSource(
      new SqsEventSource(this.queue, {
        batchSize: 10,
        maxBatchingWindow: Duration.seconds(1),
        reportBatchItemFailures: true,
      }),
    );

    this.sweeper = new NurtureFunction(this, 'RecheckSweep', {
      ...common,
      entry: 'segment-sweep',
      description: 'Puts segment rechecks that came due on the segments queue',
      timeout: Duration.seconds(50),
    })
      .bindTable('PROFILE_TABLE', props.table, 'readWrite')
      .bindQueue('SEGMENT_QUEUE_URL', this.queue, 'send');
    this.sweepRule = new Rule(this, 'Sweep', {
      description: 'Runs the segment recheck sweep',
      schedule: Schedule.rate(Duration.minutes(sweepMinutes)),
      targets: [new LambdaFunction(this.sweeper.function, { retryAttempts: 0 })],
    });

    this.admin = new NurtureFunction(this, 'Admin', {
      ...common,
      entry: 'admin-segments',
      description: 'Admin API: segment versions, sizes, members and CSV exports, a profile’s segments',
      timeout: Duration.seconds(29),
      environment: evaluation,
    })
      .bindTable('PROFILE_TABLE', props.table, 'readWrite')
      // Saving a version requests its backfill.
      .bindEventBus('EVENT_BUS_NAME', props.eventBus);
    const routes: Array<[HttpMethod, string]> = [
      [HttpMethod.PUT, '/admin/segments/{id}'],
      [HttpMethod.GET, '/admin/segments'],
      [HttpMethod.GET, '/admin/segments/{id}'],
      [HttpMethod.GET, '/admin/segments/{id}/members'],
      [HttpMethod.GET, '/admin/profiles/{id}/segments'],
    ];
    for (const [method, path] of routes)
      props.httpApi.addRoute({ method, path, handler: this.admin, authorizer: props.adminAuthorizer });
  }
}
