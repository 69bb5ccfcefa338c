// The Nurture stack: composes the capability constructs and passes them to each other; no resources of its own.
import { Annotations, CfnOutput, Stack, type StackProps } from 'aws-cdk-lib';
import { HttpMethod } from 'aws-cdk-lib/aws-apigatewayv2';
import type { Construct } from 'constructs';
import type { NurtureConfig } from './config.ts';
import { AdminAuth } from './constructs/admin-auth.ts';
import { Banners } from './constructs/banners.ts';
import { Dashboard } from './constructs/dashboard.ts';
import { NurtureEventBus } from './constructs/event-bus.ts';
import { NurtureHttpApi } from './constructs/http-api.ts';
import { Imports } from './constructs/imports.ts';
import { Journeys } from './constructs/journeys.ts';
import { Kpis } from './constructs/kpis.ts';
import { LinkSigning } from './constructs/link-signing.ts';
import { Messaging } from './constructs/messaging.ts';
import { Monitoring } from './constructs/monitoring.ts';
import { NurtureFunction } from './constructs/nurture-function.ts';
import { Privacy } from './constructs/privacy.ts';
import { ProfileStore } from './constructs/profile-store.ts';
import { Scoring } from './constructs/scoring.ts';
import { Segments } from './constructs/segments.ts';
import { Tracking } from './constructs/tracking.ts';
import { Webhooks } from './constructs/webhooks.ts';
import { retentionDays } from './retention.ts';

export interface NurtureStackProps extends StackProps {
  readonly config: NurtureConfig;
}

export class NurtureStack extends Stack {
  public readonly profileStore: ProfileStore;
  public readonly eventBus: NurtureEventBus;
  public readonly httpApi: NurtureHttpApi;
  public readonly adminAuth: AdminAuth;
  public readonly tracking: Tracking;
  public readonly webhooks: Webhooks;
  public readonly linkSigning: LinkSigning;
  public readonly banners: Banners;
  public readonly messaging: Messaging;
  public readonly journeys: Journeys;
  public readonly scoring: Scoring;
  public readonly imports: Imports;
  public readonly segments: Segments;
  public readonly kpis: Kpis;
  public readonly privacy: Privacy;
  public readonly dashboard: Dashboard;
  public readonly monitoring: Monitoring;

  constructor(scope: Construct, id: string, props: NurtureStackProps) {
    super(scope, id, props);
    const { config } = props;
    const logRetention = retentionDays(config.logRetentionDays);
    const common = { logRetention, retainData: config.retainData };
    const functionDefaults = {
      logRetention,
      retainLogs: config.retainData,
      environment: { NURTURE_STAGE: config.stage },
    };

    this.profileStore = new ProfileStore(this, 'ProfileStore', { retainData: config.retainData });
    this.eventBus = new NurtureEventBus(this, 'EventBus', {
      eventBusName: config.eventBusName,
      archiveRetentionDays: config.archiveRetentionDays,
      eventLog: config.eventLog,
      retainData: config.retainData,
    });
    this.httpApi = new NurtureHttpApi(this, 'HttpApi', {
      allowedOrigins: config.allowedOrigins,
      throttleRate: config.apiThrottleRate,
      throttleBurst: config.apiThrottleBurst,
      ...common,
    });
    this.adminAuth = new AdminAuth(this, 'AdminAuth', { mode: config.adminAuth, ...common });

    const health = new NurtureFunction(this, 'Health', {
      entry: 'health',
      description: 'GET /health liveness check',
      memorySize: 128,
      ...functionDefaults,
    });
    this.httpApi.addRoute({
      method: HttpMethod.GET,
      path: '/health',
      handler: health,
      publicReason: 'Liveness probe for load balancers and uptime monitors; reveals only the version.',
    });

    const adminStatus = new NurtureFunction(this, 'AdminStatus', {
      entry: 'admin-status',
      description: 'GET /admin/status: deployment facts for operators',
      memorySize: 128,
      ...functionDefaults,
      environment: {
        ...functionDefaults.environment,
        // Names only, no access: the status page reports where data lives without reading it.
        PROFILE_TABLE: this.profileStore.table.tableName,
        EVENT_BUS_NAME: this.eventBus.bus.eventBusName,
      },
    });
    this.httpApi.addRoute({
      method: HttpMethod.GET,
      path: '/admin/status',
      handler: adminStatus,
      authorizer: this.adminAuth.authorizer,
    });

    this.tracking = new Tracking(this, 'Tracking', {
      httpApi: this.httpApi,
      table: this.profileStore.table,
      eventBus: this.eventBus.bus,
      adminAuthorizer: this.adminAuth.authorizer,
      eventRetentionDays: config.eventRetentionDays,
      mergeOnEmail: config.mergeOnEmail,
      trackingConsent: config.trackingConsent,
      consentPurposes: config.consentPurposes,
      ...(config.siteHost ? { siteHost: config.siteHost } : {}),
      ...(config.sourceRateLimit > 0
        ? { sourceRateLimit: { eventsPerSecond: config.sourceRateLimit, burst: config.sourceRateBurst } }
        : {}),
      logRetention,
      retainData: config.retainData,
      stage: config.stage,
    });
    this.webhooks = new Webhooks(this, 'Webhooks', {
      httpApi: this.httpApi,
      table: this.profileStore.table,
      adminAuthorizer: this.adminAuth.authorizer,
      logRetention,
      retainData: config.retainData,
      stage: config.stage,
      // Development delivers to receivers on the same machine, and retries fast enough for tests to watch.
      allowPrivateTargets: config.stage === 'dev',
      retryBaseSeconds: config.stage === 'dev' ? 1 : 30,
      maxAttempts: config.stage === 'dev' ? 4 : 8,
    });
    this.linkSigning = new LinkSigning(this, 'LinkSigning', { retainData: config.retainData });
    if (config.stage === 'prod' && !config.senderEmailConfigured)
      Annotations.of(this).addWarningV2(
        'nurture:senderEmail',
        'No -c senderEmail: mail goes out as nurture@example.com, which SES rejects (each message records the rejection). Set a verified SES identity.',
      );
    this.messaging = new Messaging(this, 'Messaging', {
      httpApi: this.httpApi,
      table: this.profileStore.table,
      adminAuthorizer: this.adminAuth.authorizer,
      collect: this.tracking.collect,
      signingSecret: this.linkSigning.secret,
      senderEmail: config.senderEmail,
      sendRatePerSecond: config.sesSendRate,
      frequencyCap: { max: config.emailFrequencyCap, windowHours: config.emailFrequencyCapHours },
      consent: { categories: config.emailConsentCategories, requireOptIn: config.requireEmailOptIn },
      confirmGraceSeconds: config.sendConfirmGraceSeconds,
      ...(config.trackingBaseUrl ? { trackingBaseUrl: config.trackingBaseUrl } : {}),
      messageRetentionDays: config.messageRetentionDays,
      logRetention,
      retainData: config.retainData,
      stage: config.stage,
    });
    this.banners = new Banners(this, 'Banners', {
      httpApi: this.httpApi,
      table: this.profileStore.table,
      adminAuthorizer: this.adminAuth.authorizer,
      signingSecret: this.linkSigning.secret,
      ...(config.trackingBaseUrl ? { trackingBaseUrl: config.trackingBaseUrl } : {}),
      eventRetentionDays: config.eventRetentionDays,
      consentPurposes: config.consentPurposes,
      logRetention,
      retainData: config.retainData,
      stage: config.stage,
    });

    this.journeys = new Journeys(this, 'Journeys', {
      httpApi: this.httpApi,
      table: this.profileStore.table,
      eventBus: this.eventBus.bus,
      adminAuthorizer: this.adminAuth.authorizer,
      sendQueue: this.messaging.sendQueue,
      webhooks: this.webhooks,
      eventRetentionDays: config.eventRetentionDays,
      messageRetentionDays: config.messageRetentionDays,
      logRetention,
      retainData: config.retainData,
      stage: config.stage,
    });
    this.imports = new Imports(this, 'Imports', {
      httpApi: this.httpApi,
      table: this.profileStore.table,
      adminAuthorizer: this.adminAuth.authorizer,
      eventRetentionDays: config.eventRetentionDays,
      mergeOnEmail: config.mergeOnEmail,
      logRetention,
      retainData: config.retainData,
      stage: config.stage,
    });
    this.scoring = new Scoring(this, 'Scoring', {
      httpApi: this.httpApi,
      table: this.profileStore.table,
      eventBus: this.eventBus.bus,
      adminAuthorizer: this.adminAuth.authorizer,
      eventRetentionDays: config.eventRetentionDays,
      webhooks: this.webhooks,
      logRetention,
      retainData: config.retainData,
      stage: config.stage,
    });
    this.segments = new Segments(this, 'Segments', {
      httpApi: this.httpApi,
      table: this.profileStore.table,
      eventBus: this.eventBus.bus,
      adminAuthorizer: this.adminAuth.authorizer,
      eventRetentionDays: config.eventRetentionDays,
      consent: {
        categories: config.emailConsentCategories,
        requireOptIn: config.requireEmailOptIn,
        purposes: config.consentPurposes,
      },
      logRetention,
      retainData: config.retainData,
      stage: config.stage,
    });

    this.kpis = new Kpis(this, 'Kpis', {
      httpApi: this.httpApi,
      table: this.profileStore.table,
      eventBus: this.eventBus.bus,
      adminAuthorizer: this.adminAuth.authorizer,
      logRetention,
      retainData: config.retainData,
      stage: config.stage,
    });

    this.privacy = new Privacy(this, 'Privacy', {
      httpApi: this.httpApi,
      table: this.profileStore.table,
      adminAuthorizer: this.adminAuth.authorizer,
      logRetention,
      retainData: config.retainData,
      stage: config.stage,
    });

    this.dashboard = new Dashboard(this, 'Dashboard', {
      httpApi: this.httpApi,
      logRetention,
      retainData: config.retainData,
      stage: config.stage,
    });

    // Every function that writes profiles applies the same expiry: set on all, so no new function can miss it.
    for (const fn of this.node.findAll()) {
      if (fn instanceof NurtureFunction)
        fn.function.addEnvironment(
          'ANONYMOUS_PROFILE_RETENTION_DAYS',
          String(config.anonymousProfileRetentionDays),
        );
    }

    // Last: it watches every function, queue, table and alarm created above.
    this.monitoring = new Monitoring(this, 'Monitoring', {
      watched: this,
      httpApi: this.httpApi,
      domainEventLog: this.tracking.publisher.logGroup,
      ...(config.alarmEmail ? { alarmEmail: config.alarmEmail } : {}),
    });

    new CfnOutput(this, 'ApiUrl', {
      value: this.httpApi.url,
      description: 'Base URL of the tracking and admin API',
    });
    new CfnOutput(this, 'EventBusName', { value: this.eventBus.bus.eventBusName });
    new CfnOutput(this, 'ProfileTableName', { value: this.profileStore.table.tableName });
    if (this.adminAuth.tokenSecret) {
      new CfnOutput(this, 'AdminTokenSecretArn', {
        value: this.adminAuth.tokenSecret.secretArn,
        description: 'aws secretsmanager get-secret-value --secret-id <this> --query SecretString',
      });
    }
  }
}
