// Messaging: templates, the send queue and SES sender, SES feedback through EventBridge, and the email link routes.
import { Aws, Duration, Validations } from 'aws-cdk-lib';
import { HttpMethod, type IHttpRouteAuthorizer } from 'aws-cdk-lib/aws-apigatewayv2';
import { Alarm, ComparisonOperator, TreatMissingData } from 'aws-cdk-lib/aws-cloudwatch';
import type { Table } from 'aws-cdk-lib/aws-dynamodb';
import { EventBus, Rule } from 'aws-cdk-lib/aws-events';
import { LambdaFunction } from 'aws-cdk-lib/aws-events-targets';
import { Effect, PolicyStatement } from 'aws-cdk-lib/aws-iam';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import type { RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { ISecret } from 'aws-cdk-lib/aws-secretsmanager';
import {
  ConfigurationSet,
  ConfigurationSetEventDestination,
  EmailSendingEvent,
  EventDestination,
  SuppressionReasons,
} from 'aws-cdk-lib/aws-ses';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { SES_DETAIL_TYPES } from '../../functions/messaging/ses-feedback.ts';
import type { NurtureHttpApi } from './http-api.ts';
import { NurtureFunction } from './nurture-function.ts';
import { workQueue } from './work-queue.ts';

export interface MessagingProps {
  readonly httpApi: NurtureHttpApi;
  readonly table: Table;
  readonly adminAuthorizer: IHttpRouteAuthorizer;
  /** The tracking API's collect function: it also serves the email open, click and unsubscribe links. */
  readonly collect: NurtureFunction;
  /** Signs and verifies tracked links. */
  readonly signingSecret: ISecret;
  /** Verified SES identity mail is sent from, `address` or `Name <address>`. */
  readonly senderEmail: string;
  /** SES maximum send rate of the account (emails per second). */
  readonly sendRatePerSecond: number;
  /** Sender instances at once (the event source mapping's maximum concurrency, at least 2). @default 2 */
  readonly senderMaxConcurrency?: number;
  /** Marketing emails per profile per window; 0 turns the cap off. */
  readonly frequencyCap: { readonly max: number; readonly windowHours: number };
  /** Segment consent categories that govern email marketing, and whether one must be granted. */
  readonly consent: { readonly categories: readonly string[]; readonly requireOptIn: boolean };
  /** How long an unconfirmed send waits for SES's Send event before it is sent again. */
  readonly confirmGraceSeconds: number;
  /** Base URL of tracked links. @default the HTTP API's own endpoint */
  readonly trackingBaseUrl?: string;
  readonly messageRetentionDays: number;
  readonly logRetention: RetentionDays;
  readonly retainData: boolean;
  readonly stage: string;
}

/** Receives before a send is parked: throttling and unconfirmed outcomes are retried, not dropped. */
const SEND_MAX_RECEIVES = 20;

export class Messaging extends Construct {
  public readonly sendQueue: Queue;
  public readonly sendDeadLetterQueue: Queue;
  public readonly sendDeadLetterAlarm: Alarm;
  public readonly configurationSet: ConfigurationSet;
  public readonly sender: NurtureFunction;
  public readonly feedback: NurtureFunction;
  public readonly feedbackDeadLetterQueue: Queue;

  constructor(scope: Construct, id: string, props: MessagingProps) {
    super(scope, id);
    const maxConcurrency = props.senderMaxConcurrency ?? 2;
    if (maxConcurrency < 2 || maxConcurrency > 1000)
      throw new Error('Messaging: senderMaxConcurrency must be from 2 to 1000 (SQS event source limits)');
    if (!(props.sendRatePerSecond > 0)) throw new Error('Messaging: sendRatePerSecond must be positive');
    const common = {
      logRetention: props.logRetention,
      retainLogs: props.retainData,
      environment: {
        NURTURE_STAGE: props.stage,
        MESSAGE_RETENTION_DAYS: String(props.messageRetentionDays),
      },
    };
    const trackingBaseUrl = props.trackingBaseUrl ?? props.httpApi.api.apiEndpoint;

    this.configurationSet = new ConfigurationSet(this, 'ConfigurationSet', {
      reputationMetrics: true,
      sendingEnabled: true,
      // The account-level suppression list backs up ours: SES itself drops mail to known bad addresses.
      suppressionReasons: SuppressionReasons.BOUNCES_AND_COMPLAINTS,
    });
    // SES can publish only to the default bus.
    const defaultBus = EventBus.fromEventBusName(this, 'DefaultBus', 'default');
    new ConfigurationSetEventDestination(this, 'ToEventBridge', {
      configurationSet: this.configurationSet,
      destination: EventDestination.eventBus(defaultBus),
      events: [
        EmailSendingEvent.SEND,
        EmailSendingEvent.DELIVERY,
        EmailSendingEvent.BOUNCE,
        EmailSendingEvent.COMPLAINT,
        EmailSendingEvent.REJECT,
        EmailSendingEvent.RENDERING_FAILURE,
        EmailSendingEvent.DELIVERY_DELAY,
      ],
    });

    // Send queue
    const senderTimeout = Duration.seconds(60);
    const work = workQueue(this, {
      name: 'send queue',
      consumerTimeout: senderTimeout,
      maxReceives: SEND_MAX_RECEIVES,
      alarmDescription: 'Emails parked after repeated failures. See docs/runbook.md (messaging).',
      ids: { queue: 'SendQueue', deadLetters: 'SendDeadLetters', alarm: 'SendDeadLettersAlarm' },
    });
    this.sendQueue = work.queue;
    this.sendDeadLetterQueue = work.deadLetterQueue;
    this.sendDeadLetterAlarm = work.deadLetterAlarm;

    this.sender = new NurtureFunction(this, 'SendEmail', {
      ...common,
      entry: 'send-email',
      description: 'Sends queued emails through SES, exactly once and within the send rate',
      memorySize: 512,
      timeout: senderTimeout,
      environment: {
        ...common.environment,
        SENDER_EMAIL: props.senderEmail,
        CONFIGURATION_SET: this.configurationSet.configurationSetName,
        TRACKING_BASE_URL: trackingBaseUrl,
        SES_SEND_RATE: String(props.sendRatePerSecond),
        SENDER_MAX_CONCURRENCY: String(maxConcurrency),
        FREQUENCY_CAP_MAX: String(props.frequencyCap.max),
        FREQUENCY_CAP_WINDOW_HOURS: String(props.frequencyCap.windowHours),
        CONFIRM_GRACE_SECONDS: String(props.confirmGraceSeconds),
        CONSENT_CATEGORIES: props.consent.categories.join(','),
        REQUIRE_OPT_IN: String(props.consent.requireOptIn),
      },
    })
      .bindTable('PROFILE_TABLE', props.table, 'readWrite')
      .bindQueue('SEND_QUEUE_URL', this.sendQueue, 'consume')
      .bindSecret('SIGNING_SECRET_ARN', props.signingSecret);
    this.sender.role.addToPolicy(
      new PolicyStatement({
        effect: Effect.ALLOW,
        actions: ['ses:SendEmail'],
        resources: [
          // Pseudo parameters rather than the stack's env: the acknowledgement below names this exact resource.
          `arn:${Aws.PARTITION}:ses:${Aws.REGION}:${Aws.ACCOUNT_ID}:identity/*`,
          `arn:${Aws.PARTITION}:ses:${Aws.REGION}:${Aws.ACCOUNT_ID}:configuration-set/${this.configurationSet.configurationSetName}`,
        ],
        conditions: { StringEquals: { 'ses:FromAddress': fromAddress(props.senderEmail) } },
      }),
    );
    Validations.of(this.sender.role).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:ses:<AWS::Region>:<AWS::AccountId>:identity/*]',
      reason:
        'The verified identity may be the address or its domain; the ses:FromAddress condition limits sending to the configured sender.',
    });
    this.sender.function.addEventSource(
      new SqsEventSource(this.sendQueue, {
        batchSize: 10,
        maxBatchingWindow: Duration.seconds(1),
        reportBatchItemFailures: true,
        // With a token bucket of rate ÷ concurrency per instance, the sum never exceeds the SES send rate.
        maxConcurrency,
      }),
    );

    // SES feedback
    this.feedbackDeadLetterQueue = new Queue(this, 'FeedbackDeadLetters', {
      retentionPeriod: Duration.days(14),
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
    });
    Validations.of(this.feedbackDeadLetterQueue).acknowledge({
      id: 'AwsSolutions-SQS3',
      reason:
        'Dead-letter queue of the SES feedback rule target; it has an alarm instead of a DLQ of its own.',
    });
    new Alarm(this, 'FeedbackDeadLettersAlarm', {
      alarmDescription: 'SES events the feedback function could not apply. See docs/runbook.md (messaging).',
      metric: this.feedbackDeadLetterQueue.metricApproximateNumberOfMessagesVisible({
        period: Duration.minutes(1),
      }),
      threshold: 1,
      evaluationPeriods: 1,
      comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: TreatMissingData.NOT_BREACHING,
    });
    this.feedback = new NurtureFunction(this, 'SesFeedback', {
      ...common,
      entry: 'ses-feedback',
      description: 'Applies SES sending events: message status, suppression of hard bounces and complaints',
    }).bindTable('PROFILE_TABLE', props.table, 'readWrite');
    new Rule(this, 'SesEvents', {
      eventBus: defaultBus,
      description: 'SES sending events of the Nurture configuration set, to the feedback function',
      eventPattern: {
        source: ['aws.ses'],
        detailType: [...SES_DETAIL_TYPES],
        detail: { mail: { tags: { 'ses:configuration-set': [this.configurationSet.configurationSetName] } } },
      },
      targets: [
        new LambdaFunction(this.feedback.function, {
          deadLetterQueue: this.feedbackDeadLetterQueue,
          retryAttempts: 185,
          maxEventAge: Duration.hours(24),
        }),
      ],
    });

    // Admin API
    const adminMessages = new NurtureFunction(this, 'AdminMessages', {
      ...common,
      entry: 'admin-messages',
      description: 'Admin API: queue sends, message status and reasons, suppressions',
    })
      .bindTable('PROFILE_TABLE', props.table, 'readWrite')
      .bindQueue('SEND_QUEUE_URL', this.sendQueue, 'send');
    const adminTemplates = new NurtureFunction(this, 'AdminTemplates', {
      ...common,
      entry: 'admin-templates',
      description: 'Admin API: templates (MJML compiled on save), previews, test sends, statistics',
      // MJML compilation is CPU-bound; more memory is more CPU.
      memorySize: 1024,
      timeout: Duration.seconds(29),
      environment: { ...common.environment, TRACKING_BASE_URL: trackingBaseUrl },
      // htmlnano (inside mjml) loads TypeScript only to read *.ts config files, which Nurture never has.
      unusedModules: ['typescript'],
    })
      .bindTable('PROFILE_TABLE', props.table, 'readWrite')
      .bindQueue('SEND_QUEUE_URL', this.sendQueue, 'send')
      .bindSecret('SIGNING_SECRET_ARN', props.signingSecret);
    const adminRoutes: Array<[HttpMethod, string, NurtureFunction]> = [
      [HttpMethod.POST, '/admin/messages', adminMessages],
      [HttpMethod.GET, '/admin/messages/{id}', adminMessages],
      [HttpMethod.GET, '/admin/profiles/{id}/messages', adminMessages],
      [HttpMethod.GET, '/admin/suppressions/{email}', adminMessages],
      [HttpMethod.PUT, '/admin/suppressions/{email}', adminMessages],
      [HttpMethod.DELETE, '/admin/suppressions/{email}', adminMessages],
      [HttpMethod.PUT, '/admin/templates/{id}', adminTemplates],
      [HttpMethod.GET, '/admin/templates', adminTemplates],
      [HttpMethod.GET, '/admin/templates/{id}', adminTemplates],
      [HttpMethod.POST, '/admin/templates/{id}/preview', adminTemplates],
      [HttpMethod.POST, '/admin/templates/{id}/test', adminTemplates],
      [HttpMethod.GET, '/admin/templates/{id}/stats', adminTemplates],
    ];
    for (const [method, path, handler] of adminRoutes)
      props.httpApi.addRoute({ method, path, handler, authorizer: props.adminAuthorizer });

    // Email links, served by the tracking API's collect function
    props.collect.bindSecret('SIGNING_SECRET_ARN', props.signingSecret);
    props.collect.function.addEnvironment('MESSAGE_RETENTION_DAYS', String(props.messageRetentionDays));
    const linkRoutes: Array<[HttpMethod, string]> = [
      [HttpMethod.GET, '/e/o/{token}'],
      [HttpMethod.GET, '/e/c/{token}'],
      [HttpMethod.GET, '/e/u/{token}'],
      [HttpMethod.POST, '/e/u/{token}'],
    ];
    for (const [method, path] of linkRoutes)
      props.httpApi.addRoute({
        method,
        path,
        handler: props.collect,
        publicReason:
          'Links inside emails are opened by mail clients and people; each carries an HMAC-signed token the handler verifies.',
      });
  }
}

/** The bare address of `Name <address>`, which is what ses:FromAddress compares. */
export function fromAddress(sender: string): string {
  return /<([^>]+)>/.exec(sender)?.[1] ?? sender;
}
