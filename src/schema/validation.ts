import type { z } from 'zod';
import { ValidationError } from '../errors';

/**
 * Parses mutation input with its zod schema; the first broken rule becomes a ValidationError
 * whose `field` is the input path (e.g. ["input", "messages", "2", "toolCallId"]).
 */
export function parseInput<T extends z.ZodType>(schema: T, value: unknown, path: string[]): z.infer<T> {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  const field = [...path, ...(issue?.path ?? []).map(String)];
  throw new ValidationError(`${field.join('.')}: ${issue?.message ?? 'invalid'}`, field);
}
