// Monitoring wiring: every function, dead-letter queue and table has an alarm, SES reputation alarms, the dashboard.
import { Match } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { synthTemplate } from './support/template.ts';

const template = synthTemplate({ stage: 'prod', alarmEmail: 'ops@example.com' });
const dev = synthTemplate({ stage: 'dev' });

type Resource = { Properties: Record<string, unknown> };
const alarms = Object.values(template.findResources('AWS::CloudWatch::Alarm')) as Resource[];

/** Alarms on a metric of `metricName` whose dimension `name` references the resource `logicalId`. */
function alarmsOn(metricName: string, dimension: string, logicalId: string): Resource[] {
  return alarms.filter(
    ({ Properties: p }) =>
      p.MetricName === metricName &&
      JSON.stringify(p.Dimensions ?? []).includes(`"Name":"${dimension}"`) &&
      JSON.stringify(p.Dimensions ?? []).includes(`"${logicalId}"`),
  );
}

function topicId(): string {
  const [id] = Object.keys(template.findResources('AWS::SNS::Topic'));
  if (id === undefined) throw new Error('no alarm topic');
  return id;
}

describe('monitoring', () => {
  it('gives every function an errors alarm and a throttles alarm', () => {
    const functions = Object.keys(template.findResources('AWS::Lambda::Function')).filter(
      // Functions CDK adds for itself (log retention, custom resources) are not ours to watch.
      (id) => !/^(LogRetention|AWS|CustomResource)/.test(id),
    );
    expect(functions.length).toBeGreaterThan(10);

    for (const fn of functions) {
      expect(alarmsOn('Errors', 'FunctionName', fn), `${fn} errors`).toHaveLength(1);
      expect(alarmsOn('Throttles', 'FunctionName', fn), `${fn} throttles`).toHaveLength(1);
    }
  });

  it('gives every dead-letter queue exactly one depth alarm', () => {
    const queues = template.findResources('AWS::SQS::Queue');
    const deadLetterIds = Object.values(queues).flatMap((queue) => {
      const target = JSON.stringify(queue.Properties?.RedrivePolicy?.deadLetterTargetArn ?? null);
      const match = /"Fn::GetAtt":\["([^"]+)","Arn"\]/.exec(target);
      return match?.[1] ? [match[1]] : [];
    });
    expect(deadLetterIds.length).toBeGreaterThanOrEqual(5);

    for (const id of deadLetterIds) {
      expect(alarmsOn('ApproximateNumberOfMessagesVisible', 'QueueName', id), id).toHaveLength(1);
    }
  });

  it('sends every alarm to the alarm topic, which the configured address subscribes to', () => {
    const topic = topicId();

    for (const { Properties: p } of alarms) {
      expect(p.AlarmActions, String(p.AlarmDescription)).toEqual([{ Ref: topic }]);
    }
    template.hasResourceProperties('AWS::SNS::Subscription', {
      Protocol: 'email',
      Endpoint: 'ops@example.com',
      TopicArn: { Ref: topic },
    });
  });

  it('has no email subscription when no alarm address is configured', () => {
    dev.resourceCountIs('AWS::SNS::Subscription', 0);
    dev.resourceCountIs('AWS::SNS::Topic', 1);
  });

  it('accepts only TLS publications on the alarm topic', () => {
    template.hasResourceProperties('AWS::SNS::TopicPolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
        ]),
      },
    });
  });

  it.each([
    ['Reputation.BounceRate', 0.05],
    ['Reputation.ComplaintRate', 0.001],
  ])('alarms when the SES account %s exceeds %d', (metricName, threshold) => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'AWS/SES',
      MetricName: metricName,
      Threshold: threshold,
      ComparisonOperator: 'GreaterThanThreshold',
    });
  });

  it('alarms on the share of API requests answered 5xx', () => {
    const rate = alarms.filter(({ Properties: p }) =>
      JSON.stringify(p.Metrics ?? []).includes('"MetricName":"5xx"'),
    );

    expect(rate).toHaveLength(1);
    expect(JSON.stringify(rate[0]?.Properties.Metrics)).toContain('100 * errors / requests');
  });

  it('alarms on throttled reads and writes of every table', () => {
    const tables = Object.keys(template.findResources('AWS::DynamoDB::Table'));

    for (const table of tables) {
      const throttles = alarms.filter(({ Properties: p }) => {
        const metrics = JSON.stringify(p.Metrics ?? []);
        return (
          metrics.includes('ReadThrottleEvents') &&
          metrics.includes('WriteThrottleEvents') &&
          metrics.includes(`"${table}"`)
        );
      });
      expect(throttles, table).toHaveLength(1);
    }
  });

  it('counts stored events from the domain-event publisher log', () => {
    template.hasResourceProperties('AWS::Logs::MetricFilter', {
      FilterPattern: '{ $.message = "published domain events" }',
      MetricTransformations: [Match.objectLike({ MetricName: 'TrackedEvents', MetricValue: '$.tracked' })],
    });
  });

  it('builds one dashboard with API, events, functions, queues, DynamoDB and SES widgets', () => {
    const dashboards = Object.values(template.findResources('AWS::CloudWatch::Dashboard'));
    expect(dashboards).toHaveLength(1);

    const body = JSON.stringify(dashboards[0]?.Properties?.DashboardBody);
    for (const title of [
      'Alarms',
      'API requests and 5xx',
      'API latency',
      'Tracked events stored',
      'Function errors',
      'Function throttles',
      'Function duration',
      'Dead-letter queues',
      'Work queue depth',
      'DynamoDB consumed capacity and throttles',
      'SES sends, deliveries, bounces, complaints',
      'SES reputation',
    ]) {
      expect(body, title).toContain(title);
    }
  });

  it('passes the anonymous profile retention to the collect function', () => {
    const custom = synthTemplate({ stage: 'dev', anonymousProfileRetentionDays: 7 });

    custom.hasResourceProperties('AWS::Lambda::Function', {
      Description: Match.stringLikeRegexp('^Tracking API'),
      Environment: { Variables: Match.objectLike({ ANONYMOUS_PROFILE_RETENTION_DAYS: '7' }) },
    });
  });
});
