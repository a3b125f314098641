import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { loadSettings } from '../../src/config/settings';
import type { DemoData } from '../../src/demo/seed';
import { createGraphqlHandler } from '../../src/http/yoga';
import { createLogger } from '../../src/logger';
import { graphql } from '../generated';
import { startTestApp, type TestApp } from '../support/test-app';

const RankedSearch = graphql(`
  query RankedSearch($query: String!, $agentId: ID!, $minScore: Float) {
    searchMemories(query: $query, filter: { agentId: $agentId }, minScore: $minScore, limit: 20, track: false) {
      score
      breakdown { text importance recency use }
      memory { content }
    }
  }
`);

/**
 * The ranking, worked out by hand from the documented formula (docs/recall.md, "Ranked recall",
 * src/memories/ranking.ts) with the default settings:
 *
 *   score = 0.5 text + 0.2 importance + 0.2 recency + 0.1 use
 *   text = r / (r + 1), r = ts_rank_cd with every occurrence weighted 1: for a one-word query,
 *          1 per occurrence of the word (each occurrence is a cover of length 1, no noise)
 *   importance = clamp(importance, 0, 1)
 *   recency = 0.5 ^ (days since last access, or creation if never accessed / 30)
 *   use = access_count / (access_count + 10)
 *
 * Query "tea":
 *
 * | memory | tea × | text       | importance | age (days)      | recency                | accesses | use          |
 * |--------|-------|------------|------------|-----------------|------------------------|----------|--------------|
 * | C      | 1     | 1/2 = 0.5  | 1          | accessed 30 ago | 0.5                    | 10       | 10/20 = 0.5  |
 * | E      | 2     | 2/3        | 0.25       | created 30 ago  | 0.5                    | 0        | 0            |
 * | G      | 1     | 0.5        | 2.5 → 1    | created 90 ago  | 0.5^3 = 0.125          | 0        | 0            |
 * | A      | 1     | 0.5        | 0          | created now     | 1                      | 0        | 0            |
 * | D      | 1     | 0.5        | 0.5        | created 365 ago | 0.5^12.1667 = 0.000218 | 90       | 90/100 = 0.9 |
 * | B      | 3     | 3/4 = 0.75 | 0          | created 60 ago  | 0.5^2 = 0.25           | 0        | 0            |
 *
 * F (0 × tea): no match, "coffee" is not found by "tea".
 *
 * | memory | score = 0.5 text + 0.2 importance + 0.2 recency + 0.1 use |
 * |--------|-----------------------------------------------------------|
 * | C      | 0.25 + 0.2 + 0.1 + 0.05 = 0.6                             |
 * | E      | 0.33333 + 0.05 + 0.1 + 0 = 0.48333                        |
 * | G      | 0.25 + 0.2 + 0.025 + 0 = 0.475                            |
 * | A      | 0.25 + 0 + 0.2 + 0 = 0.45                                 |
 * | D      | 0.25 + 0.1 + 0.0000436 + 0.09 = 0.4400436                 |
 * | B      | 0.375 + 0 + 0.05 + 0 = 0.425                              |
 *
 * Expected order: C, E, G, A, D, B. (By text alone, B would be first and C among the last.)
 */
const FIXTURE = [
  { name: 'A', content: 'A: Ada drinks tea.', importance: 0, createdDaysAgo: 0, accessedDaysAgo: null, accessCount: 0 },
  {
    name: 'B',
    content: 'B: tea, tea and more tea.',
    importance: 0,
    createdDaysAgo: 60,
    accessedDaysAgo: null,
    accessCount: 0,
  },
  {
    name: 'C',
    content: 'C: Ada prefers tea.',
    importance: 1,
    createdDaysAgo: 200,
    accessedDaysAgo: 30,
    accessCount: 10,
  },
  {
    name: 'D',
    content: 'D: tea once in Kyoto.',
    importance: 0.5,
    createdDaysAgo: 365,
    accessedDaysAgo: null,
    accessCount: 90,
  },
  {
    name: 'E',
    content: 'E: green tea and black tea.',
    importance: 0.25,
    createdDaysAgo: 30,
    accessedDaysAgo: null,
    accessCount: 0,
  },
  {
    name: 'F',
    content: 'F: Ada drinks coffee.',
    importance: 1,
    createdDaysAgo: 0,
    accessedDaysAgo: 0,
    accessCount: 1000,
  },
  {
    name: 'G',
    content: 'G: tea at the office.',
    importance: 2.5,
    createdDaysAgo: 90,
    accessedDaysAgo: null,
    accessCount: 0,
  },
] as const;

const EXPECTED = [
  { name: 'C', score: 0.6, breakdown: { text: 0.5, importance: 1, recency: 0.5, use: 0.5 } },
  { name: 'E', score: 0.5 * (2 / 3) + 0.05 + 0.1, breakdown: { text: 2 / 3, importance: 0.25, recency: 0.5, use: 0 } },
  { name: 'G', score: 0.475, breakdown: { text: 0.5, importance: 1, recency: 0.125, use: 0 } },
  { name: 'A', score: 0.45, breakdown: { text: 0.5, importance: 0, recency: 1, use: 0 } },
  {
    name: 'D',
    score: 0.25 + 0.1 + 0.2 * 0.5 ** (365 / 30) + 0.09,
    breakdown: { text: 0.5, importance: 0.5, recency: 0.5 ** (365 / 30), use: 0.9 },
  },
  { name: 'B', score: 0.425, breakdown: { text: 0.75, importance: 0, recency: 0.25, use: 0 } },
];

describe('ranked recall: the hand-worked fixture', () => {
  let app: TestApp;
  let demo: DemoData;
  const agentId = 'agent-ranking-fixture';
  const servers: http.Server[] = [];

  /** Another server over the same database, with the ranking settings given as environment variables. */
  async function serverWith(env: Record<string, string>): Promise<string> {
    const settings = {
      ...loadSettings({ PORT: '0', LOG_LEVEL: 'silent', ...env }),
      rateLimit: { requests: 0, windowSeconds: 60 },
    };
    const server = http.createServer(
      createGraphqlHandler(app.database, settings, createLogger('silent'), { live: app.live, redis: undefined }),
    );
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}/graphql`;
  }

  beforeAll(async () => {
    app = await startTestApp('search_ranking');
    demo = await app.seedDemo();
    await app.database.owner.agent.create({
      data: { id: agentId, organizationId: demo.organizationId, name: 'Ranker' },
    });
    for (const memory of FIXTURE) {
      await app.database.owner.$executeRaw`
        INSERT INTO memories (id, organization_id, user_id, agent_id, content, memory_type, scope, level, importance,
          access_count, last_accessed, created_at)
        VALUES (${`memory-ranking-${memory.name}`}, ${demo.organizationId}, ${demo.userId}, ${agentId},
          ${memory.content}, 'factual', 'user', 'core',
                ${memory.importance}, ${memory.accessCount},
                now() - ${memory.accessedDaysAgo}::float8 * interval '1 day',
                  now() - ${memory.createdDaysAgo}::float8 * interval '1 day')`;
    }
  });
  afterAll(async () => {
    await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
    await app?.close();
  });

  it('orders the hits as worked out by hand, and shows each score and its parts', async () => {
    const response = await app.graphql(RankedSearch, { query: 'tea', agentId });
    expect(response.errors).toBeUndefined();
    const hits = response.data!.searchMemories;
    expect(hits.map((hit) => hit.memory.content.slice(0, 1))).toEqual(EXPECTED.map((expected) => expected.name));
    hits.forEach((hit, index) => {
      const expected = EXPECTED[index]!;
      // Seconds pass between the insert and the search: recency moves by about 1e-7 a second at most.
      expect(hit.score).toBeCloseTo(expected.score, 5);
      for (const part of ['text', 'importance', 'recency', 'use'] as const)
        expect(hit.breakdown[part]).toBeCloseTo(expected.breakdown[part], 5);
    });
  });

  it('leaves out hits under minScore', async () => {
    const response = await app.graphql(RankedSearch, { query: 'tea', agentId, minScore: 0.46 });
    expect(response.data!.searchMemories.map((hit) => hit.memory.content.slice(0, 1))).toEqual(['C', 'E', 'G']);
  });

  it('takes its weights from the settings: text alone orders by occurrences, ties newest first', async () => {
    const url = await serverWith({
      SEARCH_WEIGHT_TEXT: '1',
      SEARCH_WEIGHT_IMPORTANCE: '0',
      SEARCH_WEIGHT_RECENCY: '0',
      SEARCH_WEIGHT_USE: '0',
    });
    const response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${demo.key}` },
      body: JSON.stringify({ query: RankedSearch.toString(), variables: { query: 'tea', agentId } }),
    });
    const { data } = (await response.json()) as {
      data: { searchMemories: Array<{ score: number; memory: { content: string } }> };
    };
    // B 3/4, E 2/3, then A, G, C, D at 1/2 each, newest first: created now, 90, 200 and 365 days ago.
    expect(data.searchMemories.map((hit) => hit.memory.content.slice(0, 1))).toEqual(['B', 'E', 'A', 'G', 'C', 'D']);
    expect(data.searchMemories.map((hit) => hit.score)).toEqual([0.75, 0.6666666865348816, 0.5, 0.5, 0.5, 0.5]);
  });
});
