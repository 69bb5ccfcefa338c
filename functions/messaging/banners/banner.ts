// A banner: content a journey step (or an operator) assigns to one placement of one profile, until it expires.
import { randomBytes } from 'node:crypto';
import * as z from 'zod';

/** Placement names as sites use them in `analytics.content('homepage-hero', ...)`. */
export const PLACEMENT_PATTERN = /^[a-z0-9][a-z0-9-_]{0,63}$/;
/** Banner ids travel in signed links and counter keys: short, URL-safe. */
export const BANNER_ID_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;

export const MAX_TITLE_LENGTH = 200;
export const MAX_BODY_LENGTH = 2000;
/** Operator HTML is a fragment for one slot of a page, not a page. */
export const MAX_HTML_BYTES = 20 * 1024;
/** Long enough for any campaign URL; short enough that a signed link stays well under browsers' limits. */
export const MAX_URL_LENGTH = 2048;
/** How long an assignment lasts when nobody says otherwise. */
export const DEFAULT_TTL_HOURS = 7 * 24;
export const MAX_TTL_HOURS = 365 * 24;

export interface CallToAction {
  readonly label: string;
  readonly url: string;
}

/** Which journey step assigned a banner (null when an operator did), for per-step statistics. */
export interface BannerOrigin {
  readonly journeyId: string;
  readonly stepId: string;
  readonly variant: string | null;
}

export interface Banner {
  readonly bannerId: string;
  readonly profileId: string;
  readonly placement: string;
  readonly title: string;
  readonly body: string;
  /** Trusted operator HTML, rendered as is by the snippet. */
  readonly html: string | null;
  readonly cta: CallToAction | null;
  readonly assignedAt: string;
  readonly expiresAt: string;
  readonly origin: BannerOrigin | null;
}

export const placementSchema = z
  .string()
  .regex(
    PLACEMENT_PATTERN,
    'placement must be 1–64 of a-z, 0-9, "-" and "_", starting with a letter or digit',
  );

export const bannerIdSchema = z
  .string()
  .regex(BANNER_ID_PATTERN, 'bannerId must be 1–64 of A-Z, a-z, 0-9, "-" and "_"');

const httpUrl = z
  .string()
  .max(MAX_URL_LENGTH)
  .refine((value) => URL.canParse(value) && /^https?:$/.test(new URL(value).protocol), {
    message: 'must be an http(s) URL',
  });

export const callToActionSchema = z.object({
  label: z.string().trim().min(1).max(100),
  url: httpUrl,
});

/** What a banner shows; shared by the admin API and by journey steps that assign banners. */
export const bannerContentSchema = z.object({
  title: z.string().trim().min(1).max(MAX_TITLE_LENGTH),
  body: z.string().max(MAX_BODY_LENGTH).default(''),
  html: z
    .string()
    .refine((html) => Buffer.byteLength(html) <= MAX_HTML_BYTES, {
      message: `html must be at most ${MAX_HTML_BYTES} bytes`,
    })
    .nullish()
    .transform((html) => (html ? html : null)),
  cta: callToActionSchema.nullish().transform((cta) => cta ?? null),
});
export type BannerContentInput = z.input<typeof bannerContentSchema>;

const originSchema = z.object({
  journeyId: z.string().min(1),
  stepId: z.string().min(1),
  variant: z.string().nullable(),
});

/** A stored banner, as read back: anything that does not parse is not shown. */
export const bannerSchema = z.object({
  bannerId: bannerIdSchema,
  profileId: z.string().min(1),
  placement: placementSchema,
  title: z.string(),
  body: z.string(),
  html: z.string().nullable(),
  cta: callToActionSchema.nullable(),
  assignedAt: z.iso.datetime(),
  expiresAt: z.iso.datetime(),
  origin: originSchema.nullable(),
});

export class InvalidBannerError extends Error {
  override name = 'InvalidBannerError';
}

export function newBannerId(): string {
  return `bnr_${randomBytes(12).toString('base64url')}`;
}

export interface NewBanner {
  readonly profileId: string;
  readonly placement: string;
  readonly content: BannerContentInput;
  readonly now: Date;
  /** @default a new random id */
  readonly bannerId?: string;
  /** When it stops showing; wins over ttlHours. @default now + ttlHours */
  readonly expiresAt?: Date;
  /** @default 7 days */
  readonly ttlHours?: number;
  /** @default null (assigned by an operator) */
  readonly origin?: BannerOrigin | null;
}

/**
 * Validates and builds a banner. An expiry in the past is allowed: such a banner is stored and never shown, which
 * is how an assignment is withdrawn without deleting it.
 */
export function newBanner(input: NewBanner): Banner {
  const placement = placementSchema.safeParse(input.placement);
  if (!placement.success) throw new InvalidBannerError(issues(placement.error));
  const content = bannerContentSchema.safeParse(input.content);
  if (!content.success) throw new InvalidBannerError(issues(content.error));
  const bannerId = bannerIdSchema.safeParse(input.bannerId ?? newBannerId());
  if (!bannerId.success) throw new InvalidBannerError(issues(bannerId.error));
  const ttlHours = input.ttlHours ?? DEFAULT_TTL_HOURS;
  if (!(ttlHours > 0 && ttlHours <= MAX_TTL_HOURS))
    throw new InvalidBannerError(`ttlHours must be more than 0 and at most ${MAX_TTL_HOURS}`);
  const expiresAt = input.expiresAt ?? new Date(input.now.getTime() + ttlHours * 3_600_000);
  if (Number.isNaN(expiresAt.getTime())) throw new InvalidBannerError('expiresAt is not a valid time');
  if (expiresAt.getTime() > input.now.getTime() + MAX_TTL_HOURS * 3_600_000)
    throw new InvalidBannerError('expiresAt must be at most a year away');
  return {
    bannerId: bannerId.data,
    profileId: input.profileId,
    placement: placement.data,
    ...content.data,
    assignedAt: input.now.toISOString(),
    expiresAt: expiresAt.toISOString(),
    origin: input.origin ?? null,
  };
}

/** Whether a banner shows at `now`. DynamoDB's TTL deletes expired items late (hours, even days), so reads ask. */
export function isActive(banner: Pick<Banner, 'expiresAt'>, now: Date): boolean {
  return Date.parse(banner.expiresAt) > now.getTime();
}

function issues(error: z.ZodError): string {
  return error.issues
    .map((i) => (i.path.length > 0 ? `${i.path.join('.')}: ${i.message}` : i.message))
    .join('; ');
}
