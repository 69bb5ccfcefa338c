// KPI rollup function, run hourly: recomputes yesterday and today (workspace time zone) from their counters.
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import * as z from 'zod';
import { DynamoDbCounterStore } from '../kpis/dynamodb-counter-store.ts';
import { DynamoDbKpiDayStore } from '../kpis/dynamodb-day-store.ts';
import { kpiEnvironment, openDays, rollUpDays } from '../kpis/service.ts';
import { readEnvironment } from '../shared/environment.ts';
import { logger } from '../shared/logger.ts';

const env = readEnvironment({ PROFILE_TABLE: z.string().min(1), ...kpiEnvironment });
const dynamodb = new DynamoDBClient({});
const counters = new DynamoDbCounterStore({ client: dynamodb, tableName: env.PROFILE_TABLE });
const days = new DynamoDbKpiDayStore(dynamodb, env.PROFILE_TABLE);

export async function handler(): Promise<{
  readonly days: number;
  readonly from: string;
  readonly to: string;
}> {
  const now = new Date();
  // Yesterday too: its late events, and its final rollup once the grace period has passed.
  const [from, to] = openDays(now, env.KPI_TIME_ZONE);
  const written = await rollUpDays({ counters, days, from, to, now, timeZone: env.KPI_TIME_ZONE });
  logger.info('KPI days rolled up', { from, to, days: written });
  return { days: written, from, to };
}
