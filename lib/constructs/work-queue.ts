// A consumer's work queue: encrypted, TLS-only, with a dead-letter queue and an alarm on anything parked in it.
import { Duration, Validations } from 'aws-cdk-lib';
import { Alarm, ComparisonOperator, TreatMissingData } from 'aws-cdk-lib/aws-cloudwatch';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';

export interface WorkQueueProps {
  /** Names the queue in the dead-letter queue's cdk-nag reason, e.g. "journey queue". */
  readonly name: string;
  /** The consumer function's timeout: the visibility timeout is six times it, as Lambda advises. */
  readonly consumerTimeout: Duration;
  /** Receives before a message is parked in the dead-letter queue. */
  readonly maxReceives: number;
  /** What a parked message means and where the runbook is. */
  readonly alarmDescription: string;
  /**
   * Construct ids, so existing stacks keep their resources (a new id would replace a queue with messages in it).
   * @default { queue: 'Queue', deadLetters: 'DeadLetters', alarm: 'DeadLettersAlarm' }
   */
  readonly ids?: { readonly queue: string; readonly deadLetters: string; readonly alarm: string };
}

export interface WorkQueue {
  readonly queue: Queue;
  readonly deadLetterQueue: Queue;
  readonly deadLetterAlarm: Alarm;
}

/**
 * Creates the three resources directly in `scope` (not in a child construct), so constructs that built them by hand
 * before keep the same logical ids.
 */
export function workQueue(scope: Construct, props: WorkQueueProps): WorkQueue {
  const ids = props.ids ?? { queue: 'Queue', deadLetters: 'DeadLetters', alarm: 'DeadLettersAlarm' };
  const deadLetterQueue = new Queue(scope, ids.deadLetters, {
    retentionPeriod: Duration.days(14),
    encryption: QueueEncryption.SQS_MANAGED,
    enforceSSL: true,
  });
  Validations.of(deadLetterQueue).acknowledge({
    id: 'AwsSolutions-SQS3',
    reason: `This is the dead-letter queue of the ${props.name}; it has an alarm instead of a DLQ of its own.`,
  });
  const deadLetterAlarm = new Alarm(scope, ids.alarm, {
    alarmDescription: props.alarmDescription,
    metric: deadLetterQueue.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(1) }),
    threshold: 1,
    evaluationPeriods: 1,
    comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
    treatMissingData: TreatMissingData.NOT_BREACHING,
  });
  const queue = new Queue(scope, ids.queue, {
    // Lambda's guidance: at least six times the function timeout, so a retried batch is not received twice.
    visibilityTimeout: Duration.seconds(props.consumerTimeout.toSeconds() * 6),
    retentionPeriod: Duration.days(4),
    encryption: QueueEncryption.SQS_MANAGED,
    enforceSSL: true,
    deadLetterQueue: { queue: deadLetterQueue, maxReceiveCount: props.maxReceives },
  });
  return { queue, deadLetterQueue, deadLetterAlarm };
}
