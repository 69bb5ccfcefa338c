// Starts the wire-protocol emulators once for all integration tests, on free loopback ports.
import type { TestProject } from 'vitest/node';
import { reservePort, startDynamoDbLocal, startSes, startSqs } from '../../lib/local/emulators.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    endpoints: { dynamodb: string; sqs: string; sesv2: string };
  }
}

export default async function setup(project: TestProject) {
  const [dynamodb, sqs, ses] = await Promise.all([
    reservePort(0, 'DynamoDB Local').then((port) => startDynamoDbLocal({ port })),
    startSqs({ port: 0 }),
    startSes({ port: 0 }),
  ]);
  project.provide('endpoints', { dynamodb: dynamodb.url, sqs: sqs.url, sesv2: ses.url });
  return async () => {
    await Promise.all([dynamodb.stop(), sqs.stop(), ses.stop()]);
  };
}
