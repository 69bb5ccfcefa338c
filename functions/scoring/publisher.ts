// The scoring publisher both scoring functions use: domain events on the bus, plus the sales webhook for new MQLs.
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import type { SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDbWebhookStore } from '../messaging/webhooks/dynamodb-store.ts';
import { WebhookQueue } from '../messaging/webhooks/queue.ts';
import { SqsDeliveryJobSender } from '../messaging/webhooks/sqs-adapters.ts';
import { BusScoringPublisher, SalesHandOffPublisher } from './aws-adapters.ts';
import type { ScoringPublisher } from './service.ts';

export function scoringPublisher(input: {
  dynamodb: DynamoDBClient;
  eventBridge: EventBridgeClient;
  sqs: SQSClient;
  tableName: string;
  busName: string;
  webhookQueueUrl: string;
  salesEndpointId: string;
  log: (message: string, fields: Record<string, unknown>) => void;
}): ScoringPublisher {
  return new SalesHandOffPublisher(
    new BusScoringPublisher(input.eventBridge, input.busName),
    new WebhookQueue(
      new DynamoDbWebhookStore(input.dynamodb, input.tableName),
      new SqsDeliveryJobSender(input.sqs, input.webhookQueueUrl),
    ),
    { endpointId: input.salesEndpointId, log: input.log },
  );
}
