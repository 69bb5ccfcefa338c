// The enrichment runner: merges enrichers' trait additions with provenance and records, never propagates, failures.
import { describe, expect, it } from 'vitest';
import {
  applyEnrichment,
  type Enricher,
  type EnrichmentInput,
  type EnrichmentResult,
  runEnrichers,
} from '../../../functions/enrichment/enricher.ts';

const NOW = new Date('2026-06-15T10:00:00.000Z');
const INPUT: EnrichmentInput = {
  traits: { email: 'ana@example.com' },
  email: 'ana@example.com',
  ip: '203.0.113.7',
  context: { now: NOW, trigger: 'identify' },
};

function enricher(name: string, enrich: () => Promise<EnrichmentResult>, timeoutMs?: number): Enricher {
  return { name, version: `${name}-v1`, enrich, ...(timeoutMs === undefined ? {} : { timeoutMs }) };
}

const geo = enricher('geo-source', async () => ({ additions: { geo: { country: 'DE' } } }));
const email = enricher('email-source', async () => ({ additions: { email: { freeMail: false } } }));

describe('running enrichers', () => {
  it('merges every enricher’s namespaces, each stamped with its source, version and time', async () => {
    const outcome = await runEnrichers([geo, email], INPUT);

    expect(outcome).toEqual({
      namespaces: {
        geo: {
          country: 'DE',
          provenance: { source: 'geo-source', version: 'geo-source-v1', at: NOW.toISOString() },
        },
        email: {
          freeMail: false,
          provenance: { source: 'email-source', version: 'email-source-v1', at: NOW.toISOString() },
        },
      },
      failures: [],
    });
  });

  it('records a rejecting enricher as a failure and still keeps the others’ results', async () => {
    const broken = enricher('broken', async () => {
      throw new Error('upstream returned 503');
    });

    const outcome = await runEnrichers([broken, geo], INPUT);

    expect(outcome.failures).toEqual([
      { enricher: 'broken', version: 'broken-v1', reason: 'Error: upstream returned 503' },
    ]);
    expect(Object.keys(outcome.namespaces)).toEqual(['geo']);
  });

  it('records an enricher that throws synchronously instead of returning a promise', async () => {
    const throwsAtOnce: Enricher = {
      name: 'sync-thrower',
      version: '1',
      enrich: () => {
        throw new TypeError('bad input');
      },
    };

    const outcome = await runEnrichers([throwsAtOnce], INPUT);

    expect(outcome.failures).toEqual([
      { enricher: 'sync-thrower', version: '1', reason: 'TypeError: bad input' },
    ]);
  });

  it('gives up on an enricher that exceeds its time budget', async () => {
    const hangs = enricher('hangs', () => new Promise<EnrichmentResult>(() => {}), 20);

    const outcome = await runEnrichers([hangs, geo], INPUT);

    expect(outcome.failures).toEqual([
      { enricher: 'hangs', version: 'hangs-v1', reason: 'EnricherTimeout: no result within 20 ms' },
    ]);
    expect(outcome.namespaces.geo).toBeDefined();
  });

  it('rejects additions that are not JSON objects under a camelCase namespace', async () => {
    const badNamespace = enricher('bad-namespace', async () => ({
      additions: { 'Geo Data': { country: 'DE' } },
    }));

    const outcome = await runEnrichers([badNamespace], INPUT);

    expect(outcome.namespaces).toEqual({});
    expect(outcome.failures[0]?.reason).toMatch(/^invalid result/);
  });

  it('lets the first listed enricher own a namespace two enrichers write', async () => {
    const otherGeo = enricher('other-geo', async () => ({ additions: { geo: { country: 'FR' } } }));

    const outcome = await runEnrichers([geo, otherGeo], INPUT);

    expect(outcome.namespaces.geo).toMatchObject({ country: 'DE' });
    expect(outcome.failures).toEqual([
      {
        enricher: 'other-geo',
        version: 'other-geo-v1',
        reason: 'namespace "geo" already written by geo-source',
      },
    ]);
  });

  it('adds nothing when no enricher found anything', async () => {
    const empty = enricher('empty', async () => ({ additions: {} }));

    const outcome = await runEnrichers([empty], INPUT);

    expect(outcome).toEqual({ namespaces: {}, failures: [] });
  });
});

describe('applying enrichment to traits', () => {
  it('replaces the namespaces that were enriched and keeps the others', async () => {
    const traits = {
      name: 'Ana',
      enrichment: { geo: { country: 'FR', region: 'IDF' }, company: { size: 50 } },
    };
    const outcome = await runEnrichers([geo], INPUT);

    const enriched = applyEnrichment(traits, outcome);

    expect(enriched).toEqual({
      name: 'Ana',
      enrichment: { geo: outcome.namespaces.geo, company: { size: 50 } },
    });
  });

  it('leaves the traits untouched when nothing was enriched', () => {
    const traits = { name: 'Ana' };

    expect(applyEnrichment(traits, { namespaces: {}, failures: [] })).toBe(traits);
  });
});
