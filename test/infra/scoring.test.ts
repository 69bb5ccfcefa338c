import { describe, expect, it } from 'vitest';
import { synthTemplate, templateHelpers } from './support/template.ts';

const dev = synthTemplate({ stage: 'dev' });
const { logicalId, roleStatements, resourcesFor, functionProperties, adminRoutesServedBy } =
  templateHelpers(dev);

/** Every resource a role may apply `action` to, as written in the template. */
describe('scoring inputs', () => {
  it('routes tracked events, identifications, opens, clicks and unsubscribes from the nurture bus to the scoring queue', () => {
    const bus = logicalId('AWS::Events::EventBus', /^EventBus/);
    const queue = logicalId('AWS::SQS::Queue', /^ScoringQueue/);
    const rule = dev.findResources('AWS::Events::Rule')[logicalId('AWS::Events::Rule', /^ScoringInputs/)];
    const pattern = rule?.Properties.EventPattern;

    expect(rule?.Properties.EventBusName).toEqual({ Ref: bus });
    expect(rule?.Properties.Targets).toEqual([
      expect.objectContaining({ Arn: { 'Fn::GetAtt': [queue, 'Arn'] } }),
    ]);
    expect(Object.keys(pattern).sort()).toEqual(['detail-type', 'source']);
    expect([...pattern.source].sort()).toEqual(['nurture.messaging', 'nurture.tracking']);
    expect([...pattern['detail-type']].sort()).toEqual([
      'contact.unsubscribed',
      'event.tracked',
      'message.clicked',
      'message.opened',
      'profile.identified',
    ]);
  });

  it('brings the pages of a rules recompute, and nothing else, from the nurture bus to the scoring queue', () => {
    const bus = logicalId('AWS::Events::EventBus', /^EventBus/);
    const queue = logicalId('AWS::SQS::Queue', /^ScoringQueue/);
    const rule =
      dev.findResources('AWS::Events::Rule')[logicalId('AWS::Events::Rule', /^ScoringRecomputeRequests/)];

    expect(rule?.Properties.EventBusName).toEqual({ Ref: bus });
    expect(rule?.Properties.Targets).toEqual([
      expect.objectContaining({ Arn: { 'Fn::GetAtt': [queue, 'Arn'] } }),
    ]);
    expect(rule?.Properties.EventPattern).toEqual({
      source: ['nurture.scoring'],
      'detail-type': ['scoring.recompute_requested'],
    });
  });

  it('never feeds scoring its own lead events back', () => {
    const rule = dev.findResources('AWS::Events::Rule')[logicalId('AWS::Events::Rule', /^ScoringInputs/)];

    expect(rule?.Properties.EventPattern.source).not.toContain('nurture.scoring');
  });
});

describe('scoring queue', () => {
  it('parks an input in the dead-letter queue after 10 receives', () => {
    const dlq = logicalId('AWS::SQS::Queue', /^ScoringDeadLetters/);
    const queue = logicalId('AWS::SQS::Queue', /^ScoringQueue/);

    expect(dev.findResources('AWS::SQS::Queue')[queue]?.Properties.RedrivePolicy).toEqual({
      deadLetterTargetArn: { 'Fn::GetAtt': [dlq, 'Arn'] },
      maxReceiveCount: 10,
    });
  });

  it('keeps parked inputs 14 days and encrypts both queues', () => {
    const dlq = logicalId('AWS::SQS::Queue', /^ScoringDeadLetters/);
    const queue = logicalId('AWS::SQS::Queue', /^ScoringQueue/);
    const queues = dev.findResources('AWS::SQS::Queue');

    expect(queues[dlq]?.Properties).toMatchObject({
      MessageRetentionPeriod: 14 * 86_400,
      SqsManagedSseEnabled: true,
    });
    expect(queues[queue]?.Properties).toMatchObject({ SqsManagedSseEnabled: true });
  });

  it('alarms as soon as one scoring input is parked', () => {
    const dlq = logicalId('AWS::SQS::Queue', /^ScoringDeadLetters/);

    dev.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'ApproximateNumberOfMessagesVisible',
      Namespace: 'AWS/SQS',
      Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [dlq, 'QueueName'] } }],
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
    });
  });
});

describe('score function', () => {
  it('consumes the scoring queue in batches of 10 and reports partial batch failures', () => {
    const queue = logicalId('AWS::SQS::Queue', /^ScoringQueue/);
    const scorer = logicalId('AWS::Lambda::Function', /^ScoringScoreFunction/);

    dev.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      EventSourceArn: { 'Fn::GetAtt': [queue, 'Arn'] },
      FunctionName: { Ref: scorer },
      BatchSize: 10,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
    });
  });

  it('hides a received batch for at least six times the score function timeout', () => {
    const queue = logicalId('AWS::SQS::Queue', /^ScoringQueue/);
    const timeout = Number(functionProperties(/^ScoringScoreFunction/)?.Timeout);
    const visibility = Number(dev.findResources('AWS::SQS::Queue')[queue]?.Properties.VisibilityTimeout);

    expect(timeout).toBeGreaterThan(0);
    expect(visibility).toBeGreaterThanOrEqual(6 * timeout);
  });

  it('lets the score function write the profile table, put lead events on the nurture bus, and queue the sales webhook only', () => {
    const statements = roleStatements('ScoringScore');
    const table = logicalId('AWS::DynamoDB::Table', /^ProfileStoreTable/);
    const bus = logicalId('AWS::Events::EventBus', /^EventBus/);

    expect(resourcesFor(statements, 'dynamodb:UpdateItem')).toContainEqual({ 'Fn::GetAtt': [table, 'Arn'] });
    for (const resource of resourcesFor(statements, 'dynamodb:GetItem'))
      expect(JSON.stringify(resource)).toContain(`"${table}"`);
    expect(resourcesFor(statements, 'events:PutEvents')).toEqual([{ 'Fn::GetAtt': [bus, 'Arn'] }]);
    const webhookQueue = logicalId('AWS::SQS::Queue', /^WebhooksDeliveries/);
    expect(resourcesFor(statements, 'sqs:SendMessage')).toEqual([{ 'Fn::GetAtt': [webhookQueue, 'Arn'] }]);
  });

  it('lets the score function scan the profile table for a recompute, and nothing else', () => {
    const statements = roleStatements('ScoringScore');
    const table = logicalId('AWS::DynamoDB::Table', /^ProfileStoreTable/);

    const scanned = resourcesFor(statements, 'dynamodb:Scan');
    expect(scanned).toContainEqual({ 'Fn::GetAtt': [table, 'Arn'] });
    for (const resource of scanned) expect(JSON.stringify(resource)).toContain(`"${table}"`);
  });

  it('gives the score function the table and the bus name in its environment', () => {
    expect(functionProperties(/^ScoringScoreFunction/)?.Environment.Variables).toMatchObject({
      PROFILE_TABLE: { Ref: logicalId('AWS::DynamoDB::Table', /^ProfileStoreTable/) },
      EVENT_BUS_NAME: { Ref: logicalId('AWS::Events::EventBus', /^EventBus/) },
    });
  });
});

describe('scoring admin routes', () => {
  it('lets the scoring admin function write the profile table and put lead events on the nurture bus only', () => {
    const statements = roleStatements('ScoringAdmin');
    const table = logicalId('AWS::DynamoDB::Table', /^ProfileStoreTable/);
    const bus = logicalId('AWS::Events::EventBus', /^EventBus/);

    expect(resourcesFor(statements, 'dynamodb:UpdateItem')).toContainEqual({ 'Fn::GetAtt': [table, 'Arn'] });
    expect(resourcesFor(statements, 'events:PutEvents')).toEqual([{ 'Fn::GetAtt': [bus, 'Arn'] }]);
    expect(functionProperties(/^ScoringAdminFunction/)?.Environment.Variables).toMatchObject({
      PROFILE_TABLE: { Ref: table },
      EVENT_BUS_NAME: { Ref: bus },
    });
  });

  it('serves every scoring and sales admin route from the scoring admin function behind the admin authorizer', () => {
    expect(
      adminRoutesServedBy({
        routes: /^\w+ \/admin\/(scoring\/|leads\/|profiles\/\{id\}\/(lead|stage)$)/,
        handler: /^ScoringAdminFunction/,
      }),
    ).toEqual([
      'GET /admin/profiles/{id}/lead',
      'GET /admin/scoring/recompute',
      'GET /admin/scoring/rules',
      'POST /admin/leads/{id}/accept',
      'POST /admin/leads/{id}/convert',
      'POST /admin/leads/{id}/reject',
      'POST /admin/profiles/{id}/stage',
      'PUT /admin/scoring/rules',
    ]);
  });
});

describe('cdk-nag', () => {
  it('synthesizes prod with scoring and no unacknowledged AwsSolutions finding', () => {
    expect(() => synthTemplate({ stage: 'prod' })).not.toThrow();
  });
});
