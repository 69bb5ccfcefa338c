// Anonymous profile expiry in DynamoDB Local: the TTL attribute is set on anonymous profiles and removed on identify.
import { randomUUID } from 'node:crypto';
import { GetItemCommand } from '@aws-sdk/client-dynamodb';
import { beforeAll, describe, expect, it } from 'vitest';
import { DynamoDbTrackingStore } from '../../../functions/tracking/dynamodb-store.ts';
import { IngestService } from '../../../functions/tracking/ingest-service.ts';
import type { EnrichedEvent, JsonObject } from '../../../functions/tracking/model.ts';
import { directEnrichment } from '../../fixtures/enrichment.ts';
import { createProfileStoreTable, dynamodb, uniqueName } from '../clients.ts';

const tableName = uniqueName('retention');
const RETENTION_DAYS = 7;
let service: IngestService;

beforeAll(async () => {
  await createProfileStoreTable(tableName);
  const store = new DynamoDbTrackingStore({
    client: dynamodb,
    tableName,
    eventRetentionDays: 396,
    anonymousProfileRetentionDays: RETENTION_DAYS,
  });
  service = new IngestService(store);
});

function event(
  type: 'track' | 'identify',
  ids: { userId?: string; anonymousId?: string },
  options: { at: string; traits?: JsonObject },
): EnrichedEvent {
  return {
    type,
    protocol: 'segment',
    messageId: randomUUID(),
    ...ids,
    ...(type === 'track' ? { event: 'Page Scrolled' } : {}),
    traits: options.traits ?? {},
    properties: {},
    context: {},
    sourceId: 'src_retention',
    enrichment: directEnrichment(options.at),
  };
}

async function profileExpiry(identity: { kind: 'anonymousId' | 'userId'; value: string }) {
  const profileId = await service.find(identity);
  if (profileId === undefined) throw new Error(`no profile for ${identity.value}`);
  const { Item } = await dynamodb.send(
    new GetItemCommand({
      TableName: tableName,
      Key: { pk: { S: `PROFILE#${profileId}` }, sk: { S: 'PROFILE' } },
      ConsistentRead: true,
    }),
  );
  if (Item === undefined) throw new Error(`profile item ${profileId} missing`);
  return Item.expiresAt?.N === undefined ? undefined : Number(Item.expiresAt.N);
}

const seconds = (iso: string) => Date.parse(iso) / 1000;

describe('anonymous profile expiry in the profile store', () => {
  it('gives an anonymous profile a TTL the configured days after its last event', async () => {
    const anonymousId = `anon-${randomUUID()}`;

    await service.ingest([event('track', { anonymousId }, { at: '2026-05-01T10:00:00.000Z' })]);

    expect(await profileExpiry({ kind: 'anonymousId', value: anonymousId })).toBe(
      seconds('2026-05-01T10:00:00.000Z') + RETENTION_DAYS * 86_400,
    );
  });

  it('refreshes the TTL with each new event of the anonymous visitor', async () => {
    const anonymousId = `anon-${randomUUID()}`;
    await service.ingest([event('track', { anonymousId }, { at: '2026-05-01T10:00:00.000Z' })]);

    await service.ingest([event('track', { anonymousId }, { at: '2026-05-04T10:00:00.000Z' })]);

    expect(await profileExpiry({ kind: 'anonymousId', value: anonymousId })).toBe(
      seconds('2026-05-04T10:00:00.000Z') + RETENTION_DAYS * 86_400,
    );
  });

  it('removes the TTL when the anonymous visitor identifies', async () => {
    const anonymousId = `anon-${randomUUID()}`;
    const userId = `user-${randomUUID()}`;
    await service.ingest([event('track', { anonymousId }, { at: '2026-05-01T10:00:00.000Z' })]);

    await service.ingest([
      event('identify', { anonymousId, userId }, { at: '2026-05-01T10:05:00.000Z', traits: { plan: 'pro' } }),
    ]);

    expect(await profileExpiry({ kind: 'userId', value: userId })).toBeUndefined();
  });

  it('sets no TTL on a profile known by userId from its first event', async () => {
    const userId = `user-${randomUUID()}`;

    await service.ingest([event('track', { userId }, { at: '2026-05-01T10:00:00.000Z' })]);

    expect(await profileExpiry({ kind: 'userId', value: userId })).toBeUndefined();
  });
});
