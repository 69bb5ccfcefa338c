import { describe, expect, it } from 'vitest';
import { synthTemplate, templateHelpers } from './support/template.ts';

const dev = synthTemplate({ stage: 'dev' });
const { logicalId, roleStatements, resourcesFor, functionProperties, adminRoutesServedBy } =
  templateHelpers(dev);

const table = () => logicalId('AWS::DynamoDB::Table', /^ProfileStoreTable/);
const bus = () => logicalId('AWS::Events::EventBus', /^EventBus/);
const queue = () => logicalId('AWS::SQS::Queue', /^SegmentsQueue/);

describe('segment inputs', () => {
  it('brings every change that can move a membership, and backfill pages, from the nurture bus to the segments queue', () => {
    const rule = dev.findResources('AWS::Events::Rule')[logicalId('AWS::Events::Rule', /^SegmentsInputs/)];
    const pattern = rule?.Properties.EventPattern;

    expect(rule?.Properties.EventBusName).toEqual({ Ref: bus() });
    expect(rule?.Properties.Targets).toEqual([
      expect.objectContaining({ Arn: { 'Fn::GetAtt': [queue(), 'Arn'] } }),
    ]);
    expect([...pattern['detail-type']].sort()).toEqual([
      'contact.unsubscribed',
      'event.tracked',
      'lead.score_changed',
      'lead.stage_changed',
      'message.bounced',
      'message.complained',
      'profile.consent_changed',
      'profile.identified',
      'profile.merged',
      'segment.backfill_requested',
      'segment.entered',
      'segment.exited',
    ]);
  });

  it('publishes segment.entered and segment.exited from membership items created or removed in the table stream', () => {
    const publisher = logicalId('AWS::Lambda::Function', /^TrackingPublishDomainEvents/);
    const mapping = Object.values(dev.findResources('AWS::Lambda::EventSourceMapping')).find(
      (m) => JSON.stringify(m.Properties.FunctionName) === JSON.stringify({ Ref: publisher }),
    );
    const patterns = (mapping?.Properties.FilterCriteria.Filters ?? []).map((f: { Pattern: string }) =>
      JSON.parse(f.Pattern),
    );

    expect(patterns).toContainEqual({
      eventName: ['INSERT', 'REMOVE'],
      dynamodb: { Keys: { sk: { S: [{ prefix: 'MEMBER#' }] } } },
    });
  });
});

describe('segments queue', () => {
  it('parks an input in an encrypted dead-letter queue after 10 receives and alarms on the first', () => {
    const dlq = logicalId('AWS::SQS::Queue', /^SegmentsDeadLetters/);
    const queues = dev.findResources('AWS::SQS::Queue');

    expect(queues[queue()]?.Properties.RedrivePolicy).toEqual({
      deadLetterTargetArn: { 'Fn::GetAtt': [dlq, 'Arn'] },
      maxReceiveCount: 10,
    });
    expect(queues[dlq]?.Properties).toMatchObject({
      MessageRetentionPeriod: 14 * 86_400,
      SqsManagedSseEnabled: true,
    });
    dev.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'ApproximateNumberOfMessagesVisible',
      Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [dlq, 'QueueName'] } }],
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
    });
  });

  it('is consumed by the segment function in batches with partial failures, hidden six times its timeout', () => {
    const evaluator = logicalId('AWS::Lambda::Function', /^SegmentsEvaluateFunction/);
    const timeout = Number(functionProperties(/^SegmentsEvaluateFunction/)?.Timeout);
    const visibility = Number(dev.findResources('AWS::SQS::Queue')[queue()]?.Properties.VisibilityTimeout);

    dev.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      EventSourceArn: { 'Fn::GetAtt': [queue(), 'Arn'] },
      FunctionName: { Ref: evaluator },
      BatchSize: 10,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
    });
    expect(visibility).toBeGreaterThanOrEqual(6 * timeout);
  });
});

describe('segment functions', () => {
  it('lets the segment function use the profile table and the nurture bus, and send to no queue', () => {
    const statements = roleStatements('SegmentsEvaluate');

    expect(resourcesFor(statements, 'dynamodb:UpdateItem')).toContainEqual({
      'Fn::GetAtt': [table(), 'Arn'],
    });
    expect(resourcesFor(statements, 'events:PutEvents')).toEqual([{ 'Fn::GetAtt': [bus(), 'Arn'] }]);
    expect(resourcesFor(statements, 'sqs:SendMessage')).toEqual([]);
  });

  it('sweeps due rechecks every minute onto the segments queue, and may send to that queue only', () => {
    const sweeper = logicalId('AWS::Lambda::Function', /^SegmentsRecheckSweepFunction/);
    const rule = dev.findResources('AWS::Events::Rule')[logicalId('AWS::Events::Rule', /^SegmentsSweep/)];
    const statements = roleStatements('SegmentsRecheckSweep');

    expect(rule?.Properties.ScheduleExpression).toBe('rate(1 minute)');
    expect(rule?.Properties.Targets).toEqual([
      expect.objectContaining({ Arn: { 'Fn::GetAtt': [sweeper, 'Arn'] } }),
    ]);
    expect(resourcesFor(statements, 'sqs:SendMessage')).toEqual([{ 'Fn::GetAtt': [queue(), 'Arn'] }]);
    expect(resourcesFor(statements, 'events:PutEvents')).toEqual([]);
    expect(functionProperties(/^SegmentsRecheckSweepFunction/)?.Environment.Variables).toMatchObject({
      SEGMENT_QUEUE_URL: { Ref: queue() },
    });
  });

  it('evaluates email consent with the same policy the sender applies', () => {
    const evaluator = functionProperties(/^SegmentsEvaluateFunction/)?.Environment.Variables;
    const sender = functionProperties(/^MessagingSend/)?.Environment.Variables;

    expect(evaluator.CONSENT_CATEGORIES).toBe(sender.CONSENT_CATEGORIES);
    expect(evaluator.REQUIRE_OPT_IN).toBe(sender.REQUIRE_OPT_IN);
  });
});

describe('segments admin routes', () => {
  it('serves every segment route from the segments admin function behind the admin authorizer', () => {
    expect(
      adminRoutesServedBy({
        routes: /^\w+ \/admin\/(segments|profiles\/\{id\}\/segments)/,
        handler: /^SegmentsAdminFunction/,
      }),
    ).toEqual([
      'GET /admin/profiles/{id}/segments',
      'GET /admin/segments',
      'GET /admin/segments/{id}',
      'GET /admin/segments/{id}/members',
      'PUT /admin/segments/{id}',
    ]);
  });

  it('lets the admin function use the profile table and request backfills on the nurture bus only', () => {
    const statements = roleStatements('SegmentsAdmin');

    expect(resourcesFor(statements, 'dynamodb:PutItem')).toContainEqual({ 'Fn::GetAtt': [table(), 'Arn'] });
    expect(resourcesFor(statements, 'events:PutEvents')).toEqual([{ 'Fn::GetAtt': [bus(), 'Arn'] }]);
    expect(resourcesFor(statements, 'sqs:SendMessage')).toEqual([]);
  });
});

describe('cdk-nag', () => {
  it('synthesizes prod with segments and no unacknowledged AwsSolutions finding', () => {
    expect(() => synthTemplate({ stage: 'prod' })).not.toThrow();
  });
});
