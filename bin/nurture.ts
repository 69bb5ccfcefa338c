#!/usr/bin/env -S npx tsx
import { buildNurtureApp } from '../lib/app.ts';
// The CDK app entry point: `npx cdk deploy -c stage=prod ...` deploys it; `npm start` synthesizes the same app.
import { InvalidConfigError } from '../lib/config.ts';

try {
  buildNurtureApp();
} catch (error) {
  if (!(error instanceof InvalidConfigError)) throw error;
  console.error(error.message);
  process.exit(1);
}
