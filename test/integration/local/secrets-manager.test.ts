import {
  GetSecretValueCommand,
  PutSecretValueCommand,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LOCAL_CREDENTIALS } from '../../../lib/local/emulators.ts';
import { LocalSecretsManager } from '../../../lib/local/secrets-manager.ts';

const arn = 'arn:aws:secretsmanager:us-east-1:000000000000:secret:AdminToken-local';
const secrets = new LocalSecretsManager();
let client: SecretsManagerClient;

beforeAll(async () => {
  secrets.define({ arn, name: 'AdminToken', value: 'first' });
  client = new SecretsManagerClient({
    region: 'us-east-1',
    credentials: LOCAL_CREDENTIALS,
    endpoint: await secrets.start(0),
  });
});
afterAll(() => secrets.stop());

describe('local Secrets Manager', () => {
  it('returns a secret by ARN, name or partial ARN through the real SDK', async () => {
    for (const id of [arn, 'AdminToken', 'arn:aws:secretsmanager:us-east-1:000000000000:secret:AdminToken']) {
      const { SecretString } = await client.send(new GetSecretValueCommand({ SecretId: id }));
      expect(SecretString).toBe('first');
    }
  });

  it('rotates a secret with PutSecretValue', async () => {
    await client.send(new PutSecretValueCommand({ SecretId: arn, SecretString: 'second' }));

    const { SecretString } = await client.send(new GetSecretValueCommand({ SecretId: arn }));

    expect(SecretString).toBe('second');
  });

  it('answers an unknown secret with ResourceNotFoundException', async () => {
    await expect(client.send(new GetSecretValueCommand({ SecretId: 'missing' }))).rejects.toMatchObject({
      name: 'ResourceNotFoundException',
    });
  });
});
