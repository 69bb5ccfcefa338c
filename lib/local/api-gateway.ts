// Serves an API Gateway HTTP API (v2) locally: route selection, Lambda proxy payloads 1.0/2.0, authorizers, CORS.
//
// Sources: the API Gateway developer guide pages "Working with AWS Lambda proxy integrations for HTTP APIs",
// "Working with routes for HTTP APIs", "Working with AWS Lambda authorizers for HTTP APIs", "Configuring CORS for an
// HTTP API" and the HTTP API quotas (10 MB payload, 30 s integration timeout). Where those pages are silent we
// follow what deployed HTTP APIs are observed to do, and say so where it happens.
import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { z } from 'zod';
import type {
  FunctionInvoker,
  HttpApiDefinition,
  HttpCorsDefinition,
  HttpRouteDefinition,
  InvokeResult,
  LambdaAuthorizerDefinition,
} from './types.ts';

/** HTTP API quota: maximum request payload size. */
export const MAX_REQUEST_BODY_BYTES = 10 * 1024 * 1024;
/** HTTP API quota: maximum integration timeout, whatever the route asks for. */
export const MAX_INTEGRATION_TIMEOUT_MS = 30_000;
/** Beyond this much discarded upload we stop reading an oversized request and drop the connection. */
const MAX_DRAINED_BYTES = 8 * MAX_REQUEST_BODY_BYTES;
/** The emulated API has one stage, the auto-deployed `$default` stage the CDK app declares. */
const STAGE = '$default';

// ---------------------------------------------------------------------------------------------------------------
// Responses the gateway produces itself
// ---------------------------------------------------------------------------------------------------------------

export type HeaderLine = readonly [name: string, value: string];

/** A response as it goes on the wire: status, header lines (repeatable), body bytes. */
export interface GatewayResponse {
  readonly statusCode: number;
  readonly headers: readonly HeaderLine[];
  readonly body: Buffer;
}

function gatewayError(statusCode: number, message: string): GatewayResponse {
  return {
    statusCode,
    headers: [['content-type', 'application/json']],
    body: Buffer.from(JSON.stringify({ message })),
  };
}

const notFound = () => gatewayError(404, 'Not Found');
const unauthorized = () => gatewayError(401, 'Unauthorized');
const forbidden = () => gatewayError(403, 'Forbidden');
const payloadTooLarge = () => gatewayError(413, 'Request Entity Too Large');
const internalServerError = () => gatewayError(500, 'Internal Server Error');
const serviceUnavailable = () => gatewayError(503, 'Service Unavailable');

// ---------------------------------------------------------------------------------------------------------------
// Routes
// ---------------------------------------------------------------------------------------------------------------

export type RouteSegment =
  | { readonly kind: 'literal'; readonly value: string }
  | { readonly kind: 'variable'; readonly name: string }
  | { readonly kind: 'greedy'; readonly name: string };

export type ParsedRouteKey =
  | { readonly kind: 'default' }
  | {
      readonly kind: 'path';
      /** Upper-case HTTP method, or `ANY`. */
      readonly method: string;
      readonly path: string;
      readonly segments: readonly RouteSegment[];
    };

const ROUTE_METHODS = new Set(['ANY', 'GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS']);

/** Parses `GET /pets/{id}`, `ANY /admin/{proxy+}` or `$default`; throws for a key API Gateway would reject. */
export function parseRouteKey(routeKey: string): ParsedRouteKey {
  if (routeKey === '$default') return { kind: 'default' };
  const match = /^([A-Z]+) (\/\S*)$/.exec(routeKey);
  const method = match?.[1];
  const path = match?.[2];
  if (method === undefined || path === undefined || !ROUTE_METHODS.has(method)) {
    throw new Error(`Invalid HTTP API route key "${routeKey}": expected "$default" or "METHOD /path"`);
  }
  const parts = path === '/' ? [] : path.slice(1).split('/');
  const segments = parts.map((part, index): RouteSegment => {
    const greedy = /^\{([A-Za-z0-9._-]+)\+\}$/.exec(part)?.[1];
    if (greedy !== undefined) {
      if (index !== parts.length - 1) {
        throw new Error(`Invalid HTTP API route key "${routeKey}": a greedy path variable must be last`);
      }
      return { kind: 'greedy', name: greedy };
    }
    const variable = /^\{([A-Za-z0-9._-]+)\}$/.exec(part)?.[1];
    if (variable !== undefined) return { kind: 'variable', name: variable };
    if (part.includes('{') || part.includes('}')) {
      throw new Error(`Invalid HTTP API route key "${routeKey}": malformed path variable "${part}"`);
    }
    return { kind: 'literal', value: part };
  });
  return { kind: 'path', method, path, segments };
}

export interface CompiledRoute {
  readonly definition: HttpRouteDefinition;
  readonly key: ParsedRouteKey;
}

/** Parses every route key once, rejecting malformed and duplicate keys before the server starts. */
export function compileRoutes(routes: readonly HttpRouteDefinition[]): readonly CompiledRoute[] {
  const seen = new Set<string>();
  return routes.map((definition) => {
    if (seen.has(definition.routeKey)) {
      throw new Error(`Duplicate HTTP API route key "${definition.routeKey}"`);
    }
    seen.add(definition.routeKey);
    return { definition, key: parseRouteKey(definition.routeKey) };
  });
}

export interface RouteMatch {
  readonly route: HttpRouteDefinition;
  /** Decoded path variables; undefined when the route has none. */
  readonly pathParameters: Readonly<Record<string, string>> | undefined;
  /** The route's path template (`/pets/{id}`), or `$default`. */
  readonly resourcePath: string;
}

function decodePathSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

function matchSegments(
  segments: readonly RouteSegment[],
  requestSegments: readonly string[],
): Record<string, string> | undefined {
  const parameters: Record<string, string> = {};
  for (const [index, segment] of segments.entries()) {
    const actual = requestSegments[index];
    if (segment.kind === 'greedy') {
      const rest = requestSegments.slice(index);
      // A greedy variable catches child resources, so it needs at least one non-empty segment.
      if (rest.join('') === '') return undefined;
      parameters[segment.name] = rest.map(decodePathSegment).join('/');
      return parameters;
    }
    if (actual === undefined) return undefined;
    if (segment.kind === 'literal') {
      if (decodePathSegment(actual) !== segment.value) return undefined;
    } else {
      if (actual === '') return undefined;
      parameters[segment.name] = decodePathSegment(actual);
    }
  }
  return requestSegments.length === segments.length ? parameters : undefined;
}

const SEGMENT_RANK = { literal: 0, variable: 1, greedy: 2 } as const;

/** Negative when `a` is the more specific route for the same request. */
function compareSpecificity(
  a: Extract<ParsedRouteKey, { kind: 'path' }>,
  b: Extract<ParsedRouteKey, { kind: 'path' }>,
): number {
  // Documented priority: a full match beats a match through a greedy path variable.
  const greedyA = a.segments.some((s) => s.kind === 'greedy') ? 1 : 0;
  const greedyB = b.segments.some((s) => s.kind === 'greedy') ? 1 : 0;
  if (greedyA !== greedyB) return greedyA - greedyB;
  // Not documented: among matches of the same kind, the leftmost literal segment wins (`/pets/dog/{id}` over
  // `/pets/{type}/1`, `/pets/{proxy+}` over `/{proxy+}`), as in API Gateway's resource tree.
  const length = Math.min(a.segments.length, b.segments.length);
  for (let i = 0; i < length; i++) {
    const rankA = SEGMENT_RANK[a.segments[i]?.kind ?? 'literal'];
    const rankB = SEGMENT_RANK[b.segments[i]?.kind ?? 'literal'];
    if (rankA !== rankB) return rankA - rankB;
  }
  if (a.segments.length !== b.segments.length) return b.segments.length - a.segments.length;
  // `ANY` matches only the methods not defined for the resource.
  return (a.method === 'ANY' ? 1 : 0) - (b.method === 'ANY' ? 1 : 0);
}

/**
 * Selects the route API Gateway would: the most specific full match, then the most specific greedy match, then
 * `$default`; undefined when nothing matches (API Gateway answers 404).
 */
export function matchRoute(
  routes: readonly CompiledRoute[],
  request: { readonly method: string; readonly rawPath: string },
): RouteMatch | undefined {
  const method = request.method.toUpperCase();
  const requestSegments = request.rawPath === '/' ? [] : request.rawPath.slice(1).split('/');
  let best:
    | { route: CompiledRoute; key: Extract<ParsedRouteKey, { kind: 'path' }>; params: Record<string, string> }
    | undefined;
  for (const route of routes) {
    const { key } = route;
    if (key.kind !== 'path' || (key.method !== 'ANY' && key.method !== method)) continue;
    const params = matchSegments(key.segments, requestSegments);
    if (params === undefined) continue;
    if (best === undefined || compareSpecificity(key, best.key) < 0) best = { route, key, params };
  }
  if (best !== undefined) {
    return {
      route: best.route.definition,
      pathParameters: Object.keys(best.params).length === 0 ? undefined : best.params,
      resourcePath: best.key.path,
    };
  }
  const fallback = routes.find((route) => route.key.kind === 'default');
  return fallback === undefined
    ? undefined
    : { route: fallback.definition, pathParameters: undefined, resourcePath: '$default' };
}

// ---------------------------------------------------------------------------------------------------------------
// The request as the gateway sees it
// ---------------------------------------------------------------------------------------------------------------

export interface GatewayRequest {
  /** Upper-case HTTP method. */
  readonly method: string;
  /** Path exactly as sent (still percent-encoded), without the query string. */
  readonly rawPath: string;
  /** Everything after the first `?`, as sent. */
  readonly rawQueryString: string;
  /** Header lines in arrival order, names as sent. */
  readonly headers: readonly HeaderLine[];
  readonly body: Buffer;
  readonly sourceIp: string;
  /** e.g. `HTTP/1.1`. */
  readonly protocol: string;
}

/** Values of each header by lower-case name, in arrival order. */
function headerValues(headers: readonly HeaderLine[]): Map<string, string[]> {
  const values = new Map<string, string[]>();
  for (const [name, value] of headers) {
    const key = name.toLowerCase();
    values.set(key, [...(values.get(key) ?? []), value]);
  }
  return values;
}

/** The value of a header, repeated lines joined with commas; undefined when absent. */
export function headerValue(headers: readonly HeaderLine[], name: string): string | undefined {
  const values = headerValues(headers).get(name.toLowerCase());
  return values === undefined ? undefined : values.join(',');
}

function decodeQueryComponent(component: string): string {
  try {
    // Form encoding: `+` is a space, as API Gateway decodes it before it reaches the function.
    return decodeURIComponent(component.replaceAll('+', ' '));
  } catch {
    return component;
  }
}

/** Decoded query parameters, values of repeated keys in order. Keys are case-sensitive. */
export function parseQueryString(rawQueryString: string): Map<string, string[]> {
  const parameters = new Map<string, string[]>();
  for (const pair of rawQueryString.split('&')) {
    if (pair === '') continue;
    const separator = pair.indexOf('=');
    const key = decodeQueryComponent(separator === -1 ? pair : pair.slice(0, separator));
    const value = separator === -1 ? '' : decodeQueryComponent(pair.slice(separator + 1));
    parameters.set(key, [...(parameters.get(key) ?? []), value]);
  }
  return parameters;
}

/** Media types that HTTP APIs pass to Lambda as text; every other body arrives base64-encoded. */
const TEXT_MEDIA_TYPES = new Set(['application/json', 'application/xml', 'application/javascript']);

/**
 * How a request body reaches the function. The guide says only that binary bodies are base64-encoded; deployed
 * HTTP APIs pass `text/*`, `application/json`, `application/xml` and `application/javascript` bodies as UTF-8 text
 * and base64-encode everything else, including a missing Content-Type, form posts, and any body with a
 * Content-Encoding (a gzip-compressed JSON body arrives base64-encoded, byte for byte).
 */
export function encodeRequestBody(
  body: Buffer,
  contentType: string | undefined,
  contentEncoding: string | undefined,
): { readonly body?: string; readonly isBase64Encoded: boolean } {
  if (body.length === 0) return { isBase64Encoded: false };
  const encoding = contentEncoding?.trim().toLowerCase();
  const mediaType = contentType?.split(';')[0]?.trim().toLowerCase() ?? '';
  const isText =
    (encoding === undefined || encoding === '' || encoding === 'identity') &&
    (mediaType.startsWith('text/') || TEXT_MEDIA_TYPES.has(mediaType));
  return isText
    ? { body: body.toString('utf8'), isBase64Encoded: false }
    : { body: body.toString('base64'), isBase64Encoded: true };
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** API Gateway's `$context.requestTime` format, e.g. `12/Mar/2020:19:03:58 +0000`. */
export function formatRequestTime(time: Date): string {
  const pad = (value: number) => String(value).padStart(2, '0');
  const month = MONTHS[time.getUTCMonth()] ?? '';
  return (
    `${pad(time.getUTCDate())}/${month}/${time.getUTCFullYear()}:` +
    `${pad(time.getUTCHours())}:${pad(time.getUTCMinutes())}:${pad(time.getUTCSeconds())} +0000`
  );
}

/** The ARN an authorizer policy is evaluated against: `arn:aws:execute-api:region:account:api/stage/VERB/path`. */
export function routeArn(input: {
  readonly region: string;
  readonly accountId: string;
  readonly apiId: string;
  readonly method: string;
  readonly rawPath: string;
}): string {
  return `arn:aws:execute-api:${input.region}:${input.accountId}:${input.apiId}/${STAGE}/${input.method}${input.rawPath}`;
}

// ---------------------------------------------------------------------------------------------------------------
// Proxy integration events
// ---------------------------------------------------------------------------------------------------------------

/** Who the authorizer said the caller is; becomes `requestContext.authorizer`. */
export type CallerIdentity =
  | {
      readonly kind: 'lambda';
      readonly context: Readonly<Record<string, unknown>> | undefined;
      readonly principalId?: string;
    }
  | { readonly kind: 'iam'; readonly accessKey: string; readonly accountId: string };

export interface RequestContextInput {
  readonly accountId: string;
  readonly apiId: string;
  readonly domainName: string;
  readonly requestId: string;
  readonly time: Date;
}

export interface ProxyEventInput {
  readonly request: GatewayRequest;
  readonly routeKey: string;
  readonly resourcePath: string;
  readonly pathParameters: Readonly<Record<string, string>> | undefined;
  readonly context: RequestContextInput;
  readonly caller?: CallerIdentity;
}

export interface HttpApiRequestContextV2 {
  accountId: string;
  apiId: string;
  authorizer?: Record<string, unknown>;
  domainName: string;
  domainPrefix: string;
  http: { method: string; path: string; protocol: string; sourceIp: string; userAgent: string };
  requestId: string;
  routeKey: string;
  stage: string;
  time: string;
  timeEpoch: number;
}

/** Payload format 2.0. Absent parts (cookies, query, path parameters, body) are omitted, as API Gateway does. */
export interface HttpApiEventV2 {
  version: '2.0';
  routeKey: string;
  rawPath: string;
  rawQueryString: string;
  cookies?: string[];
  headers: Record<string, string>;
  queryStringParameters?: Record<string, string>;
  pathParameters?: Record<string, string>;
  requestContext: HttpApiRequestContextV2;
  body?: string;
  isBase64Encoded: boolean;
}

function domainPrefix(domainName: string): string {
  return domainName.split('.')[0] ?? domainName;
}

function requestCookies(headers: readonly HeaderLine[]): string[] {
  return (headerValues(headers).get('cookie') ?? [])
    .flatMap((line) => line.split(';'))
    .map((cookie) => cookie.trim())
    .filter((cookie) => cookie !== '');
}

function authorizerContextV2(caller: CallerIdentity): Record<string, unknown> {
  if (caller.kind === 'iam') {
    return {
      iam: {
        accessKey: caller.accessKey,
        accountId: caller.accountId,
        // Unknown without verifying the signature against IAM, which the local gateway does not do.
        callerId: null,
        cognitoIdentity: null,
        principalOrgId: null,
        userArn: null,
        userId: null,
      },
    };
  }
  return { lambda: caller.context ?? null };
}

function requestContextV2(input: ProxyEventInput): HttpApiRequestContextV2 {
  const { request, context } = input;
  return {
    accountId: context.accountId,
    apiId: context.apiId,
    ...(input.caller === undefined ? {} : { authorizer: authorizerContextV2(input.caller) }),
    domainName: context.domainName,
    domainPrefix: domainPrefix(context.domainName),
    http: {
      method: request.method,
      path: request.rawPath,
      protocol: request.protocol,
      sourceIp: request.sourceIp,
      userAgent: headerValue(request.headers, 'user-agent') ?? '',
    },
    requestId: context.requestId,
    routeKey: input.routeKey,
    stage: STAGE,
    time: formatRequestTime(context.time),
    timeEpoch: context.time.getTime(),
  };
}

function joinedRecord(values: Map<string, string[]>, exclude?: string): Record<string, string> {
  const record: Record<string, string> = {};
  for (const [name, list] of values) if (name !== exclude) record[name] = list.join(',');
  return record;
}

/** Builds the payload format 2.0 event for a Lambda proxy integration. */
export function buildEventV2(input: ProxyEventInput): HttpApiEventV2 {
  const { request } = input;
  const cookies = requestCookies(request.headers);
  const query = parseQueryString(request.rawQueryString);
  const body = encodeRequestBody(
    request.body,
    headerValue(request.headers, 'content-type'),
    headerValue(request.headers, 'content-encoding'),
  );
  return {
    version: '2.0',
    routeKey: input.routeKey,
    rawPath: request.rawPath,
    rawQueryString: request.rawQueryString,
    ...(cookies.length === 0 ? {} : { cookies }),
    // Names lower-cased, repeated lines joined with commas; cookies travel in `cookies` instead.
    headers: joinedRecord(headerValues(request.headers), 'cookie'),
    ...(query.size === 0 ? {} : { queryStringParameters: joinedRecord(query) }),
    ...(input.pathParameters === undefined ? {} : { pathParameters: { ...input.pathParameters } }),
    requestContext: requestContextV2(input),
    ...(body.body === undefined ? {} : { body: body.body }),
    isBase64Encoded: body.isBase64Encoded,
  };
}

export interface HttpApiEventV1 {
  version: '1.0';
  resource: string;
  path: string;
  httpMethod: string;
  headers: Record<string, string>;
  multiValueHeaders: Record<string, string[]>;
  queryStringParameters: Record<string, string> | null;
  multiValueQueryStringParameters: Record<string, string[]> | null;
  requestContext: Record<string, unknown>;
  pathParameters: Record<string, string> | null;
  stageVariables: null;
  body: string | null;
  isBase64Encoded: boolean;
}

function authorizerContextV1(caller: CallerIdentity | undefined): Record<string, unknown> | undefined {
  if (caller === undefined || caller.kind === 'iam') return undefined;
  // Format 1.0 is the REST API shape, where the authorizer's context keys sit directly on `authorizer`.
  return {
    ...(caller.principalId === undefined ? {} : { principalId: caller.principalId }),
    ...caller.context,
  };
}

/**
 * Builds the payload format 1.0 (REST-compatible) event. Single-value `headers` and `queryStringParameters` carry
 * the last value of a repeated name; the `multiValue*` fields carry all of them. Header names keep their case.
 */
export function buildEventV1(input: ProxyEventInput): HttpApiEventV1 {
  const { request, context, caller } = input;
  const headers: Record<string, string> = {};
  const multiValueHeaders: Record<string, string[]> = {};
  const headerNames = new Map<string, string>();
  for (const [name, value] of request.headers) {
    const key = headerNames.get(name.toLowerCase()) ?? name;
    headerNames.set(name.toLowerCase(), key);
    headers[key] = value;
    multiValueHeaders[key] = [...(multiValueHeaders[key] ?? []), value];
  }
  const query = parseQueryString(request.rawQueryString);
  const queryStringParameters: Record<string, string> = {};
  const multiValueQueryStringParameters: Record<string, string[]> = {};
  for (const [key, values] of query) {
    queryStringParameters[key] = values.at(-1) ?? '';
    multiValueQueryStringParameters[key] = values;
  }
  const body = encodeRequestBody(
    request.body,
    headerValue(request.headers, 'content-type'),
    headerValue(request.headers, 'content-encoding'),
  );
  const userAgent = headerValue(request.headers, 'user-agent') ?? '';
  const authorizer = authorizerContextV1(caller);
  return {
    version: '1.0',
    resource: input.resourcePath,
    path: request.rawPath,
    httpMethod: request.method,
    headers,
    multiValueHeaders,
    queryStringParameters: query.size === 0 ? null : queryStringParameters,
    multiValueQueryStringParameters: query.size === 0 ? null : multiValueQueryStringParameters,
    requestContext: {
      accountId: context.accountId,
      apiId: context.apiId,
      ...(authorizer === undefined ? {} : { authorizer }),
      domainName: context.domainName,
      domainPrefix: domainPrefix(context.domainName),
      extendedRequestId: context.requestId,
      httpMethod: request.method,
      identity: {
        accessKey: caller?.kind === 'iam' ? caller.accessKey : null,
        accountId: caller?.kind === 'iam' ? caller.accountId : null,
        caller: null,
        cognitoAuthenticationProvider: null,
        cognitoAuthenticationType: null,
        cognitoIdentityId: null,
        cognitoIdentityPoolId: null,
        principalOrgId: null,
        sourceIp: request.sourceIp,
        user: null,
        userAgent,
        userArn: null,
      },
      path: request.rawPath,
      protocol: request.protocol,
      requestId: context.requestId,
      requestTime: formatRequestTime(context.time),
      requestTimeEpoch: context.time.getTime(),
      resourceId: input.routeKey,
      resourcePath: input.resourcePath,
      stage: STAGE,
    },
    pathParameters: input.pathParameters === undefined ? null : { ...input.pathParameters },
    stageVariables: null,
    body: body.body ?? null,
    isBase64Encoded: body.isBase64Encoded,
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Integration responses
// ---------------------------------------------------------------------------------------------------------------

const headerScalar = z.union([z.string(), z.number(), z.boolean()]);
const structuredResponseSchema = z.object({
  statusCode: z.number().int().min(100).max(599),
  headers: z.record(z.string(), headerScalar).nullish(),
  multiValueHeaders: z.record(z.string(), z.array(headerScalar)).nullish(),
  cookies: z.array(z.string()).nullish(),
  body: z.string().nullish(),
  isBase64Encoded: z.boolean().nullish(),
});

const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
/** Framing headers are the gateway's business; it recomputes them for the body it sends. */
const FRAMING_HEADERS = new Set(['content-length', 'transfer-encoding', 'connection', 'keep-alive']);
/** Used when a structured response names no Content-Type, as deployed HTTP APIs do. */
const DEFAULT_CONTENT_TYPE = 'text/plain; charset=utf-8';

export type IntegrationResponseMapping =
  | { readonly ok: true; readonly response: GatewayResponse }
  | { readonly ok: false; readonly reason: string };

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Turns what a function returned into the HTTP response, as API Gateway interprets each payload format. A response
 * API Gateway would call malformed yields `ok: false`; the caller answers 500 as API Gateway does.
 */
export function mapIntegrationResponse(
  payloadFormatVersion: '1.0' | '2.0',
  value: unknown,
): IntegrationResponseMapping {
  if (payloadFormatVersion === '2.0' && !(isRecord(value) && 'statusCode' in value)) {
    // Format 2.0 inference: no statusCode means the whole output is a 200 JSON body.
    const body = typeof value === 'string' ? value : (JSON.stringify(value) ?? 'null');
    return {
      ok: true,
      response: { statusCode: 200, headers: [['content-type', 'application/json']], body: Buffer.from(body) },
    };
  }
  const parsed = structuredResponseSchema.safeParse(value);
  if (!parsed.success)
    return { ok: false, reason: `malformed Lambda proxy response: ${parsed.error.message}` };
  const result = parsed.data;

  const lines: HeaderLine[] = [];
  const multiValueNames = new Set(Object.keys(result.multiValueHeaders ?? {}).map((n) => n.toLowerCase()));
  for (const [name, values] of Object.entries(result.multiValueHeaders ?? {})) {
    for (const value of values) lines.push([name, String(value)]);
  }
  for (const [name, value] of Object.entries(result.headers ?? {})) {
    // When both maps name a header, multiValueHeaders wins (the REST API merge rule payload 1.0 inherits).
    if (!multiValueNames.has(name.toLowerCase())) lines.push([name, String(value)]);
  }
  if (payloadFormatVersion === '2.0') {
    for (const cookie of result.cookies ?? []) lines.push(['set-cookie', cookie]);
  }
  for (const [name, value] of lines) {
    if (!HEADER_NAME.test(name) || /[\r\n\0]/.test(value)) {
      return { ok: false, reason: `malformed Lambda proxy response: invalid header ${JSON.stringify(name)}` };
    }
  }
  const headers = lines.filter(([name]) => !FRAMING_HEADERS.has(name.toLowerCase()));
  const rawBody = result.body ?? '';
  const body = result.isBase64Encoded === true ? Buffer.from(rawBody, 'base64') : Buffer.from(rawBody);
  if (body.length > 0 && !headers.some(([name]) => name.toLowerCase() === 'content-type')) {
    headers.push(['content-type', DEFAULT_CONTENT_TYPE]);
  }
  return { ok: true, response: { statusCode: result.statusCode, headers, body } };
}

// ---------------------------------------------------------------------------------------------------------------
// Authorizers
// ---------------------------------------------------------------------------------------------------------------

/**
 * Resolves an authorizer's identity sources. Undefined when any is missing or empty: API Gateway then answers 401
 * without invoking the authorizer. Stage variables are never set locally, so `$stageVariables.*` is always missing.
 */
export function resolveIdentitySources(
  identitySource: readonly string[],
  request: GatewayRequest,
  context: {
    readonly routeKey: string;
    readonly requestId: string;
    readonly apiId: string;
    readonly accountId: string;
  },
): string[] | undefined {
  const query = parseQueryString(request.rawQueryString);
  const contextVariables: Record<string, string> = {
    routeKey: context.routeKey,
    httpMethod: request.method,
    path: request.rawPath,
    stage: STAGE,
    requestId: context.requestId,
    apiId: context.apiId,
    accountId: context.accountId,
    protocol: request.protocol,
    'identity.sourceIp': request.sourceIp,
    'identity.userAgent': headerValue(request.headers, 'user-agent') ?? '',
  };
  const values: string[] = [];
  for (const source of identitySource) {
    let value: string | undefined;
    if (source.startsWith('$request.header.')) {
      value = headerValue(request.headers, source.slice('$request.header.'.length));
    } else if (source.startsWith('$request.querystring.')) {
      value = query.get(source.slice('$request.querystring.'.length))?.join(',');
    } else if (source.startsWith('$context.')) {
      value = contextVariables[source.slice('$context.'.length)];
    }
    if (value === undefined || value === '') return undefined;
    values.push(value);
  }
  return values;
}

const stringOrList = z.union([z.string(), z.array(z.string())]);
const policyStatementSchema = z.object({
  Effect: z.enum(['Allow', 'Deny']),
  Action: stringOrList.optional(),
  Resource: stringOrList.optional(),
});
const authorizerContextSchema = z.record(z.string(), z.unknown()).nullish();
const simpleAuthorizerResponseSchema = z.object({
  isAuthorized: z.boolean(),
  context: authorizerContextSchema,
});
const policyAuthorizerResponseSchema = z.object({
  principalId: z.string().nullish(),
  policyDocument: z.object({
    Statement: z.union([policyStatementSchema, z.array(policyStatementSchema)]),
  }),
  context: authorizerContextSchema,
});

type PolicyStatement = z.infer<typeof policyStatementSchema>;

/** What an authorizer answered, kept whole so that a cached policy is evaluated against each route's ARN. */
export type AuthorizerDecision =
  | {
      readonly kind: 'simple';
      readonly isAuthorized: boolean;
      readonly context: Readonly<Record<string, unknown>> | undefined;
    }
  | {
      readonly kind: 'policy';
      readonly principalId: string | undefined;
      readonly statements: readonly PolicyStatement[];
      readonly context: Readonly<Record<string, unknown>> | undefined;
    };

/**
 * Reads an authorizer's response. With simple responses enabled it must be `{ isAuthorized, context? }`, otherwise
 * an IAM policy; anything else is malformed (undefined), which API Gateway answers with 500.
 */
export function parseAuthorizerResponse(
  simpleResponses: boolean,
  value: unknown,
): AuthorizerDecision | undefined {
  if (simpleResponses) {
    const parsed = simpleAuthorizerResponseSchema.safeParse(value);
    return parsed.success
      ? { kind: 'simple', isAuthorized: parsed.data.isAuthorized, context: parsed.data.context ?? undefined }
      : undefined;
  }
  const parsed = policyAuthorizerResponseSchema.safeParse(value);
  if (!parsed.success) return undefined;
  const statement = parsed.data.policyDocument.Statement;
  return {
    kind: 'policy',
    principalId: parsed.data.principalId ?? undefined,
    statements: Array.isArray(statement) ? statement : [statement],
    context: parsed.data.context ?? undefined,
  };
}

function wildcardMatches(pattern: string, value: string): boolean {
  const source = pattern
    .split('')
    .map((char) => (char === '*' ? '.*' : char === '?' ? '.' : char.replace(/[\\^$.|+()[\]{}]/g, '\\$&')))
    .join('');
  return new RegExp(`^${source}$`, 's').test(value);
}

function statementApplies(statement: PolicyStatement, arn: string): boolean {
  const actions = typeof statement.Action === 'string' ? [statement.Action] : (statement.Action ?? []);
  const resources =
    typeof statement.Resource === 'string' ? [statement.Resource] : (statement.Resource ?? []);
  return (
    actions.some((action) => wildcardMatches(action.toLowerCase(), 'execute-api:invoke')) &&
    resources.some((resource) => wildcardMatches(resource, arn))
  );
}

/** IAM evaluation: an explicit Deny wins, then an Allow that covers the route, otherwise implicit deny. */
export function isAuthorized(decision: AuthorizerDecision, arn: string): boolean {
  if (decision.kind === 'simple') return decision.isAuthorized;
  const applicable = decision.statements.filter((statement) => statementApplies(statement, arn));
  return (
    !applicable.some((statement) => statement.Effect === 'Deny') &&
    applicable.some((statement) => statement.Effect === 'Allow')
  );
}

/**
 * For `{ type: 'iam' }` routes: the access key of a SigV4-signed request (Authorization header or presigned query),
 * or undefined when the request is unsigned. The signature is NOT verified locally (there is no IAM to check it
 * against); only its presence is required, so unsigned callers fail here as they would in the cloud.
 */
export function sigV4AccessKey(request: GatewayRequest): string | undefined {
  const authorization = headerValue(request.headers, 'authorization');
  if (authorization?.startsWith('AWS4-HMAC-SHA256 ')) {
    const credential = /Credential=([^/,\s]+)\//.exec(authorization)?.[1];
    return credential !== undefined && /Signature=[0-9a-f]+/.test(authorization) ? credential : undefined;
  }
  const query = parseQueryString(request.rawQueryString);
  if (query.get('X-Amz-Algorithm')?.[0] === 'AWS4-HMAC-SHA256' && query.has('X-Amz-Signature')) {
    return query.get('X-Amz-Credential')?.[0]?.split('/')[0];
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------------------------
// CORS
// ---------------------------------------------------------------------------------------------------------------

export function isOriginAllowed(cors: HttpCorsDefinition, origin: string): boolean {
  return cors.allowOrigins.some((allowed) =>
    allowed.includes('*')
      ? wildcardMatches(allowed.toLowerCase(), origin.toLowerCase())
      : allowed.toLowerCase() === origin.toLowerCase(),
  );
}

function allowOriginValue(cors: HttpCorsDefinition, origin: string): string {
  return cors.allowOrigins.includes('*') && !cors.allowCredentials ? '*' : origin;
}

/** Headers API Gateway adds to an integration's response for a CORS request from an allowed origin. */
export function corsResponseHeaders(cors: HttpCorsDefinition, origin: string | undefined): HeaderLine[] {
  if (origin === undefined || !isOriginAllowed(cors, origin)) return [];
  const headers: HeaderLine[] = [['access-control-allow-origin', allowOriginValue(cors, origin)]];
  if (cors.allowCredentials) headers.push(['access-control-allow-credentials', 'true']);
  if (cors.exposeHeaders.length > 0) {
    headers.push(['access-control-expose-headers', cors.exposeHeaders.join(',')]);
  }
  return headers;
}

/**
 * Headers of API Gateway's answer to a preflight. Only the origin gates them: the allowed methods and headers are
 * listed and the browser decides. A `*` entry echoes what the browser asked for, so it also works with credentials.
 */
export function corsPreflightHeaders(cors: HttpCorsDefinition, request: GatewayRequest): HeaderLine[] {
  const origin = headerValue(request.headers, 'origin');
  const headers = corsResponseHeaders(cors, origin).filter(
    ([name]) => name !== 'access-control-expose-headers',
  );
  if (headers.length === 0) return [];
  const requestedMethod = headerValue(request.headers, 'access-control-request-method') ?? '';
  const requestedHeaders = headerValue(request.headers, 'access-control-request-headers') ?? '';
  const methods = cors.allowMethods.includes('*') ? requestedMethod : cors.allowMethods.join(',');
  const allowHeaders = cors.allowHeaders.includes('*') ? requestedHeaders : cors.allowHeaders.join(',');
  if (methods !== '') headers.push(['access-control-allow-methods', methods]);
  if (allowHeaders !== '') headers.push(['access-control-allow-headers', allowHeaders]);
  if (cors.maxAgeSeconds !== undefined) headers.push(['access-control-max-age', String(cors.maxAgeSeconds)]);
  return headers;
}

function isPreflight(request: GatewayRequest): boolean {
  return (
    request.method === 'OPTIONS' &&
    headerValue(request.headers, 'origin') !== undefined &&
    headerValue(request.headers, 'access-control-request-method') !== undefined
  );
}

// ---------------------------------------------------------------------------------------------------------------
// The request listener
// ---------------------------------------------------------------------------------------------------------------

export interface HttpApiRequestLogEntry {
  readonly method: string;
  /** The path only: query strings can carry personal data (pixels, tokens) and are never logged. */
  readonly path: string;
  /** The selected route, or `-` when none matched. */
  readonly routeKey: string;
  readonly status: number;
  readonly durationMs: number;
}

export interface HttpApiHandlerOptions {
  readonly api: HttpApiDefinition;
  readonly invoker: FunctionInvoker;
  readonly accountId: string;
  readonly region: string;
  /** @default the request's Host header, else `{apiId}.execute-api.{region}.amazonaws.com` */
  readonly domainName?: string;
  /** @default () => new Date() */
  readonly now?: () => Date;
  readonly onRequestLog?: (entry: HttpApiRequestLogEntry) => void;
}

type CachedDecision = { readonly decision: AuthorizerDecision; readonly expiresAt: number };

type Invocation = InvokeResult | { readonly ok: 'timeout' };

function invokeWithTimeout(
  invoker: FunctionInvoker,
  functionLogicalId: string,
  event: unknown,
  timeoutMs: number,
): Promise<Invocation> {
  const invocation = invoker.invoke(functionLogicalId, event).catch(
    (error: unknown): InvokeResult => ({
      ok: false,
      error: {
        errorType: 'InvokeError',
        errorMessage: error instanceof Error ? error.message : String(error),
      },
      durationMs: 0,
    }),
  );
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<Invocation>((resolve) => {
    timer = setTimeout(() => resolve({ ok: 'timeout' }), timeoutMs);
  });
  // The function keeps running after a timeout (Lambda does too); its late result is discarded.
  return Promise.race([invocation, timeout]).finally(() => clearTimeout(timer));
}

function newRequestId(): string {
  // Same shape as API Gateway's request IDs, e.g. `JKJaXmPLvHcESHA=`.
  return randomBytes(11).toString('base64');
}

function newTraceId(time: Date): string {
  return `Root=1-${Math.floor(time.getTime() / 1000).toString(16)}-${randomBytes(12).toString('hex')}`;
}

type BodyRead =
  | { readonly kind: 'ok'; readonly body: Buffer }
  | { readonly kind: 'too-large' }
  | { readonly kind: 'aborted' };

async function readBody(req: IncomingMessage): Promise<BodyRead> {
  const declared = Number(req.headers['content-length']);
  let tooLarge = Number.isFinite(declared) && declared > MAX_REQUEST_BODY_BYTES;
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of req) {
      const bytes = Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk));
      size += bytes.length;
      if (size > MAX_REQUEST_BODY_BYTES) tooLarge = true;
      // Keep reading an oversized body (discarding it) so the client sees our 413 rather than a reset.
      if (size > MAX_DRAINED_BYTES) {
        req.destroy();
        return { kind: 'aborted' };
      }
      if (!tooLarge) chunks.push(bytes);
    }
  } catch {
    return { kind: 'aborted' };
  }
  return tooLarge ? { kind: 'too-large' } : { kind: 'ok', body: Buffer.concat(chunks) };
}

function toGatewayRequest(req: IncomingMessage, body: Buffer, traceId: string): GatewayRequest {
  const url = req.url ?? '/';
  const queryStart = url.indexOf('?');
  const rawPath = queryStart === -1 ? url : url.slice(0, queryStart);
  const sourceIp = (req.socket.remoteAddress ?? '127.0.0.1').replace(/^::ffff:/, '');
  const headers: HeaderLine[] = [];
  for (let i = 0; i + 1 < req.rawHeaders.length; i += 2) {
    const name = req.rawHeaders[i];
    const value = req.rawHeaders[i + 1];
    if (name === undefined || value === undefined) continue;
    // API Gateway sets the forwarding headers itself.
    if (/^x-forwarded-(proto|port)$/i.test(name)) continue;
    headers.push([name, value]);
  }
  const forwardedFor = headerValue(headers, 'x-forwarded-for');
  const gatewayHeaders: HeaderLine[] = [
    ['x-forwarded-for', forwardedFor === undefined ? sourceIp : `${forwardedFor}, ${sourceIp}`],
    ['x-forwarded-port', String(req.socket.localPort ?? '')],
    ['x-forwarded-proto', 'http'],
  ];
  if (headerValue(headers, 'x-amzn-trace-id') === undefined)
    gatewayHeaders.push(['x-amzn-trace-id', traceId]);
  return {
    method: (req.method ?? 'GET').toUpperCase(),
    rawPath: rawPath === '' ? '/' : rawPath,
    rawQueryString: queryStart === -1 ? '' : url.slice(queryStart + 1),
    headers: [...headers.filter(([name]) => name.toLowerCase() !== 'x-forwarded-for'), ...gatewayHeaders],
    body,
    sourceIp,
    protocol: `HTTP/${req.httpVersion}`,
  };
}

function writeResponse(res: ServerResponse, response: GatewayResponse, requestId: string): void {
  if (res.headersSent || res.destroyed) return;
  const grouped = new Map<string, { name: string; values: string[] }>();
  for (const [name, value] of response.headers) {
    const entry = grouped.get(name.toLowerCase()) ?? { name, values: [] };
    entry.values.push(value);
    grouped.set(name.toLowerCase(), entry);
  }
  res.statusCode = response.statusCode;
  for (const { name, values } of grouped.values())
    res.setHeader(name, values.length === 1 ? (values[0] ?? '') : values);
  res.setHeader('apigw-requestid', requestId);
  // Node sets Content-Length for a body sent in one piece (and none for 204).
  res.end(response.body);
}

/**
 * A node:http request listener that behaves like the deployed HTTP API: it selects the route, enforces the payload
 * quota, runs the route's authorizer, invokes the function with the route's payload format and timeout, maps the
 * result, and applies the API's CORS configuration.
 */
export function createHttpApiHandler(
  options: HttpApiHandlerOptions,
): (req: IncomingMessage, res: ServerResponse) => Promise<void> {
  const { api, invoker, accountId, region } = options;
  const routes = compileRoutes(api.routes);
  const now = options.now ?? (() => new Date());
  const authorizerCache = new Map<string, CachedDecision>();

  async function authorize(input: {
    authorizer: LambdaAuthorizerDefinition;
    request: GatewayRequest;
    match: RouteMatch;
    context: RequestContextInput;
    arn: string;
  }): Promise<{ caller: CallerIdentity } | { response: GatewayResponse }> {
    const { authorizer, request, match, context, arn } = input;
    const identity = resolveIdentitySources(authorizer.identitySource, request, {
      routeKey: match.route.routeKey,
      requestId: context.requestId,
      apiId: api.apiId,
      accountId,
    });
    if (identity === undefined) return { response: unauthorized() };
    const cacheKey = JSON.stringify([authorizer.functionLogicalId, authorizer.identitySource, identity]);
    const cacheable = authorizer.resultTtlSeconds > 0 && authorizer.identitySource.length > 0;
    const cached = cacheable ? authorizerCache.get(cacheKey) : undefined;
    let decision = cached !== undefined && cached.expiresAt > now().getTime() ? cached.decision : undefined;
    if (decision === undefined) {
      const proxyInput: ProxyEventInput = {
        request,
        routeKey: match.route.routeKey,
        resourcePath: match.resourcePath,
        pathParameters: match.pathParameters,
        context,
      };
      const event = authorizerEvent(authorizer, proxyInput, identity, arn);
      // No separate authorizer timeout is documented for HTTP APIs; the route's integration timeout bounds it.
      const result = await invokeWithTimeout(
        invoker,
        authorizer.functionLogicalId,
        event,
        Math.min(match.route.timeoutMs, MAX_INTEGRATION_TIMEOUT_MS),
      );
      if (result.ok !== true) return { response: internalServerError() };
      decision = parseAuthorizerResponse(authorizer.simpleResponses, result.value);
      if (decision === undefined) return { response: internalServerError() };
      if (cacheable) {
        authorizerCache.set(cacheKey, {
          decision,
          expiresAt: now().getTime() + authorizer.resultTtlSeconds * 1000,
        });
      }
    }
    if (!isAuthorized(decision, arn)) return { response: forbidden() };
    return {
      caller: {
        kind: 'lambda',
        context: decision.context,
        ...(decision.kind === 'policy' && decision.principalId !== undefined
          ? { principalId: decision.principalId }
          : {}),
      },
    };
  }

  async function respond(
    request: GatewayRequest,
    requestId: string,
    time: Date,
  ): Promise<{ response: GatewayResponse; routeKey: string }> {
    const cors = api.cors;
    const preflight = cors !== undefined && isPreflight(request);
    const match = matchRoute(routes, request);
    if (match === undefined) {
      // API Gateway answers preflights itself unless a route (OPTIONS, ANY or $default) catches them.
      if (preflight && cors !== undefined) {
        return {
          response: { statusCode: 204, headers: corsPreflightHeaders(cors, request), body: Buffer.alloc(0) },
          routeKey: '-',
        };
      }
      return { response: notFound(), routeKey: '-' };
    }
    const { route } = match;
    const host = headerValue(request.headers, 'host');
    const context: RequestContextInput = {
      accountId,
      apiId: api.apiId,
      domainName: options.domainName ?? host ?? `${api.apiId}.execute-api.${region}.amazonaws.com`,
      requestId,
      time,
    };
    const arn = routeArn({
      region,
      accountId,
      apiId: api.apiId,
      method: request.method,
      rawPath: request.rawPath,
    });

    let caller: CallerIdentity | undefined;
    if (route.authorizer?.type === 'iam') {
      const accessKey = sigV4AccessKey(request);
      if (accessKey === undefined) return { response: forbidden(), routeKey: route.routeKey };
      caller = { kind: 'iam', accessKey, accountId };
    } else if (route.authorizer?.type === 'lambda') {
      const outcome = await authorize({ authorizer: route.authorizer, request, match, context, arn });
      if ('response' in outcome) return { response: outcome.response, routeKey: route.routeKey };
      caller = outcome.caller;
    }

    const eventInput: ProxyEventInput = {
      request,
      routeKey: route.routeKey,
      resourcePath: match.resourcePath,
      pathParameters: match.pathParameters,
      context,
      ...(caller === undefined ? {} : { caller }),
    };
    const event = route.payloadFormatVersion === '2.0' ? buildEventV2(eventInput) : buildEventV1(eventInput);
    const result = await invokeWithTimeout(
      invoker,
      route.functionLogicalId,
      event,
      Math.min(route.timeoutMs, MAX_INTEGRATION_TIMEOUT_MS),
    );
    if (result.ok === 'timeout') return { response: serviceUnavailable(), routeKey: route.routeKey };
    if (!result.ok) return { response: internalServerError(), routeKey: route.routeKey };
    const mapped = mapIntegrationResponse(route.payloadFormatVersion, result.value);
    if (!mapped.ok) return { response: internalServerError(), routeKey: route.routeKey };

    if (cors === undefined) return { response: mapped.response, routeKey: route.routeKey };
    // With CORS configured, API Gateway ignores the integration's CORS headers and adds its own.
    const origin = headerValue(request.headers, 'origin');
    const corsHeaders = preflight ? corsPreflightHeaders(cors, request) : corsResponseHeaders(cors, origin);
    const headers = [
      ...mapped.response.headers.filter(([name]) => !name.toLowerCase().startsWith('access-control-')),
      ...corsHeaders,
    ];
    return { response: { ...mapped.response, headers }, routeKey: route.routeKey };
  }

  return async (req, res) => {
    const started = performance.now();
    const time = now();
    const requestId = newRequestId();
    const method = (req.method ?? 'GET').toUpperCase();
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    let outcome: { response: GatewayResponse; routeKey: string };
    const read = await readBody(req);
    if (read.kind === 'aborted') return;
    if (read.kind === 'too-large') {
      outcome = { response: payloadTooLarge(), routeKey: '-' };
    } else {
      try {
        outcome = await respond(toGatewayRequest(req, read.body, newTraceId(time)), requestId, time);
      } catch {
        // A defect in the emulator itself: answer like API Gateway would, never hang the client.
        outcome = { response: internalServerError(), routeKey: '-' };
      }
    }
    writeResponse(res, outcome.response, requestId);
    options.onRequestLog?.({
      method,
      path,
      routeKey: outcome.routeKey,
      status: outcome.response.statusCode,
      durationMs: performance.now() - started,
    });
  };
}

function authorizerEvent(
  authorizer: LambdaAuthorizerDefinition,
  input: ProxyEventInput,
  identity: readonly string[],
  arn: string,
): Record<string, unknown> {
  if (authorizer.payloadFormatVersion === '2.0') {
    const { body: _body, isBase64Encoded: _isBase64Encoded, ...event } = buildEventV2(input);
    return { ...event, type: 'REQUEST', routeArn: arn, identitySource: [...identity] };
  }
  const { body: _body, isBase64Encoded: _isBase64Encoded, ...event } = buildEventV1(input);
  return {
    ...event,
    type: 'REQUEST',
    methodArn: arn,
    identitySource: identity.join(','),
    authorizationToken: identity.join(','),
  };
}
