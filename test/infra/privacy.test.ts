// The privacy wiring users depend on: export, erasure and audit routes behind the admin authorizer, table-only grants.
import { describe, expect, it } from 'vitest';
import { synthTemplate, templateHelpers } from './support/template.ts';

const dev = synthTemplate({ stage: 'dev' });
const { logicalId, roleStatements, resourcesFor, adminRoutesServedBy } = templateHelpers(dev);

describe('the privacy admin API', () => {
  it('serves export, erasure and audit from the privacy function, each behind the admin authorizer', () => {
    expect(adminRoutesServedBy({ routes: /\/admin\/privacy\//, handler: /^PrivacyAdminFunction/ })).toEqual([
      'GET /admin/privacy/audit',
      'GET /admin/privacy/export',
      'POST /admin/privacy/erasure',
    ]);
  });

  it('may read and delete in the profile table and touch nothing else', () => {
    const table = logicalId('AWS::DynamoDB::Table', /^ProfileStoreTable/);
    const statements = roleStatements('PrivacyAdmin');
    const actions = statements.flatMap((s) => [s.Action].flat());

    for (const action of ['dynamodb:Query', 'dynamodb:BatchWriteItem', 'dynamodb:DeleteItem'])
      expect(resourcesFor(statements, action), action).toContainEqual({ 'Fn::GetAtt': [table, 'Arn'] });
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
