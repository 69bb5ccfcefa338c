// The banner store port: assignments per profile and placement, and impression and click counters per banner.
import type { Banner } from './banner.ts';

export type BannerActivity = 'impression' | 'click';

export interface BannerStats {
  readonly impressions: number;
  readonly clicks: number;
}

export interface BannerStore {
  /**
   * Assigns a banner to its profile's placement, replacing whatever banner was there. Assigning the same bannerId
   * again while it is active changes nothing (a retried journey step), and answers with the banner as stored.
   */
  assign(banner: Banner): Promise<Banner>;
  /** The active banner of a placement; expired ones are never returned, whether or not TTL has removed them yet. */
  get(profileId: string, placement: string): Promise<Banner | undefined>;
  /** Every active banner of a profile, by placement. */
  list(profileId: string): Promise<Banner[]>;
  /** Removes one placement's banner, or every banner of the profile (a goal reached, a journey exited). */
  clear(profileId: string, placement?: string): Promise<void>;
  /** Adds one impression or click to a banner's counters. */
  count(bannerId: string, activity: BannerActivity): Promise<void>;
  stats(bannerId: string): Promise<BannerStats>;
}
