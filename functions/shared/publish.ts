// Publishes domain events to the bus in PutEvents batches within the service limits, retrying failed entries.
import {
  type EventBridgeClient,
  PutEventsCommand,
  type PutEventsRequestEntry,
} from '@aws-sdk/client-eventbridge';

/** PutEvents takes at most 10 entries and 256 KB per call. */
const MAX_ENTRIES = 10;
const MAX_BATCH_BYTES = 256 * 1024;
const ATTEMPTS = 4;

export interface OutgoingEvent {
  readonly source: string;
  readonly detailType: string;
  readonly detail: unknown;
}

function entrySize(entry: PutEventsRequestEntry): number {
  // The documented size calculation: UTF-8 bytes of Source, DetailType, Detail and resources, plus 14 for Time.
  return (
    Buffer.byteLength(entry.Source ?? '') +
    Buffer.byteLength(entry.DetailType ?? '') +
    Buffer.byteLength(entry.Detail ?? '') +
    14
  );
}

function batches(
  entries: PutEventsRequestEntry[],
): Array<Array<{ entry: PutEventsRequestEntry; index: number }>> {
  const out: Array<Array<{ entry: PutEventsRequestEntry; index: number }>> = [];
  let current: Array<{ entry: PutEventsRequestEntry; index: number }> = [];
  let bytes = 0;
  entries.forEach((entry, index) => {
    const size = entrySize(entry);
    if (current.length === MAX_ENTRIES || (current.length > 0 && bytes + size > MAX_BATCH_BYTES)) {
      out.push(current);
      current = [];
      bytes = 0;
    }
    current.push({ entry, index });
    bytes += size;
  });
  if (current.length > 0) out.push(current);
  return out;
}

/**
 * Sends every event; entries the bus rejects (throttling, internal errors) are retried with backoff.
 * Resolves with the indexes of events that still failed, so the caller can have them redelivered.
 */
export async function publishEvents(
  client: EventBridgeClient,
  busName: string,
  events: readonly OutgoingEvent[],
  sleep: (ms: number) => Promise<void> = (ms) => new Promise((r) => setTimeout(r, ms)),
): Promise<number[]> {
  const entries = events.map((e) => ({
    EventBusName: busName,
    Source: e.source,
    DetailType: e.detailType,
    Detail: JSON.stringify(e.detail),
  }));
  const failed: number[] = [];
  for (const batch of batches(entries)) {
    let pending = batch;
    for (let attempt = 1; pending.length > 0; attempt += 1) {
      let retry: typeof pending = [];
      try {
        const result = await client.send(new PutEventsCommand({ Entries: pending.map((p) => p.entry) }));
        retry = pending.filter(
          (_, i) => result.Entries?.[i]?.ErrorCode !== undefined || result.Entries?.[i] === undefined,
        );
      } catch {
        retry = pending;
      }
      if (retry.length === 0) break;
      if (attempt >= ATTEMPTS) {
        failed.push(...retry.map((r) => r.index));
        break;
      }
      await sleep(100 * 2 ** attempt);
      pending = retry;
    }
  }
  return failed.sort((a, b) => a - b);
}
