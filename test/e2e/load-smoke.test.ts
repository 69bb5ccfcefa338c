// A short run of the load test's core against the local stack: every acknowledged event is stored (no timings asserted).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runLoad } from '../../bench/load.ts';
import { type LocalStackProcess, startLocalStackProcess } from './support/local-stack-process.ts';

let stack: LocalStackProcess;

beforeAll(async () => {
  stack = await startLocalStackProcess({ args: ['--fresh'] });
}, 180_000);

afterAll(async () => {
  await stack?.dispose();
});

describe('the load test', () => {
  it('stores every event of every batch the tracking API acknowledged under steady load', async () => {
    const report = await runLoad(
      {
        apiUrl: stack.local.apiUrl,
        adminToken: stack.local.adminToken,
        dynamodbEndpoint: stack.local.endpoints.dynamodb,
      },
      { durationSeconds: 10, rate: 5, eventsPerRequest: 5, connections: 2, visitors: 20 },
    );

    expect(report.requests).toBeGreaterThan(0);
    expect(report.eventsAcknowledged).toBeGreaterThan(0);
    expect(report.eventsUnacknowledged).toBe(0);
    expect(report.lost).toBe(0);
    expect(report.eventsStored).toBe(report.eventsAcknowledged);
  }, 180_000);
});
