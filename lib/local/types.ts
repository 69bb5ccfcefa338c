// Shapes shared by the parts of the local stack: what the template declares, and how functions are invoked.

/** Outcome of one function invocation, as Lambda reports it. */
export type InvokeResult =
  | { readonly ok: true; readonly value: unknown; readonly durationMs: number }
  | {
      readonly ok: false;
      readonly error: { readonly errorType: string; readonly errorMessage: string };
      readonly durationMs: number;
      /** Local fault drills only: when a queue event source should let the batch's messages be received again. */
      readonly redeliverAfterSeconds?: number;
    };

/** Invokes a function of the template by its logical ID, like a synchronous Lambda Invoke. */
export interface FunctionInvoker {
  invoke(functionLogicalId: string, event: unknown): Promise<InvokeResult>;
}

export type LambdaAuthorizerDefinition = {
  readonly type: 'lambda';
  readonly functionLogicalId: string;
  /** `EnableSimpleResponses`: the function returns `{ isAuthorized, context }` instead of an IAM policy. */
  readonly simpleResponses: boolean;
  /** e.g. `$request.header.Authorization`, `$request.querystring.token`. Missing source: 401 without invoking. */
  readonly identitySource: readonly string[];
  readonly resultTtlSeconds: number;
  readonly payloadFormatVersion: '1.0' | '2.0';
};

export type RouteAuthorizer = LambdaAuthorizerDefinition | { readonly type: 'iam' };

export interface HttpRouteDefinition {
  /** `GET /health`, `ANY /admin/{proxy+}`, `POST /v1/{type}` or `$default`. */
  readonly routeKey: string;
  readonly functionLogicalId: string;
  readonly payloadFormatVersion: '1.0' | '2.0';
  /** Integration timeout; API Gateway HTTP APIs cap it at 30 s. */
  readonly timeoutMs: number;
  readonly authorizer?: RouteAuthorizer;
}

export interface HttpCorsDefinition {
  readonly allowOrigins: readonly string[];
  readonly allowMethods: readonly string[];
  readonly allowHeaders: readonly string[];
  readonly exposeHeaders: readonly string[];
  readonly allowCredentials: boolean;
  readonly maxAgeSeconds?: number;
}

export interface HttpApiDefinition {
  readonly apiId: string;
  readonly routes: readonly HttpRouteDefinition[];
  readonly cors?: HttpCorsDefinition;
}
