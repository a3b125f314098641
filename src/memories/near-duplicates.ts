import type { EmbeddingSettings } from '../config/settings';
import { SemanticRecallUnavailableError } from '../errors';
import type { Prisma } from '../generated/prisma/client';
import { isMissingVector } from './embeddings';

/** A new memory's vector, to be compared with its agent's memories. */
export interface NearDuplicateProbe {
  /** Its place among the write's inputs. */
  index: number;
  agentId: string;
  vector: readonly number[];
  model: string;
}

/**
 * Near-duplicate dedupe (MEMORY_DEDUPE_SIMILARITY): for each probe, the memory of its agent
 * nearest to its vector among those exact dedupe merges into (live facts that still hold, not
 * expired: `dedupeCandidates`), with an embedding of the same model and length, if its cosine
 * similarity is at least the setting; by the probe's index. Only memories that have an embedding
 * are compared, so a memory waiting for the provider's is never merged into, and a write without
 * a vector is never merged by meaning. Off (nothing read) when the setting is unset. One
 * statement, exact (an agent's memories, through its index): a write must not miss its twin.
 */
export async function findNearDuplicates(
  tx: Prisma.TransactionClient,
  organizationId: string,
  probes: NearDuplicateProbe[],
  settings: EmbeddingSettings,
  field: (index: number) => string[],
): Promise<Map<number, { id: string; importance: number }>> {
  const found = new Map<number, { id: string; importance: number }>();
  if (settings.dedupeSimilarity === undefined || probes.length === 0) return found;
  const dimensions = Math.trunc(settings.dimensions);
  let rows: Array<{ index: number; id: string; importance: number }>;
  try {
    rows = await tx.$queryRawUnsafe(
      `SELECT p.index, n.id, n.importance
       FROM unnest($1::int[], $2::text[], $3::text[], $4::text[]) AS p(index, agent_id, vector, model)
       CROSS JOIN LATERAL (
         SELECT m.id, m.importance FROM memories m
         WHERE m.organization_id = $5 AND m.agent_id = p.agent_id AND NOT m.is_deleted
           AND m.embedding_model = p.model AND m.embedding_dimensions = ${dimensions}
           AND m.superseded_by_id IS NULL AND (m.valid_until IS NULL OR m.valid_until > now())
           AND (m.expires_at IS NULL OR m.expires_at > now())
           AND 1 - (m.embedding::vector(${dimensions}) <=> p.vector::vector(${dimensions})) >= $6::float8
         ORDER BY m.embedding::vector(${dimensions}) <=> p.vector::vector(${dimensions}), m.created_at, m.id
         LIMIT 1
       ) n`,
      probes.map((probe) => probe.index),
      probes.map((probe) => probe.agentId),
      probes.map((probe) => JSON.stringify(probe.vector)),
      probes.map((probe) => probe.model),
      organizationId,
      settings.dedupeSimilarity,
    );
  } catch (error) {
    if (isMissingVector(error)) throw new SemanticRecallUnavailableError(field(probes[0]!.index));
    throw error;
  }
  for (const row of rows) found.set(Number(row.index), { id: row.id, importance: Number(row.importance) });
  return found;
}
