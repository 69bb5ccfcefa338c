// Defects the hostile-input fuzz suite (test/e2e/fuzz.test.ts) found in tracking, each reproduced as plain data.
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { Collector, type CollectPorts, type CollectRequest } from '../../../functions/tracking/collect.ts';
import type { EnrichedEvent, JsonObject } from '../../../functions/tracking/model.ts';
import {
  applyTraits,
  emptyTraits,
  MAX_TRAITS_BYTES,
  mergeTraits,
  type ProfileTraits,
} from '../../../functions/tracking/profile.ts';
import { directEnrichment } from '../../fixtures/enrichment.ts';

function identify(minute: number, traits: JsonObject): EnrichedEvent {
  const time = new Date(Date.UTC(2024, 5, 3, 9, minute)).toISOString();
  return {
    type: 'identify',
    protocol: 'segment',
    messageId: `m-${minute}-${Object.keys(traits).join('-')}`,
    userId: 'victim',
    traits,
    properties: {},
    context: {},
    sourceId: 'src',
    enrichment: directEnrichment(time, null),
  };
}

/** 30 KB that gzip cannot shrink much, as an attacker would send to fill a profile. */
function incompressible(): string {
  return randomBytes(22_000).toString('base64');
}

function storedBytes(traits: ProfileTraits): number {
  return Buffer.byteLength(JSON.stringify({ traits: traits.traits, setBy: traits.setBy }));
}

describe('a profile flooded with large traits', () => {
  it('stops taking new traits before its item could outgrow DynamoDB, and keeps the ones it had', () => {
    const flood = Array.from({ length: 20 }, (_, minute) =>
      identify(minute, { [`blob${minute}`]: incompressible() }),
    );

    const traits = applyTraits(emptyTraits('p1'), [identify(0, { plan: 'pro' }), ...flood]);

    expect(storedBytes(traits)).toBeLessThanOrEqual(MAX_TRAITS_BYTES);
    expect(traits.traits.plan).toBe('pro');
    expect(Object.keys(traits.traits).length).toBeLessThan(21);
  });

  it('names each trait it did not store, and the event that carried it', () => {
    const flood = Array.from({ length: 20 }, (_, minute) =>
      identify(minute, { [`blob${minute}`]: incompressible() }),
    );
    const dropped: Array<{ messageId: string; trait: string }> = [];

    const traits = applyTraits(emptyTraits('p1'), flood, (one) => dropped.push(one));

    expect(dropped.length).toBeGreaterThan(0);
    for (const { messageId, trait } of dropped) {
      expect(traits.traits[trait]).toBeUndefined();
      expect(flood.find((event) => event.messageId === messageId)?.traits).toHaveProperty(trait);
    }
  });

  it('still updates a trait it already holds when the update does not grow it', () => {
    const flood = Array.from({ length: 20 }, (_, minute) =>
      identify(minute, { [`blob${minute}`]: incompressible() }),
    );
    const full = applyTraits(emptyTraits('p1'), [identify(0, { plan: 'pro' }), ...flood]);

    const updated = applyTraits(full, [identify(59, { plan: 'max' })]);

    expect(updated.traits.plan).toBe('max');
  });

  it('merges two full profiles into one that still fits', () => {
    const fill = (prefix: string) =>
      applyTraits(
        emptyTraits(prefix),
        Array.from({ length: 20 }, (_, minute) =>
          identify(minute, { [`${prefix}${minute}`]: incompressible() }),
        ),
      );

    const merged = mergeTraits(fill('a'), fill('b'));

    expect(storedBytes(merged)).toBeLessThanOrEqual(MAX_TRAITS_BYTES);
  });
});

const NO_PORTS: CollectPorts = {
  sourceForWriteKey: async () => undefined,
  ingest: async () => ({ accepted: 0, duplicates: 0, bots: 0, consentWithheld: 0, merges: [] }),
  countRejected: async () => undefined,
};

function snippetRequest(headers: Record<string, string>): CollectRequest {
  return {
    method: 'GET',
    path: '/v1/snippet.js',
    headers,
    query: {},
    body: undefined,
    isBase64Encoded: false,
    receivedAt: new Date('2024-06-03T12:00:00.000Z'),
  };
}

describe('the snippet asked for through hostile proxy headers', () => {
  it('ignores a forwarded host that is not a host name and posts to the real host instead', async () => {
    const response = await new Collector(NO_PORTS).handle(
      snippetRequest({
        host: 'track.example.com',
        'x-forwarded-host': 'evil.example/"+alert(1)+"',
        'x-forwarded-proto': 'javascript',
      }),
    );

    expect(response.body).toContain('"https://track.example.com"');
    expect(response.body).not.toContain('evil.example');
  });

  it('tells shared caches that the script differs by host, so one caller cannot poison it for everyone', async () => {
    const response = await new Collector(NO_PORTS).handle(
      snippetRequest({ host: 'track.example.com', 'x-forwarded-host': 'attacker.example' }),
    );

    expect(response.headers.vary).toMatch(/x-forwarded-host/);
  });
});

describe('an identify whose traits no longer fit', () => {
  it('is accepted with a warning naming the traits that were not stored, so nothing is dropped silently', async () => {
    const ports: CollectPorts = {
      ...NO_PORTS,
      sourceForWriteKey: async () => 'src_site',
      ingest: async (events) => ({
        accepted: events.length,
        duplicates: 0,
        bots: 0,
        consentWithheld: 0,
        merges: [],
        droppedTraits: [{ messageId: 'm-full', traits: ['bio', 'notes'] }],
      }),
    };

    const response = await new Collector(ports).handle({
      method: 'POST',
      path: '/v1/batch',
      headers: { authorization: `Basic ${Buffer.from('wk_test:').toString('base64')}` },
      query: {},
      body: JSON.stringify({
        batch: [
          { type: 'track', userId: 'u1', event: 'Viewed', messageId: 'm-ok' },
          { type: 'identify', userId: 'u1', traits: { bio: 'x', notes: 'y' }, messageId: 'm-full' },
        ],
      }),
      isBase64Encoded: false,
      sourceIp: '198.51.100.1',
      receivedAt: new Date('2026-06-15T10:00:00.000Z'),
    });

    expect(response.status).toBe(200);
    expect(JSON.parse(response.body)).toMatchObject({
      accepted: 2,
      warnings: [
        { index: 1, warning: expect.stringMatching(/traits not stored.*300 KB limit: bio, notes$/) },
      ],
    });
  });
});
