// Security wiring a deployment depends on: encryption at rest and in transit, which routes are public, admin auth.
// cdk-nag's AwsSolutions pack runs on every synthesis below (synthTemplate), so an unacknowledged finding fails here
// too; stack.test.ts holds the explicit cdk-nag case.
import type { Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { synthTemplate } from './support/template.ts';

/**
 * Every route anyone may call without admin credentials, and why. README "Security" lists the same routes; adding a
 * public route means adding it to both, deliberately.
 */
const PUBLIC_ROUTES: Readonly<Record<string, string>> = {
  'GET /health': 'liveness check, says nothing about data',
  'POST /v1/{type}': 'tracking (Segment API): the handler checks the write key',
  'GET /v1/pixel/{type}': 'tracking pixel: the handler checks the write key',
  'GET /v1/snippet.js': 'the browser snippet, the same for everyone',
  'POST /com.snowplowanalytics.snowplow/tp2': 'Snowplow tracking: the handler checks the app id (write key)',
  'GET /i': 'Snowplow pixel: the handler checks the app id (write key)',
  'GET /e/o/{token}': 'email open pixel: signed token',
  'GET /e/c/{token}': 'email click redirect: signed token',
  'GET /e/u/{token}': 'unsubscribe page: signed token',
  'POST /e/u/{token}': 'one-click unsubscribe (RFC 8058): signed token',
  'GET /e/b/{token}': 'banner click: signed token',
  'GET /v1/content/{placement}': 'banner content for a visitor: the handler checks the write key',
  'GET /dashboard': 'the dashboard shell; its data comes from the admin API',
};

interface Route {
  readonly routeKey: string;
  readonly authorizationType: string;
  readonly authorizerId: unknown;
}

function routesOf(template: Template): Route[] {
  return Object.values(template.findResources('AWS::ApiGatewayV2::Route')).map((route) => ({
    routeKey: String(route.Properties.RouteKey),
    authorizationType: String(route.Properties.AuthorizationType),
    authorizerId: route.Properties.AuthorizerId,
  }));
}

const isAdminRoute = (routeKey: string) => routeKey.split(' ')[1]?.startsWith('/admin/') === true;

let dev: Template;
let prod: Template;
let iam: Template;

beforeAll(() => {
  dev = synthTemplate({ stage: 'dev' });
  prod = synthTemplate({ stage: 'prod', allowedOrigins: 'https://www.example.com' });
  iam = synthTemplate({ stage: 'prod', adminAuth: 'iam', allowedOrigins: 'https://www.example.com' });
});

describe('encryption at rest and in transit', () => {
  it('encrypts every DynamoDB table with a KMS key (SSEEnabled: the AWS managed key, not only the default one)', () => {
    for (const template of [dev, prod]) {
      const tables = Object.values(template.findResources('AWS::DynamoDB::Table'));
      expect(tables.length).toBeGreaterThan(0);
      for (const table of tables) {
        expect(table.Properties.SSESpecification).toMatchObject({ SSEEnabled: true });
      }
    }
  });

  it('encrypts every SQS queue at rest', () => {
    const queues = prod.findResources('AWS::SQS::Queue');
    expect(Object.keys(queues).length).toBeGreaterThan(0);
    for (const [id, queue] of Object.entries(queues)) {
      const encrypted =
        queue.Properties.SqsManagedSseEnabled === true || queue.Properties.KmsMasterKeyId !== undefined;
      expect(encrypted, `${id} is encrypted`).toBe(true);
    }
  });

  it('refuses every SQS request that does not use TLS', () => {
    const queueIds = Object.keys(prod.findResources('AWS::SQS::Queue'));
    const enforced = new Set<string>();
    for (const policy of Object.values(prod.findResources('AWS::SQS::QueuePolicy'))) {
      const statements: Array<{ Effect: string; Condition?: unknown }> =
        policy.Properties.PolicyDocument.Statement;
      const deniesPlainText = statements.some(
        (s) =>
          s.Effect === 'Deny' &&
          JSON.stringify(s.Condition) === JSON.stringify({ Bool: { 'aws:SecureTransport': 'false' } }),
      );
      if (!deniesPlainText) continue;
      for (const queue of [policy.Properties.Queues].flat()) enforced.add(String(queue?.Ref));
    }
    expect([...enforced].sort()).toEqual([...queueIds].sort());
  });
});

describe('who may call which route', () => {
  it('guards every admin route with the bearer-token authorizer', () => {
    const admin = routesOf(prod).filter((r) => isAdminRoute(r.routeKey));
    expect(admin.length).toBeGreaterThan(10);
    const authorizers = Object.keys(prod.findResources('AWS::ApiGatewayV2::Authorizer'));
    expect(authorizers).toHaveLength(1);
    for (const route of admin) {
      expect(route, route.routeKey).toMatchObject({
        authorizationType: 'CUSTOM',
        authorizerId: { Ref: authorizers[0] },
      });
    }
  });

  it('guards every admin route with IAM when the stack uses IAM for admins', () => {
    const admin = routesOf(iam).filter((r) => isAdminRoute(r.routeKey));
    expect(admin.length).toBeGreaterThan(10);
    for (const route of admin) expect(route.authorizationType, route.routeKey).toBe('AWS_IAM');
  });

  it('leaves open only the documented public routes', () => {
    const open = routesOf(prod)
      .filter((r) => r.authorizationType === 'NONE')
      .map((r) => r.routeKey);

    expect(open.sort()).toEqual(Object.keys(PUBLIC_ROUTES).sort());
  });

  it('has no route that is neither public by design nor behind admin auth', () => {
    const unguarded = routesOf(prod).filter(
      (r) => !isAdminRoute(r.routeKey) && !(r.routeKey in PUBLIC_ROUTES),
    );

    expect(unguarded.map((r) => r.routeKey)).toEqual([]);
  });
});

describe('least privilege', () => {
  it('grants no function a wildcard action', () => {
    const wildcards: string[] = [];
    for (const [id, policy] of Object.entries(prod.findResources('AWS::IAM::Policy'))) {
      const statements: Array<{ Effect: string; Action: string | string[] }> =
        policy.Properties.PolicyDocument.Statement;
      for (const s of statements) {
        for (const action of [s.Action].flat()) {
          if (s.Effect === 'Allow' && (action === '*' || action.endsWith(':*')))
            wildcards.push(`${id}: ${action}`);
        }
      }
    }

    expect(wildcards).toEqual([]);
  });

  it('lets only the authorizer read the admin token secret', () => {
    const readers: string[] = [];
    for (const [id, policy] of Object.entries(prod.findResources('AWS::IAM::Policy'))) {
      const text = JSON.stringify(policy.Properties.PolicyDocument);
      if (/AdminAuthAdminToken/.test(text)) readers.push(id);
    }

    expect(readers).toEqual([expect.stringMatching(/^AdminAuthAuthorizer/)]);
  });

  it('gives the collect function its default source rate limit', () => {
    const collect = Object.values(prod.findResources('AWS::Lambda::Function')).find((fn) =>
      String(fn.Properties.Description).startsWith('Tracking API'),
    );

    expect(collect?.Properties.Environment.Variables).toMatchObject({
      SOURCE_RATE_LIMIT: '1000',
      SOURCE_RATE_BURST: '5000',
    });
  });
});
