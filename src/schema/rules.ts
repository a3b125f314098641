import { z } from 'zod';

/**
 * The validation rules that several inputs share. Lengths follow the DDL's column sizes, so
 * the database never has to refuse what validation let through.
 */

// Text PostgreSQL cannot store (NUL, lone surrogates) never gets this far: the HTTP layer
// refuses it for the whole request (src/http/input-guard.ts).

/** A string of at most `max` characters (Unicode code points, as PostgreSQL counts them). */
export const text = (max: number) => z.string().refine((value) => [...value].length <= max, `must be at most ${max} characters`);

export const name = z.string().trim().min(1, 'must not be empty').pipe(text(255));

/** Block labels, memory scope and level: caller-defined words of 1 to 50 characters. */
export const label = z.string().trim().min(1, 'must not be empty').pipe(text(50));

export const longText = z.string();

/** Any JSON value (the JSON scalar has parsed it already). */
export const json = z.unknown().optional();

export function characterCount(value: string): number {
  return [...value].length;
}

/**
 * A number PostgreSQL's REAL (a 4-byte float) can hold: GraphQL's Float is 8 bytes, and a value
 * that overflows, or underflows to zero, in 4 bytes is refused by PostgreSQL.
 */
export const real = z
  .number()
  .refine((value) => Number.isFinite(Math.fround(value)) && (value === 0 || Math.fround(value) !== 0), 'is out of range for a 4-byte float (REAL)');
