// Schedule triggers: when a journey's schedules fire next, how their timers are named, and what a due firing does.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  JourneyDefinitionError,
  type JourneyDefinitionInput,
  parseJourneyDefinition,
} from '../../../functions/journeys/definition.ts';
import type { JourneyHead, JourneyVersion } from '../../../functions/journeys/model.ts';
import {
  continuationTimer,
  decideScheduleFiring,
  firingKey,
  nextScheduleFire,
  parseScheduleTimerId,
  type ScheduleFiring,
  type ScheduleTrigger,
  scheduleTimerId,
  scheduleTimers,
} from '../../../functions/journeys/schedule-trigger.ts';

const PUBLISHED = '2026-05-01T12:00:00.000Z';

const newsletter = (triggers: JourneyDefinitionInput['triggers']): JourneyDefinitionInput => ({
  name: 'Weekly newsletter',
  triggers,
  start: 'send',
  nodes: { send: { type: 'sendEmail', templateId: 'newsletter', next: 'done' }, done: { type: 'exit' } },
});

function version(triggers: JourneyDefinitionInput['triggers'], number = 3): JourneyVersion {
  return {
    journeyId: 'newsletter',
    version: number,
    definition: parseJourneyDefinition(newsletter(triggers)),
    createdAt: PUBLISHED,
  };
}

function head(overrides: Partial<JourneyHead> = {}): JourneyHead {
  return {
    journeyId: 'newsletter',
    status: 'active',
    latestVersion: 3,
    createdAt: PUBLISHED,
    updatedAt: PUBLISHED,
    ...overrides,
  };
}

const mondayMorningInBerlin: ScheduleTrigger = {
  type: 'schedule',
  expression: 'cron(0 9 ? * MON *)',
  timeZone: 'Europe/Berlin',
  segment: 'subscribers',
};

const weekly: ScheduleTrigger = { type: 'schedule', expression: 'rate(7 days)', segment: 'subscribers' };

const firing: ScheduleFiring = {
  journeyId: 'newsletter',
  version: 3,
  triggerIndex: 0,
  fireAt: '2026-05-04T07:00:00.000Z',
};

describe('when a schedule trigger fires next', () => {
  it('reads a cron in the trigger’s time zone, following daylight saving time', () => {
    const anchor = new Date(PUBLISHED);

    const beforeChange = nextScheduleFire({
      trigger: mondayMorningInBerlin,
      after: new Date('2026-03-20T12:00:00.000Z'),
      anchor,
    });
    const afterChange = nextScheduleFire({
      trigger: mondayMorningInBerlin,
      after: new Date('2026-03-27T12:00:00.000Z'),
      anchor,
    });

    expect(beforeChange?.toISOString()).toBe('2026-03-23T08:00:00.000Z');
    expect(afterChange?.toISOString()).toBe('2026-03-30T07:00:00.000Z');
  });

  it('reads a cron without a time zone in UTC', () => {
    const trigger: ScheduleTrigger = { ...mondayMorningInBerlin, timeZone: undefined };

    const next = nextScheduleFire({
      trigger,
      after: new Date('2026-03-20T12:00:00.000Z'),
      anchor: new Date(),
    });

    expect(next?.toISOString()).toBe('2026-03-23T09:00:00.000Z');
  });

  it('counts a rate in whole periods from the version’s publication, whenever it is asked', () => {
    const anchor = new Date(PUBLISHED);

    const justPublished = nextScheduleFire({ trigger: weekly, after: anchor, anchor });
    const daysLater = nextScheduleFire({
      trigger: weekly,
      after: new Date('2026-05-10T08:00:00.000Z'),
      anchor,
    });

    expect(justPublished?.toISOString()).toBe('2026-05-08T12:00:00.000Z');
    expect(daysLater?.toISOString()).toBe('2026-05-15T12:00:00.000Z');
  });

  it('never fires a cron whose last year has passed', () => {
    const trigger: ScheduleTrigger = { ...mondayMorningInBerlin, expression: 'cron(0 9 ? * MON 2025)' };

    const next = nextScheduleFire({ trigger, after: new Date(PUBLISHED), anchor: new Date(PUBLISHED) });

    expect(next).toBeUndefined();
  });
});

describe('arming a version’s schedules', () => {
  it('puts one timer per schedule trigger, named after its version, index and fire time, due then', () => {
    const published = version([
      { type: 'segment', segment: 'trial' },
      { ...mondayMorningInBerlin },
      { ...weekly },
    ]);

    const timers = scheduleTimers({ version: published, now: new Date('2026-05-02T00:00:00.000Z') });

    expect(timers).toEqual([
      {
        timerId: 's:newsletter:3:1:2026-05-04T07:00:00.000Z',
        dueAt: '2026-05-04T07:00:00.000Z',
        profileId: '-',
        journeyId: 'newsletter',
        kind: 'schedule',
      },
      {
        timerId: 's:newsletter:3:2:2026-05-08T12:00:00.000Z',
        dueAt: '2026-05-08T12:00:00.000Z',
        profileId: '-',
        journeyId: 'newsletter',
        kind: 'schedule',
      },
    ]);
  });

  it('arms the same timers when armed again later in the same period (resume after publish)', () => {
    const published = version([{ ...weekly }, { ...mondayMorningInBerlin }]);

    const atPublish = scheduleTimers({ version: published, now: new Date(PUBLISHED) });
    const atResume = scheduleTimers({ version: published, now: new Date('2026-05-03T18:30:00.000Z') });

    expect(atResume).toEqual(atPublish);
  });
});

describe('schedule timer ids', () => {
  it('read back as the firing they were made from, continuation included', () => {
    fc.assert(
      fc.property(
        fc.stringMatching(/^[a-z0-9][a-z0-9-]{0,62}$/),
        fc.integer({ min: 1, max: 1_000_000 }),
        fc.integer({ min: 0, max: 19 }),
        fc.date({ min: new Date('2000-01-01'), max: new Date('2199-12-31'), noInvalidDate: true }),
        fc.option(fc.string({ minLength: 1, maxLength: 80 }), { nil: undefined }),
        (journeyId, number, triggerIndex, fireAt, after) => {
          const made: ScheduleFiring = {
            journeyId,
            version: number,
            triggerIndex,
            fireAt: fireAt.toISOString(),
            ...(after === undefined ? {} : { after }),
          };

          expect(parseScheduleTimerId(scheduleTimerId(made))).toEqual(made);
        },
      ),
    );
  });

  it('keep a member id with colons and "after=" in it whole', () => {
    const id = scheduleTimerId({ ...firing, after: 'u_a:b:after=c' });

    expect(parseScheduleTimerId(id)?.after).toBe('u_a:b:after=c');
  });

  it('are not recognised in the ids of other timers', () => {
    for (const id of ['e:newsletter:p-1:2026-05-04T07:00:00.000Z', 'tmr_1', 's:newsletter:3:0:yesterday', ''])
      expect(parseScheduleTimerId(id)).toBeUndefined();
  });

  it('give every invocation of one firing the same entry key, so a member is entered once per firing', () => {
    const continued: ScheduleFiring = { ...firing, after: 'u_200' };

    expect(firingKey(continued)).toBe(firingKey(firing));
    expect(firingKey(firing)).toBe('s:newsletter:3:0:2026-05-04T07:00:00.000Z');
    expect(firingKey({ ...firing, fireAt: '2026-05-11T07:00:00.000Z' })).not.toBe(firingKey(firing));
  });

  it('hand the rest of a segment on with a timer due at the firing’s own time, the same on every retry', () => {
    const timer = continuationTimer(firing, 'u_200');

    expect(timer).toEqual({
      timerId: 's:newsletter:3:0:2026-05-04T07:00:00.000Z:after=u_200',
      dueAt: '2026-05-04T07:00:00.000Z',
      profileId: '-',
      journeyId: 'newsletter',
      kind: 'schedule',
    });
  });
});

describe('what a due schedule timer does', () => {
  const latest = version([{ ...mondayMorningInBerlin }]);

  it('enters the segment when its version is the latest of an active journey', () => {
    const decision = decideScheduleFiring({ firing, head: head(), latest });

    expect(decision).toEqual({ action: 'enter', trigger: mondayMorningInBerlin });
  });

  it('only re-arms while the journey is paused, so resuming keeps the cadence', () => {
    const decision = decideScheduleFiring({ firing, head: head({ status: 'paused' }), latest });

    expect(decision.action).toBe('rearm');
  });

  it('stops the cadence of a version a newer one replaced', () => {
    const newer = version([{ ...mondayMorningInBerlin }], 4);

    const decision = decideScheduleFiring({ firing, head: head({ latestVersion: 4 }), latest: newer });

    expect(decision.action).toBe('drop');
  });

  it('stops when the journey no longer exists', () => {
    const decision = decideScheduleFiring({ firing, head: undefined, latest: undefined });

    expect(decision.action).toBe('drop');
  });

  it('stops when the trigger at its index is no longer a schedule', () => {
    const decision = decideScheduleFiring({
      firing: { ...firing, triggerIndex: 1 },
      head: head(),
      latest: version([{ ...mondayMorningInBerlin }, { type: 'segment', segment: 'trial' }]),
    });

    expect(decision.action).toBe('drop');
  });
});

describe('publishing a journey with a schedule trigger', () => {
  it('refuses a cron AWS would reject, naming the trigger', () => {
    const input = newsletter([
      { type: 'schedule', expression: 'cron(0 25 * * ? *)', segment: 'subscribers' },
    ]);

    expect(() => parseJourneyDefinition(input)).toThrow(JourneyDefinitionError);
    expect(() => parseJourneyDefinition(input)).toThrow(/triggers\.0\.expression: .*Hours/);
  });
});
