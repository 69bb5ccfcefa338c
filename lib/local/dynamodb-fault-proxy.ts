// A loopback proxy in front of DynamoDB Local that answers throttling or server errors on demand, on the real wire.
import { randomUUID } from 'node:crypto';
import {
  Agent,
  createServer,
  request as httpRequest,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import * as z from 'zod';
import { closeServer, listenOn } from './json-protocol.ts';

/** The errors DynamoDB answers under pressure; the SDK retries all three with backoff before giving up. */
export const DYNAMODB_FAULT_ERRORS = [
  'ProvisionedThroughputExceededException',
  'ThrottlingException',
  'InternalServerError',
] as const;
export type DynamoDbFaultError = (typeof DYNAMODB_FAULT_ERRORS)[number];

export const dynamoDbFaultSchema = z.strictObject({
  /** @default ProvisionedThroughputExceededException */
  error: z.enum(DYNAMODB_FAULT_ERRORS).default('ProvisionedThroughputExceededException'),
  /** How many matching calls fail (each SDK retry is a call of its own). */
  count: z.int().min(1),
  /** Only this operation, e.g. `TransactWriteItems` (the X-Amz-Target without its prefix). */
  operation: z.string().min(1).optional(),
  /** Only calls touching a table whose name contains this text. */
  table: z.string().min(1).optional(),
});
export type DynamoDbFault = z.infer<typeof dynamoDbFaultSchema>;
export type DynamoDbFaultInput = z.input<typeof dynamoDbFaultSchema>;

/** The parts of a call a fault can be filtered on. */
export interface DynamoDbCall {
  readonly operation: string;
  readonly tables: readonly string[];
}

/** Faults injected into DynamoDB calls; each fault's count goes down as matching calls take it. */
export class DynamoDbFaults {
  private faults: DynamoDbFault[] = [];

  set(faults: readonly DynamoDbFaultInput[]): void {
    this.faults = faults.map((fault) => dynamoDbFaultSchema.parse(fault));
  }

  clear(): void {
    this.faults = [];
  }

  remaining(): readonly DynamoDbFault[] {
    return this.faults.map((fault) => ({ ...fault }));
  }

  /** The first fault matching the call, counted down; undefined when the call goes through. */
  take(call: DynamoDbCall): DynamoDbFaultError | undefined {
    const index = this.faults.findIndex(
      (fault) =>
        (fault.operation === undefined || fault.operation === call.operation) &&
        (fault.table === undefined || call.tables.some((name) => name.includes(fault.table ?? ''))),
    );
    const fault = this.faults[index];
    if (fault === undefined) return undefined;
    if (fault.count <= 1) this.faults.splice(index, 1);
    else this.faults[index] = { ...fault, count: fault.count - 1 };
    return fault.error;
  }
}

const tableNamed = z.object({ TableName: z.string() });
const requestShape = z.object({
  TableName: z.string().optional(),
  RequestItems: z.record(z.string(), z.unknown()).optional(),
  TransactItems: z.array(z.record(z.string(), z.unknown())).optional(),
});

/** Every table a DynamoDB JSON request names: TableName, batch RequestItems keys, or each transaction item's. */
export function tablesOf(body: unknown): string[] {
  const parsed = requestShape.safeParse(body);
  if (!parsed.success) return [];
  const tables = new Set<string>();
  if (parsed.data.TableName) tables.add(parsed.data.TableName);
  for (const name of Object.keys(parsed.data.RequestItems ?? {})) tables.add(name);
  for (const item of parsed.data.TransactItems ?? []) {
    for (const action of Object.values(item)) {
      const named = tableNamed.safeParse(action);
      if (named.success) tables.add(named.data.TableName);
    }
  }
  return [...tables];
}

/** DynamoDB's JSON 1.0 error shapes: the SDK reads `__type` to name the exception and decide on a retry. */
const ERROR_TYPES: Readonly<Record<DynamoDbFaultError, { status: number; type: string; message: string }>> = {
  ProvisionedThroughputExceededException: {
    status: 400,
    type: 'com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException',
    message:
      'The level of configured provisioned throughput for the table was exceeded. Consider increasing your provisioning level with the UpdateTable API.',
  },
  ThrottlingException: {
    status: 400,
    type: 'com.amazon.coral.availability#ThrottlingException',
    message: 'Rate of requests exceeds the allowed throughput.',
  },
  InternalServerError: {
    status: 500,
    type: 'com.amazonaws.dynamodb.v20120810#InternalServerError',
    message: 'Internal server error',
  },
};

function replyFault(res: ServerResponse, error: DynamoDbFaultError): void {
  const shape = ERROR_TYPES[error];
  const text = JSON.stringify({ __type: shape.type, message: shape.message });
  res.writeHead(shape.status, {
    'content-type': 'application/x-amz-json-1.0',
    'content-length': Buffer.byteLength(text),
    'x-amzn-requestid': randomUUID(),
  });
  res.end(text);
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk)));
  return Buffer.concat(chunks);
}

function parseJson(body: Buffer): unknown {
  try {
    return JSON.parse(body.toString('utf8'));
  } catch {
    return undefined;
  }
}

export interface DynamoDbFaultProxyOptions {
  /** Where DynamoDB Local listens. */
  readonly upstreamUrl: string;
  /** @default a new, empty DynamoDbFaults */
  readonly faults?: DynamoDbFaults;
  readonly onError?: (message: string) => void;
}

/**
 * Functions reach DynamoDB through this proxy (AWS_ENDPOINT_URL_DYNAMODB), so an injected fault meets the SDK's own
 * retry logic exactly as a throttled table would. Without faults, every byte passes through unchanged.
 */
export class DynamoDbFaultProxy {
  readonly faults: DynamoDbFaults;
  private server?: Server;
  private readonly upstream: URL;
  // DynamoDB Local is slow to accept connections; reusing them keeps the proxy's overhead to a loopback hop.
  private readonly agent = new Agent({ keepAlive: true, maxSockets: 64 });
  url = '';

  constructor(private readonly options: DynamoDbFaultProxyOptions) {
    this.faults = options.faults ?? new DynamoDbFaults();
    this.upstream = new URL(options.upstreamUrl);
  }

  async start(port = 0): Promise<string> {
    const server = createServer((req, res) => {
      this.handle(req, res).catch((error: unknown) => {
        this.options.onError?.(
          `DynamoDB fault proxy: ${error instanceof Error ? error.message : String(error)}`,
        );
        if (res.headersSent) res.destroy();
        else replyFault(res, 'InternalServerError');
      });
    });
    this.url = await listenOn(server, { port });
    this.server = server;
    return this.url;
  }

  async stop(): Promise<void> {
    if (this.server) await closeServer(this.server);
    this.agent.destroy();
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const body = await readBody(req);
    const target = req.headers['x-amz-target'];
    const operation = typeof target === 'string' ? (target.split('.')[1] ?? target) : '';
    const fault = operation ? this.faults.take({ operation, tables: tablesOf(parseJson(body)) }) : undefined;
    if (fault) {
      replyFault(res, fault);
      return;
    }
    await new Promise<void>((resolve, reject) => {
      const upstream = httpRequest({
        protocol: this.upstream.protocol,
        hostname: this.upstream.hostname,
        port: this.upstream.port,
        method: req.method,
        path: req.url,
        headers: { ...req.headers, 'content-length': String(body.length) },
        agent: this.agent,
      });
      upstream.once('response', (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
        answer.once('end', resolve);
        answer.once('error', reject);
      });
      upstream.once('error', reject);
      upstream.end(body);
    });
  }
}
