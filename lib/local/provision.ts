// Creates what the template declares in the emulators: tables (indexes, TTL) and queues (attributes, redrive).
import {
  CreateTableCommand,
  type CreateTableCommandInput,
  DescribeTableCommand,
  DescribeTimeToLiveCommand,
  type DynamoDBClient,
  ResourceNotFoundException,
  UpdateTableCommand,
  UpdateTimeToLiveCommand,
} from '@aws-sdk/client-dynamodb';
import { CreateQueueCommand, SetQueueAttributesCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { z } from 'zod';
import type { TemplateModel } from './template.ts';

const keySchema = z.array(z.object({ AttributeName: z.string(), KeyType: z.enum(['HASH', 'RANGE']) }));
const projection = z
  .object({
    ProjectionType: z.enum(['ALL', 'KEYS_ONLY', 'INCLUDE']).optional(),
    NonKeyAttributes: z.array(z.string()).optional(),
  })
  .optional();
const tableProps = z.object({
  KeySchema: keySchema,
  AttributeDefinitions: z.array(
    z.object({ AttributeName: z.string(), AttributeType: z.enum(['S', 'N', 'B']) }),
  ),
  GlobalSecondaryIndexes: z
    .array(z.object({ IndexName: z.string(), KeySchema: keySchema, Projection: projection }))
    .optional(),
  LocalSecondaryIndexes: z
    .array(z.object({ IndexName: z.string(), KeySchema: keySchema, Projection: projection }))
    .optional(),
  TimeToLiveSpecification: z
    .object({ AttributeName: z.string().optional(), Enabled: z.boolean() })
    .optional(),
  StreamSpecification: z.object({ StreamViewType: z.string() }).optional(),
});

export interface ProvisionedTable {
  readonly logicalId: string;
  readonly tableName: string;
  readonly created: boolean;
}

/** Creates missing tables and adds indexes a newer template declares, so persisted local data survives upgrades. */
export async function provisionTables(
  model: TemplateModel,
  dynamodb: DynamoDBClient,
): Promise<ProvisionedTable[]> {
  const provisioned: ProvisionedTable[] = [];
  for (const resource of model.ofType('AWS::DynamoDB::Table')) {
    const props = tableProps.parse(model.resolve(resource.Properties ?? {}));
    const tableName = model.ref(resource.logicalId);
    const gsis = (props.GlobalSecondaryIndexes ?? []).map((index) => ({
      IndexName: index.IndexName,
      KeySchema: index.KeySchema,
      Projection: index.Projection ?? { ProjectionType: 'ALL' as const },
    }));
    let existing: Awaited<ReturnType<typeof describe>> | undefined;
    try {
      existing = await describe(dynamodb, tableName);
    } catch (error) {
      if (!(error instanceof ResourceNotFoundException)) throw error;
    }
    if (existing === undefined) {
      const input: CreateTableCommandInput = {
        TableName: tableName,
        KeySchema: props.KeySchema,
        AttributeDefinitions: props.AttributeDefinitions,
        BillingMode: 'PAY_PER_REQUEST',
        ...(gsis.length > 0 ? { GlobalSecondaryIndexes: gsis } : {}),
        ...(props.LocalSecondaryIndexes
          ? {
              LocalSecondaryIndexes: props.LocalSecondaryIndexes.map((index) => ({
                IndexName: index.IndexName,
                KeySchema: index.KeySchema,
                Projection: index.Projection ?? { ProjectionType: 'ALL' as const },
              })),
            }
          : {}),
        ...(props.StreamSpecification
          ? {
              StreamSpecification: {
                StreamEnabled: true,
                StreamViewType: parseStreamViewType(props.StreamSpecification.StreamViewType),
              },
            }
          : {}),
      };
      await dynamodb.send(new CreateTableCommand(input));
    } else {
      if (props.StreamSpecification && !existing.StreamSpecification?.StreamEnabled) {
        await dynamodb.send(
          new UpdateTableCommand({
            TableName: tableName,
            StreamSpecification: {
              StreamEnabled: true,
              StreamViewType: parseStreamViewType(props.StreamSpecification.StreamViewType),
            },
          }),
        );
      }
      const present = new Set((existing.GlobalSecondaryIndexes ?? []).map((i) => i.IndexName));
      for (const index of gsis.filter((i) => !present.has(i.IndexName))) {
        await dynamodb.send(
          new UpdateTableCommand({
            TableName: tableName,
            AttributeDefinitions: props.AttributeDefinitions,
            GlobalSecondaryIndexUpdates: [{ Create: index }],
          }),
        );
      }
    }
    const ttl = props.TimeToLiveSpecification;
    if (ttl?.Enabled && ttl.AttributeName) {
      const current = await dynamodb.send(new DescribeTimeToLiveCommand({ TableName: tableName }));
      if (current.TimeToLiveDescription?.TimeToLiveStatus !== 'ENABLED') {
        await dynamodb.send(
          new UpdateTimeToLiveCommand({
            TableName: tableName,
            TimeToLiveSpecification: { AttributeName: ttl.AttributeName, Enabled: true },
          }),
        );
      }
    }
    provisioned.push({ logicalId: resource.logicalId, tableName, created: existing === undefined });
  }
  return provisioned;
}

async function describe(dynamodb: DynamoDBClient, tableName: string) {
  const { Table } = await dynamodb.send(new DescribeTableCommand({ TableName: tableName }));
  if (!Table) throw new Error(`DescribeTable ${tableName} returned no table`);
  return Table;
}

function parseStreamViewType(value: string) {
  return z.enum(['NEW_IMAGE', 'OLD_IMAGE', 'NEW_AND_OLD_IMAGES', 'KEYS_ONLY']).parse(value);
}

const queueProps = z.object({
  QueueName: z.string().optional(),
  FifoQueue: z.union([z.boolean(), z.string()]).optional(),
  ContentBasedDeduplication: z.union([z.boolean(), z.string()]).optional(),
  DelaySeconds: z.union([z.number(), z.string()]).optional(),
  MaximumMessageSize: z.union([z.number(), z.string()]).optional(),
  MessageRetentionPeriod: z.union([z.number(), z.string()]).optional(),
  ReceiveMessageWaitTimeSeconds: z.union([z.number(), z.string()]).optional(),
  VisibilityTimeout: z.union([z.number(), z.string()]).optional(),
  RedrivePolicy: z
    .object({ deadLetterTargetArn: z.string(), maxReceiveCount: z.union([z.number(), z.string()]) })
    .optional(),
});

export interface ProvisionedQueue {
  readonly logicalId: string;
  readonly queueName: string;
  readonly queueUrl: string;
  readonly queueArn: string;
  readonly visibilityTimeoutSeconds: number;
}

/** Creates every queue, records its URL in the model (Ref of a queue is its URL), then wires redrive policies. */
export async function provisionQueues(model: TemplateModel, sqs: SQSClient): Promise<ProvisionedQueue[]> {
  const queues: ProvisionedQueue[] = [];
  const redrives: Array<{ queueUrl: string; policy: string }> = [];
  for (const resource of model.ofType('AWS::SQS::Queue')) {
    const props = queueProps.parse(model.resolve(resource.Properties ?? {}));
    const queueName = model.attribute(resource.logicalId, 'QueueName');
    const attributes: Record<string, string> = {};
    const copy = [
      'DelaySeconds',
      'MaximumMessageSize',
      'MessageRetentionPeriod',
      'ReceiveMessageWaitTimeSeconds',
      'VisibilityTimeout',
    ] as const;
    for (const key of copy) if (props[key] !== undefined) attributes[key] = String(props[key]);
    if (props.FifoQueue !== undefined) attributes.FifoQueue = String(props.FifoQueue);
    if (props.ContentBasedDeduplication !== undefined) {
      attributes.ContentBasedDeduplication = String(props.ContentBasedDeduplication);
    }
    const { QueueUrl } = await sqs.send(
      new CreateQueueCommand({ QueueName: queueName, Attributes: attributes }),
    );
    if (!QueueUrl) throw new Error(`CreateQueue ${queueName} returned no URL`);
    model.setPhysical(resource.logicalId, { ref: QueueUrl });
    if (props.RedrivePolicy) {
      redrives.push({
        queueUrl: QueueUrl,
        policy: JSON.stringify({
          deadLetterTargetArn: props.RedrivePolicy.deadLetterTargetArn,
          maxReceiveCount: String(props.RedrivePolicy.maxReceiveCount),
        }),
      });
    }
    queues.push({
      logicalId: resource.logicalId,
      queueName,
      queueUrl: QueueUrl,
      queueArn: model.attribute(resource.logicalId, 'Arn'),
      visibilityTimeoutSeconds: Number(props.VisibilityTimeout ?? 30),
    });
  }
  for (const { queueUrl, policy } of redrives) {
    await sqs.send(
      new SetQueueAttributesCommand({ QueueUrl: queueUrl, Attributes: { RedrivePolicy: policy } }),
    );
  }
  return queues;
}
