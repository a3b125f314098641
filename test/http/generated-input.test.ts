import fc from 'fast-check';
import type { DemoData } from '../../src/demo/seed';
import { rowsOfOrganization } from '../support/tenant-rows';
import { startTestApp, type TestApp } from '../support/test-app';

/** Strings a careless client or an attacker might send: any code point, and the known troublemakers. */
const nastyString = fc
  .array(
    fc.oneof(
      fc.string({ unit: 'binary', maxLength: 12 }),
      fc.constantFrom('\u0000', '\ud800', '\udfff', "'", '"', '\\', '%', '_', '😀', "'; DROP TABLE agents; --", ' ', ''),
    ),
    { maxLength: 4 },
  )
  .map((parts) => parts.join(''));

const nastyJson = fc.oneof(fc.jsonValue({ maxDepth: 3 }), fc.dictionary(nastyString, nastyString, { maxKeys: 3 }), fc.array(nastyString, { maxLength: 3 }));

describe('generated hostile requests', () => {
  let app: TestApp;
  let own: DemoData;
  let other: DemoData;
  let otherBlockId: string;
  beforeAll(async () => {
    app = await startTestApp('generated_input');
    own = await app.seedDemo();
    other = await app.seedDemo(); // another tenant: its rows must never change or show
    otherBlockId = (await app.database.owner.block.findFirstOrThrow({ where: { organizationId: other.organizationId } })).id;
  });
  afterAll(async () => {
    await app?.close();
  });

  const otherTenantRows = () => rowsOfOrganization(app.database.owner, other.organizationId);

  it('never answers with a server error or an untyped error, and never touches another tenant', async () => {
    const agentIds = () => fc.constantFrom(own.agentId, other.agentId, 'agent-unknown', '');
    const operation = fc.oneof(
      fc.record({ label: nastyString, value: nastyString, limit: fc.integer({ min: -5, max: 3000 }) }).map((input) => ({
        query: 'mutation ($input: CreateBlockInput!) { createBlock(input: $input) { __typename } }',
        variables: { input },
      })),
      fc.record({ name: nastyString, tags: fc.array(nastyString, { maxLength: 3 }), metadata: nastyJson, jsonSchema: nastyJson }).map((input) => ({
        query: 'mutation ($input: CreateToolInput!) { createTool(input: $input) { __typename } }',
        variables: { input },
      })),
      fc
        .record({
          agentId: agentIds(),
          messages: fc.array(
            fc.record({
              role: fc.constantFrom('USER', 'ASSISTANT', 'SYSTEM', 'TOOL'),
              text: fc.option(nastyString),
              content: fc.option(nastyJson),
              toolCallId: fc.option(nastyString),
              toolCalls: fc.option(nastyJson),
            }),
            { maxLength: 3 },
          ),
        })
        .map((variables) => ({
          query: 'mutation ($agentId: ID!, $messages: [MessageInput!]!) { appendMessages(agentId: $agentId, messages: $messages) { __typename } }',
          variables,
        })),
      fc
        .record({ agentId: agentIds(), content: nastyString, scope: nastyString, level: nastyString, importance: fc.double({ noNaN: true, noDefaultInfinity: true }), metadata: nastyJson })
        .map((memory) => ({
          query: 'mutation ($inputs: [CreateMemoryInput!]!) { createMemories(inputs: $inputs) { __typename } }',
          variables: { inputs: [{ ...memory, memoryType: 'FACTUAL' }] },
        })),
      fc.record({ agentId: agentIds(), blockId: fc.constantFrom(otherBlockId, 'block-unknown') }).map((variables) => ({
        query: 'mutation ($agentId: ID!, $blockId: ID!) { attachBlock(agentId: $agentId, blockId: $blockId) { __typename } }',
        variables,
      })),
      fc.record({ text: nastyString, agentId: agentIds(), first: fc.integer({ min: -3, max: 120 }) }).map((variables) => ({
        query: `query ($text: String, $agentId: ID!, $first: Int) {
          tools(filter: { nameContains: $text, tag: $text }) { totalCount nodes { id name } }
          agents(filter: { nameContains: $text }, first: $first) { nodes { id name } }
          blocks(filter: { label: $text }) { nodes { id value } }
          messages(agentId: $agentId, first: $first) { nodes { id text } }
          agent(id: $agentId) { id blocks { id } }
        }`,
        variables,
      })),
    );

    const before = await otherTenantRows();
    const otherIds = [other.organizationId, other.agentId, other.userId, otherBlockId];

    await fc.assert(
      fc.asyncProperty(operation, async ({ query, variables }) => {
        const response = await fetch(app.url, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${own.key}` },
          body: JSON.stringify({ query, variables }),
        });
        expect(response.status).toBeLessThan(500);
        const text = await response.text();
        const body = JSON.parse(text) as { errors?: Array<{ extensions?: { code?: string } }> };
        for (const error of body.errors ?? []) {
          expect(error.extensions?.code).toBeDefined();
          expect(error.extensions?.code).not.toBe('INTERNAL_SERVER_ERROR');
        }
        for (const id of otherIds) expect(text).not.toContain(id);
      }),
      { numRuns: 150 },
    );

    expect(await otherTenantRows()).toEqual(before);
  }, 300_000);
});
