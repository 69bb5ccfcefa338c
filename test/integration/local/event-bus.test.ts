import { EventBridgeClient, PutEventsCommand, TestEventPatternCommand } from '@aws-sdk/client-eventbridge';
import { CreateQueueCommand, ReceiveMessageCommand, SendMessageCommand } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LOCAL_CREDENTIALS } from '../../../lib/local/emulators.ts';
import { type BusRule, type Delivery, LocalEventBus } from '../../../lib/local/event-bus.ts';
import { parseEventPattern } from '../../../lib/local/event-pattern.ts';
import { sqs, uniqueName } from '../clients.ts';

const queueName = uniqueName('bus-target');
let queueUrl = '';
let bus: LocalEventBus;
let events: EventBridgeClient;
const undeliverable: Delivery[] = [];

function rule(name: string, pattern: object, target: Partial<BusRule['targets'][number]>): BusRule {
  return {
    name,
    arn: `arn:aws:events:us-east-1:000000000000:rule/nurture-test/${name}`,
    eventBusName: 'nurture-test',
    pattern: parseEventPattern(pattern),
    patternText: JSON.stringify(pattern),
    enabled: true,
    targets: [{ id: 't1', arn: `arn:aws:sqs:us-east-1:000000000000:${queueName}`, ...target }],
  };
}

beforeAll(async () => {
  queueUrl = (await sqs.send(new CreateQueueCommand({ QueueName: queueName }))).QueueUrl ?? '';
  bus = new LocalEventBus({
    region: 'us-east-1',
    accountId: '000000000000',
    buses: ['nurture-test'],
    rules: [
      rule('raw', { source: ['nurture.test'], 'detail-type': ['raw.sent'] }, {}),
      rule(
        'transformed',
        { source: ['nurture.test'], detail: { plan: [{ prefix: 'pro' }] } },
        {
          inputTransformer: {
            inputPathsMap: { profile: '$.detail.profileId', plan: '$.detail.plan' },
            inputTemplate: '{"profile": <profile>, "plan": <plan>, "rule": <aws.events.rule-name>}',
          },
        },
      ),
      rule(
        'broken-target',
        { source: ['nurture.test'], 'detail-type': ['broken'] },
        { arn: 'arn:aws:sqs:x:y:z' },
      ),
    ],
    deliver: async ({ target, payload }) => {
      if (!target.arn.endsWith(queueName)) throw new Error('no such target');
      await sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: payload }));
    },
    onUndeliverable: (delivery) => undeliverable.push(delivery),
    retryDelayMs: 10,
  });
  const url = await bus.start(0);
  events = new EventBridgeClient({ region: 'us-east-1', credentials: LOCAL_CREDENTIALS, endpoint: url });
});

afterAll(async () => {
  await bus.stop();
});

async function receiveAll(): Promise<unknown[]> {
  const { Messages } = await sqs.send(
    new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1 }),
  );
  return (Messages ?? []).map((m) => JSON.parse(m.Body ?? 'null'));
}

describe('local EventBridge bus', () => {
  it('accepts PutEvents from the real SDK and delivers the event to the matching rule target', async () => {
    const result = await events.send(
      new PutEventsCommand({
        Entries: [
          { EventBusName: 'nurture-test', Source: 'nurture.test', DetailType: 'raw.sent', Detail: '{"n":1}' },
        ],
      }),
    );
    await bus.drain();
    const [delivered] = await receiveAll();

    expect(result.FailedEntryCount).toBe(0);
    expect(delivered).toMatchObject({
      version: '0',
      id: result.Entries?.[0]?.EventId,
      'detail-type': 'raw.sent',
      source: 'nurture.test',
      account: '000000000000',
      region: 'us-east-1',
      detail: { n: 1 },
    });
  });

  it('applies the target input transformer', async () => {
    await events.send(
      new PutEventsCommand({
        Entries: [
          {
            EventBusName: 'arn:aws:events:us-east-1:000000000000:event-bus/nurture-test',
            Source: 'nurture.test',
            DetailType: 'plan.changed',
            Detail: JSON.stringify({ profileId: 'p-9', plan: 'pro-annual' }),
          },
        ],
      }),
    );
    await bus.drain();

    expect(await receiveAll()).toEqual([{ profile: 'p-9', plan: 'pro-annual', rule: 'transformed' }]);
  });

  it('rejects a malformed entry alone and still delivers the valid ones of the same call', async () => {
    const result = await events.send(
      new PutEventsCommand({
        Entries: [
          {
            EventBusName: 'nurture-test',
            Source: 'nurture.test',
            DetailType: 'raw.sent',
            Detail: '{not json',
          },
          { EventBusName: 'nurture-test', Source: 'nurture.test', DetailType: 'raw.sent', Detail: '{"n":2}' },
          { EventBusName: 'nowhere', Source: 'nurture.test', DetailType: 'raw.sent', Detail: '{}' },
        ],
      }),
    );
    await bus.drain();

    expect(result.FailedEntryCount).toBe(2);
    expect(result.Entries?.[0]?.ErrorCode).toBe('MalformedDetail');
    expect(result.Entries?.[1]?.EventId).toBeTypeOf('string');
    expect(result.Entries?.[2]?.ErrorCode).toBe('NotFoundException');
    expect(await receiveAll()).toMatchObject([{ detail: { n: 2 } }]);
  });

  it('does not deliver events that match no rule', async () => {
    await events.send(
      new PutEventsCommand({
        Entries: [
          { EventBusName: 'nurture-test', Source: 'other.app', DetailType: 'raw.sent', Detail: '{}' },
        ],
      }),
    );
    await bus.drain();

    expect(await receiveAll()).toEqual([]);
  });

  it('retries a failing target and then reports the event as undeliverable', async () => {
    await events.send(
      new PutEventsCommand({
        Entries: [
          { EventBusName: 'nurture-test', Source: 'nurture.test', DetailType: 'broken', Detail: '{}' },
        ],
      }),
    );
    await bus.drain();

    expect(undeliverable.map((d) => d.rule.name)).toContain('broken-target');
  });

  it('answers TestEventPattern through the real SDK with the matcher decision', async () => {
    const event = JSON.stringify({
      id: '1',
      account: '000000000000',
      source: 'nurture.journeys',
      time: '2026-11-22T10:00:00Z',
      region: 'us-east-1',
      'detail-type': 'journey.step_due',
      resources: [],
      detail: { score: 42 },
    });

    const matching = await events.send(
      new TestEventPatternCommand({
        Event: event,
        EventPattern: '{"detail":{"score":[{"numeric":[">",40]}]}}',
      }),
    );
    const notMatching = await events.send(
      new TestEventPatternCommand({
        Event: event,
        EventPattern: '{"detail":{"score":[{"numeric":["<",40]}]}}',
      }),
    );

    expect(matching.Result).toBe(true);
    expect(notMatching.Result).toBe(false);
  });

  it('rejects an invalid pattern in TestEventPattern with InvalidEventPatternException', async () => {
    const call = events.send(
      new TestEventPatternCommand({
        Event: '{"id":"1","account":"1","source":"s","time":"t","region":"r","detail-type":"d"}',
        EventPattern: '{"source":"not-an-array"}',
      }),
    );

    await expect(call).rejects.toMatchObject({ name: 'InvalidEventPatternException' });
  });
});
