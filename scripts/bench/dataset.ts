import type pg from 'pg';
import * as text from './dataset-text';

/** The dataset of issue 8, row for row the same in every run and in both databases. */
export const DATASET = {
  organizations: 2,
  usersPerOrganization: 10,
  agents: 1_000,
  blocksPerAgent: 5,
  tools: 40,
  toolsPerAgent: 5,
  messagesPerAgent: 100,
  memoriesPerAgent: 20,
} as const;

export const EXPECTED_ROWS = {
  organizations: DATASET.organizations,
  users: DATASET.organizations * DATASET.usersPerOrganization,
  agents: DATASET.agents,
  blocks: DATASET.agents * DATASET.blocksPerAgent,
  blocks_agents: DATASET.agents * DATASET.blocksPerAgent,
  tools: DATASET.tools,
  tools_agents: DATASET.agents * DATASET.toolsPerAgent,
  messages: DATASET.agents * DATASET.messagesPerAgent,
  memories: DATASET.agents * DATASET.memoriesPerAgent,
} as const;

// Helpers of one session (pg_temp): nothing of them stays in the database, so PostGraphile,
// which exposes the functions of the public schema, never sees them.
// - hash: a stable pseudo-random number from a text (md5), the seed of every choice below;
// - pick: one element of a list, chosen by hash;
// - bench_id: ids shaped like AgentMem's (`agent-<uuid>`), derived from the row's number;
// - agent_created: agent i's creation instant. Agents alternate between the two organizations
//   (odd i: organization 1), one minute apart, with milliseconds so timestamps are not round.
// - agent_user: the user of agent i's organization that owns its rows.
const HELPERS = `
CREATE FUNCTION pg_temp.hash(seed text) RETURNS int LANGUAGE sql IMMUTABLE
  AS $$ SELECT ('x' || substr(md5(seed), 1, 7))::bit(28)::int $$;
CREATE FUNCTION pg_temp.pick(pool text[], seed text) RETURNS text LANGUAGE sql IMMUTABLE
  AS $$ SELECT pool[1 + pg_temp.hash(seed) % array_length(pool, 1)] $$;
CREATE FUNCTION pg_temp.bench_id(prefix text, n int) RETURNS text LANGUAGE sql IMMUTABLE
  AS $$ SELECT prefix || '-' || md5(prefix || ':' || n)::uuid $$;
CREATE FUNCTION pg_temp.agent_created(i int) RETURNS timestamptz LANGUAGE sql IMMUTABLE
  AS $$ SELECT timestamptz '2026-01-05 09:00:00+00' + i * interval '1 minute' + pg_temp.hash('agent-ms:' || i) %
    1000 * interval '1 millisecond' $$;
CREATE FUNCTION pg_temp.agent_org(i int) RETURNS int LANGUAGE sql IMMUTABLE
  AS $$ SELECT (i - 1) % 2 + 1 $$;
CREATE FUNCTION pg_temp.agent_user(i int) RETURNS int LANGUAGE sql IMMUTABLE
  AS $$ SELECT pg_temp.agent_org(i) + 2 * (((i - 1) / 2) % ${DATASET.usersPerOrganization}) $$;
`;

/**
 * The statements that fill an empty schema; $n parameters are the word lists of dataset-text.ts.
 * AgentMem's junctions carry their agent's organization (migration 20261206000000), the schema
 * document's do not.
 */
function fillStatements(junctionsCarryOrganization: boolean): string[] {
  const organizationColumn = junctionsCarryOrganization ? ', organization_id' : '';
  const organizationOf = (agent: string) =>
    junctionsCarryOrganization ? `, pg_temp.bench_id('org', pg_temp.agent_org(${agent}))` : '';
  return [
    `INSERT INTO organizations (id, name, created_at, updated_at)
   SELECT pg_temp.bench_id('org', o), ($1::text[])[o], timestamptz '2026-01-05 08:00:00+00',
     timestamptz '2026-01-05 08:00:00+00'
   FROM generate_series(1, ${DATASET.organizations}) o`,

    // Users alternate between the organizations like agents: user u belongs to organization (u-1)%2+1.
    `INSERT INTO users (id, organization_id, name, timezone, created_at, updated_at, created_by_id, last_updated_by_id)
   SELECT pg_temp.bench_id('user', u), pg_temp.bench_id('org', (u - 1) % 2 + 1),
          pg_temp.pick($1::text[], 'first:' || u) || ' ' || pg_temp.pick($2::text[], 'last:' || u),
          pg_temp.pick($3::text[], 'tz:' || u),
          timestamptz '2026-01-05 08:00:00+00' + u * interval '1 second',
            timestamptz '2026-01-05 08:00:00+00' + u * interval '1 second',
          pg_temp.bench_id('user', u), pg_temp.bench_id('user', u)
   FROM generate_series(1, ${EXPECTED_ROWS.users}) u`,

    // One agent in 50 is soft-deleted: every read must leave it out.
    `INSERT INTO agents (id, organization_id, agent_type, name, description, system, llm_config, embedding_config,
                       created_at, updated_at, is_deleted, created_by_id, last_updated_by_id)
   SELECT pg_temp.bench_id('agent', i), pg_temp.bench_id('org', pg_temp.agent_org(i)), 'memgpt_agent',
          pg_temp.pick($1::text[], 'role:' || i) || ' ' || i,
          pg_temp.pick($2::text[], 'description:' || i),
          'You are a helpful assistant of ' || ($3::text[])[pg_temp.agent_org(i)] || '. Be accurate and brief.',
          jsonb_build_object('model', 'gpt-4o-mini', 'context_window', 128000, 'temperature', 0.7),
          jsonb_build_object('embedding_model', 'text-embedding-3-small', 'embedding_dim', 1536),
          pg_temp.agent_created(i), pg_temp.agent_created(i), i % 50 = 7,
          pg_temp.bench_id('user', pg_temp.agent_user(i)), pg_temp.bench_id('user', pg_temp.agent_user(i))
   FROM generate_series(1, ${DATASET.agents}) i`,

    // Five blocks per agent, one per label, all live (PostGraphile reaches a block through
    // blocks_agents and cannot filter on the block's is_deleted without a plugin).
    `INSERT INTO blocks (id, organization_id, user_id, label, value, created_at, updated_at, created_by_id,
    last_updated_by_id)
   SELECT pg_temp.bench_id('block', j), pg_temp.bench_id('org', pg_temp.agent_org(i)),
     pg_temp.bench_id('user', pg_temp.agent_user(i)),
          ($1::text[])[(j - 1) % ${DATASET.blocksPerAgent} + 1],
          ($2::text[])[(j - 1) % ${DATASET.blocksPerAgent} + 1] || ' ' ||
            pg_temp.pick($3::text[], 'block:' || j || ':1') || ' ' || pg_temp.pick($3::text[], 'block:' || j || ':2'),
          pg_temp.agent_created(i), pg_temp.agent_created(i),
          pg_temp.bench_id('user', pg_temp.agent_user(i)), pg_temp.bench_id('user', pg_temp.agent_user(i))
   FROM generate_series(1, ${EXPECTED_ROWS.blocks}) j,
     LATERAL (SELECT (j - 1) / ${DATASET.blocksPerAgent} + 1 AS i) agent`,

    `INSERT INTO blocks_agents (block_id, block_label, agent_id${organizationColumn})
   SELECT id, label, pg_temp.bench_id('agent', (n - 1) / ${DATASET.blocksPerAgent} + 1)
     ${organizationOf(`(n - 1) / ${DATASET.blocksPerAgent} + 1`)}
   FROM (SELECT pg_temp.bench_id('block', j) AS id, ($1::text[])[(j - 1) % ${DATASET.blocksPerAgent} + 1] AS label,
     j AS n
         FROM generate_series(1, ${EXPECTED_ROWS.blocks}) j) block`,

    // Tools alternate between the organizations; tool t is the ((t-1)/2+1)-th of its organization.
    `INSERT INTO tools (id, organization_id, name, description, json_schema, source_type, tags, created_at, updated_at)
   SELECT pg_temp.bench_id('tool', t), pg_temp.bench_id('org', (t - 1) % 2 + 1),
          ($1::text[])[(t - 1) / 2 + 1], pg_temp.pick($2::text[], 'tool:' || t),
          jsonb_build_object('type', 'object', 'properties',
            jsonb_build_object('query', jsonb_build_object('type', 'string'))),
          'python', jsonb_build_array('bench'),
          timestamptz '2026-01-05 08:30:00+00' + t * interval '1 second',
            timestamptz '2026-01-05 08:30:00+00' + t * interval '1 second'
   FROM generate_series(1, ${DATASET.tools}) t`,

    // Agent i gets 5 of its organization's 20 tools, 4 apart: (k + 4m) mod 20 for m = 0..4.
    `INSERT INTO tools_agents (tool_id, agent_id${organizationColumn})
   SELECT pg_temp.bench_id('tool', 2 * (((i - 1) / 2 + 4 * m) % 20) + pg_temp.agent_org(i)),
     pg_temp.bench_id('agent', i) ${organizationOf('i')}
   FROM generate_series(1, ${DATASET.agents}) i, generate_series(0, ${DATASET.toolsPerAgent - 1}) m`,

    // 100 messages per agent, 37 s apart: user and assistant in turn, a tool result every tenth;
    // one in 41 soft-deleted.
    `INSERT INTO messages (id, organization_id, user_id, agent_id, role, text, content, tool_call_id, model,
                         created_at, updated_at, is_deleted, created_by_id, last_updated_by_id)
   SELECT pg_temp.bench_id('message', m), pg_temp.bench_id('org', pg_temp.agent_org(i)),
     pg_temp.bench_id('user', pg_temp.agent_user(i)),
          pg_temp.bench_id('agent', i), role, body, jsonb_build_array(jsonb_build_object('type', 'text', 'text', body)),
          CASE WHEN role = 'tool' THEN 'call-' || m END, CASE WHEN role = 'assistant' THEN 'gpt-4o-mini' END,
          at, at, m % 41 = 0,
          pg_temp.bench_id('user', pg_temp.agent_user(i)), pg_temp.bench_id('user', pg_temp.agent_user(i))
   FROM generate_series(1, ${EXPECTED_ROWS.messages}) m,
        LATERAL (SELECT (m - 1) / ${DATASET.messagesPerAgent} + 1 AS i, (m - 1) % ${DATASET.messagesPerAgent} AS n)
          position,
        LATERAL (SELECT CASE WHEN n % 10 = 9 THEN 'tool' WHEN n % 2 = 0 THEN 'user' ELSE 'assistant' END AS role) kind,
        LATERAL (SELECT CASE role WHEN 'user' THEN pg_temp.pick($1::text[], 'utterance:' || m)
                                  WHEN 'assistant' THEN pg_temp.pick($2::text[], 'reply:' || m)
                                  ELSE pg_temp.pick($3::text[], 'output:' || m) END AS body,
                        pg_temp.agent_created(i) + n * interval '37 seconds' + pg_temp.hash('message-ms:' || m) %
                          1000 * interval '1 millisecond' AS at) content`,

    // 20 memories per agent: two sentences, a third for one in three; one in 53 soft-deleted.
    `INSERT INTO memories (id, organization_id, user_id, agent_id, content, hash, memory_type, scope, level, importance,
                         created_at, updated_at, is_deleted, created_by_id, last_updated_by_id)
   SELECT pg_temp.bench_id('memory', r), pg_temp.bench_id('org', pg_temp.agent_org(i)),
     pg_temp.bench_id('user', pg_temp.agent_user(i)),
          pg_temp.bench_id('agent', i), body, md5(body),
          pg_temp.pick($4::text[], 'type:' || r), pg_temp.pick($5::text[], 'scope:' || r),
            pg_temp.pick($6::text[], 'level:' || r),
          pg_temp.hash('importance:' || r) % 100 / 100.0,
          at, at, r % 53 = 0,
          pg_temp.bench_id('user', pg_temp.agent_user(i)), pg_temp.bench_id('user', pg_temp.agent_user(i))
   FROM generate_series(1, ${EXPECTED_ROWS.memories}) r,
        LATERAL (SELECT (r - 1) / ${DATASET.memoriesPerAgent} + 1 AS i) agent,
        LATERAL (SELECT pg_temp.pick($1::text[], 'opening:' || r) || ' ' || pg_temp.pick($2::text[], 'detail:' || r)
                        || CASE WHEN pg_temp.hash('third:' || r) % 3 = 0
                          THEN ' ' || pg_temp.pick($3::text[], 'follow-up:' || r) ELSE '' END AS body,
                        pg_temp.agent_created(i) + (r - 1) % ${DATASET.memoriesPerAgent} * interval '5 hours'
                          + pg_temp.hash('memory-ms:' || r) % 1000 * interval '1 millisecond' AS at) content`,
  ];
}

/** The word lists each statement of fillStatements takes, in order. */
const FILL_PARAMETERS: string[][][] = [
  [text.organizationNames],
  [text.firstNames, text.lastNames, text.timezones],
  [text.agentRoles, text.agentDescriptions, text.organizationNames],
  [text.blockLabels, text.blockOpenings, text.blockSentences],
  [text.blockLabels],
  [text.toolNames, text.toolDescriptions],
  [],
  [text.userUtterances, text.assistantReplies, text.toolOutputs],
  [
    text.memoryOpenings,
    text.memoryDetails,
    text.memoryFollowUps,
    text.memoryTypes,
    text.memoryScopes,
    text.memoryLevels,
  ],
];

/**
 * Fills the tables of the schema document with the benchmark's dataset, in one transaction, on a
 * superuser connection (row-level security does not apply to it), then gathers statistics.
 */
export async function fillDataset(client: pg.Client): Promise<void> {
  await client.query('BEGIN');
  try {
    await client.query(HELPERS);
    const { rows: junctionColumns } = await client.query(
      `SELECT 1 FROM information_schema.columns WHERE table_name = 'blocks_agents' AND column_name = 'organization_id'`,
    );
    for (const [index, statement] of fillStatements(junctionColumns.length > 0).entries())
      await client.query(statement, FILL_PARAMETERS[index]);
    for (const [table, expected] of Object.entries(EXPECTED_ROWS)) {
      const { rows } = await client.query<{ count: string }>(`SELECT count(*)::text AS count FROM ${table}`);
      if (Number(rows[0]!.count) !== expected)
        throw new Error(`dataset: ${table} has ${rows[0]!.count} rows, expected ${expected}`);
    }
    await client.query('COMMIT');
  } catch (error) {
    await client.query('ROLLBACK');
    throw error;
  }
}

/** The rows the benchmark's requests name, read back from a filled database. */
export interface DatasetFacts {
  /** Organization 1 (Acme Robotics): the organization whose agents and memories are read. */
  organizationId: string;
  userId: string;
  /** Organization 2: the one appended to, so that what organization 1 reads never changes. */
  otherOrganizationId: string;
  otherUserId: string;
  /** A live agent of organization 1, for `agent(id)`. */
  agentId: string;
  /** The live agents of organization 2, for appendMessages. */
  otherAgentIds: string[];
  /**
   * A user of organization 1 none of whose agents is soft-deleted: AgentMem lists only the
   * memories of live agents, which PostGraphile cannot express (a condition on the agent), so the
   * memories listed by user agree on this user's rows.
   */
  memoryUserId: string;
}

export async function readDatasetFacts(client: pg.Client): Promise<DatasetFacts> {
  const organization = async (name: string) => {
    const { rows } = await client.query<{ organization_id: string; user_id: string }>(
      `SELECT o.id AS organization_id, min(u.id) AS user_id
       FROM organizations o JOIN users u ON u.organization_id = o.id WHERE o.name = $1 GROUP BY o.id`,
      [name],
    );
    if (!rows[0]) throw new Error(`dataset: no organization named ${name}`);
    return rows[0];
  };
  const first = await organization(text.organizationNames[0]!);
  const second = await organization(text.organizationNames[1]!);
  const liveAgents = async (organizationId: string) =>
    (
      await client.query<{ id: string }>(
        'SELECT id FROM agents WHERE organization_id = $1 AND NOT is_deleted ORDER BY created_at, id',
        [organizationId],
      )
    ).rows.map((row) => row.id);
  const agents = await liveAgents(first.organization_id);
  const { rows: memoryUsers } = await client.query<{ id: string }>(
    `SELECT m.user_id AS id FROM memories m JOIN agents a ON a.id = m.agent_id
     WHERE m.organization_id = $1 GROUP BY m.user_id HAVING bool_and(NOT a.is_deleted) ORDER BY m.user_id LIMIT 1`,
    [first.organization_id],
  );
  if (!memoryUsers[0]) throw new Error('dataset: every user of organization 1 has a deleted agent');
  return {
    organizationId: first.organization_id,
    userId: first.user_id,
    otherOrganizationId: second.organization_id,
    otherUserId: second.user_id,
    // Not the first: a request for the first agent could be served by a lucky cache of a page.
    agentId: agents[Math.floor(agents.length / 3)]!,
    otherAgentIds: await liveAgents(second.organization_id),
    memoryUserId: memoryUsers[0].id,
  };
}
