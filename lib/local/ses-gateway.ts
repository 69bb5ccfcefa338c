// The local SES v2 endpoint: proxies to aws-ses-v2-local, checks configuration sets, injects faults, publishes events.
import { randomUUID } from 'node:crypto';
import {
  createServer,
  request as httpRequest,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type OutgoingHttpHeaders,
  type Server,
  type ServerResponse,
} from 'node:http';
import * as z from 'zod';
import type { LocalEventBus } from './event-bus.ts';
import { closeServer, listenOn } from './json-protocol.ts';
import { type AcceptedEmail, busEventsFor, type SesConfigurationSet, sesEventsFor } from './ses-events.ts';

export interface SesFaultSettings {
  /** The next n SendEmail calls answer 429 TooManyRequestsException and store nothing. */
  readonly throttle: number;
  /** The next n SendEmail calls are accepted, then the connection is reset instead of answered. */
  readonly resetAfterAccept: number;
  /** Every SendEmail answer waits this long. */
  readonly delayMs: number;
}

/** What one SendEmail call suffers. */
export interface SendEmailFault {
  readonly kind: 'none' | 'throttle' | 'resetAfterAccept';
  readonly delayMs: number;
}

const NO_FAULTS: SesFaultSettings = { throttle: 0, resetAfterAccept: 0, delayMs: 0 };

/** Faults tests inject into SendEmail; counts go down as calls take them. */
export class SesFaults {
  private settings: SesFaultSettings = NO_FAULTS;

  /** Replaces every setting; an omitted one is off. */
  set(settings: Partial<SesFaultSettings>): void {
    this.settings = { ...NO_FAULTS, ...settings };
  }

  clear(): void {
    this.settings = NO_FAULTS;
  }

  remaining(): SesFaultSettings {
    return this.settings;
  }

  /** Throttles are taken before resets, so `{throttle: 1, resetAfterAccept: 1}` fails one call, then loses one. */
  takeForSendEmail(): SendEmailFault {
    const { throttle, resetAfterAccept, delayMs } = this.settings;
    if (throttle > 0) {
      this.settings = { ...this.settings, throttle: throttle - 1 };
      return { kind: 'throttle', delayMs };
    }
    if (resetAfterAccept > 0) {
      this.settings = { ...this.settings, resetAfterAccept: resetAfterAccept - 1 };
      return { kind: 'resetAfterAccept', delayMs };
    }
    return { kind: 'none', delayMs };
  }
}

const count = z.int().min(0);
const faultsRequestSchema = z.strictObject({
  ses: z
    .strictObject({
      throttle: count.optional(),
      resetAfterAccept: count.optional(),
      delayMs: count.optional(),
    })
    .optional(),
});

const MAX_BODY_BYTES = 25 * 1024 * 1024;

async function readBody(req: IncomingMessage, limit = MAX_BODY_BYTES): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const buffer = Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk));
    size += buffer.length;
    if (size > limit) throw new Error('Request body too large');
    chunks.push(buffer);
  }
  return Buffer.concat(chunks);
}

/** The local stack's `/_local/faults` control endpoint: GET shows what remains, PUT replaces, DELETE clears. */
export async function controlFaults(
  req: IncomingMessage,
  faults: SesFaults,
): Promise<{ status: number; body: unknown }> {
  switch (req.method) {
    case 'GET':
      return { status: 200, body: { ses: faults.remaining() } };
    case 'DELETE':
      faults.clear();
      return { status: 200, body: { ses: faults.remaining() } };
    case 'PUT': {
      let input: unknown;
      try {
        input = JSON.parse((await readBody(req, 64 * 1024)).toString('utf8'));
      } catch {
        return { status: 400, body: { message: 'The body must be JSON: {"ses": {"throttle": n, ...}}' } };
      }
      const parsed = faultsRequestSchema.safeParse(input);
      if (!parsed.success) return { status: 400, body: { message: z.prettifyError(parsed.error) } };
      faults.set(parsed.data.ses ?? {});
      return { status: 200, body: { ses: faults.remaining() } };
    }
    default:
      return { status: 405, body: { message: 'Use GET, PUT or DELETE' } };
  }
}

/** The parts of a SendEmail request the gateway acts on; the emulator validates the rest. */
const sendEmailRequestSchema = z.object({
  ConfigurationSetName: z.string().optional(),
  EmailTags: z.array(z.object({ Name: z.string(), Value: z.string() })).default([]),
});

/** An email as aws-ses-v2-local stores it (`GET /store`), rendered whatever the content type. */
const storedEmailSchema = z.object({
  messageId: z.string(),
  from: z.string(),
  destination: z.object({
    to: z.array(z.string()).default([]),
    cc: z.array(z.string()).default([]),
    bcc: z.array(z.string()).default([]),
  }),
  subject: z.string(),
  headers: z.array(z.object({ name: z.string(), value: z.string() })).optional(),
});
const storeSchema = z.object({ emails: z.array(z.unknown()) });
const sendEmailResponseSchema = z.object({ MessageId: z.string() });

/** Raw MIME lists several recipients in one header value. */
function splitAddressList(values: readonly string[]): string[] {
  return values
    .flatMap((value) => value.split(/,(?=(?:[^"]*"[^"]*")*[^"]*$)/))
    .map((v) => v.trim())
    .filter(Boolean);
}

const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'content-length']);

function forwardableHeaders(headers: IncomingHttpHeaders): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined && !HOP_BY_HOP.has(name)) out[name] = value;
  }
  return out;
}

function sleep(ms: number): Promise<void> {
  return ms > 0 ? new Promise((resolve) => setTimeout(resolve, ms)) : Promise.resolve();
}

function replyError(res: ServerResponse, input: { status: number; type: string; message: string }): void {
  const text = JSON.stringify({ message: input.message });
  res.writeHead(input.status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
    'x-amzn-errortype': input.type,
    'x-amzn-requestid': randomUUID(),
  });
  res.end(text);
}

export interface SesGatewayOptions {
  /** Where aws-ses-v2-local listens (an internal loopback port). */
  readonly emulatorUrl: string;
  readonly configurationSets: readonly SesConfigurationSet[];
  /** Sending events go to the default bus, the only one SES publishes to. */
  readonly bus: Pick<LocalEventBus, 'dispatch'>;
  readonly accountId: string;
  readonly region: string;
  /** @default a new, empty SesFaults */
  readonly faults?: SesFaults;
  /** Problems that cannot reach a caller (event publication happens after the answer). */
  readonly onError?: (message: string) => void;
  /** The time stamped on sending events (the local stack's movable clock). @default real time */
  readonly now?: () => Date;
}

/**
 * Sits where the SDK expects SES: everything is proxied to the emulator unchanged except SendEmail, which gets
 * what the emulator lacks — configuration sets, faults, and event publishing after the answer, as SES does.
 */
export class SesGateway {
  readonly faults: SesFaults;
  private server?: Server;
  private readonly pending = new Set<Promise<void>>();
  private readonly emulator: URL;
  url = '';

  constructor(private readonly options: SesGatewayOptions) {
    this.faults = options.faults ?? new SesFaults();
    this.emulator = new URL(options.emulatorUrl);
  }

  private now(): Date {
    return this.options.now?.() ?? new Date();
  }

  async start(port: number): Promise<string> {
    const server = createServer((req, res) => {
      const path = (req.url ?? '/').split('?')[0];
      const handling =
        req.method === 'POST' && path === '/v2/email/outbound-emails'
          ? this.sendEmail(req, res)
          : this.proxy(req, res);
      handling.catch((error: unknown) => {
        const message = error instanceof Error ? error.message : String(error);
        this.options.onError?.(`SES gateway: ${message}`);
        if (res.headersSent) res.destroy();
        else
          replyError(res, { status: 500, type: 'InternalFailure', message: 'The local SES gateway failed.' });
      });
    });
    this.url = await listenOn(server, { port });
    this.server = server;
    return this.url;
  }

  /** Resolves once every event publication started so far is done. */
  async drain(): Promise<void> {
    while (this.pending.size > 0) await Promise.allSettled([...this.pending]);
  }

  async stop(): Promise<void> {
    if (this.server) await closeServer(this.server);
    await this.drain();
  }

  private upstreamRequest(req: IncomingMessage, headers: OutgoingHttpHeaders) {
    return httpRequest({
      protocol: this.emulator.protocol,
      hostname: this.emulator.hostname,
      port: this.emulator.port,
      method: req.method,
      path: req.url,
      headers,
    });
  }

  /** Streams a request through untouched: the mailbox page, GET /store, templates and the other operations. */
  private proxy(req: IncomingMessage, res: ServerResponse): Promise<void> {
    return new Promise((resolve, reject) => {
      const upstream = this.upstreamRequest(req, { ...req.headers });
      upstream.once('response', (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
        answer.once('end', resolve);
        answer.once('error', reject);
      });
      upstream.once('error', reject);
      req.pipe(upstream);
    });
  }

  /** Sends a buffered request to the emulator and buffers its answer. */
  private forward(
    req: IncomingMessage,
    body: Buffer,
  ): Promise<{ status: number; headers: IncomingHttpHeaders; body: Buffer }> {
    return new Promise((resolve, reject) => {
      const upstream = this.upstreamRequest(req, {
        ...forwardableHeaders(req.headers),
        'content-length': String(body.length),
      });
      upstream.once('response', (answer) => {
        readBody(answer).then(
          (text) => resolve({ status: answer.statusCode ?? 502, headers: answer.headers, body: text }),
          reject,
        );
      });
      upstream.once('error', reject);
      upstream.end(body);
    });
  }

  private async sendEmail(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const sentAt = this.now();
    // The mailbox stores by real time; its `since` filter must not look into the shifted future.
    const receivedAt = new Date();
    const body = await readBody(req);
    const request = parseSendEmailRequest(body);
    const configurationSet = request?.ConfigurationSetName
      ? this.options.configurationSets.find((set) => set.name === request.ConfigurationSetName)
      : undefined;
    if (request?.ConfigurationSetName && !configurationSet) {
      replyError(res, {
        status: 404,
        type: 'NotFoundException',
        message: `Configuration set ${request.ConfigurationSetName} does not exist.`,
      });
      return;
    }
    const fault = this.faults.takeForSendEmail();
    if (fault.kind === 'throttle') {
      await sleep(fault.delayMs);
      replyError(res, {
        status: 429,
        type: 'TooManyRequestsException',
        message: 'Maximum sending rate exceeded.',
      });
      return;
    }
    const answer = await this.forward(req, body);
    await sleep(fault.delayMs);
    if (fault.kind === 'resetAfterAccept') {
      // The message is in the mailbox; only the answer is lost, as when a sender dies or its connection drops.
      res.destroy();
    } else {
      res.writeHead(answer.status, {
        'x-amzn-requestid': randomUUID(),
        ...forwardableHeaders(answer.headers),
        'content-length': answer.body.length,
      });
      res.end(answer.body);
    }
    const accepted =
      answer.status === 200 ? sendEmailResponseSchema.safeParse(parseJson(answer.body)) : undefined;
    if (!accepted?.success || !request || !configurationSet) return;
    const publication = this.publish({
      messageId: accepted.data.MessageId,
      sentAt,
      receivedAt,
      configurationSet,
      emailTags: request.EmailTags.map((t) => ({ name: t.Name, value: t.Value })),
      sourceIp: (req.socket.remoteAddress ?? '127.0.0.1').replace(/^::ffff:/, ''),
      callerIdentity: callerIdentityOf(req.headers.authorization),
    }).catch((error: unknown) => {
      this.options.onError?.(
        `SES gateway: events for message ${accepted.data.MessageId} were not published: ${error instanceof Error ? error.message : String(error)}`,
      );
    });
    this.pending.add(publication);
    void publication.finally(() => this.pending.delete(publication));
  }

  /** The email is read back from the emulator's store, which has it rendered whatever the content type was. */
  private async publish(sent: {
    messageId: string;
    sentAt: Date;
    receivedAt: Date;
    configurationSet: SesConfigurationSet;
    emailTags: AcceptedEmail['emailTags'];
    sourceIp: string;
    callerIdentity: string;
  }): Promise<void> {
    const since = Math.floor(sent.receivedAt.getTime() / 1000) - 1;
    const response = await fetch(new URL(`/store?since=${since}`, this.emulator));
    if (!response.ok) throw new Error(`the mailbox answered ${response.status}`);
    const store = storeSchema.parse(await response.json());
    const stored = store.emails
      .map((email) => storedEmailSchema.safeParse(email))
      .find((parsed) => parsed.success && parsed.data.messageId === sent.messageId);
    if (!stored?.success) throw new Error('the mailbox does not hold it');
    const email = stored.data;
    const at = this.now();
    const events = sesEventsFor(
      {
        messageId: sent.messageId,
        sentAt: sent.sentAt,
        from: email.from,
        to: splitAddressList(email.destination.to),
        recipients: splitAddressList([
          ...email.destination.to,
          ...email.destination.cc,
          ...email.destination.bcc,
        ]),
        subject: email.subject,
        headers: email.headers ?? [],
        emailTags: sent.emailTags,
        configurationSetName: sent.configurationSet.name,
        sourceIp: sent.sourceIp,
        callerIdentity: sent.callerIdentity,
      },
      { accountId: this.options.accountId, region: this.options.region, at },
    );
    const busEvents = busEventsFor({
      events,
      configurationSet: sent.configurationSet,
      accountId: this.options.accountId,
      region: this.options.region,
      at,
    });
    for (const event of busEvents) this.options.bus.dispatch('default', event);
  }
}

function parseJson(body: Buffer): unknown {
  try {
    return JSON.parse(body.toString('utf8'));
  } catch {
    return undefined;
  }
}

/** Undefined when the body is not a SendEmail request at all; the emulator then answers with its own error. */
function parseSendEmailRequest(body: Buffer): z.infer<typeof sendEmailRequestSchema> | undefined {
  const parsed = sendEmailRequestSchema.safeParse(parseJson(body));
  return parsed.success ? parsed.data : undefined;
}

/** SES reports the IAM identity; locally the access key id from the SigV4 credential scope stands in for it. */
function callerIdentityOf(authorization: string | undefined): string {
  return authorization?.match(/Credential=([^/,\s]+)\//)?.[1] ?? 'local';
}
