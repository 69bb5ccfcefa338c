// Journey engine benchmark: the renewal-offer journey's entry, goal and timer steps, pure CPU per step.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseJourneyDefinition } from '../functions/journeys/definition.ts';
import { enter, type JourneyContext, react, resume } from '../functions/journeys/engine.ts';
import type { FactEvent, IncomingEvent, ProfileFacts } from '../functions/journeys/model.ts';

const definition = parseJourneyDefinition(
  JSON.parse(
    readFileSync(
      fileURLToPath(new URL('../examples/renewal/journeys/renewal-offer.json', import.meta.url)),
      'utf8',
    ),
  ),
);

function facts(profileId: string, now: Date): ProfileFacts {
  // A customer with a realistic history: 200 tracked events, the signals the entry condition looks for among them.
  const events: FactEvent[] = [];
  for (let i = 0; i < 200; i += 1)
    events.push({
      event: 'Page Viewed',
      properties: { path: `/p/${i}` },
      at: new Date(now.getTime() - i * 3_600_000).toISOString(),
    });
  events.push({
    event: 'nps.submitted',
    properties: { score: 4 },
    at: new Date(now.getTime() - 86_400_000).toISOString(),
  });
  events.push({
    event: 'complaint.resolved',
    properties: {},
    at: new Date(now.getTime() - 43_200_000).toISOString(),
  });
  return {
    profileId,
    userId: `cus_${profileId}`,
    traits: {
      clv: 7200,
      timezone: 'Europe/Berlin',
      subscription: { endsAt: new Date(now.getTime() + 60 * 86_400_000).toISOString(), plan: 'Premium' },
    },
    scores: {},
    stage: null,
    segments: [],
    events,
  };
}

function perSecond(count: number, ms: number): number {
  return Math.round((count / ms) * 1000);
}

export async function benchJourneyEngine(): Promise<Record<string, number>> {
  const now = new Date('2026-11-23T12:00:00Z');
  const n = 20_000;
  const ctxFor = (i: number, at: Date): JourneyContext => ({
    journeyId: 'renewal-offer',
    version: 1,
    definition,
    status: 'active',
    facts: facts(`p${i}`, at),
    now: at,
  });
  const contexts = Array.from({ length: n }, (_, i) => ctxFor(i, now));

  let started = performance.now();
  const entered = contexts.map((ctx, i) => enter(ctx, undefined, `trigger-${i}`));
  const enterMs = performance.now() - started;

  const goal: IncomingEvent = {
    source: 'nurture.tracking',
    'detail-type': 'event.tracked',
    detail: { type: 'track', event: 'renewal.accepted', properties: {} },
    dedupeKey: 'goal',
    time: now.toISOString(),
  };
  const other: IncomingEvent = {
    ...goal,
    detail: { type: 'track', event: 'Page Viewed', properties: {} },
    dedupeKey: 'pv',
  };
  started = performance.now();
  for (let i = 0; i < n; i += 1) {
    const enrollment = entered[i]?.enrollment;
    const ctx = contexts[i];
    if (enrollment && ctx) react(ctx, enrollment, other);
  }
  const ignoreMs = performance.now() - started;

  started = performance.now();
  for (let i = 0; i < n; i += 1) {
    const enrollment = entered[i]?.enrollment;
    const ctx = contexts[i];
    if (enrollment && ctx) react(ctx, enrollment, goal);
  }
  const goalMs = performance.now() - started;

  const later = new Date(now.getTime() + 86_400_000);
  const laterContexts = Array.from({ length: n }, (_, i) => ctxFor(i, later));
  started = performance.now();
  let sends = 0;
  for (let i = 0; i < n; i += 1) {
    const enrollment = entered[i]?.enrollment;
    const ctx = laterContexts[i];
    const waiting = enrollment?.waiting;
    if (!enrollment || !ctx || !waiting) continue;
    const result = resume(ctx, enrollment, {
      timerId: waiting.timerId,
      dueAt: waiting.until,
      profileId: enrollment.profileId,
      journeyId: 'renewal-offer',
      kind: 'step',
    });
    sends += result.effects.filter((e) => e.kind === 'sendEmail').length;
  }
  const resumeMs = performance.now() - started;

  console.log('\nJourney engine (pure, renewal-offer journey, 200 events per profile, one core)');
  console.log(
    `  entries evaluated and started: ${perSecond(n, enterMs).toLocaleString('en')}/s (${((enterMs * 1000) / n).toFixed(1)} µs each)`,
  );
  console.log(`  events that match nothing: ${perSecond(n, ignoreMs).toLocaleString('en')}/s`);
  console.log(
    `  goal events (exit, cancel timer, clear banners): ${perSecond(n, goalMs).toLocaleString('en')}/s`,
  );
  console.log(
    `  timers resumed (banner + email + next wait): ${perSecond(n, resumeMs).toLocaleString('en')}/s, ${sends} sends`,
  );
  return {
    enterPerSecond: perSecond(n, enterMs),
    ignoredEventsPerSecond: perSecond(n, ignoreMs),
    goalsPerSecond: perSecond(n, goalMs),
    resumesPerSecond: perSecond(n, resumeMs),
  };
}
