// The sender: every queued message is sent exactly once, or skipped or failed with a recorded reason.
import { describe, expect, it } from 'vitest';
import { addressHash } from '../../../functions/messaging/address.ts';
import {
  applyFeedback,
  type MessageRecord,
  newMessageRecord,
  type SesFeedback,
} from '../../../functions/messaging/lifecycle.ts';
import type { MessageRequest, Topic } from '../../../functions/messaging/model.ts';
import { DEFAULT_CONSENT_POLICY } from '../../../functions/messaging/policy.ts';
import {
  applyTransition,
  type EmailGateway,
  EmailSendError,
  EmailSender,
  type MessageRendererPort,
  type OutgoingEmail,
  type Recipient,
  type SenderSettings,
} from '../../../functions/messaging/sender.ts';
import { MessageVersionConflictError } from '../../../functions/messaging/store.ts';
import { InMemoryMessagingStore } from './support/in-memory-stores.ts';

// Fixtures ------------------------------------------------------------------------------------------------------

const GRACE_SECONDS = 300;
const START = new Date('2024-06-10T12:00:00.000Z');
const EMAIL = 'jane.doe@example.com';
const TEMPLATE = 'welcome';

class Clock {
  current = START;
  readonly now = () => this.current;
  advance(seconds: number): void {
    this.current = new Date(this.current.getTime() + seconds * 1000);
  }
}

/**
 * What SES does with one SendEmail call: accept it, accept it but the answer is lost (a timeout), fail before
 * accepting with an unknown outcome, or refuse with a classified error.
 */
type SesBehaviour =
  | { readonly kind: 'accept' }
  | { readonly kind: 'accept-answer-lost' }
  | { readonly kind: 'unknown-not-accepted' }
  | { readonly kind: 'refuse'; readonly error: EmailSendError };

class FakeSes implements EmailGateway {
  readonly calls: OutgoingEmail[] = [];
  /** SES message ids of the calls SES accepted: each is an email in someone's inbox. */
  readonly accepted: string[] = [];
  /** Consulted for each call when nothing is scripted. */
  decide: () => SesBehaviour = () => ({ kind: 'accept' });
  /** Called when SES accepts a call: the property test queues SES's events about it here. */
  onAccept: (email: OutgoingEmail) => void = () => {};
  private readonly script: SesBehaviour[] = [];

  next(...behaviours: SesBehaviour[]): void {
    this.script.push(...behaviours);
  }

  async send(email: OutgoingEmail): Promise<{ sesMessageId: string }> {
    this.calls.push(email);
    const behaviour = this.script.shift() ?? this.decide();
    if (behaviour.kind === 'refuse') throw behaviour.error;
    if (behaviour.kind === 'unknown-not-accepted')
      throw new EmailSendError('unknown', 'TimeoutError', 'socket hang up before SES answered');
    const sesMessageId = `ses-${this.calls.length}`;
    this.accepted.push(sesMessageId);
    this.onAccept(email);
    if (behaviour.kind === 'accept-answer-lost')
      throw new EmailSendError('unknown', 'TimeoutError', 'SES accepted but the answer was lost');
    return { sesMessageId };
  }
}

const throttled = (): SesBehaviour => ({
  kind: 'refuse',
  error: new EmailSendError('throttled', 'TooManyRequestsException', 'Maximum sending rate exceeded.'),
});
const paused = (): SesBehaviour => ({
  kind: 'refuse',
  error: new EmailSendError('paused', 'SendingPausedException', 'Sending is paused for this account.'),
});
const rejected = (): SesBehaviour => ({
  kind: 'refuse',
  error: new EmailSendError(
    'permanent',
    'MessageRejected',
    'Email address is not verified. The following identities failed the check: jane.doe@example.com',
  ),
});

function recipient(overrides: Partial<Recipient> = {}): Recipient {
  return {
    profileId: 'prof-1',
    userId: 'user-1',
    email: EMAIL,
    traits: { firstName: 'Jane' },
    consent: null,
    ...overrides,
  };
}

interface SetupOptions {
  readonly recipient?: Recipient | null;
  readonly topic?: Topic;
  readonly settings?: Partial<SenderSettings>;
  readonly renderError?: Error;
  /** Journey runs that still run, as `journeyId:run`; undefined means the sender has no journey check. */
  readonly activeRuns?: Set<string>;
}

async function setup(options: SetupOptions = {}) {
  const clock = new Clock();
  const store = new InMemoryMessagingStore(clock.now);
  const ses = new FakeSes();
  const profile = options.recipient === undefined ? recipient() : options.recipient;
  const rendered: Array<Parameters<MessageRendererPort['render']>[0]> = [];
  await store.putVersion(TEMPLATE, {
    subject: 'Welcome, {{ traits.firstName }}',
    html: '<p>Hello {{ traits.firstName }}</p>',
    text: 'Hello {{ traits.firstName }}',
    preheader: '',
    topic: options.topic ?? 'marketing',
    mjml: null,
  });
  const sender = new EmailSender({
    messages: store,
    addresses: store,
    templates: store,
    recipients: {
      recipient: async (profileId) =>
        profile !== null && profile.profileId === profileId ? profile : undefined,
    },
    renderer: {
      render: async (input) => {
        rendered.push(input);
        if (options.renderError) throw options.renderError;
        return {
          subject: 'Welcome, Jane',
          html: '<p>Hello Jane</p>',
          text: 'Hello Jane',
          headers: [{ name: 'List-Unsubscribe-Post', value: 'List-Unsubscribe=One-Click' }],
          links: [],
          unsubscribeUrl: null,
        };
      },
    },
    email: ses,
    rateLimit: async () => {},
    settings: {
      frequencyCap: null,
      consentPolicy: DEFAULT_CONSENT_POLICY,
      confirmGraceSeconds: GRACE_SECONDS,
      utmSource: 'nurture',
      track: { opens: true, clicks: true },
      ...options.settings,
    },
    ...(options.activeRuns
      ? {
          journeys: {
            isRunActive: async ({ journeyId, run }: { journeyId: string; run: number }) =>
              options.activeRuns?.has(`${journeyId}:${run}`) ?? false,
          },
        }
      : {}),
    now: clock.now,
  });
  let sequence = 0;
  const enqueue = async (overrides: Partial<MessageRequest> = {}): Promise<string> => {
    sequence += 1;
    const messageId = overrides.messageId ?? `msg_${sequence}`;
    await store.createMessage(
      newMessageRecord({
        messageId,
        profileId: 'prof-1',
        templateId: TEMPLATE,
        templateVersion: null,
        idempotencyKey: `key-${messageId}`,
        origin: { journeyId: 'onboarding', stepId: 'welcome-email', variant: 'A', campaign: null, run: null },
        toOverride: null,
        test: false,
        createdAt: clock.now().toISOString(),
        ...overrides,
      }),
    );
    return messageId;
  };
  const record = async (messageId: string): Promise<MessageRecord> => {
    const found = await store.getMessage(messageId);
    if (found === undefined) throw new Error(`no message ${messageId}`);
    return found;
  };
  /** The template's statistics for the one journey step these tests send from. */
  const stats = async () => (await store.stats(TEMPLATE))[0]?.counters ?? {};
  /** SES's own event about the message, applied as the feedback function applies it. */
  const feedback = (messageId: string, event: SesFeedback) =>
    applyTransition(store, messageId, (current) => applyFeedback(current, event));
  return { clock, store, ses, sender, enqueue, record, stats, feedback, rendered };
}

const sendEvent = (sesMessageId: string, at: Date): SesFeedback => ({
  type: 'send',
  at: at.toISOString(),
  sesMessageId,
});

/** Deterministic pseudo-random numbers in [0, 1) (mulberry32), so a failing run can be replayed from its seed. */
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

// Sending -------------------------------------------------------------------------------------------------------

describe('sending a queued message', () => {
  it('sends it once through SES and records it as sent with the SES message id', async () => {
    const { sender, ses, enqueue, record, stats } = await setup();
    const id = await enqueue();

    const outcome = await sender.process(id);

    expect(outcome).toEqual({ kind: 'done', status: 'sent' });
    expect(ses.calls).toHaveLength(1);
    expect(ses.calls[0]).toMatchObject({ messageId: id, to: EMAIL, subject: 'Welcome, Jane' });
    expect(await record(id)).toMatchObject({
      status: 'sent',
      attempt: 1,
      sesMessageId: 'ses-1',
      sentAt: START.toISOString(),
      recipientHash: addressHash(EMAIL),
      topic: 'marketing',
      templateVersion: 1,
      subject: 'Welcome, Jane',
    });
    expect(await stats()).toEqual({ sent: 1 });
  });

  it('records the intent durably before SES is called, so a crash can be recognised', async () => {
    const { sender, ses, enqueue, record } = await setup();
    const id = await enqueue();
    const seenBySes: MessageRecord[] = [];
    const original = ses.send.bind(ses);
    ses.send = async (email) => {
      seenBySes.push(await record(id));
      return original(email);
    };

    await sender.process(id);

    expect(seenBySes).toHaveLength(1);
    expect(seenBySes[0]).toMatchObject({ status: 'sending', attempt: 1, intentAt: START.toISOString() });
  });

  it('does nothing when SQS redelivers a message that was already sent', async () => {
    const { sender, ses, enqueue, record, stats } = await setup();
    const id = await enqueue();
    await sender.process(id);
    const settled = await record(id);

    const outcome = await sender.process(id);

    expect(outcome).toEqual({ kind: 'done', status: 'sent' });
    expect(ses.calls).toHaveLength(1);
    expect(await record(id)).toEqual(settled);
    expect(await stats()).toEqual({ sent: 1 });
  });

  it('sends a test send to the override address and leaves the template statistics alone', async () => {
    const { sender, ses, enqueue, record, stats } = await setup();
    const id = await enqueue({ toOverride: ' Operator@Example.com ', test: true });

    await sender.process(id);

    expect(ses.calls[0]?.to).toBe('operator@example.com');
    expect((await record(id)).status).toBe('sent');
    expect(await stats()).toEqual({});
  });

  it('passes the profile, the campaign and the tracking settings to the renderer', async () => {
    const { sender, enqueue, rendered } = await setup();
    const id = await enqueue();

    await sender.process(id);

    expect(rendered[0]).toMatchObject({
      messageId: id,
      profileId: 'prof-1',
      recipient: EMAIL,
      campaign: 'onboarding',
      utmSource: 'nurture',
      track: { opens: true, clicks: true },
      context: {
        traits: { firstName: 'Jane' },
        profile: { id: 'prof-1', userId: 'user-1', email: EMAIL },
        message: { id },
      },
    });
  });
});

describe('a crash after SES accepted the message', () => {
  it('does not call SES again within the grace period when recording the outcome failed', async () => {
    const { clock, sender, ses, store, enqueue, record } = await setup();
    const id = await enqueue();
    store.failNextSaveOf('sent');
    await expect(sender.process(id)).rejects.toThrow('simulated crash');

    clock.advance(60);
    const outcome = await sender.process(id);

    expect(outcome).toMatchObject({ kind: 'retry', delaySeconds: GRACE_SECONDS - 60 });
    expect(ses.calls).toHaveLength(1);
    expect((await record(id)).status).toBe('sending');
  });

  it('waits the whole grace period when SES fails with an unknown outcome', async () => {
    const { clock, sender, ses, enqueue, record } = await setup();
    const id = await enqueue();
    ses.next({ kind: 'accept-answer-lost' });

    const first = await sender.process(id);
    clock.advance(GRACE_SECONDS - 1);
    const second = await sender.process(id);

    expect(first).toMatchObject({ kind: 'retry', delaySeconds: GRACE_SECONDS });
    expect(second).toMatchObject({ kind: 'retry', delaySeconds: 1 });
    expect(ses.calls).toHaveLength(1);
    expect((await record(id)).status).toBe('sending');
  });

  it('treats an unexpected gateway error like a lost answer and keeps the intent', async () => {
    const { sender, ses, enqueue, record } = await setup();
    const id = await enqueue();
    ses.send = async () => {
      throw new TypeError('fetch failed');
    };

    const outcome = await sender.process(id);

    expect(outcome).toMatchObject({ kind: 'retry', delaySeconds: GRACE_SECONDS });
    expect((await record(id)).status).toBe('sending');
  });

  it('settles the message as sent when SES’s Send event arrives, and never sends it again', async () => {
    const { clock, sender, ses, enqueue, record, stats, feedback } = await setup();
    const id = await enqueue();
    ses.next({ kind: 'accept-answer-lost' });
    await sender.process(id);

    await feedback(id, sendEvent('ses-1', clock.now()));
    clock.advance(GRACE_SECONDS * 2);
    const outcome = await sender.process(id);

    expect(outcome).toEqual({ kind: 'done', status: 'sent' });
    expect(ses.calls).toHaveLength(1);
    expect(await record(id)).toMatchObject({ status: 'sent', sesMessageId: 'ses-1', attempt: 1 });
    expect(await stats()).toEqual({ sent: 1 });
  });

  it('sends again exactly once when the grace period passes without a Send event', async () => {
    const { clock, sender, ses, store, enqueue, record, stats } = await setup();
    const id = await enqueue();
    store.failNextSaveOf('sent');
    await expect(sender.process(id)).rejects.toThrow();

    clock.advance(GRACE_SECONDS);
    const resent = await sender.process(id);
    const redelivered = await sender.process(id);

    expect(resent).toEqual({ kind: 'done', status: 'sent' });
    expect(redelivered).toEqual({ kind: 'done', status: 'sent' });
    expect(ses.calls).toHaveLength(2);
    expect(await record(id)).toMatchObject({ status: 'sent', attempt: 2, sesMessageId: 'ses-2' });
    expect(await stats()).toEqual({ sent: 1 });
  });

  it('counts the message once when the first attempt’s Send event arrives after the resend', async () => {
    const { clock, sender, ses, enqueue, record, stats, feedback } = await setup();
    const id = await enqueue();
    ses.next({ kind: 'accept-answer-lost' });
    await sender.process(id);
    clock.advance(GRACE_SECONDS);
    await sender.process(id);

    await feedback(id, sendEvent('ses-1', START));

    expect(await record(id)).toMatchObject({ status: 'sent', sesMessageId: 'ses-2' });
    expect(await stats()).toEqual({ sent: 1 });
  });

  it('does not send again after a throttled resend when the first attempt’s Send event has arrived', async () => {
    const { clock, sender, ses, enqueue, record, stats, feedback } = await setup();
    const id = await enqueue();
    ses.next({ kind: 'accept-answer-lost' }, throttled());
    await sender.process(id);
    clock.advance(GRACE_SECONDS);
    await sender.process(id);

    await feedback(id, sendEvent('ses-1', START));
    const outcome = await sender.process(id);

    expect(outcome).toEqual({ kind: 'done', status: 'sent' });
    expect(ses.accepted).toEqual(['ses-1']);
    expect(await record(id)).toMatchObject({ status: 'sent', sesMessageId: 'ses-1' });
    expect(await stats()).toEqual({ sent: 1 });
  });
});

describe('SES throttling', () => {
  it('releases the intent so the message waits in the queue, and asks for a backoff retry', async () => {
    const { sender, ses, enqueue, record, stats } = await setup();
    const id = await enqueue();
    ses.next(throttled());

    const outcome = await sender.process(id);

    expect(outcome).toEqual({
      kind: 'retry',
      delaySeconds: 2,
      reason: 'TooManyRequestsException',
      backoff: true,
    });
    expect(await record(id)).toMatchObject({ status: 'queued', intentAt: null, attempt: 1 });
    expect((await record(id)).history.at(-1)?.note).toBe('TooManyRequestsException');
    expect(await stats()).toEqual({});
  });

  it('sends the throttled message on a later delivery, so no message is lost', async () => {
    const { clock, sender, ses, enqueue, record, stats } = await setup();
    const id = await enqueue();
    ses.next(throttled(), throttled());
    await sender.process(id);
    await sender.process(id);

    clock.advance(4);
    const outcome = await sender.process(id);

    expect(outcome).toEqual({ kind: 'done', status: 'sent' });
    expect(ses.accepted).toEqual(['ses-3']);
    expect(await record(id)).toMatchObject({ status: 'sent', attempt: 3 });
    expect(await stats()).toEqual({ sent: 1 });
  });

  it('retries in minutes when sending is paused', async () => {
    const { sender, ses, enqueue, record } = await setup();
    const id = await enqueue();
    ses.next(paused());

    const outcome = await sender.process(id);

    expect(outcome).toMatchObject({ kind: 'retry', delaySeconds: 300, backoff: true });
    expect((await record(id)).status).toBe('queued');
  });
});

describe('messages that cannot be sent', () => {
  it('fails the message with the SES error code as its reason on a permanent error', async () => {
    const { sender, ses, enqueue, record, stats } = await setup();
    const id = await enqueue();
    ses.next(rejected());

    const outcome = await sender.process(id);
    await sender.process(id);

    expect(outcome).toEqual({ kind: 'done', status: 'failed' });
    expect(await record(id)).toMatchObject({
      status: 'failed',
      reason: 'MessageRejected',
      detail: expect.stringContaining('Email address is not verified'),
      intentAt: null,
    });
    expect(ses.calls).toHaveLength(1);
    expect(await stats()).toEqual({ failed: 1 });
  });

  it('fails the message without calling SES when the template does not render', async () => {
    const { sender, ses, enqueue, record, stats } = await setup({
      renderError: new Error('template welcome version 1: html failed to render: unknown filter "shout"'),
    });
    const id = await enqueue();

    const outcome = await sender.process(id);

    expect(outcome).toEqual({ kind: 'done', status: 'failed' });
    expect(await record(id)).toMatchObject({
      status: 'failed',
      reason: 'render-failed',
      detail: expect.stringContaining('unknown filter "shout"'),
      attempt: 0,
    });
    expect(ses.calls).toHaveLength(0);
    expect(await stats()).toEqual({ failed: 1 });
  });
});

describe('messages skipped at send time', () => {
  const cases: Array<{
    name: string;
    reason: string;
    detail: RegExp;
    arrange: (env: Awaited<ReturnType<typeof setup>>) => Promise<void>;
    options?: SetupOptions;
  }> = [
    {
      name: 'the profile no longer exists',
      reason: 'profile-not-found',
      detail: /profile does not exist/,
      arrange: async () => {},
      options: { recipient: null },
    },
    {
      name: 'the profile has no email address',
      reason: 'no-email-address',
      detail: /no email address/,
      arrange: async () => {},
      options: { recipient: recipient({ email: null }) },
    },
    {
      name: 'the template does not exist',
      reason: 'template-not-found',
      detail: /template missing-template/,
      arrange: async () => {},
    },
    {
      name: 'the recipient unsubscribed from marketing',
      reason: 'unsubscribed',
      detail: /unsubscribed from marketing email on 2024-06-01/,
      arrange: async ({ store }) => {
        await store.unsubscribe({
          addressHash: addressHash(EMAIL),
          topic: 'marketing',
          at: '2024-06-01T00:00:00.000Z',
        });
      },
    },
    {
      name: 'the address hard-bounced before',
      reason: 'suppressed-bounce',
      detail: /suppressed since 2024-06-02.*hard-bounced/,
      arrange: async ({ store }) => {
        await store.suppress({
          addressHash: addressHash(EMAIL),
          reason: 'bounce',
          at: '2024-06-02T00:00:00.000Z',
        });
      },
    },
    {
      name: 'the profile withholds marketing consent',
      reason: 'consent-withheld',
      detail: /category "marketing"/,
      arrange: async () => {},
      options: {
        recipient: recipient({
          consent: {
            categoryPreferences: { Marketing: false },
            updatedAt: '2024-06-01T00:00:00.000Z',
            source: 'cmp',
          },
        }),
      },
    },
    {
      name: 'the profile reached the frequency cap',
      reason: 'frequency-cap',
      detail: /already received 1 marketing emails in the last 24 hours \(cap 1\)/,
      arrange: async ({ sender, enqueue, clock }) => {
        await sender.process(await enqueue({ messageId: 'msg_earlier' }));
        clock.advance(3600);
      },
      options: { settings: { frequencyCap: { max: 1, windowHours: 24 } } },
    },
  ];

  for (const { name, reason, detail, arrange, options } of cases) {
    it(`skips a message with reason "${reason}" when ${name}, without calling SES`, async () => {
      const env = await setup(options);
      await arrange(env);
      const callsBefore = env.ses.calls.length;
      const id = await env.enqueue(reason === 'template-not-found' ? { templateId: 'missing-template' } : {});

      const outcome = await env.sender.process(id);

      expect(outcome).toEqual({ kind: 'done', status: 'skipped' });
      expect(env.ses.calls).toHaveLength(callsBefore);
      const skipped = await env.record(id);
      expect(skipped).toMatchObject({ status: 'skipped', reason });
      expect(skipped.detail).toMatch(detail);
      expect(env.store.countersOf(id)).toEqual({ skipped: 1 });
    });
  }

  it('records a skip once even when SQS delivers the message again', async () => {
    const { sender, enqueue, store } = await setup({ recipient: null });
    const id = await enqueue();

    await sender.process(id);
    await sender.process(id);

    expect(store.countersOf(id)).toEqual({ skipped: 1 });
  });

  it('does not count a skipped test send in the template statistics', async () => {
    const { sender, enqueue, stats, record } = await setup({ recipient: recipient({ email: null }) });
    const id = await enqueue({ test: true });

    await sender.process(id);

    expect((await record(id)).reason).toBe('no-email-address');
    expect(await stats()).toEqual({});
  });

  it('lets transactional mail through a marketing unsubscribe', async () => {
    const { sender, store, enqueue } = await setup({ topic: 'transactional' });
    await store.unsubscribe({ addressHash: addressHash(EMAIL), topic: 'marketing', at: START.toISOString() });
    const id = await enqueue();

    expect(await sender.process(id)).toEqual({ kind: 'done', status: 'sent' });
  });

  it('does not count test sends towards the frequency cap', async () => {
    const { sender, enqueue } = await setup({ settings: { frequencyCap: { max: 1, windowHours: 24 } } });
    await sender.process(await enqueue({ test: true }));

    const outcome = await sender.process(await enqueue());

    expect(outcome).toEqual({ kind: 'done', status: 'sent' });
  });
});

describe('concurrent attempts', () => {
  it('backs off without calling SES when another attempt recorded its intent first', async () => {
    const { sender, ses, store, enqueue, record } = await setup();
    const id = await enqueue();
    store.interceptNextSave(({ next }) =>
      next.status === 'sending' ? new MessageVersionConflictError('another sender won') : undefined,
    );

    const outcome = await sender.process(id);

    expect(outcome).toMatchObject({ kind: 'retry', reason: 'another attempt is in progress' });
    expect(ses.calls).toHaveLength(0);
    expect((await record(id)).status).toBe('queued');
  });

  it('keeps an outcome that SES feedback recorded while the SendEmail answer was on its way', async () => {
    const { clock, sender, ses, enqueue, record, stats, feedback } = await setup();
    const id = await enqueue();
    const delivered: SesFeedback = { type: 'delivery', at: START.toISOString() };
    const original = ses.send.bind(ses);
    ses.send = async (email) => {
      const answer = await original(email);
      await feedback(id, sendEvent(answer.sesMessageId, clock.now()));
      await feedback(id, delivered);
      return answer;
    };

    const outcome = await sender.process(id);

    expect(outcome).toEqual({ kind: 'done', status: 'delivered' });
    expect(await record(id)).toMatchObject({ status: 'delivered', sesMessageId: 'ses-1' });
    expect(await stats()).toEqual({ sent: 1, delivered: 1 });
  });
});

// Exactly once, under any interleaving --------------------------------------------------------------------------

describe('exactly-once sending under redeliveries, crashes and feedback in any order', () => {
  it('never has SES accept a message twice unless an unconfirmed intent outlived the grace period', async () => {
    for (let seed = 1; seed <= 300; seed += 1) {
      const random = seededRandom(seed);
      const { clock, sender, ses, store, enqueue, record, feedback } = await setup();
      const id = await enqueue();
      const log: string[] = [];
      /** SES's events about accepted calls, not yet delivered to the feedback function; delivered in any order. */
      const pending: SesFeedback[] = [];
      /** process() calls that found an intent older than the grace period: each may rightly send again. */
      let expiredIntents = 0;
      ses.decide = () => {
        const roll = random();
        if (roll < 0.55) return { kind: 'accept' };
        if (roll < 0.7) return { kind: 'accept-answer-lost' };
        if (roll < 0.75) return { kind: 'unknown-not-accepted' };
        if (roll < 0.9) return throttled();
        if (roll < 0.95) return paused();
        return rejected();
      };
      ses.onAccept = () => {
        const sesMessageId = `ses-${ses.calls.length}`;
        const at = clock.now().toISOString();
        pending.push({ type: 'send', at, sesMessageId });
        const outcome = random();
        if (outcome < 0.5) pending.push({ type: 'delivery', at });
        else if (outcome < 0.65)
          pending.push({
            type: 'bounce',
            at,
            permanent: true,
            detail: 'Permanent: General',
            feedbackId: `hard-${sesMessageId}`,
          });
        else if (outcome < 0.8)
          pending.push({
            type: 'bounce',
            at,
            permanent: false,
            detail: 'Transient',
            feedbackId: `soft-${sesMessageId}`,
          });
      };
      const processOnce = async () => {
        const before = await record(id);
        const intentAge = (clock.now().getTime() - Date.parse(before.intentAt ?? before.updatedAt)) / 1000;
        if (before.status === 'sending' && intentAge >= GRACE_SECONDS) expiredIntents += 1;
        // A crash (Lambda timeout, lost connection) right when the outcome of the SES call is being recorded.
        if (random() < 0.2) store.failNextSaveOf('sent');
        try {
          const outcome = await sender.process(id);
          log.push(`process → ${outcome.kind === 'done' ? outcome.status : `retry ${outcome.reason}`}`);
          return outcome;
        } catch {
          log.push('process → crash');
          return undefined;
        } finally {
          store.clearInterceptors();
        }
      };
      const check = async (when: string) => {
        const context = `seed ${seed} ${when}: ${log.join('; ')}`;
        expect(ses.accepted.length, context).toBeLessThanOrEqual(1 + expiredIntents);
        expect(store.countersOf(id).sent ?? 0, context).toBeLessThanOrEqual(1);
      };

      for (let step = 0; step < 30; step += 1) {
        const roll = random();
        if (roll < 0.35) await processOnce();
        else if (roll < 0.6 && pending.length > 0) {
          const index = Math.floor(random() * pending.length);
          const event = pending[index] as SesFeedback;
          // EventBridge delivers at least once: the same event may come again later.
          if (random() < 0.7) pending.splice(index, 1);
          log.push(`feedback ${event.type}${event.type === 'send' ? ` ${event.sesMessageId}` : ''}`);
          await feedback(id, event);
        } else {
          const seconds = Math.floor(random() * GRACE_SECONDS * 1.2);
          clock.advance(seconds);
          log.push(`+${seconds}s`);
        }
        await check(`after step ${step}`);
      }

      // Eventually every event arrives and the queue keeps bringing the message back until it is done.
      ses.decide = () => ({ kind: 'accept' });
      for (const event of pending.splice(0)) await feedback(id, event);
      for (let round = 0; round < 10; round += 1) {
        const outcome = await processOnce();
        if (outcome?.kind === 'done') break;
        clock.advance(outcome?.kind === 'retry' ? outcome.delaySeconds : GRACE_SECONDS);
      }
      for (const event of pending.splice(0)) await feedback(id, event);
      await check('at the end');
      const final = await record(id);
      expect(['queued', 'sending'], `seed ${seed}: ${log.join('; ')}`).not.toContain(final.status);
    }
  });
});

describe('messages queued by a journey', () => {
  it('are dropped with the reason "journey-exited" when the run ended before they went out', async () => {
    const { sender, ses, enqueue, record } = await setup({ activeRuns: new Set(['renewal:2']) });
    const id = await enqueue({
      origin: { journeyId: 'renewal', stepId: 'offer', variant: null, campaign: null, run: 1 },
    });

    const outcome = await sender.process(id);

    expect(outcome).toEqual({ kind: 'done', status: 'skipped' });
    expect(ses.calls).toHaveLength(0);
    expect(await record(id)).toMatchObject({ status: 'skipped', reason: 'journey-exited' });
  });

  it('are sent while their run is still active', async () => {
    const { sender, ses, enqueue } = await setup({ activeRuns: new Set(['renewal:1']) });
    const id = await enqueue({
      origin: { journeyId: 'renewal', stepId: 'offer', variant: null, campaign: null, run: 1 },
    });

    expect(await sender.process(id)).toEqual({ kind: 'done', status: 'sent' });
    expect(ses.calls).toHaveLength(1);
  });
});
