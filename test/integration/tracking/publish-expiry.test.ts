// The stream publisher's clean-up after DynamoDB's TTL removed an anonymous profile, against DynamoDB Local behind
// the fault proxy: a failed delete is retried from its record, never skipped.

import { createServer, type Server } from 'node:http';
import { GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import type { DynamoDBStreamEvent } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import * as z from 'zod';
import { DynamoDbFaultProxy } from '../../../lib/local/dynamodb-fault-proxy.ts';
import { LOCAL_CREDENTIALS, LOCAL_REGION } from '../../../lib/local/emulators.ts';
import { createProfileStoreTable, dynamodb, endpoints, uniqueName } from '../clients.ts';

const table = uniqueName('PublishExpiry');
const putEventsRequest = z.object({ Entries: z.array(z.unknown()) });
const proxy = new DynamoDbFaultProxy({ upstreamUrl: endpoints.dynamodb });
/** PutEvents requests the publisher made, answered as accepted. */
const published: unknown[] = [];
const eventBridge: Server = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (chunk: Buffer) => chunks.push(chunk));
  req.on('end', () => {
    const body = putEventsRequest.parse(JSON.parse(Buffer.concat(chunks).toString('utf8')));
    published.push(...body.Entries);
    res.writeHead(200, { 'content-type': 'application/x-amz-json-1.1' });
    res.end(
      JSON.stringify({ FailedEntryCount: 0, Entries: body.Entries.map((_, i) => ({ EventId: `e${i}` })) }),
    );
  });
});

let handler: (
  event: DynamoDBStreamEvent,
) => Promise<{ batchItemFailures: Array<{ itemIdentifier: string }> }>;

beforeAll(async () => {
  await createProfileStoreTable(table);
  const proxyUrl = await proxy.start();
  await new Promise<void>((resolve) => eventBridge.listen(0, '127.0.0.1', resolve));
  const address = eventBridge.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  vi.stubEnv('AWS_ENDPOINT_URL_DYNAMODB', proxyUrl);
  vi.stubEnv('AWS_ENDPOINT_URL_EVENTBRIDGE', `http://127.0.0.1:${address.port}`);
  vi.stubEnv('AWS_REGION', LOCAL_REGION);
  vi.stubEnv('AWS_ACCESS_KEY_ID', LOCAL_CREDENTIALS.accessKeyId);
  vi.stubEnv('AWS_SECRET_ACCESS_KEY', LOCAL_CREDENTIALS.secretAccessKey);
  vi.stubEnv('AWS_MAX_ATTEMPTS', '2');
  vi.stubEnv('EVENT_BUS_NAME', 'nurture-test');
  vi.stubEnv('PROFILE_TABLE', table);
  ({ handler } = await import('../../../functions/publish-domain-events/handler.ts'));
});

afterAll(async () => {
  vi.unstubAllEnvs();
  await proxy.stop();
  await new Promise<void>((resolve) => eventBridge.close(() => resolve()));
});

/** The stream record DynamoDB writes when its TTL removed an anonymous profile's core item. */
function expiredProfile(profile: string, sequenceNumber: string): DynamoDBStreamEvent['Records'][number] {
  return {
    eventName: 'REMOVE',
    userIdentity: { type: 'Service', principalId: 'dynamodb.amazonaws.com' },
    dynamodb: {
      SequenceNumber: sequenceNumber,
      Keys: { pk: { S: `PROFILE#${profile}` }, sk: { S: 'PROFILE' } },
    },
  };
}

async function putTraits(profile: string): Promise<void> {
  await dynamodb.send(
    new PutItemCommand({
      TableName: table,
      Item: { pk: { S: `PROFILE#${profile}` }, sk: { S: 'TRAITS' }, d: { S: 'traits' } },
    }),
  );
}

async function traitsExist(profile: string): Promise<boolean> {
  const { Item } = await dynamodb.send(
    new GetItemCommand({ TableName: table, Key: { pk: { S: `PROFILE#${profile}` }, sk: { S: 'TRAITS' } } }),
  );
  return Item !== undefined;
}

describe('clean-up after an anonymous profile expired', () => {
  it('deletes the expired profile’s traits', async () => {
    await putTraits('a_expired-1');

    const result = await handler({ Records: [expiredProfile('a_expired-1', '100')] });

    expect(result.batchItemFailures).toEqual([]);
    expect(await traitsExist('a_expired-1')).toBe(false);
  });

  it('retries from the record whose delete was throttled instead of leaving the traits behind', async () => {
    await putTraits('a_expired-2');
    await putTraits('a_expired-3');
    proxy.faults.set([{ operation: 'DeleteItem', count: 2 }]);

    const first = await handler({
      Records: [expiredProfile('a_expired-2', '200'), expiredProfile('a_expired-3', '201')],
    });
    const retry = await handler({
      Records: [expiredProfile('a_expired-2', '200'), expiredProfile('a_expired-3', '201')],
    });

    expect(first.batchItemFailures).toEqual([{ itemIdentifier: '200' }]);
    expect(retry.batchItemFailures).toEqual([]);
    expect(await traitsExist('a_expired-2')).toBe(false);
    expect(await traitsExist('a_expired-3')).toBe(false);
  });
});
