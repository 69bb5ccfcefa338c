// KPI function: counts the KPI domain events from its queue into sharded day counters, each event exactly once.
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import * as z from 'zod';
import { DynamoDbCounterStore } from '../kpis/dynamodb-counter-store.ts';
import { kpiEnvironment, recordKpiEvent } from '../kpis/service.ts';
import { readEnvironment } from '../shared/environment.ts';
import { logger } from '../shared/logger.ts';

const env = readEnvironment({ PROFILE_TABLE: z.string().min(1), ...kpiEnvironment });
const settings = { timeZone: env.KPI_TIME_ZONE, currency: env.KPI_CURRENCY };
const counters = new DynamoDbCounterStore({ client: new DynamoDBClient({}), tableName: env.PROFILE_TABLE });

/** The EventBridge envelope the KPI rule puts on the queue. */
const envelopeSchema = z.object({
  'detail-type': z.string(),
  detail: z.record(z.string(), z.json()),
});

function parse(record: SQSRecord): z.infer<typeof envelopeSchema> | undefined {
  try {
    const envelope = envelopeSchema.safeParse(JSON.parse(record.body));
    return envelope.success ? envelope.data : undefined;
  } catch {
    return undefined;
  }
}

export async function handler(event: SQSEvent): Promise<SQSBatchResponse> {
  const failures: string[] = [];
  // Counters are commutative: events apply side by side, in any order.
  await Promise.all(
    event.Records.map(async (record) => {
      const envelope = parse(record);
      if (envelope === undefined) {
        // Only our rule writes this queue; a body we cannot read goes to the DLQ for inspection.
        logger.error('malformed KPI queue message', { sqsMessageId: record.messageId });
        failures.push(record.messageId);
        return;
      }
      const detailType = envelope['detail-type'];
      try {
        await recordKpiEvent({ counters, settings, detailType, detail: envelope.detail });
      } catch (error) {
        const malformed = error instanceof z.ZodError;
        logger.error(
          malformed ? 'KPI event does not match its catalogue schema' : 'KPI event failed, will be retried',
          {
            sqsMessageId: record.messageId,
            detailType,
            error: malformed
              ? error.issues.map((issue) => issue.path.join('.')).join(', ')
              : error instanceof Error
                ? error
                : String(error),
          },
        );
        failures.push(record.messageId);
      }
    }),
  );
  return { batchItemFailures: failures.map((itemIdentifier) => ({ itemIdentifier })) };
}
