import { z } from 'zod';

/**
 * The validation rules that several inputs share. Lengths follow the DDL's column sizes, so
 * the database never has to refuse what validation let through.
 */

// PostgreSQL refuses NUL in text; refusing it here makes that a validation error, not a 500.
const withoutNul = (schema: z.ZodString) => schema.refine((value) => !value.includes('\u0000'), 'must not contain NUL characters');

/** A string of at most `max` characters (Unicode code points, as PostgreSQL counts them). */
export const text = (max: number) =>
  withoutNul(z.string()).refine((value) => [...value].length <= max, `must be at most ${max} characters`);

export const name = withoutNul(z.string().trim().min(1, 'must not be empty')).pipe(text(255));

/** Block labels, memory scope and level: caller-defined words of 1 to 50 characters. */
export const label = withoutNul(z.string().trim().min(1, 'must not be empty')).pipe(text(50));

export const longText = withoutNul(z.string());

/** Any JSON value (the JSON scalar has parsed it already). */
export const json = z.unknown().optional();

export function characterCount(value: string): number {
  return [...value].length;
}
