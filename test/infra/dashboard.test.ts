// The dashboard wiring: a public page that reaches no data itself, shipped with its bundled client, cdk-nag clean.
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CfnElement, type Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import type { IConstruct } from 'constructs';
import { afterAll, describe, expect, it } from 'vitest';
import * as z from 'zod';
import { buildNurtureApp } from '../../lib/app.ts';
import { DASHBOARD_CLIENT_FILE } from '../../lib/constructs/dashboard.ts';
import { readCloudAssembly } from '../../lib/local/cloud-assembly.ts';

const outdir = mkdtempSync(join(tmpdir(), 'nurture-dashboard-'));
afterAll(() => rmSync(outdir, { recursive: true, force: true }));

const { app, stack } = buildNurtureApp({ outdir, context: { stage: 'dev' } });
// app.synth() runs cdk-nag and throws on any unacknowledged finding, the public route's included.
app.synth();
const template = Template.fromStack(stack);

function logicalIdOf(owner: Stack, construct: IConstruct): string {
  const resource = construct.node.defaultChild;
  if (!(resource instanceof CfnElement)) throw new Error(`${construct.node.path} has no resource of its own`);
  return owner.getLogicalId(resource);
}

const functionSchema = z.object({
  Properties: z.object({ Code: z.object({ S3Key: z.string() }).loose() }).loose(),
});
const resourcesSchema = z.object({ Resources: z.record(z.string(), z.unknown()) });

/** The folder the local stack runs the page function from, found from the template as the local stack does. */
function bundleFolder(): string {
  const assembly = readCloudAssembly(outdir);
  const resources = resourcesSchema.parse(assembly.template).Resources;
  const resource = functionSchema.parse(resources[logicalIdOf(stack, stack.dashboard.page.function)]);
  return assembly.assetDirectory(resource.Properties.Code.S3Key);
}

describe('the dashboard in the stack', () => {
  it('serves GET /dashboard without an authorizer, since the shell holds no data', () => {
    template.hasResourceProperties('AWS::ApiGatewayV2::Route', {
      RouteKey: 'GET /dashboard',
      AuthorizationType: 'NONE',
      Target: Match.anyValue(),
    });
  });

  it('gives the page function no access to any table, queue, bus or secret', () => {
    const role = logicalIdOf(stack, stack.dashboard.page.role);
    const policies = template.findResources('AWS::IAM::Policy', {
      Properties: { Roles: Match.arrayWith([{ Ref: role }]) },
    });
    const actions = Object.values(policies)
      .flatMap((policy) => policy.Properties.PolicyDocument.Statement)
      .flatMap((statement: { Action: string | string[] }) => [statement.Action].flat());

    expect(actions.length).toBeGreaterThan(0);
    expect(actions.filter((action) => /^(dynamodb|sqs|events|secretsmanager|ses|kms):/.test(action))).toEqual(
      [],
    );
  });

  it('guards the KPI data the page shows with the admin authorizer wherever the route exists', () => {
    const routes = template.findResources('AWS::ApiGatewayV2::Route', {
      Properties: { RouteKey: Match.stringLikeRegexp('^GET /admin/kpis') },
    });

    for (const route of Object.values(routes)) expect(route.Properties.AuthorizationType).toBe('CUSTOM');
  });

  it('ships the bundled client beside the handler, with chart.js in it', () => {
    const client = join(bundleFolder(), 'data', DASHBOARD_CLIENT_FILE);

    expect(existsSync(client)).toBe(true);
    expect(readFileSync(client, 'utf8')).toMatch(/Chart\.js v4\.\d+\.\d+/);
  });

  it('keeps the page function, client included, under the 500 KB bundle budget', () => {
    const folder = bundleFolder();

    const bytes =
      statSync(join(folder, 'index.mjs')).size + statSync(join(folder, 'data', DASHBOARD_CLIENT_FILE)).size;

    expect(bytes).toBeLessThan(500 * 1024);
  });
});
