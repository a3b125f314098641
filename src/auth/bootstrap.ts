import { withOrganization } from '../db/row-level-security';
import type { Prisma, PrismaClient } from '../generated/prisma/client';
import { newId } from '../ids';
import { SCOPES } from './caller';
import { issueApiKey } from './keys';

export interface BootstrappedOrganization {
  organizationId: string;
  userId: string;
  apiKeyId: string;
  /** The secret: shown once, never stored. */
  key: string;
}

export interface BootstrapOptions {
  organizationName: string;
  userName: string;
  keyName?: string;
}

/**
 * A new organization with its first user, an admin, and that user's first key, inside `tx`, which
 * must run in the new organization's scope (`withNewOrganization`).
 */
export async function createOrganizationWithAdmin(
  tx: Prisma.TransactionClient,
  organizationId: string,
  options: BootstrapOptions,
): Promise<BootstrappedOrganization> {
  const userId = newId('user');
  await tx.organization.create({ data: { id: organizationId, name: options.organizationName } });
  await tx.user.create({
    data: { id: userId, organizationId, name: options.userName, createdById: userId, lastUpdatedById: userId },
  });
  const { id: apiKeyId, key } = await issueApiKey(
    tx,
    { organizationId, userId },
    { name: options.keyName ?? 'bootstrap', scopes: SCOPES },
  );
  return { organizationId, userId, apiKeyId, key };
}

/**
 * Runs `work` with a fresh organization id as the row-level security scope: row-level security
 * lets a transaction create only the organization it is scoped to.
 */
export function withNewOrganization<T>(work: (organizationId: string) => Promise<T>): Promise<T> {
  const organizationId = newId('organization');
  return withOrganization(organizationId, () => work(organizationId));
}

/** `createOrganizationWithAdmin` in a transaction of its own: all or nothing. */
export function bootstrapOrganization(
  prisma: PrismaClient,
  options: BootstrapOptions,
): Promise<BootstrappedOrganization> {
  return withNewOrganization((organizationId) =>
    prisma.$transaction((tx) => createOrganizationWithAdmin(tx, organizationId, options)),
  );
}
