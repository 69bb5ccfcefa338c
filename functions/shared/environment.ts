// Reads and validates a function's environment once, at cold start, with errors that name every bad variable.
import * as z from 'zod';

export class ConfigurationError extends Error {
  override name = 'ConfigurationError';
}

export function readEnvironment<Shape extends z.ZodRawShape>(
  shape: Shape,
  env: NodeJS.ProcessEnv = process.env,
): z.output<z.ZodObject<Shape>> {
  const result = z.object(shape).safeParse(env);
  if (!result.success) {
    const problems = result.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`);
    throw new ConfigurationError(`Invalid function environment: ${problems.join('; ')}`);
  }
  return result.data;
}
