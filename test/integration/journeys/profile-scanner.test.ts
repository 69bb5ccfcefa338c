// The backfill's profile scan against DynamoDB Local: every stored profile once, across segments and pages.
import { BatchWriteItemCommand } from '@aws-sdk/client-dynamodb';
import { beforeAll, describe, expect, it } from 'vitest';
import { DynamoDbProfileScanner } from '../../../functions/journeys/profile-scanner.ts';
import { createProfileStoreTable, dynamodb, uniqueName } from '../clients.ts';

const tableName = uniqueName('profile-scan');
const profiles = Array.from({ length: 30 }, (_, i) => `prof_${String(i).padStart(2, '0')}`);

describe('scanning stored profiles for a backfill', () => {
  beforeAll(async () => {
    await createProfileStoreTable(tableName);
    const items = profiles.flatMap((id) => [
      { pk: { S: `PROFILE#${id}` }, sk: { S: 'TRAITS' } },
      { pk: { S: `PROFILE#${id}` }, sk: { S: 'PROFILE' } },
      { pk: { S: `EVENTS#${id}` }, sk: { S: '2027-01-01T00:00:00.000Z#m1' } },
    ]);
    for (let i = 0; i < items.length; i += 25) {
      await dynamodb.send(
        new BatchWriteItemCommand({
          RequestItems: { [tableName]: items.slice(i, i + 25).map((Item) => ({ PutRequest: { Item } })) },
        }),
      );
    }
  });

  it('returns every profile exactly once across segments and pages, and nothing that is not a profile', async () => {
    const scanner = new DynamoDbProfileScanner(dynamodb, tableName, 7);
    const seen: string[] = [];
    let pages = 0;
    for (let segment = 0; segment < 3; segment += 1) {
      let cursor: string | null = null;
      do {
        const page = await scanner.page({ segment, totalSegments: 3, cursor });
        seen.push(...page.profileIds);
        cursor = page.cursor;
        pages += 1;
      } while (cursor !== null);
    }

    expect(seen.sort()).toEqual(profiles);
    expect(pages).toBeGreaterThan(3);
  });
});
