import fc from 'fast-check';
import type { DemoData } from '../../src/demo/seed';
import { propertySeed } from '../support/property-seed';
import { type GeneralPathServer, startGeneralPathServer } from '../support/read-paths';
import { startTestApp, type TestApp } from '../support/test-app';

/**
 * searchMemories answers in one statement, the memory of each hit planned by the read planner
 * for whatever is selected of it (src/memories/search.ts): it must answer exactly as the general
 * path (Prisma) does.
 */

const memoryScalars = [
  'id',
  'organizationId',
  'userId',
  'agentId',
  'content',
  'hash',
  'metadata',
  'score',
  'memoryType',
  'scope',
  'level',
  'importance',
  'accessCount',
  'lastAccessed',
  'createdAt',
  'updatedAt',
  'createdById',
  'lastUpdatedById',
];

let aliases = 0;
const memorySelection = fc
  .tuple(
    // An alias of its own, none, or another field's name (`updatedAt: scope`).
    fc.array(
      fc.tuple(
        fc.oneof(
          { weight: 6, arbitrary: fc.constant<string | boolean>(false) },
          { weight: 2, arbitrary: fc.constant<string | boolean>(true) },
          { weight: 1, arbitrary: fc.constantFrom<string | boolean>(...memoryScalars) },
        ),
        fc.constantFrom(...memoryScalars),
      ),
      { minLength: 1, maxLength: 6 },
    ),
    fc.constantFrom(
      '',
      '',
      '',
      'user { id name }',
      'agent { name messageCount blocks { label } }',
      'history(first: 1) { totalCount nodes { event changedFields } }',
      'deletedBy { id }',
    ),
  )
  .map(([picked, relation]) =>
    [
      ...picked.map(([alias, name]) =>
        alias === false ? name : `${alias === true ? `m${(aliases += 1)}` : alias}: ${name}`,
      ),
      relation,
    ].join(' '),
  );

const search = fc.record({
  query: fc.constantFrom(
    'tea',
    'project deadline',
    '"green tea"',
    'tea -green',
    'kyoto or tea',
    'nothing-matches-this',
  ),
  limit: fc.constantFrom('', 'limit: 1', 'limit: 3', 'limit: 50'),
  filter: fc.constantFrom(
    '',
    'filter: { memoryType: FACTUAL }',
    'filter: { scope: "user" }',
    'filter: { level: "long_term", memoryType: EPISODIC }',
    'filter: { memoryTypes: [FACTUAL, SEMANTIC], scopes: ["agent"] }',
    'filter: { metadata: { path: "a", contains: 2.5 } }',
    'filter: { metadata: { or: [{ path: "b.c", eq: true }, { path: "a", exists: false }] } }',
    'filter: { createdAfter: "1899-12-28T00:00:00Z", levels: ["long_term"] }',
  ),
  minScore: fc.constantFrom('', '', 'minScore: 0.1', 'minScore: 0.25'),
});

/** What a hit shows besides its memory: the score, its parts, the snippet, the deprecated rank. */
const hitFields = fc
  .subarray(['score', 'breakdown { text importance recency use }', 'breakdown { use text }', 'snippet', 'rank'])
  .map((fields) => fields.join(' '));

describe('the one-statement memory search', () => {
  let app: TestApp;
  let general: GeneralPathServer;
  let demo: DemoData;

  beforeAll(async () => {
    app = await startTestApp('search_fast_path');
    demo = await app.seedDemo();
    // Ties in rank, sub-millisecond times, JSON of several kinds, nulls, a deleted memory. The
    // instants lie in 1900, over 1,000 half-lives ago: recency is exactly 0 whenever either server
    // computes it, so that the scores of the two answers are the same bytes.
    await app.database.owner.$executeRaw`
      INSERT INTO memories (id, organization_id, user_id, agent_id, content, metadata, score, memory_type, scope,
        level, importance, access_count, last_accessed, hash, created_at, is_deleted)
      SELECT 'memory-generated-' || i, ${demo.organizationId}, ${demo.userId}, ${demo.agentId},
             (ARRAY['green tea in kyoto', 'the project deadline is friday', 'black tea',
               'a project without a deadline', 'tea'])[1 + i % 5] || ' ' || i,
             (ARRAY['{}', '{"a": [1, 2.5, null]}', '{"z": "é", "b": {"c": true}}'])[1 + i % 3]::jsonb,
             CASE WHEN i % 4 = 0 THEN NULL ELSE i / 7.0 END,
             (ARRAY['factual', 'episodic', 'semantic'])[1 + i % 3], (ARRAY['user', 'agent'])[1 + i % 2], 'long_term',
             i % 3 / 3.0, i * 1000, CASE WHEN i % 2 = 0
               THEN '1900-01-01T00:00:00Z'::timestamptz - i * interval '1 hour 1 microsecond' END,
             CASE WHEN i % 5 = 0 THEN md5(i::text) END,
             '1900-01-01T00:00:00Z'::timestamptz - (i % 7) * interval '1 day' + interval '123 microseconds', i % 17 = 0
      FROM generate_series(1, 80) AS i`;
    general = await startGeneralPathServer(app);
  }, 240_000);

  afterAll(async () => {
    await general?.close();
    await app?.close();
  });

  it("refuses a planned memory's fallback field as the general path does, not with a stray bound value", async () => {
    // recentMessages(limit: 101) is left to its resolver after its window bound the organization:
    // the value must go with it, or the statement fails (an INTERNAL_SERVER_ERROR).
    const document =
      '{ searchMemories(query: "tea", limit: 1, track: false) { ' +
      'memory { agent { recentMessages(limit: 101) { id } } } } }';
    const [fast, slow] = await general.both(demo.key, document, {});
    expect(fast).toContain('"code":"VALIDATION"');
    expect(fast).toEqual(slow);
  });

  it('answers aliases of memory that give one response key to two fields as the general path does', async () => {
    // One memory planned for both aliases would answer `old.updatedAt` with the instant of
    // `memory.updatedAt`, which the scope's type cannot serialize (an INTERNAL_SERVER_ERROR).
    const document =
      '{ searchMemories(query: "tea", limit: 3, track: false) { ' +
      'memory { updatedAt } old: memory { updatedAt: scope } } }';
    const [fast, slow] = await general.both(demo.key, document, {});
    expect(fast).not.toContain('"errors"');
    expect(fast).toContain('"old":{"updatedAt":"');
    expect(fast).toEqual(slow);
  });

  it('answers generated searches and selections byte for byte as the general path does', async () => {
    let oneStatement = 0;
    await fc.assert(
      fc.asyncProperty(
        memorySelection,
        // Now and then the memory again under an alias, with a selection of its own.
        fc.oneof({ weight: 4, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: memorySelection }),
        search,
        hitFields,
        async (selection, again, { query, limit, filter, minScore }, fields) => {
          // Not counted as accesses: each server would otherwise answer after the other's count.
          const args = [`query: ${JSON.stringify(query)}`, limit, filter, minScore, 'track: false']
            .filter((part) => part !== '')
            .join(', ');
          const aliased = again === undefined ? '' : `again: memory { ${again} }`;
          const document = `{ searchMemories(${args}) { ${fields} memory { ${selection} } ${aliased} } }`;
          const {
            result: [fast, slow],
            statements,
          } = await app.countStatements(() => general.both(demo.key, document, {}));
          expect({ document, answer: fast }).toEqual({ document, answer: slow });
          // The general server loads the memories with a findMany after the search; the fast one
          // never does: its one statement carries the planned memories.
          // (or none, when Prisma has no ids to look for). Under two aliases, the fast server
          // reads them as the general one does (src/schema/selection.ts, underOneResponseKey).
          if (again !== undefined) return;
          const loads = statements.filter((sql) => /FROM "public"\."memories"/.test(sql)).length;
          expect({ document, loads: Math.min(loads, 2) }).toEqual({ document, loads: Math.min(loads, 1) });
          if (loads === 1) oneStatement += 1;
        },
      ),
      { numRuns: 80, seed: propertySeed('search fast path') },
    );
    // Of 80: a fifth ask for the memory again under an alias, and aliases by other fields' names
    // make some selections invalid (the same refusal from both servers, no statement to count).
    expect(oneStatement).toBeGreaterThan(30);
  });
});
