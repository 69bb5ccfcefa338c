// One profile's whole history in time order: behaviour, enrichment, points, stages, messages, journeys, segments.
import type { JsonObject } from '../tracking/model.ts';

export const TIMELINE_KINDS = [
  'profile',
  'event',
  'enrichment',
  'score',
  'stage',
  'message',
  'journey',
  'segment',
] as const;
export type TimelineKind = (typeof TIMELINE_KINDS)[number];

export interface TimelineEntry {
  readonly at: string;
  readonly kind: TimelineKind;
  /** One line an operator reads without opening the detail. */
  readonly summary: string;
  readonly detail: JsonObject;
}

/** The parts of each domain's records the timeline reads; plain data, so each store's shape stays its own. */
export interface TimelineSources {
  readonly profile: { readonly id: string; readonly firstSeen: string | null; readonly traits: JsonObject };
  readonly events: readonly {
    readonly messageId: string;
    readonly type: string;
    readonly event: string | null;
    readonly name: string | null;
    readonly eventTime: string;
    readonly channel: string | null;
    readonly campaign: string | null;
    readonly properties: JsonObject;
  }[];
  readonly lead: {
    readonly awards: readonly { readonly ruleId: string; readonly points: number; readonly at: string }[];
    readonly fit: readonly { readonly ruleId: string; readonly points: number; readonly since: string }[];
    readonly transitions: readonly {
      readonly from: string | null;
      readonly to: string;
      readonly at: string;
      readonly reason: string;
      readonly by: string;
      readonly trigger: string;
    }[];
  } | null;
  readonly messages: readonly {
    readonly messageId: string;
    readonly templateId: string;
    readonly subject: string | null;
    readonly history: readonly {
      readonly at: string;
      readonly status: string;
      readonly note: string | null;
    }[];
  }[];
  readonly journeys: readonly {
    readonly journeyId: string;
    readonly run: number;
    readonly history: readonly { readonly at: string; readonly nodeId: string; readonly outcome: string }[];
  }[];
  readonly segments: readonly { readonly segmentId: string; readonly enteredAt: string }[];
}

const signed = (points: number) => (points >= 0 ? `+${points}` : String(points));

function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function eventSummary(event: TimelineSources['events'][number]): string {
  const via = event.channel ? ` (${event.channel}${event.campaign ? `, ${event.campaign}` : ''})` : '';
  if (event.type === 'track') return `tracked "${event.event ?? ''}"${via}`;
  if (event.type === 'page' || event.type === 'screen') {
    const path = typeof event.properties.path === 'string' ? event.properties.path : (event.name ?? '');
    return `${event.type} view ${path}${via}`.trim();
  }
  return `${event.type}${via}`;
}

/** Enrichment namespaces carry `provenance: { source, version, at }`; each becomes one entry. */
function enrichmentEntries(traits: JsonObject): TimelineEntry[] {
  const enrichment = traits.enrichment;
  if (!isObject(enrichment)) return [];
  return Object.entries(enrichment).flatMap(([namespace, fields]) => {
    if (!isObject(fields) || !isObject(fields.provenance)) return [];
    const { source, version, at } = fields.provenance;
    if (typeof at !== 'string') return [];
    const { provenance: _, ...found } = fields;
    return [
      {
        at,
        kind: 'enrichment' as const,
        summary: `enriched ${namespace} by ${String(source)} ${String(version)}`,
        detail: { namespace, ...found },
      },
    ];
  });
}

/**
 * Newest first, `limit` at most. Entries at the same instant keep a fixed order (profile, event, enrichment,
 * score, stage, …) so a repeated read answers the same.
 */
export function buildTimeline(sources: TimelineSources, limit: number): TimelineEntry[] {
  const entries: TimelineEntry[] = [];
  if (sources.profile.firstSeen)
    entries.push({ at: sources.profile.firstSeen, kind: 'profile', summary: 'first seen', detail: {} });
  for (const event of sources.events)
    entries.push({
      at: event.eventTime,
      kind: 'event',
      summary: eventSummary(event),
      detail: {
        messageId: event.messageId,
        type: event.type,
        event: event.event,
        properties: event.properties,
      },
    });
  entries.push(...enrichmentEntries(sources.profile.traits));
  for (const award of sources.lead?.awards ?? [])
    entries.push({
      at: award.at,
      kind: 'score',
      summary: `${signed(award.points)} behaviour points (rule ${award.ruleId})`,
      detail: { ruleId: award.ruleId, points: award.points, score: 'behaviour' },
    });
  for (const award of sources.lead?.fit ?? [])
    entries.push({
      at: award.since,
      kind: 'score',
      summary: `${signed(award.points)} fit points (rule ${award.ruleId})`,
      detail: { ruleId: award.ruleId, points: award.points, score: 'fit' },
    });
  for (const move of sources.lead?.transitions ?? [])
    entries.push({
      at: move.at,
      kind: 'stage',
      summary: `stage ${move.from ?? '(none)'} → ${move.to}: ${move.reason} (${move.trigger}, by ${move.by})`,
      detail: { from: move.from, to: move.to, reason: move.reason, by: move.by, trigger: move.trigger },
    });
  for (const message of sources.messages)
    for (const step of message.history)
      entries.push({
        at: step.at,
        kind: 'message',
        summary: `email ${message.templateId}${message.subject ? ` "${message.subject}"` : ''} ${step.status}${step.note ? `: ${step.note}` : ''}`,
        detail: { messageId: message.messageId, templateId: message.templateId, status: step.status },
      });
  for (const run of sources.journeys)
    for (const step of run.history)
      entries.push({
        at: step.at,
        kind: 'journey',
        summary: `journey ${run.journeyId} at ${step.nodeId}: ${step.outcome}`,
        detail: { journeyId: run.journeyId, run: run.run, nodeId: step.nodeId, outcome: step.outcome },
      });
  for (const segment of sources.segments)
    entries.push({
      at: segment.enteredAt,
      kind: 'segment',
      summary: `entered segment ${segment.segmentId}`,
      detail: { segmentId: segment.segmentId },
    });
  const order = (kind: TimelineKind) => TIMELINE_KINDS.indexOf(kind);
  return entries
    .map((entry, index) => ({ entry, index, time: Date.parse(entry.at) }))
    .sort((a, b) => b.time - a.time || order(b.entry.kind) - order(a.entry.kind) || b.index - a.index)
    .slice(0, limit)
    .map(({ entry }) => entry);
}
