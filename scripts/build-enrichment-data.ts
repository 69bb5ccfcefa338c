// Generates the compact enrichment data in functions/enrichment/data/ from the freemail and DB-IP npm packages.
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { domainToASCII, fileURLToPath } from 'node:url';
import { brotliCompressSync, constants } from 'node:zlib';
import * as z from 'zod';
import { encodeIpCountryTable, type IpCountryRange } from '../functions/enrichment/ip-country.ts';
import { DATA_FILES } from '../functions/enrichment/shipped-data.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const OUT = join(ROOT, 'functions', 'enrichment', 'data');
const FREEMAIL = join(ROOT, 'node_modules', 'freemail');
const DBIP = join(ROOT, 'node_modules', '@ip-location-db', 'dbip-country');

const packageSchema = z.object({ version: z.string() });
const HOSTNAME = /^(?=.{1,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z0-9-]{2,63}$/;

function packageVersion(dir: string): string {
  return packageSchema.parse(JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'))).version;
}

/** Brotli at its best setting: the files are written once and read at every cold start. */
function compress(data: Buffer): Buffer {
  return brotliCompressSync(data, {
    params: {
      [constants.BROTLI_PARAM_QUALITY]: 11,
      [constants.BROTLI_PARAM_LGWIN]: 24,
      [constants.BROTLI_PARAM_SIZE_HINT]: data.length,
    },
  });
}

/**
 * The list's domains in ASCII (IDNs as punycode), lower case, sorted and deduplicated. Lines that are not host names
 * (`404: not found`, `1`, names without a dot) are upstream noise and are dropped.
 */
function domainList(file: string): string[] {
  const domains = new Set<string>();
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const ascii = domainToASCII(line.trim().toLowerCase());
    if (HOSTNAME.test(ascii)) domains.add(ascii);
  }
  return [...domains].sort();
}

/** Rows of a DB-IP `*-num.csv` file: inclusive numeric start and end, ISO country. */
function dbipRanges(file: string): IpCountryRange[] {
  const ranges: IpCountryRange[] = [];
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    if (line.trim() === '') continue;
    const [start, end, country] = line.trim().split(',');
    if (start === undefined || end === undefined || country === undefined || !/^[A-Z]{2}$/.test(country)) {
      throw new Error(`${file}: unexpected row ${JSON.stringify(line)}`);
    }
    ranges.push({ start: BigInt(start), end: BigInt(end), country });
  }
  return ranges;
}

/** `2.3.2026060120` → `2026-06-01`: the package's last version field is the DB-IP release date and hour. */
function dbipRelease(version: string): string {
  const match = /\.(\d{4})(\d{2})(\d{2})\d{2}$/.exec(version);
  if (match === null) throw new Error(`unexpected @ip-location-db/dbip-country version ${version}`);
  return `${match[1]}-${match[2]}-${match[3]}`;
}

function sha256(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

mkdirSync(OUT, { recursive: true });
const files: Record<string, { bytes: number; sha256: string }> = {};
function write(name: string, data: Buffer): void {
  writeFileSync(join(OUT, name), data);
  files[name] = { bytes: data.length, sha256: sha256(data) };
}

const free = domainList(join(FREEMAIL, 'data', 'free.txt'));
const disposableSet = new Set(domainList(join(FREEMAIL, 'data', 'disposable.txt')));
const disposable = [...disposableSet];
// A domain on both lists is disposable: that is the stronger signal.
const freeOnly = free.filter((domain) => !disposableSet.has(domain));
write(DATA_FILES.freeDomains, compress(Buffer.from(`${freeOnly.join('\n')}\n`)));
write(DATA_FILES.disposableDomains, compress(Buffer.from(`${disposable.join('\n')}\n`)));

const v4 = dbipRanges(join(DBIP, 'dbip-country-ipv4-num.csv'));
const v6 = dbipRanges(join(DBIP, 'dbip-country-ipv6-num.csv'));
const table = encodeIpCountryTable({ v4, v6 });
write(DATA_FILES.ipCountry, compress(table.bytes));

const manifest = {
  emailDomains: {
    source: 'freemail',
    version: packageVersion(FREEMAIL),
    license: 'ISC',
    freeDomains: freeOnly.length,
    disposableDomains: disposable.length,
  },
  ipCountry: {
    source: 'DB-IP IP to Country Lite',
    version: dbipRelease(packageVersion(DBIP)),
    license: 'CC-BY-4.0',
    v4Ranges: table.v4Entries,
    v6Ranges: table.v6Entries,
  },
  files,
};
writeFileSync(join(OUT, DATA_FILES.manifest), `${JSON.stringify(manifest, null, 2)}\n`);
console.log(JSON.stringify(manifest, null, 2));
