// Publishes tracking, messaging, journey and segment domain events from the profile store's stream (the outbox): none is lost.
import {
  type AttributeValue,
  ConditionalCheckFailedException,
  DeleteItemCommand,
  DynamoDBClient,
  QueryCommand,
} from '@aws-sdk/client-dynamodb';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import type { DynamoDBBatchResponse, DynamoDBStreamEvent } from 'aws-lambda';
import * as z from 'zod';
import { enrollmentFromImage, journeyEventsFor } from '../journeys/domain-events.ts';
import { messageFromImage, messagingEventsFor } from '../messaging/domain-events.ts';
import { segmentEventsFor } from '../segments/domain-events.ts';
import { readEnvironment } from '../shared/environment.ts';
import { logger } from '../shared/logger.ts';
import { publishEvents } from '../shared/publish.ts';
import {
  cleanUpAfterExpiry,
  decodeData,
  domainEventsFor,
  type ExpiryCleanUp,
  eventTracked,
  type TrackingDomainEvent,
} from '../tracking/domain-events.ts';

const env = readEnvironment({ EVENT_BUS_NAME: z.string().min(1), PROFILE_TABLE: z.string().min(1) });
const eventBridge = new EventBridgeClient({});
const dynamodb = new DynamoDBClient({});

const eventName = z.enum(['INSERT', 'MODIFY', 'REMOVE']);

export async function handler(event: DynamoDBStreamEvent): Promise<DynamoDBBatchResponse> {
  const outgoing: Array<{
    sequenceNumber: string;
    domainEvent: TrackingDomainEvent | { source: string; detailType: string; detail: unknown };
  }> = [];
  /** The record whose clean-up after expiry failed: it and every later record are retried. */
  let cleanUpFailedAt: string | undefined;
  for (const record of event.Records) {
    const sequenceNumber = record.dynamodb?.SequenceNumber ?? '';
    const pk = record.dynamodb?.Keys?.pk?.S;
    const sk = record.dynamodb?.Keys?.sk?.S;
    if (!pk || !sk) continue;
    let expired: ExpiryCleanUp | undefined;
    try {
      if (sk === 'MESSAGE' && pk.startsWith('MESSAGE#')) {
        const events = messagingEventsFor(
          messageFromImage(record.dynamodb?.OldImage?.m?.S),
          messageFromImage(record.dynamodb?.NewImage?.m?.S),
        );
        for (const domainEvent of events) outgoing.push({ sequenceNumber, domainEvent });
        continue;
      }
      if (sk.startsWith('MEMBER#') && pk.startsWith('SEGMENT#')) {
        // Segment memberships (functions/segments/domain-events.ts): item created → entered, removed → exited.
        const seconds = record.dynamodb?.ApproximateCreationDateTime;
        const events = segmentEventsFor({
          eventName: eventName.parse(record.eventName),
          keys: { pk, sk },
          oldImage: record.dynamodb?.OldImage,
          newImage: record.dynamodb?.NewImage,
          changedAt: new Date(seconds === undefined ? Date.now() : seconds * 1000).toISOString(),
        });
        for (const domainEvent of events) outgoing.push({ sequenceNumber, domainEvent });
        continue;
      }
      if (sk.startsWith('ENROLLMENT#') && pk.startsWith('PROFILE#')) {
        const events = journeyEventsFor(
          enrollmentFromImage(record.dynamodb?.OldImage?.e?.S),
          enrollmentFromImage(record.dynamodb?.NewImage?.e?.S),
        );
        for (const domainEvent of events) outgoing.push({ sequenceNumber, domainEvent });
        continue;
      }
      const change = {
        eventName: eventName.parse(record.eventName),
        keys: { pk, sk },
        newData: decodeData(record.dynamodb?.NewImage?.d?.B),
        oldData: decodeData(record.dynamodb?.OldImage?.d?.B),
      };
      for (const domainEvent of domainEventsFor(change)) outgoing.push({ sequenceNumber, domainEvent });
      expired = cleanUpAfterExpiry({ ...change, removedBy: record.userIdentity?.principalId });
    } catch (error) {
      // A record we cannot read will never become readable: retrying it would block the shard. Skip it, loudly.
      logger.error('stream record is not a readable tracking or message item', {
        sequenceNumber,
        error: error instanceof Error ? error.message : String(error),
      });
    }
    try {
      if (expired !== undefined) await cleanUp(expired);
    } catch (error) {
      // Unlike an unreadable record, a throttled or failed delete succeeds later: retry from this record, so an
      // expired profile's traits are never left behind. Its events go out with the retry.
      logger.warn('clean-up after a profile expired failed, retrying from this record', {
        sequenceNumber,
        error: error instanceof Error ? error.message : String(error),
      });
      while (outgoing.at(-1)?.sequenceNumber === sequenceNumber) outgoing.pop();
      cleanUpFailedAt = sequenceNumber;
      break;
    }
  }
  const failed = await publishEvents(
    eventBridge,
    env.EVENT_BUS_NAME,
    outgoing.map(({ domainEvent }) => ({
      source: 'source' in domainEvent ? domainEvent.source : eventTracked.source,
      detailType: domainEvent.detailType,
      detail: domainEvent.detail,
    })),
  );
  if (failed.length > 0) {
    // Lambda retries from the first failed record; events after it may be published twice and consumers
    // dedupe on detail.dedupeKey.
    const first = outgoing[failed[0] ?? 0]?.sequenceNumber;
    logger.warn('domain events not published, batch will be retried', { failed: failed.length });
    return { batchItemFailures: first ? [{ itemIdentifier: first }] : [] };
  }
  // `tracked` feeds the TrackedEvents metric filter (lib/constructs/monitoring.ts): keep the field name.
  logger.info('published domain events', {
    records: event.Records.length,
    events: outgoing.length,
    tracked: outgoing.filter(({ domainEvent }) => domainEvent.detailType === 'event.tracked').length,
  });
  return { batchItemFailures: cleanUpFailedAt === undefined ? [] : [{ itemIdentifier: cleanUpFailedAt }] };
}

/** Removes what an expired anonymous profile leaves behind. Idempotent: deleting what is gone succeeds. */
async function cleanUp(expired: ExpiryCleanUp): Promise<void> {
  // DeleteItem one by one, not BatchWriteItem: its IAM action would also allow writes. There are few per visitor.
  const key = (item: { pk: string; sk: string }) => ({ pk: { S: item.pk }, sk: { S: item.sk } });
  const remove = (Key: Record<string, AttributeValue>) =>
    dynamodb.send(new DeleteItemCommand({ TableName: env.PROFILE_TABLE, Key }));
  for (const item of expired.items) await remove(key(item));
  for (const pointer of expired.pointers) {
    try {
      await dynamodb.send(
        new DeleteItemCommand({
          TableName: env.PROFILE_TABLE,
          Key: key(pointer),
          // The visitor came back meanwhile and the pointer names a new profile: it is not ours to delete.
          ConditionExpression: 'attribute_not_exists(pk) OR profileId = :profile',
          ExpressionAttributeValues: { ':profile': { S: pointer.profileId } },
        }),
      );
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
    }
  }
  for (const partition of expired.eventPartitions) {
    let startKey: Record<string, AttributeValue> | undefined;
    do {
      const page = await dynamodb.send(
        new QueryCommand({
          TableName: env.PROFILE_TABLE,
          KeyConditionExpression: 'pk = :pk',
          ExpressionAttributeValues: { ':pk': { S: partition } },
          ProjectionExpression: 'pk, sk',
          ExclusiveStartKey: startKey,
        }),
      );
      for (const item of page.Items ?? []) await remove(item);
      startKey = page.LastEvaluatedKey;
    } while (startKey !== undefined);
  }
}
