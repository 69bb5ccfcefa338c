// KPIs: the KPI domain events through a queue into counters, an hourly rollup into KPI days, and the KPI admin API.
import { Duration, Validations } from 'aws-cdk-lib';
import { HttpMethod, type IHttpRouteAuthorizer } from 'aws-cdk-lib/aws-apigatewayv2';
import { Alarm, ComparisonOperator, TreatMissingData } from 'aws-cdk-lib/aws-cloudwatch';
import type { Table } from 'aws-cdk-lib/aws-dynamodb';
import { type IEventBus, Rule, Schedule } from 'aws-cdk-lib/aws-events';
import { LambdaFunction, SqsQueue } from 'aws-cdk-lib/aws-events-targets';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import type { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { IANAZone } from 'luxon';
import { JOURNEY_EVENTS } from '../../functions/journeys/domain-events.ts';
import { KPI_DETAIL_TYPES } from '../../functions/kpis/inputs.ts';
import { MESSAGING_EVENTS } from '../../functions/messaging/domain-events.ts';
import { SCORING_EVENTS } from '../../functions/scoring/domain-events.ts';
import { TRACKING_EVENTS } from '../../functions/tracking/domain-events.ts';
import type { NurtureHttpApi } from './http-api.ts';
import { NurtureFunction } from './nurture-function.ts';

export interface KpisProps {
  readonly httpApi: NurtureHttpApi;
  /** Counters, KPI days, costs and reference values live in the profile table. */
  readonly table: Table;
  readonly eventBus: IEventBus;
  readonly adminAuthorizer: IHttpRouteAuthorizer;
  /** IANA zone whose calendar days KPIs report (KPIS.md). @default 'UTC' */
  readonly timeZone?: string;
  /** ISO 4217 currency of amounts that name none, and of costs entered without one. @default 'USD' */
  readonly currency?: string;
  readonly logRetention: RetentionDays;
  readonly retainData: boolean;
  readonly stage: string;
}

/** Receives before an event is parked: throttling and transaction conflicts are retried, a poison event is not. */
const KPI_MAX_RECEIVES = 10;

/** The sources of the KPI detail types, from the catalogues, so the rule matches exactly the consumed events. */
export function kpiEventSources(): string[] {
  const catalogue = [...TRACKING_EVENTS, ...MESSAGING_EVENTS, ...SCORING_EVENTS, ...JOURNEY_EVENTS];
  const sources = KPI_DETAIL_TYPES.map((detailType) => {
    const found = catalogue.find((event) => event.detailType === detailType);
    if (found === undefined) throw new Error(`KPI input ${detailType} is not in the event catalogue`);
    return found.source;
  });
  return [...new Set(sources)].sort();
}

export class Kpis extends Construct {
  public readonly queue: Queue;
  public readonly deadLetterQueue: Queue;
  public readonly deadLetterAlarm: Alarm;
  public readonly inputsRule: Rule;
  public readonly counter: NurtureFunction;
  public readonly rollup: NurtureFunction;
  public readonly rollupRule: Rule;
  public readonly admin: NurtureFunction;

  constructor(scope: Construct, id: string, props: KpisProps) {
    super(scope, id);
    const timeZone = props.timeZone ?? 'UTC';
    const currency = props.currency ?? 'USD';
    if (!IANAZone.isValidZone(timeZone))
      throw new Error(`Kpis: timeZone must be an IANA time zone such as Europe/Amsterdam, not "${timeZone}"`);
    if (!/^[A-Z]{3}$/.test(currency))
      throw new Error(`Kpis: currency must be an ISO 4217 code such as EUR, not "${currency}"`);
    const common = {
      logRetention: props.logRetention,
      retainLogs: props.retainData,
      environment: { NURTURE_STAGE: props.stage, KPI_TIME_ZONE: timeZone, KPI_CURRENCY: currency },
    };

    this.deadLetterQueue = new Queue(this, 'DeadLetters', {
      retentionPeriod: Duration.days(14),
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
    });
    Validations.of(this.deadLetterQueue).acknowledge({
      id: 'AwsSolutions-SQS3',
      reason: 'This is the dead-letter queue of the KPI queue; it has an alarm instead of a DLQ of its own.',
    });
    this.deadLetterAlarm = new Alarm(this, 'DeadLettersAlarm', {
      alarmDescription: 'KPI events parked after repeated failures: they are not counted. See docs/kpis.md.',
      metric: this.deadLetterQueue.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(1) }),
      threshold: 1,
      evaluationPeriods: 1,
      comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: TreatMissingData.NOT_BREACHING,
    });
    const counterTimeout = Duration.seconds(60);
    this.queue = new Queue(this, 'Queue', {
      // Lambda's guidance: at least six times the function timeout, so a retried batch is not received twice.
      visibilityTimeout: Duration.seconds(counterTimeout.toSeconds() * 6),
      retentionPeriod: Duration.days(4),
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      deadLetterQueue: { queue: this.deadLetterQueue, maxReceiveCount: KPI_MAX_RECEIVES },
    });
    this.inputsRule = new Rule(this, 'Inputs', {
      eventBus: props.eventBus,
      description: 'Domain events that KPIs count (functions/kpis/inputs.ts KPI_DETAIL_TYPES)',
      eventPattern: { source: kpiEventSources(), detailType: [...KPI_DETAIL_TYPES] },
      targets: [new SqsQueue(this.queue)],
    });

    this.counter = new NurtureFunction(this, 'Count', {
      ...common,
      entry: 'kpi',
      description: 'Counts KPI domain events into sharded day counters, each event once',
      timeout: counterTimeout,
    }).bindTable('PROFILE_TABLE', props.table, 'readWrite');
    this.counter.function.addEventSource(
      new SqsEventSource(this.queue, {
        batchSize: 25,
        maxBatchingWindow: Duration.seconds(1),
        reportBatchItemFailures: true,
      }),
    );

    this.rollup = new NurtureFunction(this, 'Rollup', {
      ...common,
      entry: 'kpi-rollup',
      description: 'Rolls yesterday’s and today’s KPI counters up into KPI days',
      timeout: Duration.seconds(120),
    }).bindTable('PROFILE_TABLE', props.table, 'readWrite');
    this.rollupRule = new Rule(this, 'HourlyRollup', {
      description: 'Runs the KPI rollup every hour',
      schedule: Schedule.rate(Duration.hours(1)),
      targets: [new LambdaFunction(this.rollup.function, { retryAttempts: 2 })],
    });

    this.admin = new NurtureFunction(this, 'Admin', {
      ...common,
      entry: 'admin-kpis',
      description: 'Admin API: KPI report and CSV, on-demand rollups, marketing costs, reference values',
      memorySize: 1024,
      timeout: Duration.seconds(29),
    }).bindTable('PROFILE_TABLE', props.table, 'readWrite');
    const routes: Array<[HttpMethod, string]> = [
      [HttpMethod.GET, '/admin/kpis'],
      [HttpMethod.POST, '/admin/kpis/rollup'],
      [HttpMethod.GET, '/admin/kpis/costs'],
      [HttpMethod.PUT, '/admin/kpis/costs'],
      [HttpMethod.GET, '/admin/kpis/reference'],
      [HttpMethod.PUT, '/admin/kpis/reference'],
    ];
    for (const [method, path] of routes)
      props.httpApi.addRoute({ method, path, handler: this.admin, authorizer: props.adminAuthorizer });
  }
}
