// The webhook wiring users depend on: queue → DLQ redrive, the DLQ alarm, the event source mapping, guarded routes.
import { Match, Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { buildNurtureApp } from '../../lib/app.ts';

function synth(context: Record<string, unknown>) {
  // No bundling: these assertions read the template; the e2e suite's synthesis bundles every function.
  const { app, stack } = buildNurtureApp({ context: { ...context, 'aws:cdk:bundling-stacks': [] } });
  // Runs the cdk-nag AwsSolutions pack: any unacknowledged finding throws.
  app.synth();
  return { template: Template.fromStack(stack), stack };
}

const dev = synth({ stage: 'dev' });
const prod = synth({ stage: 'prod' });

function logicalId(template: Template, type: string, pattern: RegExp): string {
  const ids = Object.keys(template.findResources(type)).filter((id) => pattern.test(id));
  expect(ids, `${type} matching ${pattern}`).toHaveLength(1);
  const [id] = ids;
  if (id === undefined) throw new Error('unreachable');
  return id;
}

describe('webhook delivery queue', () => {
  it('moves a delivery to the dead-letter queue after the last attempt: 8 in production, 4 in development', () => {
    for (const [{ template }, attempts] of [
      [prod, 8],
      [dev, 4],
    ] as const) {
      const dlq = logicalId(template, 'AWS::SQS::Queue', /^WebhooksDeadLetters/);
      template.hasResourceProperties('AWS::SQS::Queue', {
        RedrivePolicy: { deadLetterTargetArn: { 'Fn::GetAtt': [dlq, 'Arn'] }, maxReceiveCount: attempts },
      });
    }
  });

  it('keeps parked deliveries 14 days, encrypted, and both queues refuse plain HTTP', () => {
    const { template } = prod;
    const dlq = logicalId(template, 'AWS::SQS::Queue', /^WebhooksDeadLetters/);
    const queue = logicalId(template, 'AWS::SQS::Queue', /^WebhooksDeliveries/);
    const queues = template.findResources('AWS::SQS::Queue');

    expect(queues[dlq]?.Properties).toMatchObject({
      MessageRetentionPeriod: 14 * 86_400,
      SqsManagedSseEnabled: true,
    });
    expect(queues[queue]?.Properties).toMatchObject({ SqsManagedSseEnabled: true });
    for (const id of [dlq, queue]) {
      template.hasResourceProperties('AWS::SQS::QueuePolicy', {
        Queues: [{ Ref: id }],
        PolicyDocument: {
          Statement: Match.arrayWith([
            Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
          ]),
        },
      });
    }
  });

  it('hides a received batch for at least six times the deliver function timeout', () => {
    const { template } = prod;
    const deliver = logicalId(template, 'AWS::Lambda::Function', /^WebhooksDeliverFunction/);
    const queue = logicalId(template, 'AWS::SQS::Queue', /^WebhooksDeliveries/);
    const timeout = Number(template.findResources('AWS::Lambda::Function')[deliver]?.Properties.Timeout);
    const visibility = Number(template.findResources('AWS::SQS::Queue')[queue]?.Properties.VisibilityTimeout);

    expect(timeout).toBeGreaterThan(10);
    expect(visibility).toBeGreaterThanOrEqual(6 * timeout);
  });

  it('alarms as soon as one delivery is parked', () => {
    const { template } = prod;
    const dlq = logicalId(template, 'AWS::SQS::Queue', /^WebhooksDeadLetters/);

    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'ApproximateNumberOfMessagesVisible',
      Namespace: 'AWS/SQS',
      Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [dlq, 'QueueName'] } }],
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
    });
  });

  it('feeds the deliver function batches of 10 with partial failures and at most 5 batches at once', () => {
    const { template } = prod;
    const queue = logicalId(template, 'AWS::SQS::Queue', /^WebhooksDeliveries/);
    const deliver = logicalId(template, 'AWS::Lambda::Function', /^WebhooksDeliverFunction/);

    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      EventSourceArn: { 'Fn::GetAtt': [queue, 'Arn'] },
      FunctionName: { Ref: deliver },
      BatchSize: 10,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      ScalingConfig: { MaximumConcurrency: 5 },
    });
  });

  it('lets the deliver function change message visibility (its retry timer) on its own queue', () => {
    const { template } = prod;
    const queue = logicalId(template, 'AWS::SQS::Queue', /^WebhooksDeliveries/);
    const policies = template.findResources('AWS::IAM::Policy', {
      Properties: { PolicyName: Match.stringLikeRegexp('^WebhooksDeliverRole') },
    });
    const statements = Object.values(policies).flatMap((p) => p.Properties.PolicyDocument.Statement);

    expect(statements).toContainEqual(
      expect.objectContaining({
        Action: expect.arrayContaining(['sqs:ChangeMessageVisibility', 'sqs:DeleteMessage']),
        Resource: { 'Fn::GetAtt': [queue, 'Arn'] },
      }),
    );
  });
});

describe('webhook targets', () => {
  it('refuses private targets in production and allows them in development', () => {
    const allow = (template: Template) =>
      Object.values(template.findResources('AWS::Lambda::Function'))
        .map((fn) => fn.Properties.Environment?.Variables?.ALLOW_PRIVATE_WEBHOOK_TARGETS)
        .filter((value) => value !== undefined);

    expect(allow(prod.template)).toEqual(['false', 'false']);
    expect(allow(dev.template)).toEqual(['true', 'true']);
  });
});

describe('webhook admin routes', () => {
  it('guards every /admin/webhooks route with the admin authorizer', () => {
    const routes = Object.values(dev.template.findResources('AWS::ApiGatewayV2::Route')).filter((r) =>
      String(r.Properties.RouteKey).includes('/admin/webhooks'),
    );

    expect(routes.map((r) => r.Properties.RouteKey).sort()).toEqual([
      'DELETE /admin/webhooks/{id}',
      'GET /admin/webhooks',
      'GET /admin/webhooks/{id}',
      'GET /admin/webhooks/{id}/deliveries',
      'GET /admin/webhooks/{id}/deliveries/{deliveryId}',
      'POST /admin/webhooks/{id}/deliveries',
      'POST /admin/webhooks/{id}/rotate-secret',
      'PUT /admin/webhooks/{id}',
    ]);
    for (const route of routes) {
      expect(route.Properties).toMatchObject({
        AuthorizationType: 'CUSTOM',
        AuthorizerId: { Ref: expect.any(String) },
      });
    }
  });

  it('gives the admin function the queue URL and send rights, so test deliveries are queued', () => {
    const { template } = prod;
    const admin = logicalId(template, 'AWS::Lambda::Function', /^WebhooksAdminFunction/);
    const queue = logicalId(template, 'AWS::SQS::Queue', /^WebhooksDeliveries/);

    expect(
      template.findResources('AWS::Lambda::Function')[admin]?.Properties.Environment.Variables,
    ).toMatchObject({
      WEBHOOK_QUEUE_URL: { Ref: queue },
      PROFILE_TABLE: { Ref: expect.any(String) },
    });
  });
});
