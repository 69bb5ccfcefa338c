// Segments on the local stack: a definition, members kept current by tracked events, exports, and journeys reacting.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  admin,
  eventually,
  type LocalStackProcess,
  startLocalStackProcess,
} from './support/local-stack-process.ts';

let stack: LocalStackProcess;

const PRICING_FANS = {
  name: 'Pricing fans who may get email',
  rule: {
    all: [
      { events: { event: 'Pricing Viewed' }, within: 'P7D', count: { op: 'gte', value: 2 } },
      { consent: 'email', granted: true },
    ],
  },
};

const segmentSchema = z.object({
  id: z.string(),
  version: z.number(),
  size: z.number(),
  backfill: z.object({ state: z.string(), scanned: z.number() }).nullable(),
});
const membersSchema = z.object({
  members: z.array(z.object({ profileId: z.string(), enteredAt: z.string() })),
  cursor: z.string().nullable(),
});

function basic(): string {
  return `Basic ${Buffer.from(`${stack.local.writeKey}:`).toString('base64')}`;
}

async function send(batch: unknown[]): Promise<void> {
  const response = await fetch(`${stack.local.apiUrl}/v1/batch`, {
    method: 'POST',
    headers: { authorization: basic(), 'content-type': 'application/json' },
    body: JSON.stringify({ batch }),
  });
  expect(response.status).toBe(200);
}

async function settle(): Promise<void> {
  const response = await fetch(`${stack.local.apiUrl}/_local/clock`, {
    method: 'POST',
    body: JSON.stringify({ advance: 'PT1S' }),
  });
  expect(response.status).toBe(200);
}

async function person(): Promise<{ userId: string; profileId: string }> {
  const userId = `fan-${randomUUID()}`;
  await send([
    { type: 'identify', userId, messageId: randomUUID(), traits: { email: `${userId}@acme.example` } },
  ]);
  const response = await admin(stack, `/admin/profiles?userId=${userId}`);
  return { userId, profileId: z.object({ id: z.string() }).parse(await response.json()).id };
}

const pricingView = (userId: string) => ({
  type: 'track',
  userId,
  messageId: randomUUID(),
  event: 'Pricing Viewed',
  properties: { plan: 'pro' },
});

async function segment(id: string) {
  const response = await admin(stack, `/admin/segments/${id}`);
  expect(response.status).toBe(200);
  return segmentSchema.parse(await response.json());
}

async function members(id: string) {
  const response = await admin(stack, `/admin/segments/${id}/members`);
  expect(response.status).toBe(200);
  return membersSchema.parse(await response.json()).members.map((m) => m.profileId);
}

beforeAll(async () => {
  stack = await startLocalStackProcess();
  const journey = await admin(stack, '/admin/journeys/welcome-pricing-fans', {
    method: 'PUT',
    body: JSON.stringify({
      name: 'Welcome pricing fans',
      triggers: [{ type: 'segment', segment: 'pricing-fans' }],
      start: 'done',
      nodes: { done: { type: 'exit' } },
    }),
  });
  expect(journey.status).toBe(201);
}, 240_000);

afterAll(async () => {
  await stack?.dispose();
});

describe('segments kept current by what people do', () => {
  it('refuses a definition that reads a missing segment, listing every problem', async () => {
    const response = await admin(stack, '/admin/segments/broken', {
      method: 'PUT',
      body: JSON.stringify({ name: 'Broken', rule: { all: [{ segment: 'nope' }, { segment: 'neither' }] } }),
    });

    expect(response.status).toBe(400);
    const body = z
      .object({ problems: z.array(z.object({ message: z.string() })) })
      .parse(await response.json());
    expect(body.problems.map((p) => p.message).join('\n')).toMatch(/nope[\s\S]*neither/);
  });

  it('admits someone who viewed pricing twice this week, starts their journey, and drops them when consent is withdrawn', async () => {
    const saved = await admin(stack, '/admin/segments/pricing-fans', {
      method: 'PUT',
      body: JSON.stringify(PRICING_FANS),
    });
    expect(saved.status).toBe(201);
    const { userId, profileId } = await person();

    await send([pricingView(userId), pricingView(userId)]);
    await settle();

    await eventually(
      async () => ((await members('pricing-fans')).includes(profileId) ? true : undefined),
      30_000,
    );
    expect((await segment('pricing-fans')).size).toBe(1);
    const list = z
      .object({ segments: z.array(z.object({ id: z.string(), size: z.number() })) })
      .parse(await (await admin(stack, '/admin/segments')).json());
    expect(list.segments).toContainEqual(expect.objectContaining({ id: 'pricing-fans', size: 1 }));
    const theirs = z
      .object({ segments: z.array(z.object({ segmentId: z.string(), reason: z.string().nullable() })) })
      .parse(await (await admin(stack, `/admin/profiles/${profileId}/segments`)).json());
    expect(theirs.segments).toEqual([
      expect.objectContaining({
        segmentId: 'pricing-fans',
        reason: expect.stringContaining('Pricing Viewed'),
      }),
    ]);
    // segment.entered went out through the outbox and started the journey.
    await eventually(async () => {
      const response = await admin(stack, `/admin/profiles/${profileId}/journeys`);
      const body = z
        .object({ enrollments: z.array(z.object({ journeyId: z.string() }).loose()) })
        .parse(await response.json());
      return body.enrollments.some((e) => e.journeyId === 'welcome-pricing-fans') ? true : undefined;
    }, 30_000);

    const csv = await admin(stack, '/admin/segments/pricing-fans/members?format=csv');
    expect(csv.status).toBe(200);
    expect(csv.headers.get('content-type')).toContain('text/csv');
    const text = await csv.text();
    expect(text.split('\r\n')[0]).toBe('profileId,userId,email,enteredAt');
    expect(text).toContain(`${profileId},${userId},${userId}@acme.example,`);

    await send([
      {
        type: 'track',
        userId,
        messageId: randomUUID(),
        event: 'Segment Consent Preference Updated',
        properties: {},
        context: { consent: { categoryPreferences: { marketing: false } } },
      },
    ]);
    await settle();

    await eventually(
      async () => ((await members('pricing-fans')).includes(profileId) ? undefined : true),
      30_000,
    );
    expect((await segment('pricing-fans')).size).toBe(0);
  });

  it('backfills people who qualified before the segment existed', async () => {
    const { userId, profileId } = await person();
    await send([pricingView(userId), pricingView(userId)]);
    await settle();

    const saved = await admin(stack, '/admin/segments/early-fans', {
      method: 'PUT',
      body: JSON.stringify({ ...PRICING_FANS, name: 'Early pricing fans' }),
    });
    expect(saved.status).toBe(201);
    await settle();

    await eventually(
      async () => ((await members('early-fans')).includes(profileId) ? true : undefined),
      30_000,
    );
    const progress = await eventually(async () => {
      const current = await segment('early-fans');
      return current.backfill?.state === 'finished' ? current.backfill : undefined;
    }, 30_000);
    expect(progress.scanned).toBeGreaterThanOrEqual(1);
  });
});
