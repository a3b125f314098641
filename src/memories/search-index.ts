import type { PrismaClient } from '../generated/prisma/client';
import type { Logger } from '../logger';
import { SEARCH_INDEX, SEARCH_VIEW } from './search';

/**
 * Whether memory search can read through the GIN index under row-level security. It decides on
 * who owns the search's view: a superuser or a BYPASSRLS role reads beneath it without the
 * policies, any other role with them, which keeps the index out of reach (see the migration
 * 20261125100000_memory_search_view).
 */
export type SearchIndexUse =
  | { usesIndex: true; viewOwner: string }
  | { usesIndex: false; viewOwner: string }
  | { usesIndex: false; viewOwner: null };

/** `prisma` may be the application's client, outside any scope: the catalogs are readable to all. */
export async function inspectSearchIndexUse(prisma: PrismaClient): Promise<SearchIndexUse> {
  const [view] = await prisma.$queryRaw<Array<{ owner: string; bypassesPolicies: boolean }>>`
    SELECT r.rolname::text AS owner, (r.rolsuper OR r.rolbypassrls) AS "bypassesPolicies"
    FROM pg_class c JOIN pg_roles r ON r.oid = c.relowner
    WHERE c.oid = to_regclass(${SEARCH_VIEW}::text)`;
  if (!view) return { usesIndex: false, viewOwner: null };
  return { usesIndex: view.bypassesPolicies, viewOwner: view.owner };
}

/** What an operator should know when search cannot use the index; undefined when it can. */
function searchIndexWarning(use: SearchIndexUse): string | undefined {
  if (use.usesIndex) return undefined;
  if (use.viewOwner === null) {
    return `memory search has no view ${SEARCH_VIEW}: apply the migrations (npm run db:migrate)`;
  }
  return (
    `memory search cannot use the full-text index ${SEARCH_INDEX}: its view ${SEARCH_VIEW} is owned by ` +
    `"${use.viewOwner}", which is neither a superuser nor BYPASSRLS, so row-level security applies beneath it and ` +
    `each search reads all of the organization's memories. Results are the same, only slower. To use the index, ` +
    `make a superuser or a BYPASSRLS role (with SELECT on memories) its owner: ` +
    `ALTER VIEW ${SEARCH_VIEW} OWNER TO <role>`
  );
}

/** Checked once at start-up: a slow search says so in the log, once, rather than only in latency. */
export async function warnIfSearchCannotUseIndex(prisma: PrismaClient, logger: Logger): Promise<SearchIndexUse> {
  const use = await inspectSearchIndexUse(prisma);
  const warning = searchIndexWarning(use);
  if (warning) logger.warn({ viewOwner: use.viewOwner }, warning);
  return use;
}
