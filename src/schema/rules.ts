import { z } from 'zod';

/**
 * The validation rules that several inputs share. Lengths follow the DDL's column sizes, so
 * the database never has to refuse what validation let through.
 */

/**
 * Why PostgreSQL could not store this string as it is, if it could not. Such text never reaches
 * a resolver: the HTTP layer refuses it anywhere in a request (src/http/input-guard.ts).
 */
export function unstorable(text: string): string | null {
  if (text.includes('\u0000')) return 'contains a NUL character, which PostgreSQL cannot store';
  if (!text.isWellFormed()) return 'contains a lone UTF-16 surrogate, which is not valid Unicode';
  return null;
}

/**
 * Why a JSON object key could not be stored as it is, if it could not. Prisma 6.19 rebuilds JSON
 * values as plain objects on the way to PostgreSQL, where `__proto__` is the prototype, not a key:
 * the member would vanish from an answer that says it was stored, so it is refused instead.
 */
export function unstorableKey(key: string): string | null {
  const problem = unstorable(key);
  if (problem) return `has a key that ${problem}`;
  return key === '__proto__' ? 'has the key __proto__, which cannot be stored' : null;
}

/** A string of at most `max` characters (Unicode code points, as PostgreSQL counts them). */
export const text = (max: number) =>
  // A string has at least as many UTF-16 units as code points: most values need no count.
  z
    .string()
    .refine((value) => value.length <= max || characterCount(value) <= max, `must be at most ${max} characters`);

export const name = z.string().trim().min(1, 'must not be empty').pipe(text(255));

/** Block labels, memory scope and level: caller-defined words of 1 to 50 characters. */
export const label = z.string().trim().min(1, 'must not be empty').pipe(text(50));

/**
 * The most characters of a TEXT column (agent descriptions and system prompts, block values,
 * tool source code, message text): far beyond any real prompt or message, and a bound that
 * holds whatever MAX_REQUEST_BYTES allows.
 */
export const MAX_LONG_TEXT = 1_000_000;

export const longText = text(MAX_LONG_TEXT);

/**
 * The most characters of a memory's content. Content is indexed for full-text search, and
 * PostgreSQL's tsvector holds at most 1 MB (1,048,575 bytes) of lexemes and positions: the
 * densest text measured (distinct 4-byte characters between spaces) makes about 6 bytes of
 * tsvector per character, so 100,000 characters need about 600 KB.
 */
export const MAX_MEMORY_CONTENT = 100_000;

/**
 * The stored value of a GraphQL enum (MemoryType.FACTUAL is stored as 'factual'), from the
 * enum's own values. Its error names the GraphQL values: they are what a client writes.
 */
export function storedEnum<const Values extends Record<string, { value: string }>>(values: Values) {
  const stored = Object.fromEntries(Object.entries(values).map(([graphqlName, { value }]) => [graphqlName, value]));
  return z.enum(
    stored as { [Name in keyof Values]: Values[Name]['value'] },
    `must be one of ${Object.keys(values).join(', ')}`,
  );
}

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
  .refine(
    (value) => Number.isFinite(Math.fround(value)) && (value === 0 || Math.fround(value) !== 0),
    'is out of range for a 4-byte float (REAL)',
  );
