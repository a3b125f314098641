import { createHash, randomBytes } from 'node:crypto';
import type { Prisma } from '../generated/prisma/client';
import { newId } from '../ids';
import type { Scope } from './caller';

/** Recognisable in logs and by secret scanners; the rest is 32 random bytes. */
export const API_KEY_PREFIX = 'amk_';
const KEY_PATTERN = /^amk_[A-Za-z0-9_-]{43}$/;

export function hashApiKey(key: string): string {
  return createHash('sha256').update(key, 'utf8').digest('hex');
}

export function looksLikeApiKey(value: string): boolean {
  return KEY_PATTERN.test(value);
}

/**
 * Creates a key row and returns the secret, which exists only in this return value: the
 * database keeps its SHA-256.
 */
export async function issueApiKey(
  prisma: Prisma.TransactionClient,
  owner: { organizationId: string; userId: string },
  options: { name: string; scopes: readonly Scope[]; expiresAt?: Date | null },
): Promise<{ id: string; key: string }> {
  const key = `${API_KEY_PREFIX}${randomBytes(32).toString('base64url')}`;
  const id = newId('apiKey');
  await prisma.apiKey.create({
    data: {
      id,
      organizationId: owner.organizationId,
      userId: owner.userId,
      name: options.name,
      scopes: [...options.scopes],
      expiresAt: options.expiresAt ?? null,
      keyHash: hashApiKey(key),
    },
  });
  return { id, key };
}
