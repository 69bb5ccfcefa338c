// Email links served by the tracking API: the open pixel, click redirects and unsubscribes, all by signed token.
import { applyEngagement, applyUnsubscribe, type MessageRecord } from './lifecycle.ts';
import { classifyClick, classifyOpen } from './machine-activity.ts';
import { invalidLinkPage, unsubscribeConfirmPage, unsubscribedPage } from './pages.ts';
import { applyTransition } from './sender.ts';
import type { AddressStore, MessageStore } from './store.ts';
import { InvalidTokenError, type LinkToken, type TokenSigner } from './tokens.ts';

export const EMAIL_LINK_PATHS = /^\/e\/([ocu])\/([^/]+)$/;

export interface EngagementRequest {
  readonly method: string;
  readonly path: string;
  readonly headers: Readonly<Record<string, string | undefined>>;
  readonly body: string | undefined;
  readonly sourceIp: string | undefined;
  readonly requestId: string;
  readonly receivedAt: Date;
}

export interface EngagementResponse {
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly body: string;
  readonly isBase64Encoded?: boolean;
}

/** A behavioural event on the person's profile, like a server-side `track` call. */
export interface ProfileActivity {
  readonly profileId: string;
  /** Segment's email spec names: "Email Opened", "Email Link Clicked", "Unsubscribed". */
  readonly event: string;
  readonly properties: Record<string, string | number | boolean | null>;
  /** Deterministic per request, so a retried request is stored once. */
  readonly messageId: string;
  readonly at: Date;
  readonly campaign: string | null;
}

export interface EngagementDependencies {
  readonly signer: () => Promise<TokenSigner>;
  readonly messages: MessageStore;
  readonly addresses: AddressStore;
  readonly recordActivity: (activity: ProfileActivity) => Promise<void>;
  readonly onError: (message: string, error: unknown) => void;
  readonly transparentGif: string;
}

const HTML = { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' };

function header(headers: EngagementRequest['headers'], name: string): string | undefined {
  const wanted = name.toLowerCase();
  for (const [key, value] of Object.entries(headers)) if (key.toLowerCase() === wanted) return value;
  return undefined;
}

function dimensions(record: MessageRecord) {
  const { templateId, origin, messageId } = record.request;
  return {
    messageId,
    templateId,
    journeyId: origin.journeyId,
    stepId: origin.stepId,
    variant: origin.variant,
  };
}

export class EmailEngagement {
  constructor(private readonly deps: EngagementDependencies) {}

  async handle(request: EngagementRequest): Promise<EngagementResponse> {
    const match = EMAIL_LINK_PATHS.exec(request.path);
    const kind = match?.[1];
    const raw = match?.[2];
    if (kind === 'o') return this.open(request, raw);
    if (kind === 'c' && raw !== undefined) return this.click(request, raw);
    if (kind === 'u' && raw !== undefined) return this.unsubscribe(request, raw);
    return { status: 404, headers: HTML, body: invalidLinkPage() };
  }

  private async verify(raw: string, at: Date): Promise<LinkToken | undefined> {
    try {
      return (await this.deps.signer()).verify(decodeURIComponent(raw), at);
    } catch (error) {
      if (error instanceof InvalidTokenError || error instanceof URIError) return undefined;
      throw error;
    }
  }

  private gif(): EngagementResponse {
    return {
      status: 200,
      headers: { 'content-type': 'image/gif', 'cache-control': 'no-store, private' },
      body: this.deps.transparentGif,
      isBase64Encoded: true,
    };
  }

  private async open(request: EngagementRequest, raw: string | undefined): Promise<EngagementResponse> {
    const token = raw === undefined ? undefined : await this.verify(raw, request.receivedAt);
    // The pixel always answers with the image: a mail client cannot do anything with an error.
    if (token?.kind !== 'open') return this.gif();
    try {
      await this.engage(request, token.messageId, 'open');
    } catch (error) {
      this.deps.onError('open not recorded', error);
    }
    return this.gif();
  }

  private async click(request: EngagementRequest, raw: string): Promise<EngagementResponse> {
    const token = await this.verify(raw, request.receivedAt);
    if (token?.kind !== 'click') return { status: 400, headers: HTML, body: invalidLinkPage() };
    try {
      await this.engage(request, token.messageId, 'click', { url: token.url, linkIndex: token.linkIndex });
    } catch (error) {
      // The person gets where the link promised even when statistics are briefly unavailable.
      this.deps.onError('click not recorded', error);
    }
    return {
      status: 302,
      headers: {
        location: token.url,
        'cache-control': 'no-store, private',
        'referrer-policy': 'no-referrer',
      },
      body: '',
    };
  }

  private async engage(
    request: EngagementRequest,
    messageId: string,
    kind: 'open' | 'click',
    link?: { url: string; linkIndex: number },
  ): Promise<void> {
    const at = request.receivedAt;
    const current = await this.deps.messages.getMessage(messageId);
    if (current === undefined) return;
    const classify = kind === 'open' ? classifyOpen : classifyClick;
    const sentAt = current.sentAt ?? current.intentAt;
    const { machine, reason } = classify({
      userAgent: header(request.headers, 'user-agent'),
      ip: request.sourceIp,
      method: request.method,
      sentAt: sentAt === null ? null : new Date(sentAt),
      at,
    });
    const updated = await applyTransition(this.deps.messages, current, (record) =>
      applyEngagement(record, { kind, machine, at: at.toISOString() }),
    );
    if (updated === undefined || updated.request.test) return;
    await this.deps.recordActivity({
      profileId: updated.request.profileId,
      event: kind === 'open' ? 'Email Opened' : 'Email Link Clicked',
      properties: {
        ...dimensions(updated),
        machine,
        machineReason: reason,
        ...(link ? { url: link.url, linkIndex: link.linkIndex } : {}),
      },
      messageId: `${kind}-${request.requestId}`,
      at,
      campaign:
        updated.request.origin.campaign ?? updated.request.origin.journeyId ?? updated.request.templateId,
    });
  }

  private async unsubscribe(request: EngagementRequest, raw: string): Promise<EngagementResponse> {
    const token = await this.verify(raw, request.receivedAt);
    if (token?.kind !== 'unsubscribe') return { status: 400, headers: HTML, body: invalidLinkPage() };
    if (request.method === 'GET') {
      // Link scanners follow GETs: a GET only shows the confirmation; the unsubscribe itself is a POST (RFC 8058).
      return {
        status: 200,
        headers: HTML,
        body: unsubscribeConfirmPage({ actionUrl: request.path, topic: token.topic }),
      };
    }
    const at = request.receivedAt.toISOString();
    const isNew = await this.deps.addresses.unsubscribe({
      addressHash: token.addressHash,
      topic: token.topic,
      at,
    });
    const updated = await applyTransition(this.deps.messages, token.messageId, (record) =>
      applyUnsubscribe(record, at),
    );
    if (isNew && updated !== undefined && !updated.request.test) {
      await this.deps.recordActivity({
        profileId: token.profileId,
        event: 'Unsubscribed',
        properties: { ...dimensions(updated), topic: token.topic },
        messageId: `unsubscribe-${token.messageId}-${token.topic}`,
        at: request.receivedAt,
        campaign:
          updated.request.origin.campaign ?? updated.request.origin.journeyId ?? updated.request.templateId,
      });
    }
    return { status: 200, headers: HTML, body: unsubscribedPage({ topic: token.topic }) };
  }
}
