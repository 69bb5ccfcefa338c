// DynamoDB adapter of the scoring store: rules as versioned documents, lead state on the profile's LEAD item.
import {
  type AttributeValue,
  ConditionalCheckFailedException,
  type DynamoDBClient,
  GetItemCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import * as z from 'zod';
import { LEAD_STAGES } from '../journeys/definition.ts';
import { SCORE_ATTRIBUTE_PREFIX } from '../journeys/dynamodb-store.ts';
import { type StoredVersion, VersionedDocuments } from '../shared/versioned-documents.ts';
import {
  SCORE_NAME_PATTERN,
  type ScoringRules,
  type ScoringRulesInput,
  scoringRulesSchema,
} from './rules.ts';
import { emptyScoreState } from './score.ts';
import { newLifecycle } from './stages.ts';
import {
  type LeadCommit,
  LeadConflictError,
  type LeadRecord,
  leadStateSchema,
  type ScoringEvent,
  type ScoringStore,
  type StoredRules,
  scoringEventSchema,
} from './store.ts';

type Attributes = Record<string, AttributeValue>;

const RULES_ID = 'rules';
const MAX_ATTEMPTS = 5;

const headSchema = z.object({ latestVersion: z.int().min(1) });
const scoredSchema = z.record(z.string(), z.number());
const stageSchema = z.enum(LEAD_STAGES).nullable();

export interface DynamoDbScoringStoreOptions {
  readonly client: DynamoDBClient;
  readonly tableName: string;
  readonly now?: () => Date;
}

const leadKey = (profileId: string) => ({ pk: { S: `PROFILE#${profileId}` }, sk: { S: 'LEAD' } });

/** Two decimals, as scores are stored; keeps float noise out of the ADDed differences. */
const round = (value: number) => Math.round(value * 100) / 100 || 0;

function toStoredRules(stored: StoredVersion<ScoringRules>): StoredRules {
  // The version number is the store's, whatever the document said when it was put.
  return {
    version: stored.version,
    rules: { ...stored.document, version: stored.version },
    createdAt: stored.createdAt,
  };
}

function parseJson<T>(schema: z.ZodType<T>, text: string | undefined): T | undefined {
  return text === undefined ? undefined : schema.parse(JSON.parse(text));
}

export class DynamoDbScoringStore implements ScoringStore {
  private readonly client: DynamoDBClient;
  private readonly tableName: string;
  private readonly rules: VersionedDocuments<ScoringRules, z.infer<typeof headSchema>>;

  constructor(options: DynamoDbScoringStoreOptions) {
    this.client = options.client;
    this.tableName = options.tableName;
    this.rules = new VersionedDocuments({
      client: options.client,
      tableName: options.tableName,
      now: options.now ?? (() => new Date()),
      kind: 'scoring rules',
      partitionPrefix: 'SCORING#',
      listPartition: 'SCORING',
      idAttribute: 'scoringId',
      schema: scoringRulesSchema,
      parseHead: (item) => headSchema.parse({ latestVersion: Number(item.latestVersion?.N) }),
      maxAttempts: MAX_ATTEMPTS,
    });
  }

  async putRules(input: ScoringRulesInput): Promise<StoredRules> {
    const document = scoringRulesSchema.parse(input);
    return toStoredRules(await this.rules.put({ id: RULES_ID, document }));
  }

  async getRules(version: number | 'latest'): Promise<StoredRules | undefined> {
    const wanted = version === 'latest' ? (await this.rules.getHead(RULES_ID))?.latestVersion : version;
    if (wanted === undefined) return undefined;
    const stored = await this.rules.getVersion(RULES_ID, wanted);
    return stored && toStoredRules(stored);
  }

  async getLead(profileId: string): Promise<LeadRecord> {
    const { Item = {} } = await this.client.send(
      new GetItemCommand({ TableName: this.tableName, Key: leadKey(profileId), ConsistentRead: true }),
    );
    const flatScores: Record<string, number> = {};
    for (const [name, value] of Object.entries(Item)) {
      if (name.startsWith(SCORE_ATTRIBUTE_PREFIX) && value.N !== undefined)
        flatScores[name.slice(SCORE_ATTRIBUTE_PREFIX.length)] = Number(value.N);
    }
    const state =
      Item.ledger?.S === undefined
        ? undefined
        : leadStateSchema.parse({
            ledger: JSON.parse(Item.ledger.S),
            lifecycle: JSON.parse(Item.lifecycle?.S ?? 'null'),
            announced: JSON.parse(Item.announced?.S ?? 'null'),
            attributedDeals:
              Item.attributedDeals?.S === undefined ? undefined : JSON.parse(Item.attributedDeals.S),
          });
    return {
      profileId,
      version: Item.leadVersion?.N === undefined ? 0 : Number(Item.leadVersion.N),
      ledger: state?.ledger ?? emptyScoreState(),
      lifecycle: state?.lifecycle ?? newLifecycle(profileId),
      announced: state?.announced ?? null,
      attributedDeals: state?.attributedDeals ?? [],
      flat: {
        stage: stageSchema.parse(Item.stage?.S ?? null),
        stageKey: Item.stageKey?.S ?? null,
        scores: flatScores,
      },
      scored: parseJson(scoredSchema, Item.scored?.S) ?? {},
      outbox: parseJson(z.array(scoringEventSchema), Item.outbox?.S) ?? [],
    };
  }

  /**
   * Journeys' `addScore` ADDs to `score_<name>` in its own transaction, without reading this item. So the flat score
   * is written as an ADD of the difference from what scoring wrote last (`scored`): journey points stay on top of
   * the rules' score, and neither writer loses the other's update. Journeys' `setStage` SETs `stage` and `stageKey`;
   * the condition on the `stageKey` seen makes this write retry (and adopt the journey's stage) if one lands between.
   */
  async commitLead(commit: LeadCommit): Promise<number> {
    const { read, state } = commit;
    const version = read.version + 1;
    const names: Record<string, string> = {
      '#ledger': 'ledger',
      '#lifecycle': 'lifecycle',
      '#announced': 'announced',
      '#attributedDeals': 'attributedDeals',
      '#scored': 'scored',
      '#outbox': 'outbox',
      '#version': 'leadVersion',
      '#stage': 'stage',
      '#stageKey': 'stageKey',
    };
    const values: Attributes = {
      ':ledger': { S: JSON.stringify(state.ledger) },
      ':lifecycle': { S: JSON.stringify(state.lifecycle) },
      ':announced': { S: JSON.stringify(state.announced) },
      ':attributedDeals': { S: JSON.stringify(state.attributedDeals) },
      ':scored': { S: JSON.stringify(commit.scores) },
      ':outbox': { S: JSON.stringify(commit.outbox) },
      ':version': { N: String(version) },
    };
    const sets = [
      '#ledger = :ledger',
      '#lifecycle = :lifecycle',
      '#announced = :announced',
      '#attributedDeals = :attributedDeals',
      '#scored = :scored',
      '#outbox = :outbox',
      '#version = :version',
    ];
    const removes: string[] = [];
    if (state.lifecycle.stage === null) removes.push('#stage');
    else {
      sets.push('#stage = :stage');
      values[':stage'] = { S: state.lifecycle.stage };
    }
    const adds: string[] = [];
    const scoreNames = new Set([...Object.keys(read.scored), ...Object.keys(commit.scores)]);
    [...scoreNames].forEach((name, index) => {
      if (!SCORE_NAME_PATTERN.test(name))
        throw new Error(`score name "${name}" must be 1–64 of A-Z, a-z, 0-9, "_" and "-"`);
      const delta = round((commit.scores[name] ?? 0) - (read.scored[name] ?? 0));
      // ADD 0 still creates the attribute, so a score of 0 reads as 0 rather than missing.
      if (delta === 0 && name in read.scored) return;
      names[`#s${index}`] = `${SCORE_ATTRIBUTE_PREFIX}${name}`;
      values[`:s${index}`] = { N: String(delta) };
      adds.push(`#s${index} :s${index}`);
    });
    const conditions = [read.version === 0 ? 'attribute_not_exists(#version)' : '#version = :expected'];
    if (read.version !== 0) values[':expected'] = { N: String(read.version) };
    if (read.flat.stageKey === null) conditions.push('attribute_not_exists(#stageKey)');
    else {
      conditions.push('#stageKey = :stageKey');
      values[':stageKey'] = { S: read.flat.stageKey };
    }
    const expression = [
      `SET ${sets.join(', ')}`,
      adds.length > 0 ? `ADD ${adds.join(', ')}` : '',
      removes.length > 0 ? `REMOVE ${removes.join(', ')}` : '',
    ]
      .filter((part) => part !== '')
      .join(' ');
    try {
      await this.client.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: leadKey(commit.profileId),
          UpdateExpression: expression,
          ConditionExpression: conditions.join(' AND '),
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: values,
        }),
      );
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException)
        throw new LeadConflictError(
          `lead state of profile ${commit.profileId} changed since version ${read.version}`,
        );
      throw error;
    }
    return version;
  }

  async clearOutbox(input: { readonly profileId: string; readonly version: number }): Promise<void> {
    const empty: ScoringEvent[] = [];
    try {
      await this.client.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: leadKey(input.profileId),
          UpdateExpression: 'SET outbox = :empty',
          ConditionExpression: 'leadVersion = :version',
          ExpressionAttributeValues: {
            ':empty': { S: JSON.stringify(empty) },
            ':version': { N: String(input.version) },
          },
        }),
      );
    } catch (error) {
      // A later commit already carried these events on and will publish them again; consumers drop the repeat.
      if (error instanceof ConditionalCheckFailedException) return;
      throw error;
    }
  }
}
