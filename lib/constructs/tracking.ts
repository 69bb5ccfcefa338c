// Tracking: the collect endpoints (Segment, Snowplow, pixels, snippet), sources, profiles, and the domain-event outbox.
import { Duration, Validations } from 'aws-cdk-lib';
import { HttpMethod, type IHttpRouteAuthorizer } from 'aws-cdk-lib/aws-apigatewayv2';
import { Alarm, ComparisonOperator, TreatMissingData } from 'aws-cdk-lib/aws-cloudwatch';
import type { Table } from 'aws-cdk-lib/aws-dynamodb';
import type { IEventBus } from 'aws-cdk-lib/aws-events';
import { FilterCriteria, FilterRule, StartingPosition } from 'aws-cdk-lib/aws-lambda';
import { DynamoEventSource, SqsDlq } from 'aws-cdk-lib/aws-lambda-event-sources';
import type { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import type { PurposeCategories } from '../../functions/tracking/consent.ts';
import type { NurtureHttpApi } from './http-api.ts';
import { NurtureFunction } from './nurture-function.ts';

/** The shipped enrichment data (free-mail, disposable domains, IP countries); functions that enrich copy it. */
export const ENRICHMENT_DATA_DIRECTORY = 'functions/enrichment/data';

export interface TrackingProps {
  readonly httpApi: NurtureHttpApi;
  readonly table: Table;
  readonly eventBus: IEventBus;
  readonly adminAuthorizer: IHttpRouteAuthorizer;
  readonly eventRetentionDays: number;
  /** Merge profiles that share an email. */
  readonly mergeOnEmail: boolean;
  /**
   * `opt-in`: nothing about a visitor is stored before their tracking purpose is granted (docs/privacy.md).
   * @default 'opt-out' (only a refusal withholds tracking)
   */
  readonly trackingConsent?: 'opt-in' | 'opt-out';
  /** Consent categories per purpose (tracking, emailMarketing, personalization). @default DEFAULT_PURPOSE_CATEGORIES */
  readonly consentPurposes?: PurposeCategories;
  /** @default no site host: only the page's own host counts as internal */
  readonly siteHost?: string;
  /**
   * Rate limit of a source that sets none itself, per collect instance (functions/tracking/source-rate-limit.ts).
   * @default no limit for such sources
   */
  readonly sourceRateLimit?: { readonly eventsPerSecond: number; readonly burst: number };
  readonly logRetention: RetentionDays;
  readonly retainData: boolean;
  readonly stage: string;
}

const TRACKING_IS_PUBLIC =
  'Tracking endpoints are called by browsers and SDKs; the handler authenticates each request by write key, as the Segment API does.';

export class Tracking extends Construct {
  public readonly collect: NurtureFunction;
  public readonly publisher: NurtureFunction;
  public readonly publishFailures: Queue;
  public readonly publishFailuresAlarm: Alarm;

  constructor(scope: Construct, id: string, props: TrackingProps) {
    super(scope, id);
    if (!props.table.tableStreamArn)
      throw new Error('Tracking: the profile table needs a stream (the outbox)');
    if (props.sourceRateLimit && props.sourceRateLimit.burst < props.sourceRateLimit.eventsPerSecond)
      throw new Error('Tracking: sourceRateLimit.burst must be at least its eventsPerSecond');
    const common = {
      logRetention: props.logRetention,
      retainLogs: props.retainData,
      environment: { NURTURE_STAGE: props.stage },
    };

    this.collect = new NurtureFunction(this, 'Collect', {
      ...common,
      entry: 'collect',
      description: 'Tracking API: Segment/RudderStack/Snowplow endpoints, pixels and the browser snippet',
      memorySize: 1024,
      timeout: Duration.seconds(15),
      // Enrichment on identify reads these files beside the bundle (docs/enrichment.md), loaded on first use.
      dataDirectories: [ENRICHMENT_DATA_DIRECTORY],
      environment: {
        ...common.environment,
        EVENT_RETENTION_DAYS: String(props.eventRetentionDays),
        MERGE_ON_EMAIL: String(props.mergeOnEmail),
        TRACKING_CONSENT: props.trackingConsent ?? 'opt-out',
        ...(props.consentPurposes ? { CONSENT_PURPOSES: JSON.stringify(props.consentPurposes) } : {}),
        ...(props.siteHost ? { SITE_HOST: props.siteHost } : {}),
        ...(props.sourceRateLimit
          ? {
              SOURCE_RATE_LIMIT: String(props.sourceRateLimit.eventsPerSecond),
              SOURCE_RATE_BURST: String(props.sourceRateLimit.burst),
            }
          : {}),
      },
    }).bindTable('PROFILE_TABLE', props.table, 'readWrite');
    const routes: Array<[HttpMethod, string]> = [
      [HttpMethod.POST, '/v1/{type}'],
      [HttpMethod.GET, '/v1/pixel/{type}'],
      [HttpMethod.GET, '/v1/snippet.js'],
      [HttpMethod.POST, '/com.snowplowanalytics.snowplow/tp2'],
      [HttpMethod.GET, '/i'],
    ];
    for (const [method, path] of routes) {
      props.httpApi.addRoute({ method, path, handler: this.collect, publicReason: TRACKING_IS_PUBLIC });
    }

    this.publishFailures = new Queue(this, 'PublishFailures', {
      retentionPeriod: Duration.days(14),
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
    });
    Validations.of(this.publishFailures).acknowledge({
      id: 'AwsSolutions-SQS3',
      reason:
        'This queue is itself the failure destination of the stream mapping; it has an alarm instead of a DLQ.',
    });
    this.publishFailuresAlarm = new Alarm(this, 'PublishFailuresAlarm', {
      alarmDescription:
        'Stream records whose domain events could not be published after retries. See docs/runbook.md.',
      metric: this.publishFailures.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(1) }),
      threshold: 1,
      evaluationPeriods: 1,
      comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: TreatMissingData.NOT_BREACHING,
    });

    this.publisher = new NurtureFunction(this, 'PublishDomainEvents', {
      ...common,
      entry: 'publish-domain-events',
      description: 'Publishes tracking domain events from the profile store stream (outbox)',
      memorySize: 512,
      timeout: Duration.seconds(60),
    })
      .bindEventBus('EVENT_BUS_NAME', props.eventBus)
      // Removes what anonymous profiles that DynamoDB's TTL expired leave behind: traits, identity pointers, events.
      .bindTable('PROFILE_TABLE', props.table, 'queryAndDelete');
    this.publisher.function.addEventSource(
      new DynamoEventSource(props.table, {
        startingPosition: StartingPosition.TRIM_HORIZON,
        batchSize: 100,
        maxBatchingWindow: Duration.seconds(1),
        bisectBatchOnError: true,
        retryAttempts: 10,
        reportBatchItemFailures: true,
        onFailure: new SqsDlq(this.publishFailures),
        // Only stored events, profile cores, messages and enrollments become domain events; everything else is not even invoked for.
        filters: [
          FilterCriteria.filter({
            eventName: FilterRule.isEqual('INSERT'),
            dynamodb: { Keys: { pk: { S: FilterRule.beginsWith('EVENTS#') } } },
          }),
          FilterCriteria.filter({ dynamodb: { Keys: { sk: { S: FilterRule.isEqual('PROFILE') } } } }),
          // Message status changes (functions/messaging/domain-events.ts).
          FilterCriteria.filter({ dynamodb: { Keys: { sk: { S: FilterRule.isEqual('MESSAGE') } } } }),
          // Journey entries and exits (functions/journeys/domain-events.ts).
          FilterCriteria.filter({ dynamodb: { Keys: { sk: { S: FilterRule.beginsWith('ENROLLMENT#') } } } }),
          // Segment memberships created or removed (functions/segments/domain-events.ts).
          FilterCriteria.filter({
            eventName: FilterRule.or('INSERT', 'REMOVE'),
            dynamodb: { Keys: { sk: { S: FilterRule.beginsWith('MEMBER#') } } },
          }),
        ],
      }),
    );

    const sources = new NurtureFunction(this, 'AdminSources', {
      ...common,
      entry: 'admin-sources',
      description: 'Admin API: tracking sources and write keys',
    }).bindTable('PROFILE_TABLE', props.table, 'readWrite');
    const sourceRoutes: Array<[HttpMethod, string]> = [
      [HttpMethod.POST, '/admin/sources'],
      [HttpMethod.GET, '/admin/sources'],
      [HttpMethod.GET, '/admin/sources/{id}'],
      [HttpMethod.PATCH, '/admin/sources/{id}'],
      [HttpMethod.POST, '/admin/sources/{id}/rotate'],
      [HttpMethod.DELETE, '/admin/sources/{id}'],
    ];
    for (const [method, path] of sourceRoutes) {
      props.httpApi.addRoute({ method, path, handler: sources, authorizer: props.adminAuthorizer });
    }

    // Its own function: the profiles API only reads, this one writes the profile's consent.
    const consent = new NurtureFunction(this, 'AdminConsent', {
      ...common,
      entry: 'admin-consent',
      description: 'Admin API: consent per purpose of a profile, with evidence and history',
      environment: {
        ...common.environment,
        EVENT_RETENTION_DAYS: String(props.eventRetentionDays),
        ...(props.consentPurposes ? { CONSENT_PURPOSES: JSON.stringify(props.consentPurposes) } : {}),
      },
    }).bindTable('PROFILE_TABLE', props.table, 'readWrite');
    for (const method of [HttpMethod.GET, HttpMethod.PUT]) {
      props.httpApi.addRoute({
        method,
        path: '/admin/profiles/{id}/consent',
        handler: consent,
        authorizer: props.adminAuthorizer,
      });
    }

    const profiles = new NurtureFunction(this, 'AdminProfiles', {
      ...common,
      entry: 'admin-profiles',
      description: 'Admin API: profiles, their events and their whole history (timeline)',
      memorySize: 512,
      environment: { ...common.environment, EVENT_RETENTION_DAYS: String(props.eventRetentionDays) },
    }).bindTable('PROFILE_TABLE', props.table, 'read');
    for (const path of [
      '/admin/profiles',
      '/admin/profiles/{id}',
      '/admin/profiles/{id}/events',
      '/admin/profiles/{id}/timeline',
    ]) {
      props.httpApi.addRoute({
        method: HttpMethod.GET,
        path,
        handler: profiles,
        authorizer: props.adminAuthorizer,
      });
    }
  }
}
