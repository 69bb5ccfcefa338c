// Reads a JSON request body through a schema, turning every problem into a 400 a caller can act on.
import type * as z from 'zod';
import { HttpError, type HttpEvent } from './http.ts';

export function parseJsonBody<Schema extends z.ZodType>(
  event: HttpEvent,
  schema: Schema,
  options: { allowEmpty?: boolean } = {},
): z.output<Schema> {
  const text = event.body
    ? event.isBase64Encoded
      ? Buffer.from(event.body, 'base64').toString('utf8')
      : event.body
    : '';
  let value: unknown = {};
  if (text.trim() !== '') {
    try {
      value = JSON.parse(text);
    } catch {
      throw new HttpError(400, 'Request body is not valid JSON');
    }
  } else if (!options.allowEmpty) {
    throw new HttpError(400, 'Request body is required');
  }
  const result = schema.safeParse(value);
  if (!result.success) {
    throw new HttpError(
      400,
      result.error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; '),
    );
  }
  return result.data;
}
