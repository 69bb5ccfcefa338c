// GET /admin/status: what this deployment is (stage, version, resources), for operators and for checking a token.
import * as z from 'zod';
import { NURTURE_VERSION } from '../shared/build-info.ts';
import { readEnvironment } from '../shared/environment.ts';
import { httpHandler, json } from '../shared/http.ts';

const env = readEnvironment({
  NURTURE_STAGE: z.string().min(1),
  PROFILE_TABLE: z.string().min(1),
  EVENT_BUS_NAME: z.string().min(1),
});

export const handler = httpHandler(async () =>
  json(200, {
    service: 'nurture',
    version: NURTURE_VERSION,
    stage: env.NURTURE_STAGE,
    region: process.env.AWS_REGION ?? null,
    profileTable: env.PROFILE_TABLE,
    eventBus: env.EVENT_BUS_NAME,
  }),
);
