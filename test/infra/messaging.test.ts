// The messaging wiring users depend on: send queue → DLQ with alarm, a rate-capped sender, SES feedback, guarded routes.
import { Match, Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { buildNurtureApp } from '../../lib/app.ts';

function synth(context: Record<string, unknown>) {
  // No bundling: these assertions read the template; the e2e suite's synthesis bundles every function.
  const { app, stack } = buildNurtureApp({ context: { ...context, 'aws:cdk:bundling-stacks': [] } });
  app.synth();
  return Template.fromStack(stack);
}

const dev = synth({ stage: 'dev', region: 'eu-west-1' });

function idOf(type: string, pattern: RegExp): string {
  const ids = Object.keys(dev.findResources(type)).filter((id) => pattern.test(id));
  expect(ids, `${type} matching ${pattern}`).toHaveLength(1);
  return ids[0] ?? '';
}

describe('messaging', () => {
  it('parks emails that keep failing in a dead-letter queue with an alarm', () => {
    const dlq = idOf('AWS::SQS::Queue', /MessagingSendDeadLetters/);
    dev.hasResourceProperties('AWS::SQS::Queue', {
      RedrivePolicy: { deadLetterTargetArn: { 'Fn::GetAtt': [dlq, 'Arn'] }, maxReceiveCount: 20 },
    });
    dev.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [dlq, 'QueueName'] } }],
      Threshold: 1,
    });
  });

  it('consumes the send queue in batches with partial failures and a concurrency cap', () => {
    const sender = idOf('AWS::Lambda::Function', /MessagingSendEmailFunction/);
    dev.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      FunctionName: { Ref: sender },
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      ScalingConfig: { MaximumConcurrency: 2 },
      BatchSize: 10,
    });
  });

  it('lets the sender send only as the configured sender, through its configuration set', () => {
    dev.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Action: 'ses:SendEmail',
            Condition: { StringEquals: { 'ses:FromAddress': 'nurture@example.com' } },
          }),
        ]),
      },
    });
  });

  it('publishes SES sending events to the default bus and routes them to the feedback function', () => {
    dev.hasResourceProperties('AWS::SES::ConfigurationSetEventDestination', {
      EventDestination: Match.objectLike({
        Enabled: true,
        MatchingEventTypes: Match.arrayWith(['send', 'delivery', 'bounce', 'complaint']),
        EventBridgeDestination: { EventBusArn: Match.anyValue() },
      }),
    });
    const feedback = idOf('AWS::Lambda::Function', /MessagingSesFeedbackFunction/);
    dev.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: Match.objectLike({ source: ['aws.ses'] }),
      Targets: [
        Match.objectLike({
          Arn: { 'Fn::GetAtt': [feedback, 'Arn'] },
          DeadLetterConfig: Match.objectLike({ Arn: Match.anyValue() }),
        }),
      ],
    });
  });

  it('guards every admin messaging route with the admin authorizer and leaves only signed email links public', () => {
    const routes = Object.values(dev.findResources('AWS::ApiGatewayV2::Route')).map((r) => r.Properties);
    const messaging = routes.filter((r) =>
      /^(GET|POST|PUT|DELETE) \/(admin\/(messages|templates|suppressions)|admin\/profiles\/\{id\}\/messages|e\/[ocu]\/)/.test(
        r.RouteKey,
      ),
    );
    expect(messaging).toHaveLength(16);
    for (const route of messaging) {
      if (route.RouteKey.includes(' /e/'))
        expect(route.AuthorizationType ?? 'NONE', route.RouteKey).toBe('NONE');
      else expect(route.AuthorizationType, route.RouteKey).toBe('CUSTOM');
    }
  });
});
