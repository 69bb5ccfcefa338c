// Stage-aware deployment configuration, read from CDK context and validated once with clear errors.
import { z } from 'zod';

export const STAGES = ['dev', 'prod'] as const;
export type Stage = (typeof STAGES)[number];

const csv = z
  .union([z.string(), z.array(z.string())])
  .transform((value) =>
    (Array.isArray(value) ? value : value.split(',')).map((v) => v.trim()).filter(Boolean),
  );

const booleanish = z.union([z.boolean(), z.enum(['true', 'false']).transform((v) => v === 'true')]);

const origin = z.string().refine((value) => value === '*' || /^https?:\/\/[^/\s]+$/.test(value), {
  message: 'must be "*" or an origin such as https://www.example.com (scheme and host, no path)',
});

const configSchema = z
  .object({
    stage: z.enum(STAGES, { message: `must be one of ${STAGES.join(', ')}` }).default('dev'),
    /** Verified SES identity that messages are sent from, e.g. "Acme <news@acme.com>". */
    senderEmail: z
      .string()
      .regex(/^(?:[^<>]*<)?[^@\s<>]+@[^@\s<>]+\.[^@\s<>]+>?$/, 'must be an email address or "Name <address>"')
      .optional(),
    allowedOrigins: csv.pipe(z.array(origin)).optional(),
    adminAuth: z.enum(['token', 'iam'], { message: 'must be "token" or "iam"' }).default('token'),
    logRetentionDays: z.coerce.number().int().positive().optional(),
    eventLog: booleanish.optional(),
    /** Raw tracked events are kept this long (default about 13 months). */
    eventRetentionDays: z.coerce.number().int().min(1).max(3650).default(396),
    /** The site's own domain: referrers from its subdomains are internal, not referral traffic. */
    siteHost: z
      .string()
      .regex(/^[a-z0-9.-]+\.[a-z]{2,}$/i, 'must be a host name such as example.com')
      .optional(),
    /** Merge two profiles that share an email address (default off: an email alone does not prove one person). */
    mergeOnEmail: booleanish.default(false),
    /** SES maximum send rate of the account (emails per second; the SES console shows it). */
    sesSendRate: z.coerce.number().positive().max(10_000).default(14),
    /** At most this many marketing emails per profile per `emailFrequencyCapHours`; 0 turns the cap off. */
    emailFrequencyCap: z.coerce.number().int().min(0).default(5),
    emailFrequencyCapHours: z.coerce
      .number()
      .positive()
      .max(24 * 90)
      .default(24),
    /** Segment consent categories that govern email marketing (a `false` in any of them withholds it). */
    emailConsentCategories: csv.optional(),
    /** Send marketing email only to people who granted one of those categories (opt-in, as in the EU). */
    requireEmailOptIn: booleanish.default(false),
    /**
     * Tracking consent: `opt-out` stores events unless the visitor refused (server-side clients that manage consent
     * themselves; the snippet waits for consent anyway), `opt-in` stores nothing about a visitor before they grant it.
     */
    trackingConsent: z
      .enum(['opt-out', 'opt-in'], { message: 'must be "opt-out" or "opt-in"' })
      .default('opt-out'),
    /** Segment consent categories that govern the tracking purpose. */
    trackingConsentCategories: csv.optional(),
    /** Segment consent categories that govern the personalization purpose (banners). */
    personalizationConsentCategories: csv.optional(),
    /** Base URL of tracked links (a custom domain such as https://t.example.com); default: the API's URL. */
    trackingBaseUrl: z
      .string()
      .regex(/^https?:\/\/[^/\s]+$/, 'must be a scheme and host such as https://t.example.com')
      .optional(),
    /** Messages (status, statistics per message) are kept this long. */
    messageRetentionDays: z.coerce.number().int().min(1).max(3650).default(396),
    /** A profile never identified (no userId, no email) is removed this long after it was last seen. */
    anonymousProfileRetentionDays: z.coerce.number().int().min(1).max(3650).default(30),
    /** Alarm notifications go to this address (an SNS email subscription to confirm); default: no subscriber. */
    alarmEmail: z
      .string()
      .regex(/^[^@\s<>]+@[^@\s<>]+\.[^@\s<>]+$/, 'must be an email address')
      .optional(),
    apiThrottleRate: z.coerce.number().int().positive().default(1000),
    apiThrottleBurst: z.coerce.number().int().positive().default(2000),
    /**
     * Default rate limit of each source (write key), in events per second per collect instance (README "Security");
     * 0 turns the default off. A source's own `rateLimit` (admin sources API) overrides it.
     */
    sourceRateLimit: z.coerce.number().min(0).max(100_000).default(1000),
    /** Events a source may send at once above its rate (the bucket size of the default limit). */
    sourceRateBurst: z.coerce.number().int().positive().max(1_000_000).default(5000),
  })
  .transform((c) => ({
    ...c,
    retainData: c.stage === 'prod',
    // Development accepts tracking from any page; production only from the origins it is given.
    allowedOrigins: c.allowedOrigins ?? (c.stage === 'prod' ? [] : ['*']),
    logRetentionDays: c.logRetentionDays ?? (c.stage === 'prod' ? 90 : 14),
    archiveRetentionDays: c.stage === 'prod' ? 365 : 7,
    // The bus log copies domain events (which can carry personal data) to CloudWatch Logs: a development aid only.
    eventLog: c.eventLog ?? c.stage !== 'prod',
    eventBusName: c.stage === 'prod' ? 'nurture' : `nurture-${c.stage}`,
    // Development sends to the local mailbox, which accepts any sender; production warns at synth (nurture-stack).
    senderEmail: c.senderEmail ?? 'Nurture <nurture@example.com>',
    senderEmailConfigured: c.senderEmail !== undefined,
    emailConsentCategories: c.emailConsentCategories ?? [
      'marketing',
      'email',
      'email_marketing',
      'advertising',
    ],
    // Consent per purpose (docs/privacy.md): email marketing reads the send policy's categories.
    consentPurposes: {
      tracking: c.trackingConsentCategories ?? ['analytics'],
      emailMarketing: c.emailConsentCategories ?? ['marketing', 'email', 'email_marketing', 'advertising'],
      personalization: c.personalizationConsentCategories ?? ['personalization', 'functional', 'targeting'],
    },
    // SES publishes Send events within seconds; locally at once, so tests need not wait minutes.
    sendConfirmGraceSeconds: c.stage === 'prod' ? 300 : 10,
  }));

export type NurtureConfig = z.output<typeof configSchema>;
export const CONTEXT_KEYS = Object.keys(configSchema.in.shape);

export class InvalidConfigError extends Error {
  override name = 'InvalidConfigError';
}

/** Reads the context keys this app knows; throws one error listing every bad value. */
export function parseConfig(readContext: (key: string) => unknown): NurtureConfig {
  const raw: Record<string, unknown> = {};
  for (const key of CONTEXT_KEYS) {
    const value = readContext(key);
    if (value !== undefined && value !== '') raw[key] = value;
  }
  const result = configSchema.safeParse(raw);
  if (!result.success) {
    const lines = result.error.issues.map(
      (issue) => `  -c ${issue.path.join('.') || '(root)'}: ${issue.message}`,
    );
    throw new InvalidConfigError(`Invalid Nurture configuration:\n${lines.join('\n')}`);
  }
  return result.data;
}
