// Deployment configuration: stage defaults, CDK context values as the CLI passes them, and one clear error.
import { describe, expect, it } from 'vitest';
import { CONTEXT_KEYS, InvalidConfigError, parseConfig } from '../../lib/config.ts';

/** A context reader like `app.node.tryGetContext`, backed by the given `-c key=value` pairs. */
function context(values: Record<string, unknown>): (key: string) => unknown {
  return (key) => values[key];
}

function rejectionOf(values: Record<string, unknown>): InvalidConfigError {
  try {
    parseConfig(context(values));
  } catch (error) {
    if (error instanceof InvalidConfigError) return error;
    throw error;
  }
  throw new Error(`expected ${JSON.stringify(values)} to be rejected`);
}

describe('stage defaults', () => {
  it('defaults to a development stage when no context is given', () => {
    const config = parseConfig(context({}));

    expect(config).toMatchObject({
      stage: 'dev',
      retainData: false,
      logRetentionDays: 14,
      archiveRetentionDays: 7,
      eventLog: true,
      eventBusName: 'nurture-dev',
      adminAuth: 'token',
      allowedOrigins: ['*'],
      eventRetentionDays: 396,
      apiThrottleRate: 1000,
      apiThrottleBurst: 2000,
    });
  });

  it('accepts tracking from no browser origin in production until origins are configured', () => {
    expect(parseConfig(context({ stage: 'prod' })).allowedOrigins).toEqual([]);
  });

  it('rejects a site host that is not a host name', () => {
    expect(() => parseConfig(context({ siteHost: 'https://example.com/' }))).toThrow(
      /-c siteHost: must be a host name/,
    );
  });

  it('retains data, keeps logs and archives longer and turns the event log off in production', () => {
    const config = parseConfig(context({ stage: 'prod' }));

    expect(config).toMatchObject({
      stage: 'prod',
      retainData: true,
      logRetentionDays: 90,
      archiveRetentionDays: 365,
      eventLog: false,
      eventBusName: 'nurture',
    });
  });

  it('rejects a stage it does not know', () => {
    const error = rejectionOf({ stage: 'staging' });

    expect(error.message).toContain('-c stage: must be one of dev, prod');
  });

  it('treats an empty context value as not given', () => {
    const config = parseConfig(context({ stage: '', adminAuth: '' }));

    expect(config).toMatchObject({ stage: 'dev', adminAuth: 'token' });
  });

  it('reads every key it declares from the context and no other', () => {
    const asked: string[] = [];

    parseConfig((key) => {
      asked.push(key);
      return undefined;
    });

    expect(asked.sort()).toEqual([...CONTEXT_KEYS].sort());
    expect(asked).toEqual(expect.arrayContaining(['stage', 'allowedOrigins', 'adminAuth', 'eventLog']));
  });
});

describe('allowed origins', () => {
  it('splits a comma-separated string and trims each origin', () => {
    const config = parseConfig(
      context({ allowedOrigins: ' https://www.example.com ,http://localhost:5173,, ' }),
    );

    expect(config.allowedOrigins).toEqual(['https://www.example.com', 'http://localhost:5173']);
  });

  it('accepts an array from cdk.json and trims it the same way', () => {
    const config = parseConfig(
      context({ allowedOrigins: [' https://a.example.com', '', 'https://b.example'] }),
    );

    expect(config.allowedOrigins).toEqual(['https://a.example.com', 'https://b.example']);
  });

  it('accepts "*" to allow any origin', () => {
    const config = parseConfig(context({ allowedOrigins: '*' }));

    expect(config.allowedOrigins).toEqual(['*']);
  });

  it.each([
    ['an origin with a path', 'https://www.example.com/app'],
    ['an origin with a trailing slash', 'https://www.example.com/'],
    ['a host without a scheme', 'www.example.com'],
    ['a non-web scheme', 'ftp://files.example.com'],
    ['a scheme without a host', 'https://'],
  ])('rejects %s', (_what, origin) => {
    const error = rejectionOf({ allowedOrigins: `https://ok.example.com,${origin}` });

    expect(error.message).toContain('-c allowedOrigins.1: must be "*" or an origin');
  });
});

describe('admin authentication', () => {
  it.each(['token', 'iam'])('accepts %s', (adminAuth) => {
    const config = parseConfig(context({ adminAuth }));

    expect(config.adminAuth).toBe(adminAuth);
  });

  it('rejects any other mode with the values it accepts', () => {
    const error = rejectionOf({ adminAuth: 'cognito' });

    expect(error.message).toContain('-c adminAuth: must be "token" or "iam"');
  });
});

describe('values given as text on the command line', () => {
  it('reads eventLog "false" as false in a development stage', () => {
    const config = parseConfig(context({ eventLog: 'false' }));

    expect(config.eventLog).toBe(false);
  });

  it('reads eventLog "true" as true in production', () => {
    const config = parseConfig(context({ stage: 'prod', eventLog: 'true' }));

    expect(config.eventLog).toBe(true);
  });

  it('rejects an eventLog that is neither true nor false', () => {
    const error = rejectionOf({ eventLog: 'yes' });

    expect(error.message).toContain('-c eventLog');
  });

  it('reads numbers from strings and lets them override the stage default', () => {
    const config = parseConfig(
      context({ logRetentionDays: '30', apiThrottleRate: '50', apiThrottleBurst: '100' }),
    );

    expect(config).toMatchObject({ logRetentionDays: 30, apiThrottleRate: 50, apiThrottleBurst: 100 });
  });

  it.each([
    ['zero', '0'],
    ['a negative number', '-5'],
    ['a fraction', '1.5'],
    ['text', 'a week'],
  ])('rejects %s as a log retention', (_what, logRetentionDays) => {
    const error = rejectionOf({ logRetentionDays });

    expect(error.message).toContain('-c logRetentionDays');
  });

  it('accepts a sender address with a display name', () => {
    const config = parseConfig(context({ senderEmail: 'Acme <news@acme.com>' }));

    expect(config.senderEmail).toBe('Acme <news@acme.com>');
  });

  it('rejects a sender that is not an email address', () => {
    const error = rejectionOf({ senderEmail: 'news at acme' });

    expect(error.message).toContain('-c senderEmail: must be an email address');
  });
});

describe('errors', () => {
  it('lists every bad key in one error, one line each', () => {
    const error = rejectionOf({
      stage: 'qa',
      adminAuth: 'basic',
      allowedOrigins: 'example.com',
      logRetentionDays: 'soon',
      eventLog: 'maybe',
    });

    const lines = error.message.split('\n');
    expect(lines[0]).toBe('Invalid Nurture configuration:');
    expect(lines.slice(1).map((line) => line.match(/^ {2}-c ([\w.]+):/)?.[1])).toEqual([
      'stage',
      'allowedOrigins.0',
      'adminAuth',
      'logRetentionDays',
      'eventLog',
    ]);
  });

  it('names itself so callers can tell a configuration mistake from a crash', () => {
    const error = rejectionOf({ stage: 'qa' });

    expect(error.name).toBe('InvalidConfigError');
  });
});
