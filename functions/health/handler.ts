// GET /health: a shallow liveness check for load balancers, uptime monitors and the local stack's readiness probe.

import * as z from 'zod';
import { NURTURE_VERSION } from '../shared/build-info.ts';
import { readEnvironment } from '../shared/environment.ts';
import { httpHandler, json } from '../shared/http.ts';

const env = readEnvironment({ NURTURE_STAGE: z.string().min(1) });

export const handler = httpHandler(async () =>
  json(200, { status: 'ok', service: 'nurture', version: NURTURE_VERSION, stage: env.NURTURE_STAGE }),
);
