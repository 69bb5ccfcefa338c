import { Match, Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { buildNurtureApp } from '../../lib/app.ts';
import { InvalidConfigError } from '../../lib/config.ts';

function synth(context: Record<string, unknown> = {}) {
  // No bundling: these assertions read the template; the e2e suite's synthesis bundles every function.
  const { app, stack } = buildNurtureApp({ context: { ...context, 'aws:cdk:bundling-stacks': [] } });
  // app.synth() runs the cdk-nag AwsSolutions pack and throws on any unacknowledged finding.
  app.synth();
  return Template.fromStack(stack);
}

const dev = synth({ stage: 'dev' });
const prod = synth({ stage: 'prod', allowedOrigins: 'https://www.example.com,https://shop.example.com' });

describe('Nurture stack', () => {
  it('synthesizes dev and prod with no unacknowledged cdk-nag AwsSolutions finding', () => {
    expect(() => synth({ stage: 'prod', adminAuth: 'iam' })).not.toThrow();
  });

  it('stores profiles in an on-demand table with point-in-time recovery and a TTL attribute', () => {
    dev.hasResourceProperties('AWS::DynamoDB::Table', {
      BillingMode: 'PAY_PER_REQUEST',
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
      TimeToLiveSpecification: { AttributeName: 'expiresAt', Enabled: true },
      KeySchema: [
        { AttributeName: 'pk', KeyType: 'HASH' },
        { AttributeName: 'sk', KeyType: 'RANGE' },
      ],
    });
  });

  it('retains data in production and removes it with development stacks', () => {
    prod.hasResource('AWS::DynamoDB::Table', { DeletionPolicy: 'Retain', UpdateReplacePolicy: 'Retain' });
    prod.hasResourceProperties('AWS::DynamoDB::Table', { DeletionProtectionEnabled: true });
    dev.hasResource('AWS::DynamoDB::Table', { DeletionPolicy: 'Delete' });
  });

  it('runs every function on the newest Node.js runtime, on arm64, with its own log group', () => {
    const functions = dev.findResources('AWS::Lambda::Function');
    expect(Object.keys(functions).length).toBeGreaterThanOrEqual(3);
    for (const fn of Object.values(functions)) {
      expect(fn.Properties).toMatchObject({
        Runtime: 'nodejs24.x',
        Architectures: ['arm64'],
        TracingConfig: { Mode: 'Active' },
        LoggingConfig: { LogFormat: 'JSON', LogGroup: { Ref: expect.any(String) } },
      });
      expect(fn.Properties.Environment.Variables.NODE_OPTIONS).toBe('--enable-source-maps');
    }
    dev.allResourcesProperties('AWS::Logs::LogGroup', { RetentionInDays: Match.anyValue() });
  });

  it('names the event bus "nurture" in production and archives every Nurture event for replay', () => {
    prod.hasResourceProperties('AWS::Events::EventBus', { Name: 'nurture' });
    dev.hasResourceProperties('AWS::Events::EventBus', { Name: 'nurture-dev' });
    prod.hasResourceProperties('AWS::Events::Archive', {
      EventPattern: { source: [{ prefix: 'nurture.' }] },
      RetentionDays: 365,
    });
  });

  it('copies bus events to a log group in development only, since events can carry personal data', () => {
    dev.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: { source: [{ prefix: 'nurture.' }] },
      Targets: [Match.objectLike({ Arn: { 'Fn::GetAtt': [Match.stringLikeRegexp('EventLog'), 'Arn'] } })],
    });
    const prodRules = Object.values(prod.findResources('AWS::Events::Rule'));
    expect(prodRules.map((rule) => JSON.stringify(rule.Properties.Targets))).not.toContainEqual(
      expect.stringContaining('EventLog'),
    );
  });

  it('serves GET /health publicly and guards /admin routes with the bearer-token authorizer', () => {
    dev.hasResourceProperties('AWS::ApiGatewayV2::Route', {
      RouteKey: 'GET /health',
      AuthorizationType: 'NONE',
    });
    dev.hasResourceProperties('AWS::ApiGatewayV2::Route', {
      RouteKey: 'GET /admin/status',
      AuthorizationType: 'CUSTOM',
    });
    dev.hasResourceProperties('AWS::ApiGatewayV2::Authorizer', {
      AuthorizerType: 'REQUEST',
      EnableSimpleResponses: true,
      IdentitySource: ['$request.header.Authorization'],
    });
  });

  it('lets the authorizer read only the admin token secret', () => {
    const policies = dev.findResources('AWS::IAM::Policy', {
      Properties: { PolicyName: Match.stringLikeRegexp('AdminAuthAuthorizer') },
    });
    const statements = Object.values(policies).flatMap((p) => p.Properties.PolicyDocument.Statement);
    const secretStatement = statements.find((s: { Action: string | string[] }) =>
      [s.Action].flat().includes('secretsmanager:GetSecretValue'),
    );
    expect(secretStatement.Resource).toEqual({ Ref: expect.stringMatching(/^AdminAuthAdminToken/) });
  });

  it('uses IAM authorization for admin routes when asked to', () => {
    const iam = synth({ stage: 'dev', adminAuth: 'iam' });
    iam.hasResourceProperties('AWS::ApiGatewayV2::Route', {
      RouteKey: 'GET /admin/status',
      AuthorizationType: 'AWS_IAM',
    });
    // Only the link-signing secret remains: no admin token exists.
    expect(Object.keys(iam.findResources('AWS::SecretsManager::Secret'))).toEqual([
      expect.stringMatching(/^LinkSigning/),
    ]);
  });

  it('allows CORS only from the configured origins, with credentials', () => {
    prod.hasResourceProperties('AWS::ApiGatewayV2::Api', {
      CorsConfiguration: Match.objectLike({
        AllowOrigins: ['https://www.example.com', 'https://shop.example.com'],
        AllowCredentials: true,
        AllowHeaders: Match.arrayWith(['authorization', 'content-type', 'x-retry-count']),
      }),
    });
    dev.hasResourceProperties('AWS::ApiGatewayV2::Api', {
      CorsConfiguration: Match.objectLike({ AllowOrigins: ['*'], AllowCredentials: false }),
    });
    synth({ stage: 'prod' }).hasResourceProperties('AWS::ApiGatewayV2::Api', {
      CorsConfiguration: Match.absent(),
    });
  });

  it('throttles the API stage and writes access logs without IPs or user agents', () => {
    const stages = prod.findResources('AWS::ApiGatewayV2::Stage');
    const [stage] = Object.values(stages);
    expect(stage?.Properties.DefaultRouteSettings).toMatchObject({
      ThrottlingRateLimit: 1000,
      ThrottlingBurstLimit: 2000,
    });
    expect(stage?.Properties.AccessLogSettings.Format).not.toMatch(/sourceIp|userAgent/);
  });

  it('rejects bad configuration with one message naming every bad option', () => {
    expect(() => buildNurtureApp({ context: { stage: 'qa', allowedOrigins: 'example.com' } })).toThrow(
      InvalidConfigError,
    );
    expect(() => buildNurtureApp({ context: { stage: 'qa', allowedOrigins: 'example.com' } })).toThrow(
      /-c stage: must be one of dev, prod[\s\S]*-c allowedOrigins/,
    );
  });
});
