// Builds the Nurture CDK app from context: the stack for the chosen stage, tags, and the cdk-nag checks.
import { App, type AppProps, Tags, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { parseConfig } from './config.ts';
import { NurtureStack } from './nurture-stack.ts';

export function buildNurtureApp(props: AppProps = {}): { app: App; stack: NurtureStack } {
  const app = new App(props);
  const config = parseConfig((key) => app.node.tryGetContext(key));
  const stack = new NurtureStack(app, config.stage === 'prod' ? 'Nurture' : `Nurture-${config.stage}`, {
    config,
    description: `Nurture marketing automation (${config.stage})`,
    env: { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION },
  });
  Tags.of(stack).add('app', 'nurture');
  Tags.of(stack).add('stage', config.stage);
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  return { app, stack };
}
