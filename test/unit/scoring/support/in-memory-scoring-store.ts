// In-memory scoring store and publisher for service tests: the DynamoDB adapter's conditions without DynamoDB.
import type { LeadStage } from '../../../../functions/journeys/definition.ts';
import type { ProfileSummary } from '../../../../functions/scoring/domain-events.ts';
import { type ScoringRulesInput, scoringRulesSchema } from '../../../../functions/scoring/rules.ts';
import { emptyScoreState } from '../../../../functions/scoring/score.ts';
import type { ProfileSummaries, ScoringPublisher } from '../../../../functions/scoring/service.ts';
import { newLifecycle } from '../../../../functions/scoring/stages.ts';
import {
  type LeadCommit,
  LeadConflictError,
  type LeadRecord,
  type ScoringEvent,
  type ScoringStore,
  type StoredRules,
} from '../../../../functions/scoring/store.ts';

const round = (value: number) => Math.round(value * 100) / 100 || 0;

export class InMemoryScoringStore implements ScoringStore {
  private readonly rules: StoredRules[] = [];
  private readonly leads = new Map<string, LeadRecord>();
  private readonly interruptions: (() => Promise<void>)[] = [];
  private interrupting = false;
  commits = 0;

  async putRules(input: ScoringRulesInput): Promise<StoredRules> {
    const version = this.rules.length + 1;
    const stored = {
      version,
      rules: { ...scoringRulesSchema.parse(input), version },
      createdAt: new Date(0).toISOString(),
    };
    this.rules.push(stored);
    return stored;
  }

  async getRules(version: number | 'latest'): Promise<StoredRules | undefined> {
    return version === 'latest' ? this.rules.at(-1) : this.rules[version - 1];
  }

  async getLead(profileId: string): Promise<LeadRecord> {
    return (
      this.leads.get(profileId) ?? {
        profileId,
        version: 0,
        ledger: emptyScoreState(),
        lifecycle: newLifecycle(profileId),
        announced: null,
        attributedDeals: [],
        flat: { stage: null, stageKey: null, scores: {} },
        scored: {},
        outbox: [],
      }
    );
  }

  async commitLead(commit: LeadCommit): Promise<number> {
    // The interrupting writer's own commits go straight through.
    const interruption = this.interrupting ? undefined : this.interruptions.shift();
    if (interruption) {
      this.interrupting = true;
      await interruption().finally(() => {
        this.interrupting = false;
      });
    }
    const current = await this.getLead(commit.profileId);
    if (current.version !== commit.read.version || current.flat.stageKey !== commit.read.flat.stageKey)
      throw new LeadConflictError(`lead ${commit.profileId} changed`);
    // Like the adapter: the flat score moves by the difference, so journey points stay on top.
    const flatScores: Record<string, number> = { ...current.flat.scores };
    for (const name of new Set([...Object.keys(commit.read.scored), ...Object.keys(commit.scores)]))
      flatScores[name] = round(
        (flatScores[name] ?? 0) + (commit.scores[name] ?? 0) - (commit.read.scored[name] ?? 0),
      );
    const version = current.version + 1;
    this.leads.set(commit.profileId, {
      ...commit.state,
      profileId: commit.profileId,
      version,
      flat: { stage: commit.state.lifecycle.stage, stageKey: current.flat.stageKey, scores: flatScores },
      scored: commit.scores,
      outbox: commit.outbox,
    });
    this.commits += 1;
    return version;
  }

  async clearOutbox(input: { profileId: string; version: number }): Promise<void> {
    const current = this.leads.get(input.profileId);
    if (current?.version === input.version) this.leads.set(input.profileId, { ...current, outbox: [] });
  }

  /** Runs `change` just before the next commit is checked: another writer getting there first. */
  interruptNextCommit(change: () => Promise<void>): void {
    this.interruptions.push(change);
  }

  /** What journeys' `setStage` effect does to the item: SET stage and stageKey, nothing else. */
  async journeySetsStage(input: { profileId: string; stage: LeadStage; key: string }): Promise<void> {
    const current = await this.getLead(input.profileId);
    this.leads.set(input.profileId, {
      ...current,
      flat: { ...current.flat, stage: input.stage, stageKey: input.key },
    });
  }

  /** What journeys' `addScore` effect does to the item: ADD to `score_<name>`, nothing else. */
  async journeyAddsScore(input: { profileId: string; name: string; points: number }): Promise<void> {
    const current = await this.getLead(input.profileId);
    const scores = {
      ...current.flat.scores,
      [input.name]: (current.flat.scores[input.name] ?? 0) + input.points,
    };
    this.leads.set(input.profileId, { ...current, flat: { ...current.flat, scores } });
  }
}

export class RecordingPublisher implements ScoringPublisher {
  readonly published: ScoringEvent[] = [];
  private failures = 0;

  async publish(events: readonly ScoringEvent[]): Promise<void> {
    if (this.failures > 0) {
      this.failures -= 1;
      throw new Error('the bus is unavailable');
    }
    this.published.push(...events);
  }

  failNext(times: number): void {
    this.failures = times;
  }

  ofType<Type extends ScoringEvent['detailType']>(
    detailType: Type,
  ): Extract<ScoringEvent, { detailType: Type }>[] {
    return this.published.filter(
      (event): event is Extract<ScoringEvent, { detailType: Type }> => event.detailType === detailType,
    );
  }
}

export class FixedProfileSummaries implements ProfileSummaries {
  async summary(profileId: string): Promise<ProfileSummary> {
    return {
      profileId,
      userId: 'user-1',
      email: 'ada@example.com',
      name: 'Ada Lovelace',
      company: 'Analytical Engines',
      title: 'VP Engineering',
      firstTouch: { channel: 'organic', campaign: null },
      lastTouch: { channel: 'email', campaign: 'spring-launch' },
    };
  }
}
