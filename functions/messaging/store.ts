// The messaging store ports: messages and their statistics, recipient address state, and template versions.
import type { CounterDelta, MessageCounter, MessageRecord } from './lifecycle.ts';
import type { AddressState, TemplateVersion, Topic } from './model.ts';

export class MessageVersionConflictError extends Error {
  override name = 'MessageVersionConflictError';
}

export interface MessageStats {
  readonly journeyId: string | null;
  readonly stepId: string | null;
  readonly variant: string | null;
  readonly counters: Partial<Record<MessageCounter, number>>;
}

export interface MessageStore {
  /** Creates the record unless a message with its id exists; either way resolves the stored record. */
  createMessage(record: MessageRecord): Promise<{ created: boolean; record: MessageRecord }>;
  getMessage(messageId: string): Promise<MessageRecord | undefined>;
  /**
   * Stores `next` if the stored version is still `expectedVersion`, and adds `counters` to the message's
   * statistics in the same transaction, so a statistic is counted exactly when its transition happens.
   * Throws MessageVersionConflictError when someone else changed the record first.
   */
  saveTransition(next: MessageRecord, expectedVersion: number, counters: CounterDelta): Promise<void>;
  /** A profile's messages, newest first. */
  listByProfile(profileId: string, limit: number): Promise<MessageRecord[]>;
  /** A profile's messages created at or after `since` (frequency caps). */
  listSince(profileId: string, since: string): Promise<MessageRecord[]>;
  stats(templateId: string): Promise<MessageStats[]>;
}

export interface AddressStore {
  getAddress(addressHash: string): Promise<AddressState | null>;
  /** Suppresses an address; the first reason is kept (a complaint after a bounce does not rewrite history). */
  suppress(input: {
    addressHash: string;
    reason: 'bounce' | 'complaint' | 'manual';
    at: string;
  }): Promise<void>;
  unsuppress(addressHash: string): Promise<boolean>;
  /** Resolves true when the address was not unsubscribed from the topic before. */
  unsubscribe(input: { addressHash: string; topic: Topic; at: string }): Promise<boolean>;
  resubscribe(input: { addressHash: string; topic: Topic }): Promise<void>;
  addSoftBounce(addressHash: string): Promise<void>;
}

export class TemplateNotFoundError extends Error {
  override name = 'TemplateNotFoundError';
}

export interface TemplateSummary {
  readonly templateId: string;
  readonly latestVersion: number;
  readonly subject: string;
  readonly topic: Topic;
  readonly createdAt: string;
  readonly updatedAt: string;
}

export interface TemplateStore {
  /** Stores the next version of a template (1 for a new one). */
  putVersion(
    templateId: string,
    compiled: Omit<TemplateVersion, 'templateId' | 'version' | 'createdAt'>,
  ): Promise<TemplateVersion>;
  /** A given version, or the newest when `version` is null; undefined when there is none. */
  getVersion(templateId: string, version: number | null): Promise<TemplateVersion | undefined>;
  list(): Promise<TemplateSummary[]>;
  get(templateId: string): Promise<TemplateSummary | undefined>;
}
