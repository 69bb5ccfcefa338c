// `nurture export` and `nurture erase`: which API they call, with what, and what the operator reads back.
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { eraseCommand, exportCommand, resolveAdminApi } from '../../../lib/cli/privacy.ts';

interface Call {
  readonly url: string;
  readonly init: RequestInit | undefined;
}

function fakeApi(status: number, body: unknown) {
  const calls: Call[] = [];
  const fetch: typeof globalThis.fetch = async (input, init) => {
    calls.push({ url: String(input), init });
    return new Response(JSON.stringify(body), { status });
  };
  return { calls, fetch };
}

function capture() {
  let text = '';
  return { write: (chunk: string) => (text += chunk), text: () => text };
}

const env = { NURTURE_API_URL: 'http://127.0.0.1:4000/', NURTURE_ADMIN_TOKEN: 'token-from-env' };
const emptyDirectory = () => mkdtempSync(join(tmpdir(), 'nurture-cli-'));

describe('finding the admin API', () => {
  it('prefers flags over the environment', () => {
    const api = resolveAdminApi(
      { api: 'https://api.example.com', adminToken: 'flag-token' },
      { env, cwd: emptyDirectory() },
    );

    expect(api).toEqual({ url: 'https://api.example.com', adminToken: 'flag-token' });
  });

  it('says how to configure it when nothing names it', () => {
    expect(() => resolveAdminApi({}, { env: {}, cwd: emptyDirectory() })).toThrow(/--admin-token/);
  });
});

describe('nurture erase', () => {
  it('posts the identifier, reason and requester, and reports what was erased', async () => {
    const api = fakeApi(200, {
      requestId: 'era_1',
      erased: { profile: 2, event: 12 },
      suppressed: 1,
      audited: true,
    });
    const stdout = capture();

    const code = await eraseCommand(
      ['--email', 'ada@example.com', '--reason', 'ticket 4711', '--by', 'dpo'],
      {
        fetch: api.fetch,
        env,
        cwd: emptyDirectory(),
        stdout,
      },
    );

    expect(code).toBe(0);
    expect(api.calls[0]?.url).toBe('http://127.0.0.1:4000/admin/privacy/erasure');
    expect(JSON.parse(String(api.calls[0]?.init?.body))).toEqual({
      email: 'ada@example.com',
      reason: 'ticket 4711',
      requestedBy: 'dpo',
    });
    expect(stdout.text()).toContain('Erased 14 items (profile 2, event 12); 1 address kept suppressed');
  });

  it('refuses to run without a reason and requester, before calling anything', async () => {
    const api = fakeApi(200, {});
    const stderr = capture();

    const code = await eraseCommand(['--email', 'ada@example.com'], { fetch: api.fetch, env, stderr });

    expect(code).toBe(1);
    expect(api.calls).toEqual([]);
    expect(stderr.text()).toContain('--reason and --by are required');
  });

  it("passes on the API's reason for refusing", async () => {
    const api = fakeApi(400, { error: 'reason and requestedBy must not name the person being erased' });
    const stderr = capture();

    const code = await eraseCommand(['--user-id', 'u1', '--reason', 'r', '--by', 'b'], {
      fetch: api.fetch,
      env,
      cwd: emptyDirectory(),
      stderr,
    });

    expect(code).toBe(1);
    expect(stderr.text()).toContain('(400): reason and requestedBy must not name the person');
  });
});

describe('nurture export', () => {
  it('writes the document the API returns to the file named', async () => {
    const api = fakeApi(200, { person: { emails: ['ada@example.com'] } });
    const out = join(emptyDirectory(), 'export.json');

    const code = await exportCommand(['--user-id', 'user 1', '--out', out], {
      fetch: api.fetch,
      env,
      cwd: emptyDirectory(),
      stderr: capture(),
    });

    expect(code).toBe(0);
    expect(api.calls[0]?.url).toBe('http://127.0.0.1:4000/admin/privacy/export?userId=user+1');
    expect(JSON.parse(readFileSync(out, 'utf8'))).toEqual({ person: { emails: ['ada@example.com'] } });
  });

  it('refuses two identifiers at once', async () => {
    const stderr = capture();

    const code = await exportCommand(['--email', 'a@example.com', '--user-id', 'u'], { env, stderr });

    expect(code).toBe(1);
    expect(stderr.text()).toContain('exactly one of');
  });
});
