import { createHash } from 'node:crypto';

/** The request header, as Stripe's API and the IETF httpapi Idempotency-Key draft name it. */
export const IDEMPOTENCY_KEY_HEADER = 'Idempotency-Key';

/** Stripe's bound; a UUID (36 characters) is what most clients send. */
const MAX_IDEMPOTENCY_KEY_LENGTH = 255;

// Visible ASCII and the space: what an HTTP header carries unambiguously, and what a log shows.
const printable = /^[\x20-\x7e]+$/;

/** The content of a structured-field string (RFC 8941 3.3.3), without its quotes; null if it is not one. */
function unquote(quoted: string): string | null {
  let content = '';
  for (let index = 1; index < quoted.length - 1; index += 1) {
    const character = quoted[index]!;
    if (character === '"') return null;
    if (character === '\\') {
      index += 1;
      const escaped = quoted[index];
      // Only the quote and the backslash are escaped; the closing quote cannot be.
      if ((escaped !== '"' && escaped !== '\\') || index === quoted.length - 1) return null;
      content += escaped;
    } else {
      content += character;
    }
  }
  return content;
}

/**
 * The key a header value names, or why it names none. The IETF draft writes the key as a
 * structured-field string (`"8e03978e-…"`), Stripe as the bare value (`8e03978e-…`): both are
 * accepted, and name the same key.
 */
export function parseIdempotencyKey(value: string): { key: string } | { problem: string } {
  let key: string | null = value.trim();
  if (key.length >= 2 && key.startsWith('"') && key.endsWith('"')) {
    key = unquote(key);
    if (key === null) return { problem: 'is not a valid quoted string' };
  }
  if (key.trim() === '') return { problem: 'is empty' };
  if (key.length > MAX_IDEMPOTENCY_KEY_LENGTH)
    return { problem: `is longer than ${MAX_IDEMPOTENCY_KEY_LENGTH} characters` };
  if (!printable.test(key)) return { problem: 'may contain only printable ASCII characters' };
  return { key };
}

/** The parts of a GraphQL request that say what it does. */
export interface GraphqlRequestParts {
  query?: string;
  variables?: unknown;
  operationName?: string | null;
}

/** JSON with every object's keys in order: the same value always gives the same text. */
function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value).filter((entry) => entry[1] !== undefined);
    entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([name, item]) => `${JSON.stringify(name)}:${canonicalJson(item)}`).join(',')}}`;
  }
  return JSON.stringify(value ?? null);
}

/**
 * SHA-256 (hex) of what a request asks for: its query, variables and operation name. The order
 * of keys in the JSON body, absent versus empty variables and a missing versus null operation
 * name do not change it; anything else does, so a retry must send the same request.
 */
export function requestFingerprint(request: GraphqlRequestParts): string {
  const normalized = {
    query: request.query ?? '',
    variables: request.variables ?? {},
    operationName: request.operationName || null,
  };
  return createHash('sha256').update(canonicalJson(normalized)).digest('hex');
}
