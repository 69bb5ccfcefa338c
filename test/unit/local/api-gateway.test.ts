// The local HTTP API behaves like API Gateway: routes, payloads, authorizers, quotas, errors and CORS.
import { once } from 'node:events';
import http from 'node:http';
import { gzipSync } from 'node:zlib';
import { afterEach, describe, expect, it } from 'vitest';
import {
  compileRoutes,
  createHttpApiHandler,
  encodeRequestBody,
  formatRequestTime,
  type GatewayRequest,
  type HttpApiHandlerOptions,
  type HttpApiRequestLogEntry,
  isAuthorized,
  mapIntegrationResponse,
  matchRoute,
  parseAuthorizerResponse,
  parseQueryString,
  resolveIdentitySources,
  sigV4AccessKey,
} from '../../../lib/local/api-gateway.ts';
import type {
  FunctionInvoker,
  HttpApiDefinition,
  HttpCorsDefinition,
  HttpRouteDefinition,
  InvokeResult,
  LambdaAuthorizerDefinition,
} from '../../../lib/local/types.ts';

type FunctionBehaviour = (event: unknown) => InvokeResult | Promise<InvokeResult>;

const returns = (value: unknown): InvokeResult => ({ ok: true, value, durationMs: 1 });
const fails = (errorMessage = 'boom'): InvokeResult => ({
  ok: false,
  error: { errorType: 'Error', errorMessage },
  durationMs: 1,
});
const echoEvent: FunctionBehaviour = () => returns({ statusCode: 200, body: 'ok' });

class FakeInvoker implements FunctionInvoker {
  readonly calls: { functionLogicalId: string; event: unknown }[] = [];
  constructor(private readonly behaviours: Record<string, FunctionBehaviour>) {}

  async invoke(functionLogicalId: string, event: unknown): Promise<InvokeResult> {
    this.calls.push({ functionLogicalId, event });
    const behaviour = this.behaviours[functionLogicalId];
    if (behaviour === undefined) throw new Error(`no fake for ${functionLogicalId}`);
    return behaviour(event);
  }

  callsTo(functionLogicalId: string): unknown[] {
    return this.calls
      .filter((call) => call.functionLogicalId === functionLogicalId)
      .map((call) => call.event);
  }

  lastEventOf(functionLogicalId: string): unknown {
    return this.callsTo(functionLogicalId).at(-1);
  }
}

function route(routeKey: string, functionLogicalId: string, extra: Partial<HttpRouteDefinition> = {}) {
  return { routeKey, functionLogicalId, payloadFormatVersion: '2.0', timeoutMs: 5_000, ...extra } as const;
}

const servers: http.Server[] = [];

afterEach(async () => {
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
});

async function startApi(
  api: Omit<HttpApiDefinition, 'apiId'> & { apiId?: string },
  behaviours: Record<string, FunctionBehaviour>,
  extra: Partial<HttpApiHandlerOptions> = {},
) {
  const invoker = new FakeInvoker(behaviours);
  const logs: HttpApiRequestLogEntry[] = [];
  const handler = createHttpApiHandler({
    api: { apiId: 'local123', ...api },
    invoker,
    accountId: '123456789012',
    region: 'eu-west-1',
    onRequestLog: (entry) => logs.push(entry),
    ...extra,
  });
  const server = http.createServer((req, res) => void handler(req, res));
  servers.push(server);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('server has no port');
  return { url: `http://127.0.0.1:${address.port}`, port: address.port, invoker, logs };
}

/** A raw request, for what fetch cannot send (repeated header lines). */
function rawRequest(
  url: string,
  options: { method?: string; headers?: Record<string, string | string[]>; body?: Buffer },
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: options.method ?? 'GET' }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }));
    });
    for (const [name, value] of Object.entries(options.headers ?? {})) req.setHeader(name, value);
    req.on('error', reject);
    req.end(options.body);
  });
}

const simpleAuthorizer = (extra: Partial<LambdaAuthorizerDefinition> = {}): LambdaAuthorizerDefinition => ({
  type: 'lambda',
  functionLogicalId: 'Authorizer',
  simpleResponses: true,
  identitySource: ['$request.header.Authorization'],
  resultTtlSeconds: 0,
  payloadFormatVersion: '2.0',
  ...extra,
});

function gatewayRequest(overrides: Partial<GatewayRequest> = {}): GatewayRequest {
  return {
    method: 'GET',
    rawPath: '/',
    rawQueryString: '',
    headers: [],
    body: Buffer.alloc(0),
    sourceIp: '127.0.0.1',
    protocol: 'HTTP/1.1',
    ...overrides,
  };
}

describe('route selection', () => {
  const routes = compileRoutes([
    route('GET /pets/dog/1', 'ExactDog'),
    route('GET /pets/dog/{id}', 'DogById'),
    route('GET /pets/{type}/{id}', 'PetByTypeAndId'),
    route('GET /pets/{proxy+}', 'PetsGreedy'),
    route('ANY /{proxy+}', 'AnyGreedy'),
    route('ANY /orders', 'AnyOrders'),
    route('POST /orders', 'PostOrders'),
    route('$default', 'Default'),
  ]);
  const select = (method: string, rawPath: string) => matchRoute(routes, { method, rawPath });

  it('prefers an exact route over path variables and greedy variables', () => {
    expect(select('GET', '/pets/dog/1')?.route.functionLogicalId).toBe('ExactDog');
  });

  it('prefers the route whose leftmost segment is literal among path-variable routes', () => {
    expect(select('GET', '/pets/dog/2')).toMatchObject({
      route: { functionLogicalId: 'DogById' },
      pathParameters: { id: '2' },
      resourcePath: '/pets/dog/{id}',
    });
    expect(select('GET', '/pets/cat/7')?.route.functionLogicalId).toBe('PetByTypeAndId');
  });

  it('prefers a full match over a greedy match, and the longer greedy prefix over a shorter one', () => {
    expect(select('GET', '/pets/cat/7/toys')).toMatchObject({
      route: { functionLogicalId: 'PetsGreedy' },
      pathParameters: { proxy: 'cat/7/toys' },
    });
    expect(select('POST', '/pets/cat/7')?.route.functionLogicalId).toBe('AnyGreedy');
  });

  it('prefers a full match with path variables over a greedy match with literal segments', () => {
    const twoKinds = compileRoutes([
      route('GET /pets/{proxy+}', 'PetsGreedy'),
      route('GET /{kind}/{name}/{id}', 'Full'),
    ]);
    expect(matchRoute(twoKinds, { method: 'GET', rawPath: '/pets/cat/7' })?.route.functionLogicalId).toBe(
      'Full',
    );
  });

  it('matches ANY for every method not defined for the resource', () => {
    expect(select('POST', '/orders')?.route.functionLogicalId).toBe('PostOrders');
    expect(select('DELETE', '/orders')?.route.functionLogicalId).toBe('AnyOrders');
  });

  it('falls back to $default only when nothing else matches', () => {
    expect(select('GET', '/')?.route.functionLogicalId).toBe('Default');
    expect(select('GET', '/')?.pathParameters).toBeUndefined();
  });

  it('decodes path parameters', () => {
    expect(select('GET', '/pets/dog/a%20b%2Fc')?.pathParameters).toEqual({ id: 'a b/c' });
  });

  it('matches nothing when there is no $default route', () => {
    const without = compileRoutes([route('GET /health', 'Health')]);
    expect(matchRoute(without, { method: 'GET', rawPath: '/healthz' })).toBeUndefined();
    expect(matchRoute(without, { method: 'POST', rawPath: '/health' })).toBeUndefined();
  });

  it('rejects malformed and duplicate route keys before serving', () => {
    expect(() => compileRoutes([route('GET /a/{proxy+}/b', 'X')])).toThrow(/greedy/);
    expect(() => compileRoutes([route('FETCH /a', 'X')])).toThrow(/Invalid HTTP API route key/);
    expect(() => compileRoutes([route('GET /a', 'X'), route('GET /a', 'Y')])).toThrow(/Duplicate/);
  });
});

describe('request payload rules', () => {
  it('formats the request time like API Gateway', () => {
    expect(formatRequestTime(new Date(Date.UTC(2020, 2, 4, 9, 3, 58)))).toBe('04/Mar/2020:09:03:58 +0000');
  });

  it('passes JSON and text as UTF-8 but base64-encodes form posts, unknown types and encoded bodies', () => {
    const body = Buffer.from('a=1&b=2');
    expect(encodeRequestBody(body, 'application/json; charset=utf-8', undefined)).toEqual({
      body: 'a=1&b=2',
      isBase64Encoded: false,
    });
    expect(encodeRequestBody(body, 'text/plain', undefined).isBase64Encoded).toBe(false);
    expect(encodeRequestBody(body, 'application/x-www-form-urlencoded', undefined).isBase64Encoded).toBe(
      true,
    );
    expect(encodeRequestBody(body, undefined, undefined).isBase64Encoded).toBe(true);
    expect(encodeRequestBody(body, 'application/json', 'gzip')).toEqual({
      body: body.toString('base64'),
      isBase64Encoded: true,
    });
    expect(encodeRequestBody(Buffer.alloc(0), 'image/png', undefined)).toEqual({ isBase64Encoded: false });
  });

  it('decodes query strings, keeping repeated keys in order', () => {
    expect(parseQueryString('a=1&a=2&b=x+y%2B&flag')).toEqual(
      new Map([
        ['a', ['1', '2']],
        ['b', ['x y+']],
        ['flag', ['']],
      ]),
    );
  });
});

describe('integration response mapping', () => {
  it('infers a 200 JSON response when a 2.0 function returns no statusCode', () => {
    const mapped = mapIntegrationResponse('2.0', { message: 'hi' });
    expect(mapped).toMatchObject({ ok: true, response: { statusCode: 200 } });
    if (!mapped.ok) throw new Error(mapped.reason);
    expect(mapped.response.body.toString()).toBe('{"message":"hi"}');
    expect(mapped.response.headers).toContainEqual(['content-type', 'application/json']);
  });

  it('uses a returned string as the body itself', () => {
    const mapped = mapIntegrationResponse('2.0', 'Hello from Lambda!');
    if (!mapped.ok) throw new Error(mapped.reason);
    expect(mapped.response.body.toString()).toBe('Hello from Lambda!');
  });

  it('rejects a malformed structured response', () => {
    expect(mapIntegrationResponse('2.0', { statusCode: 200, body: { not: 'a string' } }).ok).toBe(false);
    expect(mapIntegrationResponse('1.0', { body: 'no status' }).ok).toBe(false);
    expect(mapIntegrationResponse('2.0', { statusCode: 200, headers: { 'bad name': 'x' } }).ok).toBe(false);
  });

  it('merges headers and multiValueHeaders, multiValueHeaders winning for the same name', () => {
    const mapped = mapIntegrationResponse('1.0', {
      statusCode: 201,
      headers: { 'X-One': '1', 'X-Both': 'single' },
      multiValueHeaders: { 'X-Both': ['a', 'b'] },
      body: '',
    });
    if (!mapped.ok) throw new Error(mapped.reason);
    expect(mapped.response.headers).toEqual([
      ['X-Both', 'a'],
      ['X-Both', 'b'],
      ['X-One', '1'],
    ]);
  });
});

describe('authorizer policies', () => {
  const arn = 'arn:aws:execute-api:eu-west-1:123456789012:local123/$default/GET/admin/status';
  const policy = (statements: unknown) =>
    parseAuthorizerResponse(false, { principalId: 'ops', policyDocument: { Statement: statements } });

  it('allows a route covered by an Allow statement with wildcards', () => {
    const decision = policy([
      {
        Effect: 'Allow',
        Action: 'execute-api:Invoke',
        Resource: 'arn:aws:execute-api:*:*:local123/*/GET/admin/*',
      },
    ]);
    expect(decision !== undefined && isAuthorized(decision, arn)).toBe(true);
  });

  it('lets an explicit Deny win and denies what no statement covers', () => {
    const both = policy([
      { Effect: 'Allow', Action: '*', Resource: '*' },
      { Effect: 'Deny', Action: 'execute-api:Invoke', Resource: arn },
    ]);
    const elsewhere = policy({ Effect: 'Allow', Action: 'execute-api:Invoke', Resource: `${arn}/other` });
    expect(both !== undefined && isAuthorized(both, arn)).toBe(false);
    expect(elsewhere !== undefined && isAuthorized(elsewhere, arn)).toBe(false);
  });

  it('treats a response of the wrong shape as malformed', () => {
    expect(parseAuthorizerResponse(true, { isAuthorized: 'yes' })).toBeUndefined();
    expect(parseAuthorizerResponse(false, { isAuthorized: true })).toBeUndefined();
  });
});

describe('identity sources and signatures', () => {
  const context = {
    routeKey: 'GET /admin/status',
    requestId: 'r1',
    apiId: 'local123',
    accountId: '123456789012',
  };

  it('resolves header (case-insensitive), query and context sources in order', () => {
    const request = gatewayRequest({ headers: [['AUTHORIZATION', 'Bearer t']], rawQueryString: 'site=s1' });
    expect(
      resolveIdentitySources(
        ['$request.header.authorization', '$request.querystring.site', '$context.routeKey'],
        request,
        context,
      ),
    ).toEqual(['Bearer t', 's1', 'GET /admin/status']);
  });

  it('reports an empty or absent source as missing', () => {
    const empty = gatewayRequest({ headers: [['authorization', '']] });
    expect(resolveIdentitySources(['$request.header.Authorization'], empty, context)).toBeUndefined();
    expect(resolveIdentitySources(['$stageVariables.key'], gatewayRequest(), context)).toBeUndefined();
  });

  it('recognises presigned SigV4 query strings as signed', () => {
    const presigned = gatewayRequest({
      rawQueryString:
        'X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIDEXAMPLE%2F20260101%2Feu-west-1%2Fexecute-api%2Faws4_request&X-Amz-Signature=abc',
    });
    expect(sigV4AccessKey(presigned)).toBe('AKIDEXAMPLE');
    expect(
      sigV4AccessKey(gatewayRequest({ headers: [['authorization', 'AWS4-HMAC-SHA256 nonsense']] })),
    ).toBeUndefined();
  });
});

describe('local HTTP API over HTTP', () => {
  it('answers 404 Not Found with a request id for an unknown route', async () => {
    const { url, invoker, logs } = await startApi({ routes: [route('GET /health', 'Health')] }, {});
    const response = await fetch(`${url}/nope?secret=1`);
    expect(response.status).toBe(404);
    expect(await response.json()).toEqual({ message: 'Not Found' });
    expect(response.headers.get('apigw-requestid')).toMatch(/^[A-Za-z0-9+/]{15}=$/);
    expect(invoker.calls).toHaveLength(0);
    expect(logs).toMatchObject([{ method: 'GET', path: '/nope', routeKey: '-', status: 404 }]);
  });

  it('routes to the most specific route and passes decoded path parameters', async () => {
    const { url, invoker } = await startApi(
      {
        routes: [
          route('POST /v1/{type}', 'Track'),
          route('POST /v1/batch', 'Batch'),
          route('ANY /admin/{proxy+}', 'Admin'),
          route('$default', 'Default'),
        ],
      },
      { Track: echoEvent, Batch: echoEvent, Admin: echoEvent, Default: echoEvent },
    );
    await fetch(`${url}/v1/batch`, { method: 'POST' });
    await fetch(`${url}/v1/identify`, { method: 'POST' });
    await fetch(`${url}/admin/journeys/j%201`, { method: 'DELETE' });
    await fetch(`${url}/anything/else`);
    expect(invoker.calls.map((call) => call.functionLogicalId)).toEqual([
      'Batch',
      'Track',
      'Admin',
      'Default',
    ]);
    expect(invoker.lastEventOf('Track')).toMatchObject({
      routeKey: 'POST /v1/{type}',
      pathParameters: { type: 'identify' },
    });
    expect(invoker.lastEventOf('Admin')).toMatchObject({ pathParameters: { proxy: 'journeys/j 1' } });
    expect(invoker.lastEventOf('Default')).toMatchObject({ routeKey: '$default', rawPath: '/anything/else' });
    expect(invoker.lastEventOf('Default')).not.toHaveProperty('pathParameters');
  });

  it('builds the payload 2.0 event API Gateway sends', async () => {
    const time = new Date(Date.UTC(2020, 2, 12, 19, 3, 58, 390));
    const { url, port, invoker } = await startApi(
      { routes: [route('POST /v1/{type}', 'Track')] },
      { Track: echoEvent },
      { now: () => time },
    );
    const response = await rawRequest(`${url}/v1/track?a=1&a=2&b=x%20y`, {
      method: 'POST',
      headers: {
        'Content-Type': 'application/json',
        'User-Agent': 'test-agent/1.0',
        'X-Multi': ['one', 'two'],
        Cookie: 'session=abc; theme=dark',
      },
      body: Buffer.from('{"event":"Signed Up"}'),
    });
    expect(response.status).toBe(200);
    const event = invoker.lastEventOf('Track');
    expect(event).toMatchObject({
      version: '2.0',
      routeKey: 'POST /v1/{type}',
      rawPath: '/v1/track',
      rawQueryString: 'a=1&a=2&b=x%20y',
      cookies: ['session=abc', 'theme=dark'],
      headers: {
        'content-type': 'application/json',
        'user-agent': 'test-agent/1.0',
        'x-multi': 'one,two',
        host: `127.0.0.1:${port}`,
        'x-forwarded-for': '127.0.0.1',
        'x-forwarded-proto': 'http',
      },
      queryStringParameters: { a: '1,2', b: 'x y' },
      pathParameters: { type: 'track' },
      requestContext: {
        accountId: '123456789012',
        apiId: 'local123',
        domainName: `127.0.0.1:${port}`,
        http: {
          method: 'POST',
          path: '/v1/track',
          protocol: 'HTTP/1.1',
          sourceIp: '127.0.0.1',
          userAgent: 'test-agent/1.0',
        },
        routeKey: 'POST /v1/{type}',
        stage: '$default',
        time: '12/Mar/2020:19:03:58 +0000',
        timeEpoch: time.getTime(),
      },
      body: '{"event":"Signed Up"}',
      isBase64Encoded: false,
    });
    expect(event).not.toHaveProperty('headers.cookie');
    expect(event).not.toHaveProperty('requestContext.authorizer');
    expect(event).toHaveProperty('requestContext.requestId', expect.stringMatching(/^[A-Za-z0-9+/]{15}=$/));
  });

  it('builds the payload 1.0 event for a route that asks for it', async () => {
    const { url, invoker } = await startApi(
      { routes: [route('GET /pets/{id}', 'Legacy', { payloadFormatVersion: '1.0' })] },
      { Legacy: () => returns({ statusCode: 200, body: 'ok' }) },
    );
    await rawRequest(`${url}/pets/7?tag=a&tag=b`, { headers: { 'X-Multi': ['one', 'two'] } });
    expect(invoker.lastEventOf('Legacy')).toMatchObject({
      version: '1.0',
      resource: '/pets/{id}',
      path: '/pets/7',
      httpMethod: 'GET',
      headers: { 'X-Multi': 'two' },
      multiValueHeaders: { 'X-Multi': ['one', 'two'] },
      queryStringParameters: { tag: 'b' },
      multiValueQueryStringParameters: { tag: ['a', 'b'] },
      pathParameters: { id: '7' },
      stageVariables: null,
      body: null,
      isBase64Encoded: false,
      requestContext: {
        httpMethod: 'GET',
        resourcePath: '/pets/{id}',
        stage: '$default',
        identity: { sourceIp: '127.0.0.1' },
      },
    });
  });

  it('delivers a gzip-compressed body base64-encoded, byte for byte', async () => {
    const { url, invoker } = await startApi(
      { routes: [route('POST /v1/batch', 'Batch')] },
      { Batch: echoEvent },
    );
    const compressed = gzipSync(JSON.stringify({ batch: [{ type: 'track', event: 'Order Completed' }] }));
    const response = await fetch(`${url}/v1/batch`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' },
      body: compressed,
    });
    expect(response.status).toBe(200);
    expect(invoker.lastEventOf('Batch')).toMatchObject({
      isBase64Encoded: true,
      body: compressed.toString('base64'),
    });
  });

  it('accepts a 1 MB JSON body intact', async () => {
    const { url, invoker } = await startApi(
      { routes: [route('POST /v1/batch', 'Batch')] },
      { Batch: echoEvent },
    );
    const body = JSON.stringify({ batch: 'x'.repeat(1024 * 1024) });
    const response = await fetch(`${url}/v1/batch`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body,
    });
    expect(response.status).toBe(200);
    expect(invoker.lastEventOf('Batch')).toMatchObject({ body, isBase64Encoded: false });
  });

  it('rejects a body over 10 MB with 413 without invoking the function', async () => {
    const { url, invoker } = await startApi(
      { routes: [route('POST /v1/batch', 'Batch')] },
      { Batch: echoEvent },
    );
    const response = await fetch(`${url}/v1/batch`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: Buffer.alloc(10 * 1024 * 1024 + 1, 0x20),
    });
    expect(response.status).toBe(413);
    expect(await response.json()).toEqual({ message: 'Request Entity Too Large' });
    expect(invoker.calls).toHaveLength(0);
  });

  it('rejects a chunked body that grows past 10 MB with 413', async () => {
    const { url, invoker } = await startApi(
      { routes: [route('POST /v1/batch', 'Batch')] },
      { Batch: echoEvent },
    );
    const response = await rawRequest(`${url}/v1/batch`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'transfer-encoding': 'chunked' },
      body: Buffer.alloc(10 * 1024 * 1024 + 1, 0x20),
    });
    expect(response).toEqual({ status: 413, body: '{"message":"Request Entity Too Large"}' });
    expect(invoker.calls).toHaveLength(0);
  });

  it('answers 500 Internal Server Error when the function fails', async () => {
    const { url } = await startApi({ routes: [route('GET /health', 'Health')] }, { Health: () => fails() });
    const response = await fetch(`${url}/health`);
    expect(response.status).toBe(500);
    expect(await response.json()).toEqual({ message: 'Internal Server Error' });
  });

  it('answers 500 when the function returns a malformed proxy response', async () => {
    const { url } = await startApi(
      { routes: [route('GET /health', 'Health')] },
      { Health: () => returns({ statusCode: 'two hundred' }) },
    );
    expect((await fetch(`${url}/health`)).status).toBe(500);
  });

  it('answers 503 Service Unavailable when the function outlives the integration timeout', async () => {
    const { url } = await startApi(
      { routes: [route('GET /slow', 'Slow', { timeoutMs: 50 })] },
      { Slow: () => new Promise((resolve) => setTimeout(() => resolve(returns('late')), 400)) },
    );
    const started = Date.now();
    const response = await fetch(`${url}/slow`);
    expect(response.status).toBe(503);
    expect(await response.json()).toEqual({ message: 'Service Unavailable' });
    expect(Date.now() - started).toBeLessThan(400);
  });

  it('infers a 200 application/json response when the function returns an object without statusCode', async () => {
    const { url } = await startApi(
      { routes: [route('GET /health', 'Health')] },
      { Health: () => returns({ ok: true }) },
    );
    const response = await fetch(`${url}/health`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('application/json');
    expect(await response.text()).toBe('{"ok":true}');
  });

  it('sends a structured response: status, headers, and a base64 body decoded to bytes', async () => {
    const gif = Buffer.from('R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7', 'base64');
    const { url } = await startApi(
      { routes: [route('GET /v1/pixel/{type}', 'Pixel')] },
      {
        Pixel: () =>
          returns({
            statusCode: 201,
            headers: { 'content-type': 'image/gif', 'x-nurture': 1 },
            body: gif.toString('base64'),
            isBase64Encoded: true,
          }),
      },
    );
    const response = await fetch(`${url}/v1/pixel/track`);
    expect(response.status).toBe(201);
    expect(response.headers.get('content-type')).toBe('image/gif');
    expect(response.headers.get('x-nurture')).toBe('1');
    expect(Buffer.from(await response.arrayBuffer())).toEqual(gif);
  });

  it('turns each response cookie into its own Set-Cookie header', async () => {
    const { url } = await startApi(
      { routes: [route('GET /login', 'Login')] },
      { Login: () => returns({ statusCode: 200, cookies: ['a=1; Path=/', 'b=2; HttpOnly'], body: 'hi' }) },
    );
    const response = await fetch(`${url}/login`);
    expect(response.headers.getSetCookie()).toEqual(['a=1; Path=/', 'b=2; HttpOnly']);
    expect(response.headers.get('content-type')).toBe('text/plain; charset=utf-8');
  });

  it('reports every request to the request log', async () => {
    const { url, logs } = await startApi({ routes: [route('GET /health', 'Health')] }, { Health: echoEvent });
    await fetch(`${url}/health?token=secret`);
    expect(logs).toEqual([
      {
        method: 'GET',
        path: '/health',
        routeKey: 'GET /health',
        status: 200,
        durationMs: expect.any(Number),
      },
    ]);
  });
});

describe('Lambda authorizers', () => {
  const adminRoute = (authorizer: LambdaAuthorizerDefinition) =>
    route('GET /admin/status', 'AdminStatus', { authorizer });

  it('passes the authorizer context to the function when it allows the request', async () => {
    const { url, invoker } = await startApi(
      { routes: [adminRoute(simpleAuthorizer())] },
      {
        Authorizer: (event) =>
          returns({ isAuthorized: true, context: { operator: 'ops', event: JSON.stringify(event) } }),
        AdminStatus: echoEvent,
      },
    );
    const response = await fetch(`${url}/admin/status`, { headers: { authorization: 'Bearer good' } });
    expect(response.status).toBe(200);
    expect(invoker.lastEventOf('Authorizer')).toMatchObject({
      version: '2.0',
      type: 'REQUEST',
      routeArn: 'arn:aws:execute-api:eu-west-1:123456789012:local123/$default/GET/admin/status',
      identitySource: ['Bearer good'],
      routeKey: 'GET /admin/status',
      headers: { authorization: 'Bearer good' },
    });
    expect(invoker.lastEventOf('AdminStatus')).toMatchObject({
      requestContext: { authorizer: { lambda: { operator: 'ops' } } },
    });
  });

  it('answers 403 Forbidden when the authorizer denies, without invoking the function', async () => {
    const { url, invoker } = await startApi(
      { routes: [adminRoute(simpleAuthorizer())] },
      { Authorizer: () => returns({ isAuthorized: false }), AdminStatus: echoEvent },
    );
    const response = await fetch(`${url}/admin/status`, { headers: { authorization: 'Bearer bad' } });
    expect(response.status).toBe(403);
    expect(await response.json()).toEqual({ message: 'Forbidden' });
    expect(invoker.callsTo('AdminStatus')).toHaveLength(0);
  });

  it('answers 401 Unauthorized without invoking the authorizer when the identity source is missing', async () => {
    const { url, invoker } = await startApi(
      { routes: [adminRoute(simpleAuthorizer())] },
      { Authorizer: () => returns({ isAuthorized: true }), AdminStatus: echoEvent },
    );
    const response = await fetch(`${url}/admin/status`);
    expect(response.status).toBe(401);
    expect(await response.json()).toEqual({ message: 'Unauthorized' });
    expect(invoker.calls).toHaveLength(0);
  });

  it('caches the decision per identity-source value for resultTtlSeconds', async () => {
    let clock = Date.UTC(2026, 0, 1);
    const { url, invoker } = await startApi(
      { routes: [adminRoute(simpleAuthorizer({ resultTtlSeconds: 60 }))] },
      {
        Authorizer: (event) =>
          returns({ isAuthorized: true, context: { call: JSON.stringify(event).length } }),
        AdminStatus: echoEvent,
      },
      { now: () => new Date(clock) },
    );
    const call = (token: string) => fetch(`${url}/admin/status`, { headers: { authorization: token } });
    expect((await call('Bearer a')).status).toBe(200);
    expect((await call('Bearer a')).status).toBe(200);
    expect(invoker.callsTo('Authorizer')).toHaveLength(1);
    await call('Bearer b');
    expect(invoker.callsTo('Authorizer')).toHaveLength(2);
    clock += 61_000;
    await call('Bearer a');
    expect(invoker.callsTo('Authorizer')).toHaveLength(3);
    expect(invoker.callsTo('AdminStatus')).toHaveLength(4);
  });

  it('does not cache when resultTtlSeconds is 0', async () => {
    const { url, invoker } = await startApi(
      { routes: [adminRoute(simpleAuthorizer({ resultTtlSeconds: 0 }))] },
      { Authorizer: () => returns({ isAuthorized: true }), AdminStatus: echoEvent },
    );
    await fetch(`${url}/admin/status`, { headers: { authorization: 'Bearer a' } });
    await fetch(`${url}/admin/status`, { headers: { authorization: 'Bearer a' } });
    expect(invoker.callsTo('Authorizer')).toHaveLength(2);
  });

  it('evaluates an IAM policy response against the route ARN', async () => {
    const authorizer = simpleAuthorizer({ simpleResponses: false, resultTtlSeconds: 300 });
    const { url, invoker } = await startApi(
      {
        routes: [
          route('GET /admin/status', 'AdminStatus', { authorizer }),
          route('DELETE /admin/journeys/{id}', 'DeleteJourney', { authorizer }),
        ],
      },
      {
        Authorizer: () =>
          returns({
            principalId: 'ops',
            policyDocument: {
              Version: '2012-10-17',
              Statement: [
                {
                  Effect: 'Allow',
                  Action: 'execute-api:Invoke',
                  Resource: 'arn:aws:execute-api:*:*:*/*/GET/*',
                },
              ],
            },
            context: { role: 'viewer' },
          }),
        AdminStatus: echoEvent,
        DeleteJourney: echoEvent,
      },
    );
    const headers = { authorization: 'Bearer viewer' };
    expect((await fetch(`${url}/admin/status`, { headers })).status).toBe(200);
    expect((await fetch(`${url}/admin/journeys/j1`, { method: 'DELETE', headers })).status).toBe(403);
    // The cached policy is re-evaluated for the second route rather than reused as a yes/no.
    expect(invoker.callsTo('Authorizer')).toHaveLength(1);
    expect(invoker.lastEventOf('AdminStatus')).toMatchObject({
      requestContext: { authorizer: { lambda: { role: 'viewer' } } },
    });
  });

  it('answers 500 when the authorizer function fails or answers in the wrong shape', async () => {
    const failing = await startApi(
      { routes: [adminRoute(simpleAuthorizer())] },
      { Authorizer: () => fails(), AdminStatus: echoEvent },
    );
    const malformed = await startApi(
      { routes: [adminRoute(simpleAuthorizer())] },
      { Authorizer: () => returns({ allowed: true }), AdminStatus: echoEvent },
    );
    const headers = { authorization: 'Bearer a' };
    const responses = [
      await fetch(`${failing.url}/admin/status`, { headers }),
      await fetch(`${malformed.url}/admin/status`, { headers }),
    ];
    expect(responses.map((r) => r.status)).toEqual([500, 500]);
    expect(await responses[0]?.json()).toEqual({ message: 'Internal Server Error' });
    expect([
      ...failing.invoker.callsTo('AdminStatus'),
      ...malformed.invoker.callsTo('AdminStatus'),
    ]).toHaveLength(0);
  });

  it('reads identity sources from the query string, case-sensitively', async () => {
    const authorizer = simpleAuthorizer({ identitySource: ['$request.querystring.token'] });
    const { url, invoker } = await startApi(
      { routes: [adminRoute(authorizer)] },
      { Authorizer: () => returns({ isAuthorized: true }), AdminStatus: echoEvent },
    );
    expect((await fetch(`${url}/admin/status?Token=x`)).status).toBe(401);
    expect((await fetch(`${url}/admin/status?token=x`)).status).toBe(200);
    expect(invoker.lastEventOf('Authorizer')).toMatchObject({ identitySource: ['x'] });
  });
});

describe('IAM authorization', () => {
  it('requires a SigV4-signed request and passes the caller access key', async () => {
    const { url, invoker } = await startApi(
      { routes: [route('GET /admin/status', 'AdminStatus', { authorizer: { type: 'iam' } })] },
      { AdminStatus: echoEvent },
    );
    const unsigned = await fetch(`${url}/admin/status`, { headers: { authorization: 'Bearer token' } });
    const signed = await fetch(`${url}/admin/status`, {
      headers: {
        authorization:
          'AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20260101/eu-west-1/execute-api/aws4_request, ' +
          'SignedHeaders=host;x-amz-date, Signature=5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7',
        'x-amz-date': '20260101T000000Z',
      },
    });
    expect(unsigned.status).toBe(403);
    expect(await unsigned.json()).toEqual({ message: 'Forbidden' });
    expect(signed.status).toBe(200);
    expect(invoker.calls).toHaveLength(1);
    expect(invoker.lastEventOf('AdminStatus')).toMatchObject({
      requestContext: { authorizer: { iam: { accessKey: 'AKIDEXAMPLE', accountId: '123456789012' } } },
    });
  });
});

describe('CORS', () => {
  const cors: HttpCorsDefinition = {
    allowOrigins: ['https://www.example.com'],
    allowMethods: ['GET', 'POST'],
    allowHeaders: ['authorization', 'content-type'],
    exposeHeaders: ['x-request-id'],
    allowCredentials: true,
    maxAgeSeconds: 86_400,
  };
  const preflight = (origin: string) => ({
    method: 'OPTIONS',
    headers: {
      origin,
      'access-control-request-method': 'POST',
      'access-control-request-headers': 'content-type',
    },
  });

  it('answers a preflight from an allowed origin itself, without a route or a function call', async () => {
    const { url, invoker } = await startApi(
      { routes: [route('POST /v1/batch', 'Batch')], cors },
      { Batch: echoEvent },
    );
    const response = await fetch(`${url}/v1/batch`, preflight('https://www.example.com'));
    expect(response.status).toBe(204);
    expect(
      Object.fromEntries([...response.headers].filter(([name]) => name.startsWith('access-control-'))),
    ).toEqual({
      'access-control-allow-origin': 'https://www.example.com',
      'access-control-allow-credentials': 'true',
      'access-control-allow-methods': 'GET,POST',
      'access-control-allow-headers': 'authorization,content-type',
      'access-control-max-age': '86400',
    });
    expect(invoker.calls).toHaveLength(0);
  });

  it('gives a preflight from another origin no CORS headers', async () => {
    const { url } = await startApi(
      { routes: [route('POST /v1/batch', 'Batch')], cors },
      { Batch: echoEvent },
    );
    const response = await fetch(`${url}/v1/batch`, preflight('https://evil.example.net'));
    expect(response.status).toBe(204);
    expect([...response.headers.keys()].filter((name) => name.startsWith('access-control-'))).toEqual([]);
  });

  it('adds its CORS headers to responses for allowed origins and ignores the function’s own', async () => {
    const { url } = await startApi(
      { routes: [route('POST /v1/batch', 'Batch')], cors },
      {
        Batch: () =>
          returns({
            statusCode: 200,
            headers: { 'Access-Control-Allow-Origin': '*', 'x-request-id': 'r1' },
            body: '{}',
          }),
      },
    );
    const allowed = await fetch(`${url}/v1/batch`, {
      method: 'POST',
      headers: { origin: 'https://www.example.com' },
    });
    const other = await fetch(`${url}/v1/batch`, {
      method: 'POST',
      headers: { origin: 'https://evil.example.net' },
    });
    expect(allowed.headers.get('access-control-allow-origin')).toBe('https://www.example.com');
    expect(allowed.headers.get('access-control-allow-credentials')).toBe('true');
    expect(allowed.headers.get('access-control-expose-headers')).toBe('x-request-id');
    expect(allowed.headers.get('x-request-id')).toBe('r1');
    expect(other.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('sends a preflight caught by a $default route through that route and its authorizer', async () => {
    const { url, invoker } = await startApi(
      { routes: [route('$default', 'Default', { authorizer: simpleAuthorizer() })], cors },
      { Default: echoEvent, Authorizer: () => returns({ isAuthorized: true }) },
    );
    const response = await fetch(`${url}/v1/batch`, preflight('https://www.example.com'));
    expect(response.status).toBe(401);
    expect(invoker.calls).toHaveLength(0);
  });
});
