// Admin API for KPIs: the report (JSON or CSV), an on-demand rollup of a range, marketing costs, reference values.
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import * as z from 'zod';
import { DynamoDbCounterStore } from '../kpis/dynamodb-counter-store.ts';
import { DynamoDbKpiDayStore } from '../kpis/dynamodb-day-store.ts';
import { DEFAULT_REFERENCE_VALUES, GROUP_BYS, kpiCsv } from '../kpis/query.ts';
import { kpiEnvironment, rangeProblem, reportFor, rollUpDays } from '../kpis/service.ts';
import { CostInputError, costsFromCsv, costsFromJson, referenceValuesSchema } from '../kpis/settings.ts';
import { readEnvironment } from '../shared/environment.ts';
import { HttpError, type HttpEvent, httpHandler, json } from '../shared/http.ts';
import { parseJsonBody, readJsonBody } from '../shared/request.ts';

const env = readEnvironment({ PROFILE_TABLE: z.string().min(1), ...kpiEnvironment });
const dynamodb = new DynamoDBClient({});
const counters = new DynamoDbCounterStore({ client: dynamodb, tableName: env.PROFILE_TABLE });
const days = new DynamoDbKpiDayStore(dynamodb, env.PROFILE_TABLE);

const reportQuery = z.object({
  from: z.string().optional(),
  to: z.string().optional(),
  groupBy: z.enum(GROUP_BYS).default('none'),
  format: z.enum(['json', 'csv']).default('json'),
});

function range(from: unknown, to: unknown): { from: string; to: string } {
  const problem = rangeProblem(from, to);
  if (problem !== null || typeof from !== 'string' || typeof to !== 'string')
    throw new HttpError(400, problem ?? 'from and to are required');
  return { from, to };
}

function isCsv(event: HttpEvent): boolean {
  return (event.headers?.['content-type'] ?? '').toLowerCase().startsWith('text/csv');
}

function bodyText(event: HttpEvent): string {
  if (!event.body) throw new HttpError(400, 'Request body is required');
  return event.isBase64Encoded ? Buffer.from(event.body, 'base64').toString('utf8') : event.body;
}

export const handler = httpHandler(async (event) => {
  switch (event.routeKey) {
    case 'GET /admin/kpis': {
      const query = reportQuery.safeParse(event.queryStringParameters ?? {});
      if (!query.success)
        throw new HttpError(400, `groupBy must be one of ${GROUP_BYS.join(', ')}; format json or csv`);
      const { from, to } = range(query.data.from, query.data.to);
      const report = await reportFor({ days, from, to, groupBy: query.data.groupBy });
      if (query.data.format === 'json') return json(200, report);
      return {
        statusCode: 200,
        headers: {
          'content-type': 'text/csv; charset=utf-8',
          'content-disposition': `attachment; filename="kpis-${from}-${to}-${query.data.groupBy}.csv"`,
          'cache-control': 'no-store',
        },
        body: kpiCsv(report),
      };
    }
    case 'POST /admin/kpis/rollup': {
      const body = readJsonBody(event);
      const requested = z.object({ from: z.unknown(), to: z.unknown() }).safeParse(body);
      if (!requested.success)
        throw new HttpError(400, 'body must be { "from": "YYYY-MM-DD", "to": "YYYY-MM-DD" }');
      const { from, to } = range(requested.data.from, requested.data.to);
      const written = await rollUpDays({
        counters,
        days,
        from,
        to,
        now: new Date(),
        timeZone: env.KPI_TIME_ZONE,
      });
      return json(200, { days: written, from, to });
    }
    case 'GET /admin/kpis/costs':
      return json(200, { entries: await days.getCosts() });
    case 'PUT /admin/kpis/costs': {
      let entries: ReturnType<typeof costsFromJson>;
      try {
        entries = isCsv(event)
          ? costsFromCsv(bodyText(event), env.KPI_CURRENCY)
          : costsFromJson(readJsonBody(event), env.KPI_CURRENCY);
      } catch (error) {
        if (error instanceof CostInputError)
          return json(400, { error: error.message, problems: error.problems });
        throw error;
      }
      await days.putCosts(entries);
      return json(200, { saved: entries.length, entries: await days.getCosts() });
    }
    case 'GET /admin/kpis/reference':
      return json(200, (await days.getReference()) ?? DEFAULT_REFERENCE_VALUES);
    case 'PUT /admin/kpis/reference': {
      const reference = parseJsonBody(event, referenceValuesSchema);
      await days.putReference(reference);
      return json(200, reference);
    }
    default:
      throw new HttpError(404, 'Not found');
  }
});
