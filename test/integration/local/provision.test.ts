import { DescribeTableCommand, DescribeTimeToLiveCommand } from '@aws-sdk/client-dynamodb';
import { GetQueueAttributesCommand } from '@aws-sdk/client-sqs';
import { describe, expect, it } from 'vitest';
import { provisionQueues, provisionTables } from '../../../lib/local/provision.ts';
import { TemplateModel } from '../../../lib/local/template.ts';
import { dynamodb, sqs, uniqueName } from '../clients.ts';

function tableTemplate(tableName: string, indexes: string[]) {
  return {
    Resources: {
      Table: {
        Type: 'AWS::DynamoDB::Table',
        Properties: {
          TableName: tableName,
          BillingMode: 'PAY_PER_REQUEST',
          KeySchema: [
            { AttributeName: 'pk', KeyType: 'HASH' },
            { AttributeName: 'sk', KeyType: 'RANGE' },
          ],
          AttributeDefinitions: [
            { AttributeName: 'pk', AttributeType: 'S' },
            { AttributeName: 'sk', AttributeType: 'S' },
            ...indexes.flatMap((i) => [
              { AttributeName: `${i}pk`, AttributeType: 'S' },
              { AttributeName: `${i}sk`, AttributeType: 'S' },
            ]),
          ],
          GlobalSecondaryIndexes: indexes.map((i) => ({
            IndexName: i,
            KeySchema: [
              { AttributeName: `${i}pk`, KeyType: 'HASH' },
              { AttributeName: `${i}sk`, KeyType: 'RANGE' },
            ],
            Projection: { ProjectionType: 'ALL' },
          })),
          TimeToLiveSpecification: { AttributeName: 'expiresAt', Enabled: true },
        },
      },
    },
  };
}

const env = { stackName: 'Test', region: 'us-east-1', accountId: '000000000000' };

describe('provisioning the template into the emulators', () => {
  it('creates a table with its keys, indexes and TTL attribute', async () => {
    const tableName = uniqueName('profiles');

    await provisionTables(new TemplateModel(tableTemplate(tableName, ['gsi1']), env), dynamodb);
    const { Table } = await dynamodb.send(new DescribeTableCommand({ TableName: tableName }));
    const ttl = await dynamodb.send(new DescribeTimeToLiveCommand({ TableName: tableName }));

    expect(Table?.KeySchema).toEqual([
      { AttributeName: 'pk', KeyType: 'HASH' },
      { AttributeName: 'sk', KeyType: 'RANGE' },
    ]);
    expect(Table?.GlobalSecondaryIndexes?.map((i) => i.IndexName)).toEqual(['gsi1']);
    expect(ttl.TimeToLiveDescription).toMatchObject({
      AttributeName: 'expiresAt',
      TimeToLiveStatus: 'ENABLED',
    });
  });

  it('keeps an existing table and adds the indexes a newer template declares', async () => {
    const tableName = uniqueName('profiles');
    await provisionTables(new TemplateModel(tableTemplate(tableName, ['gsi1']), env), dynamodb);

    const again = await provisionTables(
      new TemplateModel(tableTemplate(tableName, ['gsi1', 'gsi2']), env),
      dynamodb,
    );
    const { Table } = await dynamodb.send(new DescribeTableCommand({ TableName: tableName }));

    expect(again[0]?.created).toBe(false);
    expect(Table?.GlobalSecondaryIndexes?.map((i) => i.IndexName).sort()).toEqual(['gsi1', 'gsi2']);
  });

  it('creates queues with their attributes and a redrive policy pointing at the dead-letter queue', async () => {
    const name = uniqueName('sends');
    const model = new TemplateModel(
      {
        Resources: {
          Dlq: { Type: 'AWS::SQS::Queue', Properties: { QueueName: `${name}-dlq` } },
          Queue: {
            Type: 'AWS::SQS::Queue',
            Properties: {
              QueueName: name,
              VisibilityTimeout: 45,
              RedrivePolicy: { deadLetterTargetArn: { 'Fn::GetAtt': ['Dlq', 'Arn'] }, maxReceiveCount: 4 },
            },
          },
        },
      },
      env,
    );

    const queues = await provisionQueues(model, sqs);
    const queue = queues.find((q) => q.logicalId === 'Queue');
    const { Attributes } = await sqs.send(
      new GetQueueAttributesCommand({ QueueUrl: queue?.queueUrl, AttributeNames: ['All'] }),
    );

    expect(model.ref('Queue')).toBe(queue?.queueUrl);
    expect(Attributes?.VisibilityTimeout).toBe('45');
    expect(JSON.parse(Attributes?.RedrivePolicy ?? '{}')).toMatchObject({
      deadLetterTargetArn: `arn:aws:sqs:us-east-1:000000000000:${name}-dlq`,
    });
    expect(Number(JSON.parse(Attributes?.RedrivePolicy ?? '{}').maxReceiveCount)).toBe(4);
  });
});
