// The banner admin API's shapes: what an operator sends to assign a banner, and how banners are shown back.
import * as z from 'zod';
import {
  type Banner,
  bannerIdSchema,
  callToActionSchema,
  MAX_BODY_LENGTH,
  MAX_HTML_BYTES,
  MAX_TITLE_LENGTH,
  MAX_TTL_HOURS,
  newBanner,
} from './banner.ts';

/** `PUT /admin/profiles/{id}/banners/{placement}`. Plain shapes (no defaults), so the documented body is exact. */
export const assignBannerRequest = z
  .object({
    title: z.string().min(1).max(MAX_TITLE_LENGTH),
    body: z.string().max(MAX_BODY_LENGTH).optional(),
    html: z
      .string()
      .max(MAX_HTML_BYTES)
      .nullable()
      .optional()
      .meta({ description: `Trusted HTML rendered as is by the snippet; at most ${MAX_HTML_BYTES} bytes.` }),
    cta: callToActionSchema.nullable().optional(),
    expiresAt: z.iso
      .datetime({ offset: true })
      .optional()
      .meta({ description: 'When it stops showing; a time in the past stores a banner that never shows.' }),
    ttlHours: z
      .number()
      .positive()
      .max(MAX_TTL_HOURS)
      .optional()
      .meta({ description: 'Hours until it stops showing (default 168, 7 days); not with expiresAt.' }),
    bannerId: bannerIdSchema
      .optional()
      .meta({ description: 'Assigning an active banner again under the same id changes nothing.' }),
  })
  .refine((input) => input.expiresAt === undefined || input.ttlHours === undefined, {
    message: 'give expiresAt or ttlHours, not both',
  });
export type AssignBannerRequest = z.output<typeof assignBannerRequest>;

/** Builds the banner an operator asked for; InvalidBannerError says what is wrong with it. */
export function bannerFromRequest(input: {
  readonly profileId: string;
  readonly placement: string;
  readonly request: AssignBannerRequest;
  readonly now: Date;
}): Banner {
  const { request } = input;
  return newBanner({
    profileId: input.profileId,
    placement: input.placement,
    now: input.now,
    content: { title: request.title, body: request.body, html: request.html, cta: request.cta },
    ...(request.bannerId === undefined ? {} : { bannerId: request.bannerId }),
    ...(request.expiresAt === undefined ? {} : { expiresAt: new Date(request.expiresAt) }),
    ...(request.ttlHours === undefined ? {} : { ttlHours: request.ttlHours }),
  });
}
