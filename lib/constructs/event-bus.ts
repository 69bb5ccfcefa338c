// The "nurture" custom event bus that carries domain events, with an archive for replay and an optional bus log.
import { Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { type Archive, EventBus, Match, Rule } from 'aws-cdk-lib/aws-events';
import { PolicyDocument, PolicyStatement, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { CfnResourcePolicy, LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { EVENT_SOURCE_PREFIX } from '../../functions/shared/events.ts';

export interface NurtureEventBusProps {
  /** Name of the bus; other accounts and tools address it by this name. */
  readonly eventBusName: string;
  /** How long archived events stay replayable. */
  readonly archiveRetentionDays: number;
  /**
   * Copy every domain event to a CloudWatch log group, to see what flows while developing.
   * Domain events can carry personal data, so production leaves this off.
   */
  readonly eventLog: boolean;
  readonly retainData: boolean;
}

export class NurtureEventBus extends Construct {
  public readonly bus: EventBus;
  public readonly archive: Archive;
  public readonly eventLog?: LogGroup;

  constructor(scope: Construct, id: string, props: NurtureEventBusProps) {
    super(scope, id);
    if (!/^[A-Za-z0-9._-]{1,256}$/.test(props.eventBusName)) {
      throw new Error(`NurtureEventBus: invalid bus name "${props.eventBusName}"`);
    }
    this.bus = new EventBus(this, 'Bus', { eventBusName: props.eventBusName });
    this.archive = this.bus.archive('Archive', {
      description: 'Every Nurture domain event, for replay after an incident or a fix.',
      eventPattern: { source: Match.prefix(EVENT_SOURCE_PREFIX) },
      retention: Duration.days(props.archiveRetentionDays),
    });

    if (props.eventLog) {
      this.eventLog = new LogGroup(this, 'EventLog', {
        retention: RetentionDays.ONE_WEEK,
        removalPolicy: props.retainData ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY,
      });
      const logGroup = this.eventLog;
      // A native resource policy instead of the events-targets helper, which deploys a custom-resource Lambda.
      new CfnResourcePolicy(this, 'EventLogPolicy', {
        policyName: `${Stack.of(this).stackName}-${props.eventBusName}-event-log`,
        policyDocument: Stack.of(this).toJsonString(
          new PolicyDocument({
            statements: [
              new PolicyStatement({
                actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
                principals: [new ServicePrincipal('events.amazonaws.com')],
                resources: [logGroup.logGroupArn],
              }),
            ],
          }).toJSON(),
        ),
      });
      new Rule(this, 'EventLogRule', {
        eventBus: this.bus,
        description: 'Copies every Nurture domain event to the bus log group.',
        eventPattern: { source: Match.prefix(EVENT_SOURCE_PREFIX) },
        targets: [{ bind: () => ({ arn: logGroup.logGroupArn }) }],
      });
    }
  }
}
