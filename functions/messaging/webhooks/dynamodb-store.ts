// DynamoDB adapter of the webhook store, in the profile table: endpoints and their deliveries share a partition.
import {
  type AttributeValue,
  ConditionalCheckFailedException,
  DeleteItemCommand,
  type DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  QueryCommand,
} from '@aws-sdk/client-dynamodb';
import {
  DELIVERY_RETENTION_DAYS,
  deliverySchema,
  endpointSchema,
  type WebhookDelivery,
  type WebhookEndpoint,
} from './model.ts';
import { type Versioned, type WebhookStore, WebhookVersionConflictError } from './store.ts';

type Item = Record<string, AttributeValue>;

const keys = {
  endpoint: (id: string) => ({ pk: { S: `WEBHOOK#${id}` }, sk: { S: 'WEBHOOK' } }),
  delivery: (endpointId: string, deliveryId: string) => ({
    pk: { S: `WEBHOOK#${endpointId}` },
    sk: { S: `DELIVERY#${deliveryId}` },
  }),
};
const ENDPOINTS_INDEX_KEY = 'WEBHOOKS';
const deliveriesIndexKey = (endpointId: string) => `WEBHOOK#${endpointId}#DELIVERIES`;

function versionOf(item: Item): number {
  const version = Number(item.version?.N ?? '0');
  if (!Number.isInteger(version)) throw new Error('stored webhook item has an unreadable version');
  return version;
}

function dataOf(item: Item): unknown {
  if (item.data?.S === undefined) throw new Error('stored webhook item has no data attribute');
  return JSON.parse(item.data.S);
}

/** A put that succeeds only on an absent item (version 0) or on the version read before. */
function versionCondition(expectedVersion: number) {
  return expectedVersion === 0
    ? { ConditionExpression: 'attribute_not_exists(pk)' }
    : {
        ConditionExpression: 'version = :expected',
        ExpressionAttributeValues: { ':expected': { N: String(expectedVersion) } },
      };
}

export class DynamoDbWebhookStore implements WebhookStore {
  constructor(
    private readonly client: DynamoDBClient,
    private readonly tableName: string,
  ) {}

  async getEndpoint(id: string): Promise<Versioned<WebhookEndpoint> | undefined> {
    const { Item } = await this.client.send(
      new GetItemCommand({ TableName: this.tableName, Key: keys.endpoint(id), ConsistentRead: true }),
    );
    if (!Item) return undefined;
    return { value: endpointSchema.parse(dataOf(Item)), version: versionOf(Item) };
  }

  async listEndpoints(): Promise<WebhookEndpoint[]> {
    const endpoints: WebhookEndpoint[] = [];
    let start: Item | undefined;
    do {
      const page = await this.client.send(
        new QueryCommand({
          TableName: this.tableName,
          IndexName: 'gsi1',
          KeyConditionExpression: 'gsi1pk = :endpoints',
          ExpressionAttributeValues: { ':endpoints': { S: ENDPOINTS_INDEX_KEY } },
          ExclusiveStartKey: start,
        }),
      );
      for (const item of page.Items ?? []) endpoints.push(endpointSchema.parse(dataOf(item)));
      start = page.LastEvaluatedKey;
    } while (start);
    return endpoints;
  }

  async saveEndpoint(endpoint: WebhookEndpoint, expectedVersion: number): Promise<void> {
    await this.conditionalPut(
      {
        ...keys.endpoint(endpoint.id),
        gsi1pk: { S: ENDPOINTS_INDEX_KEY },
        gsi1sk: { S: `${endpoint.createdAt}#${endpoint.id}` },
        version: { N: String(expectedVersion + 1) },
        data: { S: JSON.stringify(endpoint) },
      },
      expectedVersion,
    );
  }

  async deleteEndpoint(id: string): Promise<boolean> {
    const { Attributes } = await this.client.send(
      new DeleteItemCommand({ TableName: this.tableName, Key: keys.endpoint(id), ReturnValues: 'ALL_OLD' }),
    );
    return Attributes !== undefined;
  }

  async createDelivery(delivery: WebhookDelivery): Promise<{ created: boolean; delivery: WebhookDelivery }> {
    try {
      await this.client.send(
        new PutItemCommand({
          TableName: this.tableName,
          Item: this.deliveryItem(delivery, 1),
          ConditionExpression: 'attribute_not_exists(pk)',
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      );
      return { created: true, delivery };
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException && error.Item)
        return { created: false, delivery: deliverySchema.parse(dataOf(error.Item)) };
      if (error instanceof ConditionalCheckFailedException) {
        const existing = await this.getDelivery(delivery.endpointId, delivery.deliveryId);
        if (existing) return { created: false, delivery: existing.value };
      }
      throw error;
    }
  }

  async getDelivery(endpointId: string, deliveryId: string): Promise<Versioned<WebhookDelivery> | undefined> {
    const { Item } = await this.client.send(
      new GetItemCommand({
        TableName: this.tableName,
        Key: keys.delivery(endpointId, deliveryId),
        ConsistentRead: true,
      }),
    );
    if (!Item) return undefined;
    return { value: deliverySchema.parse(dataOf(Item)), version: versionOf(Item) };
  }

  async listDeliveries(endpointId: string, limit: number): Promise<WebhookDelivery[]> {
    const { Items } = await this.client.send(
      new QueryCommand({
        TableName: this.tableName,
        IndexName: 'gsi1',
        KeyConditionExpression: 'gsi1pk = :deliveries',
        ExpressionAttributeValues: { ':deliveries': { S: deliveriesIndexKey(endpointId) } },
        ScanIndexForward: false,
        Limit: limit,
      }),
    );
    return (Items ?? []).map((item) => deliverySchema.parse(dataOf(item)));
  }

  async saveDelivery(delivery: WebhookDelivery, expectedVersion: number): Promise<void> {
    await this.conditionalPut(this.deliveryItem(delivery, expectedVersion + 1), expectedVersion);
  }

  private deliveryItem(delivery: WebhookDelivery, version: number): Item {
    const expiresAt =
      Math.floor(new Date(delivery.createdAt).getTime() / 1000) + DELIVERY_RETENTION_DAYS * 86_400;
    return {
      ...keys.delivery(delivery.endpointId, delivery.deliveryId),
      gsi1pk: { S: deliveriesIndexKey(delivery.endpointId) },
      gsi1sk: { S: `${delivery.createdAt}#${delivery.deliveryId}` },
      expiresAt: { N: String(expiresAt) },
      version: { N: String(version) },
      data: { S: JSON.stringify(delivery) },
    };
  }

  private async conditionalPut(item: Item, expectedVersion: number): Promise<void> {
    try {
      await this.client.send(
        new PutItemCommand({ TableName: this.tableName, Item: item, ...versionCondition(expectedVersion) }),
      );
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException)
        throw new WebhookVersionConflictError('the item changed since it was read');
      throw error;
    }
  }
}
