// Operations: alarms on everything that can fail silently (functions, dead letters, API, table, SES), one topic, one dashboard.
import { Duration, Stack, Validations } from 'aws-cdk-lib';
import {
  Alarm,
  AlarmStatusWidget,
  ComparisonOperator,
  Dashboard,
  GraphWidget,
  type IMetric,
  MathExpression,
  Metric,
  SingleValueWidget,
  Stats,
  TextWidget,
  TreatMissingData,
} from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import { Table } from 'aws-cdk-lib/aws-dynamodb';
import { FilterPattern, type ILogGroup, MetricFilter } from 'aws-cdk-lib/aws-logs';
import { Topic } from 'aws-cdk-lib/aws-sns';
import { EmailSubscription } from 'aws-cdk-lib/aws-sns-subscriptions';
import { type IQueue, Queue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import type { NurtureHttpApi } from './http-api.ts';
import { NurtureFunction } from './nurture-function.ts';

/** SES puts an account under review at these rates (fractions, as SES publishes them). */
export const SES_BOUNCE_RATE_THRESHOLD = 0.05;
export const SES_COMPLAINT_RATE_THRESHOLD = 0.001;
/** Share of API requests answered 5xx, in percent, over five minutes with at least `API_MIN_REQUESTS` requests. */
export const API_5XX_PERCENT_THRESHOLD = 1;
const API_MIN_REQUESTS = 20;

export interface MonitoringProps {
  /**
   * The construct whose functions, queues, tables and alarms are watched, normally the stack. Create Monitoring
   * after everything else in it: a function added later has no alarm, and synthesis fails saying so.
   */
  readonly watched: Construct;
  readonly httpApi: NurtureHttpApi;
  /** The domain-event publisher's log group: its `published domain events` lines carry the tracked count. */
  readonly domainEventLog: ILogGroup;
  /** Subscribes this address to the alarm topic (SNS sends a confirmation email first). @default no subscriber */
  readonly alarmEmail?: string;
  /** @default the stack name */
  readonly dashboardName?: string;
}

/** One queue that holds what could not be processed, with the alarm on its depth. */
export interface DeadLetterWatch {
  readonly queue: Queue;
  readonly alarm: Alarm;
}

const FIVE_MINUTES = Duration.minutes(5);

/** Alarms on 2 of 3 five-minute periods: a single transient failure (retried anyway) does not page anyone. */
const SUSTAINED = {
  evaluationPeriods: 3,
  datapointsToAlarm: 2,
  treatMissingData: TreatMissingData.NOT_BREACHING,
} as const;

export class Monitoring extends Construct {
  public readonly alarmTopic: Topic;
  public readonly dashboard: Dashboard;
  /** Every alarm that notifies the topic, existing dead-letter alarms included. */
  public readonly alarms: Alarm[] = [];
  public readonly functionErrorAlarms = new Map<NurtureFunction, Alarm>();
  public readonly functionThrottleAlarms = new Map<NurtureFunction, Alarm>();
  public readonly deadLetters: DeadLetterWatch[] = [];
  public readonly sesBounceRateAlarm: Alarm;
  public readonly sesComplaintRateAlarm: Alarm;
  public readonly api5xxAlarm: Alarm;

  constructor(scope: Construct, id: string, props: MonitoringProps) {
    super(scope, id);
    const everything = props.watched.node.findAll();
    const functions = everything.filter((c): c is NurtureFunction => c instanceof NurtureFunction);
    const queues = everything.filter((c): c is Queue => c instanceof Queue);
    const tables = everything.filter((c): c is Table => c instanceof Table);
    const existingAlarms = everything.filter((c): c is Alarm => c instanceof Alarm);
    if (functions.length === 0)
      throw new Error('Monitoring: no NurtureFunction under `watched`; create it last');

    this.alarmTopic = new Topic(this, 'AlarmTopic', {
      displayName: `Nurture alarms (${Stack.of(this).stackName})`,
      enforceSSL: true,
    });
    Validations.of(this.alarmTopic).acknowledge({
      id: 'AwsSolutions-SNS2',
      reason:
        'Alarm notifications carry alarm names and metric values, no personal data; CloudWatch cannot publish to a topic encrypted with the AWS-managed SNS key, and a customer-managed key would add a monthly cost to every stack.',
    });
    if (props.alarmEmail !== undefined) {
      this.alarmTopic.addSubscription(new EmailSubscription(props.alarmEmail));
    }
    const action = new SnsAction(this.alarmTopic);

    // Dead letters: constructs create their own depth alarms (their descriptions point at the runbook); reuse them
    // and add one only for a dead-letter queue that has none.
    const depthAlarmOf = (queue: Queue) =>
      existingAlarms.find(
        (alarm) =>
          alarm.metric instanceof Metric &&
          alarm.metric.metricName === 'ApproximateNumberOfMessagesVisible' &&
          alarm.metric.dimensions?.QueueName === queue.queueName,
      );
    const redriveTargets = new Set<IQueue>(
      queues.flatMap((q) => (q.deadLetterQueue ? [q.deadLetterQueue.queue] : [])),
    );
    for (const queue of queues) {
      const existing = depthAlarmOf(queue);
      if (existing === undefined && !redriveTargets.has(queue)) continue;
      const alarm =
        existing ??
        new Alarm(this, `${queue.node.path.replaceAll('/', '')}DepthAlarm`, {
          alarmDescription: `Messages parked in ${queue.node.path}. See docs/runbook.md (dead letters).`,
          metric: queue.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(1) }),
          threshold: 1,
          evaluationPeriods: 1,
          comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
          treatMissingData: TreatMissingData.NOT_BREACHING,
        });
      this.deadLetters.push({ queue, alarm });
    }
    const workQueues = queues.filter((q) => q.deadLetterQueue !== undefined);
    for (const alarm of existingAlarms) this.alarms.push(alarm);
    for (const { alarm } of this.deadLetters) if (!this.alarms.includes(alarm)) this.alarms.push(alarm);

    // One Errors and one Throttles alarm per function: the alarm's name says which function to look at, and an
    // alarm on metric math may combine at most 10 metrics, so one alarm across ~35 functions is not possible.
    for (const fn of functions) {
      const name = fn.node.path.split('/').slice(1).join('');
      const errors = new Alarm(this, `${name}Errors`, {
        alarmDescription: `${fn.node.path} failed invocations. See docs/runbook.md (function errors).`,
        metric: fn.function.metricErrors({ period: FIVE_MINUTES, statistic: Stats.SUM }),
        threshold: 1,
        comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        ...SUSTAINED,
      });
      const throttles = new Alarm(this, `${name}Throttles`, {
        alarmDescription: `${fn.node.path} invocations throttled (concurrency limit). See docs/runbook.md (throttles).`,
        metric: fn.function.metricThrottles({ period: FIVE_MINUTES, statistic: Stats.SUM }),
        threshold: 1,
        comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        ...SUSTAINED,
      });
      this.functionErrorAlarms.set(fn, errors);
      this.functionThrottleAlarms.set(fn, throttles);
      this.alarms.push(errors, throttles);
    }

    const api = props.httpApi.api;
    const requests = api.metricCount({ period: FIVE_MINUTES, statistic: Stats.SUM });
    const serverErrors = api.metricServerError({ period: FIVE_MINUTES, statistic: Stats.SUM });
    const api5xxPercent = new MathExpression({
      // Below a handful of requests one failure is not a rate worth waking someone for.
      expression: `IF(requests >= ${API_MIN_REQUESTS}, 100 * errors / requests, 0)`,
      usingMetrics: { requests, errors: serverErrors },
      period: FIVE_MINUTES,
      label: 'API 5xx %',
    });
    this.api5xxAlarm = new Alarm(this, 'Api5xxRate', {
      alarmDescription: `More than ${API_5XX_PERCENT_THRESHOLD}% of API requests answered 5xx. See docs/runbook.md (API errors).`,
      metric: api5xxPercent,
      threshold: API_5XX_PERCENT_THRESHOLD,
      comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
      ...SUSTAINED,
    });
    this.alarms.push(this.api5xxAlarm);

    const tableThrottles = tables.map((table) => {
      const throttled = new MathExpression({
        expression: 'reads + writes',
        usingMetrics: {
          reads: table.metric('ReadThrottleEvents', { period: FIVE_MINUTES, statistic: Stats.SUM }),
          writes: table.metric('WriteThrottleEvents', { period: FIVE_MINUTES, statistic: Stats.SUM }),
        },
        period: FIVE_MINUTES,
        label: `${table.node.path} throttled requests`,
      });
      const alarm = new Alarm(this, `${table.node.path.split('/').slice(1).join('')}Throttles`, {
        alarmDescription: `${table.node.path} throttled reads or writes. See docs/runbook.md (DynamoDB throttles).`,
        metric: throttled,
        threshold: 1,
        comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        ...SUSTAINED,
      });
      this.alarms.push(alarm);
      return { table, throttled };
    });

    // Account-level reputation: the figures SES itself enforces (review, then pause) across all configuration sets.
    const bounceRate = new Metric({
      namespace: 'AWS/SES',
      metricName: 'Reputation.BounceRate',
      period: Duration.minutes(15),
      statistic: Stats.MAXIMUM,
    });
    const complaintRate = new Metric({
      namespace: 'AWS/SES',
      metricName: 'Reputation.ComplaintRate',
      period: Duration.minutes(15),
      statistic: Stats.MAXIMUM,
    });
    this.sesBounceRateAlarm = new Alarm(this, 'SesBounceRate', {
      alarmDescription: `SES bounce rate above ${SES_BOUNCE_RATE_THRESHOLD * 100}%: SES reviews the account. See docs/runbook.md (SES reputation).`,
      metric: bounceRate,
      threshold: SES_BOUNCE_RATE_THRESHOLD,
      evaluationPeriods: 1,
      comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
      treatMissingData: TreatMissingData.NOT_BREACHING,
    });
    this.sesComplaintRateAlarm = new Alarm(this, 'SesComplaintRate', {
      alarmDescription: `SES complaint rate above ${SES_COMPLAINT_RATE_THRESHOLD * 100}%: SES reviews the account. See docs/runbook.md (SES reputation).`,
      metric: complaintRate,
      threshold: SES_COMPLAINT_RATE_THRESHOLD,
      evaluationPeriods: 1,
      comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
      treatMissingData: TreatMissingData.NOT_BREACHING,
    });
    this.alarms.push(this.sesBounceRateAlarm, this.sesComplaintRateAlarm);

    for (const alarm of this.alarms) alarm.addAlarmAction(action);

    const namespace = `Nurture/${Stack.of(this).stackName}`;
    new MetricFilter(this, 'TrackedEventsFilter', {
      logGroup: props.domainEventLog,
      metricNamespace: namespace,
      metricName: 'TrackedEvents',
      filterPattern: FilterPattern.stringValue('$.message', '=', 'published domain events'),
      metricValue: '$.tracked',
      defaultValue: 0,
    });
    const trackedEvents = new Metric({
      namespace,
      metricName: 'TrackedEvents',
      period: FIVE_MINUTES,
      statistic: Stats.SUM,
      label: 'events stored',
    });

    this.dashboard = new Dashboard(this, 'Dashboard', {
      dashboardName: props.dashboardName ?? Stack.of(this).stackName,
      defaultInterval: Duration.hours(6),
    });
    const perFunction = (metric: (fn: NurtureFunction) => IMetric) => functions.map(metric);
    const wide = { width: 12, height: 6 } as const;
    this.dashboard.addWidgets(
      new TextWidget({
        markdown:
          '# Nurture\nAlarms notify the alarm topic; what each one means and what to do: docs/runbook.md.',
        width: 24,
        height: 2,
      }),
    );
    this.dashboard.addWidgets(
      new AlarmStatusWidget({ title: 'Alarms', alarms: this.alarms, width: 24, height: 6 }),
    );
    this.dashboard.addWidgets(
      new GraphWidget({
        title: 'API requests and 5xx',
        left: [requests, serverErrors],
        right: [api5xxPercent],
        ...wide,
      }),
      new GraphWidget({
        title: 'API latency (p50, p90, p99)',
        left: ['p50', 'p90', 'p99'].map((statistic) =>
          api.metricLatency({ period: FIVE_MINUTES, statistic }),
        ),
        ...wide,
      }),
    );
    this.dashboard.addWidgets(
      new GraphWidget({ title: 'Tracked events stored', left: [trackedEvents], ...wide }),
      new SingleValueWidget({ title: 'Tracked events (interval)', metrics: [trackedEvents], ...wide }),
    );
    this.dashboard.addWidgets(
      new GraphWidget({
        title: 'Function errors',
        left: perFunction((fn) => fn.function.metricErrors({ period: FIVE_MINUTES, label: fn.node.id })),
        ...wide,
      }),
      new GraphWidget({
        title: 'Function throttles',
        left: perFunction((fn) => fn.function.metricThrottles({ period: FIVE_MINUTES, label: fn.node.id })),
        ...wide,
      }),
    );
    this.dashboard.addWidgets(
      new GraphWidget({
        title: 'Function duration (p99)',
        left: perFunction((fn) =>
          fn.function.metricDuration({ period: FIVE_MINUTES, statistic: 'p99', label: fn.node.id }),
        ),
        ...wide,
      }),
      new GraphWidget({
        title: 'Dead-letter queues (messages parked)',
        left: this.deadLetters.map(({ queue }) =>
          queue.metricApproximateNumberOfMessagesVisible({
            period: Duration.minutes(1),
            label: queue.node.path,
          }),
        ),
        ...wide,
      }),
    );
    this.dashboard.addWidgets(
      new GraphWidget({
        title: 'Work queue depth and oldest message age',
        left: workQueues.map((queue) =>
          queue.metricApproximateNumberOfMessagesVisible({
            period: Duration.minutes(1),
            label: queue.node.path,
          }),
        ),
        right: workQueues.map((queue) =>
          queue.metricApproximateAgeOfOldestMessage({
            period: Duration.minutes(1),
            label: `${queue.node.path} age (s)`,
          }),
        ),
        ...wide,
      }),
      new GraphWidget({
        title: 'DynamoDB consumed capacity and throttles',
        left: tables.flatMap((table) => [
          table.metricConsumedReadCapacityUnits({
            period: FIVE_MINUTES,
            label: `${table.node.path} read units`,
          }),
          table.metricConsumedWriteCapacityUnits({
            period: FIVE_MINUTES,
            label: `${table.node.path} write units`,
          }),
        ]),
        right: tableThrottles.map(({ throttled }) => throttled),
        ...wide,
      }),
    );
    this.dashboard.addWidgets(
      new GraphWidget({
        title: 'SES sends, deliveries, bounces, complaints',
        left: ['Send', 'Delivery', 'Bounce', 'Complaint'].map(
          (metricName) =>
            new Metric({ namespace: 'AWS/SES', metricName, period: FIVE_MINUTES, statistic: Stats.SUM }),
        ),
        ...wide,
      }),
      new GraphWidget({
        title: 'SES reputation (bounce and complaint rate)',
        left: [bounceRate, complaintRate],
        leftAnnotations: [
          { value: SES_BOUNCE_RATE_THRESHOLD, label: 'bounce alarm' },
          { value: SES_COMPLAINT_RATE_THRESHOLD, label: 'complaint alarm' },
        ],
        ...wide,
      }),
    );

    // A function, queue or table added after this construct would go unwatched: fail synthesis instead.
    this.node.addValidation({
      validate: () => {
        const now = props.watched.node.findAll();
        const unwatched = now
          .filter((c): c is NurtureFunction => c instanceof NurtureFunction)
          .filter((fn) => !this.functionErrorAlarms.has(fn))
          .map((fn) => `function ${fn.node.path}`);
        return unwatched.map((what) => `Monitoring: ${what} was created after Monitoring and has no alarm`);
      },
    });
  }
}
