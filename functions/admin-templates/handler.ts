// Admin API for templates: save (MJML compiled once, here), read, preview for a profile, test send, statistics.
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SQSClient } from '@aws-sdk/client-sqs';
import * as z from 'zod';
import { SqsSendQueue } from '../messaging/aws-adapters.ts';
import { previewRequest, putTemplateRequest, testSendRequest } from '../messaging/contract.ts';
import { DynamoDbMessagingStore } from '../messaging/dynamodb-store.ts';
import { MessageQueue } from '../messaging/enqueue.ts';
import { TrackingRecipientReader } from '../messaging/recipients.ts';
import { compileTemplate, TemplateValidationError } from '../messaging/templates/compile.ts';
import { MessageRenderer, RenderError } from '../messaging/templates/render.ts';
import { statsView } from '../messaging/views.ts';
import { readEnvironment } from '../shared/environment.ts';
import { HttpError, httpHandler, json } from '../shared/http.ts';
import { parseJsonBody } from '../shared/request.ts';
import { loadTokenSigner } from '../shared/signing.ts';
import { DynamoDbTrackingStore } from '../tracking/dynamodb-store.ts';
import { IngestService } from '../tracking/ingest-service.ts';

const env = readEnvironment({
  PROFILE_TABLE: z.string().min(1),
  SEND_QUEUE_URL: z.string().min(1),
  SIGNING_SECRET_ARN: z.string().min(1),
  TRACKING_BASE_URL: z.url(),
  MESSAGE_RETENTION_DAYS: z.coerce.number().int().positive().default(396),
  UTM_SOURCE: z.string().min(1).default('nurture'),
});
const dynamodb = new DynamoDBClient({});
const store = new DynamoDbMessagingStore({
  client: dynamodb,
  tableName: env.PROFILE_TABLE,
  messageRetentionDays: env.MESSAGE_RETENTION_DAYS,
});
const tracking = new DynamoDbTrackingStore({
  client: dynamodb,
  tableName: env.PROFILE_TABLE,
  eventRetentionDays: 1,
});
const recipients = new TrackingRecipientReader(tracking, new IngestService(tracking));
const queue = new MessageQueue(
  store,
  new SqsSendQueue(new SQSClient({ useQueueUrlAsEndpoint: false }), env.SEND_QUEUE_URL),
);
const renderer = new MessageRenderer();

const TEMPLATE_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
const versionQuery = z.object({ version: z.coerce.number().int().positive().optional() });

function templateId(raw: string | undefined): string {
  if (raw === undefined || !TEMPLATE_ID.test(raw))
    throw new HttpError(
      400,
      'template id: 1–128 letters, digits, ".", "_" or "-", starting with a letter or digit',
    );
  return raw;
}

export const handler = httpHandler(async (event) => {
  switch (event.routeKey) {
    case 'PUT /admin/templates/{id}': {
      const id = templateId(event.pathParameters?.id);
      const input = parseJsonBody(event, putTemplateRequest);
      try {
        const version = await store.putVersion(id, await compileTemplate(input));
        return json(version.version === 1 ? 201 : 200, version);
      } catch (error) {
        if (error instanceof TemplateValidationError)
          return json(400, { error: 'The template has errors', errors: error.errors });
        throw error;
      }
    }
    case 'GET /admin/templates':
      return json(200, { templates: await store.list() });
    case 'GET /admin/templates/{id}': {
      const id = templateId(event.pathParameters?.id);
      const query = versionQuery.safeParse(event.queryStringParameters ?? {});
      if (!query.success) throw new HttpError(400, 'version must be a positive number');
      const version = await store.getVersion(id, query.data.version ?? null);
      if (version === undefined)
        throw new HttpError(404, `template ${id} (version ${query.data.version ?? 'latest'}) does not exist`);
      return json(200, version);
    }
    case 'POST /admin/templates/{id}/preview': {
      const id = templateId(event.pathParameters?.id);
      const input = parseJsonBody(event, previewRequest);
      const template = await store.getVersion(id, input.version ?? null);
      if (template === undefined) throw new HttpError(404, `template ${id} does not exist`);
      const recipient = await recipients.recipient(input.profileId);
      if (recipient === undefined) throw new HttpError(404, `profile ${input.profileId} does not exist`);
      const email = recipient.email ?? 'no-address@example.invalid';
      try {
        const rendered = await renderer.render({
          template,
          context: {
            traits: recipient.traits,
            profile: { id: recipient.profileId, userId: recipient.userId, email },
            message: { id: 'preview' },
          },
          messageId: 'preview',
          profileId: recipient.profileId,
          recipient: email,
          trackingBaseUrl: env.TRACKING_BASE_URL,
          signer: await loadTokenSigner(env.SIGNING_SECRET_ARN),
          campaign: id,
          utmSource: env.UTM_SOURCE,
          // A preview is not a message: nothing in it may count as an open or a click.
          track: { opens: false, clicks: false },
        });
        return json(200, {
          subject: rendered.subject,
          html: rendered.html,
          text: rendered.text,
          headers: rendered.headers,
        });
      } catch (error) {
        if (error instanceof RenderError) throw new HttpError(422, error.message);
        throw error;
      }
    }
    case 'POST /admin/templates/{id}/test': {
      const id = templateId(event.pathParameters?.id);
      const input = parseJsonBody(event, testSendRequest);
      if ((await store.get(id)) === undefined) throw new HttpError(404, `template ${id} does not exist`);
      if ((await recipients.recipient(input.profileId)) === undefined)
        throw new HttpError(404, `profile ${input.profileId} does not exist`);
      const { created, record } = await queue.enqueue({
        profileId: input.profileId,
        templateId: id,
        templateVersion: input.version ?? null,
        toOverride: input.to ?? null,
        test: true,
        origin: { campaign: `test-${id}` },
      });
      return json(202, { messageId: record.request.messageId, status: record.status, duplicate: !created });
    }
    case 'GET /admin/templates/{id}/stats': {
      const id = templateId(event.pathParameters?.id);
      return json(200, statsView(id, await store.stats(id)));
    }
    default:
      throw new HttpError(404, `No admin route ${event.routeKey}`);
  }
});
