import { beforeAll, describe, expect, it } from 'vitest';
import { SourceStore, WriteKeyInUseError } from '../../../functions/tracking/source-store.ts';
import { newWriteKey } from '../../../functions/tracking/sources.ts';
import { createProfileStoreTable, dynamodb, uniqueName } from '../clients.ts';

const tableName = uniqueName('sources');
let now = new Date('2026-11-22T12:00:00Z');
const sources = new SourceStore(dynamodb, tableName, () => now);

beforeAll(async () => {
  await createProfileStoreTable(tableName);
});

describe('sources and write keys', () => {
  it('authenticates a new source by its write key and stores no key in clear', async () => {
    const writeKey = newWriteKey();

    const source = await sources.create({ name: 'Website', writeKey });

    expect(await sources.sourceForWriteKey(writeKey)).toBe(source.id);
    expect(JSON.stringify(await sources.get(source.id))).not.toContain(writeKey);
    expect(await sources.sourceForWriteKey(newWriteKey())).toBeUndefined();
  });

  it('imports an existing write key once and refuses it for a second source', async () => {
    const segmentKey = `segment-key-${Date.now()}-abcdef`;
    await sources.create({ name: 'Imported from Segment', writeKey: segmentKey });

    await expect(sources.create({ name: 'Again', writeKey: segmentKey })).rejects.toBeInstanceOf(
      WriteKeyInUseError,
    );
  });

  it('keeps the previous key working during the grace period after a rotation, and not after', async () => {
    const oldKey = newWriteKey();
    const newKey = newWriteKey();
    const source = await sources.create({ name: 'App', writeKey: oldKey });

    await sources.rotate(source.id, { newWriteKey: newKey, graceHours: 2 });
    const duringGrace = await sources.sourceForWriteKey(oldKey);
    now = new Date(now.getTime() + 3 * 3_600_000);
    const afterGrace = await sources.sourceForWriteKey(oldKey);

    expect(duringGrace).toBe(source.id);
    expect(afterGrace).toBeUndefined();
    expect(await sources.sourceForWriteKey(newKey)).toBe(source.id);
  });

  it('stops every key of a revoked source at once', async () => {
    const first = newWriteKey();
    const second = newWriteKey();
    const source = await sources.create({ name: 'Old site', writeKey: first });
    await sources.rotate(source.id, { newWriteKey: second, graceHours: 24 });

    const revoked = await sources.revoke(source.id);

    expect(revoked.status).toBe('revoked');
    expect(await sources.sourceForWriteKey(first)).toBeUndefined();
    expect(await sources.sourceForWriteKey(second)).toBeUndefined();
  });

  it('lists every source, oldest first', async () => {
    const a = await sources.create({ name: 'List A', writeKey: newWriteKey() });
    now = new Date(now.getTime() + 1000);
    const b = await sources.create({ name: 'List B', writeKey: newWriteKey() });

    const ids = (await sources.list()).map((s) => s.id);

    expect(ids.indexOf(a.id)).toBeLessThan(ids.indexOf(b.id));
  });
});
