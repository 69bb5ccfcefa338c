// The OpenAPI document is current, valid JSON Schema, and lists exactly the routes the stack deploys.
import { readFileSync } from 'node:fs';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { openApiDocument } from '../../functions/shared/api-contract.ts';
import { NURTURE_VERSION } from '../../functions/shared/build-info.ts';
import { buildNurtureApp } from '../../lib/app.ts';

const committed: unknown = JSON.parse(
  readFileSync(new URL('../../docs/openapi.json', import.meta.url), 'utf8'),
);
const generated = openApiDocument(NURTURE_VERSION);

function documentedRoutes(): string[] {
  const { paths } = z
    .object({ paths: z.record(z.string(), z.record(z.string(), z.unknown())) })
    .parse(generated);
  return Object.entries(paths).flatMap(([path, methods]) =>
    Object.keys(methods).map((method) => `${method.toUpperCase()} ${path}`),
  );
}

describe('the OpenAPI document', () => {
  it('is up to date with the contract schemas (run `npm run openapi` after changing them)', () => {
    expect(committed).toEqual(JSON.parse(JSON.stringify(generated)));
  });

  it('documents exactly the routes the stack deploys', () => {
    // No bundling: only the routes matter here.
    const { app, stack } = buildNurtureApp({ context: { stage: 'dev', 'aws:cdk:bundling-stacks': [] } });
    app.synth();
    const routes = Object.values(Template.fromStack(stack).findResources('AWS::ApiGatewayV2::Route')).map(
      (r) => r.Properties.RouteKey,
    );

    expect([...routes].sort()).toEqual(documentedRoutes().sort());
  });

  it('has component schemas that compile as JSON Schema 2020-12', () => {
    const ajv = new Ajv2020({ strict: false });
    const schemas = z
      .object({ components: z.object({ schemas: z.record(z.string(), z.record(z.string(), z.unknown())) }) })
      .parse(generated).components.schemas;

    for (const [name, schema] of Object.entries(schemas)) {
      expect(() => ajv.compile(schema), name).not.toThrow();
    }
  });
});
