import { describe, expect, it } from 'vitest';
import { KPI_DETAIL_TYPES } from '../../functions/kpis/inputs.ts';
import { synthTemplate, templateHelpers } from './support/template.ts';

const dev = synthTemplate({ stage: 'dev' });
const { logicalId, roleStatements, resourcesFor, functionProperties, adminRoutesServedBy } =
  templateHelpers(dev);

const table = () => logicalId('AWS::DynamoDB::Table', /^ProfileStoreTable/);
const bus = () => logicalId('AWS::Events::EventBus', /^EventBus/);
const queue = () => logicalId('AWS::SQS::Queue', /^KpisQueue/);

describe('KPI inputs', () => {
  it('brings exactly the events KPIs count from the nurture bus to the KPI queue', () => {
    const rule = dev.findResources('AWS::Events::Rule')[logicalId('AWS::Events::Rule', /^KpisInputs/)];
    const pattern = rule?.Properties.EventPattern;

    expect(rule?.Properties.EventBusName).toEqual({ Ref: bus() });
    expect(rule?.Properties.Targets).toEqual([
      expect.objectContaining({ Arn: { 'Fn::GetAtt': [queue(), 'Arn'] } }),
    ]);
    expect([...pattern['detail-type']].sort()).toEqual([...KPI_DETAIL_TYPES].sort());
    expect([...pattern.source].sort()).toEqual([
      'nurture.journeys',
      'nurture.messaging',
      'nurture.scoring',
      'nurture.tracking',
    ]);
  });

  it('counts human opens and soft bounces, which messaging now publishes', () => {
    expect(KPI_DETAIL_TYPES).toEqual(
      expect.arrayContaining(['message.human_opened', 'message.soft_bounced']),
    );
  });
});

describe('KPI queue', () => {
  it('parks an event in an encrypted dead-letter queue after 10 receives and alarms on the first', () => {
    const dlq = logicalId('AWS::SQS::Queue', /^KpisDeadLetters/);
    const queues = dev.findResources('AWS::SQS::Queue');

    expect(queues[queue()]?.Properties.RedrivePolicy).toEqual({
      deadLetterTargetArn: { 'Fn::GetAtt': [dlq, 'Arn'] },
      maxReceiveCount: 10,
    });
    expect(queues[dlq]?.Properties).toMatchObject({ SqsManagedSseEnabled: true });
    dev.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'ApproximateNumberOfMessagesVisible',
      Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [dlq, 'QueueName'] } }],
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
    });
  });

  it('is consumed by the counter function in batches with partial failures, hidden six times its timeout', () => {
    const counter = logicalId('AWS::Lambda::Function', /^KpisCountFunction/);
    const timeout = Number(functionProperties(/^KpisCountFunction/)?.Timeout);
    const visibility = Number(dev.findResources('AWS::SQS::Queue')[queue()]?.Properties.VisibilityTimeout);

    dev.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      EventSourceArn: { 'Fn::GetAtt': [queue(), 'Arn'] },
      FunctionName: { Ref: counter },
      FunctionResponseTypes: ['ReportBatchItemFailures'],
    });
    expect(visibility).toBeGreaterThanOrEqual(6 * timeout);
  });
});

describe('KPI functions', () => {
  it('lets the counter function write the profile table and nothing else: no bus, no queue to send to', () => {
    const statements = roleStatements('KpisCount');

    expect(resourcesFor(statements, 'dynamodb:UpdateItem')).toContainEqual({
      'Fn::GetAtt': [table(), 'Arn'],
    });
    expect(resourcesFor(statements, 'events:PutEvents')).toEqual([]);
    expect(resourcesFor(statements, 'sqs:SendMessage')).toEqual([]);
  });

  it('rolls the KPI days up every hour, in the workspace time zone and currency', () => {
    const rollup = logicalId('AWS::Lambda::Function', /^KpisRollupFunction/);
    const rule = dev.findResources('AWS::Events::Rule')[logicalId('AWS::Events::Rule', /^KpisHourlyRollup/)];
    const statements = roleStatements('KpisRollup');

    expect(rule?.Properties.ScheduleExpression).toBe('rate(1 hour)');
    expect(rule?.Properties.Targets).toEqual([
      expect.objectContaining({ Arn: { 'Fn::GetAtt': [rollup, 'Arn'] } }),
    ]);
    expect(resourcesFor(statements, 'dynamodb:PutItem')).toContainEqual({ 'Fn::GetAtt': [table(), 'Arn'] });
    expect(resourcesFor(statements, 'events:PutEvents')).toEqual([]);
    expect(functionProperties(/^KpisRollupFunction/)?.Environment.Variables).toMatchObject({
      KPI_TIME_ZONE: 'UTC',
      KPI_CURRENCY: 'USD',
    });
  });
});

describe('KPI admin routes', () => {
  it('serves every KPI route from the KPI admin function behind the admin authorizer', () => {
    expect(adminRoutesServedBy({ routes: /^\w+ \/admin\/kpis/, handler: /^KpisAdminFunction/ })).toEqual([
      'GET /admin/kpis',
      'GET /admin/kpis/costs',
      'GET /admin/kpis/reference',
      'POST /admin/kpis/rollup',
      'PUT /admin/kpis/costs',
      'PUT /admin/kpis/reference',
    ]);
  });

  it('lets the admin function use the profile table only', () => {
    const statements = roleStatements('KpisAdmin');

    expect(resourcesFor(statements, 'dynamodb:Query')).toContainEqual({ 'Fn::GetAtt': [table(), 'Arn'] });
    expect(resourcesFor(statements, 'events:PutEvents')).toEqual([]);
    expect(resourcesFor(statements, 'sqs:SendMessage')).toEqual([]);
  });
});

describe('cdk-nag', () => {
  it('synthesizes prod with KPIs and no unacknowledged AwsSolutions finding', () => {
    expect(() => synthTemplate({ stage: 'prod' })).not.toThrow();
  });
});
