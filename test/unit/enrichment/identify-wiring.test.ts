// Enrichment wired into identify and import: where results land, what clients may not write, and that it never fails an identify.
import { describe, expect, it } from 'vitest';
import type {
  Enricher,
  EnrichmentFailure,
  EnrichmentInput,
  EnrichmentResult,
} from '../../../functions/enrichment/enricher.ts';
import { shippedEnrichers } from '../../../functions/enrichment/shipped-enrichers.ts';
import { importEvents } from '../../../functions/imports/admin-import.ts';
import { ImportConfigError, parseFieldMapping, planImport } from '../../../functions/imports/csv-import.ts';
import {
  Collector,
  type CollectPorts,
  RESERVED_ENRICHMENT_WARNING,
} from '../../../functions/tracking/collect.ts';
import { enrich } from '../../../functions/tracking/enrichment/index.ts';
import {
  type IngestOptions,
  type IngestRequest,
  type IngestResult,
  IngestService,
} from '../../../functions/tracking/ingest-service.ts';
import type { EnrichedEvent, EventType, JsonObject } from '../../../functions/tracking/model.ts';
import {
  defaultProfileId,
  emptyProfile,
  emptyTraits,
  type Identity,
  identityKey,
  type ProfileCore,
  type ProfileTraits,
  traitsOf,
} from '../../../functions/tracking/profile.ts';
import {
  type StoredEvent,
  type TrackingStore,
  VersionConflictError,
  type Versioned,
} from '../../../functions/tracking/store.ts';

const NOW = new Date('2026-06-15T10:00:00.000Z');
const CLIENT_IP = '198.51.100.23';

/** The tracking store in memory, with the same conditional-write rules as the DynamoDB adapter. */
class MemoryTrackingStore implements TrackingStore {
  readonly events = new Map<string, StoredEvent>();
  readonly profiles = new Map<string, { value: ProfileCore; claims: readonly string[] }>();
  readonly traits = new Map<string, ProfileTraits>();
  readonly pointers = new Map<string, string>();
  traitWrites = 0;

  async putEventOnce(stored: StoredEvent): Promise<boolean> {
    const key = `${stored.event.sourceId}/${stored.event.messageId}`;
    if (this.events.has(key)) return false;
    this.events.set(key, stored);
    return true;
  }
  async getEvent(_identity: Identity, sourceId: string, messageId: string) {
    return this.events.get(`${sourceId}/${messageId}`);
  }
  async listEvents() {
    return { events: [...this.events.values()].map((e) => e.event), truncated: false };
  }
  async getProfile(id: string): Promise<Versioned<ProfileCore>> {
    const item = this.profiles.get(id);
    return item
      ? { value: item.value, claims: item.claims, exists: true }
      : { value: emptyProfile(id), claims: [], exists: false };
  }
  async putProfile(profile: ProfileCore, options: { expectedVersion: number; claims: readonly string[] }) {
    if ((this.profiles.get(profile.id)?.value.version ?? 0) !== options.expectedVersion)
      throw new VersionConflictError(profile.id);
    this.profiles.set(profile.id, { value: profile, claims: options.claims });
  }
  async getTraits(id: string): Promise<Versioned<ProfileTraits>> {
    const item = this.traits.get(id);
    return { value: item ?? emptyTraits(id), claims: [], exists: item !== undefined };
  }
  async putTraits(traits: ProfileTraits, expectedVersion: number) {
    if ((this.traits.get(traits.id)?.version ?? 0) !== expectedVersion)
      throw new VersionConflictError(traits.id);
    this.traitWrites += 1;
    this.traits.set(traits.id, traits);
  }
  async getIdentityPointer(identity: Identity) {
    return this.pointers.get(identityKey(identity));
  }
  async putIdentityPointer(identity: Identity, profileId: string) {
    this.pointers.set(identityKey(identity), profileId);
  }
  async claimIdentity(identity: Identity, profileId: string) {
    if (this.pointers.has(identityKey(identity))) return false;
    this.pointers.set(identityKey(identity), profileId);
    return true;
  }
  async countUnprofiled() {}
}

function event(
  type: EventType,
  userId: string,
  { traits = {}, at = '2026-06-15T09:00:00.000Z', messageId = `m-${type}-${at}` } = {} as {
    traits?: JsonObject;
    at?: string;
    messageId?: string;
  },
): EnrichedEvent {
  return {
    type,
    protocol: 'segment',
    messageId,
    userId,
    traits,
    properties: {},
    context: {},
    sourceId: 'src_site',
    enrichment: {
      eventTime: at,
      receivedAt: at,
      touch: {
        channel: 'direct',
        campaign: null,
        landingPage: null,
        referrer: null,
        source: null,
        medium: null,
      },
      device: 'desktop',
      isBot: false,
      ip: '198.51.100.0',
      browser: null,
      os: null,
    },
  };
}

/** An enricher that finds a country for any IP and remembers what it was asked. */
function recordingGeo(seen: EnrichmentInput[] = []): Enricher {
  return {
    name: 'test-geo',
    version: 'geo-1',
    async enrich(input): Promise<EnrichmentResult> {
      seen.push(input);
      return { additions: input.ip === undefined ? {} : { geo: { country: 'NL' } } };
    },
  };
}

const failing: Enricher = {
  name: 'test-broken',
  version: 'broken-1',
  async enrich() {
    throw new Error('lookup table missing');
  },
};

function service(options: Partial<IngestOptions> & { enrichers?: () => readonly Enricher[] }) {
  const store = new MemoryTrackingStore();
  const failures: EnrichmentFailure[] = [];
  const ingest = new IngestService(store, {
    now: () => NOW,
    onEnrichmentFailures: (reported) => failures.push(...reported),
    ...options,
  });
  return { store, ingest, failures };
}

const identifyWithIp = (messageId: string, ip = CLIENT_IP): IngestRequest => ({
  identifies: new Map([[messageId, { ip, trigger: 'identify' }]]),
});

async function traitsOfUser(store: MemoryTrackingStore, userId: string): Promise<ProfileTraits | undefined> {
  return store.traits.get(defaultProfileId({ kind: 'userId', value: userId }));
}

describe('enrichment on identify', () => {
  it('stores what enrichers found under traits.enrichment.<namespace> with provenance, in the identify’s own traits write', async () => {
    const { store, ingest } = service({ enrichers: () => [recordingGeo()] });
    const identify = event('identify', 'u1', { traits: { email: 'ana@example.com' } });

    await ingest.ingest([identify], identifyWithIp(identify.messageId));

    const traits = await traitsOfUser(store, 'u1');
    expect(traits?.traits).toEqual({
      email: 'ana@example.com',
      enrichment: {
        geo: { country: 'NL', provenance: { source: 'test-geo', version: 'geo-1', at: NOW.toISOString() } },
      },
    });
    expect(store.traitWrites).toBe(1);
  });

  it('hands the enrichers the traits after the identify, the email and the untruncated client IP, and stores that IP nowhere', async () => {
    const seen: EnrichmentInput[] = [];
    const { store, ingest } = service({ enrichers: () => [recordingGeo(seen)] });
    const identify = event('identify', 'u2', { traits: { email: 'bo@example.com', plan: 'pro' } });

    await ingest.ingest([identify], identifyWithIp(identify.messageId));

    expect(seen).toEqual([
      {
        traits: { email: 'bo@example.com', plan: 'pro' },
        email: 'bo@example.com',
        ip: CLIENT_IP,
        context: { now: NOW, trigger: 'identify' },
      },
    ]);
    const stored = JSON.stringify([
      ...store.events.values(),
      ...store.profiles.values(),
      ...store.traits.values(),
    ]);
    expect(stored).not.toContain(CLIENT_IP);
  });

  it('keeps the identify’s traits when an enricher fails, and reports the failure for the log', async () => {
    const { store, ingest, failures } = service({ enrichers: () => [failing, recordingGeo()] });
    const identify = event('identify', 'u3', { traits: { plan: 'team' } });

    const result = await ingest.ingest([identify], identifyWithIp(identify.messageId));

    expect(result.accepted).toBe(1);
    expect((await traitsOfUser(store, 'u3'))?.traits).toMatchObject({
      plan: 'team',
      enrichment: { geo: { country: 'NL' } },
    });
    expect(failures).toEqual([
      { enricher: 'test-broken', version: 'broken-1', reason: 'Error: lookup table missing' },
    ]);
  });

  it('keeps the identify when the enrichment data cannot be loaded', async () => {
    const { store, ingest, failures } = service({
      enrichers: () => {
        throw new Error('ENOENT: data/manifest.json');
      },
    });
    const identify = event('identify', 'u4', { traits: { plan: 'free' } });

    const result = await ingest.ingest([identify]);

    expect(result.accepted).toBe(1);
    expect((await traitsOfUser(store, 'u4'))?.traits).toEqual({ plan: 'free' });
    expect(failures).toEqual([expect.objectContaining({ enricher: 'enrichment-data' })]);
  });

  it('loads the enrichers on the first identify, not for page views', async () => {
    let loads = 0;
    const { ingest } = service({
      enrichers: () => {
        loads += 1;
        return [recordingGeo()];
      },
    });

    await ingest.ingest([event('page', 'u5')]);
    const loadsAfterPage = loads;
    await ingest.ingest([event('identify', 'u5', { traits: { plan: 'pro' } })]);

    expect(loadsAfterPage).toBe(0);
    expect(loads).toBe(1);
  });

  it('lets an identify that arrives late keep its traits but not replace the enrichment of a newer identify', async () => {
    const { store, ingest } = service({ enrichers: () => [recordingGeo()] });
    const newer = event('identify', 'u6', { at: '2026-06-15T09:00:00.000Z', messageId: 'newer' });
    const older = event('identify', 'u6', {
      at: '2026-06-15T08:00:00.000Z',
      messageId: 'older',
      traits: { a: 1 },
    });
    await ingest.ingest([newer], identifyWithIp('newer', '198.51.100.1'));

    await ingest.ingest([older], identifyWithIp('older', '203.0.113.9'));

    expect((await traitsOfUser(store, 'u6'))?.setBy.enrichment).toEqual({
      at: newer.enrichment.eventTime,
      messageId: 'newer',
    });
  });
});

describe('a client cannot write traits.enrichment', () => {
  class RecordingPorts implements CollectPorts {
    readonly calls: Array<{ events: readonly EnrichedEvent[]; request: IngestRequest }> = [];
    async sourceForWriteKey() {
      return 'src_site';
    }
    async ingest(events: readonly EnrichedEvent[], request: IngestRequest): Promise<IngestResult> {
      this.calls.push({ events, request });
      return { accepted: events.length, duplicates: 0, bots: 0, consentWithheld: 0, merges: [] };
    }
    async countRejected() {}
  }

  async function post(body: unknown, sourceIp = CLIENT_IP) {
    const ports = new RecordingPorts();
    const response = await new Collector(ports).handle({
      method: 'POST',
      path: '/v1/batch',
      headers: { authorization: `Basic ${Buffer.from('wk_test:').toString('base64')}` },
      query: {},
      body: JSON.stringify(body),
      isBase64Encoded: false,
      sourceIp,
      receivedAt: NOW,
    });
    return { ports, status: response.status, body: JSON.parse(response.body) };
  }

  it('drops traits.enrichment from an identify, accepts the rest and says why in a warning', async () => {
    const { ports, status, body } = await post({
      batch: [
        { type: 'identify', userId: 'u7', traits: { plan: 'pro', enrichment: { geo: { country: 'XX' } } } },
      ],
    });

    expect(status).toBe(200);
    expect(body).toMatchObject({
      accepted: 1,
      warnings: [{ index: 0, warning: RESERVED_ENRICHMENT_WARNING }],
    });
    expect(ports.calls[0]?.events[0]?.traits).toEqual({ plan: 'pro' });
  });

  it('drops context.traits.enrichment from any call', async () => {
    const { ports } = await post({
      batch: [
        {
          type: 'track',
          userId: 'u8',
          event: 'Viewed',
          context: { traits: { enrichment: {}, tier: 'gold' } },
        },
      ],
    });

    expect(ports.calls[0]?.events[0]?.context.traits).toEqual({ tier: 'gold' });
  });

  it('ignores an enrichment trait even from a server-side caller that bypasses the tracking API', () => {
    const forged = event('identify', 'u9', {
      traits: { plan: 'pro', enrichment: { geo: { country: 'XX' } } },
    });

    expect(traitsOf(forged)).toEqual({ plan: 'pro' });
  });

  it('refuses an import mapping into the enrichment trait before reading any row', () => {
    expect(() => parseFieldMapping('country=enrichment.geo.country')).toThrow(ImportConfigError);
    expect(() =>
      planImport({
        header: ['id', 'enrichment'],
        settings: { userIdColumn: 'id', mappings: [], allColumns: true },
      }),
    ).toThrow(ImportConfigError);
  });
});

describe('what enrichment learns about a request', () => {
  it('gives an identify the client IP from its own context, else the connection’s', async () => {
    const ports = new (class implements CollectPorts {
      request: IngestRequest = {};
      async sourceForWriteKey() {
        return 'src_site';
      }
      async ingest(events: readonly EnrichedEvent[], request: IngestRequest): Promise<IngestResult> {
        this.request = request;
        return { accepted: events.length, duplicates: 0, bots: 0, consentWithheld: 0, merges: [] };
      }
      async countRejected() {}
    })();

    await new Collector(ports).handle({
      method: 'POST',
      path: '/v1/batch',
      headers: {},
      query: {},
      body: JSON.stringify({
        writeKey: 'wk_test',
        batch: [
          { type: 'identify', userId: 'a', messageId: 'own', context: { ip: '203.0.113.50' } },
          { type: 'identify', userId: 'b', messageId: 'connection' },
          {
            type: 'identify',
            userId: 'c',
            messageId: 'row',
            context: { library: { name: 'nurture-import' } },
          },
        ],
      }),
      isBase64Encoded: false,
      sourceIp: CLIENT_IP,
      receivedAt: NOW,
    });

    expect(Object.fromEntries(ports.request.identifies ?? [])).toEqual({
      own: { ip: '203.0.113.50', trigger: 'identify' },
      connection: { ip: CLIENT_IP, trigger: 'identify' },
      row: { trigger: 'import' },
    });
  });

  it('enriches admin-imported rows like the tracking API enriches a call without page, user agent or IP', () => {
    const { events, errors } = importEvents({
      calls: [
        {
          type: 'identify',
          messageId: 'import-1',
          userId: 'u10',
          traits: { plan: 'pro' },
          timestamp: '2026-06-15T09:59:59.000Z',
        },
      ],
      sourceId: 'admin-import',
      receivedAt: NOW,
      libraryVersion: '1.0.0',
    });
    const [imported] = events;
    if (imported === undefined) throw new Error('no event');
    const { enrichment: _own, sourceId: _source, ...normalized } = imported;

    expect(errors).toEqual([]);
    expect(imported.enrichment).toEqual(enrich(normalized, { receivedAt: NOW }));
    expect(imported.context.library).toEqual({ name: 'nurture-import', version: '1.0.0' });
  });
});

describe('the shipped enrichers', () => {
  it('read their data on first use, not when the loader is created', () => {
    const load = shippedEnrichers(new URL('file:///nonexistent/enrichment-data/'));

    expect(load).toThrow();
  });

  it('are the email-domain and ip-country enrichers, loaded once per container', () => {
    const load = shippedEnrichers();

    const first = load();

    expect(first.map((e) => e.name)).toEqual(['email-domain', 'ip-country']);
    expect(load()).toBe(first);
  });
});
