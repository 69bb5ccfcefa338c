// A small server for AWS JSON 1.1 protocol services (X-Amz-Target dispatch), used by the local bus and secrets.
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** An error the AWS SDK turns into a typed exception: `__type` names it, as real services do. */
export class AwsServiceError extends Error {
  constructor(
    readonly type: string,
    message: string,
    readonly statusCode = 400,
  ) {
    super(message);
  }
}

export type JsonOperation = (input: Record<string, unknown>) => Promise<unknown> | unknown;

export interface JsonProtocolService {
  /** The X-Amz-Target prefix, e.g. `AWSEvents` or `secretsmanager`. */
  readonly targetPrefix: string;
  readonly operations: Readonly<Record<string, JsonOperation>>;
}

const MAX_BODY_BYTES = 10 * 1024 * 1024;

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const buffer = Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk));
    size += buffer.length;
    if (size > MAX_BODY_BYTES)
      throw new AwsServiceError('ValidationException', 'Request body too large', 413);
    chunks.push(buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export async function listenJsonProtocol(
  service: JsonProtocolService,
  options: { port: number; host?: string },
): Promise<{ server: Server; url: string }> {
  const server = createServer((req, res) => {
    const reply = (status: number, body: unknown) => {
      const text = JSON.stringify(body);
      res.writeHead(status, {
        'content-type': 'application/x-amz-json-1.1',
        'content-length': Buffer.byteLength(text),
        'x-amzn-requestid': crypto.randomUUID(),
      });
      res.end(text);
    };
    (async () => {
      if (req.method !== 'POST')
        throw new AwsServiceError('UnknownOperationException', 'Only POST is supported');
      const target = req.headers['x-amz-target'];
      const [prefix, operationName] = typeof target === 'string' ? target.split('.', 2) : [];
      const operation = operationName === undefined ? undefined : service.operations[operationName];
      if (prefix !== service.targetPrefix || operation === undefined) {
        throw new AwsServiceError(
          'UnknownOperationException',
          `Operation ${String(target)} is not supported locally`,
        );
      }
      const text = await readBody(req);
      let input: unknown = {};
      if (text.trim() !== '') {
        try {
          input = JSON.parse(text);
        } catch {
          throw new AwsServiceError('SerializationException', 'Request body is not valid JSON');
        }
      }
      if (!isRecord(input))
        throw new AwsServiceError('SerializationException', 'Request body must be a JSON object');
      return (await operation(input)) ?? {};
    })().then(
      (output) => reply(200, output),
      (error: unknown) => {
        if (error instanceof AwsServiceError)
          reply(error.statusCode, { __type: error.type, message: error.message });
        else
          reply(500, {
            __type: 'InternalException',
            message: error instanceof Error ? error.message : 'error',
          });
      },
    );
  });
  const url = await listenOn(server, options);
  return { server, url };
}

/** Starts `server` on `host` (default the loopback) and `port` (0: any free one); its URL once it listens. */
export async function listenOn(server: Server, options: { port: number; host?: string }): Promise<string> {
  const host = options.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  return `http://${host}:${port}`;
}

export function requireString(input: Record<string, unknown>, key: string): string {
  const value = input[key];
  if (typeof value !== 'string' || value === '') {
    throw new AwsServiceError('ValidationException', `${key} is required and must be a non-empty string`);
  }
  return value;
}

export { isRecord };

/** Stops accepting connections and drops idle keep-alive ones, so shutdown never waits on a client. */
export function closeServer(server: Server): Promise<void> {
  return new Promise<void>((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}
