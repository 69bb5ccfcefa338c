// Consent per purpose (tracking, email marketing, personalization) on top of Segment's categoryPreferences, with evidence and history.
import * as z from 'zod';

/** What a person can consent to, in the product's words; each purpose is read from configurable consent categories. */
export const PURPOSES = ['tracking', 'emailMarketing', 'personalization'] as const;
export type Purpose = (typeof PURPOSES)[number];

/** `unknown`: no category of the purpose was ever answered, so the workspace's default (opt-in/opt-out) decides. */
export const PURPOSE_STATES = ['granted', 'denied', 'unknown'] as const;
export type PurposeState = (typeof PURPOSE_STATES)[number];

/** Which Segment consent categories govern each purpose (matched case-insensitively). */
export type PurposeCategories = { readonly [P in Purpose]: readonly string[] };

/**
 * Names consent platforms commonly use. Email marketing's list is the send policy's (`emailConsentCategories`);
 * personalization includes `functional` and `targeting` because CMPs file on-site personalization under either.
 */
export const DEFAULT_PURPOSE_CATEGORIES: PurposeCategories = {
  tracking: ['analytics'],
  emailMarketing: ['marketing', 'email', 'email_marketing', 'advertising'],
  personalization: ['personalization', 'functional', 'targeting'],
};

const categoryList = z.array(z.string().min(1).max(64)).min(1).max(20);

/** The purpose configuration as functions receive it (one JSON environment variable, `CONSENT_PURPOSES`). */
export const purposeCategoriesSchema = z.object({
  tracking: categoryList,
  emailMarketing: categoryList,
  personalization: categoryList,
});

export type CategoryPreferences = { readonly [category: string]: boolean };

/**
 * How a consent choice was captured: free-form so a CMP, a call centre or an import can each say what proves it
 * (conventional keys: `method`, `bannerVersion`, `textHash`, `url`, `reference`, `capturedAt`, `note`), but bounded
 * so it never bloats the profile item that every tracked event rewrites.
 */
export type ConsentEvidence = { readonly [key: string]: string | number | boolean };

export const MAX_EVIDENCE_KEYS = 10;
export const MAX_EVIDENCE_CHARS = 1000;

export const consentEvidenceSchema = z
  .record(
    z.string().regex(/^[A-Za-z][\w.-]{0,39}$/, 'evidence keys are 1–40 letters, digits, "_", "." or "-"'),
    z.union([z.string().max(500), z.number(), z.boolean()]),
  )
  .refine((evidence) => Object.keys(evidence).length <= MAX_EVIDENCE_KEYS, {
    message: `evidence has at most ${MAX_EVIDENCE_KEYS} keys`,
  })
  .refine((evidence) => JSON.stringify(evidence).length <= MAX_EVIDENCE_CHARS, {
    message: `evidence is at most ${MAX_EVIDENCE_CHARS} characters of JSON`,
  });

/** One recorded choice: what was chosen, when, through which source, and what proves it. */
export interface ConsentChange {
  readonly categoryPreferences: CategoryPreferences;
  readonly at: string;
  /** A tracking source id (`src_…`), `admin`, `import`, or another name an admin caller gave. */
  readonly source: string;
  readonly evidence: ConsentEvidence | null;
  /** The tracked event that carried the choice, when it came from tracking. */
  readonly messageId?: string;
}

/** A profile's consent: the standing choice plus the last changes, so a DPO can show when and how it was given. */
export interface ConsentState {
  readonly categoryPreferences: CategoryPreferences;
  /** Time of the latest signal (a repeated, unchanged choice moves it; it does not add history). */
  readonly updatedAt: string;
  readonly source: string;
  /** Evidence of the standing choice; absent on consent recorded before evidence was kept. */
  readonly evidence?: ConsentEvidence | null;
  /** Changes oldest first, at most MAX_CONSENT_HISTORY; absent on consent recorded before history was kept. */
  readonly history?: readonly ConsentChange[];
}

export const MAX_CONSENT_HISTORY = 20;

export const consentChangeSchema = z.object({
  categoryPreferences: z.record(z.string(), z.boolean()),
  at: z.string(),
  source: z.string(),
  evidence: consentEvidenceSchema.nullable(),
  messageId: z.string().optional(),
}) satisfies z.ZodType<ConsentChange>;

export const consentStateSchema = z.object({
  categoryPreferences: z.record(z.string(), z.boolean()),
  updatedAt: z.string(),
  source: z.string(),
  evidence: consentEvidenceSchema.nullable().optional(),
  history: z.array(consentChangeSchema).optional(),
}) satisfies z.ZodType<ConsentState>;

/**
 * A purpose's state from its categories: denied when any answered category refuses (the stricter reading of mixed
 * signals, as the send policy has always read them), granted when some answered category allows, else unknown.
 */
export function purposeState(
  preferences: CategoryPreferences | null | undefined,
  categories: readonly string[],
): PurposeState {
  const governing = new Set(categories.map((category) => category.toLowerCase()));
  let granted = false;
  for (const [category, allowed] of Object.entries(preferences ?? {})) {
    if (!governing.has(category.toLowerCase())) continue;
    if (!allowed) return 'denied';
    granted = true;
  }
  return granted ? 'granted' : 'unknown';
}

/** The first governing category a profile refused, for messages that name it. */
export function refusedCategory(
  preferences: CategoryPreferences | null | undefined,
  categories: readonly string[],
): string | null {
  const governing = new Set(categories.map((category) => category.toLowerCase()));
  for (const [category, allowed] of Object.entries(preferences ?? {}))
    if (!allowed && governing.has(category.toLowerCase())) return category.toLowerCase();
  return null;
}

export function purposesOf(
  preferences: CategoryPreferences | null | undefined,
  config: PurposeCategories = DEFAULT_PURPOSE_CATEGORIES,
): { readonly [P in Purpose]: PurposeState } {
  return {
    tracking: purposeState(preferences, config.tracking),
    emailMarketing: purposeState(preferences, config.emailMarketing),
    personalization: purposeState(preferences, config.personalization),
  };
}

/**
 * Category answers that express purpose-level choices: every category of a purpose gets the answer, so no stale
 * category of the same purpose can contradict it (a refusal in any category would otherwise win).
 */
export function preferencesForPurposes(
  purposes: { readonly [P in Purpose]?: boolean },
  config: PurposeCategories = DEFAULT_PURPOSE_CATEGORIES,
): Record<string, boolean> {
  const out: Record<string, boolean> = {};
  for (const purpose of PURPOSES) {
    const answer = purposes[purpose];
    if (answer === undefined) continue;
    for (const category of config[purpose]) out[category] = answer;
  }
  return out;
}

function samePreferences(a: CategoryPreferences, b: CategoryPreferences): boolean {
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  for (const key of keys) if (a[key] !== b[key]) return false;
  return true;
}

function sameEvidence(a: ConsentEvidence | null | undefined, b: ConsentEvidence | null | undefined): boolean {
  return JSON.stringify(a ?? null) === JSON.stringify(b ?? null);
}

/** Whether two consent states stand for different choices (what `profile.consent_changed` announces). */
export function consentChanged(before: ConsentState | null, after: ConsentState | null): boolean {
  if (before === null || after === null) return before !== after;
  return !samePreferences(before.categoryPreferences, after.categoryPreferences);
}

/**
 * Applies one consent signal. A signal older than the standing choice changes nothing (events arrive out of order).
 * A newer one becomes the standing choice; it is added to the history when it changes the choice or brings new
 * evidence, so a consent platform repeating the same answer on every page adds nothing but the time.
 */
export function recordConsent(current: ConsentState | null, change: ConsentChange): ConsentState {
  if (current === null)
    return {
      categoryPreferences: change.categoryPreferences,
      updatedAt: change.at,
      source: change.source,
      evidence: change.evidence,
      history: [change],
    };
  if (change.at < current.updatedAt) return current;
  const changesChoice = !samePreferences(current.categoryPreferences, change.categoryPreferences);
  const newEvidence = change.evidence !== null && !sameEvidence(current.evidence, change.evidence);
  if (!changesChoice && !newEvidence) return { ...current, updatedAt: change.at };
  return {
    categoryPreferences: change.categoryPreferences,
    updatedAt: change.at,
    source: change.source,
    evidence: change.evidence,
    history: [...(current.history ?? []), change].slice(-MAX_CONSENT_HISTORY),
  };
}

function changeKey(change: ConsentChange): string {
  return `${change.at}\u0000${change.source}\u0000${change.messageId ?? ''}\u0000${JSON.stringify(change.categoryPreferences)}`;
}

/** Consent of two merged profiles: the newer standing choice wins (ties keep `into`), histories are joined. */
export function mergeConsent(into: ConsentState | null, from: ConsentState | null): ConsentState | null {
  if (into === null) return from;
  if (from === null) return into;
  const winner = from.updatedAt > into.updatedAt ? from : into;
  const byKey = new Map<string, ConsentChange>();
  for (const change of [...(into.history ?? []), ...(from.history ?? [])])
    byKey.set(changeKey(change), change);
  const history = [...byKey.values()]
    .sort((a, b) => (a.at === b.at ? changeKey(a).localeCompare(changeKey(b)) : a.at < b.at ? -1 : 1))
    .slice(-MAX_CONSENT_HISTORY);
  return { ...winner, history };
}

/**
 * Evidence a tracked consent signal carries in `consent.evidence` (beside its categoryPreferences); unreadable or
 * oversized evidence is dropped rather than failing the event, which still records the choice itself.
 */
export function evidenceFrom(consentObject: unknown): ConsentEvidence | null {
  if (typeof consentObject !== 'object' || consentObject === null || !('evidence' in consentObject))
    return null;
  const parsed = consentEvidenceSchema.safeParse(consentObject.evidence);
  return parsed.success ? parsed.data : null;
}

/** `CONSENT_PURPOSES`, the purpose configuration as constructs pass it to functions: JSON of PurposeCategories. */
export const consentPurposesVariable = z
  .string()
  .transform((value, context): unknown => {
    try {
      return JSON.parse(value);
    } catch {
      context.addIssue({
        code: 'custom',
        message: 'must be JSON of {tracking, emailMarketing, personalization}',
      });
      return z.NEVER;
    }
  })
  .pipe(purposeCategoriesSchema);
