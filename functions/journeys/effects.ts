// Carries out a journey step's effects through the messaging, banner, webhook, profile and bus ports, idempotently.
import { createHash } from 'node:crypto';
import { newBanner } from '../messaging/banners/banner.ts';
import type { BannerStore } from '../messaging/banners/store.ts';
import type { SendRequestInput } from '../messaging/enqueue.ts';
import type { MessageRecord } from '../messaging/lifecycle.ts';
import { WebhookEndpointNotFoundError } from '../messaging/webhooks/model.ts';
import type { EnqueueWebhookInput } from '../messaging/webhooks/queue.ts';
import type { JsonObject } from '../tracking/model.ts';
import type { LeadStage } from './definition.ts';
import type { Effect, Enrollment } from './model.ts';
import type { EffectRunner } from './runner.ts';

export interface JourneyEventOut {
  readonly detailType: 'journey.event_emitted';
  readonly detail: {
    dedupeKey: string;
    profileId: string;
    userId: string | null;
    journeyId: string;
    name: string;
    properties: JsonObject;
    at: string;
  };
}

export interface JourneyEffectPorts {
  readonly messages: {
    enqueue(input: SendRequestInput): Promise<{ created: boolean; record: MessageRecord }>;
  };
  readonly banners: Pick<BannerStore, 'assign' | 'list' | 'clear'>;
  readonly webhooks: { enqueue(input: EnqueueWebhookInput): Promise<unknown> };
  readonly profiles: {
    /** Sets traits as a server-side identify whose message id is `key` (stored once). */
    setTraits(input: { profileId: string; traits: JsonObject; key: string; at: Date }): Promise<void>;
    setStage(input: { profileId: string; stage: LeadStage; key: string; at: Date }): Promise<void>;
    userId(profileId: string): Promise<string | null>;
  };
  /** Publishes events; rejects when some could not be put (the step is retried, consumers dedupe). */
  readonly events: { publish(events: readonly JourneyEventOut[]): Promise<void> };
  readonly now?: () => Date;
  readonly log?: (message: string, fields: Record<string, unknown>) => void;
}

/** Banner ids follow from the effect key, so a retried step re-assigns the same banner instead of a second one. */
export function bannerIdFor(key: string): string {
  return `bnr_j${createHash('sha256').update(key).digest('base64url').slice(0, 24)}`;
}

export class JourneyEffects implements EffectRunner {
  private readonly now: () => Date;

  constructor(private readonly ports: JourneyEffectPorts) {
    this.now = ports.now ?? (() => new Date());
  }

  async run(enrollment: Enrollment, effects: readonly Effect[]): Promise<void> {
    // In order: a banner cleared by a goal must not be re-assigned by an earlier effect of the same step.
    for (const effect of effects) await this.apply(enrollment, effect);
  }

  private async apply(enrollment: Enrollment, effect: Effect): Promise<void> {
    const { profileId, journeyId, run } = enrollment;
    switch (effect.kind) {
      case 'sendEmail':
        await this.ports.messages.enqueue({
          profileId,
          templateId: effect.templateId,
          templateVersion: effect.templateVersion,
          idempotencyKey: effect.key,
          origin: {
            journeyId,
            stepId: effect.nodeId,
            variant: effect.variant,
            campaign: effect.campaign,
            run,
          },
        });
        return;
      case 'setBanner':
        await this.ports.banners.assign(
          newBanner({
            profileId,
            placement: effect.placement,
            content: effect.content,
            now: this.now(),
            bannerId: bannerIdFor(effect.key),
            expiresAt: new Date(effect.expiresAt),
            origin: { journeyId, stepId: effect.nodeId, variant: effect.variant },
          }),
        );
        return;
      case 'clearBanners': {
        const banners = await this.ports.banners.list(profileId);
        for (const banner of banners) {
          if (banner.origin?.journeyId === journeyId)
            await this.ports.banners.clear(profileId, banner.placement);
        }
        return;
      }
      case 'webhook':
        try {
          await this.ports.webhooks.enqueue({
            endpointId: effect.endpointId,
            eventType: effect.eventType,
            payload: effect.payload,
            idempotencyKey: effect.key,
          });
        } catch (error) {
          // Retrying cannot create the endpoint; the operator sees the error and the step's trace, the journey goes on.
          if (!(error instanceof WebhookEndpointNotFoundError)) throw error;
          this.ports.log?.('webhook endpoint of a journey step does not exist', {
            journeyId,
            endpointId: effect.endpointId,
          });
        }
        return;
      case 'setTraits':
        await this.ports.profiles.setTraits({
          profileId,
          traits: effect.traits,
          key: effect.key,
          at: this.now(),
        });
        return;
      case 'setStage':
        await this.ports.profiles.setStage({
          profileId,
          stage: effect.stage,
          key: effect.key,
          at: this.now(),
        });
        return;
      case 'addScore':
        // Applied in the enrollment's commit transaction, not here.
        return;
      case 'emitEvent':
        await this.ports.events.publish([
          {
            detailType: 'journey.event_emitted',
            detail: {
              dedupeKey: effect.key,
              profileId,
              userId: await this.ports.profiles.userId(profileId),
              journeyId,
              name: effect.name,
              properties: effect.properties,
              at: this.now().toISOString(),
            },
          },
        ]);
        return;
    }
  }
}
