import { Prisma, type PrismaClient } from '../generated/prisma/client';

/** The columns a MemoryFilter narrows, for Prisma's `where` and for the search's SQL alike. */
export interface MemoryColumns {
  agentId?: string;
  userId?: string;
  memoryType?: string;
  scope?: string;
  level?: string;
}

export interface MemorySearch extends MemoryColumns {
  organizationId: string;
  /** What the caller typed, in web-search syntax: words, "quoted phrases", or, -excluded. */
  query: string;
  limit: number;
}

export interface MemoryMatch {
  id: string;
  rank: number;
}

/**
 * The caller's live memories (of live agents) whose content matches `query`, best first.
 *
 * `to_tsvector('english', content)` is written exactly as the expression of the GIN index
 * `idx_memories_content_fts`, so that PostgreSQL can use it. `websearch_to_tsquery` accepts any
 * text without a syntax error, and every value reaches PostgreSQL as a bound parameter.
 */
export function findMatchingMemories(prisma: PrismaClient, search: MemorySearch): Promise<MemoryMatch[]> {
  const conditions = [
    Prisma.sql`m.organization_id = ${search.organizationId}`,
    Prisma.sql`NOT m.is_deleted`,
    Prisma.sql`NOT a.is_deleted`,
    Prisma.sql`to_tsvector('english', m.content) @@ q.query`,
    ...(search.agentId !== undefined ? [Prisma.sql`m.agent_id = ${search.agentId}`] : []),
    ...(search.userId !== undefined ? [Prisma.sql`m.user_id = ${search.userId}`] : []),
    ...(search.memoryType !== undefined ? [Prisma.sql`m.memory_type = ${search.memoryType}`] : []),
    ...(search.scope !== undefined ? [Prisma.sql`m.scope = ${search.scope}`] : []),
    ...(search.level !== undefined ? [Prisma.sql`m.level = ${search.level}`] : []),
  ];
  return prisma.$queryRaw<MemoryMatch[]>`
    SELECT m.id, ts_rank(to_tsvector('english', m.content), q.query) AS rank
    FROM memories m
    JOIN agents a ON a.id = m.agent_id
    CROSS JOIN websearch_to_tsquery('english', ${search.query}) AS q(query)
    WHERE ${Prisma.join(conditions, ' AND ')}
    ORDER BY rank DESC, m.created_at DESC, m.id DESC
    LIMIT ${search.limit}`;
}
