// Banner views and clicks as profile events ("Banner Viewed", "Banner Clicked"), ingested like server-side track calls.
import { enrich } from '../../tracking/enrichment/index.ts';
import type { EnrichedEvent, JsonObject, NormalizedEvent } from '../../tracking/model.ts';
import type { Identity } from '../../tracking/profile.ts';

export const BANNER_VIEWED = 'Banner Viewed';
export const BANNER_CLICKED = 'Banner Clicked';

/**
 * Clicks arrive without a write key (the signed link authenticates them), so they are filed under this source;
 * views are filed under the source whose write key asked for the content.
 */
export const BANNER_CLICK_SOURCE = 'banners';

export type BannerActivityEvent =
  | { readonly kind: 'viewed'; readonly bannerId: string; readonly placement: string }
  | { readonly kind: 'clicked'; readonly bannerId: string; readonly url: string };

export interface BannerActivityRequest {
  /** Who saw or clicked: the identity the content was asked for, or one of the profile's own. */
  readonly identity: Extract<Identity, { kind: 'anonymousId' | 'userId' }>;
  readonly sourceId: string;
  /** The HTTP request's id: a retried request carries the same one, so it is stored once. */
  readonly requestId: string;
  readonly receivedAt: Date;
  readonly userAgent?: string;
  readonly sourceIp?: string;
}

/** The track event for a view or a click; its messageId depends only on the request, never on the clock. */
export function bannerActivity(activity: BannerActivityEvent, request: BannerActivityRequest): EnrichedEvent {
  const properties: JsonObject =
    activity.kind === 'viewed'
      ? { bannerId: activity.bannerId, placement: activity.placement }
      : { bannerId: activity.bannerId, url: activity.url };
  const event: NormalizedEvent = {
    type: 'track',
    protocol: 'segment',
    messageId: `banner-${activity.kind}-${request.requestId}`,
    ...(request.identity.kind === 'userId'
      ? { userId: request.identity.value }
      : { anonymousId: request.identity.value }),
    event: activity.kind === 'viewed' ? BANNER_VIEWED : BANNER_CLICKED,
    traits: {},
    properties,
    context: { library: { name: 'nurture-banners', version: '1' } },
  };
  return {
    ...event,
    sourceId: request.sourceId,
    enrichment: enrich(event, {
      receivedAt: request.receivedAt,
      ...(request.userAgent ? { userAgentHeader: request.userAgent } : {}),
      ...(request.sourceIp ? { sourceIp: request.sourceIp } : {}),
    }),
  };
}
