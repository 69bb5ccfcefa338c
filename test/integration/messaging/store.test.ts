// The messaging store on DynamoDB Local through the real AWS SDK: messages and statistics, addresses, templates.
import { randomUUID } from 'node:crypto';
import { QueryCommand } from '@aws-sdk/client-dynamodb';
import { beforeAll, describe, expect, it } from 'vitest';
import { DynamoDbMessagingStore } from '../../../functions/messaging/dynamodb-store.ts';
import {
  applyFeedback,
  type MessageRecord,
  newMessageRecord,
  recordAccepted,
  recordIntent,
} from '../../../functions/messaging/lifecycle.ts';
import type { MessageOrigin, TemplateVersion } from '../../../functions/messaging/model.ts';
import { MessageVersionConflictError } from '../../../functions/messaging/store.ts';
import { createProfileStoreTable, dynamodb, uniqueName } from '../clients.ts';

const tableName = uniqueName('messaging');
let now = new Date('2024-06-10T12:00:00.000Z');
const store = new DynamoDbMessagingStore({
  client: dynamodb,
  tableName,
  messageRetentionDays: 30,
  now: () => now,
});

beforeAll(async () => {
  await createProfileStoreTable(tableName);
});

// Fixtures ------------------------------------------------------------------------------------------------------

const unique = (prefix: string) => `${prefix}-${randomUUID().slice(0, 8)}`;

function message(
  overrides: {
    messageId?: string;
    profileId?: string;
    templateId?: string;
    createdAt?: string;
    origin?: Partial<MessageOrigin>;
  } = {},
): MessageRecord {
  return newMessageRecord({
    messageId: overrides.messageId ?? unique('msg'),
    profileId: overrides.profileId ?? unique('prof'),
    templateId: overrides.templateId ?? unique('tpl'),
    templateVersion: null,
    idempotencyKey: randomUUID(),
    origin: {
      journeyId: 'onboarding',
      stepId: 'welcome-email',
      variant: 'A',
      campaign: null,
      run: null,
      ...overrides.origin,
    },
    toOverride: null,
    test: false,
    createdAt: overrides.createdAt ?? '2024-06-10T12:00:00.000Z',
  });
}

function intentOf(record: MessageRecord): MessageRecord {
  return recordIntent(record, {
    at: '2024-06-10T12:00:01.000Z',
    recipientHash: 'hash-1',
    topic: 'marketing',
    templateVersion: 1,
    subject: 'Welcome',
  });
}

function acceptedOf(record: MessageRecord): { record: MessageRecord; counters: { sent?: number } } {
  const transition = recordAccepted(record, { at: '2024-06-10T12:00:02.000Z', sesMessageId: 'ses-1' });
  if (transition === null) throw new Error('expected SES acceptance to change the record');
  return transition;
}

/** Creates a message and takes it through intent and SES acceptance, counting `sent` once. */
async function sendThrough(record: MessageRecord): Promise<MessageRecord> {
  await store.createMessage(record);
  const sending = intentOf(record);
  await store.saveTransition(sending, record.version, {});
  const sent = acceptedOf(sending);
  await store.saveTransition(sent.record, sending.version, sent.counters);
  return sent.record;
}

function compiled(subject: string): Omit<TemplateVersion, 'templateId' | 'version' | 'createdAt'> {
  return {
    subject,
    html: `<p>${subject}, {{ traits.firstName }}</p>`,
    text: `${subject}, {{ traits.firstName }}`,
    preheader: 'Preview',
    topic: 'marketing',
    mjml: null,
  };
}

// Messages ------------------------------------------------------------------------------------------------------

describe('messages in DynamoDB', () => {
  it('creates a message once and answers a repeat with the stored record', async () => {
    const record = message();

    const first = await store.createMessage(record);
    const repeat = await store.createMessage({ ...record, status: 'skipped', reason: 'unsubscribed' });

    expect(first).toEqual({ created: true, record });
    expect(repeat).toEqual({ created: false, record });
    expect(await store.getMessage(record.request.messageId)).toEqual(record);
  });

  it('answers undefined for a message that does not exist', async () => {
    expect(await store.getMessage(unique('msg-missing'))).toBeUndefined();
  });

  it('saves a transition at the version read and adds its statistics once', async () => {
    const record = message();

    const sent = await sendThrough(record);

    expect(await store.getMessage(record.request.messageId)).toEqual(sent);
    expect(await store.stats(record.request.templateId)).toEqual([
      { journeyId: 'onboarding', stepId: 'welcome-email', variant: 'A', counters: { sent: 1 } },
    ]);
  });

  it('rejects a transition from a stale version and counts nothing for it', async () => {
    const record = message();
    const sent = await sendThrough(record);
    const staleIntent = intentOf(record);
    const staleAccept = acceptedOf(staleIntent);

    // With statistics (a transaction) and without (a single conditional put).
    await expect(
      store.saveTransition(staleAccept.record, staleIntent.version, staleAccept.counters),
    ).rejects.toBeInstanceOf(MessageVersionConflictError);
    await expect(store.saveTransition(staleIntent, record.version, {})).rejects.toBeInstanceOf(
      MessageVersionConflictError,
    );

    expect(await store.getMessage(record.request.messageId)).toEqual(sent);
    expect((await store.stats(record.request.templateId))[0]?.counters).toEqual({ sent: 1 });
  });

  it('treats a transition of a message that was never created as a conflict', async () => {
    const record = message();

    await expect(store.saveTransition(intentOf(record), record.version, {})).rejects.toBeInstanceOf(
      MessageVersionConflictError,
    );
    expect(await store.getMessage(record.request.messageId)).toBeUndefined();
  });

  it('adds the statistics of every successful transition exactly once', async () => {
    const record = message();
    const sent = await sendThrough(record);
    const delivered = applyFeedback(sent, { type: 'delivery', at: '2024-06-10T12:00:05.000Z' });
    if (delivered === null) throw new Error('expected the delivery to change the record');

    await store.saveTransition(delivered.record, sent.version, delivered.counters);
    await expect(
      store.saveTransition(delivered.record, sent.version, delivered.counters),
    ).rejects.toBeInstanceOf(MessageVersionConflictError);

    expect((await store.stats(record.request.templateId))[0]?.counters).toEqual({ sent: 1, delivered: 1 });
  });

  it('lists a profile’s messages newest first, up to the limit', async () => {
    const profileId = unique('prof');
    const oldest = message({ profileId, createdAt: '2024-06-01T00:00:00.000Z' });
    const middle = message({ profileId, createdAt: '2024-06-05T00:00:00.000Z' });
    const newest = message({ profileId, createdAt: '2024-06-09T00:00:00.000Z' });
    for (const record of [middle, newest, oldest, message()]) await store.createMessage(record);

    const all = await store.listByProfile(profileId, 10);
    const latestTwo = await store.listByProfile(profileId, 2);

    expect(all.map((r) => r.request.messageId)).toEqual(
      [newest, middle, oldest].map((r) => r.request.messageId),
    );
    expect(latestTwo).toEqual([newest, middle]);
  });

  it('lists a profile’s messages created at or after a time, for frequency caps', async () => {
    const profileId = unique('prof');
    const before = message({ profileId, createdAt: '2024-06-09T11:59:59.999Z' });
    const atSince = message({ profileId, createdAt: '2024-06-09T12:00:00.000Z' });
    const after = message({ profileId, createdAt: '2024-06-10T08:00:00.000Z' });
    for (const record of [before, atSince, after]) await store.createMessage(record);

    const recent = await store.listSince(profileId, '2024-06-09T12:00:00.000Z');

    expect(recent.map((r) => r.request.messageId)).toEqual([after, atSince].map((r) => r.request.messageId));
  });

  it('keeps a message for the retention period after it was created', async () => {
    const record = message({ createdAt: '2024-06-10T00:00:00.000Z' });
    await store.createMessage(record);

    const { Items } = await dynamodb.send(
      new QueryCommand({
        TableName: tableName,
        KeyConditionExpression: 'pk = :pk',
        ExpressionAttributeValues: { ':pk': { S: `MESSAGE#${record.request.messageId}` } },
      }),
    );

    expect(Items?.[0]?.expiresAt?.N).toBe(String(Date.parse('2024-07-10T00:00:00.000Z') / 1000));
  });
});

describe('message statistics in DynamoDB', () => {
  it('sums the shards of each journey, step and variant', async () => {
    const templateId = unique('tpl');
    const variantA = Array.from({ length: 12 }, () => message({ templateId }));
    const variantB = Array.from({ length: 3 }, () => message({ templateId, origin: { variant: 'B' } }));
    const oneOff = Array.from({ length: 2 }, () =>
      message({ templateId, origin: { journeyId: null, stepId: null, variant: null } }),
    );

    for (const record of [...variantA, ...variantB, ...oneOff]) await sendThrough(record);
    const stats = await store.stats(templateId);

    expect(stats).toHaveLength(3);
    expect(stats).toEqual(
      expect.arrayContaining([
        { journeyId: 'onboarding', stepId: 'welcome-email', variant: 'A', counters: { sent: 12 } },
        { journeyId: 'onboarding', stepId: 'welcome-email', variant: 'B', counters: { sent: 3 } },
        { journeyId: null, stepId: null, variant: null, counters: { sent: 2 } },
      ]),
    );
    // The twelve A messages are spread over several items; the sum above is over all of them.
    const { Items } = await dynamodb.send(
      new QueryCommand({
        TableName: tableName,
        KeyConditionExpression: 'pk = :pk',
        ExpressionAttributeValues: { ':pk': { S: `MSGSTATS#${templateId}` } },
      }),
    );
    expect(Items?.length ?? 0).toBeGreaterThan(3);
  });

  it('keeps journey, step and variant names that contain the separator apart', async () => {
    const templateId = unique('tpl');
    const record = message({
      templateId,
      origin: { journeyId: 'spring#2024', stepId: 'step 1/2', variant: 'B%' },
    });

    await sendThrough(record);

    expect(await store.stats(templateId)).toEqual([
      { journeyId: 'spring#2024', stepId: 'step 1/2', variant: 'B%', counters: { sent: 1 } },
    ]);
  });

  it('has no statistics for a template that never sent', async () => {
    expect(await store.stats(unique('tpl-unused'))).toEqual([]);
  });
});

// Addresses -----------------------------------------------------------------------------------------------------

describe('address state in DynamoDB', () => {
  it('has no state for an address never seen', async () => {
    expect(await store.getAddress(unique('hash'))).toBeNull();
  });

  it('keeps the first suppression reason: a complaint after a bounce does not rewrite history', async () => {
    const addressHash = unique('hash');

    await store.suppress({ addressHash, reason: 'bounce', at: '2024-06-10T12:00:00.000Z' });
    await store.suppress({ addressHash, reason: 'complaint', at: '2024-06-11T12:00:00.000Z' });

    expect(await store.getAddress(addressHash)).toEqual({
      addressHash,
      suppressed: { reason: 'bounce', at: '2024-06-10T12:00:00.000Z' },
      unsubscribed: {},
      softBounces: 0,
    });
  });

  it('lifts a suppression once, after which a new reason can be recorded', async () => {
    const addressHash = unique('hash');
    await store.suppress({ addressHash, reason: 'bounce', at: '2024-06-10T12:00:00.000Z' });

    const lifted = await store.unsuppress(addressHash);
    const liftedAgain = await store.unsuppress(addressHash);
    await store.suppress({ addressHash, reason: 'manual', at: '2024-06-12T12:00:00.000Z' });

    expect([lifted, liftedAgain]).toEqual([true, false]);
    expect((await store.getAddress(addressHash))?.suppressed).toEqual({
      reason: 'manual',
      at: '2024-06-12T12:00:00.000Z',
    });
  });

  it('reports an unsubscribe as new only the first time, keeping its first time', async () => {
    const addressHash = unique('hash');

    const first = await store.unsubscribe({
      addressHash,
      topic: 'marketing',
      at: '2024-06-10T12:00:00.000Z',
    });
    const second = await store.unsubscribe({
      addressHash,
      topic: 'marketing',
      at: '2024-06-11T12:00:00.000Z',
    });
    const otherTopic = await store.unsubscribe({
      addressHash,
      topic: 'transactional',
      at: '2024-06-12T12:00:00.000Z',
    });

    expect([first, second, otherTopic]).toEqual([true, false, true]);
    expect((await store.getAddress(addressHash))?.unsubscribed).toEqual({
      marketing: '2024-06-10T12:00:00.000Z',
      transactional: '2024-06-12T12:00:00.000Z',
    });
  });

  it('resubscribes to one topic and leaves the others', async () => {
    const addressHash = unique('hash');
    await store.unsubscribe({ addressHash, topic: 'marketing', at: '2024-06-10T12:00:00.000Z' });
    await store.unsubscribe({ addressHash, topic: 'transactional', at: '2024-06-10T12:00:00.000Z' });

    await store.resubscribe({ addressHash, topic: 'marketing' });

    expect((await store.getAddress(addressHash))?.unsubscribed).toEqual({
      transactional: '2024-06-10T12:00:00.000Z',
    });
    expect(await store.unsubscribe({ addressHash, topic: 'marketing', at: '2024-06-13T00:00:00.000Z' })).toBe(
      true,
    );
  });

  it('counts soft bounces beside the rest of the address state', async () => {
    const addressHash = unique('hash');
    await store.addSoftBounce(addressHash);
    await store.suppress({ addressHash, reason: 'complaint', at: '2024-06-10T12:00:00.000Z' });

    await store.addSoftBounce(addressHash);

    expect(await store.getAddress(addressHash)).toMatchObject({
      softBounces: 2,
      suppressed: { reason: 'complaint' },
    });
  });
});

// Templates -----------------------------------------------------------------------------------------------------

describe('templates in DynamoDB', () => {
  it('numbers versions from 1 and serves the newest when no version is asked for', async () => {
    const templateId = unique('tpl');

    const v1 = await store.putVersion(templateId, compiled('Hello'));
    const v2 = await store.putVersion(templateId, compiled('Hello again'));
    const v3 = await store.putVersion(templateId, compiled('Hello, third time'));

    expect([v1.version, v2.version, v3.version]).toEqual([1, 2, 3]);
    expect(await store.getVersion(templateId, null)).toEqual(v3);
    expect(await store.getVersion(templateId, 1)).toEqual(v1);
    expect(await store.getVersion(templateId, 4)).toBeUndefined();
  });

  it('serves nothing for a template that does not exist', async () => {
    const templateId = unique('tpl-missing');

    expect(await store.getVersion(templateId, null)).toBeUndefined();
    expect(await store.get(templateId)).toBeUndefined();
  });

  it('summarises a template by its newest version and keeps when it was first created', async () => {
    const templateId = unique('tpl');
    now = new Date('2024-06-01T09:00:00.000Z');
    await store.putVersion(templateId, compiled('Draft'));
    now = new Date('2024-06-02T09:00:00.000Z');
    await store.putVersion(templateId, { ...compiled('Final'), topic: 'transactional' });

    expect(await store.get(templateId)).toEqual({
      templateId,
      latestVersion: 2,
      subject: 'Final',
      topic: 'transactional',
      createdAt: '2024-06-01T09:00:00.000Z',
      updatedAt: '2024-06-02T09:00:00.000Z',
    });
  });

  it('lists the templates with their newest version', async () => {
    const welcome = unique('tpl-welcome');
    const newsletter = unique('tpl-newsletter');
    await store.putVersion(welcome, compiled('Welcome'));
    await store.putVersion(newsletter, compiled('News'));
    await store.putVersion(newsletter, compiled('News, corrected'));

    const listed = await store.list();

    expect(listed).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ templateId: welcome, latestVersion: 1, subject: 'Welcome' }),
        expect.objectContaining({ templateId: newsletter, latestVersion: 2, subject: 'News, corrected' }),
      ]),
    );
    expect(new Set(listed.map((t) => t.templateId)).size).toBe(listed.length);
  });
});
