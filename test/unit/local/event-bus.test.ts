// The local EventBridge bus validates PutEvents entries, routes events to rule targets and retries deliveries.
import { describe, expect, it } from 'vitest';
import {
  type BusArchive,
  type BusEvent,
  type BusRule,
  type Delivery,
  LocalEventBus,
  type LocalEventBusOptions,
  type RuleTarget,
  targetPayload,
} from '../../../lib/local/event-bus.ts';
import { parseEventPattern } from '../../../lib/local/event-pattern.ts';
import { AwsServiceError } from '../../../lib/local/json-protocol.ts';

const REGION = 'us-east-1';
const ACCOUNT = '000000000000';
const BUS = 'nurture-test';
const BUS_ARN = `arn:aws:events:${REGION}:${ACCOUNT}:event-bus/${BUS}`;

function rule(name: string, overrides: Partial<BusRule> & { match?: object } = {}): BusRule {
  const { match = { source: ['nurture.tracking'] }, ...rest } = overrides;
  return {
    name,
    arn: `arn:aws:events:${REGION}:${ACCOUNT}:rule/${BUS}/${name}`,
    eventBusName: BUS,
    pattern: parseEventPattern(match),
    patternText: JSON.stringify(match),
    enabled: true,
    targets: [{ id: 'Target0', arn: `arn:aws:sqs:${REGION}:${ACCOUNT}:${name}-queue` }],
    ...rest,
  };
}

interface BusUnderTest {
  readonly bus: LocalEventBus;
  readonly delivered: Delivery[];
  readonly undeliverable: Array<{ delivery: Delivery; error: unknown }>;
  readonly archived: Array<{ archive: BusArchive; event: BusEvent }>;
}

function busWith(options: Partial<LocalEventBusOptions> = {}): BusUnderTest {
  const delivered: Delivery[] = [];
  const undeliverable: Array<{ delivery: Delivery; error: unknown }> = [];
  const archived: Array<{ archive: BusArchive; event: BusEvent }> = [];
  const bus = new LocalEventBus({
    region: REGION,
    accountId: ACCOUNT,
    buses: [BUS],
    rules: [rule('all-tracking')],
    deliver: async (delivery) => {
      delivered.push(delivery);
    },
    onUndeliverable: (delivery, error) => undeliverable.push({ delivery, error }),
    onArchive: (archive, event) => archived.push({ archive, event }),
    retryDelayMs: 1,
    ...options,
  });
  return { bus, delivered, undeliverable, archived };
}

function entry(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    EventBusName: BUS,
    Source: 'nurture.tracking',
    DetailType: 'page.viewed',
    Detail: JSON.stringify({ profileId: 'p-1', url: '/pricing' }),
    ...overrides,
  };
}

function serviceErrorOf(action: () => unknown): AwsServiceError {
  try {
    action();
  } catch (error) {
    if (error instanceof AwsServiceError) return error;
    throw error;
  }
  throw new Error('expected an AwsServiceError');
}

const sampleEvent: BusEvent = {
  version: '0',
  id: '6a7e8feb-b491-4cf7-a9f1-bf3703467718',
  'detail-type': 'email.link_clicked',
  source: 'nurture.messaging',
  account: ACCOUNT,
  time: '2024-05-01T12:00:00Z',
  region: REGION,
  resources: [],
  detail: { profileId: 'p-7', link: { url: 'https://example.com/offer' } },
};

describe('PutEvents entry validation', () => {
  it('accepts a valid entry and returns its event ID', () => {
    const { bus } = busWith();

    const result = bus.putEvents({ Entries: [entry()] });

    expect(result.FailedEntryCount).toBe(0);
    expect(result.Entries).toEqual([{ EventId: expect.stringMatching(/^[0-9a-f-]{36}$/) }]);
  });

  it.each(['Source', 'DetailType', 'Detail'])('fails an entry without %s', (key) => {
    const { bus } = busWith();

    const result = bus.putEvents({ Entries: [entry({ [key]: undefined })] });

    expect(result).toEqual({
      FailedEntryCount: 1,
      Entries: [
        {
          ErrorCode: 'InvalidArgument',
          ErrorMessage: `Parameter ${key} is not valid. Reason: ${key} is a required argument.`,
        },
      ],
    });
  });

  it('fails an entry whose Source is empty', () => {
    const { bus } = busWith();

    const result = bus.putEvents({ Entries: [entry({ Source: '' })] });

    expect(result.Entries[0]).toMatchObject({ ErrorCode: 'InvalidArgument' });
  });

  it.each([
    ['an array', '[1,2]'],
    ['a string', '"clicked"'],
    ['null', 'null'],
    ['a number', '42'],
  ])('fails an entry whose Detail is %s rather than an object', (_what, Detail) => {
    const { bus } = busWith();

    const result = bus.putEvents({ Entries: [entry({ Detail })] });

    expect(result.Entries).toEqual([{ ErrorCode: 'MalformedDetail', ErrorMessage: 'Detail is malformed.' }]);
  });

  it('fails an entry whose Detail is not valid JSON', () => {
    const { bus } = busWith();

    const result = bus.putEvents({ Entries: [entry({ Detail: '{"profileId": ' })] });

    expect(result.Entries).toEqual([{ ErrorCode: 'MalformedDetail', ErrorMessage: 'Detail is malformed.' }]);
  });

  it('fails an entry for a bus that does not exist', () => {
    const { bus } = busWith();

    const result = bus.putEvents({ Entries: [entry({ EventBusName: 'elsewhere' })] });

    expect(result.Entries).toEqual([
      { ErrorCode: 'NotFoundException', ErrorMessage: 'Event bus elsewhere does not exist.' },
    ]);
  });

  it('fails an entry whose Resources are not a list of strings', () => {
    const { bus } = busWith();

    const result = bus.putEvents({ Entries: [entry({ Resources: ['arn:aws:x', 7] })] });

    expect(result.Entries[0]).toMatchObject({ ErrorCode: 'InvalidArgument' });
  });

  it('fails an entry larger than 256 KB', () => {
    const { bus } = busWith();

    const result = bus.putEvents({
      Entries: [entry({ Detail: JSON.stringify({ blob: 'x'.repeat(256 * 1024) }) })],
    });

    expect(result.Entries[0]).toMatchObject({ ErrorCode: 'InvalidArgument' });
  });

  it('fails an entry that is not an object', () => {
    const { bus } = busWith();

    const result = bus.putEvents({ Entries: ['page.viewed'] });

    expect(result.Entries[0]).toMatchObject({ ErrorCode: 'InvalidArgument' });
  });

  it('validates each entry on its own and counts only the failed ones', () => {
    const { bus } = busWith();

    const result = bus.putEvents({
      Entries: [entry(), entry({ Detail: 'not json' }), entry(), entry({ Source: undefined })],
    });

    expect(result.FailedEntryCount).toBe(2);
    expect(result.Entries.map((e) => ('EventId' in e ? 'ok' : e.ErrorCode))).toEqual([
      'ok',
      'MalformedDetail',
      'ok',
      'InvalidArgument',
    ]);
  });

  it('accepts the bus by ARN', async () => {
    const { bus, delivered } = busWith();

    const result = bus.putEvents({ Entries: [entry({ EventBusName: BUS_ARN })] });
    await bus.drain();

    expect(result.FailedEntryCount).toBe(0);
    expect(delivered.map((d) => d.rule.name)).toEqual(['all-tracking']);
  });

  it.each([
    ['more than 10 entries', Array.from({ length: 11 }, () => entry())],
    ['no entries', []],
    ['Entries that are not a list', entry()],
  ])('rejects a request with %s as a ValidationException', (_what, Entries) => {
    const { bus, delivered } = busWith();

    const error = serviceErrorOf(() => bus.putEvents({ Entries }));

    expect(error).toMatchObject({ type: 'ValidationException', statusCode: 400 });
    expect(delivered).toEqual([]);
  });

  it('accepts exactly 10 entries', () => {
    const { bus } = busWith();

    const result = bus.putEvents({ Entries: Array.from({ length: 10 }, () => entry()) });

    expect(result.FailedEntryCount).toBe(0);
  });
});

describe('the event a target receives', () => {
  it('wraps the entry in the EventBridge envelope', async () => {
    const { bus, delivered } = busWith();

    const { Entries } = bus.putEvents({ Entries: [entry({ Resources: ['arn:aws:dynamodb:x'] })] });
    await bus.drain();

    expect(delivered[0]?.event).toEqual({
      version: '0',
      id: Entries[0]?.EventId,
      'detail-type': 'page.viewed',
      source: 'nurture.tracking',
      account: ACCOUNT,
      time: expect.stringMatching(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/),
      region: REGION,
      resources: ['arn:aws:dynamodb:x'],
      detail: { profileId: 'p-1', url: '/pricing' },
    });
  });

  it('honours the entry Time, in seconds since the epoch, without milliseconds', async () => {
    const { bus, delivered } = busWith();

    bus.putEvents({ Entries: [entry({ Time: 1_700_000_000.789 })] });
    await bus.drain();

    expect(delivered[0]?.event.time).toBe('2023-11-14T22:13:20Z');
  });

  it('sends the whole event as JSON to a target without input settings', async () => {
    const { bus, delivered } = busWith();

    bus.putEvents({ Entries: [entry()] });
    await bus.drain();

    const [delivery] = delivered;
    expect(delivery && JSON.parse(delivery.payload)).toEqual(delivery?.event);
  });
});

describe('routing', () => {
  it('delivers only to enabled rules on the same bus whose pattern matches', async () => {
    const { bus, delivered } = busWith({
      rules: [
        rule('matching'),
        rule('disabled', { enabled: false }),
        rule('default-bus', { eventBusName: 'default' }),
        rule('other-source', { match: { source: ['nurture.messaging'] } }),
        rule('by-detail', { match: { detail: { url: [{ prefix: '/pri' }] } } }),
      ],
    });

    bus.putEvents({ Entries: [entry()] });
    await bus.drain();

    expect(delivered.map((d) => d.rule.name).sort()).toEqual(['by-detail', 'matching']);
  });

  it('routes an entry without EventBusName to the default bus', async () => {
    const { bus, delivered } = busWith({
      rules: [rule('custom'), rule('default-bus', { eventBusName: 'default' })],
    });

    bus.putEvents({ Entries: [entry({ EventBusName: undefined })] });
    await bus.drain();

    expect(delivered.map((d) => d.rule.name)).toEqual(['default-bus']);
  });

  it('delivers to every target of a matching rule', async () => {
    const targets: RuleTarget[] = [
      { id: 'Queue', arn: 'arn:aws:sqs:us-east-1:000000000000:a' },
      { id: 'Function', arn: 'arn:aws:lambda:us-east-1:000000000000:function:b' },
    ];
    const { bus, delivered } = busWith({ rules: [rule('fan-out', { targets })] });

    bus.putEvents({ Entries: [entry()] });
    await bus.drain();

    expect(delivered.map((d) => d.target.id).sort()).toEqual(['Function', 'Queue']);
  });

  it('does not deliver a failed entry', async () => {
    const { bus, delivered } = busWith();

    bus.putEvents({ Entries: [entry({ Detail: '[]' })] });
    await bus.drain();

    expect(delivered).toEqual([]);
  });

  it('archives events on the archive bus that match the archive pattern', async () => {
    const everything: BusArchive = { name: 'all', eventBusName: BUS };
    const trackingOnly: BusArchive = {
      name: 'tracking',
      eventBusName: BUS,
      pattern: parseEventPattern({ source: ['nurture.tracking'] }),
    };
    const messagingOnly: BusArchive = {
      name: 'messaging',
      eventBusName: BUS,
      pattern: parseEventPattern({ source: ['nurture.messaging'] }),
    };
    const otherBus: BusArchive = { name: 'default-archive', eventBusName: 'default' };
    const { bus, archived } = busWith({ archives: [everything, trackingOnly, messagingOnly, otherBus] });

    bus.putEvents({ Entries: [entry()] });

    expect(archived.map((a) => a.archive.name)).toEqual(['all', 'tracking']);
    expect(archived[0]?.event).toMatchObject({ source: 'nurture.tracking', detail: { profileId: 'p-1' } });
  });
});

describe('delivery retries', () => {
  it('retries a failing delivery and reports nothing once it succeeds', async () => {
    let attempts = 0;
    const { bus, undeliverable } = busWith({
      deliver: async () => {
        attempts++;
        if (attempts < 3) throw new Error('queue unavailable');
      },
    });

    bus.putEvents({ Entries: [entry()] });
    await bus.drain();

    expect(attempts).toBe(3);
    expect(undeliverable).toEqual([]);
  });

  it('reports a delivery undeliverable after the last attempt fails', async () => {
    let attempts = 0;
    const failure = new Error('queue unavailable');
    const { bus, undeliverable } = busWith({
      maxAttempts: 4,
      deliver: async () => {
        attempts++;
        throw failure;
      },
    });

    bus.putEvents({ Entries: [entry()] });
    await bus.drain();

    expect(attempts).toBe(4);
    expect(undeliverable).toHaveLength(1);
    expect(undeliverable[0]).toMatchObject({ error: failure, delivery: { rule: { name: 'all-tracking' } } });
  });

  it('tries three times by default', async () => {
    let attempts = 0;
    const { bus, undeliverable } = busWith({
      deliver: async () => {
        attempts++;
        throw new Error('down');
      },
    });

    bus.putEvents({ Entries: [entry()] });
    await bus.drain();

    expect(attempts).toBe(3);
    expect(undeliverable).toHaveLength(1);
  });

  it('reports a target whose input cannot be built as undeliverable without calling it', async () => {
    const target: RuleTarget = {
      id: 'Broken',
      arn: 'arn:aws:sqs:us-east-1:000000000000:q',
      inputPath: 'detail',
    };
    const { bus, delivered, undeliverable } = busWith({ rules: [rule('broken', { targets: [target] })] });

    bus.putEvents({ Entries: [entry()] });
    await bus.drain();

    expect(delivered).toEqual([]);
    expect(undeliverable).toHaveLength(1);
    expect(undeliverable[0]?.delivery.target.id).toBe('Broken');
  });

  it('drains: resolves only once every started delivery has finished', async () => {
    const finished: string[] = [];
    const { bus } = busWith({
      deliver: async ({ event }) => {
        await new Promise((resolve) => setTimeout(resolve, 20));
        finished.push(event.id);
      },
    });

    const { Entries } = bus.putEvents({ Entries: [entry(), entry()] });
    const finishedBeforeDrain = [...finished];
    await bus.drain();

    expect(finishedBeforeDrain).toEqual([]);
    expect(finished.sort()).toEqual(Entries.map((e) => e.EventId).sort());
  });
});

describe('TestEventPattern', () => {
  const testEvent = (overrides: Record<string, unknown> = {}): string =>
    JSON.stringify({ ...sampleEvent, ...overrides });

  it('answers true for an event the pattern matches', () => {
    const { bus } = busWith();

    const result = bus.testEventPattern({
      EventPattern: JSON.stringify({
        source: ['nurture.messaging'],
        detail: { link: { url: [{ prefix: 'https://' }] } },
      }),
      Event: testEvent(),
    });

    expect(result).toEqual({ Result: true });
  });

  it('answers false for an event the pattern does not match', () => {
    const { bus } = busWith();

    const result = bus.testEventPattern({
      EventPattern: JSON.stringify({ source: ['nurture.tracking'] }),
      Event: testEvent(),
    });

    expect(result).toEqual({ Result: false });
  });

  it.each(['id', 'account', 'source', 'time', 'region', 'detail-type'])(
    'rejects an event without the required field %s',
    (field) => {
      const { bus } = busWith();
      const event = Object.fromEntries(Object.entries(sampleEvent).filter(([key]) => key !== field));

      const error = serviceErrorOf(() =>
        bus.testEventPattern({
          EventPattern: '{"source":["nurture.messaging"]}',
          Event: JSON.stringify(event),
        }),
      );

      expect(error).toMatchObject({
        type: 'InvalidEventPatternException',
        message: `Event is missing the required field ${field}`,
      });
    },
  );

  it('rejects an event without the required field resources', () => {
    const { bus } = busWith();
    const event = Object.fromEntries(Object.entries(sampleEvent).filter(([key]) => key !== 'resources'));

    const error = serviceErrorOf(() =>
      bus.testEventPattern({
        EventPattern: '{"source":["nurture.messaging"]}',
        Event: JSON.stringify(event),
      }),
    );

    expect(error.type).toBe('InvalidEventPatternException');
  });

  it.each([
    ['an empty pattern', '{}'],
    ['a pattern whose values are not lists', '{"source":"nurture.messaging"}'],
    ['a pattern that is not JSON', '{source:'],
  ])('rejects %s as an InvalidEventPatternException', (_what, EventPattern) => {
    const { bus } = busWith();

    const error = serviceErrorOf(() => bus.testEventPattern({ EventPattern, Event: testEvent() }));

    expect(error.type).toBe('InvalidEventPatternException');
  });

  it.each([
    ['not JSON', '{"id":'],
    ['a list', '[]'],
  ])('rejects an event that is %s', (_what, Event) => {
    const { bus } = busWith();

    const error = serviceErrorOf(() => bus.testEventPattern({ EventPattern: '{"source":["x"]}', Event }));

    expect(error.type).toBe('InvalidEventPatternException');
  });

  it('rejects a request without an EventPattern as a ValidationException', () => {
    const { bus } = busWith();

    const error = serviceErrorOf(() => bus.testEventPattern({ Event: testEvent() }));

    expect(error).toMatchObject({
      type: 'ValidationException',
      message: expect.stringContaining('EventPattern'),
    });
  });
});

describe('target payloads', () => {
  const clickRule = rule('clicks', { match: { source: ['nurture.messaging'] } });
  const target = (settings: Partial<RuleTarget>): RuleTarget => ({
    id: 'Target0',
    arn: 'arn:aws:sqs:us-east-1:000000000000:clicks',
    ...settings,
  });

  it('sends the whole event as JSON when the target has no input settings', () => {
    expect(JSON.parse(targetPayload(clickRule, target({}), sampleEvent))).toEqual(sampleEvent);
  });

  it('sends a constant Input exactly as written', () => {
    expect(targetPayload(clickRule, target({ input: '{"job":"rollup"}' }), sampleEvent)).toBe(
      '{"job":"rollup"}',
    );
  });

  it('sends the part of the event an InputPath selects', () => {
    const payload = targetPayload(clickRule, target({ inputPath: '$.detail.link' }), sampleEvent);

    expect(JSON.parse(payload)).toEqual({ url: 'https://example.com/offer' });
  });

  it('sends null when the InputPath selects nothing', () => {
    expect(targetPayload(clickRule, target({ inputPath: '$.detail.missing' }), sampleEvent)).toBe('null');
  });

  it('fills an InputTransformer template from the event and the rule', () => {
    const payload = targetPayload(
      clickRule,
      target({
        inputTransformer: {
          inputPathsMap: { profile: '$.detail.profileId', url: '$.detail.link.url' },
          inputTemplate: '{"profile": <profile>, "url": <url>, "rule": <aws.events.rule-name>}',
        },
      }),
      sampleEvent,
    );

    expect(JSON.parse(payload)).toEqual({ profile: 'p-7', url: 'https://example.com/offer', rule: 'clicks' });
  });

  it('prefers a constant Input over an InputPath', () => {
    const payload = targetPayload(
      clickRule,
      target({ input: '"fixed"', inputPath: '$.detail' }),
      sampleEvent,
    );

    expect(payload).toBe('"fixed"');
  });
});
