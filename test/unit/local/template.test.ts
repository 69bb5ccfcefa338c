// The local stack reads a synthesized template the way CloudFormation would: names, ARNs and intrinsic functions.
// biome-ignore-all lint/suspicious/noTemplateCurlyInString: Fn::Sub placeholders are written ${Name}, as in CloudFormation.
import { describe, expect, it } from 'vitest';
import { type LocalEnvironment, TemplateError, TemplateModel } from '../../../lib/local/template.ts';

const env: LocalEnvironment = { stackName: 'Nurture-test', region: 'eu-west-1', accountId: '123456789012' };
const ARN = 'arn:aws:%s:eu-west-1:123456789012:';
const arn = (service: string, resource: string): string => `${ARN.replace('%s', service)}${resource}`;

const template = {
  Parameters: { Stage: { Type: 'String', Default: 'dev' } },
  Conditions: {
    IsProd: { 'Fn::Equals': [{ Ref: 'Stage' }, 'prod'] },
    IsDev: { 'Fn::Not': [{ Condition: 'IsProd' }] },
    IsDevInEurope: {
      'Fn::And': [{ Condition: 'IsDev' }, { 'Fn::Equals': [{ Ref: 'AWS::Region' }, 'eu-west-1'] }],
    },
    IsProdOrUs: {
      'Fn::Or': [{ Condition: 'IsProd' }, { 'Fn::Equals': [{ Ref: 'AWS::Region' }, 'us-east-1'] }],
    },
  },
  Resources: {
    ProfileTable: { Type: 'AWS::DynamoDB::Table', Properties: {} },
    NamedTable: { Type: 'AWS::DynamoDB::Table', Properties: { TableName: 'profiles' } },
    WorkQueue: { Type: 'AWS::SQS::Queue' },
    OrderedQueue: { Type: 'AWS::SQS::Queue', Properties: { FifoQueue: true } },
    NamedQueue: { Type: 'AWS::SQS::Queue', Properties: { QueueName: 'sends' } },
    Bus: { Type: 'AWS::Events::EventBus', Properties: { Name: 'nurture-test' } },
    DefaultBusRule: { Type: 'AWS::Events::Rule', Properties: {} },
    NamedBusRule: {
      Type: 'AWS::Events::Rule',
      Properties: { Name: 'log-all', EventBusName: 'nurture-test' },
    },
    RefBusRule: { Type: 'AWS::Events::Rule', Properties: { EventBusName: { Ref: 'Bus' } } },
    Archive: { Type: 'AWS::Events::Archive', Properties: {} },
    Worker: { Type: 'AWS::Lambda::Function', Properties: {} },
    AdminToken: { Type: 'AWS::SecretsManager::Secret', Properties: {} },
    WorkerLogs: { Type: 'AWS::Logs::LogGroup', Properties: {} },
    WorkerRole: { Type: 'AWS::IAM::Role', Properties: {} },
    HttpApiF5A9A8A7: { Type: 'AWS::ApiGatewayV2::Api', Properties: {} },
    Nightly: { Type: 'AWS::Scheduler::Schedule', Properties: {} },
    Alerts: { Type: 'AWS::SNS::Topic', Properties: {} },
    ProdOnlyQueue: { Type: 'AWS::SQS::Queue', Condition: 'IsProd' },
    DevOnlyQueue: { Type: 'AWS::SQS::Queue', Condition: 'IsDev' },
  },
  Outputs: {
    TableArn: { Value: { 'Fn::GetAtt': ['ProfileTable', 'Arn'] } },
  },
};

function model(overrides: Record<string, unknown> = {}): TemplateModel {
  return new TemplateModel({ ...template, ...overrides }, env);
}

function templateErrorOf(action: () => unknown): TemplateError {
  try {
    action();
  } catch (error) {
    if (error instanceof TemplateError) return error;
    throw error;
  }
  throw new Error('expected a TemplateError');
}

describe('physical names', () => {
  it.each([
    ['a table without a name', 'ProfileTable', 'Nurture-test-ProfileTable'],
    ['a table with a TableName', 'NamedTable', 'profiles'],
    [
      'a queue without a name (as a queue:// reference until it exists)',
      'WorkQueue',
      'queue://Nurture-test-WorkQueue',
    ],
    ['a FIFO queue without a name', 'OrderedQueue', 'queue://Nurture-test-OrderedQueue.fifo'],
    ['a queue with a QueueName', 'NamedQueue', 'queue://sends'],
    ['an event bus with a Name', 'Bus', 'nurture-test'],
    ['a rule without a name', 'DefaultBusRule', 'Nurture-test-DefaultBusRule'],
    ['a rule with a Name', 'NamedBusRule', 'log-all'],
    ['an archive without a name (its logical ID)', 'Archive', 'Archive'],
    ['a function without a name', 'Worker', 'Nurture-test-Worker'],
    ['a secret (its ARN)', 'AdminToken', arn('secretsmanager', 'secret:Nurture-test-AdminToken-local')],
    ['a log group without a name', 'WorkerLogs', '/local/Nurture-test-WorkerLogs'],
    ['a role without a name', 'WorkerRole', 'Nurture-test-WorkerRole'],
    ['an HTTP API (a short lower-case ID)', 'HttpApiF5A9A8A7', 'httpapif5a'],
    ['a scheduler schedule without a name', 'Nightly', 'Nurture-test-Nightly'],
    ['a resource type without local naming (its logical ID)', 'Alerts', 'Alerts'],
  ])('Ref names %s', (_what, logicalId, expected) => {
    expect(model().ref(logicalId)).toBe(expected);
  });

  it.each([
    ['ProfileTable', 'Arn', arn('dynamodb', 'table/Nurture-test-ProfileTable')],
    ['ProfileTable', 'StreamArn', arn('dynamodb', 'table/Nurture-test-ProfileTable/stream/local')],
    ['NamedTable', 'Arn', arn('dynamodb', 'table/profiles')],
    ['WorkQueue', 'Arn', arn('sqs', 'Nurture-test-WorkQueue')],
    ['WorkQueue', 'QueueName', 'Nurture-test-WorkQueue'],
    ['OrderedQueue', 'QueueName', 'Nurture-test-OrderedQueue.fifo'],
    ['Bus', 'Arn', arn('events', 'event-bus/nurture-test')],
    ['Bus', 'Name', 'nurture-test'],
    ['DefaultBusRule', 'Arn', arn('events', 'rule/Nurture-test-DefaultBusRule')],
    ['NamedBusRule', 'Arn', arn('events', 'rule/nurture-test/log-all')],
    ['Archive', 'Arn', arn('events', 'archive/Archive')],
    ['Archive', 'ArchiveName', 'Archive'],
    ['Worker', 'Arn', arn('lambda', 'function:Nurture-test-Worker')],
    ['AdminToken', 'Id', arn('secretsmanager', 'secret:Nurture-test-AdminToken-local')],
    ['WorkerLogs', 'Arn', `${arn('logs', 'log-group:/local/Nurture-test-WorkerLogs')}:*`],
    ['WorkerRole', 'Arn', 'arn:aws:iam::123456789012:role/Nurture-test-WorkerRole'],
    ['WorkerRole', 'RoleId', 'Nurture-test-WorkerRole'],
    ['HttpApiF5A9A8A7', 'ApiId', 'httpapif5a'],
    ['HttpApiF5A9A8A7', 'ApiEndpoint', 'http://127.0.0.1'],
    ['Nightly', 'Arn', arn('scheduler', 'schedule/default/Nurture-test-Nightly')],
  ])('%s.%s is %s', (logicalId, attribute, expected) => {
    expect(model().attribute(logicalId, attribute)).toBe(expected);
  });

  it('puts the bus in the ARN of a rule whose EventBusName is a Ref to a custom bus', () => {
    expect(model().attribute('RefBusRule', 'Arn')).toBe(
      arn('events', 'rule/nurture-test/Nurture-test-RefBusRule'),
    );
  });

  it('uses the stack name and region of the local environment', () => {
    const other = new TemplateModel(template, {
      stackName: 'Other',
      region: 'us-east-1',
      accountId: '000000000000',
    });

    expect(other.attribute('Worker', 'Arn')).toBe(
      'arn:aws:lambda:us-east-1:000000000000:function:Other-Worker',
    );
  });
});

describe('intrinsic functions', () => {
  it('resolves Ref to a resource, a parameter default and a pseudo parameter', () => {
    const resolved = model().resolve({
      Table: { Ref: 'ProfileTable' },
      Stage: { Ref: 'Stage' },
      Region: { Ref: 'AWS::Region' },
    });

    expect(resolved).toEqual({ Table: 'Nurture-test-ProfileTable', Stage: 'dev', Region: 'eu-west-1' });
  });

  it.each([
    ['AWS::Region', 'eu-west-1'],
    ['AWS::AccountId', '123456789012'],
    ['AWS::Partition', 'aws'],
    ['AWS::URLSuffix', 'amazonaws.com'],
    ['AWS::StackName', 'Nurture-test'],
    ['AWS::StackId', arn('cloudformation', 'stack/Nurture-test/local')],
  ])('resolves the pseudo parameter %s', (name, expected) => {
    expect(model().resolve({ Ref: name })).toBe(expected);
  });

  it('resolves Fn::GetAtt in its array form', () => {
    expect(model().resolve({ 'Fn::GetAtt': ['WorkQueue', 'Arn'] })).toBe(
      arn('sqs', 'Nurture-test-WorkQueue'),
    );
  });

  it('resolves Fn::GetAtt in its "Resource.Attribute" string form', () => {
    expect(model().resolve({ 'Fn::GetAtt': 'WorkQueue.Arn' })).toBe(arn('sqs', 'Nurture-test-WorkQueue'));
  });

  it('joins resolved parts with Fn::Join', () => {
    const resolved = model().resolve({
      'Fn::Join': ['/', ['tables', { Ref: 'ProfileTable' }, { Ref: 'AWS::Region' }]],
    });

    expect(resolved).toBe('tables/Nurture-test-ProfileTable/eu-west-1');
  });

  it('substitutes pseudo parameters, Refs and attributes in Fn::Sub', () => {
    const resolved = model().resolve({ 'Fn::Sub': '${AWS::Region}|${ProfileTable}|${WorkQueue.Arn}' });

    expect(resolved).toBe(`eu-west-1|Nurture-test-ProfileTable|${arn('sqs', 'Nurture-test-WorkQueue')}`);
  });

  it('keeps ${!Literal} in Fn::Sub as the literal ${Literal}', () => {
    expect(model().resolve({ 'Fn::Sub': 'echo ${!HOME} in ${AWS::Region}' })).toBe(
      'echo ${HOME} in eu-west-1',
    );
  });

  it('substitutes names from the variable map of Fn::Sub, resolving their values first', () => {
    const resolved = model().resolve({
      'Fn::Sub': [
        '${Greeting}, ${Table}! (${AWS::AccountId})',
        { Greeting: 'Hello', Table: { Ref: 'NamedTable' } },
      ],
    });

    expect(resolved).toBe('Hello, profiles! (123456789012)');
  });

  it('prefers a variable map entry over a resource attribute of the same name', () => {
    const resolved = model().resolve({ 'Fn::Sub': ['${WorkQueue.Arn}', { 'WorkQueue.Arn': 'overridden' }] });

    expect(resolved).toBe('overridden');
  });

  it('selects an element by index with Fn::Select', () => {
    expect(model().resolve({ 'Fn::Select': ['1', ['a', 'b', 'c']] })).toBe('b');
  });

  it('splits a resolved string with Fn::Split', () => {
    const resolved = model().resolve({ 'Fn::Split': [':', { 'Fn::GetAtt': ['Worker', 'Arn'] }] });

    expect(resolved).toEqual([
      'arn',
      'aws',
      'lambda',
      'eu-west-1',
      '123456789012',
      'function',
      'Nurture-test-Worker',
    ]);
  });

  it('combines Fn::Select over Fn::Split, as CDK does to take a name out of an ARN', () => {
    const resolved = model().resolve({
      'Fn::Select': [1, { 'Fn::Split': ['/', { 'Fn::GetAtt': ['ProfileTable', 'Arn'] }] }],
    });

    expect(resolved).toBe('Nurture-test-ProfileTable');
  });

  it('lists three availability zones of the region with Fn::GetAZs', () => {
    expect(model().resolve({ 'Fn::GetAZs': '' })).toEqual(['eu-west-1a', 'eu-west-1b', 'eu-west-1c']);
  });

  it('encodes a resolved string with Fn::Base64', () => {
    const resolved = model().resolve({ 'Fn::Base64': { 'Fn::Sub': 'stack=${AWS::StackName}' } });

    expect(resolved).toBe(Buffer.from('stack=Nurture-test').toString('base64'));
  });

  it('chooses the Fn::If branch of a true condition', () => {
    expect(model().resolve({ 'Fn::If': ['IsDev', 'verbose', 'quiet'] })).toBe('verbose');
  });

  it('chooses the Fn::If branch of a false condition', () => {
    expect(model().resolve({ 'Fn::If': ['IsProd', 'retain', 'delete'] })).toBe('delete');
  });

  it('evaluates conditions from parameter defaults with Fn::Equals, Fn::Not, Fn::And and Fn::Or', () => {
    const resolved = model().resolve({
      Prod: { Condition: 'IsProd' },
      Dev: { Condition: 'IsDev' },
      DevInEurope: { Condition: 'IsDevInEurope' },
      ProdOrUs: { Condition: 'IsProdOrUs' },
    });

    expect(resolved).toEqual({ Prod: false, Dev: true, DevInEurope: true, ProdOrUs: false });
  });

  it('evaluates a condition differently when the parameter default changes', () => {
    const prod = model({ Parameters: { Stage: { Type: 'String', Default: 'prod' } } });

    expect(prod.resolve({ 'Fn::If': ['IsProd', 'retain', 'delete'] })).toBe('retain');
  });

  it('removes a property whose value is Ref AWS::NoValue', () => {
    const resolved = model().resolve({
      QueueName: 'sends',
      RedrivePolicy: { 'Fn::If': ['IsProd', { maxReceiveCount: 5 }, { Ref: 'AWS::NoValue' }] },
    });

    expect(resolved).toEqual({ QueueName: 'sends' });
  });

  it('removes an array element whose value is Ref AWS::NoValue', () => {
    const resolved = model().resolve({ Layers: ['first', { Ref: 'AWS::NoValue' }, 'last'] });

    expect(resolved).toEqual({ Layers: ['first', 'last'] });
  });

  it('resolves intrinsics nested anywhere in properties and leaves plain values alone', () => {
    const resolved = model().resolve({
      Environment: { Variables: { TABLE: { Ref: 'ProfileTable' }, RETRIES: 3, DEBUG: false, EMPTY: null } },
      Targets: [{ Arn: { 'Fn::GetAtt': ['Worker', 'Arn'] }, Id: 'Target0' }],
    });

    expect(resolved).toEqual({
      Environment: {
        Variables: { TABLE: 'Nurture-test-ProfileTable', RETRIES: 3, DEBUG: false, EMPTY: null },
      },
      Targets: [{ Arn: arn('lambda', 'function:Nurture-test-Worker'), Id: 'Target0' }],
    });
  });

  it('returns a string value from resolveString', () => {
    expect(model().resolveString({ Ref: 'Worker' }, 'FunctionName')).toBe('Nurture-test-Worker');
  });

  it('rejects a value that does not resolve to a string in resolveString, naming what it was', () => {
    const error = templateErrorOf(() => model().resolveString({ 'Fn::GetAZs': '' }, 'QueueUrl'));

    expect(error.message).toBe('QueueUrl did not resolve to a string');
  });
});

describe('errors', () => {
  it.each([
    ['a Ref to an unknown resource', { Ref: 'Missing' }, 'Ref to unknown resource Missing'],
    ['a Ref to something other than a name', { Ref: ['Worker'] }, 'Ref expects a name'],
    [
      'Fn::GetAtt on an unknown resource',
      { 'Fn::GetAtt': ['Missing', 'Arn'] },
      'Fn::GetAtt on unknown resource Missing',
    ],
    [
      'an attribute the local stack does not know',
      { 'Fn::GetAtt': ['Alerts', 'TopicName'] },
      'Fn::GetAtt Alerts.TopicName is not supported locally (AWS::SNS::Topic)',
    ],
    ['an unknown resource in Fn::Sub', { 'Fn::Sub': '${Missing}' }, 'Ref to unknown resource Missing'],
    [
      'an unknown attribute in Fn::Sub',
      { 'Fn::Sub': '${WorkQueue.Url}' },
      'Fn::GetAtt WorkQueue.Url is not supported locally (AWS::SQS::Queue)',
    ],
    [
      'an unsupported intrinsic',
      { 'Fn::ImportValue': 'SharedBus' },
      'Fn::ImportValue is not supported by the local stack',
    ],
    ['Fn::Join with too few arguments', { 'Fn::Join': [','] }, 'Fn::Join expects 2 arguments'],
    ['Fn::Join over something other than a list', { 'Fn::Join': [',', 'a'] }, 'Fn::Join is malformed'],
    [
      'Fn::Select past the end of the list',
      { 'Fn::Select': [3, ['a', 'b', 'c']] },
      'Fn::Select index out of range',
    ],
    [
      'Fn::If with an unknown condition',
      { 'Fn::If': ['IsStaging', 'a', 'b'] },
      'Unknown condition IsStaging',
    ],
    ['Fn::If without a false branch', { 'Fn::If': ['IsDev', 'a'] }, 'Fn::If expects 3 arguments'],
  ])('rejects %s', (_what, value, message) => {
    const error = templateErrorOf(() => model().resolve(value));

    expect(error.message).toBe(message);
  });

  it('rejects asking for a resource the template does not have', () => {
    const error = templateErrorOf(() => model().get('Missing'));

    expect(error.message).toBe('The template has no resource Missing');
  });

  it.each([
    ['a template without Resources', { Outputs: {} }],
    ['a resource without a Type', { Resources: { Queue: { Properties: {} } } }],
    [
      'Properties that are not an object',
      { Resources: { Queue: { Type: 'AWS::SQS::Queue', Properties: 'x' } } },
    ],
    ['something that is not an object', 'Resources: {}'],
  ])('rejects %s as not a CloudFormation template', (_what, document) => {
    const error = templateErrorOf(() => new TemplateModel(document, env));

    expect(error.message).toMatch(/^Not a CloudFormation template: /);
  });
});

describe('resources by type and condition', () => {
  it('lists the resources of one type with their logical IDs', () => {
    const tables = model().ofType('AWS::DynamoDB::Table');

    expect(tables.map((r) => r.logicalId)).toEqual(['ProfileTable', 'NamedTable']);
  });

  it('leaves out resources whose condition is false and keeps those whose condition is true', () => {
    const queues = model()
      .ofType('AWS::SQS::Queue')
      .map((r) => r.logicalId);

    expect(queues).toContain('DevOnlyQueue');
    expect(queues).not.toContain('ProdOnlyQueue');
  });

  it('includes a conditional resource once its condition holds', () => {
    const prod = model({ Parameters: { Stage: { Type: 'String', Default: 'prod' } } });

    const queues = prod.ofType('AWS::SQS::Queue').map((r) => r.logicalId);

    expect(queues).toContain('ProdOnlyQueue');
    expect(queues).not.toContain('DevOnlyQueue');
  });

  it('rejects a resource whose condition the template does not declare', () => {
    const broken = model({
      Resources: { Orphan: { Type: 'AWS::SQS::Queue', Condition: 'NotDeclared' } },
    });

    const error = templateErrorOf(() => broken.ofType('AWS::SQS::Queue'));

    expect(error.message).toBe('Unknown condition NotDeclared');
  });

  it('resolves an output value', () => {
    expect(model().output('TableArn')).toBe(arn('dynamodb', 'table/Nurture-test-ProfileTable'));
  });

  it('has no value for an output the template does not declare', () => {
    expect(model().output('Missing')).toBeUndefined();
  });
});

describe('runtime names and reverse lookup', () => {
  it('finds a resource by its Ref', () => {
    expect(model().findByPhysical('Nurture-test-Worker')?.logicalId).toBe('Worker');
  });

  it('finds a resource by one of its ARNs', () => {
    const found = model().findByPhysical(arn('dynamodb', 'table/Nurture-test-ProfileTable/stream/local'));

    expect(found?.logicalId).toBe('ProfileTable');
  });

  it('finds nothing for a name no resource has', () => {
    expect(
      model().findByPhysical('arn:aws:lambda:eu-west-1:123456789012:function:Elsewhere'),
    ).toBeUndefined();
  });

  it('makes Ref return the queue URL once the emulator has created the queue', () => {
    const stack = model();
    const queueUrl = 'http://127.0.0.1:9324/123456789012/Nurture-test-WorkQueue';

    stack.setPhysical('WorkQueue', { ref: queueUrl });

    expect(stack.resolve({ Ref: 'WorkQueue' })).toBe(queueUrl);
    expect(stack.findByPhysical(queueUrl)?.logicalId).toBe('WorkQueue');
  });

  it('keeps the attributes it had when only the Ref changes', () => {
    const stack = model();

    stack.setPhysical('WorkQueue', { ref: 'http://127.0.0.1:9324/q' });

    expect(stack.attribute('WorkQueue', 'Arn')).toBe(arn('sqs', 'Nurture-test-WorkQueue'));
  });

  it('adds attributes that only exist at runtime', () => {
    const stack = model();

    stack.setPhysical('HttpApiF5A9A8A7', { attributes: { ApiEndpoint: 'http://127.0.0.1:3000' } });

    expect(stack.resolve({ 'Fn::Sub': '${HttpApiF5A9A8A7.ApiEndpoint}/health' })).toBe(
      'http://127.0.0.1:3000/health',
    );
    expect(stack.ref('HttpApiF5A9A8A7')).toBe('httpapif5a');
  });

  it('rejects runtime names for a resource the template does not have', () => {
    const error = templateErrorOf(() => model().setPhysical('Missing', { ref: 'x' }));

    expect(error.message).toBe('Unknown resource Missing');
  });
});
