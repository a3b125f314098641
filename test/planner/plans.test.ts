import { type FieldNode, type GraphQLObjectType, getNamedType, getOperationAST, isObjectType, parse } from 'graphql';
import { statement } from '../../src/db/statements';
import { planObject } from '../../src/planner/compile';
import { fieldSqlOf } from '../../src/planner/declarations';
import { schema } from '../../src/schema';
import { planOf } from '../support/plans';

/**
 * The selection → plan step, without a server or a database: which fields a plan answers,
 * which it leaves to their resolvers, and the SQL itself for representative selections, kept as
 * snapshots so that a change to a plan shows in review.
 */

const ORGANIZATION = 'org-00000000-0000-4000-8000-000000000000';

const plan = (document: string, variableValues: Record<string, unknown> = {}) =>
  planOf(document, ORGANIZATION, variableValues);

/** Object types the planner reaches from the root fields it plans, connections' own types aside. */
function plannedTypes(): GraphQLObjectType[] {
  const seen = new Map<string, GraphQLObjectType>();
  const isConnectionPart = (type: GraphQLObjectType) =>
    type.name === 'PageInfo' || /Connection(Edge)?$/.test(type.name);
  const visit = (type: GraphQLObjectType) => {
    if (seen.has(type.name)) return;
    if (!isConnectionPart(type)) seen.set(type.name, type);
    for (const field of Object.values(type.getFields())) {
      const sql = fieldSqlOf(field.extensions);
      const target = getNamedType(field.type);
      if (isObjectType(target) && sql?.kind !== 'fallback' && sql?.kind !== 'column') visit(target);
    }
  };
  for (const field of Object.values(schema.getQueryType()!.getFields())) {
    const sql = fieldSqlOf(field.extensions);
    const target = getNamedType(field.type);
    if (sql && isObjectType(target)) visit(target);
  }
  return [...seen.values()];
}

describe('the read planner', () => {
  it('has, for every field of every type it reaches, a declaration or an explicit reason to fall back', () => {
    const undeclared = plannedTypes().flatMap((type) =>
      Object.values(type.getFields())
        .filter((field) => fieldSqlOf(field.extensions) === undefined)
        .map((field) => `${type.name}.${field.name}`),
    );
    expect(undeclared).toEqual([]);
    // The check reaches what matters: the entities and their history.
    expect(
      plannedTypes()
        .map((type) => type.name)
        .sort(),
    ).toEqual(
      expect.arrayContaining([
        'Agent',
        'ApiKey',
        'Block',
        'BlockVersion',
        'Memory',
        'MemoryHistoryEntry',
        'Message',
        'Organization',
        'Tool',
        'User',
      ]),
    );
  });

  it('answers columns, relations, counts and connections in the statement, and names what falls back', () => {
    const planned = plan(`{ agents(first: 5) { nodes { id name messageCount blocks { label agents {
      id } } contextMessages { id } memoryStats { total } } totalCount } }`)!;
    expect(planned.fallbacks).toEqual([
      'Agent.contextMessages: the order of a JSON list of ids: one loader statement per page',
      'Agent.memoryStats: grouped counts: one loader statement per request',
    ]);
    // What the fallback resolvers read of the row travels with it.
    expect(planned.text).toContain(`'messageIds', t`);
    expect(planned.text.match(/\$\d+/g)?.length).toBeGreaterThanOrEqual(planned.values.length);
  });

  it('leaves a field whose arguments it does not plan to its resolver, binding nothing for it', () => {
    const planned = plan(`{ agent(id: "agent-1") { id recentMessages(limit: 0) { id } } }`)!;
    expect(planned.fallbacks).toEqual(['Agent.recentMessages: arguments']);
    expect(planned.values).toEqual(['agent-1', ORGANIZATION]);
  });

  it('leaves a root field whose arguments it does not plan to its resolver', () => {
    expect(plan(`{ agents(filter: { nameContains: "a" }) { nodes { id } } }`)).toBeUndefined();
    expect(plan(`{ agents(deleted: true) { nodes { id } } }`)).toBeUndefined();
  });

  it('follows @skip, @include, aliases and fragments as graphql-js collects them', () => {
    const planned = plan(
      `query ($on: Boolean!) { agent(id: "a") { x: name name @skip(if: $on) ...more ... on Agent {
      topic } } } fragment more on Agent { system }`,
      { on: true },
    )!;
    // A column is answered under its name, where GraphQL's default resolver reads it, whatever its alias.
    expect(planned.text).toContain(
      `json_build_object('name', t1."name", 'system', t1."system", 'topic', t1."topic", '@', true)`,
    );
  });

  it('keeps a column and another field asked for under its name apart', () => {
    const planned = plan(`{ agent(id: "a") { id: memoryCount agentId: id name } }`)!;
    // The count is under `@id`, the column under `id`, where the executor reads each.
    expect(planned.text).toMatch(
      /json_build_object\('@id', \(SELECT count\(\*\)::int FROM memories .*\), 'id', t1\."id"/,
    );
    expect(planned.text).toContain(`'name', t1."name", '@', true)`);
  });

  const representative: Record<string, string> = {
    'agent by id with relations': `{ agent(id: "agent-1") { id name blocks(label: "persona") { label value } tools {
      name } recentMessages(limit: 3) { role text createdAt } } }`,
    'agents page with counts': `{ agents(first: 50, orderBy: { field: UPDATED_AT, direction: DESC }) { nodes {
      id messageCount memoryCount } pageInfo { hasNextPage endCursor } } }`,
    'agents backwards from a cursor': `{ agents(last: 3, before: "R1BDOlM6YWdlbnQtMQ==") {
      edges { cursor node { id } } pageInfo { hasPreviousPage startCursor } totalCount } }`,
    "an agent's conversation page": `{ agent(id: "agent-1") { messages(first: 50) { totalCount pageInfo {
      hasNextPage } nodes { id text user { name } } } } }`,
    'messages with filters': `{ messages(agentId: "agent-1", first: 20, stepId: "s") { nodes { id role } } }`,
    "blocks and each block's agents": `{ blocks(first: 50) { nodes { id label agents { id name } } } }`,
    "a tool's agents": `{ tool(id: "tool-1") { name agents { id } } }`,
    'block history': `{ block(id: "block-1") { history(first: 2) { nodes { version value changedBy { name } } } } }`,
    'users with their organization': `{ users(first: 10) { nodes { name organization { name agentCount } } } }`,
    'the organization': `{ organization { id name userCount agentCount } }`,
    'block templates after a cursor': `{ blockTemplates(first: 5, after: "R1BDOlM6YmxvY2stMQ==", name: "support") {
      nodes { label value } pageInfo { hasNextPage } } }`,
    'the caller': `{ me { user { name } organization { name } } }`,
    'memories by user and scope, with totalCount, after a cursor': `{ memories(first: 50, after:
      "R1BDOlM6bWVtb3J5LTE=", filter: { userId: "user-1", scope: "user" }, orderBy: { field: IMPORTANCE },
      track: false) { totalCount pageInfo { hasNextPage } nodes { id content } } }`,
  };

  it("checks a memory's conditions once for totalCount and the page: one materialized set of rows", () => {
    const both = plan(`{ memories(first: 5) { totalCount nodes { id } } }`)!;
    expect(both.text).toContain('AS MATERIALIZED');
    expect(both.text.match(/EXISTS \(SELECT 1 FROM agents/g)).toHaveLength(1);
    // Each value bound once: the organization, the page size.
    expect(both.values).toEqual([ORGANIZATION, 5]);
    expect(plan(`{ memories(first: 5) { totalCount } }`)!.text.match(/EXISTS \(SELECT 1 FROM agents/g)).toHaveLength(1);
    // Without totalCount, no set to share: the page stays an index scan that stops at its end.
    const page = plan(`{ memories(first: 5) { nodes { id } } }`)!;
    expect(page.text).not.toContain('MATERIALIZED');
    expect(page.text.match(/EXISTS \(SELECT 1 FROM agents/g)).toHaveLength(1);
    // Other connections read their rows as before.
    expect(plan(`{ agents(first: 5) { totalCount nodes { id } } }`)!.text).not.toContain('MATERIALIZED');
  });

  it('reads the ids of the memories shown only when they are counted as accessed', () => {
    expect(plan(`{ memories(first: 5) { nodes { id } } }`)!.text).toContain("'@shown'");
    expect(plan(`{ memories(first: 5, track: false) { nodes { id } } }`)!.text).not.toContain("'@shown'");
  });

  it("plans each search hit's memory inside the search's own statement", () => {
    const memoryNode = getOperationAST(parse('{ memory { content agent { name } history(first: 1) { totalCount } } }'))!
      .selectionSet.selections[0] as FieldNode;
    const request = { fragments: {}, variableValues: {}, organizationId: ORGANIZATION, userId: 'user-1' };
    let fallbacks: string[] | undefined;
    // The planner binds its values in the search's statement, after those the statement bound first.
    const search = statement((bind) => {
      const own = bind('the search');
      const memory = planObject(schema.getType('Memory') as GraphQLObjectType, [memoryNode], 'm', request, bind);
      fallbacks = memory.fallbacks;
      return `SELECT ${own}, ${memory.sql}`;
    });
    expect(fallbacks).toEqual([]);
    // Numbered as they were bound: the search's own value first, then the planner's.
    expect(search.values).toEqual(['the search', ORGANIZATION, ORGANIZATION, 1, ORGANIZATION]);
    expect(new Set(search.text.match(/\$\d+/g))).toEqual(new Set(['$1', '$2', '$3', '$4', '$5']));
  });

  it.each(Object.entries(representative))('plans %s as the snapshot shows', (_name, document) => {
    const planned = plan(document)!;
    expect(planned).toBeDefined();
    expect({
      sql: planned.text.replace(/\s+/g, ' '),
      values: planned.values,
      fallbacks: planned.fallbacks,
    }).toMatchSnapshot();
  });
});
