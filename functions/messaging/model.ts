// The messaging domain's shapes: templates, messages and their lifecycle, address state, banners and webhooks.
import type { JsonObject } from '../tracking/model.ts';

/** Subscription topics. Transactional mail (receipts, password resets) ignores marketing unsubscribes. */
export const TOPICS = ['marketing', 'transactional'] as const;
export type Topic = (typeof TOPICS)[number];

/** What an operator saves: MJML or HTML, Liquid inside. */
export interface TemplateInput {
  readonly subject: string;
  readonly mjml?: string;
  readonly html?: string;
  /** Plain-text part; derived from the HTML when absent. */
  readonly text?: string;
  /** Preview text shown by mail clients after the subject. */
  readonly preheader?: string;
  /** @default 'marketing' */
  readonly topic?: Topic;
}

/** A template version as stored: MJML already compiled to HTML (once, at save time). */
export interface TemplateVersion {
  readonly templateId: string;
  readonly version: number;
  readonly subject: string;
  /** Compiled HTML with Liquid tags still in it. */
  readonly html: string;
  readonly text: string;
  readonly preheader: string;
  readonly topic: Topic;
  /** The MJML source when the template was written in MJML. */
  readonly mjml: string | null;
  readonly createdAt: string;
}

/** Where a message came from: a journey step (with its A/B variant) or a one-off send. */
export interface MessageOrigin {
  readonly journeyId: string | null;
  readonly stepId: string | null;
  readonly variant: string | null;
  /** Campaign name for utm_campaign; defaults to the journey id, else the template id. */
  readonly campaign: string | null;
  /** The enrollment run of the journey that sent it: a message of a run that ended is dropped at send time. */
  readonly run: number | null;
}

/**
 * Message status. `queued` → `sending` (intent recorded) → `sent` (SES accepted) → `delivered` / `bounced` /
 * `complained` / `rejected`; or `skipped` (not sent, with a reason) or `failed` (permanent SES error).
 */
export const MESSAGE_STATUSES = [
  'queued',
  'sending',
  'sent',
  'delivered',
  'delayed',
  'bounced',
  'complained',
  'rejected',
  'skipped',
  'failed',
] as const;
export type MessageStatus = (typeof MESSAGE_STATUSES)[number];

/** Why a message was not sent; the admin API shows these. */
export const SKIP_REASONS = [
  'profile-not-found',
  'no-email-address',
  'invalid-email-address',
  'template-not-found',
  'consent-withheld',
  'unsubscribed',
  'suppressed-bounce',
  'suppressed-complaint',
  'suppressed-manual',
  'frequency-cap',
  'journey-exited',
] as const;
export type SkipReason = (typeof SKIP_REASONS)[number];

export interface MessageRequest {
  readonly messageId: string;
  readonly profileId: string;
  readonly templateId: string;
  /** Pinned template version; the newest at send time when null. */
  readonly templateVersion: number | null;
  readonly idempotencyKey: string;
  readonly origin: MessageOrigin;
  /** Send to this address instead of the profile's (test sends); consent and suppression still apply. */
  readonly toOverride: string | null;
  /** Test sends are not counted in template statistics. */
  readonly test: boolean;
  readonly createdAt: string;
}

/** Address-level state, keyed by the hash of the normalized email: suppression, unsubscribes, soft bounces. */
export interface AddressState {
  readonly addressHash: string;
  readonly suppressed: { readonly reason: 'bounce' | 'complaint' | 'manual'; readonly at: string } | null;
  /** Topics unsubscribed from, with when. */
  readonly unsubscribed: Partial<Record<Topic, string>>;
  readonly softBounces: number;
}

/** What a tracked link or open resolves to, for counters per template, journey, step and variant. */
export interface MessageDimensions {
  readonly templateId: string;
  readonly journeyId: string | null;
  readonly stepId: string | null;
  readonly variant: string | null;
}

/** Personalization data handed to Liquid: `{{ traits.firstName }}`, `{{ profile.id }}`, `{{ message.id }}`. */
export interface RenderContext {
  readonly traits: JsonObject;
  readonly profile: { readonly id: string; readonly userId: string | null; readonly email: string };
  readonly message: { readonly id: string };
}
