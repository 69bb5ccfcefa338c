// GET /dashboard: serves the KPI dashboard shell (no data) with its Content-Security-Policy and cache validators.
import { readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { type HttpEvent, type HttpResult, httpHandler } from '../shared/http.ts';
import { headerValue } from '../tracking/ingest/body.ts';
import { dashboardPage } from './page.ts';

// The client bundle ships beside this handler (lib/constructs/dashboard.ts bundles it at synth time); rendered once.
const page = dashboardPage({
  script: readFileSync(new URL('./data/dashboard-client.js', import.meta.url), 'utf8'),
});
// Compressed once per cold start: the shell carries chart.js, and API Gateway HTTP APIs do not compress.
const gzipped = gzipSync(page.html).toString('base64');

const HEADERS: Record<string, string> = {
  'content-type': 'text/html; charset=utf-8',
  'content-security-policy': page.contentSecurityPolicy,
  // The same shell for everyone, and no data in it: browsers keep it and revalidate with the ETag on each visit.
  'cache-control': 'public, no-cache',
  etag: page.etag,
  vary: 'accept-encoding',
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
};

function acceptsGzip(event: HttpEvent): boolean {
  const accepted = headerValue(event.headers ?? {}, 'accept-encoding') ?? '';
  return accepted.split(',').some((entry) => {
    const [coding = '', ...parameters] = entry.split(';').map((part) => part.trim().toLowerCase());
    return coding === 'gzip' && !parameters.some((parameter) => /^q=0(\.0*)?$/.test(parameter));
  });
}

export const handler = httpHandler(async (event): Promise<HttpResult> => {
  const cached = headerValue(event.headers ?? {}, 'if-none-match');
  if (cached?.split(',').some((tag) => tag.trim() === page.etag))
    return { statusCode: 304, headers: HEADERS };
  if (acceptsGzip(event))
    return {
      statusCode: 200,
      headers: { ...HEADERS, 'content-encoding': 'gzip' },
      body: gzipped,
      isBase64Encoded: true,
    };
  return { statusCode: 200, headers: HEADERS, body: page.html };
});
