import { z } from 'zod';
import type { Bind } from '../db/statements';
import { ValidationError } from '../errors';
import { builder } from '../schema/builder';
import { maxItems } from '../schema/list-caps';
import { label } from '../schema/rules';
import { parseInput } from '../schema/validation';
import { MemoryTypeEnum } from './memory-type';
import { MetadataFilter, type MetadataFilterShape, metadataCondition } from './metadata-filter';

/**
 * What `memories` and `searchMemories` narrow by. One compiler turns it into SQL conditions on
 * `m`, a row of memories or of the search's view (both have these columns), so that the list and
 * the search select alike.
 */
/**
 * `memories(filter: { similarTo })`: a memory's nearest neighbours by the cosine similarity of their
 * embeddings (src/memories/similar.ts). Not a condition `memoryFilterConditions` compiles: it
 * orders the list and bounds it, so the list reads it itself; searchMemories refuses it.
 */
/**
 * How many of a memory's nearest neighbours `similarTo` reaches: its pages, and its totalCount,
 * are within them. Bounded so that a page costs one bounded index search (HNSW's ef_search is at
 * most 1000) however far the client pages.
 */
export const SIMILAR_TO_LIMIT = 1000;

const MemorySimilarTo = builder.inputType('MemorySimilarTo', {
  description:
    "The memories whose embeddings are nearest to this memory's (cosine, the same model and dimensions), " +
    'nearest first, the memory itself left out; each edge says how similar (QueryMemoriesConnectionEdge.similarity).',
  fields: (t) => ({
    memoryId: t.id({
      required: true,
      description: "The memory to compare with: one of the organization's, live and embedded (embeddingStatus READY).",
    }),
    minSimilarity: t.float({
      description: 'Leave out memories whose cosine similarity is below this, from -1 to 1. Default: none.',
    }),
  }),
});

export type MemorySimilarToInput = typeof MemorySimilarTo.$inferInput;

export const MemoryFilter = builder.inputType('MemoryFilter', {
  description: 'Every condition given must hold.',
  fields: (t) => ({
    agentId: t.id(),
    userId: t.id(),
    memoryType: t.field({ type: MemoryTypeEnum, description: 'One type (see memoryTypes for several).' }),
    memoryTypes: t.field({
      type: [MemoryTypeEnum],
      extensions: maxItems(MAX_FILTER_VALUES),
      description: `Any of these types; at most ${MAX_FILTER_VALUES}.`,
    }),
    scope: t.string(),
    scopes: t.stringList({
      extensions: maxItems(MAX_FILTER_VALUES),
      description: `Any of these scopes; at most ${MAX_FILTER_VALUES}.`,
    }),
    level: t.string(),
    levels: t.stringList({
      extensions: maxItems(MAX_FILTER_VALUES),
      description: `Any of these levels; at most ${MAX_FILTER_VALUES}.`,
    }),
    metadata: t.field({
      type: MetadataFilter,
      description: 'A condition on the JSON metadata (mem0-style operators).',
    }),
    createdAfter: t.field({ type: 'DateTime', description: 'Created strictly after this instant.' }),
    createdBefore: t.field({ type: 'DateTime', description: 'Created strictly before this instant.' }),
    similarTo: t.field({
      type: MemorySimilarTo,
      description:
        "memories only: a memory's nearest neighbours, nearest first (orderBy must not be given), at most the " +
        `nearest ${SIMILAR_TO_LIMIT}. searchMemories refuses it: give it \`vector\` instead.`,
    }),
  }),
});

export type MemoryFilterInput = typeof MemoryFilter.$inferInput;

const MAX_FILTER_VALUES = 100;
const labels = z
  .array(label)
  .min(1, 'must not be empty')
  .max(MAX_FILTER_VALUES, `holds at most ${MAX_FILTER_VALUES} values`);

/**
 * The SQL conditions of `filter` on `row` (`m` unless said), with every value bound;
 * VALIDATION naming the part at fault under `field` (the argument's path, e.g. ["filter"]).
 */
export function memoryFilterConditions(
  filter: MemoryFilterInput | null | undefined,
  field: string[],
  bind: Bind,
  row = 'm',
): string[] {
  if (!filter) return [];
  const conditions: string[] = [];
  const inList = (column: string, values: readonly string[]) =>
    `${column} = ANY(ARRAY[${values.map((value) => bind(value)).join(',')}]::text[])`;
  if (filter.agentId != null) conditions.push(`${row}.agent_id = ${bind(String(filter.agentId))}`);
  if (filter.userId != null) conditions.push(`${row}.user_id = ${bind(String(filter.userId))}`);
  if (filter.memoryType != null) conditions.push(`${row}.memory_type = ${bind(filter.memoryType)}`);
  if (filter.memoryTypes != null) {
    if (filter.memoryTypes.length === 0)
      throw new ValidationError(`${[...field, 'memoryTypes'].join('.')}: must not be empty`, [...field, 'memoryTypes']);
    conditions.push(inList(`${row}.memory_type`, filter.memoryTypes));
  }
  if (filter.scope != null) conditions.push(`${row}.scope = ${bind(filter.scope)}`);
  if (filter.scopes != null)
    conditions.push(inList(`${row}.scope`, parseInput(labels, filter.scopes, [...field, 'scopes'])));
  if (filter.level != null) conditions.push(`${row}.level = ${bind(filter.level)}`);
  if (filter.levels != null)
    conditions.push(inList(`${row}.level`, parseInput(labels, filter.levels, [...field, 'levels'])));
  if (filter.createdAfter != null)
    conditions.push(`${row}.created_at > ${bind(filter.createdAfter.toISOString())}::timestamptz`);
  if (filter.createdBefore != null)
    conditions.push(`${row}.created_at < ${bind(filter.createdBefore.toISOString())}::timestamptz`);
  if (filter.metadata != null)
    conditions.push(
      metadataCondition(filter.metadata as MetadataFilterShape, `${row}.metadata`, [...field, 'metadata'], bind),
    );
  return conditions;
}
