// The enrichers that run on identify and import, loaded from the shipped data on first use rather than at cold start.
import { emailDomainEnricher, loadEmailDomainLists } from './email-domain.ts';
import type { Enricher } from './enricher.ts';
import { ipCountryEnricher, loadIpCountryTable } from './ip-country.ts';
import { DEFAULT_DATA_DIR } from './shipped-data.ts';

/**
 * A loader of the shipped enrichers, in the order that decides namespace conflicts. The data (about 60–130 ms to
 * load, 6–7 MB of memory) is read by the first call, so a container that never sees an identify never pays for it;
 * later calls return the same list. A failed load throws and is tried again by the next call.
 */
export function shippedEnrichers(dataDir: URL = DEFAULT_DATA_DIR): () => readonly Enricher[] {
  let loaded: readonly Enricher[] | undefined;
  return () => {
    if (loaded === undefined) {
      const email = loadEmailDomainLists(dataDir);
      const ip = loadIpCountryTable(dataDir);
      loaded = [emailDomainEnricher(email), ipCountryEnricher(ip)];
    }
    return loaded;
  };
}
