// `/_local/faults`: one control endpoint for every fault the local stack can inject (SES, DynamoDB, bus, functions).
import type { IncomingMessage } from 'node:http';
import * as z from 'zod';
import { type DynamoDbFaults, dynamoDbFaultSchema } from './dynamodb-fault-proxy.ts';
import { type PutEventsFaults, putEventsFaultSchema } from './event-bus-faults.ts';
import { type FunctionFaults, functionFaultSchema } from './function-faults.ts';
import type { SesFaults } from './ses-gateway.ts';

export interface LocalFaults {
  readonly ses: SesFaults;
  readonly dynamodb: DynamoDbFaults;
  readonly events: PutEventsFaults;
  readonly functions: FunctionFaults;
}

const count = z.int().min(0);
export const faultsRequestSchema = z.strictObject({
  ses: z
    .strictObject({
      throttle: count.optional(),
      resetAfterAccept: count.optional(),
      delayMs: count.optional(),
    })
    .optional(),
  dynamodb: z.array(dynamoDbFaultSchema).max(50).optional(),
  events: putEventsFaultSchema.optional(),
  functions: z.array(functionFaultSchema).max(50).optional(),
});
export type FaultsRequest = z.input<typeof faultsRequestSchema>;

const USAGE =
  'The body must be JSON: {"ses": {"throttle": n, "resetAfterAccept": n, "delayMs": ms}, ' +
  '"dynamodb": [{"error": "ThrottlingException", "count": n, "operation": "TransactWriteItems", "table": "..."}], ' +
  '"events": {"failEntries": n, "errorCode": "ThrottlingException"}, ' +
  '"functions": [{"function": "MessagingSender", "crash": "afterInvoke", "count": n, "redeliverAfterSeconds": s}]}';

function remaining(faults: LocalFaults) {
  return {
    ses: faults.ses.remaining(),
    dynamodb: faults.dynamodb.remaining(),
    events: faults.events.remaining(),
    functions: faults.functions.remaining(),
  };
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const buffer = Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk));
    size += buffer.length;
    if (size > 64 * 1024) throw new Error('too large');
    chunks.push(buffer);
  }
  return JSON.parse(Buffer.concat(chunks).toString('utf8'));
}

/** GET shows what remains, PUT replaces every fault (a kind left out is cleared), DELETE clears them all. */
export async function controlLocalFaults(
  req: IncomingMessage,
  faults: LocalFaults,
): Promise<{ status: number; body: unknown }> {
  switch (req.method) {
    case 'GET':
      return { status: 200, body: remaining(faults) };
    case 'DELETE':
      faults.ses.clear();
      faults.dynamodb.clear();
      faults.events.clear();
      faults.functions.clear();
      return { status: 200, body: remaining(faults) };
    case 'PUT': {
      let input: unknown;
      try {
        input = await readJson(req);
      } catch {
        return { status: 400, body: { message: USAGE } };
      }
      const parsed = faultsRequestSchema.safeParse(input);
      if (!parsed.success) return { status: 400, body: { message: z.prettifyError(parsed.error) } };
      faults.ses.set(parsed.data.ses ?? {});
      faults.dynamodb.set(parsed.data.dynamodb ?? []);
      if (parsed.data.events) faults.events.set(parsed.data.events);
      else faults.events.clear();
      faults.functions.set(parsed.data.functions ?? []);
      return { status: 200, body: remaining(faults) };
    }
    default:
      return { status: 405, body: { message: 'Use GET, PUT or DELETE' } };
  }
}
