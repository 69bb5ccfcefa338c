// The one Lambda function shape every Nurture function uses, and bind helpers that grant and configure in one call.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import type { IEventBus } from 'aws-cdk-lib/aws-events';
import { Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Architecture, LoggingFormat, Runtime, Tracing } from 'aws-cdk-lib/aws-lambda';
import { type ICommandHooks, LogLevel, NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup, type RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { ISecret } from 'aws-cdk-lib/aws-secretsmanager';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';

const PROJECT_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** The newest Node.js runtime aws-cdk-lib offers; every function runs on it, on Graviton. */
export const FUNCTION_RUNTIME = Runtime.NODEJS_24_X;

export interface NurtureFunctionProps {
  /** Folder under `functions/` whose `handler.ts` exports `handler`. */
  readonly entry: string;
  /** What the function does, shown in the Lambda console. */
  readonly description: string;
  /** @default 10 seconds */
  readonly timeout?: Duration;
  /** @default 256 MB */
  readonly memorySize?: number;
  /** Log retention of the function's own log group. */
  readonly logRetention: RetentionDays;
  /** Whether logs outlive the stack (production) or are removed with it (development). */
  readonly retainLogs: boolean;
  /** Extra environment variables; bind helpers add the rest. */
  readonly environment?: Readonly<Record<string, string>>;
  /** @default no limit */
  readonly reservedConcurrentExecutions?: number;
  /**
   * Modules left out of the bundle because the code paths that would load them never run (e.g. a library's
   * optional TypeScript config loader). A module listed here fails at run time if it is ever imported.
   * @default none: everything, the AWS SDK included, is bundled
   */
  readonly unusedModules?: readonly string[];
  /**
   * Folders, relative to the repository root, whose files are copied into `data/` beside the bundle, for code that
   * reads shipped data at cold start (`new URL('./data/', import.meta.url)`) instead of bundling megabytes into the
   * JavaScript. Their contents are merged, so two folders must not hold a file of the same name.
   * @default none
   */
  readonly dataDirectories?: readonly string[];
}

/** Files under a folder, as paths relative to it. */
function filesUnder(directory: string): string[] {
  return readdirSync(directory, { recursive: true, encoding: 'utf8' }).filter((path) =>
    statSync(join(directory, path)).isFile(),
  );
}

/** Data folders as POSIX paths under the repository root; throws on anything the copy hook could get wrong. */
function checkedDataDirectories(id: string, directories: readonly string[]): string[] {
  const owners = new Map<string, string>();
  return directories.map((directory) => {
    const absolute = resolve(PROJECT_ROOT, directory);
    const inside = relative(PROJECT_ROOT, absolute);
    if (isAbsolute(directory) || inside === '' || inside === '..' || inside.startsWith(`..${sep}`)) {
      throw new Error(
        `NurtureFunction ${id}: data directory "${directory}" must be a folder inside the repository`,
      );
    }
    if (!existsSync(absolute) || !statSync(absolute).isDirectory()) {
      throw new Error(`NurtureFunction ${id}: data directory "${directory}" does not exist`);
    }
    // The path is spliced into a shell command in double quotes; these characters would change its meaning.
    if (/["$`%!\\]/.test(inside.split(sep).join('/'))) {
      throw new Error(
        `NurtureFunction ${id}: data directory "${directory}" has characters a shell would expand`,
      );
    }
    for (const file of filesUnder(absolute)) {
      const owner = owners.get(file);
      if (owner !== undefined) {
        throw new Error(
          `NurtureFunction ${id}: data/${file} would come from both "${owner}" and "${directory}"`,
        );
      }
      owners.set(file, directory);
    }
    return inside.split(sep).join('/');
  });
}

/**
 * Copies the data folders into `<bundle>/data/` after esbuild ran. Node rather than `cp -r`: the same command then
 * runs in bash (Linux, macOS, the Docker bundling image) and in cmd (Windows), which is what the hooks are run by.
 */
function copyDataHooks(directories: readonly string[]): ICommandHooks {
  const copy = "require('node:fs').cpSync(process.argv[1],process.argv[2],{recursive:true})";
  return {
    beforeBundling: () => [],
    beforeInstall: () => [],
    afterBundling: (inputDir, outputDir) =>
      directories.map((directory) => `node -e "${copy}" "${inputDir}/${directory}" "${outputDir}/data"`),
  };
}

/** `deleteOnly`: DeleteItem and nothing else; `queryAndDelete`: also Query, to find what to delete (clean-up jobs). */
export type TableAccess = 'read' | 'readWrite' | 'deleteOnly' | 'queryAndDelete';
export type QueueAccess = 'send' | 'consume';

export class NurtureFunction extends Construct {
  public readonly function: NodejsFunction;
  public readonly logGroup: LogGroup;
  public readonly role: Role;

  constructor(scope: Construct, id: string, props: NurtureFunctionProps) {
    super(scope, id);
    const entry = join(PROJECT_ROOT, 'functions', props.entry, 'handler.ts');
    if (!existsSync(entry))
      throw new Error(`NurtureFunction ${id}: no handler at functions/${props.entry}/handler.ts`);
    if (props.memorySize !== undefined && (props.memorySize < 128 || props.memorySize > 10240)) {
      throw new Error(`NurtureFunction ${id}: memorySize must be between 128 and 10240 MB`);
    }
    const dataDirectories = checkedDataDirectories(id, props.dataDirectories ?? []);

    this.logGroup = new LogGroup(this, 'Logs', {
      retention: props.logRetention,
      removalPolicy: props.retainLogs ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY,
    });
    // An own role instead of AWSLambdaBasicExecutionRole: it may write to its own log group and nothing else.
    this.role = new Role(this, 'Role', { assumedBy: new ServicePrincipal('lambda.amazonaws.com') });
    this.logGroup.grantWrite(this.role);

    this.function = new NodejsFunction(this, 'Function', {
      entry,
      handler: 'handler',
      description: props.description,
      runtime: FUNCTION_RUNTIME,
      architecture: Architecture.ARM_64,
      memorySize: props.memorySize ?? 256,
      timeout: props.timeout ?? Duration.seconds(10),
      role: this.role,
      logGroup: this.logGroup,
      loggingFormat: LoggingFormat.JSON,
      tracing: Tracing.ACTIVE,
      reservedConcurrentExecutions: props.reservedConcurrentExecutions,
      projectRoot: PROJECT_ROOT,
      depsLockFilePath: join(PROJECT_ROOT, 'package-lock.json'),
      environment: {
        NODE_OPTIONS: '--enable-source-maps',
        POWERTOOLS_SERVICE_NAME: `nurture-${props.entry}`,
        ...props.environment,
      },
      bundling: {
        format: OutputFormat.ESM,
        target: 'node24',
        minify: true,
        sourceMap: true,
        // Bundle the AWS SDK: its version is the one our lockfile pins and our tests ran, not the runtime's.
        externalModules: [...(props.unusedModules ?? [])],
        mainFields: ['module', 'main'],
        banner:
          "import { createRequire as __nurtureCreateRequire } from 'node:module';const require = __nurtureCreateRequire(import.meta.url);",
        logLevel: LogLevel.WARNING,
        commandHooks: dataDirectories.length > 0 ? copyDataHooks(dataDirectories) : undefined,
        // Lambda provides credentials in environment variables; see functions/shared/lambda-credentials.ts.
        esbuildArgs: {
          '--alias:@aws-sdk/credential-provider-node': join(
            PROJECT_ROOT,
            'functions',
            'shared',
            'lambda-credentials.ts',
          ),
        },
      },
    });
    Validations.of(this.role).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason: 'X-Ray PutTraceSegments/PutTelemetryRecords do not support resource-level permissions.',
    });
  }

  /** Grants access to a table and passes its name in `envVar`. */
  bindTable(envVar: string, table: ITable, access: TableAccess): this {
    if (access === 'read') table.grantReadData(this.role);
    else if (access === 'deleteOnly') table.grant(this.role, 'dynamodb:DeleteItem');
    else if (access === 'queryAndDelete') table.grant(this.role, 'dynamodb:Query', 'dynamodb:DeleteItem');
    else table.grantReadWriteData(this.role);
    // The grant covers `<table>/index/*`: the table's own secondary indexes, nothing else.
    const arn: unknown = Stack.of(this).resolve(table.tableArn);
    const getAtt = typeof arn === 'object' && arn !== null ? Reflect.get(arn, 'Fn::GetAtt') : undefined;
    if (Array.isArray(getAtt) && typeof getAtt[0] === 'string') {
      Validations.of(this.role).acknowledge({
        id: `AwsSolutions-IAM5[Resource::<${getAtt[0]}.Arn>/index/*]`,
        reason:
          "Queries on the table's own secondary indexes; the wildcard is limited to that table's indexes.",
      });
    }
    return this.setEnv(envVar, table.tableName);
  }

  /** Grants send or consume rights on a queue and passes its URL in `envVar`. */
  bindQueue(envVar: string, queue: IQueue, access: QueueAccess): this {
    if (access === 'send') queue.grantSendMessages(this.role);
    else queue.grantConsumeMessages(this.role);
    return this.setEnv(envVar, queue.queueUrl);
  }

  /** Grants PutEvents on a bus and passes its name in `envVar`. */
  bindEventBus(envVar: string, bus: IEventBus): this {
    bus.grantPutEventsTo(this.role);
    return this.setEnv(envVar, bus.eventBusName);
  }

  /** Grants reading a secret and passes its ARN in `envVar`. */
  bindSecret(envVar: string, secret: ISecret): this {
    secret.grantRead(this.role);
    return this.setEnv(envVar, secret.secretArn);
  }

  private setEnv(envVar: string, value: string): this {
    if (!/^[A-Z][A-Z0-9_]*$/.test(envVar))
      throw new Error(`NurtureFunction ${this.node.id}: bad env var "${envVar}"`);
    this.function.addEnvironment(envVar, value);
    return this;
  }
}
