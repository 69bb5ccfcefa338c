// The journey wiring users depend on: bus rule → journey queue → runner, DLQ alarm, timer sweep, grants, guarded routes.
import { Match } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { JOURNEY_EVENTS } from '../../functions/journeys/domain-events.ts';
import { MESSAGING_EVENTS } from '../../functions/messaging/domain-events.ts';
import { SCORING_EVENTS } from '../../functions/scoring/domain-events.ts';
import { TRACKING_EVENTS } from '../../functions/tracking/domain-events.ts';
import { synthTemplate, templateHelpers } from './support/template.ts';

const dev = synthTemplate({ stage: 'dev' });
const { logicalId, roleStatements, resourcesFor, functionProperties, adminRoutesServedBy } =
  templateHelpers(dev);

interface Statement {
  readonly Effect: string;
  readonly Action: string | string[];
  readonly Resource: unknown;
  readonly Principal?: unknown;
  readonly Condition?: unknown;
}

/** Every resource a role may apply `action` to, as written in the template. */
const catalogue = [...TRACKING_EVENTS, ...MESSAGING_EVENTS, ...JOURNEY_EVENTS, ...SCORING_EVENTS];

describe('journey inputs', () => {
  it('routes exactly the catalogued domain events, by name and source, from the nurture bus to the journey queue', () => {
    const bus = logicalId('AWS::Events::EventBus', /^EventBus/);
    const queue = logicalId('AWS::SQS::Queue', /^JourneysQueue/);
    const rule = dev.findResources('AWS::Events::Rule')[logicalId('AWS::Events::Rule', /^JourneysInputs/)];
    const pattern = rule?.Properties.EventPattern;

    expect(rule?.Properties.EventBusName).toEqual({ Ref: bus });
    expect(rule?.Properties.Targets).toEqual([
      expect.objectContaining({ Arn: { 'Fn::GetAtt': [queue, 'Arn'] } }),
    ]);
    expect(Object.keys(pattern).sort()).toEqual(['detail-type', 'source']);
    expect([...pattern.source].sort()).toEqual([...new Set(catalogue.map((e) => e.source))].sort());
    expect([...pattern['detail-type']].sort()).toEqual(catalogue.map((e) => e.detailType).sort());
  });

  it('lets only EventBridge, on behalf of the inputs rule, send to the journey queue', () => {
    const queue = logicalId('AWS::SQS::Queue', /^JourneysQueue/);
    const rule = logicalId('AWS::Events::Rule', /^JourneysInputs/);
    const policies = dev.findResources('AWS::SQS::QueuePolicy', { Properties: { Queues: [{ Ref: queue }] } });
    const allows = Object.values(policies)
      .flatMap((p) => p.Properties.PolicyDocument.Statement)
      .filter((s: Statement) => s.Effect === 'Allow');

    expect(allows).toEqual([
      expect.objectContaining({
        Action: expect.arrayContaining(['sqs:SendMessage']),
        Principal: { Service: 'events.amazonaws.com' },
        Condition: { ArnEquals: { 'aws:SourceArn': { 'Fn::GetAtt': [rule, 'Arn'] } } },
      }),
    ]);
  });
});

describe('journey queue', () => {
  it('parks an input in the dead-letter queue after 10 receives', () => {
    const dlq = logicalId('AWS::SQS::Queue', /^JourneysDeadLetters/);
    const queue = logicalId('AWS::SQS::Queue', /^JourneysQueue/);

    expect(dev.findResources('AWS::SQS::Queue')[queue]?.Properties.RedrivePolicy).toEqual({
      deadLetterTargetArn: { 'Fn::GetAtt': [dlq, 'Arn'] },
      maxReceiveCount: 10,
    });
  });

  it('keeps parked inputs 14 days, encrypts both queues and refuses plain HTTP on both', () => {
    const dlq = logicalId('AWS::SQS::Queue', /^JourneysDeadLetters/);
    const queue = logicalId('AWS::SQS::Queue', /^JourneysQueue/);
    const queues = dev.findResources('AWS::SQS::Queue');

    expect(queues[dlq]?.Properties).toMatchObject({
      MessageRetentionPeriod: 14 * 86_400,
      SqsManagedSseEnabled: true,
    });
    expect(queues[queue]?.Properties).toMatchObject({ SqsManagedSseEnabled: true });
    for (const id of [dlq, queue]) {
      dev.hasResourceProperties('AWS::SQS::QueuePolicy', {
        Queues: [{ Ref: id }],
        PolicyDocument: {
          Statement: Match.arrayWith([
            Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
          ]),
        },
      });
    }
  });

  it('alarms as soon as one journey input is parked', () => {
    const dlq = logicalId('AWS::SQS::Queue', /^JourneysDeadLetters/);

    dev.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'ApproximateNumberOfMessagesVisible',
      Namespace: 'AWS/SQS',
      Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [dlq, 'QueueName'] } }],
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
    });
  });
});

describe('journey runner', () => {
  it('consumes the journey queue in batches of 10 and reports partial batch failures', () => {
    const queue = logicalId('AWS::SQS::Queue', /^JourneysQueue/);
    const runner = logicalId('AWS::Lambda::Function', /^JourneysRunnerFunction/);

    dev.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      EventSourceArn: { 'Fn::GetAtt': [queue, 'Arn'] },
      FunctionName: { Ref: runner },
      BatchSize: 10,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
    });
  });

  it('hides a received batch for at least six times the runner timeout', () => {
    const queue = logicalId('AWS::SQS::Queue', /^JourneysQueue/);
    const timeout = Number(functionProperties(/^JourneysRunnerFunction/)?.Timeout);
    const visibility = Number(dev.findResources('AWS::SQS::Queue')[queue]?.Properties.VisibilityTimeout);

    expect(timeout).toBeGreaterThan(0);
    expect(visibility).toBeGreaterThanOrEqual(6 * timeout);
  });

  it('lets the runner queue emails and webhook deliveries and put journey events on the nurture bus', () => {
    const statements = roleStatements('JourneysRunner');
    const sendQueue = logicalId('AWS::SQS::Queue', /^MessagingSendQueue/);
    const webhookQueue = logicalId('AWS::SQS::Queue', /^WebhooksDeliveries/);
    const bus = logicalId('AWS::Events::EventBus', /^EventBus/);

    expect(resourcesFor(statements, 'sqs:SendMessage')).toEqual(
      expect.arrayContaining([{ 'Fn::GetAtt': [sendQueue, 'Arn'] }, { 'Fn::GetAtt': [webhookQueue, 'Arn'] }]),
    );
    expect(resourcesFor(statements, 'sqs:SendMessage')).toHaveLength(2);
    expect(resourcesFor(statements, 'events:PutEvents')).toEqual([{ 'Fn::GetAtt': [bus, 'Arn'] }]);
  });

  it('gives the runner the table, both queue URLs and the bus name in its environment', () => {
    const variables = functionProperties(/^JourneysRunnerFunction/)?.Environment.Variables;

    expect(variables).toMatchObject({
      PROFILE_TABLE: { Ref: logicalId('AWS::DynamoDB::Table', /^ProfileStoreTable/) },
      SEND_QUEUE_URL: { Ref: logicalId('AWS::SQS::Queue', /^MessagingSendQueue/) },
      WEBHOOK_QUEUE_URL: { Ref: logicalId('AWS::SQS::Queue', /^WebhooksDeliveries/) },
      EVENT_BUS_NAME: { Ref: logicalId('AWS::Events::EventBus', /^EventBus/) },
    });
  });

  it('runs the runner on Node.js 24 on arm64', () => {
    expect(functionProperties(/^JourneysRunnerFunction/)).toMatchObject({
      Runtime: 'nodejs24.x',
      Architectures: ['arm64'],
    });
  });
});

describe('journey timer sweep', () => {
  it('runs the timer sweep every minute from a schedule on the default bus', () => {
    const sweeper = logicalId('AWS::Lambda::Function', /^JourneysTimerSweepFunction/);
    const rule = dev.findResources('AWS::Events::Rule')[logicalId('AWS::Events::Rule', /^JourneysSweep/)];

    expect(rule?.Properties).toMatchObject({ ScheduleExpression: 'rate(1 minute)', State: 'ENABLED' });
    expect(rule?.Properties.EventBusName).toBeUndefined();
    expect(rule?.Properties.Targets).toEqual([
      expect.objectContaining({ Arn: { 'Fn::GetAtt': [sweeper, 'Arn'] } }),
    ]);
  });

  it('lets the timer sweep put due steps on the nurture bus', () => {
    const bus = logicalId('AWS::Events::EventBus', /^EventBus/);

    expect(resourcesFor(roleStatements('JourneysTimerSweep'), 'events:PutEvents')).toEqual([
      { 'Fn::GetAtt': [bus, 'Arn'] },
    ]);
    expect(functionProperties(/^JourneysTimerSweepFunction/)?.Environment.Variables).toMatchObject({
      EVENT_BUS_NAME: { Ref: bus },
    });
  });
});

describe('journey admin routes', () => {
  it('serves every journey admin route from the journey admin function behind the admin authorizer', () => {
    expect(
      adminRoutesServedBy({
        routes: /^\w+ \/admin\/(journeys|profiles\/\{id\}\/journeys)/,
        handler: /^JourneysAdminFunction/,
      }),
    ).toEqual([
      'GET /admin/journeys',
      'GET /admin/journeys/{id}',
      'GET /admin/journeys/{id}/stats',
      'GET /admin/profiles/{id}/journeys',
      'POST /admin/journeys/{id}/pause',
      'POST /admin/journeys/{id}/resume',
      'POST /admin/journeys/{id}/validate',
      'PUT /admin/journeys/{id}',
    ]);
  });
});

describe('sender', () => {
  it('lets the email sender reach only the profile table and its own queue, nothing journeys added', () => {
    const statements = roleStatements('MessagingSendEmail');
    const table = logicalId('AWS::DynamoDB::Table', /^ProfileStoreTable/);
    const sendQueue = logicalId('AWS::SQS::Queue', /^MessagingSendQueue/);

    expect(JSON.stringify(statements)).not.toMatch(/Journeys/);
    for (const resource of resourcesFor(statements, 'dynamodb:GetItem'))
      expect(JSON.stringify(resource)).toContain(`"${table}"`);
    expect(resourcesFor(statements, 'sqs:ReceiveMessage')).toEqual([{ 'Fn::GetAtt': [sendQueue, 'Arn'] }]);
  });
});

describe('cdk-nag', () => {
  it('synthesizes dev and prod with no unacknowledged AwsSolutions finding', () => {
    for (const stage of ['dev', 'prod']) {
      expect(() => synthTemplate({ stage }), stage).not.toThrow();
    }
  });
});
