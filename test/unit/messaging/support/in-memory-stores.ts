// In-memory messaging stores with the DynamoDB adapter's semantics (versions, first reason kept), for unit tests.
import {
  type CounterDelta,
  MESSAGE_COUNTERS,
  type MessageCounter,
  type MessageRecord,
  messageRecordSchema,
} from '../../../../functions/messaging/lifecycle.ts';
import type { AddressState, TemplateVersion, Topic } from '../../../../functions/messaging/model.ts';
import {
  type AddressStore,
  type MessageStats,
  type MessageStore,
  MessageVersionConflictError,
  type TemplateStore,
  type TemplateSummary,
} from '../../../../functions/messaging/store.ts';

type Counters = Partial<Record<MessageCounter, number>>;

/** A write the test wants to fail or race: return an error to throw it instead of storing. */
export type SaveInterceptor = (input: {
  readonly next: MessageRecord;
  readonly expectedVersion: number;
  readonly counters: CounterDelta;
}) => Error | undefined;

function copy(record: MessageRecord): MessageRecord {
  // Stored as JSON and parsed back, as the DynamoDB adapter does: callers never share objects with the store.
  return messageRecordSchema.parse(JSON.parse(JSON.stringify(record)));
}

function add(target: Counters, delta: CounterDelta): Counters {
  const sum: Counters = { ...target };
  for (const name of MESSAGE_COUNTERS) {
    const value = delta[name];
    if (value !== undefined && value !== 0) sum[name] = (sum[name] ?? 0) + value;
  }
  return sum;
}

const dimensionKey = (record: MessageRecord) => {
  const { templateId, origin } = record.request;
  return JSON.stringify([templateId, origin.journeyId, origin.stepId, origin.variant]);
};

export class InMemoryMessagingStore implements MessageStore, AddressStore, TemplateStore {
  private readonly messages = new Map<string, MessageRecord>();
  private readonly statistics = new Map<string, MessageStats & { templateId: string }>();
  /** Statistics added per message, so tests can check that one message never counts twice. */
  private readonly perMessage = new Map<string, Counters>();
  private readonly addresses = new Map<string, AddressState>();
  private readonly templateVersions = new Map<string, TemplateVersion[]>();
  private readonly templateCreatedAt = new Map<string, string>();
  private readonly interceptors: SaveInterceptor[] = [];

  constructor(private readonly now: () => Date = () => new Date()) {}

  /** Runs `interceptor` on the next saveTransition calls until it returns an error (then it is removed). */
  interceptNextSave(interceptor: SaveInterceptor): void {
    this.interceptors.push(interceptor);
  }

  /** Makes the next saveTransition that would store `status` throw, as a crash or timeout would. */
  failNextSaveOf(status: MessageRecord['status'], error = new Error('simulated crash')): void {
    this.interceptNextSave(({ next }) => (next.status === status ? error : undefined));
  }

  clearInterceptors(): void {
    this.interceptors.length = 0;
  }

  /** Writes a record as another writer would, bumping nothing: for arranging state directly. */
  put(record: MessageRecord): void {
    this.messages.set(record.request.messageId, copy(record));
  }

  countersOf(messageId: string): Counters {
    return { ...(this.perMessage.get(messageId) ?? {}) };
  }

  // MessageStore

  async createMessage(record: MessageRecord): Promise<{ created: boolean; record: MessageRecord }> {
    const existing = this.messages.get(record.request.messageId);
    if (existing !== undefined) return { created: false, record: copy(existing) };
    this.messages.set(record.request.messageId, copy(record));
    return { created: true, record: copy(record) };
  }

  async getMessage(messageId: string): Promise<MessageRecord | undefined> {
    const record = this.messages.get(messageId);
    return record === undefined ? undefined : copy(record);
  }

  async saveTransition(next: MessageRecord, expectedVersion: number, counters: CounterDelta): Promise<void> {
    for (const [index, interceptor] of this.interceptors.entries()) {
      const error = interceptor({ next, expectedVersion, counters });
      if (error !== undefined) {
        this.interceptors.splice(index, 1);
        throw error;
      }
    }
    const messageId = next.request.messageId;
    // Like the conditional put: a missing item or any other version is a conflict, and nothing is counted.
    if (this.messages.get(messageId)?.version !== expectedVersion)
      throw new MessageVersionConflictError(`message ${messageId} changed concurrently`);
    this.messages.set(messageId, copy(next));
    this.perMessage.set(messageId, add(this.perMessage.get(messageId) ?? {}, counters));
    const key = dimensionKey(next);
    const { templateId, origin } = next.request;
    const entry = this.statistics.get(key) ?? {
      templateId,
      journeyId: origin.journeyId,
      stepId: origin.stepId,
      variant: origin.variant,
      counters: {},
    };
    if (Object.values(counters).some((value) => value !== undefined && value !== 0))
      this.statistics.set(key, { ...entry, counters: add(entry.counters, counters) });
  }

  private newestFirst(profileId: string): MessageRecord[] {
    const sortKey = (record: MessageRecord) => `${record.request.createdAt}#${record.request.messageId}`;
    return [...this.messages.values()]
      .filter((record) => record.request.profileId === profileId)
      .sort((a, b) => sortKey(b).localeCompare(sortKey(a)))
      .map(copy);
  }

  async listByProfile(profileId: string, limit: number): Promise<MessageRecord[]> {
    return this.newestFirst(profileId).slice(0, limit);
  }

  async listSince(profileId: string, since: string): Promise<MessageRecord[]> {
    return this.newestFirst(profileId).filter((record) => record.request.createdAt >= since);
  }

  async stats(templateId: string): Promise<MessageStats[]> {
    return [...this.statistics.values()]
      .filter((entry) => entry.templateId === templateId)
      .map(({ journeyId, stepId, variant, counters }) => ({
        journeyId,
        stepId,
        variant,
        counters: { ...counters },
      }));
  }

  // AddressStore

  async getAddress(addressHash: string): Promise<AddressState | null> {
    const state = this.addresses.get(addressHash);
    return state === undefined ? null : structuredClone(state);
  }

  private address(addressHash: string): AddressState {
    return (
      this.addresses.get(addressHash) ?? { addressHash, suppressed: null, unsubscribed: {}, softBounces: 0 }
    );
  }

  async suppress(input: {
    addressHash: string;
    reason: 'bounce' | 'complaint' | 'manual';
    at: string;
  }): Promise<void> {
    const state = this.address(input.addressHash);
    if (state.suppressed !== null) return;
    this.addresses.set(input.addressHash, { ...state, suppressed: { reason: input.reason, at: input.at } });
  }

  async unsuppress(addressHash: string): Promise<boolean> {
    const state = this.address(addressHash);
    if (state.suppressed === null) return false;
    this.addresses.set(addressHash, { ...state, suppressed: null });
    return true;
  }

  async unsubscribe(input: { addressHash: string; topic: Topic; at: string }): Promise<boolean> {
    const state = this.address(input.addressHash);
    if (state.unsubscribed[input.topic] !== undefined) return false;
    this.addresses.set(input.addressHash, {
      ...state,
      unsubscribed: { ...state.unsubscribed, [input.topic]: input.at },
    });
    return true;
  }

  async resubscribe(input: { addressHash: string; topic: Topic }): Promise<void> {
    const state = this.address(input.addressHash);
    const unsubscribed = { ...state.unsubscribed };
    delete unsubscribed[input.topic];
    this.addresses.set(input.addressHash, { ...state, unsubscribed });
  }

  async addSoftBounce(addressHash: string): Promise<void> {
    const state = this.address(addressHash);
    this.addresses.set(addressHash, { ...state, softBounces: state.softBounces + 1 });
  }

  // TemplateStore

  async putVersion(
    templateId: string,
    compiled: Omit<TemplateVersion, 'templateId' | 'version' | 'createdAt'>,
  ): Promise<TemplateVersion> {
    const versions = this.templateVersions.get(templateId) ?? [];
    const at = this.now().toISOString();
    const version: TemplateVersion = { ...compiled, templateId, version: versions.length + 1, createdAt: at };
    this.templateVersions.set(templateId, [...versions, version]);
    if (!this.templateCreatedAt.has(templateId)) this.templateCreatedAt.set(templateId, at);
    return version;
  }

  async getVersion(templateId: string, version: number | null): Promise<TemplateVersion | undefined> {
    const versions = this.templateVersions.get(templateId) ?? [];
    return version === null ? versions.at(-1) : versions.find((v) => v.version === version);
  }

  async list(): Promise<TemplateSummary[]> {
    const summaries = await Promise.all([...this.templateVersions.keys()].map((id) => this.get(id)));
    return summaries.filter((summary) => summary !== undefined);
  }

  async get(templateId: string): Promise<TemplateSummary | undefined> {
    const latest = this.templateVersions.get(templateId)?.at(-1);
    const createdAt = this.templateCreatedAt.get(templateId);
    if (latest === undefined || createdAt === undefined) return undefined;
    return {
      templateId,
      latestVersion: latest.version,
      subject: latest.subject,
      topic: latest.topic,
      createdAt,
      updatedAt: latest.createdAt,
    };
  }
}
