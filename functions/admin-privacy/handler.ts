// Admin API for data subject rights: export everything held about a person, erase them, list the erasure audit.
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import * as z from 'zod';
import { DynamoDbPrivacyStore } from '../privacy/dynamodb-store.ts';
import { InvalidIdentifierError, type PersonIdentifier, parseIdentifier } from '../privacy/person.ts';
import { ErasureRequestError, PrivacyService } from '../privacy/service.ts';
import { readEnvironment } from '../shared/environment.ts';
import { HttpError, httpHandler, json } from '../shared/http.ts';
import { logger } from '../shared/logger.ts';
import { parseJsonBody } from '../shared/request.ts';

const env = readEnvironment({ PROFILE_TABLE: z.string().min(1) });
const privacy = new PrivacyService(
  new DynamoDbPrivacyStore({ client: new DynamoDBClient({}), tableName: env.PROFILE_TABLE }),
);

const erasureBody = z.object({
  email: z.string().optional(),
  userId: z.string().optional(),
  anonymousId: z.string().optional(),
  profileId: z.string().optional(),
  reason: z.string().trim().min(1).max(500),
  requestedBy: z.string().trim().min(1).max(200),
});
const auditQuery = z.object({ limit: z.coerce.number().int().min(1).max(500).default(100) });

function identifierOf(input: unknown): PersonIdentifier {
  try {
    return parseIdentifier(input);
  } catch (error) {
    if (error instanceof InvalidIdentifierError) throw new HttpError(400, error.message);
    throw error;
  }
}

export const handler = httpHandler(async (event) => {
  switch (event.routeKey) {
    case 'GET /admin/privacy/export': {
      const identifier = identifierOf(event.queryStringParameters ?? {});
      const document = await privacy.exportPerson(identifier);
      if (document === undefined) throw new HttpError(404, 'nothing is held about this identifier');
      // The file name says what and when, not whom: it ends up in download folders and ticket attachments.
      const day = new Date().toISOString().slice(0, 10);
      return json(200, document, {
        'content-disposition': `attachment; filename="nurture-export-${day}.json"`,
      });
    }
    case 'POST /admin/privacy/erasure': {
      const body = parseJsonBody(event, erasureBody);
      const { reason, requestedBy, ...identifierFields } = body;
      const identifier = identifierOf(identifierFields);
      try {
        const result = await privacy.erasePerson(identifier, { reason, requestedBy });
        // Counts and the request id only: the log must not say whom.
        logger.info('erasure finished', {
          erasureRequestId: result.requestId,
          erased: result.erased,
          audited: result.audited,
        });
        return json(200, result);
      } catch (error) {
        if (error instanceof ErasureRequestError) throw new HttpError(400, error.message);
        throw error;
      }
    }
    case 'GET /admin/privacy/audit': {
      const parsed = auditQuery.safeParse(event.queryStringParameters ?? {});
      if (!parsed.success) throw new HttpError(400, parsed.error.issues.map((i) => i.message).join('; '));
      return json(200, { erasures: await privacy.listAudit(parsed.data.limit) });
    }
    default:
      throw new HttpError(404, `no route ${event.routeKey}`);
  }
});
