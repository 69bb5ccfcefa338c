// Synthesizes the app for template assertions and finds resources, role statements and functions in it.
import { Match, Template } from 'aws-cdk-lib/assertions';
import { expect } from 'vitest';
import { buildNurtureApp } from '../../../lib/app.ts';

/** The stack's template; cdk-nag's AwsSolutions pack runs on synth, so any unacknowledged finding throws. */
export function synthTemplate(context: Record<string, unknown>): Template {
  // No bundling: these assertions read the template; the e2e suite's synthesis bundles every function.
  const { app, stack } = buildNurtureApp({ context: { ...context, 'aws:cdk:bundling-stacks': [] } });
  app.synth();
  return Template.fromStack(stack);
}

export interface Statement {
  readonly Effect: string;
  readonly Action: string | string[];
  readonly Resource: unknown;
}

export function templateHelpers(template: Template) {
  /** The one resource of `type` whose logical id matches; fails the test when there are none or several. */
  function logicalId(type: string, pattern: RegExp): string {
    const ids = Object.keys(template.findResources(type)).filter((id) => pattern.test(id));
    expect(ids, `${type} matching ${pattern}`).toHaveLength(1);
    const [id] = ids;
    if (id === undefined) throw new Error('unreachable');
    return id;
  }

  /** Every statement of the policies attached to the role whose id starts with `<rolePrefix>Role`. */
  function roleStatements(rolePrefix: string): Statement[] {
    const policies = template.findResources('AWS::IAM::Policy', {
      Properties: { PolicyName: Match.stringLikeRegexp(`^${rolePrefix}Role`) },
    });
    expect(Object.keys(policies), `policies of ${rolePrefix}`).not.toHaveLength(0);
    return Object.values(policies).flatMap((p) => p.Properties.PolicyDocument.Statement);
  }

  /** The resources an Allow statement grants `action` on. */
  function resourcesFor(statements: Statement[], action: string): unknown[] {
    return statements
      .filter((s) => s.Effect === 'Allow' && [s.Action].flat().includes(action))
      .flatMap((s) => [s.Resource].flat());
  }

  function functionProperties(pattern: RegExp) {
    return template.findResources('AWS::Lambda::Function')[logicalId('AWS::Lambda::Function', pattern)]
      ?.Properties;
  }

  /**
   * The keys of the routes matching `routes`, sorted, once each was checked to reach the function matching `handler`
   * behind the admin token authorizer.
   */
  function adminRoutesServedBy({ routes, handler }: { routes: RegExp; handler: RegExp }): string[] {
    const authorizer = logicalId('AWS::ApiGatewayV2::Authorizer', /AdminTokenAuthorizer/);
    const fn = logicalId('AWS::Lambda::Function', handler);
    const integrations = template.findResources('AWS::ApiGatewayV2::Integration');
    const matched = Object.values(template.findResources('AWS::ApiGatewayV2::Route')).filter((route) =>
      routes.test(String(route.Properties.RouteKey)),
    );
    for (const route of matched) {
      expect(route.Properties, route.Properties.RouteKey).toMatchObject({
        AuthorizationType: 'CUSTOM',
        AuthorizerId: { Ref: authorizer },
      });
      const integration = route.Properties.Target['Fn::Join'][1][1].Ref;
      expect(integrations[integration]?.Properties.IntegrationUri, route.Properties.RouteKey).toEqual({
        'Fn::GetAtt': [fn, 'Arn'],
      });
    }
    return matched.map((route) => String(route.Properties.RouteKey)).sort();
  }

  return { logicalId, roleStatements, resourcesFor, functionProperties, adminRoutesServedBy };
}
