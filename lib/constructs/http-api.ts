// The public HTTP API (API Gateway HTTP API): routes, CORS, throttling and access logs; constructs add routes to it.
import { Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import { AccessLogFormat } from 'aws-cdk-lib/aws-apigateway';
import {
  CorsHttpMethod,
  HttpApi,
  type HttpMethod,
  type IHttpRouteAuthorizer,
  LogGroupLogDestination,
} from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import { LogGroup, type RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import type { NurtureFunction } from './nurture-function.ts';

export interface NurtureHttpApiProps {
  /** Browser origins allowed to call the API (tracking snippets). Empty: no CORS headers. */
  readonly allowedOrigins: readonly string[];
  /** Steady-state requests per second across the API before API Gateway answers 429. */
  readonly throttleRate: number;
  readonly throttleBurst: number;
  readonly logRetention: RetentionDays;
  readonly retainData: boolean;
}

export interface RouteOptions {
  readonly method: HttpMethod;
  readonly path: string;
  readonly handler: NurtureFunction;
  /** Required unless `publicReason` says why the route is open to anyone. */
  readonly authorizer?: IHttpRouteAuthorizer;
  /** Why a route without an authorizer is public, e.g. tracking endpoints that check write keys themselves. */
  readonly publicReason?: string;
}

export class NurtureHttpApi extends Construct {
  public readonly api: HttpApi;
  public readonly accessLogs: LogGroup;
  private readonly integrations = new Map<NurtureFunction, HttpLambdaIntegration>();

  constructor(scope: Construct, id: string, props: NurtureHttpApiProps) {
    super(scope, id);
    if (props.throttleBurst < props.throttleRate) {
      throw new Error('NurtureHttpApi: throttleBurst must be at least throttleRate');
    }
    this.accessLogs = new LogGroup(this, 'AccessLogs', {
      retention: props.logRetention,
      removalPolicy: props.retainData ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY,
    });
    this.api = new HttpApi(this, 'Api', {
      description: 'Nurture tracking and admin API',
      corsPreflight:
        props.allowedOrigins.length === 0
          ? undefined
          : {
              allowOrigins: [...props.allowedOrigins],
              allowMethods: [
                CorsHttpMethod.GET,
                CorsHttpMethod.POST,
                CorsHttpMethod.PUT,
                CorsHttpMethod.DELETE,
              ],
              allowHeaders: ['authorization', 'content-type', 'x-retry-count'],
              allowCredentials: !props.allowedOrigins.includes('*'),
              maxAge: Duration.days(1),
            },
      createDefaultStage: false,
    });
    this.api.addStage('DefaultStage', {
      stageName: '$default',
      autoDeploy: true,
      throttle: { rateLimit: props.throttleRate, burstLimit: props.throttleBurst },
      accessLogSettings: {
        destination: new LogGroupLogDestination(this.accessLogs),
        // No source IP and no user agent: access logs must not hold personal data.
        format: AccessLogFormat.custom(
          JSON.stringify({
            requestId: '$context.requestId',
            requestTime: '$context.requestTime',
            routeKey: '$context.routeKey',
            status: '$context.status',
            responseLength: '$context.responseLength',
            integrationLatency: '$context.integrationLatency',
            integrationError: '$context.integrationErrorMessage',
            authorizerError: '$context.authorizer.error',
          }),
        ),
      },
    });
  }

  /** Routes `method path` to a function; the route ID is derived from method and path, so keep paths stable. */
  addRoute(options: RouteOptions): void {
    if ((options.authorizer === undefined) === (options.publicReason === undefined)) {
      throw new Error(
        `NurtureHttpApi: route ${options.method} ${options.path} needs exactly one of authorizer or publicReason`,
      );
    }
    let integration = this.integrations.get(options.handler);
    if (integration === undefined) {
      integration = new HttpLambdaIntegration(
        `${options.handler.node.id}Integration`,
        options.handler.function,
      );
      this.integrations.set(options.handler, integration);
    }
    const [route] = this.api.addRoutes({
      path: options.path,
      methods: [options.method],
      integration,
      authorizer: options.authorizer,
    });
    if (options.publicReason !== undefined && route !== undefined) {
      Validations.of(route).acknowledge({ id: 'AwsSolutions-APIG4', reason: options.publicReason });
    }
  }

  get url(): string {
    return this.api.apiEndpoint;
  }
}
