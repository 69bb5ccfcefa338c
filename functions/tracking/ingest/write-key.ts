// Finds the write key a tracking request was sent with, wherever the client put it.
import { decodeBase64Text } from './body.ts';

/** Longer "keys" are refused so a hostile value can never reach a key-value lookup. */
const MAX_WRITE_KEY_LENGTH = 256;

export interface WriteKeySources {
  /** The Authorization header: `Basic base64(writeKey:)`. */
  readonly authorization?: string;
  /** The request body (a batch, or a single event). */
  readonly body?: unknown;
  /** One event of a batch. */
  readonly event?: unknown;
  /** Query parameters (pixels). */
  readonly query?: Readonly<Record<string, string>>;
}

/**
 * The write key, by precedence: the Basic auth user name (Segment and RudderStack servers send `key:`; a missing
 * colon is tolerated), then `writeKey` in the body, in the event, in the query. Whether the key exists is not
 * this module's concern. Never throws: broken base64 or a non-Basic header just moves on to the next place.
 */
export function writeKeyFrom(sources: WriteKeySources): string | undefined {
  return (
    fromBasicAuth(sources.authorization) ??
    fromObject(sources.body) ??
    fromObject(sources.event) ??
    usable(sources.query?.writeKey)
  );
}

function fromBasicAuth(authorization: string | undefined): string | undefined {
  const credentials = /^\s*basic\s+(\S+)\s*$/i.exec(authorization ?? '')?.[1];
  if (credentials === undefined) return undefined;
  const decoded = decodeBase64Text(credentials);
  if (decoded === undefined) return undefined;
  const colon = decoded.indexOf(':');
  return usable(colon === -1 ? decoded : decoded.slice(0, colon));
}

function fromObject(value: unknown): string | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value) || !('writeKey' in value))
    return undefined;
  return typeof value.writeKey === 'string' ? usable(value.writeKey) : undefined;
}

function usable(candidate: string | undefined): string | undefined {
  const key = candidate?.trim();
  if (key === undefined || key === '' || key.length > MAX_WRITE_KEY_LENGTH) return undefined;
  // Control characters only appear when the "base64" was something else that happened to decode.
  return /\p{Cc}/u.test(key) ? undefined : key;
}
