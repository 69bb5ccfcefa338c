// Checks the local bus's event pattern matcher against the examples and rules in the EventBridge documentation.
import { describe, expect, it } from 'vitest';
import {
  InvalidEventPatternError,
  matchesEventPattern,
  parseEventPattern,
} from '../../../lib/local/event-pattern.ts';

interface MatchCase {
  readonly behaviour: string;
  readonly pattern: unknown;
  readonly event: unknown;
  readonly matches: boolean;
}

function matches(pattern: unknown, event: unknown): boolean {
  return matchesEventPattern(parseEventPattern(pattern), event);
}

function expectCases(cases: readonly MatchCase[]): void {
  it.each(cases)('$behaviour', ({ pattern, event, matches: expected }) => {
    const compiled = parseEventPattern(pattern);

    const result = matchesEventPattern(compiled, event);

    expect(result).toBe(expected);
  });
}

const envelope = {
  version: '0',
  id: '6a7e8feb-b491-4cf7-a9f1-bf3703467718',
  'detail-type': 'EC2 Instance State-change Notification',
  source: 'aws.ec2',
  account: '111122223333',
  time: '2017-12-22T18:43:48Z',
  region: 'us-west-1',
  resources: ['arn:aws:ec2:us-west-1:123456789012:instance/i-1234567890abcdef0'],
};

/** The EC2 event from "Amazon EventBridge event patterns". */
const ec2Termination = { ...envelope, detail: { 'instance-id': 'i-1234567890abcdef0', state: 'terminated' } };

const withDetail = (detail: Record<string, unknown>) => ({ ...envelope, detail });

/** The Auto Scaling event from "Matching null values and empty strings". */
const autoScalingLaunch = {
  ...envelope,
  'detail-type': 'EC2 Instance Launch Successful',
  source: 'aws.autoscaling',
  resources: [],
  detail: { eventVersion: '', responseElements: null },
};

/** The sample event used throughout the content filtering page (and Event Ruler's README). */
const contentFilteringEvent = {
  ...envelope,
  time: '2017-10-02T16:24:49Z',
  detail: {
    'c-count': 5,
    'd-count': 3,
    'x-limit': 301.8,
    'source-ip': '10.0.0.33',
    'instance-id': 'i-000000aaaaaa00000',
    state: 'running',
  },
};

const complexContentPattern = {
  time: [{ prefix: '2017-10-02' }],
  detail: {
    state: [{ 'anything-but': 'initializing' }],
    'c-count': [{ numeric: ['>', 0, '<=', 5] }],
    'd-count': [{ numeric: ['<', 10] }],
    'x-limit': [{ 'anything-but': [100, 200, 300] }],
  },
};

describe('documented examples', () => {
  expectCases([
    {
      behaviour: 'the instance-termination pattern selects the documented EC2 termination event',
      pattern: {
        source: ['aws.ec2'],
        'detail-type': ['EC2 Instance State-change Notification'],
        detail: { state: ['terminated'] },
      },
      event: ec2Termination,
      matches: true,
    },
    {
      behaviour: 'the instance-termination pattern ignores the same instance when it is only running',
      pattern: { source: ['aws.ec2'], detail: { state: ['terminated'] } },
      event: withDetail({ state: 'running' }),
      matches: false,
    },
    {
      behaviour: 'a source list selects events from AWS Fargate as well as Amazon EC2',
      pattern: { source: ['aws.ec2', 'aws.fargate'] },
      event: { ...ec2Termination, source: 'aws.fargate' },
      matches: true,
    },
    {
      behaviour: 'a source list ignores a source it does not name',
      pattern: { source: ['aws.ec2', 'aws.fargate'] },
      event: { ...ec2Termination, source: 'aws.lambda' },
      matches: false,
    },
    {
      behaviour: 'a null in the pattern selects the Auto Scaling event whose responseElements is null',
      pattern: {
        source: ['aws.autoscaling'],
        'detail-type': ['EC2 Instance Launch Successful'],
        detail: { responseElements: [null] },
      },
      event: autoScalingLaunch,
      matches: true,
    },
    {
      behaviour: 'an empty string in the pattern selects the Auto Scaling event whose eventVersion is empty',
      pattern: { detail: { eventVersion: [''] } },
      event: autoScalingLaunch,
      matches: true,
    },
    {
      behaviour: 'an empty string in the pattern does not select a null value',
      pattern: { detail: { responseElements: [''] } },
      event: autoScalingLaunch,
      matches: false,
    },
    {
      behaviour: 'a null in the pattern does not select an empty string',
      pattern: { detail: { eventVersion: [null] } },
      event: autoScalingLaunch,
      matches: false,
    },
    {
      behaviour: 'the Macie pattern selects an alert with risk score 80 and trigger risk 8',
      pattern: {
        source: ['aws.macie'],
        'detail-type': ['Macie Alert'],
        detail: { 'risk-score': [80], trigger: { risk: [8] } },
      },
      event: {
        ...envelope,
        source: 'aws.macie',
        'detail-type': 'Macie Alert',
        detail: {
          'risk-score': 80,
          tags: ['Custom_Alert', 'Insider'],
          trigger: { 'alert-type': 'basic', risk: 8 },
        },
      },
      matches: true,
    },
    {
      behaviour: 'the Macie pattern ignores an alert whose nested trigger risk differs',
      pattern: { source: ['aws.macie'], detail: { 'risk-score': [80], trigger: { risk: [8] } } },
      event: { ...envelope, source: 'aws.macie', detail: { 'risk-score': 80, trigger: { risk: 9 } } },
      matches: false,
    },
    {
      behaviour: 'a resources list matches when it shares one ARN with the event resources',
      pattern: {
        resources: [
          'arn:aws:ec2:us-east-1:123456789012:instance/i-b188560f',
          'arn:aws:ec2:us-east-1:111122223333:instance/i-b188560f',
          'arn:aws:ec2:us-east-1:444455556666:instance/i-b188560f',
        ],
      },
      event: {
        ...envelope,
        resources: [
          'arn:aws:autoscaling:us-east-1:123456789012:autoScalingGroup:eb56d16b:autoScalingGroupName/ASGTerminate',
          'arn:aws:ec2:us-east-1:123456789012:instance/i-b188560f',
        ],
      },
      matches: true,
    },
    {
      behaviour: 'a resources list does not match when it shares no ARN with the event resources',
      pattern: { resources: ['arn:aws:ec2:us-east-1:123456789012:instance/i-b188560f'] },
      event: ec2Termination,
      matches: false,
    },
    {
      behaviour: 'the numeric example selects c-count 5, d-count 3 and x-limit 3.018e2',
      pattern: {
        detail: {
          'c-count': [{ numeric: ['>', 0, '<=', 5] }],
          'd-count': [{ numeric: ['<', 10] }],
          'x-limit': [{ numeric: ['=', 3.018e2] }],
        },
      },
      event: contentFilteringEvent,
      matches: true,
    },
    {
      behaviour: 'the complex example combining prefix, anything-but and numeric selects the sample event',
      pattern: complexContentPattern,
      event: contentFilteringEvent,
      matches: true,
    },
    {
      behaviour: 'the complex example rejects the sample event while it is initializing',
      pattern: complexContentPattern,
      event: { ...contentFilteringEvent, detail: { ...contentFilteringEvent.detail, state: 'initializing' } },
      matches: false,
    },
    {
      behaviour: 'the CIDR example selects a source IP inside 10.0.0.0/24',
      pattern: { detail: { 'source-ip': [{ cidr: '10.0.0.0/24' }] } },
      event: contentFilteringEvent,
      matches: true,
    },
    {
      behaviour: 'the exists:false example selects an event without detail.c-count',
      pattern: { detail: { 'c-count': [{ exists: false }] } },
      event: withDetail({ state: ['initializing', 'running'] }),
      matches: true,
    },
    {
      behaviour: 'the exists:false example also selects an event whose c-count is an object, not a leaf',
      pattern: { detail: { 'c-count': [{ exists: false }] } },
      event: withDetail({ state: ['initializing', 'running'], 'c-count': { c1: 100 } }),
      matches: true,
    },
    {
      behaviour: 'the equals example selects Name "Alice" exactly',
      pattern: { detail: { Name: ['Alice'] } },
      event: withDetail({ Name: 'Alice' }),
      matches: true,
    },
    {
      behaviour: 'the empty example selects an empty LastName',
      pattern: { detail: { LastName: [''] } },
      event: withDetail({ LastName: '' }),
      matches: true,
    },
  ]);
});

describe('exact values', () => {
  expectCases([
    {
      behaviour: 'strings are compared without case folding',
      pattern: { source: ['AWS.EC2'] },
      event: ec2Termination,
      matches: false,
    },
    { behaviour: 'a number matches the same number', pattern: { n: [5] }, event: { n: 5 }, matches: true },
    {
      behaviour: 'a number does not match another number',
      pattern: { n: [5] },
      event: { n: 6 },
      matches: false,
    },
    {
      behaviour: 'the number 5 does not match the string "5"',
      pattern: { n: [5] },
      event: { n: '5' },
      matches: false,
    },
    {
      behaviour: 'the string "5" does not match the number 5',
      pattern: { n: ['5'] },
      event: { n: 5 },
      matches: false,
    },
    { behaviour: 'true matches true', pattern: { flag: [true] }, event: { flag: true }, matches: true },
    { behaviour: 'false matches false', pattern: { flag: [false] }, event: { flag: false }, matches: true },
    {
      behaviour: 'true does not match false',
      pattern: { flag: [true] },
      event: { flag: false },
      matches: false,
    },
    {
      behaviour: 'true does not match the string "true"',
      pattern: { flag: [true] },
      event: { flag: 'true' },
      matches: false,
    },
    {
      behaviour: 'null does not match a missing field',
      pattern: { gone: [null] },
      event: {},
      matches: false,
    },
    {
      behaviour: 'an empty string does not match a missing field',
      pattern: { gone: [''] },
      event: {},
      matches: false,
    },
    {
      behaviour: 'several values in one array are alternatives',
      pattern: { detail: { state: ['pending', 'running'] } },
      event: withDetail({ state: 'running' }),
      matches: true,
    },
    {
      behaviour: 'several fields must all match',
      pattern: { source: ['aws.ec2'], detail: { state: ['running'] } },
      event: ec2Termination,
      matches: false,
    },
    {
      behaviour: 'an event array matches when any of its elements matches',
      pattern: { detail: { tags: ['Insider'] } },
      event: withDetail({ tags: ['Custom_Alert', 'Insider'] }),
      matches: true,
    },
    {
      behaviour: 'an event array does not match when none of its elements matches',
      pattern: { detail: { tags: ['Insider'] } },
      event: withDetail({ tags: ['Custom_Alert', 'Outsider'] }),
      matches: false,
    },
    {
      behaviour: 'nested event arrays are flattened before matching',
      pattern: { detail: { tags: ['b'] } },
      event: withDetail({ tags: [['a'], ['b']] }),
      matches: true,
    },
    {
      behaviour: 'an empty event array has no value to match, not even null',
      pattern: { resources: [null] },
      event: autoScalingLaunch,
      matches: false,
    },
    {
      behaviour: 'a field the event lacks never matches a value',
      pattern: { detail: { missing: ['x'] } },
      event: ec2Termination,
      matches: false,
    },
    {
      behaviour: 'fields the pattern does not name are ignored',
      pattern: { detail: { state: ['terminated'] } },
      event: withDetail({ state: 'terminated', extra: { deeply: ['nested'] } }),
      matches: true,
    },
    {
      behaviour: 'field names are case sensitive',
      pattern: { Source: ['aws.ec2'] },
      event: ec2Termination,
      matches: false,
    },
    {
      behaviour: 'a nested pattern does not match a scalar at that path',
      pattern: { detail: { state: { name: ['terminated'] } } },
      event: ec2Termination,
      matches: false,
    },
    {
      behaviour: 'a value pattern does not match an object at that path',
      pattern: { detail: { state: ['terminated'] } },
      event: withDetail({ state: { name: 'terminated' } }),
      matches: false,
    },
    {
      behaviour: 'fields under an array of objects match within one element (Anna Smith)',
      pattern: { detail: { employees: { firstName: ['Anna'], lastName: ['Smith'] } } },
      event: withDetail({
        employees: [
          { firstName: 'John', lastName: 'Doe' },
          { firstName: 'Anna', lastName: 'Smith' },
        ],
      }),
      matches: true,
    },
    {
      behaviour: 'fields under an array of objects do not combine values from different elements (Anna Doe)',
      pattern: { detail: { employees: { firstName: ['Anna'], lastName: ['Doe'] } } },
      event: withDetail({
        employees: [
          { firstName: 'John', lastName: 'Doe' },
          { firstName: 'Anna', lastName: 'Smith' },
        ],
      }),
      matches: false,
    },
  ]);
});

describe('envelope fields', () => {
  expectCases(
    (
      [
        ['source', 'aws.ec2'],
        ['detail-type', 'EC2 Instance State-change Notification'],
        ['account', '111122223333'],
        ['region', 'us-west-1'],
        ['resources', 'arn:aws:ec2:us-west-1:123456789012:instance/i-1234567890abcdef0'],
        ['id', '6a7e8feb-b491-4cf7-a9f1-bf3703467718'],
        ['time', '2017-12-22T18:43:48Z'],
        ['version', '0'],
      ] as const
    ).flatMap(([field, value]) => [
      {
        behaviour: `the ${field} envelope field matches its value`,
        pattern: { [field]: [value] },
        event: ec2Termination,
        matches: true,
      },
      {
        behaviour: `the ${field} envelope field rejects another value`,
        pattern: { [field]: [`${value}-other`] },
        event: ec2Termination,
        matches: false,
      },
    ]),
  );
});

describe('prefix and suffix', () => {
  expectCases([
    {
      behaviour: 'a prefix selects a time that starts with the date',
      pattern: { time: [{ prefix: '2017-10-02' }] },
      event: { ...envelope, time: '2017-10-02T18:43:48Z' },
      matches: true,
    },
    {
      behaviour: 'a prefix ignores a time on another date',
      pattern: { time: [{ prefix: '2017-10-02' }] },
      event: ec2Termination,
      matches: false,
    },
    {
      behaviour: 'a prefix is case sensitive',
      pattern: { detail: { service: [{ prefix: 'eventb' }] } },
      event: withDetail({ service: 'EventBridge' }),
      matches: false,
    },
    {
      behaviour: 'a prefix never matches a number',
      pattern: { n: [{ prefix: '1' }] },
      event: { n: 12 },
      matches: false,
    },
    {
      behaviour: 'a case-insensitive prefix selects "EventBridge" for "eventb"',
      pattern: { detail: { service: [{ prefix: { 'equals-ignore-case': 'eventb' } }] } },
      event: withDetail({ service: 'EventBridge' }),
      matches: true,
    },
    {
      behaviour: 'a case-insensitive prefix selects "EVENTBUS" for "eventb"',
      pattern: { detail: { service: [{ prefix: { 'equals-ignore-case': 'eventb' } }] } },
      event: withDetail({ service: 'EVENTBUS' }),
      matches: true,
    },
    {
      behaviour: 'a case-insensitive prefix ignores a name that starts otherwise',
      pattern: { detail: { service: [{ prefix: { 'equals-ignore-case': 'eventb' } }] } },
      event: withDetail({ service: 'SQS' }),
      matches: false,
    },
    {
      behaviour: 'a suffix selects a .png file name',
      pattern: { detail: { FileName: [{ suffix: '.png' }] } },
      event: withDetail({ FileName: 'photo.png' }),
      matches: true,
    },
    {
      behaviour: 'a suffix ignores a .jpg file name',
      pattern: { detail: { FileName: [{ suffix: '.png' }] } },
      event: withDetail({ FileName: 'photo.jpg' }),
      matches: false,
    },
    {
      behaviour: 'a suffix is case sensitive',
      pattern: { detail: { FileName: [{ suffix: '.png' }] } },
      event: withDetail({ FileName: 'photo.PNG' }),
      matches: false,
    },
    {
      behaviour: 'a case-insensitive suffix selects "EventBridge" for "tbridge"',
      pattern: { detail: { service: [{ suffix: { 'equals-ignore-case': 'tbridge' } }] } },
      event: withDetail({ service: 'EventBridge' }),
      matches: true,
    },
    {
      behaviour: 'a case-insensitive suffix selects "EVENTBRIDGE" for "tbridge"',
      pattern: { detail: { service: [{ suffix: { 'equals-ignore-case': 'tbridge' } }] } },
      event: withDetail({ service: 'EVENTBRIDGE' }),
      matches: true,
    },
    {
      behaviour: 'a case-insensitive suffix ignores a name that ends otherwise',
      pattern: { detail: { service: [{ suffix: { 'equals-ignore-case': 'tbridge' } }] } },
      event: withDetail({ service: 'EventBus' }),
      matches: false,
    },
    {
      behaviour: 'a suffix never matches a number',
      pattern: { n: [{ suffix: '2' }] },
      event: { n: 12 },
      matches: false,
    },
  ]);
});

describe('equals-ignore-case', () => {
  expectCases([
    {
      behaviour: 'equals-ignore-case selects "Alice" for "alice"',
      pattern: { detail: { Name: [{ 'equals-ignore-case': 'alice' }] } },
      event: withDetail({ Name: 'Alice' }),
      matches: true,
    },
    {
      behaviour: 'equals-ignore-case selects "ALICE" for "alice"',
      pattern: { detail: { Name: [{ 'equals-ignore-case': 'alice' }] } },
      event: withDetail({ Name: 'ALICE' }),
      matches: true,
    },
    {
      behaviour: 'equals-ignore-case still requires the whole value to be equal',
      pattern: { detail: { Name: [{ 'equals-ignore-case': 'alice' }] } },
      event: withDetail({ Name: 'Alicia' }),
      matches: false,
    },
    {
      behaviour: 'equals-ignore-case never matches a number',
      pattern: { n: [{ 'equals-ignore-case': '5' }] },
      event: { n: 5 },
      matches: false,
    },
  ]);
});

describe('anything-but', () => {
  const state = (value: unknown) => withDetail({ state: value });
  expectCases([
    {
      behaviour: 'anything-but a string selects any other state',
      pattern: { detail: { state: [{ 'anything-but': 'initializing' }] } },
      event: state('running'),
      matches: true,
    },
    {
      behaviour: 'anything-but a string rejects that state',
      pattern: { detail: { state: [{ 'anything-but': 'initializing' }] } },
      event: state('initializing'),
      matches: false,
    },
    {
      behaviour: 'anything-but a string selects a null state',
      pattern: { detail: { state: [{ 'anything-but': 'initializing' }] } },
      event: state(null),
      matches: true,
    },
    {
      behaviour: 'anything-but a string selects a numeric state',
      pattern: { detail: { state: [{ 'anything-but': 'initializing' }] } },
      event: state(5),
      matches: true,
    },
    {
      behaviour: 'anything-but never selects a missing field',
      pattern: { detail: { state: [{ 'anything-but': 'initializing' }] } },
      event: withDetail({}),
      matches: false,
    },
    {
      behaviour: 'anything-but a number selects another number',
      pattern: { detail: { 'x-limit': [{ 'anything-but': 123 }] } },
      event: withDetail({ 'x-limit': 124 }),
      matches: true,
    },
    {
      behaviour: 'anything-but a number rejects that number',
      pattern: { detail: { 'x-limit': [{ 'anything-but': 123 }] } },
      event: withDetail({ 'x-limit': 123 }),
      matches: false,
    },
    {
      behaviour: 'anything-but a number selects the same digits as a string',
      pattern: { detail: { 'x-limit': [{ 'anything-but': 123 }] } },
      event: withDetail({ 'x-limit': '123' }),
      matches: true,
    },
    {
      behaviour: 'anything-but a string list selects a state outside the list',
      pattern: { detail: { state: [{ 'anything-but': ['stopped', 'overloaded'] }] } },
      event: state('running'),
      matches: true,
    },
    {
      behaviour: 'anything-but a string list rejects every state in the list',
      pattern: { detail: { state: [{ 'anything-but': ['stopped', 'overloaded'] }] } },
      event: state('overloaded'),
      matches: false,
    },
    {
      behaviour: 'anything-but a number list selects a limit outside the list',
      pattern: { detail: { 'x-limit': [{ 'anything-but': [100, 200, 300] }] } },
      event: withDetail({ 'x-limit': 150 }),
      matches: true,
    },
    {
      behaviour: 'anything-but a number list rejects a limit in the list',
      pattern: { detail: { 'x-limit': [{ 'anything-but': [100, 200, 300] }] } },
      event: withDetail({ 'x-limit': 200 }),
      matches: false,
    },
    {
      behaviour: 'anything-but a prefix selects a state that starts otherwise',
      pattern: { detail: { state: [{ 'anything-but': { prefix: 'init' } }] } },
      event: state('running'),
      matches: true,
    },
    {
      behaviour: 'anything-but a prefix rejects a state with that prefix',
      pattern: { detail: { state: [{ 'anything-but': { prefix: 'init' } }] } },
      event: state('initializing'),
      matches: false,
    },
    {
      behaviour: 'anything-but a prefix selects a number, which has no prefix',
      pattern: { detail: { state: [{ 'anything-but': { prefix: 'init' } }] } },
      event: state(12),
      matches: true,
    },
    {
      behaviour: 'anything-but a list of prefixes selects a state with none of them',
      pattern: { detail: { state: [{ 'anything-but': { prefix: ['init', 'test'] } }] } },
      event: state('post-init'),
      matches: true,
    },
    {
      behaviour: 'anything-but a list of prefixes rejects a state with any of them',
      pattern: { detail: { state: [{ 'anything-but': { prefix: ['init', 'test'] } }] } },
      event: state('test-run'),
      matches: false,
    },
    {
      behaviour: 'anything-but a suffix selects a file that is not a .png',
      pattern: { detail: { FileName: [{ 'anything-but': { suffix: '.png' } }] } },
      event: withDetail({ FileName: 'photo.jpg' }),
      matches: true,
    },
    {
      behaviour: 'anything-but a suffix rejects a .png file',
      pattern: { detail: { FileName: [{ 'anything-but': { suffix: '.png' } }] } },
      event: withDetail({ FileName: 'photo.png' }),
      matches: false,
    },
    {
      behaviour: 'anything-but ignoring case selects another state',
      pattern: { detail: { state: [{ 'anything-but': { 'equals-ignore-case': 'initializing' } }] } },
      event: state('running'),
      matches: true,
    },
    {
      behaviour: 'anything-but ignoring case rejects INITIALIZING',
      pattern: { detail: { state: [{ 'anything-but': { 'equals-ignore-case': 'initializing' } }] } },
      event: state('INITIALIZING'),
      matches: false,
    },
    {
      behaviour: 'anything-but ignoring case with a list rejects any casing of any entry',
      pattern: { detail: { state: [{ 'anything-but': { 'equals-ignore-case': ['pending', 'stopped'] } }] } },
      event: state('Stopped'),
      matches: false,
    },
    {
      behaviour: 'anything-but a wildcard selects a path without /lib/',
      pattern: { detail: { FilePath: [{ 'anything-but': { wildcard: '*/lib/*' } }] } },
      event: withDetail({ FilePath: '/usr/bin/node' }),
      matches: true,
    },
    {
      behaviour: 'anything-but a wildcard rejects a path with /lib/',
      pattern: { detail: { FilePath: [{ 'anything-but': { wildcard: '*/lib/*' } }] } },
      event: withDetail({ FilePath: '/usr/lib/node' }),
      matches: false,
    },
    {
      behaviour: 'anything-but a wildcard selects a number',
      pattern: { detail: { FilePath: [{ 'anything-but': { wildcard: '*/dir/*' } }] } },
      event: withDetail({ FilePath: 123 }),
      matches: true,
    },
    {
      behaviour: 'anything-but selects an event array when one element is not excluded',
      pattern: { detail: { state: [{ 'anything-but': 'initializing' }] } },
      event: state(['initializing', 'running']),
      matches: true,
    },
    {
      behaviour: 'anything-but rejects an event array whose only element is excluded',
      pattern: { detail: { state: [{ 'anything-but': 'initializing' }] } },
      event: state(['initializing']),
      matches: false,
    },
    {
      behaviour: 'anything-but or exists:false selects an event whose parent object is missing',
      pattern: {
        dynamodb: { NewImage: { homemade: { S: [{ 'anything-but': ['roses'] }, { exists: false }] } } },
      },
      event: { ...envelope, dynamodb: { NewImage: { purchased: { N: '789' } } } },
      matches: true,
    },
  ]);
});

describe('numeric', () => {
  const count = (value: unknown) => withDetail({ 'c-count': value });
  expectCases([
    {
      behaviour: 'a range (0, 5] includes 5',
      pattern: { detail: { 'c-count': [{ numeric: ['>', 0, '<=', 5] }] } },
      event: count(5),
      matches: true,
    },
    {
      behaviour: 'a range (0, 5] includes 0.1',
      pattern: { detail: { 'c-count': [{ numeric: ['>', 0, '<=', 5] }] } },
      event: count(0.1),
      matches: true,
    },
    {
      behaviour: 'a range (0, 5] excludes 0',
      pattern: { detail: { 'c-count': [{ numeric: ['>', 0, '<=', 5] }] } },
      event: count(0),
      matches: false,
    },
    {
      behaviour: 'a range (0, 5] excludes 5.5',
      pattern: { detail: { 'c-count': [{ numeric: ['>', 0, '<=', 5] }] } },
      event: count(5.5),
      matches: false,
    },
    {
      behaviour: 'a range [0, 10) includes 0',
      pattern: { detail: { 'c-count': [{ numeric: ['>=', 0, '<', 10] }] } },
      event: count(0),
      matches: true,
    },
    {
      behaviour: 'a range [0, 10) excludes 10',
      pattern: { detail: { 'c-count': [{ numeric: ['>=', 0, '<', 10] }] } },
      event: count(10),
      matches: false,
    },
    {
      behaviour: 'less than 10 includes 9.99',
      pattern: { detail: { 'c-count': [{ numeric: ['<', 10] }] } },
      event: count(9.99),
      matches: true,
    },
    {
      behaviour: 'less than 10 excludes 10',
      pattern: { detail: { 'c-count': [{ numeric: ['<', 10] }] } },
      event: count(10),
      matches: false,
    },
    {
      behaviour: 'at most 5 includes 5',
      pattern: { detail: { 'c-count': [{ numeric: ['<=', 5] }] } },
      event: count(5),
      matches: true,
    },
    {
      behaviour: 'at least 5 excludes 4.999',
      pattern: { detail: { 'c-count': [{ numeric: ['>=', 5] }] } },
      event: count(4.999),
      matches: false,
    },
    {
      behaviour: 'greater than -5 includes -4',
      pattern: { detail: { 'c-count': [{ numeric: ['>', -5] }] } },
      event: count(-4),
      matches: true,
    },
    {
      behaviour: 'equals 3 matches 3',
      pattern: { detail: { 'c-count': [{ numeric: ['=', 3] }] } },
      event: count(3),
      matches: true,
    },
    {
      behaviour: 'equals 301.8 rejects a number just above it',
      pattern: { detail: { 'x-limit': [{ numeric: ['=', 301.8] }] } },
      event: withDetail({ 'x-limit': 301.800001 }),
      matches: false,
    },
    {
      behaviour: 'numeric never matches a numeric string',
      pattern: { detail: { 'c-count': [{ numeric: ['>', 0] }] } },
      event: count('5'),
      matches: false,
    },
    {
      behaviour: 'numeric never matches null',
      pattern: { detail: { 'c-count': [{ numeric: ['<', 10] }] } },
      event: count(null),
      matches: false,
    },
    {
      behaviour: 'numeric never matches a missing field',
      pattern: { detail: { 'c-count': [{ numeric: ['<', 10] }] } },
      event: withDetail({}),
      matches: false,
    },
    {
      behaviour: 'numeric matches when any number in an event array is in range',
      pattern: { detail: { 'c-count': [{ numeric: ['<', 10] }] } },
      event: count([20, 3]),
      matches: true,
    },
  ]);
});

describe('exists', () => {
  const exists = (flag: boolean) => ({ detail: { 'c-count': [{ exists: flag }] } });
  expectCases([
    {
      behaviour: 'exists:true selects a present value',
      pattern: exists(true),
      event: contentFilteringEvent,
      matches: true,
    },
    {
      behaviour: 'exists:true selects a null value',
      pattern: exists(true),
      event: withDetail({ 'c-count': null }),
      matches: true,
    },
    {
      behaviour: 'exists:true rejects a missing field',
      pattern: exists(true),
      event: withDetail({}),
      matches: false,
    },
    {
      behaviour: 'exists:true rejects an object, because exists only works on leaf nodes',
      pattern: exists(true),
      event: withDetail({ 'c-count': { c1: 100 } }),
      matches: false,
    },
    {
      behaviour: 'exists:true selects an array of values',
      pattern: exists(true),
      event: withDetail({ 'c-count': [1, 2] }),
      matches: true,
    },
    {
      behaviour: 'exists:true rejects an empty array, which holds no value',
      pattern: { resources: [{ exists: true }] },
      event: autoScalingLaunch,
      matches: false,
    },
    {
      behaviour: 'exists:false rejects a present value',
      pattern: exists(false),
      event: contentFilteringEvent,
      matches: false,
    },
    {
      behaviour: 'exists:false rejects a null value',
      pattern: exists(false),
      event: withDetail({ 'c-count': null }),
      matches: false,
    },
    {
      behaviour: 'exists:false selects an event missing the whole parent object',
      pattern: exists(false),
      event: envelope,
      matches: true,
    },
    {
      behaviour: 'exists:false selects an event whose parent is a scalar, which has no fields below it',
      pattern: exists(false),
      event: { ...envelope, detail: 'none' },
      matches: true,
    },
    {
      behaviour: 'exists:false selects an event whose parent is an empty array',
      pattern: exists(false),
      event: { ...envelope, detail: [] },
      matches: true,
    },
    {
      behaviour: 'exists:false rejects a deeply nested leaf that is present',
      pattern: { detail: { level1: { level2: { level3: { level4: [{ exists: false }] } } } } },
      event: withDetail({ level1: { level2: { level3: { level4: 'l4 value' } } } }),
      matches: false,
    },
  ]);
});

describe('wildcard', () => {
  const named = (value: unknown) => withDetail({ name: value });
  expectCases([
    {
      behaviour: 'a wildcard selects SimpleQueueService for Simple*Service',
      pattern: { detail: { name: [{ wildcard: 'Simple*Service' }] } },
      event: named('SimpleQueueService'),
      matches: true,
    },
    {
      behaviour: 'a wildcard star also matches no characters at all',
      pattern: { detail: { name: [{ wildcard: 'Simple*Service' }] } },
      event: named('SimpleService'),
      matches: true,
    },
    {
      behaviour: 'a wildcard must match the whole value',
      pattern: { detail: { name: [{ wildcard: 'Simple*Service' }] } },
      event: named('SimpleQueueServices'),
      matches: false,
    },
    {
      behaviour: 'a wildcard is case sensitive',
      pattern: { detail: { name: [{ wildcard: 'simple*' }] } },
      event: named('SimpleQueueService'),
      matches: false,
    },
    {
      behaviour: 'a leading wildcard selects file names ending in .png',
      pattern: { detail: { name: [{ wildcard: '*.png' }] } },
      event: named('cat.png'),
      matches: true,
    },
    {
      behaviour: 'the event bus ARN wildcard selects any account in us-east-1',
      pattern: { detail: { name: [{ wildcard: 'arn:aws:events:us-east-1:*:event-bus/*' }] } },
      event: named('arn:aws:events:us-east-1:123456789012:event-bus/default'),
      matches: true,
    },
    {
      behaviour: 'the event bus ARN wildcard rejects another region',
      pattern: { detail: { name: [{ wildcard: 'arn:aws:events:us-east-1:*:event-bus/*' }] } },
      event: named('arn:aws:events:us-west-2:123456789012:event-bus/default'),
      matches: false,
    },
    {
      behaviour: 'an escaped star matches only a literal star',
      pattern: { detail: { name: [{ wildcard: 'a\\*b' }] } },
      event: named('a*b'),
      matches: true,
    },
    {
      behaviour: 'an escaped star does not act as a wildcard',
      pattern: { detail: { name: [{ wildcard: 'a\\*b' }] } },
      event: named('axxb'),
      matches: false,
    },
    {
      behaviour: 'an escaped backslash matches a literal backslash',
      pattern: { detail: { name: [{ wildcard: 'C:\\\\*' }] } },
      event: named('C:\\temp'),
      matches: true,
    },
    {
      behaviour: 'regular expression characters in a wildcard are literal',
      pattern: { detail: { name: [{ wildcard: 'a.c*' }] } },
      event: named('abcd'),
      matches: false,
    },
    {
      behaviour: 'a wildcard never matches a number',
      pattern: { detail: { name: [{ wildcard: '1*' }] } },
      event: named(12),
      matches: false,
    },
  ]);
});

describe('cidr', () => {
  const ip = (value: unknown) => withDetail({ sourceIPAddress: value });
  const v4 = { detail: { sourceIPAddress: [{ cidr: '10.0.0.0/24' }] } };
  const v6 = { detail: { sourceIPAddress: [{ cidr: '2001:db8::/64' }] } };
  expectCases([
    {
      behaviour: 'an IPv4 block includes its last address',
      pattern: v4,
      event: ip('10.0.0.255'),
      matches: true,
    },
    {
      behaviour: 'an IPv4 block excludes the next block',
      pattern: v4,
      event: ip('10.0.1.0'),
      matches: false,
    },
    { behaviour: 'an IPv4 block never matches a number', pattern: v4, event: ip(123), matches: false },
    {
      behaviour: 'an IPv4 block never matches a non-address',
      pattern: v4,
      event: ip('10.0.0.x'),
      matches: false,
    },
    {
      behaviour: 'a CIDR written with host bits set still covers its whole block, as CIDR notation means',
      pattern: { detail: { sourceIPAddress: [{ cidr: '10.0.0.77/24' }] } },
      event: ip('10.0.0.1'),
      matches: true,
    },
    {
      behaviour: 'an IPv6 block includes a compressed address',
      pattern: v6,
      event: ip('2001:db8::1'),
      matches: true,
    },
    {
      behaviour: 'an IPv6 block includes its last address written in full',
      pattern: v6,
      event: ip('2001:0db8:0000:0000:ffff:ffff:ffff:ffff'),
      matches: true,
    },
    {
      behaviour: 'an IPv6 block excludes the next /64',
      pattern: v6,
      event: ip('2001:db8:0:1::1'),
      matches: false,
    },
    {
      behaviour: 'an IPv6 block never matches an IPv4 address',
      pattern: v6,
      event: ip('10.0.0.1'),
      matches: false,
    },
    {
      behaviour: 'an IPv6 block understands an embedded IPv4 tail',
      pattern: { detail: { sourceIPAddress: [{ cidr: '::ffff:10.0.0.0/120' }] } },
      event: ip('::ffff:10.0.0.9'),
      matches: true,
    },
  ]);
});

describe('$or', () => {
  const cloudwatch = (detail: Record<string, unknown>) => ({
    ...envelope,
    source: 'aws.cloudwatch',
    ...detail,
  });
  const sourceAndEitherMetric = {
    source: ['aws.cloudwatch'],
    $or: [{ metricName: ['CPUUtilization', 'ReadLatency'] }, { namespace: ['AWS/EC2', 'AWS/ES'] }],
  };
  const orWithAnd = {
    source: ['aws.cloudwatch'],
    $or: [
      { metricName: ['CPUUtilization', 'ReadLatency'] },
      {
        metricType: ['MetricType'],
        namespace: ['AWS/EC2', 'AWS/ES'],
        $or: [{ metricId: [1234] }, { spaceId: [1000] }],
      },
      { scope: ['Service'] },
    ],
  };
  expectCases([
    {
      behaviour: '$or selects an event matching its second branch',
      pattern: sourceAndEitherMetric,
      event: cloudwatch({ namespace: 'AWS/EC2' }),
      matches: true,
    },
    {
      behaviour: '$or rejects an event matching no branch',
      pattern: sourceAndEitherMetric,
      event: cloudwatch({ namespace: 'AWS/Lambda' }),
      matches: false,
    },
    {
      behaviour: '$or still requires the fields beside it',
      pattern: sourceAndEitherMetric,
      event: { ...envelope, metricName: 'CPUUtilization' },
      matches: false,
    },
    {
      behaviour: '$or inside detail selects on a nested field',
      pattern: { detail: { $or: [{ 'c-count': [{ numeric: ['>', 10] }] }, { state: ['running'] }] } },
      event: contentFilteringEvent,
      matches: true,
    },
    {
      behaviour: 'a nested $or inside a branch selects when its own branch matches',
      pattern: orWithAnd,
      event: cloudwatch({ metricType: 'MetricType', namespace: 'AWS/ES', spaceId: 1000 }),
      matches: true,
    },
    {
      behaviour: 'a branch with several fields needs all of them',
      pattern: orWithAnd,
      event: cloudwatch({ metricType: 'MetricType', spaceId: 1000 }),
      matches: false,
    },
    {
      behaviour: 'a nested $or rejects when none of its branches match',
      pattern: orWithAnd,
      event: cloudwatch({ metricType: 'MetricType', namespace: 'AWS/ES', spaceId: 2000 }),
      matches: false,
    },
    {
      behaviour: '$or with exists:false selects an event missing that field',
      pattern: { detail: { $or: [{ 'c-count': [{ exists: false }] }, { state: ['running'] }] } },
      event: withDetail({ state: 'stopped' }),
      matches: true,
    },
  ]);
});

describe('pattern validation', () => {
  function rejectionReason(pattern: unknown): string | undefined {
    try {
      parseEventPattern(pattern);
    } catch (error) {
      if (error instanceof InvalidEventPatternError) return error.reason;
      throw error;
    }
    return undefined;
  }

  it.each<{ readonly mistake: string; readonly pattern: unknown; readonly reason: string }>([
    { mistake: 'a JSON array', pattern: '["not", "an", "object"]', reason: 'Filter is not an object' },
    { mistake: 'an empty pattern', pattern: {}, reason: 'Empty objects are not allowed' },
    {
      mistake: 'a bare string value',
      pattern: { source: 'aws.ec2' },
      reason: '"source" must be an object or an array',
    },
    { mistake: 'a bare number value', pattern: { int: 42 }, reason: '"int" must be an object or an array' },
    { mistake: 'an empty value array', pattern: { resources: [] }, reason: 'Empty arrays are not allowed' },
    { mistake: 'an empty nested object', pattern: { detail: {} }, reason: 'Empty objects are not allowed' },
    {
      mistake: 'an array inside the value array',
      pattern: { s: [['x']] },
      reason: 'Match value must be String, number, true, false, or null',
    },
    { mistake: 'an empty match expression', pattern: { s: [{}] }, reason: 'Match expression name not found' },
    {
      mistake: 'two operators in one expression',
      pattern: { s: [{ prefix: 'a', suffix: 'b' }] },
      reason: 'Only one key allowed in match expression',
    },
    {
      mistake: 'an unknown operator',
      pattern: { s: [{ contains: 'x' }] },
      reason: 'Unrecognized match type contains',
    },
    {
      mistake: 'an operator in the wrong case',
      pattern: { s: [{ EXISTS: true }] },
      reason: 'Unrecognized match type EXISTS',
    },
    {
      mistake: 'a numeric prefix',
      pattern: { s: [{ prefix: 123 }] },
      reason: 'prefix match pattern must be a string',
    },
    {
      mistake: 'a prefix list',
      pattern: { s: [{ prefix: ['2022-07-13'] }] },
      reason: 'prefix match pattern must be a string',
    },
    {
      mistake: 'a non-string case-insensitive prefix',
      pattern: { s: [{ prefix: { 'equals-ignore-case': 5 } }] },
      reason: 'prefix match pattern must be a string',
    },
    {
      mistake: 'an unknown prefix modifier',
      pattern: { s: [{ prefix: { wildcard: 'a*' } }] },
      reason: 'Unsupported prefix pattern: wildcard',
    },
    {
      mistake: 'a numeric suffix',
      pattern: { s: [{ suffix: 123 }] },
      reason: 'suffix match pattern must be a string',
    },
    {
      mistake: 'a suffix list',
      pattern: { s: [{ suffix: ['.png'] }] },
      reason: 'suffix match pattern must be a string',
    },
    {
      mistake: 'an equals-ignore-case list',
      pattern: { s: [{ 'equals-ignore-case': ['x'] }] },
      reason: 'equals-ignore-case match pattern must be a string',
    },
    {
      mistake: 'a numeric wildcard',
      pattern: { s: [{ wildcard: 123 }] },
      reason: 'wildcard match pattern must be a string',
    },
    {
      mistake: 'consecutive wildcards',
      pattern: { s: [{ wildcard: 'arn:**:bus' }] },
      reason: 'Consecutive wildcard characters at pos 5',
    },
    {
      mistake: 'a wildcard escaping a letter',
      pattern: { s: [{ wildcard: 'a\\b' }] },
      reason: 'Invalid escape character at pos 1',
    },
    {
      mistake: 'exists with a string',
      pattern: { s: [{ exists: 'yes' }] },
      reason: 'exists match pattern must be either true or false.',
    },
    {
      mistake: 'numeric without an array',
      pattern: { n: [{ numeric: '>5' }] },
      reason: 'Value of numeric must be an array.',
    },
    {
      mistake: 'an empty numeric array',
      pattern: { n: [{ numeric: [] }] },
      reason: 'Invalid member in numeric match: ]',
    },
    {
      mistake: 'numeric without an operator',
      pattern: { n: [{ numeric: [5] }] },
      reason: 'Invalid member in numeric match: 5',
    },
    {
      mistake: 'an unknown numeric operator',
      pattern: { n: [{ numeric: ['!=', 5] }] },
      reason: 'Unrecognized numeric range operator: !=',
    },
    {
      mistake: 'a numeric operator without a number',
      pattern: { n: [{ numeric: ['>', 0, '<'] }] },
      reason: 'Value of < must be numeric',
    },
    {
      mistake: 'equals with a string',
      pattern: { n: [{ numeric: ['=', '5'] }] },
      reason: 'Value of equals must be numeric',
    },
    {
      mistake: 'equals followed by a range',
      pattern: { n: [{ numeric: ['=', 5, '<', 6] }] },
      reason: 'Too many elements in numeric expression',
    },
    {
      mistake: 'an upper bound followed by more terms',
      pattern: { n: [{ numeric: ['<', 5, '>', 0] }] },
      reason: 'Too many elements in numeric expression',
    },
    {
      mistake: 'two lower bounds',
      pattern: { n: [{ numeric: ['>', 0, '>', 0] }] },
      reason: 'Bad numeric range operator: >',
    },
    {
      mistake: 'a number where the upper operator belongs',
      pattern: { n: [{ numeric: ['>', 0, 5] }] },
      reason: 'Bad value in numeric range: 5',
    },
    {
      mistake: 'a bottom above the top',
      pattern: { n: [{ numeric: ['>', 10, '<', 5] }] },
      reason: 'Bottom must be less than top',
    },
    {
      mistake: 'a bottom equal to the top',
      pattern: { n: [{ numeric: ['>=', 5, '<=', 5] }] },
      reason: 'Bottom must be less than top',
    },
    {
      mistake: 'a range with a fifth term',
      pattern: { n: [{ numeric: ['>', 0, '<', 5, 6] }] },
      reason: 'Too many terms in numeric range expression',
    },
    {
      mistake: 'a non-string CIDR',
      pattern: { ip: [{ cidr: ['bad-type'] }] },
      reason: 'prefix match pattern must be a string',
    },
    {
      mistake: 'a CIDR without a mask',
      pattern: { ip: [{ cidr: '10.0.0.0' }] },
      reason: "Malformed CIDR, one '/' required",
    },
    {
      mistake: 'a CIDR with a word for a mask',
      pattern: { ip: [{ cidr: '10.0.0.0/x' }] },
      reason: 'Malformed CIDR, mask bits must be an integer',
    },
    {
      mistake: 'a CIDR with a negative mask',
      pattern: { ip: [{ cidr: '10.0.0.0/-1' }] },
      reason: 'Malformed CIDR, mask bits must not be negative',
    },
    {
      mistake: 'an IPv4 CIDR with a 33-bit mask',
      pattern: { ip: [{ cidr: '10.0.0.0/33' }] },
      reason: 'IPv4 mask bits must be at most 32',
    },
    {
      mistake: 'a CIDR with a bad IPv4 address',
      pattern: { ip: [{ cidr: 'xx.11.xx/24' }] },
      reason: 'Nonstandard IP address: xx.11.xx',
    },
    {
      mistake: 'a CIDR with a bad IPv6 address',
      pattern: { ip: [{ cidr: 'xxxx:db8:1234:1a00::/64' }] },
      reason: 'Nonstandard IP address: xxxx:db8:1234:1a00::',
    },
    {
      mistake: 'anything-but null',
      pattern: { s: [{ 'anything-but': null }] },
      reason: 'Value of anything-but must be an array or single string/number value.',
    },
    {
      mistake: 'anything-but true',
      pattern: { s: [{ 'anything-but': true }] },
      reason: 'Value of anything-but must be an array or single string/number value.',
    },
    {
      mistake: 'anything-but a list holding null',
      pattern: { s: [{ 'anything-but': ['a', null] }] },
      reason: 'Inside anything but list, start|null|boolean is not supported.',
    },
    {
      mistake: 'anything-but a mixed list',
      pattern: { s: [{ 'anything-but': ['a', 1] }] },
      reason: 'Inside anything but list, either all values are number or string, mixed type is not supported',
    },
    {
      mistake: 'anything-but an empty list',
      pattern: { s: [{ 'anything-but': [] }] },
      reason: 'Inside anything but list, either all values are number or string, mixed type is not supported',
    },
    {
      mistake: 'anything-but an empty object',
      pattern: { s: [{ 'anything-but': {} }] },
      reason: 'Anything-But expression name not found',
    },
    {
      mistake: 'anything-but numeric',
      pattern: { s: [{ 'anything-but': { numeric: ['>', 1] } }] },
      reason: 'Unsupported anything-but pattern: numeric',
    },
    {
      mistake: 'anything-but a case-insensitive prefix',
      pattern: { s: [{ 'anything-but': { prefix: { 'equals-ignore-case': 'file' } } }] },
      reason: 'Value of anything-but must be an array or single string/number value.',
    },
    {
      mistake: 'anything-but a numeric prefix',
      pattern: { s: [{ 'anything-but': { prefix: 123 } }] },
      reason: 'prefix/suffix match pattern must be a string',
    },
    {
      mistake: 'anything-but a prefix list holding a number',
      pattern: { s: [{ 'anything-but': { prefix: [123, 'test'] } }] },
      reason: 'prefix/suffix match pattern must be a string',
    },
    {
      mistake: 'anything-but an empty prefix',
      pattern: { s: [{ 'anything-but': { prefix: '' } }] },
      reason: 'Null prefix/suffix not allowed',
    },
    {
      mistake: 'anything-but a numeric suffix',
      pattern: { s: [{ 'anything-but': { suffix: 123 } }] },
      reason: 'prefix/suffix match pattern must be a string',
    },
    {
      mistake: 'anything-but a numeric equals-ignore-case',
      pattern: { s: [{ 'anything-but': { 'equals-ignore-case': 123 } }] },
      reason: 'Inside anything-but/equals-ignore-case list, number|start|null|boolean is not supported.',
    },
    {
      mistake: 'anything-but a numeric wildcard',
      pattern: { s: [{ 'anything-but': { wildcard: 123 } }] },
      reason: 'wildcard match pattern must be a string',
    },
    {
      mistake: 'anything-but a wildcard list holding a number',
      pattern: { s: [{ 'anything-but': { wildcard: [123, '*/dir/*'] } }] },
      reason: 'wildcard match pattern must be a string',
    },
    {
      mistake: 'anything-but a wildcard with consecutive stars',
      pattern: { s: [{ 'anything-but': { wildcard: 'a**' } }] },
      reason: 'Consecutive wildcard characters at pos 2',
    },
    {
      mistake: '$or given an object',
      pattern: { $or: { a: [1] } },
      reason: 'It must be an Array followed with $or.',
    },
    {
      mistake: '$or with one branch',
      pattern: { $or: [{ a: [1] }] },
      reason: 'There must have at least 2 Objects in $or relationship.',
    },
    {
      mistake: '$or with a string branch',
      pattern: { $or: [{ a: [1] }, 'b'] },
      reason: 'Only JSON object is allowed in array of $or relationship.',
    },
    {
      mistake: 'an operator used as a field inside $or',
      pattern: { $or: [{ numeric: [123] }, { prefix: ['abc'] }] },
      reason: 'numeric is Ruler reserved fieldName which cannot be used inside $or.',
    },
    {
      mistake: 'an invalid leaf deep inside $or',
      pattern: { $or: [{ a: [1] }, { b: { c: [] } }] },
      reason: 'Empty arrays are not allowed',
    },
  ])('rejects $mistake', ({ pattern, reason }) => {
    const rejection = rejectionReason(pattern);

    expect(rejection).toBe(reason);
  });

  it('rejects text that is not JSON, naming the parse problem', () => {
    const rejection = rejectionReason('this is valid json but not a dict');

    expect(rejection).toMatch(/^Filter is not valid JSON: /);
  });

  it('reports rejections as InvalidEventPatternException with AWS message wording', () => {
    const attempt = () => parseEventPattern({ source: [] });

    expect(attempt).toThrow(
      expect.objectContaining({
        name: 'InvalidEventPatternException',
        message: 'Event pattern is not valid. Reason: Empty arrays are not allowed',
      }),
    );
  });

  it('accepts a pattern given as JSON text, as PutRule and TestEventPattern receive it', () => {
    const pattern = parseEventPattern('{"source": ["aws.ec2"], "detail": {"state": ["terminated"]}}');

    const result = matchesEventPattern(pattern, ec2Termination);

    expect(result).toBe(true);
  });
});

describe('invariants over generated values', () => {
  /** mulberry32: a tiny seeded PRNG, so a failure reproduces with the same seed. */
  function seededRandom(seed: number): () => number {
    let state = seed >>> 0;
    return () => {
      state = (state + 0x6d2b79f5) >>> 0;
      let t = state;
      t = Math.imul(t ^ (t >>> 15), t | 1);
      t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
  }

  // A tiny alphabet makes equal strings and shared prefixes common, so both outcomes are exercised.
  function randomString(random: () => number): string {
    const length = Math.floor(random() * 4);
    let text = '';
    for (let index = 0; index < length; index++) text += 'abA'.charAt(Math.floor(random() * 3));
    return text;
  }

  const RUNS = 500;

  it('anything-but [x] selects exactly the string values that [x] rejects', () => {
    const random = seededRandom(20240601);
    const outcomes = new Set<boolean>();

    for (let run = 0; run < RUNS; run++) {
      const excluded = randomString(random);
      const value = randomString(random);
      const event = { detail: { state: value } };
      const exact = matches({ detail: { state: [excluded] } }, event);
      const anythingBut = matches({ detail: { state: [{ 'anything-but': [excluded] }] } }, event);
      outcomes.add(exact);

      expect(anythingBut, `excluded=${JSON.stringify(excluded)} value=${JSON.stringify(value)}`).toBe(!exact);
    }
    expect(outcomes).toEqual(new Set([true, false]));
  });

  it('anything-but a prefix selects exactly the string values the prefix rejects', () => {
    const random = seededRandom(7);
    const outcomes = new Set<boolean>();

    for (let run = 0; run < RUNS; run++) {
      const prefix = randomString(random) || 'a';
      const value = randomString(random);
      const event = { name: value };
      const withPrefix = matches({ name: [{ prefix }] }, event);
      const withoutPrefix = matches({ name: [{ 'anything-but': { prefix } }] }, event);
      outcomes.add(withPrefix);

      expect(withoutPrefix, `prefix=${JSON.stringify(prefix)} value=${JSON.stringify(value)}`).toBe(
        !withPrefix,
      );
    }
    expect(outcomes).toEqual(new Set([true, false]));
  });

  it('a numeric range agrees with plain arithmetic comparison', () => {
    const random = seededRandom(42);
    const outcomes = new Set<boolean>();

    for (let run = 0; run < RUNS; run++) {
      const low = Math.round(random() * 200 - 100);
      const high = low + 1 + Math.round(random() * 50);
      const value = Math.round(random() * 300 - 150) / 2;
      const inRange = matches({ n: [{ numeric: ['>', low, '<=', high] }] }, { n: value });
      outcomes.add(inRange);

      expect(inRange, `(${low}, ${high}] vs ${value}`).toBe(value > low && value <= high);
    }
    expect(outcomes).toEqual(new Set([true, false]));
  });
});
