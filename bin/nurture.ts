#!/usr/bin/env -S npx tsx
// The CDK app: `npx cdk deploy -c stage=prod ...` deploys it; the local stack synthesizes the same app.
import { App, Tags, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { parseConfig } from '../lib/config.ts';
import { NurtureStack } from '../lib/nurture-stack.ts';

const app = new App();
const config = parseConfig((key) => app.node.tryGetContext(key));

const stack = new NurtureStack(app, config.stage === 'prod' ? 'Nurture' : `Nurture-${config.stage}`, {
  config,
  description: `Nurture marketing automation (${config.stage})`,
  env: { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION },
});
Tags.of(stack).add('app', 'nurture');
Tags.of(stack).add('stage', config.stage);

Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
