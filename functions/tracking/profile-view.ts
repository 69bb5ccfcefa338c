// The profile as the admin API shows it: identities, traits, first/last seen and touch, counters, consent.
import type { ProfileCore, ProfileTraits, TimedTouch } from './profile.ts';

function touchView(touch: TimedTouch | null) {
  if (touch === null) return null;
  return {
    channel: touch.channel,
    campaign: touch.campaign,
    landingPage: touch.landingPage,
    referrer: touch.referrer,
    source: touch.source,
    medium: touch.medium,
    at: touch.at,
  };
}

export function profileView(core: ProfileCore, traits: ProfileTraits) {
  return {
    id: core.id,
    userId: core.userId,
    anonymousIds: core.anonymousIds,
    emails: core.emails,
    traits: traits.traits,
    firstSeen: core.firstSeen,
    lastSeen: core.lastSeen,
    firstTouch: touchView(core.firstTouch),
    lastTouch: touchView(core.lastTouch),
    counters: {
      events: core.counters.events,
      pageViews: core.counters.pageViews,
      sessions: core.counters.sessions,
      sessionsByChannel: core.counters.sessionsByChannel,
    },
    consent: core.consent,
    mergedFrom: core.mergedFrom,
  };
}

export type ProfileView = ReturnType<typeof profileView>;
