// The import and enrichment wiring: the guarded admin import route, its least-privilege grants, and data beside bundles.
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Template } from 'aws-cdk-lib/assertions';
import { afterAll, describe, expect, it } from 'vitest';
import * as z from 'zod';
import { DATA_FILES } from '../../functions/enrichment/shipped-data.ts';
import { buildNurtureApp } from '../../lib/app.ts';
import { readCloudAssembly } from '../../lib/local/cloud-assembly.ts';
import { templateHelpers } from './support/template.ts';

const outdir = mkdtempSync(join(tmpdir(), 'nurture-imports-infra-'));
afterAll(() => rmSync(outdir, { recursive: true, force: true }));

const { app, stack } = buildNurtureApp({ context: { stage: 'dev' }, outdir });
// Runs the cdk-nag AwsSolutions pack: any unacknowledged finding throws.
app.synth();
const dev = Template.fromStack(stack);
const assembly = readCloudAssembly(outdir);

const { logicalId, roleStatements, adminRoutesServedBy } = templateHelpers(dev);

const functionResource = z.object({
  Properties: z.object({ Code: z.object({ S3Key: z.string() }).loose() }).loose(),
});

/** The folder Lambda (and the local stack) runs a function from. */
function codeFolder(pattern: RegExp): string {
  const resource = functionResource.parse(
    dev.findResources('AWS::Lambda::Function')[logicalId('AWS::Lambda::Function', pattern)],
  );
  return assembly.assetDirectory(resource.Properties.Code.S3Key);
}

describe('the admin import route', () => {
  it('serves POST /admin/imports from the import function behind the admin authorizer', () => {
    expect(
      adminRoutesServedBy({ routes: /\/admin\/imports/, handler: /^ImportsAdminImportsFunction/ }),
    ).toEqual(['POST /admin/imports']);
  });

  it('lets the import function use the profile table and nothing else: no bus, no queue, no secret', () => {
    const table = logicalId('AWS::DynamoDB::Table', /^ProfileStore/);
    const statements = roleStatements('ImportsAdminImports').filter(
      (s) => ![s.Action].flat().every((a) => a.startsWith('xray:') || a.startsWith('logs:')),
    );
    const actions = statements.flatMap((s) => [s.Action].flat());

    expect(actions.every((a) => a.startsWith('dynamodb:'))).toBe(true);
    expect(actions).toEqual(expect.arrayContaining(['dynamodb:PutItem', 'dynamodb:GetItem']));
    const resources = statements.flatMap((s) => [s.Resource].flat());
    for (const resource of resources) expect(JSON.stringify(resource)).toContain(table);
  });

  it('gives the import function the table, retention and merge settings the tracking API uses', () => {
    const table = logicalId('AWS::DynamoDB::Table', /^ProfileStore/);
    const fn =
      dev.findResources('AWS::Lambda::Function')[
        logicalId('AWS::Lambda::Function', /^ImportsAdminImportsFunction/)
      ];
    const collect =
      dev.findResources('AWS::Lambda::Function')[
        logicalId('AWS::Lambda::Function', /^TrackingCollectFunction/)
      ];

    expect(fn?.Properties.Environment.Variables).toMatchObject({
      PROFILE_TABLE: { Ref: table },
      EVENT_RETENTION_DAYS: collect?.Properties.Environment.Variables.EVENT_RETENTION_DAYS,
      MERGE_ON_EMAIL: collect?.Properties.Environment.Variables.MERGE_ON_EMAIL,
    });
    expect(fn?.Properties.Timeout).toBeLessThan(30);
  });
});

describe('enrichment data beside the bundles', () => {
  it.each([
    ['collect', /^TrackingCollectFunction/],
    ['admin imports', /^ImportsAdminImportsFunction/],
  ])(
    'ships the enrichment data files in data/ beside the %s bundle, outside its JavaScript',
    (_name, pattern) => {
      const folder = codeFolder(pattern);

      for (const file of Object.values(DATA_FILES))
        expect(existsSync(join(folder, 'data', file)), file).toBe(true);
      expect(statSync(join(folder, 'index.mjs')).size).toBeLessThan(500 * 1024);
    },
  );
});
