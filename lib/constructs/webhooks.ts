// Webhooks: signed POSTs to configured endpoints through a queue with backoff retries, a DLQ and its alarm; admin API.
import { Duration } from 'aws-cdk-lib';
import { HttpMethod, type IHttpRouteAuthorizer } from 'aws-cdk-lib/aws-apigatewayv2';
import { Alarm, ComparisonOperator, TreatMissingData } from 'aws-cdk-lib/aws-cloudwatch';
import type { Table } from 'aws-cdk-lib/aws-dynamodb';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import type { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import type { NurtureHttpApi } from './http-api.ts';
import { NurtureFunction } from './nurture-function.ts';

export interface WebhooksProps {
  readonly httpApi: NurtureHttpApi;
  /** The profile table: endpoints and deliveries are kept in it. */
  readonly table: Table;
  /** Guards every /admin/webhooks route. */
  readonly adminAuthorizer: IHttpRouteAuthorizer;
  readonly logRetention: RetentionDays;
  readonly retainData: boolean;
  readonly stage: string;
  /**
   * Deliver to loopback, private and link-local addresses too (receivers on the developer's machine).
   * Cloud metadata addresses stay refused. Production leaves this off: it is what stops SSRF.
   */
  readonly allowPrivateTargets: boolean;
  /** The first retry waits up to this long; each further one up to twice as long (full jitter). */
  readonly retryBaseSeconds: number;
  /** Attempts per delivery, the first included; after the last one the delivery is parked in the DLQ. */
  readonly maxAttempts: number;
  /** @default 3600 seconds: no retry waits longer than an hour */
  readonly retryMaxSeconds?: number;
  /** How long a receiver has to answer. @default 10 seconds */
  readonly timeoutSeconds?: number;
}

const PARKED_RETENTION = Duration.days(14);

export class Webhooks extends Construct {
  public readonly queue: Queue;
  public readonly deadLetterQueue: Queue;
  public readonly deadLetterAlarm: Alarm;
  public readonly deliver: NurtureFunction;
  public readonly admin: NurtureFunction;
  private readonly table: Table;

  constructor(scope: Construct, id: string, props: WebhooksProps) {
    super(scope, id);
    const timeoutSeconds = props.timeoutSeconds ?? 10;
    const retryMaxSeconds = props.retryMaxSeconds ?? 3600;
    if (!Number.isInteger(props.maxAttempts) || props.maxAttempts < 1 || props.maxAttempts > 1000)
      throw new Error('Webhooks: maxAttempts must be an integer from 1 to 1000 (the queue maxReceiveCount)');
    if (!(props.retryBaseSeconds > 0)) throw new Error('Webhooks: retryBaseSeconds must be positive');
    if (!(retryMaxSeconds >= 1 && retryMaxSeconds <= 43_200))
      throw new Error('Webhooks: retryMaxSeconds must be from 1 to 43200 (the SQS visibility limit)');
    if (!(timeoutSeconds > 0 && timeoutSeconds <= 60))
      throw new Error('Webhooks: timeoutSeconds must be from 1 to 60');
    this.table = props.table;

    // A batch is sent concurrently: the slowest receiver bounds it, plus time for the reads and writes around it.
    const functionTimeout = Duration.seconds(Math.ceil(timeoutSeconds) + 20);

    this.deadLetterQueue = new Queue(this, 'DeadLetters', {
      retentionPeriod: PARKED_RETENTION,
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
    });
    this.queue = new Queue(this, 'Deliveries', {
      // Lambda's guidance: at least six times the function timeout, so a retried batch is not received twice.
      visibilityTimeout: Duration.seconds(functionTimeout.toSeconds() * 6),
      retentionPeriod: PARKED_RETENTION,
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      // The deliverer counts attempts by receive count, so the queue parks a delivery right after its last one.
      deadLetterQueue: { queue: this.deadLetterQueue, maxReceiveCount: props.maxAttempts },
    });
    this.deadLetterAlarm = new Alarm(this, 'DeadLettersAlarm', {
      alarmDescription:
        'Webhook deliveries that failed every attempt and were parked. See docs/webhooks.md ("Parked deliveries").',
      metric: this.deadLetterQueue.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(1) }),
      threshold: 1,
      evaluationPeriods: 1,
      comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: TreatMissingData.NOT_BREACHING,
    });

    const common = {
      logRetention: props.logRetention,
      retainLogs: props.retainData,
    };
    const targets = { ALLOW_PRIVATE_WEBHOOK_TARGETS: String(props.allowPrivateTargets) };

    this.deliver = new NurtureFunction(this, 'Deliver', {
      ...common,
      entry: 'deliver-webhooks',
      description: 'Webhooks: signs and POSTs queued deliveries, retries with backoff, parks failures',
      timeout: functionTimeout,
      environment: {
        NURTURE_STAGE: props.stage,
        ...targets,
        WEBHOOK_TIMEOUT_SECONDS: String(timeoutSeconds),
        WEBHOOK_MAX_ATTEMPTS: String(props.maxAttempts),
        WEBHOOK_RETRY_BASE_SECONDS: String(props.retryBaseSeconds),
        WEBHOOK_RETRY_MAX_SECONDS: String(retryMaxSeconds),
      },
    })
      .bindTable('PROFILE_TABLE', props.table, 'readWrite')
      .bindQueue('WEBHOOK_QUEUE_URL', this.queue, 'consume');
    this.deliver.function.addEventSource(
      new SqsEventSource(this.queue, {
        batchSize: 10,
        reportBatchItemFailures: true,
        // Bounds the requests in flight to receivers, whatever the backlog.
        maxConcurrency: 5,
      }),
    );

    this.admin = new NurtureFunction(this, 'Admin', {
      ...common,
      entry: 'admin-webhooks',
      description: 'Admin API: webhook endpoints, secrets and deliveries',
      environment: { NURTURE_STAGE: props.stage, ...targets },
    });
    this.bindEnqueue(this.admin);
    const routes: Array<[HttpMethod, string]> = [
      [HttpMethod.GET, '/admin/webhooks'],
      [HttpMethod.PUT, '/admin/webhooks/{id}'],
      [HttpMethod.GET, '/admin/webhooks/{id}'],
      [HttpMethod.DELETE, '/admin/webhooks/{id}'],
      [HttpMethod.POST, '/admin/webhooks/{id}/rotate-secret'],
      [HttpMethod.POST, '/admin/webhooks/{id}/deliveries'],
      [HttpMethod.GET, '/admin/webhooks/{id}/deliveries'],
      [HttpMethod.GET, '/admin/webhooks/{id}/deliveries/{deliveryId}'],
    ];
    for (const [method, path] of routes) {
      props.httpApi.addRoute({ method, path, handler: this.admin, authorizer: props.adminAuthorizer });
    }
  }

  /**
   * Lets a function queue deliveries (WebhookQueue): table access for the delivery records, send rights on the
   * queue, and PROFILE_TABLE / WEBHOOK_QUEUE_URL in its environment.
   */
  bindEnqueue(fn: NurtureFunction): NurtureFunction {
    return fn
      .bindTable('PROFILE_TABLE', this.table, 'readWrite')
      .bindQueue('WEBHOOK_QUEUE_URL', this.queue, 'send');
  }
}
