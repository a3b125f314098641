import { loadSettings } from '../../src/config/settings';
import { APPLICATION_ROLE, withOrganization } from '../../src/db/row-level-security';
import type { DemoData } from '../../src/demo/seed';
import { type MemorySearch, memorySearchStatement, SEARCH_INDEX } from '../../src/memories/search';
import { graphql } from '../generated';
import { startTestApp, type TestApp } from '../support/test-app';

const SearchTenantsMemories = graphql(`
  query SearchTenantsMemories($query: String!, $limit: Int) {
    searchMemories(query: $query, limit: $limit, track: false) { memory { id } }
  }
`);

const SearchTenantsByMeaning = graphql(`
  query SearchTenantsByMeaning($query: String, $vector: [Float!], $mode: SearchMode, $embeddingModel: String) {
    searchMemories(query: $query, vector: $vector, mode: $mode, embeddingModel: $embeddingModel, limit: 20,
      track: false) { memory { id } }
  }
`);

/** A's memories, and how many of them hold the searched word. */
const OWN_MEMORIES = 2_000;
const OWN_MATCHES = 20;
/** B's memories that hold the word, as in the issue: 2,500 times A's matches. */
const OTHER_MATCHES = 50_000;
const WORD = 'zephyr';

/** One node of `EXPLAIN (FORMAT JSON)`, with the fields read here. */
interface PlanNode {
  'Node Type': string;
  'Index Name'?: string;
  'Index Cond'?: string;
  'Relation Name'?: string;
  'Function Name'?: string;
  'Actual Rows'?: number;
  'Actual Loops'?: number;
  'Rows Removed by Filter'?: number;
  'Exact Heap Blocks'?: number;
  'Lossy Heap Blocks'?: number;
  'Rows Removed by Index Recheck'?: number;
  'Shared Hit Blocks'?: number;
  'Shared Read Blocks'?: number;
  Plans?: PlanNode[];
}

function* nodesOf(node: PlanNode): Generator<PlanNode> {
  yield node;
  for (const child of node.Plans ?? []) yield* nodesOf(child);
}

/** What the search's scan of the full-text index read: the counts that its time follows. */
interface ScanCounts {
  /** The plan's nodes, as types and index names: the same plan, or the counts mean nothing. */
  shape: string[];
  indexCondition: string;
  /** Row pointers the index scan returned. */
  indexRows: number;
  /** Heap pages the bitmap heap scan visited, and rows it read there and threw away. */
  heapBlocks: number;
  recheckRemoved: number;
  /** Pages of the index the scan read (from the cache or not). */
  indexBlocks: number;
  /** The most rows of `memories` any one node of the plan read, through any index or none. */
  mostMemoryRowsRead: number;
}

function scanCounts(nodes: PlanNode[], memoryIndexes: Set<string>): ScanCounts {
  const indexScans = nodes.filter((node) => node['Index Name'] === SEARCH_INDEX);
  expect(indexScans.map((node) => node['Node Type'])).toEqual(['Bitmap Index Scan']);
  const indexScan = indexScans[0]!;
  // The heap scan above it (directly, or through a BitmapAnd with another index of the same table).
  const heapScan = nodes.find(
    (node) => node['Node Type'] === 'Bitmap Heap Scan' && [...nodesOf(node)].includes(indexScan),
  );
  expect(heapScan).toBeDefined();
  return {
    shape: nodes.map((node) => `${node['Node Type']}${node['Index Name'] ? ` on ${node['Index Name']}` : ''}`),
    indexCondition: indexScan['Index Cond'] ?? '',
    indexRows: indexScan['Actual Rows'] ?? Number.NaN,
    heapBlocks: (heapScan!['Exact Heap Blocks'] ?? 0) + (heapScan!['Lossy Heap Blocks'] ?? 0),
    recheckRemoved: heapScan!['Rows Removed by Index Recheck'] ?? 0,
    indexBlocks: (indexScan['Shared Hit Blocks'] ?? 0) + (indexScan['Shared Read Blocks'] ?? 0),
    mostMemoryRowsRead: mostMemoryRowsRead(nodes, memoryIndexes),
  };
}

/** The most rows of `memories` any one node of the plan read, through any of its indexes or none. */
function mostMemoryRowsRead(nodes: PlanNode[], memoryIndexes: Set<string>): number {
  return Math.max(
    ...nodes
      .filter((node) => node['Relation Name'] === 'memories' || memoryIndexes.has(node['Index Name'] ?? ''))
      .map(
        (node) =>
          ((node['Actual Rows'] ?? 0) +
            (node['Rows Removed by Filter'] ?? 0) +
            (node['Rows Removed by Index Recheck'] ?? 0)) *
          (node['Actual Loops'] ?? 1),
      ),
  );
}

/** The names of `memories`' indexes, for `mostMemoryRowsRead`. */
async function indexesOfMemories(app: TestApp): Promise<Set<string>> {
  const indexes = await app.database.owner.$queryRaw<
    Array<{ name: string }>
  >`SELECT indexname::text AS name FROM pg_indexes WHERE tablename = 'memories'`;
  return new Set(indexes.map((index) => index.name));
}

/**
 * `EXPLAIN (ANALYZE, BUFFERS)` of exactly the resolver's statement for `search`, as the application
 * sends it: its role, in the searching organization's scope. The plan's nodes, root first.
 */
async function explainedSearch(app: TestApp, search: MemorySearch): Promise<PlanNode[]> {
  const statement = memorySearchStatement(search);
  return withOrganization(search.organizationId, async () => {
    const [role] = await app.database.prisma.$queryRaw<Array<{ role: string }>>`SELECT current_user::text AS role`;
    expect(role?.role).toBe(APPLICATION_ROLE);
    const [row] = await app.database.prisma.$queryRawUnsafe<Array<{ 'QUERY PLAN': unknown }>>(
      `EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) ${statement.text}`,
      ...statement.values,
    );
    // node-postgres parses the json column; PGlite's adapter may hand over its text.
    const explained = typeof row!['QUERY PLAN'] === 'string' ? JSON.parse(row!['QUERY PLAN']) : row!['QUERY PLAN'];
    return [...nodesOf((explained as Array<{ Plan: PlanNode }>)[0]!.Plan)];
  });
}

describe('memory search: what one organization’s search reads does not depend on another’s memories', () => {
  let app: TestApp;
  let own: DemoData;
  let other: DemoData;
  let memoryIndexes: Set<string>;

  const search = (): MemorySearch => ({
    organizationId: own.organizationId,
    mode: 'TEXT',
    query: WORD,
    limit: 20,
    ranking: loadSettings({}).ranking,
  });

  const measuredSearch = async (): Promise<ScanCounts> =>
    scanCounts(await explainedSearch(app, search()), memoryIndexes);

  const searchedIds = async () => {
    const response = await app.graphql(SearchTenantsMemories, { query: WORD, limit: 100 });
    expect(response.errors).toBeUndefined();
    return response.data!.searchMemories.map((hit) => hit.memory.id).sort();
  };

  beforeAll(async () => {
    app = await startTestApp('search_tenants');
    own = await app.seedDemo();
    other = await app.seedDemo();
    // Every hundredth of A's memories holds the word: 20 of 2,000, spread over A's pages.
    await app.database.owner.$executeRaw`
      INSERT INTO memories (id, organization_id, user_id, agent_id, content, memory_type, scope, level)
      SELECT 'memory-own-' || i, ${own.organizationId}, ${own.userId}, ${own.agentId},
             CASE WHEN i % ${OWN_MEMORIES / OWN_MATCHES} = 0 THEN 'a note on ' || ${WORD} || ' number ' || i
               ELSE 'an ordinary note number ' || i END,
             'factual', 'user', 'long_term'
      FROM generate_series(1, ${OWN_MEMORIES}) AS i`;
    await app.database.owner.$executeRawUnsafe('ANALYZE');
    memoryIndexes = await indexesOfMemories(app);
  }, 120_000);
  afterAll(async () => {
    await app?.close();
  });

  it('reads the index by organization and word together, as the application role in scope', async () => {
    const counts = await measuredSearch();
    // Both of the index's columns are conditions of the scan: the organization is checked inside
    // the index, not on each row it returns.
    expect(counts.indexCondition).toContain('organization_id');
    expect(counts.indexCondition).toContain('to_tsvector');
    expect(counts.indexRows).toBe(OWN_MATCHES);
  });

  it(
    `counts the same rows, heap pages and plan with 0 and with ${OTHER_MATCHES.toLocaleString('en')} of another ` +
      `organization's memories holding the word`,
    async () => {
      const expectedIds = await searchedIds();
      expect(expectedIds).toHaveLength(OWN_MATCHES);
      const alone = await measuredSearch();

      await app.database.owner.$executeRaw`
      INSERT INTO memories (id, organization_id, user_id, agent_id, content, memory_type, scope, level)
      SELECT 'memory-other-' || i, ${other.organizationId}, ${other.userId}, ${other.agentId},
             'their ' || ${WORD} || ' note number ' || i, 'factual', 'user', 'long_term'
      FROM generate_series(1, ${OTHER_MATCHES}) AS i`;
      // The statistics then say the word is common, as a server's autovacuum would come to say.
      await app.database.owner.$executeRawUnsafe('ANALYZE');
      const crowded = await measuredSearch();

      expect(await searchedIds()).toEqual(expectedIds);
      // The same plan, estimated alike: the search's estimate does not follow the words'
      // frequency in all organizations (src/memories/search.ts), so another organization's rows
      // cannot turn the index scan into a scan of all of A's memories.
      expect(crowded.shape).toEqual(alone.shape);
      expect(crowded.indexCondition).toBe(alone.indexCondition);
      expect(crowded.indexRows).toBe(OWN_MATCHES);
      expect(alone.indexRows).toBe(OWN_MATCHES);
      expect(crowded.heapBlocks).toBe(alone.heapBlocks);
      expect(crowded.recheckRemoved).toBe(alone.recheckRemoved);
      // No node reads more of memories than A holds (B's rows would be 10 to 25 times that).
      expect(alone.mostMemoryRowsRead).toBeLessThanOrEqual(OWN_MEMORIES + 10);
      expect(crowded.mostMemoryRowsRead).toBe(alone.mostMemoryRowsRead);
      // Index pages: once a word's entries outgrow a page they move into a posting tree, of which
      // the scan reads the root and the leaves that hold A's row pointers (by GIN's skipping), not
      // B's: 2 pages more here, for any number of B's rows that fits in two levels (hundreds of thousands).
      // B's pointers themselves would be dozens of pages.
      expect(crowded.indexBlocks - alone.indexBlocks).toBeGreaterThanOrEqual(0);
      expect(crowded.indexBlocks - alone.indexBlocks).toBeLessThanOrEqual(2);
    },
  );
});

describe('memory search by meaning: what VECTOR and HYBRID search read does not depend on another organization', () => {
  /** Few dimensions: the plan and its counts, not the vectors' length, are what is checked. */
  const DIMENSIONS = 8;
  const MODEL = 'tenants-model';
  /** A's embedded memories, under VECTOR_INDEX_MIN_EMBEDDINGS: it has no index of its own, and its search is exact. */
  const OWN_EMBEDDED = 400;
  /** B's embedded memories: far from the query at first, then all nearer it than any of A's. */
  const OTHER_EMBEDDED = 5_000;
  /** The query: A's matches are near it, B's nearer. */
  const QUERY = [1, 0, 0, 0, 0, 0, 0, 0];

  let app: TestApp;
  let own: DemoData;
  let other: DemoData;
  let memoryIndexes: Set<string>;

  const search = (mode: 'VECTOR' | 'HYBRID'): MemorySearch => {
    const base = {
      organizationId: own.organizationId,
      vector: { vector: QUERY, model: MODEL, dimensions: DIMENSIONS },
      limit: 20,
      ranking: loadSettings({}).ranking,
    };
    return mode === 'VECTOR' ? { ...base, mode } : { ...base, mode, query: WORD };
  };

  const searchedIds = async (mode: 'VECTOR' | 'HYBRID') => {
    const response = await app.graphql(SearchTenantsByMeaning, {
      vector: QUERY,
      mode,
      embeddingModel: MODEL,
      ...(mode === 'HYBRID' && { query: WORD }),
    });
    expect(response.errors).toBeUndefined();
    return response.data!.searchMemories.map((hit) => hit.memory.id).sort();
  };

  /** What the plan read of memories, and whether the HNSW branch ran. */
  const measured = async (mode: 'VECTOR' | 'HYBRID') => {
    const nodes = await explainedSearch(app, search(mode));
    const nearest = nodes.filter((node) => node['Function Name'] === 'agentmem_nearest_memories');
    return {
      shape: nodes.map((node) => `${node['Node Type']}${node['Index Name'] ? ` on ${node['Index Name']}` : ''}`),
      mostMemoryRowsRead: mostMemoryRowsRead(nodes, memoryIndexes),
      // agentmem_nearest_memories (the HNSW branch): planned, gated off, never run.
      nearestLoops: nearest.map((node) => node['Actual Loops']),
    };
  };

  /**
   * The table rewritten without the row versions an UPDATE leaves, then its statistics: the
   * planner's costs follow the table's pages, which B's rewrite would otherwise double.
   */
  const compactAndAnalyze = async () => {
    await app.database.owner.$executeRawUnsafe('VACUUM FULL memories');
    await app.database.owner.$executeRawUnsafe('ANALYZE');
  };

  beforeAll(async () => {
    app = await startTestApp('search_tenants_vector', { embeddings: { dimensions: DIMENSIONS, model: MODEL } });
    own = await app.seedDemo();
    other = await app.seedDemo();
    // Every 20th of A's memories holds the word and lies near the query; the others point elsewhere.
    await app.database.owner.$executeRaw`
      INSERT INTO memories (id, organization_id, user_id, agent_id, content, memory_type, scope, level, embedding,
        embedding_model, embedding_dimensions)
      SELECT 'memory-own-' || i, ${own.organizationId}, ${own.userId}, ${own.agentId},
             CASE WHEN i % 20 = 0 THEN 'a note on ' || ${WORD} || ' number ' || i
               ELSE 'an ordinary note number ' || i END,
             'factual', 'user', 'long_term',
             (CASE WHEN i % 20 = 0 THEN '[1,' || (0.3 + i / 10000.0) || ',0.2,0,0,0,0,0]'
               ELSE '[0,' || sin(i) || ',' || cos(i) || ',1,0,0,0,0]' END)::vector,
             ${MODEL}, ${DIMENSIONS}
      FROM generate_series(1, ${OWN_EMBEDDED}) AS i`;
    // B's memories, at first neither holding the word nor near the query. Then B rewrites them
    // (below): the table keeps its size, so that the planner's choice for A, which follows the
    // table's size, is the same, and only what B wrote changes.
    await app.database.owner.$executeRaw`
      INSERT INTO memories (id, organization_id, user_id, agent_id, content, memory_type, scope, level, embedding,
        embedding_model, embedding_dimensions)
      SELECT 'memory-other-' || i, ${other.organizationId}, ${other.userId}, ${other.agentId},
             'their ordinary note number ' || i, 'factual', 'user', 'long_term',
             ('[-1,' || (i / 1000000.0) || ',0,0,0,0,0,0]')::vector, ${MODEL}, ${DIMENSIONS}
      FROM generate_series(1, ${OTHER_EMBEDDED}) AS i`;
    await compactAndAnalyze();
    memoryIndexes = await indexesOfMemories(app);
  }, 120_000);
  afterAll(async () => {
    await app?.close();
  });

  it(
    `reads the same rows with the same plan whether none or ${OTHER_EMBEDDED.toLocaleString('en')} of another ` +
      `organization's memories hold the word and lie nearer the query, exactly, never through the shared HNSW index`,
    async () => {
      const modes = ['VECTOR', 'HYBRID'] as const;
      const alone = new Map<string, Awaited<ReturnType<typeof measured>>>();
      const answers = new Map<string, string[]>();
      for (const mode of modes) {
        answers.set(mode, await searchedIds(mode));
        expect(answers.get(mode)).toHaveLength(20);
        alone.set(mode, await measured(mode));
      }

      await app.database.owner.$executeRaw`
        UPDATE memories SET content = 'their ' || ${WORD} || ' note ' || id,
          embedding = ('[1,' || (substr(id, 14)::int / 1000000.0) || ',0,0,0,0,0,0]')::vector
        WHERE organization_id = ${other.organizationId} AND id LIKE 'memory-other-%'`;
      await compactAndAnalyze();
      // On PGlite, a pause after that long work on the process's one thread, as in
      // vector-search.test.ts: connections accepted just after it are closed as overdue otherwise.
      await new Promise((resolve) => setTimeout(resolve, 1_000));

      for (const mode of modes) {
        const before = alone.get(mode)!;
        const crowded = await measured(mode);
        expect({ mode, ids: await searchedIds(mode) }).toEqual({ mode, ids: answers.get(mode) });
        expect({ mode, shape: crowded.shape }).toEqual({ mode, shape: before.shape });
        // The exact branch ran, the HNSW one (which would walk B's nearer vectors first) did not.
        expect({ mode, loops: before.nearestLoops }).toEqual({ mode, loops: [0] });
        expect({ mode, loops: crowded.nearestLoops }).toEqual({ mode, loops: [0] });
        // No node reads more of memories than A holds (B's rows would be 12 times that).
        expect(before.mostMemoryRowsRead).toBeLessThanOrEqual(OWN_EMBEDDED + 10);
        expect({ mode, rows: crowded.mostMemoryRowsRead }).toEqual({ mode, rows: before.mostMemoryRowsRead });
      }
    },
  );
});
