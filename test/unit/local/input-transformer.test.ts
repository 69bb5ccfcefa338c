// Checks what local rule targets receive through InputPath and InputTransformer, against the EventBridge docs.
import { describe, expect, it } from 'vitest';
import {
  applyInputPath,
  applyInputTransformer,
  InvalidInputTransformerError,
} from '../../../lib/local/input-transformer.ts';

/** The EC2 event from "Amazon EventBridge input transformation". */
const ec2Event = {
  version: '0',
  id: '7bf73129-1428-4cd3-a780-95db273d1602',
  'detail-type': 'EC2 Instance State-change Notification',
  source: 'aws.ec2',
  account: '123456789012',
  time: '2015-11-11T21:29:54Z',
  region: 'us-east-1',
  resources: ['arn:aws:ec2:us-east-1:123456789012:instance/i-abcd1111'],
  detail: { 'instance-id': 'i-0123456789', state: 'RUNNING' },
};

/** The documented Input Path for that event. */
const inputPathsMap = { timestamp: '$.time', instance: '$.detail.instance-id', state: '$.detail.state' };

const rule = {
  ruleArn: 'arn:aws:events:us-east-2:123456789012:rule/example',
  ruleName: 'example',
  ingestionTime: '2015-11-11T21:29:55Z',
};

function transform(
  inputTemplate: string,
  event: unknown = ec2Event,
  paths: Record<string, string> = inputPathsMap,
) {
  return applyInputTransformer({ inputPathsMap: paths, inputTemplate }, event, rule);
}

describe('applyInputPath', () => {
  it('returns the whole event for $', () => {
    const selected = applyInputPath('$', ec2Event);

    expect(selected).toBe(ec2Event);
  });

  it.each<{ readonly path: string; readonly expected: unknown }>([
    { path: '$.detail', expected: { 'instance-id': 'i-0123456789', state: 'RUNNING' } },
    { path: '$.detail.instance-id', expected: 'i-0123456789' },
    { path: '$.detail-type', expected: 'EC2 Instance State-change Notification' },
    { path: '$.resources[0]', expected: 'arn:aws:ec2:us-east-1:123456789012:instance/i-abcd1111' },
    { path: '$.detail.*', expected: ['i-0123456789', 'RUNNING'] },
    { path: '$.resources[*]', expected: ['arn:aws:ec2:us-east-1:123456789012:instance/i-abcd1111'] },
  ])('selects $path from the documented EC2 event', ({ path, expected }) => {
    const selected = applyInputPath(path, ec2Event);

    expect(selected).toEqual(expected);
  });

  it.each(['$.detail.missing', '$.resources[1]', '$.detail.state.length', '$.region[0]'])(
    'returns undefined when %s selects nothing',
    (path) => {
      const selected = applyInputPath(path, ec2Event);

      expect(selected).toBeUndefined();
    },
  );

  it('keeps a JSON null as null, distinct from a missing value', () => {
    const selected = applyInputPath('$.detail.responseElements', { detail: { responseElements: null } });

    expect(selected).toBeNull();
  });

  it('follows names with slashes and nested array indices', () => {
    const event = { detail: { 'a/b': [['x', 'y'], ['z']] } };

    const selected = applyInputPath('$.detail.a/b[0][1]', event);

    expect(selected).toBe('y');
  });

  it('collects a field from every element with a wildcard', () => {
    const event = { detail: { items: [{ sku: 'A-1' }, { sku: 'B-2' }, { name: 'no sku' }] } };

    const selected = applyInputPath('$.detail.items[*].sku', event);

    expect(selected).toEqual(['A-1', 'B-2']);
  });

  it.each(['detail', '$..detail', '$.detail.', "$['detail']", '$.detail[abc]', '$.resources[0'])(
    'rejects %s, which is outside the JSONPath syntax EventBridge supports',
    (path) => {
      const attempt = () => applyInputPath(path, ec2Event);

      expect(attempt).toThrow(InvalidInputTransformerError);
    },
  );
});

describe('applyInputTransformer with the documented examples', () => {
  it.each<{ readonly example: string; readonly template: string; readonly output: string }>([
    {
      example: 'simple string',
      template: '"instance <instance> is in <state>"',
      output: '"instance i-0123456789 is in RUNNING"',
    },
    {
      example: 'string with escaped quotes',
      template: '"instance \\"<instance>\\" is in <state>"',
      output: '"instance \\"i-0123456789\\" is in RUNNING"',
    },
    {
      example: 'simple JSON, where unquoted string variables gain quotes',
      template: '{\n  "instance" : <instance>,\n  "state": <state>\n}',
      output: '{\n  "instance" : "i-0123456789",\n  "state": "RUNNING"\n}',
    },
    {
      example: 'JSON with strings and variables',
      template:
        '{\n "instance" : <instance>,\n "state": "<state>",\n "instanceStatus": "instance \\"<instance>\\" is in <state>"\n}',
      output:
        '{\n "instance" : "i-0123456789",\n "state": "RUNNING",\n "instanceStatus": "instance \\"i-0123456789\\" is in RUNNING"\n}',
    },
    {
      example: 'JSON with a mix of variables and static information',
      template: '{\n  "instance" : <instance>,\n  "state": [ 9, <state>, true ],\n  "Transformed" : "Yes"\n}',
      output:
        '{\n  "instance" : "i-0123456789",\n  "state": [ 9, "RUNNING", true ],\n  "Transformed" : "Yes"\n}',
    },
    {
      example: 'reserved variables in a string',
      template: '"<aws.events.rule-name> triggered"',
      output: '"example triggered"',
    },
    {
      example: 'a CloudWatch log group message',
      template: '{\n  "timestamp" : <timestamp>,\n  "message": "instance \\"<instance>\\" is in <state>"\n}',
      output:
        '{\n  "timestamp" : "2015-11-11T21:29:54Z",\n  "message": "instance \\"i-0123456789\\" is in RUNNING"\n}',
    },
  ])('renders the "$example" example as documented', ({ template, output }) => {
    const rendered = transform(template);

    expect(rendered).toBe(output);
  });

  it('renders reserved variables in JSON as quoted strings and the original event as an object', () => {
    const template =
      '{"instance": <instance>, "ruleArn": <aws.events.rule-arn>, "ruleName": <aws.events.rule-name>, "originalEvent": <aws.events.event>}';

    const rendered = JSON.parse(transform(template));

    expect(rendered).toEqual({
      instance: 'i-0123456789',
      ruleArn: 'arn:aws:events:us-east-2:123456789012:rule/example',
      ruleName: 'example',
      originalEvent: {
        version: '0',
        id: '7bf73129-1428-4cd3-a780-95db273d1602',
        'detail-type': 'EC2 Instance State-change Notification',
        source: 'aws.ec2',
        account: '123456789012',
        time: '2015-11-11T21:29:54Z',
        region: 'us-east-1',
        resources: ['arn:aws:ec2:us-east-1:123456789012:instance/i-abcd1111'],
      },
    });
  });

  it('renders aws.events.event.json as the full original event, detail included', () => {
    const rendered = JSON.parse(transform('{"originalEvent": <aws.events.event.json>}'));

    expect(rendered).toEqual({ originalEvent: ec2Event });
  });

  it('renders aws.events.event.ingestion-time from the time the bus received the event', () => {
    const rendered = transform('"received at <aws.events.event.ingestion-time>"');

    expect(rendered).toBe('"received at 2015-11-11T21:29:55Z"');
  });

  it('renders the API reference example that mixes a bare and a quoted placeholder', () => {
    const rendered = applyInputTransformer(
      {
        inputPathsMap: { instance: '$.detail.instance', status: '$.detail.status' },
        inputTemplate: '{"myInstance": <instance>,"myStatus": "<instance> is in state \\"<status>\\""}',
      },
      { detail: { instance: 'i-1', status: 'running' } },
    );

    expect(rendered).toBe('{"myInstance": "i-1","myStatus": "i-1 is in state \\"running\\""}');
  });
});

describe('applyInputTransformer value rendering', () => {
  const event = {
    ...ec2Event,
    detail: {
      ...ec2Event.detail,
      count: 5,
      healthy: true,
      tags: ['a', 'b'],
      note: 'say "hi"',
      nothing: null,
    },
  };
  const paths = {
    detail: '$.detail',
    count: '$.detail.count',
    healthy: '$.detail.healthy',
    tags: '$.detail.tags',
    note: '$.detail.note',
    nothing: '$.detail.nothing',
    missing: '$.detail.missing',
    state: '$.detail.state',
  };

  it.each<{ readonly behaviour: string; readonly template: string; readonly output: string }>([
    {
      behaviour: 'a number is written bare in JSON and as digits inside a string',
      template: '{"count": <count>, "text": "count=<count>"}',
      output: '{"count": 5, "text": "count=5"}',
    },
    {
      behaviour: 'a boolean is written bare in JSON',
      template: '{"healthy": <healthy>}',
      output: '{"healthy": true}',
    },
    {
      behaviour: 'an array is written as JSON in a JSON value',
      template: '{"tags": <tags>}',
      output: '{"tags": ["a","b"]}',
    },
    {
      behaviour: 'an object inside a string loses its internal quotes so the string stays valid',
      template: '"Detail is <tags>"',
      output: '"Detail is [a,b]"',
    },
    {
      behaviour: 'a JSON null is written as null in JSON and as the word inside a string',
      template: '{"value": <nothing>, "text": "was <nothing>"}',
      output: '{"value": null, "text": "was null"}',
    },
    {
      behaviour: 'extracted strings are not escaped, as the docs warn',
      template: '{"note": <note>, "quoted": "<note>"}',
      output: '{"note": "say "hi"", "quoted": "say "hi""}',
    },
    {
      behaviour: 'a path that finds nothing becomes null where JSON needs a value',
      template: '{"value": <missing>}',
      output: '{"value": null}',
    },
    {
      behaviour: 'a path that finds nothing leaves nothing inside a string',
      template: '"[<missing>]"',
      output: '"[]"',
    },
    {
      behaviour: 'a plain-text template takes strings as they are and other values as JSON',
      template: '<state> with <count> items: <tags>',
      output: 'RUNNING with 5 items: ["a","b"]',
    },
    {
      behaviour: 'a path that finds nothing leaves nothing in a plain-text template',
      template: 'state=<state>;missing=<missing>;',
      output: 'state=RUNNING;missing=;',
    },
    {
      behaviour: 'angle brackets that name no variable are left as written',
      template: '<b><state></b>',
      output: '<b>RUNNING</b>',
    },
    {
      behaviour: 'a template without placeholders passes through unchanged',
      template: '{"static": "<not a variable>"}',
      output: '{"static": "<not a variable>"}',
    },
  ])('$behaviour', ({ template, output }) => {
    const rendered = transform(template, event, paths);

    expect(rendered).toBe(output);
  });

  it('writes an object variable in a JSON value as the object itself', () => {
    const rendered = JSON.parse(transform('{"detail": <detail>}', event, paths));

    expect(rendered).toEqual({ detail: event.detail });
  });

  it('writes null for predefined rule variables when the bus supplies no rule context', () => {
    const rendered = applyInputTransformer({ inputTemplate: '{"rule": <aws.events.rule-name>}' }, ec2Event);

    expect(rendered).toBe('{"rule": null}');
  });
});

describe('applyInputTransformer validation', () => {
  it('rejects an InputPathsMap key shaped like a reserved variable, which cannot be overwritten', () => {
    const attempt = () =>
      applyInputTransformer(
        { inputPathsMap: { 'aws.events.rule-name': '$.source' }, inputTemplate: '<aws.events.rule-name>' },
        ec2Event,
        rule,
      );

    expect(attempt).toThrow(InvalidInputTransformerError);
  });

  it('rejects an InputPathsMap path outside the supported JSONPath syntax', () => {
    const attempt = () => transform('<state>', ec2Event, { state: 'detail.state' });

    expect(attempt).toThrow(expect.objectContaining({ name: 'ValidationException' }));
  });
});
