// The local stack: synthesizes the app, starts the emulators, provisions what the template declares, and runs it.
import { randomBytes } from 'node:crypto';
import { appendFileSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { DescribeTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBStreamsClient } from '@aws-sdk/client-dynamodb-streams';
import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { createHttpApiHandler } from './api-gateway.ts';
import {
  advanceThroughTimers,
  type ClockRequest,
  clockTarget,
  controlClock,
  earliestTimer,
  LocalClock,
  timerTableName,
} from './clock.ts';
import { readCloudAssembly, synthesize } from './cloud-assembly.ts';
import { DynamoDbFaultProxy } from './dynamodb-fault-proxy.ts';
import { DynamoDbStreamSource } from './dynamodb-stream-source.ts';
import {
  LOCAL_ACCOUNT_ID,
  LOCAL_CREDENTIALS,
  LOCAL_REGION,
  PortInUseError,
  type RunningDynamoDb,
  type RunningServer,
  type RunningSqs,
  reservePort,
  startDynamoDbLocal,
  startSes,
  startSqs,
} from './emulators.ts';
import { type BusEvent, type Delivery, LocalEventBus } from './event-bus.ts';
import { controlLocalFaults, type LocalFaults } from './fault-control.ts';
import { FunctionFaults } from './function-faults.ts';
import { closeServer } from './json-protocol.ts';
import { FunctionPool } from './lambda/function-pool.ts';
import { provisionQueues, provisionTables } from './provision.ts';
import { restoreQueues, snapshotQueues } from './queue-snapshots.ts';
import { ScheduleRunner } from './schedules.ts';
import { LocalSecretsManager } from './secrets-manager.ts';
import { SesFaults, SesGateway } from './ses-gateway.ts';
import { SqsEventSource } from './sqs-event-source.ts';
import { TemplateModel } from './template.ts';
import {
  readApiDefinitions,
  readArchives,
  readEventSourceMappings,
  readFunctions,
  readRules,
  readSchedules,
  readSesConfigurationSets,
  readStreamMappings,
} from './template-resources.ts';

export interface LocalStackOptions {
  /** The repository root (where cdk.json and bin/ are). */
  readonly projectRoot: string;
  /** Where local data lives; survives restarts. @default `<projectRoot>/.nurture` */
  readonly dataDirectory?: string;
  /** API port; the emulators take the next five. 0 picks free ports for everything. @default 4000 */
  readonly port?: number;
  /** Delete all local data first. */
  readonly fresh?: boolean;
  readonly adminToken?: string;
  readonly writeKey?: string;
  /** CDK context for synthesis. @default { stage: 'dev' } */
  readonly context?: Record<string, string>;
  /** Use an already synthesized cloud assembly instead of synthesizing. */
  readonly assemblyDirectory?: string;
  /** Progress and warnings for people. */
  readonly log?: (line: string) => void;
  /** Function output; it is always written to `<data>/logs/functions/<name>.log` too. */
  readonly onFunctionLog?: (functionName: string, line: string) => void;
}

export interface LocalEndpoints {
  readonly dynamodb: string;
  readonly sqs: string;
  readonly sesv2: string;
  readonly events: string;
  readonly secretsmanager: string;
}

export interface LocalStackInfo {
  readonly apiUrl: string;
  readonly adminToken: string;
  readonly writeKey: string;
  readonly mailboxUrl: string;
  readonly endpoints: LocalEndpoints;
}

export interface LocalStack extends LocalStackInfo {
  readonly dataDirectory: string;
  readonly stackName: string;
  readonly model: TemplateModel;
  readonly bus: LocalEventBus;
  /** SES faults, also set through `PUT /_local/faults`. */
  readonly sesFaults: SesFaults;
  /** Every injectable fault (SES, DynamoDB, PutEvents, function crashes), as `PUT /_local/faults` sets them. */
  readonly faults: LocalFaults;
  readonly schedules: ScheduleRunner;
  /** The time every function sees; moved forward by `advanceClock` or `POST /_local/clock`. */
  readonly clock: LocalClock;
  /**
   * Moves the clock forward (an ISO 8601 duration, or `{ to }`), firing the journey timers due on the way in order,
   * and resolves once everything they caused has settled.
   */
  advanceClock(request: string | { readonly to: Date }): Promise<{ now: Date; steps: number }>;
  /** Settles, then waits for the queues' event sources too, until one whole round ran no function. */
  quiesce(): Promise<void>;
  /** Milliseconds from the call to ready, per phase. */
  readonly timings: Readonly<Record<string, number>>;
  invoke(functionLogicalId: string, event: unknown): ReturnType<FunctionPool['invoke']>;
  /**
   * Resolves when every stream event source has delivered what was written so far, SES events are published, and
   * the bus is drained.
   */
  settle(): Promise<void>;
  stop(): Promise<void>;
}

interface Credentials {
  adminToken: string;
  writeKey: string;
}

function newSecret(prefix: string): string {
  return `${prefix}_${randomBytes(24).toString('base64url')}`;
}

/** Tokens persist in the data directory so scripts keep working across restarts; the environment overrides them. */
function loadCredentials(dataDirectory: string, options: LocalStackOptions): Credentials {
  const file = join(dataDirectory, 'credentials.json');
  let stored: Partial<Credentials> = {};
  if (existsSync(file)) {
    const parsed: unknown = JSON.parse(readFileSync(file, 'utf8'));
    if (typeof parsed === 'object' && parsed !== null) {
      const adminToken = Reflect.get(parsed, 'adminToken');
      const writeKey = Reflect.get(parsed, 'writeKey');
      stored = {
        ...(typeof adminToken === 'string' ? { adminToken } : {}),
        ...(typeof writeKey === 'string' ? { writeKey } : {}),
      };
    }
  }
  const credentials = {
    adminToken: options.adminToken || stored.adminToken || newSecret('admin'),
    writeKey: options.writeKey || stored.writeKey || newSecret('wk'),
  };
  writeFileSync(file, JSON.stringify(credentials, null, 2), { mode: 0o600 });
  return credentials;
}

function safeFileName(name: string): string {
  return name.replace(/^\/+/, '').replace(/[^A-Za-z0-9._-]+/g, '_');
}

export async function startLocalStack(options: LocalStackOptions): Promise<LocalStack> {
  const started = performance.now();
  const timings: Record<string, number> = {};
  const mark = (phase: string, since: number) => {
    timings[phase] = Math.round(performance.now() - since);
  };
  const log = options.log ?? (() => {});
  const dataDirectory = options.dataDirectory ?? join(options.projectRoot, '.nurture');
  if (options.fresh) rmSync(dataDirectory, { recursive: true, force: true });
  for (const dir of ['', 'dynamodb', 'logs', 'logs/functions', 'archive', 'sqs']) {
    mkdirSync(join(dataDirectory, dir), { recursive: true });
  }
  const clock = new LocalClock({ file: join(dataDirectory, 'clock.json') });

  // Ports first: a port in use must fail in milliseconds, before anything slow starts.
  const basePort = options.port ?? 4000;
  const portFor = (offset: number) => (basePort === 0 ? 0 : basePort + offset);
  const apiPort = await reservePort(basePort, 'API');
  const dynamoPort = await reservePort(portFor(1), 'DynamoDB Local');
  const sqsPort = await reservePort(portFor(2), 'SQS');
  const sesPort = await reservePort(portFor(3), 'SES');
  const eventsPort = await reservePort(portFor(4), 'EventBridge');
  const secretsPort = await reservePort(portFor(5), 'Secrets Manager');
  const apiUrl = `http://127.0.0.1:${apiPort}`;

  const stoppers: Array<() => Promise<void> | void> = [];
  const stopAll = async () => {
    for (const stop of stoppers.splice(0).reverse()) {
      try {
        await stop();
      } catch (error) {
        log(`warning: while stopping: ${error instanceof Error ? error.message : String(error)}`);
      }
    }
  };

  try {
    let phase = performance.now();
    const assemblyDirectory = options.assemblyDirectory ?? join(dataDirectory, 'cdk.out');
    const synthesis = options.assemblyDirectory
      ? Promise.resolve()
      : synthesize({
          projectRoot: options.projectRoot,
          outDir: assemblyDirectory,
          context: options.context ?? { stage: 'dev' },
        });
    const dynamoPromise = startDynamoDbWithRetry(dynamoPort, join(dataDirectory, 'dynamodb'), basePort === 0);
    const sqsPromise = startSqs({ port: sqsPort });
    // The emulator sits behind the SES gateway, which takes the SES port once the template is read.
    const sesPromise = startSes({ port: 0 });
    const secrets = new LocalSecretsManager();
    const settled = await Promise.allSettled([
      synthesis,
      dynamoPromise,
      sqsPromise,
      sesPromise,
      secrets.start(secretsPort),
    ]);
    for (const result of settled.slice(1, 4)) {
      if (result.status === 'fulfilled') {
        const running = result.value as RunningServer | RunningDynamoDb | RunningSqs;
        stoppers.push(() => running.stop());
      }
    }
    stoppers.push(() => secrets.stop());
    const failure = settled.find((r) => r.status === 'rejected');
    if (failure?.status === 'rejected') throw failure.reason;
    const dynamodbEmulator = await dynamoPromise;
    const sqsEmulator = await sqsPromise;
    const sesEmulator = await sesPromise;
    mark('synthesizeAndEmulators', phase);

    phase = performance.now();
    const assembly = readCloudAssembly(assemblyDirectory);
    const model = new TemplateModel(assembly.template, {
      stackName: assembly.stackName,
      region: LOCAL_REGION,
      accountId: LOCAL_ACCOUNT_ID,
    });
    for (const api of model.ofType('AWS::ApiGatewayV2::Api')) {
      model.setPhysical(api.logicalId, { attributes: { ApiEndpoint: apiUrl } });
    }
    // Read first: it names configuration sets, which function environments refer to.
    const sesConfigurationSets = readSesConfigurationSets(model);
    const clientConfig = { region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS };
    const dynamodb = new DynamoDBClient({ ...clientConfig, endpoint: dynamodbEmulator.url });
    const sqs = new SQSClient({ ...clientConfig, endpoint: sqsEmulator.url, useQueueUrlAsEndpoint: false });
    stoppers.push(() => {
      dynamodb.destroy();
      sqs.destroy();
    });
    await provisionTables(model, dynamodb);
    const queues = await provisionQueues(model, sqs);
    if (!options.fresh) await restoreQueues({ directory: join(dataDirectory, 'sqs'), queues, sqs, log });

    const credentials = loadCredentials(dataDirectory, options);
    for (const secret of model.ofType('AWS::SecretsManager::Secret')) {
      secrets.define({
        arn: model.ref(secret.logicalId),
        name: secret.logicalId,
        value: credentials.adminToken,
      });
    }
    mark('provision', phase);

    // Functions reach DynamoDB through the fault proxy; people and tests reach DynamoDB Local directly.
    const dynamodbProxy = new DynamoDbFaultProxy({
      upstreamUrl: dynamodbEmulator.url,
      onError: (message) => log(`warning: ${message}`),
    });
    await dynamodbProxy.start(0);
    stoppers.push(() => dynamodbProxy.stop());
    const functionFaults = new FunctionFaults();

    const endpoints: LocalEndpoints = {
      dynamodb: dynamodbEmulator.url,
      sqs: sqsEmulator.url,
      sesv2: `http://127.0.0.1:${sesPort}`,
      events: `http://127.0.0.1:${eventsPort}`,
      secretsmanager: secrets.url,
    };
    // Handlers find the emulators only through the SDK's standard endpoint variables, as they would find AWS.
    const baseEnvironment: Record<string, string> = {
      AWS_REGION: LOCAL_REGION,
      AWS_DEFAULT_REGION: LOCAL_REGION,
      AWS_ACCESS_KEY_ID: LOCAL_CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: LOCAL_CREDENTIALS.secretAccessKey,
      AWS_ENDPOINT_URL_DYNAMODB: dynamodbProxy.url,
      AWS_ENDPOINT_URL_SQS: endpoints.sqs,
      AWS_ENDPOINT_URL_SESV2: endpoints.sesv2,
      AWS_ENDPOINT_URL_EVENTBRIDGE: endpoints.events,
      AWS_ENDPOINT_URL_SECRETS_MANAGER: endpoints.secretsmanager,
      AWS_EXECUTION_ENV: 'AWS_Lambda_nodejs24.x',
      AWS_LAMBDA_LOG_FORMAT: 'JSON',
      TZ: 'UTC',
      PATH: process.env.PATH ?? '',
      // Lambda runs Node 24; locally the SDK would warn on every cold start that Node 20 support ends in 2027.
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    };

    const functionLogs = join(dataDirectory, 'logs', 'functions');
    const pools = new Map<string, FunctionPool>();
    for (const definition of readFunctions(model, (key) => assembly.assetDirectory(key))) {
      pools.set(
        definition.logicalId,
        new FunctionPool(
          definition,
          baseEnvironment,
          ({ functionName, line }) => {
            appendFileSync(join(functionLogs, `${safeFileName(functionName)}.log`), `${line}\n`);
            options.onFunctionLog?.(functionName, line);
          },
          { clockBuffer: clock.buffer, faults: functionFaults },
        ),
      );
    }
    stoppers.push(() => Promise.all([...pools.values()].map((p) => p.close())).then(() => undefined));
    // quiesce() knows a round was quiet when no function ran during it.
    let invocations = 0;
    const invoke = (logicalId: string, event: unknown) => {
      const pool = pools.get(logicalId);
      if (!pool) throw new Error(`No function ${logicalId} in the template`);
      invocations += 1;
      return pool.invoke(event);
    };

    const deliver = async (arn: string, payload: string, extra: { messageGroupId?: string } = {}) => {
      const resource = model.findByPhysical(arn);
      switch (resource?.Type) {
        case 'AWS::Lambda::Function': {
          const result = await invoke(resource.logicalId, JSON.parse(payload));
          if (!result.ok) throw new Error(`${result.error.errorType}: ${result.error.errorMessage}`);
          return;
        }
        case 'AWS::SQS::Queue':
          await sqs.send(
            new SendMessageCommand({
              QueueUrl: model.ref(resource.logicalId),
              MessageBody: payload,
              ...(extra.messageGroupId ? { MessageGroupId: extra.messageGroupId } : {}),
            }),
          );
          return;
        case 'AWS::Logs::LogGroup':
          appendFileSync(
            join(dataDirectory, 'logs', `${safeFileName(model.ref(resource.logicalId))}.ndjson`),
            `${payload}\n`,
          );
          return;
        case 'AWS::Events::EventBus': {
          const event: unknown = JSON.parse(payload);
          bus.dispatch(model.ref(resource.logicalId), event as BusEvent);
          return;
        }
        default:
          throw new Error(`Target ${arn} is not supported by the local stack`);
      }
    };

    phase = performance.now();
    const undeliverable = join(dataDirectory, 'logs', 'undeliverable.ndjson');
    const bus = new LocalEventBus({
      region: LOCAL_REGION,
      accountId: LOCAL_ACCOUNT_ID,
      buses: model.ofType('AWS::Events::EventBus').map((b) => model.ref(b.logicalId)),
      rules: readRules(model),
      archives: readArchives(model),
      now: () => clock.now(),
      deliver: (d: Delivery) =>
        deliver(
          d.target.arn,
          d.payload,
          d.target.sqsMessageGroupId ? { messageGroupId: d.target.sqsMessageGroupId } : {},
        ),
      onArchive: (archive, event) =>
        appendFileSync(
          join(dataDirectory, 'archive', `${safeFileName(archive.name)}.ndjson`),
          `${JSON.stringify(event)}\n`,
        ),
      onUndeliverable: (d, error) => {
        const reason = error instanceof Error ? error.message : String(error);
        appendFileSync(
          undeliverable,
          `${JSON.stringify({ time: new Date().toISOString(), rule: d.rule.name, target: d.target.arn, reason, event: d.event })}\n`,
        );
        log(
          `warning: rule ${d.rule.name} could not deliver event ${d.event.id} to ${d.target.arn}: ${reason}`,
        );
      },
    });
    await bus.start(eventsPort);
    stoppers.push(() => bus.stop());

    const sesFaults = new SesFaults();
    const faults: LocalFaults = {
      ses: sesFaults,
      dynamodb: dynamodbProxy.faults,
      events: bus.faults,
      functions: functionFaults,
    };
    const sesGateway = new SesGateway({
      emulatorUrl: sesEmulator.url,
      configurationSets: sesConfigurationSets,
      bus,
      accountId: LOCAL_ACCOUNT_ID,
      region: LOCAL_REGION,
      faults: sesFaults,
      onError: (message) => log(`warning: ${message}`),
      now: () => clock.now(),
    });
    await sesGateway.start(sesPort);
    stoppers.push(() => sesGateway.stop());

    const schedules = new ScheduleRunner(
      readSchedules(model, {
        region: LOCAL_REGION,
        accountId: LOCAL_ACCOUNT_ID,
        deliver: (arn, payload) => deliver(arn, payload),
        now: () => clock.now(),
      }),
      (message) => log(`warning: ${message}`),
      () => clock.now(),
    );
    schedules.start();
    stoppers.push(() => schedules.stop());

    const eventSources = readEventSourceMappings(model, queues).map(
      (definition) =>
        new SqsEventSource(
          definition,
          sqs,
          (event) => invoke(definition.functionLogicalId, event),
          LOCAL_REGION,
          (message) => log(`warning: ${message}`),
        ),
    );
    // Queue contents are snapshotted after the pollers stop, so nothing in flight is lost across a restart.
    stoppers.push(() =>
      snapshotQueues({ directory: join(dataDirectory, 'sqs'), queues, fauxqs: sqsEmulator.fauxqs, log }),
    );
    for (const source of eventSources) {
      source.start();
      stoppers.push(() => source.stop());
    }

    const streamsClient = new DynamoDBStreamsClient({ ...clientConfig, endpoint: dynamodbEmulator.url });
    stoppers.push(() => streamsClient.destroy());
    const streamSources: DynamoDbStreamSource[] = [];
    for (const mapping of readStreamMappings(model)) {
      const { Table } = await dynamodb.send(new DescribeTableCommand({ TableName: mapping.tableName }));
      if (!Table?.LatestStreamArn)
        throw new Error(`table ${mapping.tableName} has no stream for ${mapping.logicalId}`);
      const onFailure = mapping.onFailureArn
        ? queues.find((q) => q.queueArn === mapping.onFailureArn)
        : undefined;
      const source = new DynamoDbStreamSource(
        {
          ...mapping,
          streamArn: Table.LatestStreamArn,
          ...(onFailure ? { onFailureQueueUrl: onFailure.queueUrl } : {}),
        },
        streamsClient,
        sqs,
        (event) => invoke(mapping.functionLogicalId, event),
        {
          region: LOCAL_REGION,
          checkpointFile: join(dataDirectory, `stream-checkpoints-${safeFileName(mapping.logicalId)}.json`),
          onError: (message) => log(`warning: ${message}`),
        },
      );
      source.start();
      stoppers.push(() => source.stop());
      streamSources.push(source);
    }

    const settle = async () => {
      await Promise.all(streamSources.map((source) => source.idle()));
      await sesGateway.drain();
      await bus.drain();
    };
    const quiesce = async () => {
      const deadline = performance.now() + 60_000;
      for (;;) {
        const before = invocations;
        await settle();
        await Promise.all(eventSources.map((source) => source.idle()));
        await settle();
        if (invocations === before) return;
        if (performance.now() > deadline) {
          log('warning: the local stack was still busy after 60 s; carrying on');
          return;
        }
      }
    };
    const timerTable = timerTableName(model);
    let clockMoves = Promise.resolve();
    const advanceClock = (request: string | { readonly to: Date }) => {
      // One move at a time: two advances interleaving would fire timers out of order.
      const move = clockMoves.then(async () => {
        const target = clockTarget(typeof request === 'string' ? { advance: request } : request, clock.now());
        return advanceThroughTimers({
          clock,
          target,
          earliestDue: async () =>
            timerTable ? earliestTimer({ dynamodb, tableName: timerTable }) : undefined,
          fireDue: async () => {
            await schedules.catchUp();
            await quiesce();
          },
          nextScheduledRun: () => schedules.nextRun(),
          onWarning: (message) => log(`warning: ${message}`),
        });
      });
      clockMoves = move.then(
        () => undefined,
        () => undefined,
      );
      return move;
    };

    const apis = readApiDefinitions(model);
    const api = apis[0];
    const apiHandler = api
      ? createHttpApiHandler({
          api,
          invoker: { invoke },
          accountId: LOCAL_ACCOUNT_ID,
          region: LOCAL_REGION,
          // The request time (requestContext.timeEpoch, tracking's receivedAt) follows the moved clock too.
          now: () => clock.now(),
          // The local counterpart of the deployed API access log: what was asked and answered, no IP, no query.
          onRequestLog: (entry) =>
            appendFileSync(
              join(dataDirectory, 'logs', 'api-access.ndjson'),
              `${JSON.stringify({ requestTime: clock.now().toISOString(), ...entry })}\n`,
            ),
        })
      : undefined;
    const server: Server = createServer((req, res) => {
      if (req.url?.startsWith('/_local/')) {
        const controlPath = req.url.split('?')[0];
        const control =
          controlPath === '/_local/faults'
            ? controlLocalFaults(req, faults)
            : controlPath === '/_local/clock'
              ? controlClock(req, {
                  clock,
                  advanceClock: (request: ClockRequest) =>
                    advanceClock('advance' in request ? request.advance : request),
                })
              : handleControl(req.method ?? 'GET', req.url, schedules);
        void control.then(({ status, body }) => {
          res.writeHead(status, { 'content-type': 'application/json' });
          res.end(JSON.stringify(body));
        });
        return;
      }
      if (!apiHandler) {
        res.writeHead(404, { 'content-type': 'application/json' }).end('{"message":"Not Found"}');
        return;
      }
      apiHandler(req, res).catch((error: unknown) => {
        log(`warning: API request failed: ${error instanceof Error ? error.message : String(error)}`);
        if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/json' });
        res.end('{"message":"Internal Server Error"}');
      });
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(apiPort, '127.0.0.1', () => resolve());
    });
    stoppers.push(() => closeServer(server));
    // The local write key is registered through the admin API, as an operator would register a source.
    if (api?.routes.some((r) => r.routeKey === 'POST /admin/sources')) {
      const response = await fetch(`${apiUrl}/admin/sources`, {
        method: 'POST',
        headers: { authorization: `Bearer ${credentials.adminToken}`, 'content-type': 'application/json' },
        body: JSON.stringify({ name: 'Local development', writeKey: credentials.writeKey }),
      });
      // 409: registered by an earlier start.
      if (response.status !== 201 && response.status !== 409) {
        throw new Error(
          `Registering the local write key failed: ${response.status} ${await response.text()}`,
        );
      }
    }
    mark('runtime', phase);
    timings.total = Math.round(performance.now() - started);

    const info: LocalStackInfo = {
      apiUrl,
      adminToken: credentials.adminToken,
      writeKey: credentials.writeKey,
      mailboxUrl: endpoints.sesv2,
      endpoints,
    };
    writeFileSync(
      join(dataDirectory, 'local.json'),
      JSON.stringify(
        { ...info, stackName: assembly.stackName, pid: process.pid, startedAt: new Date().toISOString() },
        null,
        2,
      ),
      { mode: 0o600 },
    );
    stoppers.unshift(() => rmSync(join(dataDirectory, 'local.json'), { force: true }));

    return {
      ...info,
      dataDirectory,
      stackName: assembly.stackName,
      model,
      bus,
      sesFaults,
      faults,
      schedules,
      timings,
      invoke,
      clock,
      advanceClock,
      quiesce,
      settle,
      stop: stopAll,
    };
  } catch (error) {
    await stopAll();
    throw error;
  }
}

/**
 * Java cannot be handed an open socket, so a "free" port is chosen first and can be taken by another process before
 * DynamoDB Local binds it. With automatic ports, a lost race picks another port; a fixed port fails clearly.
 */
async function startDynamoDbWithRetry(port: number, dataDirectory: string, automaticPorts: boolean) {
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await startDynamoDbLocal({ port, dataDirectory });
    } catch (error) {
      if (!(automaticPorts && error instanceof PortInUseError && attempt < 3)) throw error;
      port = await reservePort(0, 'DynamoDB Local');
    }
  }
}

async function handleControl(
  method: string,
  url: string,
  schedules: ScheduleRunner,
): Promise<{ status: number; body: unknown }> {
  const path = url.split('?')[0] ?? '';
  if (method === 'GET' && path === '/_local/schedules')
    return { status: 200, body: { schedules: schedules.list() } };
  const run = path.match(/^\/_local\/schedules\/([^/]+)\/run$/);
  if (method === 'POST' && run?.[1]) {
    try {
      await schedules.runNow(decodeURIComponent(run[1]));
      return { status: 200, body: { ran: decodeURIComponent(run[1]) } };
    } catch (error) {
      return { status: 404, body: { message: error instanceof Error ? error.message : String(error) } };
    }
  }
  return { status: 404, body: { message: 'Not Found' } };
}
