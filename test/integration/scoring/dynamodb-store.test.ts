// The scoring store against DynamoDB Local: rules versions, lead state, conflicts, and what journeys read of it.
import { randomUUID } from 'node:crypto';
import { UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { beforeAll, describe, expect, it } from 'vitest';
import { ProfileFactsLoader } from '../../../functions/journeys/facts-store.ts';
import { DynamoDbScoringStore } from '../../../functions/scoring/dynamodb-store.ts';
import { parseScoringRules } from '../../../functions/scoring/rules.ts';
import { applyEvent, emptyScoreState } from '../../../functions/scoring/score.ts';
import { newLifecycle, transition } from '../../../functions/scoring/stages.ts';
import { LeadConflictError, type LeadRecord } from '../../../functions/scoring/store.ts';
import { DynamoDbTrackingStore } from '../../../functions/tracking/dynamodb-store.ts';
import { b2bRules, pageView } from '../../unit/scoring/fixtures.ts';
import { createProfileStoreTable, dynamodb, uniqueName } from '../clients.ts';

const now = new Date('2026-05-01T12:00:00.000Z');
const profileId = () => `prof_${randomUUID()}`;
const rules = parseScoringRules(b2bRules);

/** A first commit: a pricing page view and an MQL stage, as the lead service would write them. */
function firstCommit(read: LeadRecord) {
  const ledger = applyEvent({
    state: emptyScoreState(rules.version),
    event: pageView({ url: 'https://example.com/pricing', key: 'view-1', at: now.toISOString() }),
    rules,
    now,
  }).state;
  const lifecycle = transition({
    state: newLifecycle(read.profileId),
    input: { kind: 'manual', to: 'mql', reason: 'imported', actor: 'test' },
    now,
  }).state;
  return {
    profileId: read.profileId,
    read,
    state: {
      ledger,
      lifecycle,
      announced: { behaviour: 10, fit: 0, combined: 10 },
      attributedDeals: ['deal-1'],
    },
    scores: { behaviour: 10, fit: 0, combined: 10 },
    outbox: [],
  };
}

describe('DynamoDbScoringStore', () => {
  const tableName = uniqueName('scoring');
  const store = new DynamoDbScoringStore({ client: dynamodb, tableName, now: () => now });
  const facts = new ProfileFactsLoader({
    client: dynamodb,
    tableName,
    tracking: new DynamoDbTrackingStore({ client: dynamodb, tableName, eventRetentionDays: 30 }),
  });

  beforeAll(async () => {
    await createProfileStoreTable(tableName);
  });

  describe('rules', () => {
    it('keeps every version, numbered by the store, and serves the latest', async () => {
      const first = await store.putRules({ ...b2bRules, version: 42 });
      const second = await store.putRules({ ...b2bRules, decay: undefined });

      const latest = await store.getRules('latest');
      const older = await store.getRules(first.version);

      expect(second.version).toBe(first.version + 1);
      expect(latest?.rules.version).toBe(second.version);
      expect(latest?.rules.decay).toBeUndefined();
      expect(older?.rules).toMatchObject({ version: first.version, decay: { halfLife: 'P30D' } });
      expect(await store.getRules(second.version + 1)).toBeUndefined();
    });
  });

  describe('lead state', () => {
    it('reads an empty state for a profile scoring never wrote', async () => {
      const id = profileId();

      const lead = await store.getLead(id);

      expect(lead).toMatchObject({
        version: 0,
        announced: null,
        attributedDeals: [],
        scored: {},
        outbox: [],
      });
      expect(lead.lifecycle).toEqual(newLifecycle(id));
    });

    it('round-trips the ledger, lifecycle, attributed deals and outbox', async () => {
      const read = await store.getLead(profileId());
      const commit = firstCommit(read);

      const version = await store.commitLead(commit);
      const lead = await store.getLead(read.profileId);

      expect(version).toBe(1);
      expect(lead).toMatchObject({
        version: 1,
        ledger: commit.state.ledger,
        lifecycle: commit.state.lifecycle,
        announced: commit.state.announced,
        attributedDeals: ['deal-1'],
        scored: commit.scores,
        flat: { stage: 'mql', stageKey: null, scores: commit.scores },
      });
    });

    it('refuses a write computed from a state that changed since', async () => {
      const read = await store.getLead(profileId());
      await store.commitLead(firstCommit(read));

      await expect(store.commitLead(firstCommit(read))).rejects.toBeInstanceOf(LeadConflictError);
    });

    it('refuses a write when a journey set the stage since it was read', async () => {
      const read = await store.getLead(profileId());
      await journeySetsStage({ profileId: read.profileId, stage: 'customer', key: 'step-1' });

      await expect(store.commitLead(firstCommit(read))).rejects.toBeInstanceOf(LeadConflictError);
    });

    it('forgets published events only while the state is unchanged', async () => {
      const read = await store.getLead(profileId());
      const version = await store.commitLead({
        ...firstCommit(read),
        outbox: [
          {
            source: 'nurture.scoring',
            detailType: 'lead.stage_changed',
            detail: {
              dedupeKey: `${read.profileId}:stage:1`,
              profileId: read.profileId,
              from: null,
              to: 'mql',
              at: now.toISOString(),
              reason: 'imported',
              by: 'test',
              trigger: 'manual',
            },
          },
        ],
      });

      await store.clearOutbox({ profileId: read.profileId, version: version + 1 });
      const kept = (await store.getLead(read.profileId)).outbox;
      await store.clearOutbox({ profileId: read.profileId, version });

      expect(kept).toHaveLength(1);
      expect((await store.getLead(read.profileId)).outbox).toEqual([]);
    });
  });

  describe('what journeys see', () => {
    it('shows the stage and rounded scores to the profile facts loader', async () => {
      const read = await store.getLead(profileId());
      await store.commitLead(firstCommit(read));

      expect(await facts.readLeadState(read.profileId)).toEqual({
        scores: { behaviour: 10, fit: 0, combined: 10 },
        stage: 'mql',
      });
    });

    it('keeps points a journey added on top of the rules score', async () => {
      const read = await store.getLead(profileId());
      await store.commitLead(firstCommit(read));
      await journeyAddsScore({ profileId: read.profileId, name: 'combined', points: 7 });
      const second = await store.getLead(read.profileId);

      await store.commitLead({ ...firstCommit(second), scores: { behaviour: 20, fit: 0, combined: 20.25 } });

      expect((await facts.readLeadState(read.profileId)).scores).toEqual({
        behaviour: 20,
        fit: 0,
        combined: 27.25,
      });
    });
  });

  /** What journeys' `addScore` effect writes: an ADD in its own transaction (see journeys/dynamodb-store.ts). */
  async function journeyAddsScore(input: { profileId: string; name: string; points: number }) {
    await dynamodb.send(
      new UpdateItemCommand({
        TableName: tableName,
        Key: { pk: { S: `PROFILE#${input.profileId}` }, sk: { S: 'LEAD' } },
        UpdateExpression: 'ADD #score :points',
        ExpressionAttributeNames: { '#score': `score_${input.name}` },
        ExpressionAttributeValues: { ':points': { N: String(input.points) } },
      }),
    );
  }

  /** What journeys' `setStage` effect writes (see journeys/aws-adapters.ts). */
  async function journeySetsStage(input: { profileId: string; stage: string; key: string }) {
    await dynamodb.send(
      new UpdateItemCommand({
        TableName: tableName,
        Key: { pk: { S: `PROFILE#${input.profileId}` }, sk: { S: 'LEAD' } },
        UpdateExpression: 'SET stage = :stage, stageKey = :key',
        ExpressionAttributeValues: { ':stage': { S: input.stage }, ':key': { S: input.key } },
      }),
    );
  }
});
