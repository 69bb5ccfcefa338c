// The stream publisher's clean-up after DynamoDB's TTL removed an anonymous profile, against DynamoDB Local behind
// the fault proxy: a failed delete is retried from its record, never skipped.

import { createServer, type Server } from 'node:http';
import { gzipSync } from 'node:zlib';
import { GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import type { DynamoDBStreamEvent } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import * as z from 'zod';
import { emptyProfile } from '../../../functions/tracking/profile.ts';
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

/** The stream record DynamoDB writes when its TTL removed an anonymous profile's core item (old image included). */
function expiredProfile(
  profile: string,
  sequenceNumber: string,
  anonymousIds: readonly string[] = [],
): DynamoDBStreamEvent['Records'][number] {
  const core = { ...emptyProfile(profile), anonymousIds: [...anonymousIds] };
  const { version: _version, ...stored } = core;
  return {
    eventName: 'REMOVE',
    userIdentity: { type: 'Service', principalId: 'dynamodb.amazonaws.com' },
    dynamodb: {
      SequenceNumber: sequenceNumber,
      Keys: { pk: { S: `PROFILE#${profile}` }, sk: { S: 'PROFILE' } },
      OldImage: { d: { B: gzipSync(JSON.stringify(stored)).toString('base64') } },
    },
  };
}

async function put(item: Record<string, string>): Promise<void> {
  await dynamodb.send(
    new PutItemCommand({
      TableName: table,
      Item: Object.fromEntries(Object.entries(item).map(([name, value]) => [name, { S: value }])),
    }),
  );
}

async function exists(pk: string, sk: string): Promise<boolean> {
  const { Item } = await dynamodb.send(
    new GetItemCommand({ TableName: table, Key: { pk: { S: pk }, sk: { S: sk } } }),
  );
  return Item !== undefined;
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
  it('removes the visitor’s identity pointers and raw events, but not a pointer a returning visitor took over', async () => {
    await put({ pk: 'IDENTITY#a:gone-1', sk: 'IDENTITY', profileId: 'a_expired-9' });
    await put({ pk: 'IDENTITY#a:back-1', sk: 'IDENTITY', profileId: 'a_returned' });
    for (const n of [1, 2, 3]) await put({ pk: 'EVENTS#a:gone-1', sk: `EVT#src#m${n}`, d: 'event' });
    await put({ pk: 'EVENTS#a:other', sk: 'EVT#src#m1', d: 'someone else' });

    const result = await handler({ Records: [expiredProfile('a_expired-9', '300', ['gone-1', 'back-1'])] });

    expect(result.batchItemFailures).toEqual([]);
    expect(await exists('IDENTITY#a:gone-1', 'IDENTITY')).toBe(false);
    expect(await exists('IDENTITY#a:back-1', 'IDENTITY')).toBe(true);
    expect(await exists('EVENTS#a:gone-1', 'EVT#src#m2')).toBe(false);
    expect(await exists('EVENTS#a:other', 'EVT#src#m1')).toBe(true);
  });

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
