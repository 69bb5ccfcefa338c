// What the admin API shows of messages and template statistics: no recipient address, reasons in plain words.
import type { MessageCounter, MessageRecord } from './lifecycle.ts';
import type { MessageStats } from './store.ts';

export function messageView(record: MessageRecord) {
  const { request } = record;
  return {
    messageId: request.messageId,
    profileId: request.profileId,
    templateId: request.templateId,
    templateVersion: record.templateVersion,
    idempotencyKey: request.idempotencyKey,
    origin: request.origin,
    test: request.test,
    topic: record.topic,
    subject: record.subject,
    status: record.status,
    reason: record.reason,
    detail: record.detail,
    attempts: record.attempt,
    sesMessageId: record.sesMessageId,
    createdAt: request.createdAt,
    sentAt: record.sentAt,
    deliveredAt: record.deliveredAt,
    bouncedAt: record.bouncedAt,
    complainedAt: record.complainedAt,
    firstOpenedAt: record.firstOpenedAt,
    firstHumanOpenAt: record.firstHumanOpenAt,
    firstClickedAt: record.firstClickedAt,
    unsubscribedAt: record.unsubscribedAt,
    opens: record.opens,
    clicks: record.clicks,
    softBounces: record.softBounces,
    history: record.history,
  };
}
export type MessageView = ReturnType<typeof messageView>;

const rate = (part: number | undefined, whole: number | undefined) =>
  whole && whole > 0 ? Math.round(((part ?? 0) / whole) * 10_000) / 10_000 : null;

/** Totals and rates; open and click rates count human activity only, so machine opens cannot inflate them. */
export function statsView(templateId: string, stats: readonly MessageStats[]) {
  const totals: Partial<Record<MessageCounter, number>> = {};
  for (const entry of stats)
    for (const [name, value] of Object.entries(entry.counters) as Array<[MessageCounter, number]>)
      totals[name] = (totals[name] ?? 0) + value;
  const withRates = (counters: Partial<Record<MessageCounter, number>>) => ({
    counters,
    rates: {
      delivery: rate(counters.delivered, counters.sent),
      bounce: rate(counters.bounced, counters.sent),
      complaint: rate(counters.complained, counters.delivered),
      humanOpen: rate(counters.humanOpened, counters.delivered),
      humanClick: rate(counters.humanClicked, counters.delivered),
      clickToOpen: rate(counters.humanClicked, counters.humanOpened),
      unsubscribe: rate(counters.unsubscribed, counters.delivered),
    },
  });
  return {
    templateId,
    ...withRates(totals),
    byOrigin: stats.map((entry) => ({
      journeyId: entry.journeyId,
      stepId: entry.stepId,
      variant: entry.variant,
      ...withRates(entry.counters),
    })),
  };
}
