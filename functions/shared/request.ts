// Reads a JSON request body through a schema, turning every problem into a 400 a caller can act on.
import type * as z from 'zod';
import { HttpError, type HttpEvent } from './http.ts';

/** The request body as parsed JSON: 400 when it is not JSON, or when it is empty unless `allowEmpty` (then `{}`). */
export function readJsonBody(event: HttpEvent, options: { allowEmpty?: boolean } = {}): unknown {
  const text = event.body
    ? event.isBase64Encoded
      ? Buffer.from(event.body, 'base64').toString('utf8')
      : event.body
    : '';
  if (text.trim() === '') {
    if (options.allowEmpty) return {};
    throw new HttpError(400, 'Request body is required');
  }
  try {
    return JSON.parse(text);
  } catch {
    throw new HttpError(400, 'Request body is not valid JSON');
  }
}

export function parseJsonBody<Schema extends z.ZodType>(
  event: HttpEvent,
  schema: Schema,
  options: { allowEmpty?: boolean } = {},
): z.output<Schema> {
  const result = schema.safeParse(readJsonBody(event, options));
  if (!result.success) {
    throw new HttpError(
      400,
      result.error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; '),
    );
  }
  return result.data;
}
