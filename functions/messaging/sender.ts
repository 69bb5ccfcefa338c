// Sends one queued email exactly once: checks at send time, renders, records the intent, calls SES, records the outcome.

import type { JsonObject } from '../tracking/model.ts';
import type { ConsentState } from '../tracking/profile.ts';
import { normalizeEmail } from '../tracking/profile.ts';
import { addressHash } from './address.ts';
import {
  isSettled,
  type MessageRecord,
  recordAccepted,
  recordFailed,
  recordIntent,
  recordSkipped,
  releaseIntent,
  type Transition,
} from './lifecycle.ts';
import type { TemplateVersion } from './model.ts';
import { type ConsentPolicy, decideSend } from './policy.ts';
import type { AddressStore, MessageStore, TemplateStore } from './store.ts';
import { MessageVersionConflictError } from './store.ts';
import type { RenderedMessage } from './templates/render.ts';

/** The profile as the sender needs it. */
export interface Recipient {
  readonly profileId: string;
  readonly userId: string | null;
  readonly email: string | null;
  readonly traits: JsonObject;
  readonly consent: ConsentState | null;
}

export interface RecipientReader {
  /** The live profile (following merges), or undefined when it does not exist (any more). */
  recipient(profileId: string): Promise<Recipient | undefined>;
}

export interface OutgoingEmail {
  readonly messageId: string;
  readonly to: string;
  readonly subject: string;
  readonly html: string;
  readonly text: string;
  readonly headers: ReadonlyArray<{ name: string; value: string }>;
}

/** Why SES refused: retry later (`throttled`, `paused`), never (`permanent`), or unknown whether it sent. */
export class EmailSendError extends Error {
  override name = 'EmailSendError';
  constructor(
    readonly kind: 'throttled' | 'paused' | 'permanent' | 'unknown',
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export interface EmailGateway {
  /** Sends through SES; resolves SES's message id. Must not retry by itself: a retry could send twice. */
  send(email: OutgoingEmail): Promise<{ sesMessageId: string }>;
}

export interface MessageRendererPort {
  render(input: {
    template: TemplateVersion;
    context: {
      traits: JsonObject;
      profile: { id: string; userId: string | null; email: string };
      message: { id: string };
    };
    messageId: string;
    profileId: string;
    recipient: string;
    campaign: string;
    utmSource: string;
    track: { opens: boolean; clicks: boolean };
  }): Promise<RenderedMessage>;
}

export interface SenderSettings {
  readonly frequencyCap: { readonly max: number; readonly windowHours: number } | null;
  readonly consentPolicy: ConsentPolicy;
  /**
   * How long an intent without outcome waits for SES's Send event before the message is sent again. SES
   * publishes Send events within seconds; only a send SES never accepted stays unconfirmed this long.
   */
  readonly confirmGraceSeconds: number;
  readonly utmSource: string;
  readonly track: { readonly opens: boolean; readonly clicks: boolean };
}

export type SendOutcome =
  | { readonly kind: 'done'; readonly status: MessageRecord['status'] }
  | {
      readonly kind: 'retry';
      readonly delaySeconds: number;
      readonly reason: string;
      /** Retries should back off further with every receive (SES throttling), rather than wait a fixed time. */
      readonly backoff?: boolean;
    };

/** Whether the journey run that queued a message still wants it sent (a goal stops a run and its messages). */
export interface JourneyRunReader {
  isRunActive(input: { profileId: string; journeyId: string; run: number }): Promise<boolean>;
}

export interface EmailSenderDependencies {
  readonly messages: MessageStore;
  readonly addresses: AddressStore;
  readonly templates: TemplateStore;
  readonly recipients: RecipientReader;
  readonly renderer: MessageRendererPort;
  readonly email: EmailGateway;
  /** Waits until the configured send rate allows one more email. */
  readonly rateLimit: () => Promise<void>;
  readonly settings: SenderSettings;
  /** Drops messages of journey runs that ended while they were queued. @default no journey check */
  readonly journeys?: JourneyRunReader;
  readonly now?: () => Date;
}

const done = (record: MessageRecord): SendOutcome => ({ kind: 'done', status: record.status });

export class EmailSender {
  private readonly now: () => Date;

  constructor(private readonly deps: EmailSenderDependencies) {
    this.now = deps.now ?? (() => new Date());
  }

  /** Processes one message from the send queue; `retry` asks the queue to bring it back later. */
  async process(messageId: string): Promise<SendOutcome> {
    const record = await this.deps.messages.getMessage(messageId);
    if (record === undefined) throw new Error(`message ${messageId} has no record`);
    if (isSettled(record)) return done(record);

    if (record.status === 'sending') {
      // An earlier attempt recorded its intent but not its outcome: it crashed, timed out or lost SES's answer.
      // SES's Send event settles the message if SES accepted it; until the grace period is over, wait for it.
      const intentAge = (this.now().getTime() - Date.parse(record.intentAt ?? record.updatedAt)) / 1000;
      const remaining = Math.ceil(this.deps.settings.confirmGraceSeconds - intentAge);
      if (remaining > 0)
        return {
          kind: 'retry',
          delaySeconds: remaining,
          reason: 'waiting for the outcome of an earlier attempt',
        };
    }

    const { journeyId, run } = record.request.origin;
    if (
      this.deps.journeys &&
      journeyId !== null &&
      run !== null &&
      !(await this.deps.journeys.isRunActive({ profileId: record.request.profileId, journeyId, run }))
    )
      return this.settle(
        record,
        recordSkipped,
        'journey-exited',
        `the profile left journey ${journeyId} (run ${run}) before the message went out`,
      );

    const recipient = await this.deps.recipients.recipient(record.request.profileId);
    if (recipient === undefined)
      return this.settle(record, recordSkipped, 'profile-not-found', 'the profile does not exist');

    const to = record.request.toOverride ?? recipient.email;
    const normalized = to === null ? null : (normalizeEmail(to) ?? null);
    const template = await this.deps.templates.getVersion(
      record.request.templateId,
      record.request.templateVersion,
    );
    if (template === undefined)
      return this.settle(
        record,
        recordSkipped,
        'template-not-found',
        `template ${record.request.templateId} ${record.request.templateVersion ?? '(latest)'} does not exist`,
      );

    const hash = normalized === null ? null : addressHash(normalized);
    const address = hash === null ? null : await this.deps.addresses.getAddress(hash);
    const { frequencyCap } = this.deps.settings;
    const now = this.now();
    const recentMarketingSends =
      frequencyCap !== null && template.topic === 'marketing' && !record.request.test
        ? await this.recentMarketingSends(
            record,
            new Date(now.getTime() - frequencyCap.windowHours * 3_600_000),
          )
        : [];
    const decision = decideSend({
      topic: template.topic,
      email: to === null ? null : (normalized ?? to),
      consent: recipient.consent,
      address,
      recentMarketingSends,
      frequencyCap,
      consentPolicy: this.deps.settings.consentPolicy,
      test: record.request.test,
      now,
    });
    if (!decision.send) return this.settle(record, recordSkipped, decision.reason, decision.detail);
    if (normalized === null || hash === null)
      throw new Error('unreachable: a sendable message has an address');

    let rendered: RenderedMessage;
    try {
      rendered = await this.deps.renderer.render({
        template,
        context: {
          traits: recipient.traits,
          profile: { id: recipient.profileId, userId: recipient.userId, email: normalized },
          message: { id: messageId },
        },
        messageId,
        profileId: recipient.profileId,
        recipient: normalized,
        campaign: record.request.origin.campaign ?? record.request.origin.journeyId ?? template.templateId,
        utmSource: this.deps.settings.utmSource,
        track: this.deps.settings.track,
      });
    } catch (error) {
      return this.settle(
        record,
        recordFailed,
        'render-failed',
        error instanceof Error ? error.message : String(error),
      );
    }

    await this.deps.rateLimit();
    const sending = recordIntent(record, {
      at: this.now().toISOString(),
      recipientHash: hash,
      topic: template.topic,
      templateVersion: template.version,
      subject: rendered.subject,
    });
    try {
      await this.deps.messages.saveTransition(sending, record.version, {});
    } catch (error) {
      if (error instanceof MessageVersionConflictError)
        return { kind: 'retry', delaySeconds: 1, reason: 'another attempt is in progress' };
      throw error;
    }

    let sesMessageId: string;
    try {
      ({ sesMessageId } = await this.deps.email.send({
        messageId,
        to: normalized,
        subject: rendered.subject,
        html: rendered.html,
        text: rendered.text,
        headers: rendered.headers,
      }));
    } catch (error) {
      if (!(error instanceof EmailSendError) || error.kind === 'unknown') {
        // SES may or may not have accepted it: the intent stays, and SES's Send event (or its absence) decides.
        return {
          kind: 'retry',
          delaySeconds: this.deps.settings.confirmGraceSeconds,
          reason: `outcome unknown: ${error instanceof Error ? error.name : 'error'}`,
        };
      }
      if (error.kind === 'permanent') return this.settle(sending, recordFailed, error.code, error.message);
      await this.apply(sending, (current) =>
        releaseIntent(current, { at: this.now().toISOString(), note: error.code }),
      );
      return {
        kind: 'retry',
        delaySeconds: error.kind === 'paused' ? 300 : 2,
        reason: error.code,
        backoff: true,
      };
    }
    const settled = await this.apply(sending, (current) =>
      recordAccepted(current, { at: this.now().toISOString(), sesMessageId }),
    );
    return done(settled);
  }

  private async recentMarketingSends(record: MessageRecord, since: Date): Promise<string[]> {
    const recent = await this.deps.messages.listSince(record.request.profileId, since.toISOString());
    return recent
      .filter(
        (m) =>
          m.request.messageId !== record.request.messageId &&
          m.topic === 'marketing' &&
          !m.request.test &&
          m.sentAt !== null,
      )
      .flatMap((m) => (m.sentAt === null ? [] : [m.sentAt]));
  }

  private async settle(
    record: MessageRecord,
    transition: typeof recordSkipped,
    reason: string,
    detail: string,
  ): Promise<SendOutcome> {
    const at = this.now().toISOString();
    return done(await this.apply(record, (current) => transition(current, { at, reason, detail })));
  }

  private async apply(
    record: MessageRecord,
    transition: (current: MessageRecord) => Transition,
  ): Promise<MessageRecord> {
    const result = await applyTransition(this.deps.messages, record, transition);
    if (result === undefined) throw new Error(`message ${record.request.messageId} disappeared`);
    return result;
  }
}

/**
 * Applies a transition with optimistic concurrency, re-reading after a conflict (a feedback event, a retry).
 * Starts from a record already read, or reads it by id; undefined when the message does not exist.
 */
export async function applyTransition(
  messages: MessageStore,
  start: MessageRecord | string,
  transition: (current: MessageRecord) => Transition,
): Promise<MessageRecord | undefined> {
  const messageId = typeof start === 'string' ? start : start.request.messageId;
  let known: MessageRecord | undefined = typeof start === 'string' ? undefined : start;
  for (let attempt = 0; attempt < 8; attempt += 1) {
    const current = known ?? (await messages.getMessage(messageId));
    known = undefined;
    if (current === undefined) return undefined;
    const result = transition(current);
    if (result === null) return current;
    try {
      await messages.saveTransition(result.record, current.version, result.counters);
      return result.record;
    } catch (error) {
      if (!(error instanceof MessageVersionConflictError)) throw error;
    }
  }
  throw new Error(`message ${messageId} kept changing concurrently`);
}
