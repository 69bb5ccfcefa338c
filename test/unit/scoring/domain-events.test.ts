// Score changes and MQL hand-offs become catalogued domain events, once per cause.
import { describe, expect, it } from 'vitest';
import {
  leadQualified,
  leadScoreChanged,
  type ProfileSummary,
  qualifiedEventFor,
  scoreChangedEvent,
} from '../../../functions/scoring/domain-events.ts';
import { applyEvent, emptyScoreState, explain } from '../../../functions/scoring/score.ts';
import { newLifecycle, transition } from '../../../functions/scoring/stages.ts';
import { rules, tracked } from './fixtures.ts';

const now = new Date('2026-03-02T10:00:00.000Z');
const demo = tracked({ event: 'Demo Requested', key: 'd1', at: now.toISOString() });
const scored = applyEvent({ state: emptyScoreState(rules.version), event: demo, rules, now }).state;
const explanation = explain({ state: scored, rules, now });

const profile: ProfileSummary = {
  profileId: 'p-1',
  userId: 'u-1',
  email: 'ada@example.com',
  name: 'Ada',
  company: 'Example GmbH',
  title: 'VP Engineering',
  firstTouch: { channel: 'organic search', campaign: null },
  lastTouch: { channel: 'email', campaign: 'spring-webinar' },
};

describe('lead.score_changed', () => {
  it('carries the previous and new scores under their names, keyed by the cause', () => {
    const event = scoreChangedEvent({
      profileId: 'p-1',
      previous: { behaviour: 0, fit: 0, combined: 0 },
      explanation,
      cause: 'd1',
    });

    expect(event?.detail).toMatchObject({
      dedupeKey: 'p-1:score:d1',
      scores: { behaviour: 50, fit: 0, combined: 50 },
      names: { behaviour: 'behaviour', fit: 'fit', combined: 'combined' },
      rulesVersion: 3,
    });
    expect(leadScoreChanged.detail.parse(event?.detail)).toEqual(event?.detail);
  });

  it('is not sent when no score changed', () => {
    const event = scoreChangedEvent({
      profileId: 'p-1',
      previous: explanation.scores,
      explanation,
      cause: 'd1',
    });

    expect(event).toBeNull();
  });
});

describe('lead.qualified', () => {
  const qualify = transition({
    state: newLifecycle('p-1'),
    input: {
      kind: 'scores',
      previous: { behaviour: 0, fit: 0, combined: 0 },
      current: { behaviour: 120, fit: 0, combined: 120 },
      thresholds: rules.thresholds,
      key: 'score-1',
    },
    now,
  });

  it('hands an MQL to sales with the profile summary and the score explanation', () => {
    const [change] = qualify.events;
    if (!change) throw new Error('no stage change');

    const event = qualifiedEventFor({ change, profile, explanation });

    expect(event?.detail).toMatchObject({ dedupeKey: 'p-1:stage:1:qualified', profile, explanation });
    expect(leadQualified.detail.parse(event?.detail)).toEqual(event?.detail);
  });

  it('is not sent for other stage changes', () => {
    const accepted = transition({
      state: qualify.state,
      input: { kind: 'event', signal: { name: 'sales.accepted' }, key: 's1', by: 'sales' },
      now,
    });
    const [change] = accepted.events;
    if (!change) throw new Error('no stage change');

    expect(qualifiedEventFor({ change, profile, explanation })).toBeNull();
  });
});
