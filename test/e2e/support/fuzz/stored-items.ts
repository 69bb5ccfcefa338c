// Reads every item of the profile table, opening gzip JSON, to prove hostile input left no garbage behind.
import { gunzipSync } from 'node:zlib';
import { type AttributeValue, DynamoDBClient, ScanCommand } from '@aws-sdk/client-dynamodb';
import { PROTOTYPE_KEYS } from './hostile-json.ts';

export interface StoredItem {
  readonly pk: string;
  readonly sk: string;
  /** Every attribute as plain data: maps as objects, gzip JSON parsed (own `__proto__` keys stay own keys). */
  readonly data: Record<string, unknown>;
}

function plain(value: AttributeValue): unknown {
  if (value.S !== undefined) return value.S;
  if (value.N !== undefined) return Number(value.N);
  if (value.BOOL !== undefined) return value.BOOL;
  if (value.NULL !== undefined) return null;
  if (value.SS !== undefined) return value.SS;
  if (value.NS !== undefined) return value.NS.map(Number);
  if (value.L !== undefined) return value.L.map(plain);
  if (value.M !== undefined) return plainMap(value.M);
  if (value.B !== undefined) {
    const bytes = Buffer.from(value.B);
    try {
      return JSON.parse(gunzipSync(bytes).toString('utf8'));
    } catch {
      return bytes.toString('base64');
    }
  }
  return undefined;
}

function plainMap(map: Record<string, AttributeValue>): Record<string, unknown> {
  // defineProperty, so a stored `__proto__` attribute name shows up as a key instead of vanishing into a prototype.
  const result: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(map))
    Object.defineProperty(result, key, { value: plain(value), enumerable: true, writable: true });
  return result;
}

export async function scanProfileTable(options: {
  endpoint: string;
  tableName: string;
}): Promise<StoredItem[]> {
  const client = new DynamoDBClient({
    region: 'us-east-1',
    endpoint: options.endpoint,
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
  const items: StoredItem[] = [];
  let start: Record<string, AttributeValue> | undefined;
  do {
    const page = await client.send(
      new ScanCommand({ TableName: options.tableName, ExclusiveStartKey: start, ConsistentRead: true }),
    );
    for (const item of page.Items ?? []) {
      items.push({ pk: item.pk?.S ?? '', sk: item.sk?.S ?? '', data: plainMap(item) });
    }
    start = page.LastEvaluatedKey;
  } while (start);
  client.destroy();
  return items;
}

/** Paths (`a.b.__proto__`) at which a value holds a prototype-polluting key as an object key. */
export function prototypeKeyPaths(value: unknown, path = ''): string[] {
  if (typeof value !== 'object' || value === null) return [];
  const found: string[] = [];
  for (const key of Object.keys(value)) {
    const here = path === '' ? key : `${path}.${key}`;
    if ((PROTOTYPE_KEYS as readonly string[]).includes(key)) found.push(here);
    found.push(...prototypeKeyPaths(Reflect.get(value, key), here));
  }
  return found;
}

/** Every string anywhere in a value, with its path. */
export function stringsIn(value: unknown, path = ''): Array<{ path: string; text: string }> {
  if (typeof value === 'string') return [{ path, text: value }];
  if (typeof value !== 'object' || value === null) return [];
  return Object.keys(value).flatMap((key) =>
    stringsIn(Reflect.get(value, key), path === '' ? key : `${path}.${key}`),
  );
}
