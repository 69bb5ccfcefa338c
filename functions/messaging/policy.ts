// The send-time policy: whether one message may go to one recipient now, and if not, the recorded reason why.
import { type ConsentState, purposeState, refusedCategory } from '../tracking/consent.ts';
import type { AddressState, SkipReason, Topic } from './model.ts';

/** Which Segment consent categories govern email marketing, and whether marketing needs an explicit yes. */
export interface ConsentPolicy {
  /** Category names, matched case-insensitively against `categoryPreferences`. */
  readonly categories: readonly string[];
  /** When true, marketing goes only to profiles where some governing category is explicitly true. */
  readonly requireOptIn: boolean;
}

/**
 * Names consent platforms commonly give the category covering marketing email. Opt-out by default: a profile with
 * no consent record may receive marketing, as in most jurisdictions outside the EU; `requireOptIn` flips that.
 */
export const DEFAULT_CONSENT_POLICY: ConsentPolicy = {
  categories: ['marketing', 'email', 'email_marketing', 'advertising'],
  requireOptIn: false,
};

export interface FrequencyCap {
  readonly max: number;
  readonly windowHours: number;
}

export interface SendInput {
  readonly topic: Topic;
  /** The normalized recipient, or null when the profile has none. */
  readonly email: string | null;
  readonly consent: ConsentState | null;
  readonly address: AddressState | null;
  /** ISO times of this profile's earlier marketing sends. */
  readonly recentMarketingSends: readonly string[];
  readonly frequencyCap: FrequencyCap | null;
  readonly consentPolicy: ConsentPolicy;
  readonly test: boolean;
  readonly now: Date;
}

export type SendDecision =
  | { readonly send: true }
  | { readonly send: false; readonly reason: SkipReason; readonly detail: string };

const SEND: SendDecision = { send: true };

function skip(reason: SkipReason, detail: string): SendDecision {
  return { send: false, reason, detail };
}

// RFC 5322 dot-atom local part, ASCII only: SES refuses non-ASCII local parts, and quoted or commented forms
// are both unheard of in marketing lists and a way to smuggle a second recipient past a looser check.
const LOCAL_PART = /^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*$/;
const DOMAIN_LABEL = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/;

/** Syntax only; whether the mailbox exists is what bounces tell us. Limits are RFC 5321's. */
function isValidAddress(email: string): boolean {
  if (email.length > 254) return false;
  const at = email.lastIndexOf('@');
  if (at <= 0) return false;
  const local = email.slice(0, at);
  const domain = email.slice(at + 1);
  if (local.length > 64 || !LOCAL_PART.test(local)) return false;
  const labels = domain.split('.');
  const tld = labels[labels.length - 1] ?? '';
  return (
    labels.length >= 2 &&
    labels.every((label) => DOMAIN_LABEL.test(label)) &&
    (/^[A-Za-z]{2,}$/.test(tld) || /^xn--[A-Za-z0-9-]+$/i.test(tld))
  );
}

const SUPPRESSION_REASONS = {
  bounce: 'suppressed-bounce',
  complaint: 'suppressed-complaint',
  manual: 'suppressed-manual',
} as const satisfies Record<NonNullable<AddressState['suppressed']>['reason'], SkipReason>;

const SUPPRESSION_DETAILS = {
  bounce: 'it hard-bounced',
  complaint: 'its owner marked a message as spam',
  manual: 'an operator suppressed it',
} as const;

/**
 * The email-marketing purpose (functions/tracking/consent.ts) read through the policy's categories: the first
 * category the profile refused, and whether the purpose was granted.
 */
function consentVerdict(
  consent: ConsentState | null,
  policy: ConsentPolicy,
): { readonly refused: string | null; readonly granted: boolean } {
  const preferences = consent?.categoryPreferences;
  return {
    refused: refusedCategory(preferences, policy.categories),
    granted: purposeState(preferences, policy.categories) === 'granted',
  };
}

function sendsWithin(sends: readonly string[], windowHours: number, now: Date): number {
  const since = now.getTime() - windowHours * 3_600_000;
  // A time in the future (clock skew between writers) still counts; an unreadable one cannot be placed and does not.
  return sends.filter((sent) => Date.parse(sent) > since).length;
}

/**
 * Decides at send time, not at enrollment, because consent and suppression change while a journey waits.
 * Checks run cheapest-and-strictest first, so the recorded reason is the most fundamental one that applies.
 */
export function decideSend(input: SendInput): SendDecision {
  const { topic, email, address } = input;
  if (email === null || email.trim() === '')
    return skip('no-email-address', 'The profile has no email address.');
  if (!isValidAddress(email))
    return skip('invalid-email-address', 'The recipient address is not a valid email address.');

  // Suppression protects the sender's reputation, so it binds every topic and test sends too.
  if (address?.suppressed) {
    const { reason, at } = address.suppressed;
    return skip(
      SUPPRESSION_REASONS[reason],
      `The address is suppressed since ${at} because ${SUPPRESSION_DETAILS[reason]}.`,
    );
  }

  if (topic === 'transactional') {
    const since = address?.unsubscribed.transactional;
    return since === undefined
      ? SEND
      : skip('unsubscribed', `The recipient unsubscribed from transactional email on ${since}.`);
  }

  const { refused, granted } = consentVerdict(input.consent, input.consentPolicy);
  if (refused !== null)
    return skip('consent-withheld', `The profile withholds consent in category "${refused}".`);
  if (input.consentPolicy.requireOptIn && !granted)
    return skip(
      'consent-withheld',
      'Marketing requires opt-in and the profile has not granted any marketing consent category.',
    );

  const unsubscribedAt = address?.unsubscribed.marketing;
  if (unsubscribedAt !== undefined)
    return skip('unsubscribed', `The recipient unsubscribed from marketing email on ${unsubscribedAt}.`);

  // Test sends go to the operator checking a template; counting them against the cap would only get in the way.
  const cap = input.frequencyCap;
  if (cap !== null && !input.test) {
    const recent = sendsWithin(input.recentMarketingSends, cap.windowHours, input.now);
    if (recent >= cap.max)
      return skip(
        'frequency-cap',
        `The profile already received ${recent} marketing emails in the last ${cap.windowHours} hours (cap ${cap.max}).`,
      );
  }
  return SEND;
}
