import { createHash } from 'node:crypto';

/**
 * What "the same content" means for deduplication: Unicode NFKC (so full-width letters, ligatures
 * and no-break spaces read as their plain forms), lower case, every run of whitespace as one
 * space, and no whitespace at either end. "Tea  at\nFIVE " and "tea at five" are the same memory.
 * Whitespace is ASCII whitespace after NFKC, which has already made the other Unicode spaces
 * plain ones; the migration that introduced the rule hashes ASCII-only rows the same way in SQL.
 */
export function normalizeContent(content: string): string {
  // NFKC again after lower-casing: lower case can leave a decomposed form (capital iota with
  // dialytika and an acute becomes ϊ + U+0301, whose NFKC is ΐ), and the rule must be idempotent.
  return content
    .normalize('NFKC')
    .toLowerCase()
    .normalize('NFKC')
    .replace(/[\t\n\v\f\r ]+/g, ' ')
    .trim();
}

/** memories.hash: SHA-256 (hex) of the normalized content. */
export function contentHash(content: string): string {
  return createHash('sha256').update(normalizeContent(content), 'utf8').digest('hex');
}
