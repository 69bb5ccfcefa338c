// What the admin API shows of journeys, enrollments and statistics (internal bookkeeping left out).
import type { JourneyDefinition } from './definition.ts';
import { type Enrollment, type JourneyHead, type JourneyVersion, NODE_COUNTERS } from './model.ts';
import type { JourneyStats } from './store.ts';

export function journeyView(head: JourneyHead, latest: JourneyVersion | undefined) {
  return {
    id: head.journeyId,
    status: head.status,
    version: head.latestVersion,
    createdAt: head.createdAt,
    updatedAt: head.updatedAt,
    name: latest?.definition.name ?? null,
    definition: latest?.definition ?? null,
  };
}

export function enrollmentView(enrollment: Enrollment) {
  return {
    journeyId: enrollment.journeyId,
    journeyVersion: enrollment.journeyVersion,
    run: enrollment.run,
    status: enrollment.status,
    exitReason: enrollment.exitReason,
    goalId: enrollment.goalId,
    nodeId: enrollment.nodeId,
    waiting: enrollment.waiting
      ? { kind: enrollment.waiting.kind, nodeId: enrollment.waiting.nodeId, until: enrollment.waiting.until }
      : null,
    variant: enrollment.variant,
    enteredAt: enrollment.enteredAt,
    updatedAt: enrollment.updatedAt,
    exitedAt: enrollment.exitedAt,
    history: enrollment.history,
  };
}

type Counts = Record<(typeof NODE_COUNTERS)[number], number>;

function counts(values: Partial<Record<string, number>> | undefined): Counts {
  return Object.fromEntries(NODE_COUNTERS.map((c) => [c, values?.[c] ?? 0])) as Counts;
}

/** Per node: totals and per variant, in the definition's node order, nodes without activity included. */
export function statsView(input: {
  journeyId: string;
  version: number | null;
  definition: JourneyDefinition | undefined;
  stats: JourneyStats;
}) {
  const nodeIds = new Set([...Object.keys(input.definition?.nodes ?? {}), ...Object.keys(input.stats.nodes)]);
  const nodes = [...nodeIds].map((nodeId) => {
    const byVariant = input.stats.nodes[nodeId] ?? {};
    const total = counts(undefined);
    const variants: Record<string, Counts> = {};
    for (const [variant, values] of Object.entries(byVariant)) {
      const c = counts(values);
      for (const key of NODE_COUNTERS) total[key] += c[key];
      if (variant !== '') variants[variant] = c;
    }
    return { nodeId, type: input.definition?.nodes[nodeId]?.type ?? null, ...total, variants };
  });
  return { journeyId: input.journeyId, version: input.version, nodes };
}
