// Local Secrets Manager speaking the real JSON protocol for the operations Nurture uses (GetSecretValue, PutSecretValue).
import { randomUUID } from 'node:crypto';
import type { Server } from 'node:http';
import { AwsServiceError, closeServer, listenJsonProtocol, requireString } from './json-protocol.ts';

export interface LocalSecret {
  readonly arn: string;
  readonly name: string;
  value: string;
  versionId: string;
  readonly createdDate: number;
}

export class LocalSecretsManager {
  private readonly secrets = new Map<string, LocalSecret>();
  private server?: Server;
  url = '';

  define(secret: { arn: string; name: string; value: string }): void {
    this.secrets.set(secret.arn, { ...secret, versionId: randomUUID(), createdDate: Date.now() / 1000 });
  }

  private find(secretId: string): LocalSecret {
    for (const secret of this.secrets.values()) {
      // Like the real service: a full ARN, a name, or a partial ARN without the random suffix all work.
      if (secret.arn === secretId || secret.name === secretId || secret.arn.startsWith(`${secretId}-`))
        return secret;
    }
    throw new AwsServiceError(
      'ResourceNotFoundException',
      "Secrets Manager can't find the specified secret.",
    );
  }

  async start(port: number): Promise<string> {
    const { server, url } = await listenJsonProtocol(
      {
        targetPrefix: 'secretsmanager',
        operations: {
          GetSecretValue: (input) => {
            const secret = this.find(requireString(input, 'SecretId'));
            return {
              ARN: secret.arn,
              Name: secret.name,
              SecretString: secret.value,
              VersionId: secret.versionId,
              VersionStages: ['AWSCURRENT'],
              CreatedDate: secret.createdDate,
            };
          },
          PutSecretValue: (input) => {
            const secret = this.find(requireString(input, 'SecretId'));
            secret.value = requireString(input, 'SecretString');
            secret.versionId = randomUUID();
            return {
              ARN: secret.arn,
              Name: secret.name,
              VersionId: secret.versionId,
              VersionStages: ['AWSCURRENT'],
            };
          },
          DescribeSecret: (input) => {
            const secret = this.find(requireString(input, 'SecretId'));
            return { ARN: secret.arn, Name: secret.name, CreatedDate: secret.createdDate };
          },
        },
      },
      { port },
    );
    this.server = server;
    this.url = url;
    return url;
  }

  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    await closeServer(server);
  }
}
