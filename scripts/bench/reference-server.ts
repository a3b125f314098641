import http from 'node:http';
import pg from 'pg';

// The "plain statement" references of the benchmark: what a hand-written server does with one SQL
// statement per request over node-postgres, with no GraphQL, no authentication and no row-level
// security (a superuser connection), answering in the same JSON shape as the GraphQL servers.
// Run as a process of its own, so that its CPU and memory are measured apart:
//   REFERENCE=nested|search DATABASE_URL=… ORGANIZATION_ID=… PORT=… node --import tsx reference-server.ts
//   GET /agents?first=50             the nested agents request (blocks, tools, 10 recent messages)
//   GET /search?query=…&limit=20     memory search, ranked as src/memories/search.ts ranks it

/** One statement: the first `$2` live agents of organization `$1` with their relations, as JSON. */
const NESTED_AGENTS = `
SELECT coalesce(json_agg(json_build_object('id', a.id, 'name', a.name, 'blocks', b.blocks, 'tools', t.tools,
  'recentMessages', m.messages)
                         ORDER BY a.created_at, a.id), '[]')::text AS nodes
FROM (SELECT id, name, created_at FROM agents WHERE organization_id = $1 AND NOT is_deleted ORDER BY created_at, id
  LIMIT $2) a
CROSS JOIN LATERAL (
  SELECT coalesce(json_agg(json_build_object('id', bl.id, 'label', bl.label, 'value', bl.value)
    ORDER BY ba.block_label, ba.block_id), '[]') AS blocks
  FROM blocks_agents ba JOIN blocks bl ON bl.id = ba.block_id AND NOT bl.is_deleted
  WHERE ba.agent_id = a.id) b
CROSS JOIN LATERAL (
  SELECT coalesce(json_agg(json_build_object('id', tl.id, 'name', tl.name) ORDER BY ta.tool_id), '[]') AS tools
  FROM tools_agents ta JOIN tools tl ON tl.id = ta.tool_id AND NOT tl.is_deleted
  WHERE ta.agent_id = a.id) t
CROSS JOIN LATERAL (
  SELECT coalesce(json_agg(json_build_object('id', recent.id, 'role', recent.role, 'text', recent.text, 'createdAt',
    recent.created_at)
                           ORDER BY recent.created_at, recent.id), '[]') AS messages
  FROM (SELECT id, role, text, created_at FROM messages WHERE agent_id = a.id AND NOT is_deleted
        ORDER BY created_at DESC, id DESC LIMIT 10) recent) m`;

/**
 * One statement: the search of src/memories/search.ts ranked by its score with the default
 * settings (docs/recall.md, "Ranked recall": 0.5 text + 0.2 importance + 0.2 recency + 0.1 use, a 30-day
 * half-life, use half at 10 accesses), with each hit's memory, as JSON.
 */
const SEARCH_MEMORIES = `
SELECT coalesce(json_agg(json_build_object('score', hit.score, 'memory',
  json_build_object('id', hit.id, 'content', hit.content))
                         ORDER BY hit.score DESC, hit.created_at DESC, hit.id DESC), '[]')::text AS hits
FROM (
  SELECT c.id, c.content, c.created_at, 0.5 * c.text + 0.2 * c.importance + 0.2 * c.recency + 0.1 * c.use AS score
  FROM (
    SELECT m.id, m.content, m.created_at,
           ts_rank_cd('{1,1,1,1}'::float4[], to_tsvector('english', m.content), q.query, 32)::float8 AS text,
           least(greatest(m.importance::float8, 0), 1) AS importance,
           power(0.5::float8, greatest(extract(epoch FROM now() - coalesce(m.last_accessed, m.created_at))::float8 /
             (30 * 86400), 0)) AS recency,
           greatest(m.access_count, 0)::float8 / (greatest(m.access_count, 0)::float8 + 10) AS use
    FROM memories m
    JOIN agents a ON a.id = m.agent_id
    CROSS JOIN websearch_to_tsquery('english', $2) AS q(query)
    WHERE m.organization_id = $1 AND NOT m.is_deleted AND NOT a.is_deleted
      AND to_tsvector('english', m.content) @@ q.query) c
  ORDER BY score DESC, c.created_at DESC, c.id DESC
  LIMIT $3) hit`;

function required(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`reference server: ${name} is not set`);
  return value;
}

const reference = required('REFERENCE');
const organizationId = required('ORGANIZATION_ID');
const pool = new pg.Pool({ connectionString: required('DATABASE_URL'), max: Number(process.env.POOL_SIZE ?? 10) });

function boundedInteger(value: string | null, fallback: number): number {
  const parsed = Number(value ?? fallback);
  return Number.isInteger(parsed) && parsed > 0 && parsed <= 1000 ? parsed : fallback;
}

/** The response body, built around the JSON PostgreSQL wrote, which is passed through as text. */
async function answer(url: URL): Promise<string | undefined> {
  if (reference === 'nested' && url.pathname === '/agents') {
    const first = boundedInteger(url.searchParams.get('first'), 50);
    const { rows } = await pool.query<{ nodes: string }>({
      name: 'nested_agents',
      text: NESTED_AGENTS,
      values: [organizationId, first],
    });
    return `{"data":{"agents":{"nodes":${rows[0]!.nodes}}}}`;
  }
  if (reference === 'search' && url.pathname === '/search') {
    const query = url.searchParams.get('query') ?? '';
    const limit = boundedInteger(url.searchParams.get('limit'), 10);
    const { rows } = await pool.query<{ hits: string }>({
      name: 'search_memories',
      text: SEARCH_MEMORIES,
      values: [organizationId, query, limit],
    });
    return `{"data":{"searchMemories":${rows[0]!.hits}}}`;
  }
  return undefined;
}

const server = http.createServer((request, response) => {
  const url = new URL(request.url ?? '/', 'http://localhost');
  if (url.pathname === '/health') {
    response.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
    return;
  }
  answer(url).then(
    (body) => {
      if (body === undefined) response.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
      else response.writeHead(200, { 'content-type': 'application/json' }).end(body);
    },
    (error: unknown) => {
      process.stderr.write(`reference server: ${error instanceof Error ? error.message : String(error)}\n`);
      response.writeHead(500, { 'content-type': 'text/plain' }).end('internal error');
    },
  );
});

server.listen(Number(required('PORT')), '127.0.0.1', () =>
  process.stdout.write(`reference server (${reference}) listening\n`),
);

const stop = () => {
  server.close();
  // The process exits whether or not the pool ends cleanly: nothing is left to report to.
  void pool.end().finally(() => process.exit(0));
};
process.once('SIGINT', stop);
process.once('SIGTERM', stop);
