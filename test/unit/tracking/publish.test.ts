// Publishing domain events to EventBridge: PutEvents limits, retries of failed entries, and what is reported back.
import {
  EventBridgeClient,
  type PutEventsRequestEntry,
  type PutEventsResultEntry,
} from '@aws-sdk/client-eventbridge';
import { describe, expect, it, vi } from 'vitest';
import { type OutgoingEvent, publishEvents } from '../../../functions/shared/publish.ts';

const BUS = 'nurture-test-bus';
const MAX_ENTRIES = 10;
const MAX_CALL_BYTES = 256 * 1024;

/** How the fake bus answers one entry: accepted, rejected with an error code, or left out of the answer. */
type EntryAnswer = 'ok' | 'throttled' | 'missing';

interface FakeBus {
  readonly client: EventBridgeClient;
  /** The entries of every PutEvents call, in call order. */
  readonly calls: PutEventsRequestEntry[][];
}

/**
 * A real EventBridgeClient whose first middleware answers PutEvents itself, so nothing leaves the process.
 * `answer` decides per call: throw to make the whole call fail, or say what happens to each entry.
 */
function fakeBus(
  answer: (entries: PutEventsRequestEntry[], call: number) => EntryAnswer[] = okForAll,
): FakeBus {
  const client = new EventBridgeClient({
    region: 'eu-west-1',
    credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' },
  });
  const calls: PutEventsRequestEntry[][] = [];
  client.middlewareStack.add(
    () => async (args) => {
      const entries = 'Entries' in args.input && Array.isArray(args.input.Entries) ? args.input.Entries : [];
      const typed: PutEventsRequestEntry[] = entries.filter(isPutEventsEntry);
      calls.push(typed);
      const answers = answer(typed, calls.length);
      const results: PutEventsResultEntry[] = answers.flatMap((outcome, index): PutEventsResultEntry[] => {
        if (outcome === 'missing') return [];
        if (outcome === 'throttled') {
          return [{ ErrorCode: 'ThrottlingException', ErrorMessage: 'Rate exceeded' }];
        }
        return [{ EventId: `evt-${calls.length}-${index}` }];
      });
      const failed = answers.filter((outcome) => outcome !== 'ok').length;
      return { output: { $metadata: {}, Entries: results, FailedEntryCount: failed }, response: {} };
    },
    { step: 'initialize', name: 'fakePutEvents' },
  );
  return { client, calls };
}

function isPutEventsEntry(value: unknown): value is PutEventsRequestEntry {
  return typeof value === 'object' && value !== null && 'Detail' in value;
}

function okForAll(entries: PutEventsRequestEntry[]): EntryAnswer[] {
  return entries.map(() => 'ok');
}

function noWait() {
  return vi.fn(async (_ms: number) => {});
}

function profileIdentified(index: number, padding = 0): OutgoingEvent {
  return {
    source: 'nurture.tracking',
    detailType: 'profile.identified',
    detail: { dedupeKey: `identified:p-${index}`, profileId: `p-${index}`, note: 'x'.repeat(padding) },
  };
}

function events(count: number, padding = 0): OutgoingEvent[] {
  return Array.from({ length: count }, (_, index) => profileIdentified(index, padding));
}

/** The size EventBridge charges an entry, as its documentation computes it. */
function entryBytes(entry: PutEventsRequestEntry): number {
  return (
    Buffer.byteLength(entry.Source ?? '') +
    Buffer.byteLength(entry.DetailType ?? '') +
    Buffer.byteLength(entry.Detail ?? '') +
    14
  );
}

function callBytes(entries: PutEventsRequestEntry[]): number {
  return entries.reduce((sum, entry) => sum + entryBytes(entry), 0);
}

function profileIdsIn(entries: PutEventsRequestEntry[]): string[] {
  return entries.map((entry) => {
    const detail: unknown = JSON.parse(entry.Detail ?? 'null');
    return typeof detail === 'object' && detail !== null && 'profileId' in detail
      ? String(detail.profileId)
      : '';
  });
}

/** Deterministic pseudo-random numbers in [0, 1) (mulberry32), so a failing run can be replayed. */
function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('publishing domain events', () => {
  it('sends nothing when there is nothing to publish', async () => {
    const bus = fakeBus();

    const failed = await publishEvents(bus.client, BUS, [], noWait());

    expect(failed).toEqual([]);
    expect(bus.calls).toEqual([]);
  });

  it('puts each event on the named bus with its source, detail type and JSON detail', async () => {
    const bus = fakeBus();
    const event = profileIdentified(7);

    await publishEvents(bus.client, BUS, [event], noWait());

    expect(bus.calls).toEqual([
      [
        {
          EventBusName: BUS,
          Source: 'nurture.tracking',
          DetailType: 'profile.identified',
          Detail: JSON.stringify(event.detail),
        },
      ],
    ]);
  });

  it('sends 25 events in calls of at most 10 entries, in their original order', async () => {
    const bus = fakeBus();

    const failed = await publishEvents(bus.client, BUS, events(25), noWait());

    expect(failed).toEqual([]);
    expect(bus.calls.map((call) => call.length)).toEqual([10, 10, 5]);
    expect(bus.calls.flatMap(profileIdsIn)).toEqual(events(25).map((_, index) => `p-${index}`));
  });

  it('splits large events over several calls so that no call exceeds 256 KB', async () => {
    const bus = fakeBus();

    await publishEvents(bus.client, BUS, events(5, 100 * 1024), noWait());

    expect(bus.calls.map((call) => call.length)).toEqual([2, 2, 1]);
    for (const call of bus.calls) expect(callBytes(call)).toBeLessThanOrEqual(MAX_CALL_BYTES);
  });

  it('keeps every call within 10 entries and 256 KB and sends each event exactly once, whatever the sizes', async () => {
    const random = seededRandom(20240601);
    for (let run = 0; run < 200; run += 1) {
      const count = 1 + Math.floor(random() * 40);
      const batch = Array.from({ length: count }, (_, index) =>
        profileIdentified(index, Math.floor(random() ** 3 * 120 * 1024)),
      );
      const bus = fakeBus();

      const failed = await publishEvents(bus.client, BUS, batch, noWait());

      expect(failed).toEqual([]);
      for (const call of bus.calls) {
        expect(call.length).toBeGreaterThan(0);
        expect(call.length).toBeLessThanOrEqual(MAX_ENTRIES);
        expect(callBytes(call)).toBeLessThanOrEqual(MAX_CALL_BYTES);
      }
      expect(bus.calls.flatMap(profileIdsIn)).toEqual(batch.map((_, index) => `p-${index}`));
    }
  });

  it('retries only the entries the bus rejected, not the ones it accepted', async () => {
    const bus = fakeBus((entries, call) =>
      entries.map((_, index) => (call === 1 && (index === 1 || index === 3) ? 'throttled' : 'ok')),
    );

    const failed = await publishEvents(bus.client, BUS, events(5), noWait());

    expect(failed).toEqual([]);
    expect(bus.calls.map(profileIdsIn)).toEqual([
      ['p-0', 'p-1', 'p-2', 'p-3', 'p-4'],
      ['p-1', 'p-3'],
    ]);
  });

  it('retries an entry the bus left out of its answer', async () => {
    const bus = fakeBus((entries, call) =>
      entries.map((_, index) => (call === 1 && index === entries.length - 1 ? 'missing' : 'ok')),
    );

    const failed = await publishEvents(bus.client, BUS, events(3), noWait());

    expect(failed).toEqual([]);
    expect(bus.calls.map(profileIdsIn)).toEqual([['p-0', 'p-1', 'p-2'], ['p-2']]);
  });

  it('retries the whole call when the request itself fails', async () => {
    const bus = fakeBus((entries, call) => {
      if (call === 1) throw new Error('socket hang up');
      return okForAll(entries);
    });

    const failed = await publishEvents(bus.client, BUS, events(3), noWait());

    expect(failed).toEqual([]);
    expect(bus.calls.map(profileIdsIn)).toEqual([
      ['p-0', 'p-1', 'p-2'],
      ['p-0', 'p-1', 'p-2'],
    ]);
  });

  it('reports the indexes of events the bus keeps rejecting, after a bounded number of attempts', async () => {
    const alwaysRejected = new Set(['p-3', 'p-12']);
    const bus = fakeBus((entries) =>
      profileIdsIn(entries).map((id) => (alwaysRejected.has(id) ? 'throttled' : 'ok')),
    );

    const failed = await publishEvents(bus.client, BUS, events(15), noWait());

    expect(failed).toEqual([3, 12]);
    const attemptsOf = (id: string) => bus.calls.filter((call) => profileIdsIn(call).includes(id)).length;
    expect(attemptsOf('p-3')).toBeGreaterThan(1);
    expect(attemptsOf('p-3')).toBeLessThan(10);
    expect(attemptsOf('p-0')).toBe(1);
  });

  it('reports every event of a call that keeps failing', async () => {
    const bus = fakeBus(() => {
      throw new Error('service unavailable');
    });

    const failed = await publishEvents(bus.client, BUS, events(12), noWait());

    expect(failed).toEqual(events(12).map((_, index) => index));
  });

  it('waits between attempts through the injected sleep, longer each time', async () => {
    const bus = fakeBus((entries) => entries.map(() => 'throttled'));
    const sleep = noWait();

    await publishEvents(bus.client, BUS, events(1), sleep);

    const delays = sleep.mock.calls.map(([ms]) => ms);
    expect(delays.length).toBe(bus.calls.length - 1);
    expect(delays.length).toBeGreaterThan(0);
    for (let i = 1; i < delays.length; i += 1) expect(delays[i]).toBeGreaterThan(delays[i - 1] ?? 0);
  });

  it('does not wait at all when every entry is accepted the first time', async () => {
    const bus = fakeBus();
    const sleep = noWait();

    await publishEvents(bus.client, BUS, events(12), sleep);

    expect(sleep).not.toHaveBeenCalled();
  });
});
