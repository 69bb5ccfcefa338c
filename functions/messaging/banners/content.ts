// What the content endpoint answers for a banner: its content, with the call to action behind a signed, tracked link.
import type { TokenSigner } from '../tokens.ts';
import { type Banner, isActive } from './banner.ts';

/** The JSON a site receives for a placement. */
export interface BannerContent {
  readonly id: string;
  readonly title: string;
  readonly body: string;
  readonly html: string | null;
  readonly cta: { readonly label: string; readonly url: string } | null;
}

export interface ContentOptions {
  readonly now: Date;
  /** Origin (and optional path prefix) of the API that serves `/e/b/{token}`; a trailing slash is ignored. */
  readonly trackingBaseUrl: string;
  readonly signer: TokenSigner;
}

/** The content to show now, or null once the banner has expired. */
export function contentFor(banner: Banner, options: ContentOptions): BannerContent | null {
  if (!isActive(banner, options.now)) return null;
  return {
    id: banner.bannerId,
    title: banner.title,
    body: banner.body,
    html: banner.html,
    cta:
      banner.cta === null
        ? null
        : { label: banner.cta.label, url: trackedUrl({ ...banner, url: banner.cta.url }, options) },
  };
}

/** The signed click link resolves to the destination only while the banner lives, and to nothing else. */
function trackedUrl(
  link: Pick<Banner, 'bannerId' | 'profileId' | 'expiresAt'> & { readonly url: string },
  options: ContentOptions,
): string {
  const token = options.signer.sign({
    kind: 'banner-click',
    bannerId: link.bannerId,
    profileId: link.profileId,
    url: link.url,
    expiresAt: new Date(link.expiresAt),
  });
  return `${options.trackingBaseUrl.replace(/\/+$/, '')}/e/b/${token}`;
}
