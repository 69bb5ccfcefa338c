// Admin API for sources and their write keys: create (or import an existing key), list, update, rotate, revoke.
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import * as z from 'zod';
import { readEnvironment } from '../shared/environment.ts';
import { HttpError, httpHandler, json } from '../shared/http.ts';
import { parseJsonBody } from '../shared/request.ts';
import {
  SourceChangedError,
  SourceNotFoundError,
  SourceStore,
  WriteKeyInUseError,
} from '../tracking/source-store.ts';
import {
  createSourceRequest,
  newWriteKey,
  publicSource,
  rotateSourceRequest,
  updateSourceRequest,
} from '../tracking/sources.ts';

const env = readEnvironment({ PROFILE_TABLE: z.string().min(1) });
const sources = new SourceStore(new DynamoDBClient({}), env.PROFILE_TABLE);

async function known<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (error instanceof SourceNotFoundError) throw new HttpError(404, error.message);
    if (error instanceof WriteKeyInUseError) throw new HttpError(409, error.message);
    if (error instanceof SourceChangedError) throw new HttpError(409, error.message);
    throw error;
  }
}

export const handler = httpHandler(async (event) => {
  const id = event.pathParameters?.id;
  switch (event.routeKey) {
    case 'POST /admin/sources': {
      const input = parseJsonBody(event, createSourceRequest);
      const writeKey = input.writeKey ?? newWriteKey();
      const source = await known(() =>
        sources.create({ name: input.name, writeKey, rateLimit: input.rateLimit ?? null }),
      );
      // The only time the key is shown: it is stored as a hash.
      return json(201, { ...publicSource(source), writeKey });
    }
    case 'GET /admin/sources':
      return json(200, { sources: (await sources.list()).map(publicSource) });
    case 'GET /admin/sources/{id}':
      return json(200, publicSource(await known(() => sources.get(id ?? ''))));
    case 'PATCH /admin/sources/{id}': {
      const input = parseJsonBody(event, updateSourceRequest);
      return json(200, publicSource(await known(() => sources.update(id ?? '', input))));
    }
    case 'POST /admin/sources/{id}/rotate': {
      const input = parseJsonBody(event, rotateSourceRequest, { allowEmpty: true });
      const writeKey = newWriteKey();
      const { source, previousKeyValidUntil } = await known(() =>
        sources.rotate(id ?? '', { newWriteKey: writeKey, graceHours: input.graceHours }),
      );
      return json(200, { ...publicSource(source), writeKey, previousKeyValidUntil });
    }
    case 'DELETE /admin/sources/{id}':
      return json(200, publicSource(await known(() => sources.revoke(id ?? ''))));
    default:
      throw new HttpError(404, `No admin route ${event.routeKey}`);
  }
});
