// Won deals as tracked `deal.won` events (a CRM or the app tracks them), read for the closed revenue loop.
import * as z from 'zod';
import { isTrackedEvent } from '../journeys/matching.ts';
import type { IncomingEvent } from '../journeys/model.ts';

export const DEAL_WON_EVENT = 'deal.won';

const wonDealPropertiesSchema = z.object({
  dealId: z.string().trim().min(1),
  revenue: z.number().nonnegative(),
  currency: z
    .string()
    .regex(/^[A-Za-z]{3}$/, 'an ISO 4217 code')
    .transform((code) => code.toUpperCase())
    .default('USD'),
});

export interface WonDeal {
  readonly dealId: string;
  readonly revenue: number;
  readonly currency: string;
  /** When the deal was won: the event's own time. */
  readonly at: string;
}

export type WonDealReading = { readonly deal: WonDeal } | { readonly deal: null; readonly reason: string };

/** Whether a tracked or domain event says a deal was won, whatever its properties. */
export function isDealWon(event: IncomingEvent): boolean {
  return isTrackedEvent(event) && event.detail.event === DEAL_WON_EVENT;
}

/**
 * The deal a `deal.won` event carries, or why it carries none. A malformed one still makes a customer (the deal was
 * won) but cannot be attributed, so the reason is returned for the caller to log rather than thrown.
 */
export function wonDealFrom(event: IncomingEvent): WonDealReading {
  const parsed = wonDealPropertiesSchema.safeParse(event.detail.properties ?? {});
  if (!parsed.success)
    return {
      deal: null,
      reason: `deal.won without a valid dealId and revenue: ${z.prettifyError(parsed.error).replaceAll('\n', '; ')}`,
    };
  // The tracked event's own (corrected) time: revenue counts on the day the deal was won, not when it was processed.
  const eventTime = event.detail.eventTime;
  return { deal: { ...parsed.data, at: typeof eventTime === 'string' ? eventTime : event.time } };
}
