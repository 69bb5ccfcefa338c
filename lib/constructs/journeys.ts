// Journeys: domain events and due timers through a queue to the journey function, the timer sweep, the admin API.
import { Duration } from 'aws-cdk-lib';
import { HttpMethod, type IHttpRouteAuthorizer } from 'aws-cdk-lib/aws-apigatewayv2';
import type { Alarm } from 'aws-cdk-lib/aws-cloudwatch';
import type { Table } from 'aws-cdk-lib/aws-dynamodb';
import { type IEventBus, Rule, Schedule } from 'aws-cdk-lib/aws-events';
import { LambdaFunction, SqsQueue } from 'aws-cdk-lib/aws-events-targets';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import type { RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { IQueue, Queue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { JOURNEY_EVENTS } from '../../functions/journeys/domain-events.ts';
import { MESSAGING_EVENTS } from '../../functions/messaging/domain-events.ts';
import { SCORING_EVENTS } from '../../functions/scoring/domain-events.ts';
import { TRACKING_EVENTS } from '../../functions/tracking/domain-events.ts';
import type { NurtureHttpApi } from './http-api.ts';
import { NurtureFunction } from './nurture-function.ts';
import type { Webhooks } from './webhooks.ts';
import { workQueue } from './work-queue.ts';

export interface JourneysProps {
  readonly httpApi: NurtureHttpApi;
  readonly table: Table;
  readonly eventBus: IEventBus;
  readonly adminAuthorizer: IHttpRouteAuthorizer;
  /** Journey emails go on the messaging send queue. */
  readonly sendQueue: IQueue;
  /** Journey webhook steps queue deliveries. */
  readonly webhooks: Webhooks;
  readonly eventRetentionDays: number;
  readonly messageRetentionDays: number;
  /** How often the timer sweep runs, in minutes (the precision of waits). @default 1 */
  readonly sweepMinutes?: number;
  readonly logRetention: RetentionDays;
  readonly retainData: boolean;
  readonly stage: string;
}

/** Every catalogued event: triggers, goals and waits may name any of them. */
const JOURNEY_INPUTS = [...TRACKING_EVENTS, ...MESSAGING_EVENTS, ...JOURNEY_EVENTS, ...SCORING_EVENTS];

/** Receives before an input is parked: version conflicts and throttling are retried, a poison input is not. */
const JOURNEY_MAX_RECEIVES = 10;

export class Journeys extends Construct {
  public readonly queue: Queue;
  public readonly deadLetterQueue: Queue;
  public readonly deadLetterAlarm: Alarm;
  public readonly runner: NurtureFunction;
  public readonly sweeper: NurtureFunction;
  public readonly admin: NurtureFunction;
  public readonly sweepRule: Rule;

  constructor(scope: Construct, id: string, props: JourneysProps) {
    super(scope, id);
    const sweepMinutes = props.sweepMinutes ?? 1;
    if (!Number.isInteger(sweepMinutes) || sweepMinutes < 1 || sweepMinutes > 60)
      throw new Error('Journeys: sweepMinutes must be a whole number from 1 to 60');
    const common = {
      logRetention: props.logRetention,
      retainLogs: props.retainData,
      environment: { NURTURE_STAGE: props.stage },
    };

    const runnerTimeout = Duration.seconds(60);
    const work = workQueue(this, {
      name: 'journey queue',
      consumerTimeout: runnerTimeout,
      maxReceives: JOURNEY_MAX_RECEIVES,
      alarmDescription: 'Journey inputs parked after repeated failures. See docs/runbook.md (journeys).',
    });
    this.queue = work.queue;
    this.deadLetterQueue = work.deadLetterQueue;
    this.deadLetterAlarm = work.deadLetterAlarm;
    new Rule(this, 'Inputs', {
      eventBus: props.eventBus,
      description: 'Domain events journeys trigger on, wait for or stop at, and due journey timers',
      // Names are unique across sources, so one list of each matches exactly the catalogued events.
      eventPattern: {
        source: [...new Set(JOURNEY_INPUTS.map((e) => e.source))],
        detailType: JOURNEY_INPUTS.map((e) => e.detailType),
      },
      targets: [new SqsQueue(this.queue)],
    });

    this.runner = new NurtureFunction(this, 'Runner', {
      ...common,
      entry: 'journey',
      description: 'Steps journey enrollments on domain events and due timers',
      memorySize: 512,
      timeout: runnerTimeout,
      environment: {
        ...common.environment,
        EVENT_RETENTION_DAYS: String(props.eventRetentionDays),
        MESSAGE_RETENTION_DAYS: String(props.messageRetentionDays),
      },
    })
      .bindTable('PROFILE_TABLE', props.table, 'readWrite')
      .bindQueue('SEND_QUEUE_URL', props.sendQueue, 'send')
      .bindEventBus('EVENT_BUS_NAME', props.eventBus);
    props.webhooks.bindEnqueue(this.runner);
    this.runner.function.addEventSource(
      new SqsEventSource(this.queue, {
        batchSize: 10,
        maxBatchingWindow: Duration.seconds(1),
        reportBatchItemFailures: true,
      }),
    );

    this.sweeper = new NurtureFunction(this, 'TimerSweep', {
      ...common,
      entry: 'journey-timers',
      description: 'Puts journey.step_due on the bus for timers that came due',
      timeout: Duration.seconds(50),
    })
      .bindTable('PROFILE_TABLE', props.table, 'readWrite')
      .bindEventBus('EVENT_BUS_NAME', props.eventBus);
    this.sweepRule = new Rule(this, 'Sweep', {
      description: 'Runs the journey timer sweep',
      schedule: Schedule.rate(Duration.minutes(sweepMinutes)),
      targets: [new LambdaFunction(this.sweeper.function, { retryAttempts: 0 })],
    });

    this.admin = new NurtureFunction(this, 'Admin', {
      ...common,
      entry: 'admin-journeys',
      description: 'Admin API: journey versions, dry runs, pause/resume, statistics, enrollments',
    })
      .bindTable('PROFILE_TABLE', props.table, 'readWrite')
      // Publishing a version with date triggers requests the backfill of existing profiles.
      .bindEventBus('EVENT_BUS_NAME', props.eventBus);
    const routes: Array<[HttpMethod, string]> = [
      [HttpMethod.GET, '/admin/journeys'],
      [HttpMethod.PUT, '/admin/journeys/{id}'],
      [HttpMethod.GET, '/admin/journeys/{id}'],
      [HttpMethod.POST, '/admin/journeys/{id}/validate'],
      [HttpMethod.POST, '/admin/journeys/{id}/pause'],
      [HttpMethod.POST, '/admin/journeys/{id}/resume'],
      [HttpMethod.GET, '/admin/journeys/{id}/stats'],
      [HttpMethod.GET, '/admin/profiles/{id}/journeys'],
    ];
    for (const [method, path] of routes)
      props.httpApi.addRoute({ method, path, handler: this.admin, authorizer: props.adminAuthorizer });
  }
}
