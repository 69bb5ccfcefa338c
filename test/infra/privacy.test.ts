// The privacy wiring users depend on: export, erasure and audit routes behind the admin authorizer, table-only grants.
import { Match, Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { buildNurtureApp } from '../../lib/app.ts';

// No bundling: these assertions read the template; the e2e suite's synthesis bundles every function.
const { app, stack } = buildNurtureApp({ context: { stage: 'dev', 'aws:cdk:bundling-stacks': [] } });
// Runs the cdk-nag AwsSolutions pack: any unacknowledged finding throws.
app.synth();
const dev = Template.fromStack(stack);

function logicalId(type: string, pattern: RegExp): string {
  const ids = Object.keys(dev.findResources(type)).filter((id) => pattern.test(id));
  expect(ids, `${type} matching ${pattern}`).toHaveLength(1);
  const [id] = ids;
  if (id === undefined) throw new Error('unreachable');
  return id;
}

interface Statement {
  readonly Effect: string;
  readonly Action: string | string[];
  readonly Resource: unknown;
}

function adminStatements(): Statement[] {
  const policies = dev.findResources('AWS::IAM::Policy', {
    Properties: { PolicyName: Match.stringLikeRegexp('^PrivacyAdminRole') },
  });
  expect(Object.keys(policies)).not.toHaveLength(0);
  return Object.values(policies).flatMap((p) => p.Properties.PolicyDocument.Statement);
}

describe('the privacy admin API', () => {
  it('serves export, erasure and audit from the privacy function, each behind the admin authorizer', () => {
    const authorizer = logicalId('AWS::ApiGatewayV2::Authorizer', /AdminTokenAuthorizer/);
    const admin = logicalId('AWS::Lambda::Function', /^PrivacyAdminFunction/);
    const integrations = dev.findResources('AWS::ApiGatewayV2::Integration');
    const routes = Object.values(dev.findResources('AWS::ApiGatewayV2::Route')).filter((r) =>
      String(r.Properties.RouteKey).includes('/admin/privacy/'),
    );

    expect(routes.map((r) => r.Properties.RouteKey).sort()).toEqual([
      'GET /admin/privacy/audit',
      'GET /admin/privacy/export',
      'POST /admin/privacy/erasure',
    ]);
    for (const route of routes) {
      expect(route.Properties, route.Properties.RouteKey).toMatchObject({
        AuthorizationType: 'CUSTOM',
        AuthorizerId: { Ref: authorizer },
      });
      const integration = route.Properties.Target['Fn::Join'][1][1].Ref;
      expect(integrations[integration]?.Properties.IntegrationUri).toEqual({ 'Fn::GetAtt': [admin, 'Arn'] });
    }
  });

  it('may read and delete in the profile table and touch nothing else', () => {
    const table = logicalId('AWS::DynamoDB::Table', /^ProfileStoreTable/);
    const statements = adminStatements();
    const actions = statements.flatMap((s) => [s.Action].flat());

    for (const action of ['dynamodb:Query', 'dynamodb:BatchWriteItem', 'dynamodb:DeleteItem'])
      expect(
        statements.filter((s) => [s.Action].flat().includes(action)).flatMap((s) => [s.Resource].flat()),
        action,
      ).toContainEqual({ 'Fn::GetAtt': [table, 'Arn'] });
    expect(actions.filter((a) => !/^(dynamodb|xray|logs):/.test(a))).toEqual([]);
    const admin = logicalId('AWS::Lambda::Function', /^PrivacyAdminFunction/);
    expect(dev.findResources('AWS::Lambda::Function')[admin]?.Properties.Environment.Variables).toMatchObject(
      {
        PROFILE_TABLE: { Ref: table },
      },
    );
  });

  it('stops an erasure before API Gateway gives up, so the caller sees the error and can run it again', () => {
    const admin = logicalId('AWS::Lambda::Function', /^PrivacyAdminFunction/);

    expect(dev.findResources('AWS::Lambda::Function')[admin]?.Properties.Timeout).toBeLessThan(30);
  });
});
