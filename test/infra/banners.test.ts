// The banner wiring a site and an operator depend on: public content and link routes, guarded admin routes, grants.
import { CfnElement, type Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import type { IConstruct } from 'constructs';
import { describe, expect, it } from 'vitest';
import { buildNurtureApp } from '../../lib/app.ts';

function synth(context: Record<string, unknown>) {
  // No bundling: these assertions read the template; the e2e suite's synthesis bundles every function.
  const { app, stack } = buildNurtureApp({ context: { ...context, 'aws:cdk:bundling-stacks': [] } });
  // app.synth() runs cdk-nag and throws on any unacknowledged finding, including the link-signing secret's.
  app.synth();
  return { template: Template.fromStack(stack), stack };
}

const dev = synth({ stage: 'dev' });
const prod = synth({ stage: 'prod', allowedOrigins: 'https://www.example.com' });

function logicalIdOf(stack: Stack, construct: IConstruct): string {
  const resource = construct.node.defaultChild;
  if (!(resource instanceof CfnElement)) throw new Error(`${construct.node.path} has no resource of its own`);
  return stack.getLogicalId(resource);
}

interface Statement {
  readonly Action: string | string[];
  readonly Resource: unknown;
}

function statementsOf(template: Template, roleLogicalId: string): Statement[] {
  const policies = template.findResources('AWS::IAM::Policy', {
    Properties: { Roles: Match.arrayWith([{ Ref: roleLogicalId }]) },
  });
  return Object.values(policies).flatMap((policy) => policy.Properties.PolicyDocument.Statement);
}

function actionsOf(statements: readonly Statement[]): string[] {
  return statements.flatMap((s) => [s.Action].flat());
}

describe('banners in the stack', () => {
  it('serves banner content and banner links publicly, since the handler checks write keys and signatures', () => {
    for (const routeKey of ['GET /v1/content/{placement}', 'GET /e/b/{token}']) {
      dev.template.hasResourceProperties('AWS::ApiGatewayV2::Route', {
        RouteKey: routeKey,
        AuthorizationType: 'NONE',
      });
    }
  });

  it('guards every banner admin route with the admin authorizer', () => {
    for (const routeKey of [
      'PUT /admin/profiles/{id}/banners/{placement}',
      'GET /admin/profiles/{id}/banners',
      'DELETE /admin/profiles/{id}/banners/{placement}',
    ]) {
      dev.template.hasResourceProperties('AWS::ApiGatewayV2::Route', {
        RouteKey: routeKey,
        AuthorizationType: 'CUSTOM',
      });
    }
  });

  it('lets browsers on the configured origins call the content endpoint with a write key', () => {
    prod.template.hasResourceProperties('AWS::ApiGatewayV2::Api', {
      CorsConfiguration: Match.objectLike({
        AllowOrigins: ['https://www.example.com'],
        AllowMethods: Match.arrayWith(['GET']),
        AllowHeaders: Match.arrayWith(['authorization']),
      }),
    });
  });

  it('generates a 64-character link-signing secret without punctuation, kept in production only', () => {
    dev.template.hasResourceProperties('AWS::SecretsManager::Secret', {
      GenerateSecretString: { PasswordLength: 64, ExcludePunctuation: true },
    });
    prod.template.hasResource('AWS::SecretsManager::Secret', {
      Properties: { GenerateSecretString: { PasswordLength: 64, ExcludePunctuation: true } },
      DeletionPolicy: 'Retain',
    });
    dev.template.hasResource('AWS::SecretsManager::Secret', {
      Properties: { GenerateSecretString: { PasswordLength: 64, ExcludePunctuation: true } },
      DeletionPolicy: 'Delete',
    });
  });

  it('lets the content function read the link-signing secret, named in SIGNING_SECRET_ARN, and the profile table', () => {
    const role = logicalIdOf(dev.stack, dev.stack.banners.content.role);
    const secret = logicalIdOf(dev.stack, dev.stack.linkSigning.secret);
    const statements = statementsOf(dev.template, role);

    const secretStatement = statements.find((s) =>
      [s.Action].flat().includes('secretsmanager:GetSecretValue'),
    );
    expect(secretStatement?.Resource).toEqual({ Ref: secret });
    expect(actionsOf(statements)).toEqual(
      expect.arrayContaining(['dynamodb:PutItem', 'dynamodb:UpdateItem']),
    );
    dev.template.hasResourceProperties('AWS::Lambda::Function', {
      Description: Match.stringLikeRegexp('^Banner content'),
      Environment: { Variables: Match.objectLike({ SIGNING_SECRET_ARN: { Ref: secret } }) },
    });
  });

  it('gives the banner admin function the profile table and no secret', () => {
    const role = logicalIdOf(dev.stack, dev.stack.banners.admin.role);

    const actions = actionsOf(statementsOf(dev.template, role));

    expect(actions).toEqual(expect.arrayContaining(['dynamodb:PutItem', 'dynamodb:Query']));
    expect(actions.filter((a) => a.startsWith('secretsmanager:'))).toEqual([]);
  });
});
