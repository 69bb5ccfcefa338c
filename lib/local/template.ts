// Reads a synthesized CloudFormation template: resources by type, local physical names, and intrinsic functions.
import { z } from 'zod';

const resourceSchema = z.object({
  Type: z.string(),
  Properties: z.record(z.string(), z.unknown()).optional(),
  DependsOn: z.union([z.string(), z.array(z.string())]).optional(),
  Condition: z.string().optional(),
});
const templateSchema = z.object({
  Resources: z.record(z.string(), resourceSchema),
  Conditions: z.record(z.string(), z.unknown()).optional(),
  Parameters: z.record(z.string(), z.object({ Default: z.unknown().optional() }).loose()).optional(),
  Outputs: z.record(z.string(), z.object({ Value: z.unknown() }).loose()).optional(),
});

export type TemplateResource = z.infer<typeof resourceSchema> & { readonly logicalId: string };

export class TemplateError extends Error {
  override name = 'TemplateError';
}

export interface LocalEnvironment {
  readonly stackName: string;
  readonly region: string;
  readonly accountId: string;
}

interface PhysicalResource {
  ref: string;
  attributes: Record<string, string>;
}

/**
 * The resources a template declares and what they are called locally. Names follow CloudFormation's
 * conventions (an explicit name property, else stack name + logical ID) so that ARNs and URLs look real.
 */
export class TemplateModel {
  readonly resources: ReadonlyMap<string, TemplateResource>;
  private readonly physical = new Map<string, PhysicalResource>();
  private readonly conditions: Record<string, unknown>;
  private readonly parameters: Record<string, unknown>;

  constructor(
    template: unknown,
    readonly env: LocalEnvironment,
  ) {
    const parsed = templateSchema.safeParse(template);
    if (!parsed.success) throw new TemplateError(`Not a CloudFormation template: ${parsed.error.message}`);
    this.conditions = parsed.data.Conditions ?? {};
    this.parameters = Object.fromEntries(
      Object.entries(parsed.data.Parameters ?? {}).map(([name, p]) => [name, p.Default]),
    );
    const resources = new Map<string, TemplateResource>();
    for (const [logicalId, resource] of Object.entries(parsed.data.Resources)) {
      resources.set(logicalId, { ...resource, logicalId });
    }
    this.resources = resources;
    this.outputs = parsed.data.Outputs ?? {};
  }

  private readonly outputs: Record<string, { Value: unknown }>;

  ofType(type: string): TemplateResource[] {
    return [...this.resources.values()].filter((r) => r.Type === type && this.isIncluded(r));
  }

  get(logicalId: string): TemplateResource {
    const resource = this.resources.get(logicalId);
    if (!resource) throw new TemplateError(`The template has no resource ${logicalId}`);
    return resource;
  }

  /** The logical ID of the resource whose Ref or ARN a (resolved) value names, if any. */
  findByPhysical(value: string): TemplateResource | undefined {
    for (const logicalId of this.resources.keys()) {
      const physical = this.physicalOf(logicalId);
      if (physical.ref === value || Object.values(physical.attributes).includes(value))
        return this.get(logicalId);
    }
    return undefined;
  }

  ref(logicalId: string): string {
    if (!this.resources.has(logicalId)) throw new TemplateError(`Ref to unknown resource ${logicalId}`);
    return this.physicalOf(logicalId).ref;
  }

  attribute(logicalId: string, attribute: string): string {
    if (!this.resources.has(logicalId))
      throw new TemplateError(`Fn::GetAtt on unknown resource ${logicalId}`);
    const value = this.physicalOf(logicalId).attributes[attribute];
    if (value === undefined) {
      throw new TemplateError(
        `Fn::GetAtt ${logicalId}.${attribute} is not supported locally (${this.get(logicalId).Type})`,
      );
    }
    return value;
  }

  /** Lets the runtime fill in what only exists once an emulator runs (queue URLs, the API endpoint). */
  setPhysical(logicalId: string, update: { ref?: string; attributes?: Record<string, string> }): void {
    if (!this.resources.has(logicalId)) throw new TemplateError(`Unknown resource ${logicalId}`);
    const physical = this.physicalOf(logicalId);
    if (update.ref !== undefined) physical.ref = update.ref;
    Object.assign(physical.attributes, update.attributes);
  }

  output(name: string): unknown {
    const output = this.outputs[name];
    return output === undefined ? undefined : this.resolve(output.Value);
  }

  isIncluded(resource: TemplateResource): boolean {
    return resource.Condition === undefined || this.condition(resource.Condition);
  }

  private condition(name: string): boolean {
    if (!(name in this.conditions)) throw new TemplateError(`Unknown condition ${name}`);
    return Boolean(this.resolve(this.conditions[name]));
  }

  private arn(service: string, resource: string): string {
    return `arn:aws:${service}:${this.env.region}:${this.env.accountId}:${resource}`;
  }

  /**
   * Names are worked out on first use, from resolved properties: a rule's EventBusName is usually a Ref to the bus,
   * and an explicit name may be built with Fn::Join.
   */
  private physicalOf(logicalId: string): PhysicalResource {
    let physical = this.physical.get(logicalId);
    if (physical === undefined) {
      if (this.naming.has(logicalId)) throw new TemplateError(`Circular reference while naming ${logicalId}`);
      this.naming.add(logicalId);
      try {
        physical = this.name(this.get(logicalId));
      } finally {
        this.naming.delete(logicalId);
      }
      this.physical.set(logicalId, physical);
    }
    return physical;
  }

  private readonly naming = new Set<string>();

  private name(resource: TemplateResource): PhysicalResource {
    const props = resource.Properties ?? {};
    const explicit = (key: string): string | undefined => {
      const value = props[key] === undefined ? undefined : this.resolve(props[key]);
      return typeof value === 'string' ? value : undefined;
    };
    const generated = `${this.env.stackName}-${resource.logicalId}`;
    switch (resource.Type) {
      case 'AWS::DynamoDB::Table': {
        const name = explicit('TableName') ?? generated;
        const arn = this.arn('dynamodb', `table/${name}`);
        return { ref: name, attributes: { Arn: arn, StreamArn: `${arn}/stream/local` } };
      }
      case 'AWS::SQS::Queue': {
        const fifo = props.FifoQueue === true || props.FifoQueue === 'true';
        const name = explicit('QueueName') ?? (fifo ? `${generated}.fifo` : generated);
        return { ref: `queue://${name}`, attributes: { Arn: this.arn('sqs', name), QueueName: name } };
      }
      case 'AWS::Events::EventBus': {
        const name = explicit('Name') ?? generated;
        return { ref: name, attributes: { Arn: this.arn('events', `event-bus/${name}`), Name: name } };
      }
      case 'AWS::Events::Rule': {
        const name = explicit('Name') ?? generated;
        const bus = explicit('EventBusName');
        const path = bus && bus !== 'default' ? `rule/${bus}/${name}` : `rule/${name}`;
        return { ref: name, attributes: { Arn: this.arn('events', path) } };
      }
      case 'AWS::Events::Archive': {
        const name = explicit('ArchiveName') ?? resource.logicalId;
        return { ref: name, attributes: { Arn: this.arn('events', `archive/${name}`), ArchiveName: name } };
      }
      case 'AWS::Lambda::Function': {
        const name = explicit('FunctionName') ?? generated;
        return { ref: name, attributes: { Arn: this.arn('lambda', `function:${name}`) } };
      }
      case 'AWS::SecretsManager::Secret': {
        const name = explicit('Name') ?? generated;
        const arn = this.arn('secretsmanager', `secret:${name}-local`);
        return { ref: arn, attributes: { Id: arn } };
      }
      case 'AWS::Logs::LogGroup': {
        const name = explicit('LogGroupName') ?? `/local/${generated}`;
        return { ref: name, attributes: { Arn: `${this.arn('logs', `log-group:${name}`)}:*` } };
      }
      case 'AWS::IAM::Role': {
        const name = explicit('RoleName') ?? generated;
        return {
          ref: name,
          attributes: { Arn: `arn:aws:iam::${this.env.accountId}:role/${name}`, RoleId: name },
        };
      }
      case 'AWS::ApiGatewayV2::Api': {
        const id = resource.logicalId.toLowerCase().slice(0, 10);
        return { ref: id, attributes: { ApiId: id, ApiEndpoint: 'http://127.0.0.1' } };
      }
      case 'AWS::Scheduler::Schedule': {
        const name = explicit('Name') ?? generated;
        return { ref: name, attributes: { Arn: this.arn('scheduler', `schedule/default/${name}`) } };
      }
      default:
        return { ref: resource.logicalId, attributes: {} };
    }
  }

  private pseudo(name: string): string | undefined {
    switch (name) {
      case 'AWS::Region':
        return this.env.region;
      case 'AWS::AccountId':
        return this.env.accountId;
      case 'AWS::Partition':
        return 'aws';
      case 'AWS::URLSuffix':
        return 'amazonaws.com';
      case 'AWS::StackName':
        return this.env.stackName;
      case 'AWS::StackId':
        return this.arn('cloudformation', `stack/${this.env.stackName}/local`);
      default:
        return undefined;
    }
  }

  private refName(name: string): unknown {
    const pseudo = this.pseudo(name);
    if (pseudo !== undefined) return pseudo;
    if (name in this.parameters) return this.parameters[name];
    return this.ref(name);
  }

  /** Resolves intrinsic functions (Ref, GetAtt, Join, Sub, Select, Split, If, Equals, ...) in a value. */
  resolve(value: unknown): unknown {
    if (Array.isArray(value)) return value.map((v) => this.resolve(v)).filter((v) => v !== NO_VALUE);
    if (typeof value !== 'object' || value === null) return value;
    const entries = Object.entries(value);
    if (entries.length === 1) {
      const [[key, arg]] = entries as [[string, unknown]];
      if (key === 'Ref' || key.startsWith('Fn::') || key === 'Condition') return this.intrinsic(key, arg);
    }
    const out: Record<string, unknown> = {};
    for (const [key, v] of entries) {
      const resolved = this.resolve(v);
      if (resolved !== NO_VALUE) out[key] = resolved;
    }
    return out;
  }

  resolveString(value: unknown, what: string): string {
    const resolved = this.resolve(value);
    if (typeof resolved !== 'string') throw new TemplateError(`${what} did not resolve to a string`);
    return resolved;
  }

  private intrinsic(fn: string, arg: unknown): unknown {
    const list = (n: number): unknown[] => {
      if (!Array.isArray(arg) || arg.length < n) throw new TemplateError(`${fn} expects ${n} arguments`);
      return arg;
    };
    switch (fn) {
      case 'Ref': {
        if (arg === 'AWS::NoValue') return NO_VALUE;
        if (typeof arg !== 'string') throw new TemplateError('Ref expects a name');
        return this.refName(arg);
      }
      case 'Fn::GetAtt': {
        const [logicalId, attribute] = typeof arg === 'string' ? arg.split(/\.(.*)/s) : list(2);
        return this.attribute(String(logicalId), String(attribute));
      }
      case 'Fn::Join': {
        const [separator, parts] = list(2);
        const resolved = this.resolve(parts);
        if (typeof separator !== 'string' || !Array.isArray(resolved))
          throw new TemplateError('Fn::Join is malformed');
        return resolved.map(String).join(separator);
      }
      case 'Fn::Select': {
        const [index, items] = list(2);
        const resolved = this.resolve(items);
        const i = Number(this.resolve(index));
        if (!Array.isArray(resolved) || !(i in resolved))
          throw new TemplateError('Fn::Select index out of range');
        return resolved[i];
      }
      case 'Fn::Split': {
        const [separator, source] = list(2);
        return String(this.resolve(source)).split(String(separator));
      }
      case 'Fn::Sub': {
        const [text, variables] = typeof arg === 'string' ? [arg, {}] : list(1);
        const vars = (variables ? this.resolve(variables) : {}) as Record<string, unknown>;
        return String(text).replace(/\$\{([^}]+)\}/g, (_match, name: string) => {
          if (name.startsWith('!')) return `\${${name.slice(1)}}`;
          if (name in vars) return String(vars[name]);
          const [logicalId, attribute] = name.split(/\.(.*)/s);
          if (attribute !== undefined && logicalId !== undefined && !name.startsWith('AWS::')) {
            return this.attribute(logicalId, attribute);
          }
          return String(this.refName(name));
        });
      }
      case 'Fn::Base64':
        return Buffer.from(String(this.resolve(arg))).toString('base64');
      case 'Fn::GetAZs':
        return ['a', 'b', 'c'].map((zone) => `${this.env.region}${zone}`);
      case 'Fn::If': {
        const [condition, whenTrue, whenFalse] = list(3);
        return this.condition(String(condition)) ? this.resolve(whenTrue) : this.resolve(whenFalse);
      }
      case 'Fn::Equals': {
        const [a, b] = list(2);
        return JSON.stringify(this.resolve(a)) === JSON.stringify(this.resolve(b));
      }
      case 'Fn::Not':
        return !this.resolve(list(1)[0]);
      case 'Fn::And':
        return list(2).every((c) => this.resolve(c));
      case 'Fn::Or':
        return list(2).some((c) => this.resolve(c));
      case 'Condition':
        return this.condition(String(arg));
      default:
        throw new TemplateError(`${fn} is not supported by the local stack`);
    }
  }
}

/** Marker for `Ref: AWS::NoValue`: the property is removed. */
const NO_VALUE = Symbol('AWS::NoValue');
