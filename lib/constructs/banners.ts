// Banners: the public content endpoint and tracked banner links, and the admin API that assigns banners.
import { Duration } from 'aws-cdk-lib';
import { HttpMethod, type IHttpRouteAuthorizer } from 'aws-cdk-lib/aws-apigatewayv2';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import type { RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { ISecret } from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import type { PurposeCategories } from '../../functions/tracking/consent.ts';
import type { NurtureHttpApi } from './http-api.ts';
import { NurtureFunction } from './nurture-function.ts';

export interface BannersProps {
  /** The API the routes are added to; its CORS configuration is what lets browsers read banners. */
  readonly httpApi: NurtureHttpApi;
  /** The profile store: banners, their counters, and the profile events views and clicks become. */
  readonly table: ITable;
  /** Guards the /admin banner routes. */
  readonly adminAuthorizer: IHttpRouteAuthorizer;
  /** The link-signing secret (LinkSigning.secret) that banner call-to-action links are signed with. */
  readonly signingSecret: ISecret;
  /**
   * Origin of tracked banner links (`https://t.example.com`), e.g. a custom domain in front of the API.
   * @default the origin each content request was made to
   */
  readonly trackingBaseUrl?: string;
  /** How long the view and click events are kept, as for every tracked event. */
  readonly eventRetentionDays: number;
  /** Categories per consent purpose: a profile that refused personalization gets no banner. @default DEFAULT_PURPOSE_CATEGORIES */
  readonly consentPurposes?: PurposeCategories;
  readonly logRetention: RetentionDays;
  /** Whether log groups outlive the stack (production). */
  readonly retainData: boolean;
  readonly stage: string;
}

const CONTENT_IS_PUBLIC =
  'Called by browsers on customer sites: the handler authenticates each request by write key, as the tracking API does.';
const LINK_IS_PUBLIC =
  'Followed by visitors clicking a banner: the signed token in the path is the authorization, checked by the handler.';

export class Banners extends Construct {
  /** `GET /v1/content/{placement}` and `GET /e/b/{token}`. */
  public readonly content: NurtureFunction;
  /** `/admin/profiles/{id}/banners` routes. */
  public readonly admin: NurtureFunction;

  constructor(scope: Construct, id: string, props: BannersProps) {
    super(scope, id);
    if (!Number.isInteger(props.eventRetentionDays) || props.eventRetentionDays < 1)
      throw new Error('Banners: eventRetentionDays must be a positive whole number');
    if (props.trackingBaseUrl !== undefined && !/^https?:\/\/[^/\s]+$/.test(props.trackingBaseUrl))
      throw new Error('Banners: trackingBaseUrl must be a scheme and host such as https://t.example.com');
    const common = {
      logRetention: props.logRetention,
      retainLogs: props.retainData,
      environment: {
        NURTURE_STAGE: props.stage,
        EVENT_RETENTION_DAYS: String(props.eventRetentionDays),
      },
    };

    this.content = new NurtureFunction(this, 'Content', {
      ...common,
      entry: 'content',
      description: 'Banner content for sites (write key) and tracked banner links',
      memorySize: 512,
      timeout: Duration.seconds(10),
      environment: {
        ...common.environment,
        ...(props.trackingBaseUrl ? { TRACKING_BASE_URL: props.trackingBaseUrl } : {}),
        ...(props.consentPurposes ? { CONSENT_PURPOSES: JSON.stringify(props.consentPurposes) } : {}),
      },
    })
      .bindTable('PROFILE_TABLE', props.table, 'readWrite')
      .bindSecret('SIGNING_SECRET_ARN', props.signingSecret);
    props.httpApi.addRoute({
      method: HttpMethod.GET,
      path: '/v1/content/{placement}',
      handler: this.content,
      publicReason: CONTENT_IS_PUBLIC,
    });
    props.httpApi.addRoute({
      method: HttpMethod.GET,
      path: '/e/b/{token}',
      handler: this.content,
      publicReason: LINK_IS_PUBLIC,
    });

    this.admin = new NurtureFunction(this, 'Admin', {
      ...common,
      entry: 'admin-banners',
      description: 'Admin API: banners assigned to profiles',
    }).bindTable('PROFILE_TABLE', props.table, 'readWrite');
    const adminRoutes: Array<[HttpMethod, string]> = [
      [HttpMethod.PUT, '/admin/profiles/{id}/banners/{placement}'],
      [HttpMethod.GET, '/admin/profiles/{id}/banners'],
      [HttpMethod.DELETE, '/admin/profiles/{id}/banners/{placement}'],
    ];
    for (const [method, path] of adminRoutes) {
      props.httpApi.addRoute({ method, path, handler: this.admin, authorizer: props.adminAuthorizer });
    }
  }
}
