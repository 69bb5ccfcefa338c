// Sender throughput: queued messages through the real sender code, DynamoDB Local and the local SES, no rate limit.
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SESv2Client } from '@aws-sdk/client-sesv2';
import { SesEmailGateway } from '../functions/messaging/aws-adapters.ts';
import { DynamoDbMessagingStore } from '../functions/messaging/dynamodb-store.ts';
import { MessageQueue } from '../functions/messaging/enqueue.ts';
import { DEFAULT_CONSENT_POLICY } from '../functions/messaging/policy.ts';
import { TrackingRecipientReader } from '../functions/messaging/recipients.ts';
import { EmailSender } from '../functions/messaging/sender.ts';
import { compileTemplate } from '../functions/messaging/templates/compile.ts';
import { MessageRenderer } from '../functions/messaging/templates/render.ts';
import { TokenSigner } from '../functions/messaging/tokens.ts';
import { DynamoDbTrackingStore } from '../functions/tracking/dynamodb-store.ts';
import { enrich } from '../functions/tracking/enrichment/index.ts';
import { IngestService } from '../functions/tracking/ingest-service.ts';
import type { NormalizedEvent } from '../functions/tracking/model.ts';
import { reservePort, startSes } from '../lib/local/emulators.ts';
import { NEWSLETTER_MJML } from './messaging-render.ts';

const MESSAGES = 300;
/** Records in flight at once, as in one SQS batch of 10. */
const CONCURRENCY = 10;

export async function benchSend(options: {
  endpoint: string;
  tableName: string;
}): Promise<Record<string, number>> {
  const ses = await startSes({ port: await reservePort(0, 'SES') });
  const credentials = { accessKeyId: 'local', secretAccessKey: 'local' };
  const dynamodb = new DynamoDBClient({ endpoint: options.endpoint, region: 'us-east-1', credentials });
  const sesClient = new SESv2Client({ endpoint: ses.url, region: 'us-east-1', credentials, maxAttempts: 1 });
  try {
    const store = new DynamoDbMessagingStore({
      client: dynamodb,
      tableName: options.tableName,
      messageRetentionDays: 30,
    });
    const tracking = new DynamoDbTrackingStore({
      client: dynamodb,
      tableName: options.tableName,
      eventRetentionDays: 30,
    });
    const ingest = new IngestService(tracking);
    await store.putVersion(
      'bench-newsletter',
      await compileTemplate({ subject: 'News for {{ traits.firstName }}', mjml: NEWSLETTER_MJML }),
    );

    const profiles: string[] = [];
    for (let i = 0; i < MESSAGES; i += 1) {
      const event: NormalizedEvent = {
        type: 'identify',
        protocol: 'segment',
        messageId: `bench-send-${i}`,
        userId: `bench-user-${i}`,
        traits: { email: `reader-${i}@example.com`, firstName: `Reader ${i}`, plan: 'pro' },
        properties: {},
        context: {},
      };
      await ingest.ingest([
        { ...event, sourceId: 'bench', enrichment: enrich(event, { receivedAt: new Date() }) },
      ]);
      profiles.push(await ingest.resolve({ kind: 'userId', value: `bench-user-${i}` }));
    }
    const ids: string[] = [];
    const queue = new MessageQueue(store, { enqueue: async (messageId) => void ids.push(messageId) });
    for (const profileId of profiles)
      await queue.enqueue({
        profileId,
        templateId: 'bench-newsletter',
        idempotencyKey: `bench:${profileId}`,
      });

    const signer = new TokenSigner(['bench-secret-bench-secret-bench-secret-0123']);
    const renderer = new MessageRenderer();
    const sender = new EmailSender({
      messages: store,
      addresses: store,
      templates: store,
      recipients: new TrackingRecipientReader(tracking, ingest),
      renderer: {
        render: (input) => renderer.render({ ...input, signer, trackingBaseUrl: 'https://t.example.com' }),
      },
      email: new SesEmailGateway(sesClient, { from: 'news@example.com', configurationSet: 'bench' }),
      rateLimit: async () => undefined,
      settings: {
        frequencyCap: { max: 5, windowHours: 24 },
        consentPolicy: DEFAULT_CONSENT_POLICY,
        confirmGraceSeconds: 300,
        utmSource: 'nurture',
        track: { opens: true, clicks: true },
      },
    });

    const latencies: number[] = [];
    const started = performance.now();
    let next = 0;
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (next < ids.length) {
          const id = ids[next];
          next += 1;
          if (id === undefined) break;
          const t = performance.now();
          const outcome = await sender.process(id);
          if (outcome.kind !== 'done' || outcome.status !== 'sent')
            throw new Error(`bench send ${id}: ${JSON.stringify(outcome)}`);
          latencies.push(performance.now() - t);
        }
      }),
    );
    const seconds = (performance.now() - started) / 1000;
    latencies.sort((a, b) => a - b);
    const figures = {
      messages: ids.length,
      sendsPerSecond: Math.round(ids.length / seconds),
      p50Ms: Math.round((latencies[Math.floor(latencies.length / 2)] ?? 0) * 10) / 10,
      p95Ms: Math.round((latencies[Math.floor(latencies.length * 0.95)] ?? 0) * 10) / 10,
    };
    console.log(
      `\nsender against DynamoDB Local + local SES (${figures.messages} messages, ${CONCURRENCY} in flight, no rate limit): ` +
        `${figures.sendsPerSecond} sends/s, per message p50 ${figures.p50Ms} ms, p95 ${figures.p95Ms} ms`,
    );
    return figures;
  } finally {
    sesClient.destroy();
    dynamodb.destroy();
    await ses.stop();
  }
}
