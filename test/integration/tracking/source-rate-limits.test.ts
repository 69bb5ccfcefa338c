// Source rate limits in DynamoDB Local: set on creation, changed later, and sources stored before limits existed.
import { PutItemCommand } from '@aws-sdk/client-dynamodb';
import { beforeAll, describe, expect, it } from 'vitest';
import { SourceStore } from '../../../functions/tracking/source-store.ts';
import { hashWriteKey, newWriteKey } from '../../../functions/tracking/sources.ts';
import { createProfileStoreTable, dynamodb, uniqueName } from '../clients.ts';

const tableName = uniqueName('source-limits');
const sources = new SourceStore(dynamodb, tableName, () => new Date('2026-11-22T12:00:00Z'));

beforeAll(async () => {
  await createProfileStoreTable(tableName);
});

/** A source as the store wrote it before rate limits existed: no `rateLimit` in its record. */
async function storeLegacySource(id: string, writeKey: string): Promise<void> {
  const hash = hashWriteKey(writeKey);
  const record = {
    id,
    name: 'Legacy website',
    status: 'active',
    createdAt: '2025-01-01T00:00:00.000Z',
    keyPrefix: 'wk_leg…',
    keyHashes: [hash],
    rotatedAt: null,
  };
  await dynamodb.send(
    new PutItemCommand({
      TableName: tableName,
      Item: {
        pk: { S: `SOURCE#${id}` },
        sk: { S: 'SOURCE' },
        gsi1pk: { S: 'SOURCES' },
        gsi1sk: { S: `${record.createdAt}#${id}` },
        data: { S: JSON.stringify(record) },
      },
    }),
  );
  await dynamodb.send(
    new PutItemCommand({
      TableName: tableName,
      Item: { pk: { S: `WRITEKEY#${hash}` }, sk: { S: 'WRITEKEY' }, sourceId: { S: id } },
    }),
  );
}

describe('source rate limits', () => {
  it('keeps the rate limit a source was created with', async () => {
    const limit = { eventsPerSecond: 50, burst: 200 };

    const created = await sources.create({ name: 'Shop', writeKey: newWriteKey(), rateLimit: limit });

    expect((await sources.get(created.id)).rateLimit).toEqual(limit);
  });

  it('changes a limit later and goes back to the default with null', async () => {
    const created = await sources.create({ name: 'App', writeKey: newWriteKey() });

    await sources.update(created.id, { rateLimit: { eventsPerSecond: 5, burst: 10 } });
    const limited = await sources.get(created.id);
    await sources.update(created.id, { rateLimit: null });

    expect(limited.rateLimit).toEqual({ eventsPerSecond: 5, burst: 10 });
    expect((await sources.get(created.id)).rateLimit).toBeNull();
  });

  it('renames a source without touching its limit or its keys', async () => {
    const writeKey = newWriteKey();
    const created = await sources.create({
      name: 'Old name',
      writeKey,
      rateLimit: { eventsPerSecond: 1, burst: 1 },
    });

    const renamed = await sources.update(created.id, { name: 'New name' });

    expect(renamed).toMatchObject({ name: 'New name', rateLimit: { eventsPerSecond: 1, burst: 1 } });
    expect(await sources.sourceForWriteKey(writeKey)).toBe(created.id);
  });

  it('reads, limits and rotates a source stored before rate limits existed', async () => {
    const id = uniqueName('src_legacy');
    await storeLegacySource(id, newWriteKey());

    const before = await sources.get(id);
    await sources.update(id, { rateLimit: { eventsPerSecond: 2, burst: 4 } });
    const rotated = await sources.rotate(id, { newWriteKey: newWriteKey(), graceHours: 1 });

    expect(before.rateLimit).toBeNull();
    expect(rotated.source.rateLimit).toEqual({ eventsPerSecond: 2, burst: 4 });
  });

  it('rotates a legacy source that was never updated', async () => {
    const id = uniqueName('src_legacy');
    await storeLegacySource(id, newWriteKey());
    const newKey = newWriteKey();

    await sources.rotate(id, { newWriteKey: newKey, graceHours: 1 });

    expect(await sources.sourceForWriteKey(newKey)).toBe(id);
  });
});
