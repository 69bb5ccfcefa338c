// Turns template resources into local runtime definitions: functions, rules, schedules, event sources, HTTP APIs.
import { z } from 'zod';
import type { StreamEventSourceDefinition } from './dynamodb-stream-source.ts';
import { type BusArchive, type BusRule, busNameOf, type RuleTarget } from './event-bus.ts';
import { type EventPattern, parseEventPattern } from './event-pattern.ts';
import type { LocalFunctionDefinition } from './lambda/function-pool.ts';
import type { ProvisionedQueue } from './provision.ts';
import { parseScheduleExpression } from './schedule-expression.ts';
import type { LocalSchedule } from './schedules.ts';
import { SES_EVENT_TYPES, type SesConfigurationSet, type SesEventType } from './ses-events.ts';
import type { SqsEventSourceDefinition } from './sqs-event-source.ts';
import { TemplateError, type TemplateModel } from './template.ts';
import type { HttpApiDefinition, HttpCorsDefinition, HttpRouteDefinition, RouteAuthorizer } from './types.ts';

/** Concurrency of a function without reserved concurrency; Lambda's account default is 1000, a laptop's is less. */
const LOCAL_DEFAULT_CONCURRENCY = 10;

const functionProps = z.object({
  Code: z.object({ S3Key: z.string().optional(), ZipFile: z.string().optional() }),
  Handler: z.string(),
  Runtime: z.string(),
  Timeout: z.coerce.number().default(3),
  MemorySize: z.coerce.number().default(128),
  Environment: z.object({ Variables: z.record(z.string(), z.unknown()).default({}) }).optional(),
  ReservedConcurrentExecutions: z.coerce.number().optional(),
  LoggingConfig: z.object({ LogGroup: z.string().optional() }).loose().optional(),
});

export function readFunctions(
  model: TemplateModel,
  assetDirectory: (objectKey: string) => string,
): LocalFunctionDefinition[] {
  return model.ofType('AWS::Lambda::Function').map((resource) => {
    const props = functionProps.parse(model.resolve(resource.Properties ?? {}));
    if (!props.Runtime.startsWith('nodejs')) {
      throw new TemplateError(
        `${resource.logicalId}: runtime ${props.Runtime} cannot run locally (Node.js only)`,
      );
    }
    if (!props.Code.S3Key) {
      throw new TemplateError(`${resource.logicalId}: only bundled asset code runs locally, not inline code`);
    }
    const functionName = model.ref(resource.logicalId);
    return {
      logicalId: resource.logicalId,
      functionName,
      functionArn: model.attribute(resource.logicalId, 'Arn'),
      codeDirectory: assetDirectory(props.Code.S3Key),
      handler: props.Handler,
      timeoutSeconds: props.Timeout,
      memorySize: props.MemorySize,
      environment: Object.fromEntries(
        Object.entries(props.Environment?.Variables ?? {}).map(([key, value]) => [key, String(value)]),
      ),
      maxConcurrency: Math.max(
        1,
        Math.min(props.ReservedConcurrentExecutions ?? LOCAL_DEFAULT_CONCURRENCY, 50),
      ),
      logGroupName: props.LoggingConfig?.LogGroup ?? `/aws/lambda/${functionName}`,
    };
  });
}

const targetSchema = z.object({
  Id: z.string(),
  Arn: z.string(),
  Input: z.string().optional(),
  InputPath: z.string().optional(),
  InputTransformer: z
    .object({ InputPathsMap: z.record(z.string(), z.string()).optional(), InputTemplate: z.string() })
    .optional(),
  SqsParameters: z.object({ MessageGroupId: z.string() }).optional(),
  DeadLetterConfig: z.object({ Arn: z.string() }).optional(),
});
const ruleProps = z.object({
  Name: z.string().optional(),
  EventBusName: z.string().optional(),
  EventPattern: z.unknown().optional(),
  ScheduleExpression: z.string().optional(),
  State: z.string().optional(),
  Description: z.string().optional(),
  Targets: z.array(targetSchema).default([]),
});

function toTarget(target: z.infer<typeof targetSchema>): RuleTarget {
  return {
    id: target.Id,
    arn: target.Arn,
    ...(target.Input !== undefined ? { input: target.Input } : {}),
    ...(target.InputPath !== undefined ? { inputPath: target.InputPath } : {}),
    ...(target.InputTransformer
      ? {
          inputTransformer: {
            inputTemplate: target.InputTransformer.InputTemplate,
            ...(target.InputTransformer.InputPathsMap
              ? { inputPathsMap: target.InputTransformer.InputPathsMap }
              : {}),
          },
        }
      : {}),
    ...(target.SqsParameters ? { sqsMessageGroupId: target.SqsParameters.MessageGroupId } : {}),
    ...(target.DeadLetterConfig ? { deadLetterArn: target.DeadLetterConfig.Arn } : {}),
  };
}

function patternOf(logicalId: string, pattern: unknown): { pattern: EventPattern; text: string } {
  const text = typeof pattern === 'string' ? pattern : JSON.stringify(pattern);
  try {
    return { pattern: parseEventPattern(text), text };
  } catch (error) {
    throw new TemplateError(
      `${logicalId}: invalid event pattern: ${error instanceof Error ? error.message : error}`,
    );
  }
}

/** Rules with an event pattern (schedule rules are read by readSchedules). */
export function readRules(model: TemplateModel): BusRule[] {
  const rules: BusRule[] = [];
  for (const resource of model.ofType('AWS::Events::Rule')) {
    const props = ruleProps.parse(model.resolve(resource.Properties ?? {}));
    if (props.EventPattern === undefined) continue;
    const { pattern, text } = patternOf(resource.logicalId, props.EventPattern);
    rules.push({
      name: model.ref(resource.logicalId),
      arn: model.attribute(resource.logicalId, 'Arn'),
      eventBusName: busNameOf(props.EventBusName),
      pattern,
      patternText: text,
      enabled: props.State === undefined || props.State === 'ENABLED',
      ...(props.Description ? { description: props.Description } : {}),
      targets: props.Targets.map(toTarget),
    });
  }
  return rules;
}

const archiveProps = z.object({ SourceArn: z.string(), EventPattern: z.unknown().optional() });

export function readArchives(model: TemplateModel): BusArchive[] {
  return model.ofType('AWS::Events::Archive').map((resource) => {
    const props = archiveProps.parse(model.resolve(resource.Properties ?? {}));
    return {
      name: model.ref(resource.logicalId),
      eventBusName: busNameOf(props.SourceArn),
      ...(props.EventPattern !== undefined
        ? { pattern: patternOf(resource.logicalId, props.EventPattern).pattern }
        : {}),
    };
  });
}

const schedulerProps = z.object({
  Name: z.string().optional(),
  ScheduleExpression: z.string(),
  ScheduleExpressionTimezone: z.string().optional(),
  State: z.string().optional(),
  Target: z.object({ Arn: z.string(), Input: z.string().optional() }),
});

export function readSchedules(
  model: TemplateModel,
  options: {
    region: string;
    accountId: string;
    deliver: (arn: string, payload: string) => Promise<void>;
    /** The event's `time` (the local stack's movable clock). @default real time */
    now?: () => Date;
  },
): LocalSchedule[] {
  const schedules: LocalSchedule[] = [];
  for (const resource of model.ofType('AWS::Events::Rule')) {
    const props = ruleProps.parse(model.resolve(resource.Properties ?? {}));
    if (props.ScheduleExpression === undefined) continue;
    const name = model.ref(resource.logicalId);
    const ruleArn = model.attribute(resource.logicalId, 'Arn');
    const targets = props.Targets.map(toTarget);
    schedules.push({
      name,
      logicalId: resource.logicalId,
      expression: parseScheduleExpression(props.ScheduleExpression),
      enabled: props.State === undefined || props.State === 'ENABLED',
      fire: async () => {
        // The event a schedule rule sends, as documented for EventBridge scheduled rules.
        const event = {
          version: '0',
          id: crypto.randomUUID(),
          'detail-type': 'Scheduled Event',
          source: 'aws.events',
          account: options.accountId,
          time: `${(options.now?.() ?? new Date()).toISOString().slice(0, 19)}Z`,
          region: options.region,
          resources: [ruleArn],
          detail: {},
        };
        await Promise.all(
          targets.map((target) => options.deliver(target.arn, target.input ?? JSON.stringify(event))),
        );
      },
    });
  }
  for (const resource of model.ofType('AWS::Scheduler::Schedule')) {
    const props = schedulerProps.parse(model.resolve(resource.Properties ?? {}));
    schedules.push({
      name: model.ref(resource.logicalId),
      logicalId: resource.logicalId,
      expression: parseScheduleExpression(props.ScheduleExpression),
      ...(props.ScheduleExpressionTimezone ? { timeZone: props.ScheduleExpressionTimezone } : {}),
      enabled: props.State === undefined || props.State === 'ENABLED',
      fire: () => options.deliver(props.Target.Arn, props.Target.Input ?? '{}'),
    });
  }
  return schedules;
}

const mappingProps = z.object({
  EventSourceArn: z.string(),
  FunctionName: z.string(),
  BatchSize: z.coerce.number().optional(),
  MaximumBatchingWindowInSeconds: z.coerce.number().default(0),
  Enabled: z.boolean().default(true),
  FunctionResponseTypes: z.array(z.string()).default([]),
  ScalingConfig: z.object({ MaximumConcurrency: z.coerce.number() }).optional(),
  FilterCriteria: z.object({ Filters: z.array(z.object({ Pattern: z.string() })).default([]) }).optional(),
  StartingPosition: z.enum(['TRIM_HORIZON', 'LATEST', 'AT_TIMESTAMP']).optional(),
  BisectBatchOnFunctionError: z.boolean().default(false),
  MaximumRetryAttempts: z.coerce.number().default(-1),
  DestinationConfig: z.object({ OnFailure: z.object({ Destination: z.string() }).optional() }).optional(),
});

/** The function an event source mapping invokes, which must be one of the template's. */
function mappedFunction(model: TemplateModel, mappingId: string, functionName: string) {
  const fn = model.findByPhysical(functionName);
  if (!fn) throw new TemplateError(`${mappingId}: function ${functionName} is not in the template`);
  return fn;
}

/** A stream mapping as the template declares it; the runtime fills in the local stream ARN. */
export interface StreamMappingDefinition
  extends Omit<StreamEventSourceDefinition, 'streamArn' | 'onFailureQueueUrl'> {
  readonly tableName: string;
  readonly onFailureArn?: string;
}

/** DynamoDB stream event source mappings (SQS ones are read by readEventSourceMappings). */
export function readStreamMappings(model: TemplateModel): StreamMappingDefinition[] {
  const definitions: StreamMappingDefinition[] = [];
  for (const resource of model.ofType('AWS::Lambda::EventSourceMapping')) {
    const props = mappingProps.parse(model.resolve(resource.Properties ?? {}));
    const table = model.findByPhysical(props.EventSourceArn);
    if (table?.Type !== 'AWS::DynamoDB::Table') continue;
    const fn = mappedFunction(model, resource.logicalId, props.FunctionName);
    definitions.push({
      logicalId: resource.logicalId,
      functionLogicalId: fn.logicalId,
      tableName: model.ref(table.logicalId),
      startingPosition: props.StartingPosition === 'LATEST' ? 'LATEST' : 'TRIM_HORIZON',
      batchSize: props.BatchSize ?? 100,
      maximumBatchingWindowSeconds: props.MaximumBatchingWindowInSeconds,
      reportBatchItemFailures: props.FunctionResponseTypes.includes('ReportBatchItemFailures'),
      bisectBatchOnFunctionError: props.BisectBatchOnFunctionError,
      maximumRetryAttempts: props.MaximumRetryAttempts,
      ...(props.DestinationConfig?.OnFailure
        ? { onFailureArn: props.DestinationConfig.OnFailure.Destination }
        : {}),
      filters: (props.FilterCriteria?.Filters ?? []).map(
        (f) => patternOf(resource.logicalId, f.Pattern).pattern,
      ),
      enabled: props.Enabled,
    });
  }
  return definitions;
}

export function readEventSourceMappings(
  model: TemplateModel,
  queues: readonly ProvisionedQueue[],
): SqsEventSourceDefinition[] {
  const definitions: SqsEventSourceDefinition[] = [];
  for (const resource of model.ofType('AWS::Lambda::EventSourceMapping')) {
    const props = mappingProps.parse(model.resolve(resource.Properties ?? {}));
    const queue = queues.find((q) => q.queueArn === props.EventSourceArn);
    if (!queue) {
      if (model.findByPhysical(props.EventSourceArn)?.Type === 'AWS::DynamoDB::Table') continue;
      throw new TemplateError(
        `${resource.logicalId}: only SQS and DynamoDB stream event sources run locally`,
      );
    }
    const fn = mappedFunction(model, resource.logicalId, props.FunctionName);
    definitions.push({
      logicalId: resource.logicalId,
      functionLogicalId: fn.logicalId,
      queueUrl: queue.queueUrl,
      queueArn: queue.queueArn,
      batchSize: props.BatchSize ?? 10,
      maximumBatchingWindowSeconds: props.MaximumBatchingWindowInSeconds,
      reportBatchItemFailures: props.FunctionResponseTypes.includes('ReportBatchItemFailures'),
      maximumConcurrency: Math.max(1, Math.min(props.ScalingConfig?.MaximumConcurrency ?? 2, 10)),
      filters: (props.FilterCriteria?.Filters ?? []).map(
        (f) => patternOf(resource.logicalId, f.Pattern).pattern,
      ),
      enabled: props.Enabled,
    });
  }
  return definitions;
}

const routeProps = z.object({
  ApiId: z.string(),
  RouteKey: z.string(),
  Target: z.string().optional(),
  AuthorizationType: z.string().optional(),
  AuthorizerId: z.string().optional(),
});
const integrationProps = z.object({
  IntegrationUri: z.string(),
  PayloadFormatVersion: z.enum(['1.0', '2.0']).default('2.0'),
  TimeoutInMillis: z.coerce.number().default(30_000),
});
const authorizerProps = z.object({
  AuthorizerType: z.string(),
  AuthorizerUri: z.string().optional(),
  EnableSimpleResponses: z.boolean().default(false),
  IdentitySource: z.array(z.string()).default([]),
  AuthorizerResultTtlInSeconds: z.coerce.number().default(0),
  AuthorizerPayloadFormatVersion: z.enum(['1.0', '2.0']).default('2.0'),
});
const corsProps = z
  .object({
    AllowOrigins: z.array(z.string()).default([]),
    AllowMethods: z.array(z.string()).default([]),
    AllowHeaders: z.array(z.string()).default([]),
    ExposeHeaders: z.array(z.string()).default([]),
    AllowCredentials: z.boolean().default(false),
    MaxAge: z.coerce.number().optional(),
  })
  .optional();

/** Lambda ARN inside an API Gateway integration or authorizer URI. */
function functionFromUri(model: TemplateModel, uri: string): string {
  const arn = uri.match(/(arn:aws:lambda:[^/]+?)(?:\/invocations)?$/)?.[1] ?? uri;
  const resource = model.findByPhysical(arn);
  if (resource?.Type !== 'AWS::Lambda::Function') {
    throw new TemplateError(`Integration ${uri} does not point at a function of this template`);
  }
  return resource.logicalId;
}

export function readApiDefinitions(model: TemplateModel): HttpApiDefinition[] {
  return model.ofType('AWS::ApiGatewayV2::Api').map((apiResource) => {
    const apiId = model.ref(apiResource.logicalId);
    const cors = corsProps.parse(
      (model.resolve(apiResource.Properties ?? {}) as Record<string, unknown>).CorsConfiguration,
    );
    const routes: HttpRouteDefinition[] = [];
    for (const routeResource of model.ofType('AWS::ApiGatewayV2::Route')) {
      const route = routeProps.parse(model.resolve(routeResource.Properties ?? {}));
      if (route.ApiId !== apiId || !route.Target) continue;
      const integrationId = route.Target.replace(/^integrations\//, '');
      const integrationResource = model.findByPhysical(integrationId);
      if (!integrationResource)
        throw new TemplateError(`${routeResource.logicalId}: unknown integration ${integrationId}`);
      const integration = integrationProps.parse(model.resolve(integrationResource.Properties ?? {}));
      let authorizer: RouteAuthorizer | undefined;
      if (route.AuthorizationType === 'AWS_IAM') authorizer = { type: 'iam' };
      if (route.AuthorizationType === 'CUSTOM' && route.AuthorizerId) {
        const authorizerResource = model.findByPhysical(route.AuthorizerId);
        if (!authorizerResource) throw new TemplateError(`${routeResource.logicalId}: unknown authorizer`);
        const props = authorizerProps.parse(model.resolve(authorizerResource.Properties ?? {}));
        if (props.AuthorizerType !== 'REQUEST' || !props.AuthorizerUri) {
          throw new TemplateError(
            `${authorizerResource.logicalId}: only Lambda REQUEST authorizers run locally`,
          );
        }
        authorizer = {
          type: 'lambda',
          functionLogicalId: functionFromUri(model, props.AuthorizerUri),
          simpleResponses: props.EnableSimpleResponses,
          identitySource: props.IdentitySource,
          resultTtlSeconds: props.AuthorizerResultTtlInSeconds,
          payloadFormatVersion: props.AuthorizerPayloadFormatVersion,
        };
      }
      routes.push({
        routeKey: route.RouteKey,
        functionLogicalId: functionFromUri(model, integration.IntegrationUri),
        payloadFormatVersion: integration.PayloadFormatVersion,
        timeoutMs: Math.min(integration.TimeoutInMillis, 30_000),
        ...(authorizer ? { authorizer } : {}),
      });
    }
    const corsDefinition: HttpCorsDefinition | undefined = cors
      ? {
          allowOrigins: cors.AllowOrigins,
          allowMethods: cors.AllowMethods,
          allowHeaders: cors.AllowHeaders,
          exposeHeaders: cors.ExposeHeaders,
          allowCredentials: cors.AllowCredentials,
          ...(cors.MaxAge !== undefined ? { maxAgeSeconds: cors.MaxAge } : {}),
        }
      : undefined;
    return { apiId, routes, ...(corsDefinition ? { cors: corsDefinition } : {}) };
  });
}

const sesConfigurationSetProps = z.object({ Name: z.string().optional() });
const sesEventDestinationProps = z.object({
  ConfigurationSetName: z.string(),
  EventDestination: z.object({
    Name: z.string().optional(),
    // CloudFormation's default: a destination is disabled unless it says otherwise (CDK always says).
    Enabled: z.boolean().default(false),
    MatchingEventTypes: z.array(z.string()),
    EventBridgeDestination: z.object({ EventBusArn: z.string() }).optional(),
  }),
});

/** CloudFormation writes `renderingFailure`; the SES API writes `RENDERING_FAILURE`. Both name the same type. */
function sesEventType(logicalId: string, name: string): SesEventType {
  const key = name.replace(/_/g, '').toLowerCase();
  const type = SES_EVENT_TYPES.find((t) => t.toLowerCase() === key);
  if (!type) throw new TemplateError(`${logicalId}: unknown SES event type ${name}`);
  return type;
}

/**
 * SES configuration sets with their EventBridge destinations. Other destination kinds (SNS, Firehose, CloudWatch)
 * are not emulated; identities, contact lists and the rest of AWS::SES::* need nothing locally. Call it before
 * anything else resolves a Ref to a named configuration set: it teaches the model that name.
 */
export function readSesConfigurationSets(model: TemplateModel): SesConfigurationSet[] {
  const sets = model.ofType('AWS::SES::ConfigurationSet').map((resource) => {
    const props = sesConfigurationSetProps.parse(model.resolve(resource.Properties ?? {}));
    const name = props.Name ?? model.ref(resource.logicalId);
    // CloudFormation's Ref to a configuration set is its name; the sender is given the set through that Ref.
    if (props.Name !== undefined) model.setPhysical(resource.logicalId, { ref: props.Name });
    const arn = `arn:aws:ses:${model.env.region}:${model.env.accountId}:configuration-set/${name}`;
    const eventBridgeDestinations: Array<SesConfigurationSet['eventBridgeDestinations'][number]> = [];
    return { name, arn, eventBridgeDestinations };
  });
  for (const resource of model.ofType('AWS::SES::ConfigurationSetEventDestination')) {
    const props = sesEventDestinationProps.parse(model.resolve(resource.Properties ?? {}));
    const set = sets.find((s) => s.name === props.ConfigurationSetName);
    if (!set) {
      throw new TemplateError(
        `${resource.logicalId}: configuration set ${props.ConfigurationSetName} is not in the template`,
      );
    }
    const destination = props.EventDestination;
    if (!destination.EventBridgeDestination) continue;
    const busName = busNameOf(destination.EventBridgeDestination.EventBusArn);
    if (busName !== 'default') {
      throw new TemplateError(
        `${resource.logicalId}: SES publishes only to the default event bus, not to ${busName}; route events on from the default bus with a rule`,
      );
    }
    if (!destination.Enabled) continue;
    set.eventBridgeDestinations.push({
      name: destination.Name ?? resource.logicalId,
      eventTypes: new Set(destination.MatchingEventTypes.map((t) => sesEventType(resource.logicalId, t))),
    });
  }
  return sets;
}
