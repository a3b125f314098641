import { queryFromInfo } from '@pothos/plugin-prisma';
import type { GraphQLObjectType } from 'graphql';
import { z } from 'zod';
import { MAX_EMBEDDING_DIMENSIONS } from '../config/settings';
import type { Context } from '../context/types';
import type { Bind } from '../db/statements';
import { ValidationError } from '../errors';
import type { Prisma } from '../generated/prisma/client';
import { currentRequestFacts } from '../http/request-id';
import { planObject, SHOWN } from '../planner/compile';
import { connection, object } from '../planner/declarations';
import { plansUnderOneKey } from '../planner/plugin';
import { builder } from '../schema/builder';
import { maxItems } from '../schema/list-caps';
import { SortDirection } from '../schema/ordering';
import { assertPageSize, connectionOptions, listLimit, MAX_PAGE_SIZE } from '../schema/pagination';
import { name, text } from '../schema/rules';
import { selectionOf } from '../schema/selection';
import { listedRowsOf } from '../schema/tenancy';
import { parseInput } from '../schema/validation';
import { EmbeddingProviderError, embedTexts } from './embedding-provider';
import { checkDimensions, embeddingInput, embeddingModel } from './embeddings';
import { MemoryFilter, type MemoryFilterInput, memoryFilterConditions } from './filter';
import { countMemories, type MemoryListOrder, type MemoryListPage, memoryPageIds, sortKey } from './list';
import { findMatchingMemories, type MemorySearch, type MemorySearchRow, type SearchMode } from './search';
import { countSimilar, type SimilarList, similarPage, similarTarget } from './similar';
import { MemoryType } from './type';
import { instantOf, validityConditions } from './validity';
import { validityArguments, validityOf } from './validity-arguments';
import { visibleMemories, visibleMemoryRows } from './visibility';

const MemoryOrderField = builder.enumType('MemoryOrderField', {
  values: {
    IMPORTANCE: { value: 'importance' },
    CREATED_AT: { value: 'createdAt' },
    LAST_ACCESSED: { value: 'lastAccessed' },
  } as const,
});

const MemoryOrder = builder.inputType('MemoryOrder', {
  fields: (t) => ({
    field: t.field({ type: MemoryOrderField, required: true }),
    direction: t.field({ type: SortDirection, defaultValue: 'desc' }),
  }),
});

const trackArgument = {
  type: 'Boolean',
  defaultValue: true,
  description:
    'Count what this returns as accessed (access_count + 1, last_accessed = now), once the response is settled; ' +
    'false: only look.',
} as const;

/** The ids of the memories a planned page shows. */
function shownIdsOf(answer: unknown): string[] {
  return ((answer as Record<string, unknown> | null)?.[SHOWN] as string[] | undefined) ?? [];
}

/** Whether a read counts: `track` unless false, and never inside a mutation's payload. */
function countAsRead(context: Context, track: boolean | null | undefined, ids: Iterable<string>): void {
  if (track !== false) context.memoryAccesses.record(ids);
}

/**
 * The rows a connection shows of those read for Pothos's `take`: it reads one more, to tell whether
 * there is a next page.
 */
function shownRows<T>(rows: T[], take: number): T[] {
  if (rows.length < Math.abs(take)) return rows;
  return take < 0 ? rows.slice(1) : rows.slice(0, -1);
}

/**
 * Each memory of a `similarTo` page and its similarity, for `QueryMemoriesConnectionEdge.similarity`:
 * the edge Pothos makes holds the row itself as its node. Weak: gone with the response.
 */
const similarities = new WeakMap<object, number>();

interface ListArguments {
  filter?: MemoryFilterInput | null;
  orderBy?: unknown;
  deleted?: boolean | null;
  asOf?: Date | null;
  includeInvalid?: boolean | null;
}

/**
 * The neighbours' list when the filter has `similarTo`, or null: VALIDATION when the arguments
 * ask for another order or the trash, NOT_FOUND or VALIDATION for the memory compared with (see
 * similarTarget).
 */
async function similarListOf(args: ListArguments, context: Context): Promise<SimilarList | null> {
  const similarTo = args.filter?.similarTo;
  if (similarTo == null) return null;
  if (args.orderBy != null)
    throw new ValidationError('orderBy: similarTo orders by similarity, nearest first; leave orderBy out', ['orderBy']);
  if (args.deleted)
    throw new ValidationError('filter.similarTo: the trash is not searched by similarity', ['filter', 'similarTo']);
  const organizationId = context.caller.organizationId;
  const target = await similarTarget(context.sql, organizationId, similarTo, context.embeddings.semanticRecall);
  return { organizationId, target, filter: args.filter, validity: validityOf(args) };
}

/**
 * Why the planner leaves `memories` to its resolver for these arguments, counted as the fallback's
 * reason: `similarTo` is a vector search over the memory's neighbours (src/memories/similar.ts), not
 * a condition on rows in the list's order.
 */
function leftToResolver(args: Readonly<Record<string, unknown>>): string | undefined {
  const filter = args.filter as MemoryFilterInput | null | undefined;
  return filter?.similarTo != null ? 'similarTo (a vector search, src/memories/similar.ts)' : undefined;
}

builder.queryFields((t) => ({
  memories: t.prismaConnection(
    {
      type: MemoryType,
      ...connectionOptions,
      description:
        'Memories by agent, user, types, scopes, levels, metadata and creation time; the most important or most ' +
        'recently accessed first.',
      args: {
        filter: t.arg({ type: MemoryFilter }),
        orderBy: t.arg({ type: MemoryOrder }),
        track: t.arg(trackArgument),
        deleted: t.arg.boolean({
          defaultValue: false,
          description:
            'Only soft-deleted rows (the trash), with deletedAt and deletedBy; admin keys only (never counted as ' +
            'accessed). Validity does not apply to the trash.',
        }),
        ...validityArguments,
      },
      totalCount: async (_root, args, context) => {
        listedRowsOf(context, args.deleted); // the trash is for admin keys: FORBIDDEN otherwise
        const similar = await similarListOf(args, context);
        if (similar) return countSimilar(context.sql, similar);
        return countMemories(context.sql, {
          organizationId: context.caller.organizationId,
          filter: args.filter,
          deleted: args.deleted,
          validity: validityOf(args),
        });
      },
      // The trash (admin only) is read by the resolver. Keyset pages, as memoryListStatement reads them.
      sql: connection(
        {
          table: 'memories',
          where: (scope) => {
            if (scope.args.deleted || leftToResolver(scope.args)) return undefined;
            const filter = scope.args.filter as MemoryFilterInput | null | undefined;
            const validity = validityOf(scope.args);
            return [
              ...visibleMemoryRows(scope),
              ...validityConditions(validity, scope.row, instantOf(validity, scope.bind)),
              ...memoryFilterConditions(filter, ['filter'], scope.bind, scope.row),
            ];
          },
        },
        (args) => {
          const order = args.orderBy as MemoryListOrder | null | undefined;
          return {
            columns: (row) => [sortKey(order, row), `${row}.id`],
            direction: (order?.direction ?? 'asc') === 'asc' ? 'ASC' : 'DESC',
          };
        },
        connectionOptions,
        {
          cursor: 'strict',
          // The ids are for access tracking only: not read with track: false.
          shownIds: (args) => args.track !== false,
          // A memory's conditions (its agent live, not expired, valid) are checked per row: once,
          // for the count and the page together.
          sharedRows: true,
          onAnswer: (answer, args, context) => countAsRead(context, args.track as boolean | null, shownIdsOf(answer)),
          leftToResolver,
        },
      ),
      resolve: async (query, _root, args, context) => {
        assertPageSize(args);
        // The trash holds the memories deleted one by one; those of a deleted agent come back with it.
        const rowsWhere = args.deleted ? listedRowsOf(context, args.deleted) : visibleMemories(context);
        const { take, skip, cursor, ...selection } = query as typeof query & MemoryListPage;
        const list = {
          organizationId: context.caller.organizationId,
          filter: args.filter,
          orderBy: args.orderBy,
          deleted: args.deleted,
          validity: validityOf(args),
        };
        const similar = await similarListOf(args, context);
        const found = similar
          ? await similarPage(context.sql, similar, { take, skip, cursor })
          : (await memoryPageIds(context.sql, list, { take, skip, cursor })).map((id) => ({ id, similarity: null }));
        if (found.length === 0) return [];
        const ids = found.map((row) => row.id);
        const rows = await context.prisma.memory.findMany({ ...selection, where: { ...rowsWhere, id: { in: ids } } });
        const byId = new Map(rows.map((row) => [row.id, row]));
        const page = found.flatMap(({ id, similarity }) => {
          const row = byId.get(id);
          if (!row) return [];
          if (similarity !== null) similarities.set(row, similarity);
          return [row];
        });
        if (!args.deleted)
          countAsRead(
            context,
            args.track,
            shownRows(page, take).map((row) => row.id),
          );
        return page;
      },
    },
    {},
    {
      fields: (edge) => ({
        similarity: edge.float({
          nullable: true,
          description:
            "With filter.similarTo: the cosine similarity of this memory's embedding to the compared memory's " +
            '(-1 to 1, 1 the same direction); null otherwise.',
          // The planner answers it only where there is no similarTo (which it leaves to the resolver).
          sql: { kind: 'column', expression: () => 'NULL::float8' },
          resolve: (memoryEdge) => similarities.get(memoryEdge.node) ?? null,
        }),
      }),
    },
  ),
  memory: t.prismaField({
    type: MemoryType,
    nullable: true,
    args: { id: t.arg.id({ required: true }), track: t.arg(trackArgument) },
    sql: object(
      {
        table: 'memories',
        where: (scope) => [`${scope.row}.id = ${scope.bind(String(scope.args.id))}`, ...visibleMemoryRows(scope)],
      },
      (answer, args, context) => {
        if (answer !== null) countAsRead(context, args.track as boolean | null, [(answer as { id: string }).id]);
      },
      (args) => args.track !== false,
    ),
    resolve: async (query, _root, args, context) => {
      const memory = await context.prisma.memory.findFirst({
        ...query,
        where: { ...visibleMemories(context), id: String(args.id) },
      });
      if (memory) countAsRead(context, args.track, [memory.id]);
      return memory;
    },
  }),
}));

/** How a hit's score is made (README, "Ranked recall"): each part from 0 to 1, before its weight. */
interface ScoreBreakdownShape {
  relevance: number;
  text: number;
  similarity: number | null;
  textRank: number | null;
  vectorRank: number | null;
  matchedWords: number | null;
  fuzzy: number | null;
  importance: number;
  recency: number;
  use: number;
}

/** A search hit: the memory, its score and the score's parts, and a snippet if asked for. */
interface MemorySearchHitShape {
  memory: Prisma.MemoryGetPayload<object>;
  score: number;
  breakdown: ScoreBreakdownShape;
  snippet: string | null;
  mode: SearchMode;
  /** Why the search answered by text alone when it meant to use meaning too; null: it did not. */
  degradedReason: string | null;
}

const ScoreBreakdown = builder.objectRef<ScoreBreakdownShape>('ScoreBreakdown').implement({
  description: 'The parts of a search score, each from 0 to 1 before its weight (the SEARCH_WEIGHT_* settings).',
  fields: (t) => ({
    relevance: t.exposeFloat('relevance', {
      description:
        'The part SEARCH_WEIGHT_TEXT weighs. TEXT: the text relevance (text). VECTOR: the cosine similarity, 0 ' +
        'below 0. ' +
        'HYBRID: reciprocal rank fusion of textRank and vectorRank, 1/(k + rank) summed over the rankings the ' +
        'memory is in ' +
        '(k = SEARCH_RRF_K), scaled so that first in both is 1.',
    }),
    text: t.exposeFloat('text', {
      description: 'Text relevance: ts_rank_cd, normalized to rank / (rank + 1); 0 when the words did not match.',
    }),
    similarity: t.exposeFloat('similarity', {
      nullable: true,
      description:
        "Cosine similarity of the memory's embedding to the search's vector (-1 to 1); null in a TEXT search " +
        'or when the memory was not among the nearest.',
    }),
    textRank: t.exposeInt('textRank', {
      nullable: true,
      description:
        'HYBRID: the place in the text ranking (1 best); null when not in it, and in TEXT and VECTOR searches.',
    }),
    vectorRank: t.exposeInt('vectorRank', {
      nullable: true,
      description: 'VECTOR and HYBRID: the place among the nearest embeddings (1 nearest); null when not among them.',
    }),
    matchedWords: t.exposeInt('matchedWords', {
      nullable: true,
      description:
        "HYBRID: how many of the query's words the memory has (any of them matches; more ranks higher in the " +
        'text ranking); 0 for a memory found by a near word (fuzzy) or by meaning alone; null in TEXT and VECTOR.',
    }),
    fuzzy: t.exposeFloat('fuzzy', {
      nullable: true,
      description:
        "Typo tolerance: the trigram similarity (pg_trgm strict_word_similarity, 0.25 to 1) of the memory's nearest " +
        "word to one of the query's, for a memory found that way: in HYBRID when the exact words found fewer " +
        'memories than `limit`, in TEXT when no memory has every word (its text is then 0). Null otherwise.',
    }),
    importance: t.exposeFloat('importance', { description: "The memory's importance, clamped to 0..1." }),
    recency: t.exposeFloat('recency', {
      description:
        '0.5 ^ (age / SEARCH_RECENCY_HALF_LIFE_DAYS), from the last access, or the creation if never accessed; ' +
        'the age as of `asOf` when given.',
    }),
    use: t.exposeFloat('use', { description: 'access_count / (access_count + SEARCH_USE_HALF_COUNT).' }),
  }),
});

const SearchModeEnum = builder.enumType('SearchMode', {
  description: 'How searchMemories finds and ranks memories.',
  values: {
    TEXT: { description: 'By the words of `query` (full-text search).' },
    VECTOR: { description: 'By meaning: the memories whose embeddings are nearest to `vector` (cosine).' },
    HYBRID: { description: 'Both, fused by reciprocal rank fusion: needs `query` and `vector`.' },
  } as const,
});

const MemorySearchHit = builder.objectRef<MemorySearchHitShape>('MemorySearchHit').implement({
  description: 'A memory that matched a search.',
  fields: (t) => ({
    memory: t.field({ type: MemoryType, resolve: (hit) => hit.memory }),
    score: t.exposeFloat('score', { description: 'The weighted sum of the breakdown: hits come highest first.' }),
    breakdown: t.field({ type: ScoreBreakdown, resolve: (hit) => hit.breakdown }),
    snippet: t.string({
      description:
        'The content around the matched words, which are marked **like this** (ts_headline; fragments joined by ' +
        '" … "). Text, not HTML.',
      resolve: (hit) => hit.snippet ?? '',
    }),
    mode: t.field({
      type: SearchModeEnum,
      description: 'How the search that found this hit ranked (the same on every hit of a search).',
      resolve: (hit) => hit.mode,
    }),
    degraded: t.boolean({
      description:
        "True when the search meant to use meaning but embedding the query's text with the provider failed " +
        '(down, slow, garbage): it answered by text alone (mode TEXT), never with an error. The same on every hit.',
      resolve: (hit) => hit.degradedReason !== null,
    }),
    degradedReason: t.string({
      nullable: true,
      description: 'Why the search was degraded; null when it was not.',
      resolve: (hit) => hit.degradedReason,
    }),
    rank: t.float({
      deprecationReason: 'Use score (and breakdown.text for the text relevance alone).',
      resolve: (hit) => hit.score,
    }),
  }),
});

const DEFAULT_SEARCH_RESULTS = 10;

const searchText = z.string().trim().min(1, 'must not be empty').pipe(text(1000));
const minScoreRule = z.number().finite('must be a finite number');

interface SearchArguments {
  query?: string | null;
  vector?: readonly number[] | null;
  embeddingModel?: string | null;
  mode?: SearchMode | null;
}

/** A search to run, and why it answers by text alone where it meant to use meaning (null: it does not). */
interface PlannedSearch {
  search: MemorySearch;
  degradedReason: string | null;
}

/**
 * The search that the arguments ask for, or VALIDATION naming what its mode lacks or has wrong.
 * With an embedding provider (and pgvector), a search given words and no vector embeds the words
 * (EMBEDDINGS_QUERY_TIMEOUT_MS) and is HYBRID by default; if that fails, it is TEXT, degraded.
 */
async function searchOf(
  args: SearchArguments,
  context: Context,
  base: Omit<MemorySearch, 'mode' | 'query' | 'vector'>,
): Promise<PlannedSearch> {
  const settings = context.embeddings;
  const provider = settings.semanticRecall === false ? undefined : settings.provider;
  const byProvider = provider !== undefined && args.vector == null && args.query != null && args.mode !== 'TEXT';
  const mode =
    args.mode ?? (args.vector == null ? (byProvider ? 'HYBRID' : 'TEXT') : args.query == null ? 'VECTOR' : 'HYBRID');
  const query = () => {
    if (args.query == null) throw new ValidationError(`query: ${mode} search needs the words to search for`, ['query']);
    return parseInput(searchText, args.query, ['query']);
  };
  const vector = () => {
    if (args.vector == null)
      throw new ValidationError(`vector: ${mode} search needs the query's embedding`, ['vector']);
    const numbers = parseInput(embeddingInput, args.vector, ['vector']);
    checkDimensions(numbers, settings, ['vector']);
    const model = args.embeddingModel == null ? null : parseInput(name, args.embeddingModel, ['embeddingModel']);
    return {
      vector: numbers,
      model: embeddingModel(model, settings),
      dimensions: settings.dimensions,
    };
  };
  if (byProvider && provider) {
    const text = query();
    try {
      const [embedded] = await embedTexts(
        provider,
        settings.model,
        settings.dimensions,
        [text],
        provider.queryTimeoutMs,
      );
      const vectorQuery = { vector: embedded!, model: settings.model, dimensions: settings.dimensions };
      if (mode === 'VECTOR') return { search: { ...base, mode, vector: vectorQuery }, degradedReason: null };
      return { search: { ...base, mode: 'HYBRID', query: text, vector: vectorQuery }, degradedReason: null };
    } catch (error) {
      const reason = error instanceof EmbeddingProviderError ? error.message : 'the provider failed';
      return {
        search: { ...base, mode: 'TEXT', query: text },
        degradedReason: `the query was not embedded: ${reason}`,
      };
    }
  }
  if (mode === 'TEXT') return { search: { ...base, mode, query: query() }, degradedReason: null };
  if (mode === 'VECTOR') return { search: { ...base, mode, vector: vector() }, degradedReason: null };
  return { search: { ...base, mode, query: query(), vector: vector() }, degradedReason: null };
}

function hitOf(
  row: MemorySearchRow,
  memory: Prisma.MemoryGetPayload<object>,
  planned: PlannedSearch,
): MemorySearchHitShape {
  return {
    memory,
    mode: planned.search.mode,
    degradedReason: planned.degradedReason,
    score: row.hit_score,
    breakdown: {
      relevance: row.hit_relevance,
      text: row.hit_text,
      similarity: row.hit_similarity,
      textRank: row.hit_text_rank,
      vectorRank: row.hit_vector_rank,
      matchedWords: row.hit_matched_words,
      fuzzy: row.hit_fuzzy,
      importance: row.hit_importance,
      recency: row.hit_recency,
      use: row.hit_use,
    },
    snippet: row.hit_snippet ?? null,
  };
}

builder.queryField('searchMemories', (t) =>
  t.field({
    type: [MemorySearchHit],
    description:
      'Searches memories by their words (TEXT: English stemming; web-search syntax: words, "quoted phrases", ' +
      'or, -excluded), ' +
      'by meaning (VECTOR: the embeddings nearest to `vector`), or both (HYBRID), ranked by one score of relevance, ' +
      'importance, recency and use (see ScoreBreakdown). A query with no words to search for (empty, or only ' +
      'stop words) is ' +
      'a VALIDATION error. Without pgvector on the server, VECTOR and HYBRID are SEMANTIC_RECALL_UNAVAILABLE. ' +
      "With an embedding provider, `query`'s text is embedded when no `vector` is given; if that fails, the " +
      'search answers by text alone and says so on each hit (degraded, degradedReason).',
    args: {
      query: t.arg.string({ description: 'The words to search for: needed by TEXT and HYBRID.' }),
      vector: t.arg.floatList({
        description: "The query's embedding, EMBEDDINGS_DIMENSIONS finite numbers: needed by VECTOR and HYBRID.",
        extensions: maxItems(MAX_EMBEDDING_DIMENSIONS),
      }),
      embeddingModel: t.arg.string({
        description:
          'The model that made `vector`: only embeddings of that model are compared. Default: EMBEDDINGS_MODEL.',
      }),
      mode: t.arg({
        type: SearchModeEnum,
        description:
          'Default: HYBRID given both `query` and `vector`, VECTOR given `vector` alone; given `query` alone, ' +
          'HYBRID where an embedding provider (EMBEDDINGS_URL) embeds it, TEXT elsewhere.',
      }),
      filter: t.arg({ type: MemoryFilter }),
      minScore: t.arg.float({ description: 'Leave out hits scoring less.' }),
      limit: t.arg.int({ defaultValue: DEFAULT_SEARCH_RESULTS, description: `At most ${MAX_PAGE_SIZE}.` }),
      track: t.arg(trackArgument),
      ...validityArguments,
    },
    resolve: async (_root, args, context, info) => {
      if (args.filter?.similarTo != null)
        throw new ValidationError(
          'filter.similarTo: searchMemories ranks by its own query; give `vector` (or use memories(filter: ' +
            "{ similarTo }) for a memory's neighbours)",
          ['filter', 'similarTo'],
        );
      const limit = listLimit(args.limit, DEFAULT_SEARCH_RESULTS);
      const minScore = args.minScore == null ? null : parseInput(minScoreRule, args.minScore, ['minScore']);
      const hit = selectionOf(info.fieldNodes, 'MemorySearchHit', info);
      const caller = context.caller;
      const planned = await searchOf(args, context, {
        organizationId: caller.organizationId,
        limit,
        filter: args.filter,
        minScore,
        ranking: context.ranking,
        snippet: hit.has('snippet'),
        validity: validityOf(args),
      });
      const search = planned.search;
      const memoryNodes = hit.get('memory') ?? [];
      const planMemories = plansUnderOneKey(context, 'MemorySearchHit.memory', memoryNodes);
      if (planMemories) {
        // One statement: the hits, each with its memory planned for what the request selects of it.
        // Planned as the statement is written, its values bound there.
        const memory = (bind: Bind) => {
          const request = {
            fragments: info.fragments,
            variableValues: info.variableValues,
            organizationId: caller.organizationId,
            userId: caller.userId,
          };
          const planned = planObject(
            info.schema.getType('Memory') as GraphQLObjectType,
            memoryNodes,
            'm',
            request,
            bind,
          );
          currentRequestFacts()?.planFallbacks.push(...planned.fallbacks);
          return planned.sql;
        };
        const rows = await findMatchingMemories(context.sql, search, memory);
        countAsRead(
          context,
          args.track,
          rows.map((row) => row.id),
        );
        // A planned object, which Memory's fields answer from (src/planner/plugin.ts).
        return rows.map((row) => hitOf(row, row.hit_memory as MemorySearchHitShape['memory'], planned));
      }
      const matches = await findMatchingMemories(context.sql, search);
      // Loaded with what the selection under `memory` needs, so its relations cost no more queries.
      const memories = await context.prisma.memory.findMany({
        ...queryFromInfo({ context, info, typeName: 'Memory', path: ['memory'] }),
        where: { ...visibleMemories(context), id: { in: matches.map((match) => String(match.id)) } },
      });
      const byId = new Map(memories.map((memory) => [memory.id, memory]));
      const hits = matches.flatMap((match) => {
        const memory = byId.get(String(match.id));
        return memory ? [hitOf(match, memory, planned)] : [];
      });
      countAsRead(
        context,
        args.track,
        hits.map((found) => found.memory.id),
      );
      return hits;
    },
  }),
);
