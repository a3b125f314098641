import { startTestApp, type TestApp } from '../support/test-app';

const ROLES = 'ASSISTANT, SYSTEM, TOOL, USER';
const APPEND =
  'mutation ($agentId: ID!, $messages: [MessageInput!]!) { appendMessages(agentId: $agentId, messages: ' +
  '$messages) { __typename } }';

/**
 * What a newcomer gets wrong first, answered with what would have been right: an enum's values,
 * quotes around text, the types a payload union can be. The errors keep their codes and fields.
 */
describe('error messages that say what is allowed', () => {
  let app: TestApp;
  let agentId: string;
  beforeAll(async () => {
    app = await startTestApp('error_messages');
    ({ agentId } = await app.seedDemo());
  });
  afterAll(async () => {
    await app?.close();
  });

  it.each([
    [
      'an unknown value inline',
      `mutation { appendMessages(agentId: "a", messages: [{ role: HUMAN, text: "hi" }]) { __typename } }`,
      {},
      ['messages', '0', 'role'],
      `Allowed values: ${ROLES}.`,
    ],
    [
      'a quoted value inline',
      `mutation { appendMessages(agentId: "a", messages: [{ role: "USER", text: "hi" }]) { __typename } }`,
      {},
      ['messages', '0', 'role'],
      `Allowed values, written without quotes: ${ROLES}.`,
    ],
    [
      'an unknown value in a variable',
      APPEND,
      { agentId: 'a', messages: [{ role: 'HUMAN', text: 'hi' }] },
      ['$messages', '0', 'role'],
      `Allowed values: ${ROLES}.`,
    ],
    [
      'a number in a variable',
      'mutation ($role: MessageRole!) { appendMessages(agentId: "a", messages: [{ role: $role, text: "hi" }]) { ' +
        '__typename } }',
      { role: 3 },
      ['$role'],
      `Allowed values: ${ROLES}.`,
    ],
    [
      "a variable's default",
      'query ($role: MessageRole = HUMAN) { agents(filter: { nameContains: "x" }) { totalCount } }',
      {},
      ['$role'],
      `Allowed values: ${ROLES}.`,
    ],
    [
      'a filter field',
      '{ memories(filter: { memoryType: GOSSIP }) { totalCount } }',
      {},
      ['filter', 'memoryType'],
      'Allowed values: EPISODIC, FACTUAL, PROCEDURAL, SEMANTIC, WORKING.',
    ],
  ])(
    'lists the values of the enum for %s, as a VALIDATION error naming the field',
    async (_case, query, variables, field, allowed) => {
      const answer = await app.graphqlUntyped(query, variables);
      expect(answer.status).toBe(400);
      expect(answer.data).toBeUndefined();
      const error = answer.errors?.find((candidate) => candidate.extensions?.code === 'VALIDATION');
      expect(error?.extensions).toEqual({ code: 'VALIDATION', field });
      expect(error?.message.endsWith(` ${allowed}`)).toBe(true);
    },
  );

  it('lists the enum of the field, whatever enum the refused value names', async () => {
    // The value is the client's text, inside the message: it cannot make the message list Scope.
    const answer = await app.graphqlUntyped(APPEND, {
      agentId,
      messages: [{ role: 'x" does not exist in "Scope" enum.', text: 'hi' }],
    });
    expect(answer.errors?.[0]?.extensions).toEqual({ code: 'VALIDATION', field: ['$messages', '0', 'role'] });
    expect(answer.errors?.[0]?.message).toMatch(new RegExp(`Allowed values: ${ROLES}\\.$`));
    expect(answer.errors?.[0]?.message).not.toContain('ADMIN');
  });

  it.each([
    ['a label', 'mutation { createBlock(input: { label: HUMAN, value: "v" }) { __typename } }', ['input', 'label']],
    ['an id', '{ agent(id: HUMAN) { id } }', ['id']],
  ])('says to quote a bare name written for %s', async (_case, query, field) => {
    const answer = await app.graphqlUntyped(query);
    expect(answer.status).toBe(400);
    expect(answer.errors?.[0]?.extensions).toEqual({ code: 'VALIDATION', field });
    expect(answer.errors?.[0]?.message).toMatch(/ value: HUMAN\. Write it in double quotes: "HUMAN"\.$/);
  });

  it.each([
    [
      'inline',
      'mutation ($id: ID!) { deleteAgent(id: $id) { ... on AgentPayload { agent { id } } } }',
      'Fragment cannot',
    ],
    [
      'as a named fragment',
      'mutation ($id: ID!) { deleteAgent(id: $id) { ...Restored } } fragment Restored on AgentPayload { agent { id } }',
      'Fragment "Restored" cannot',
    ],
  ])(
    'names the types a payload union can be when a fragment on another is spread in it (%s)',
    async (_case, query, start) => {
      const answer = await app.graphqlUntyped(query, { id: agentId });
      expect(answer.status).toBe(400);
      expect(answer.data).toBeUndefined();
      expect(answer.errors).toHaveLength(1);
      expect(answer.errors?.[0]?.extensions).toEqual({ code: 'GRAPHQL_VALIDATION_FAILED' });
      expect(answer.errors?.[0]?.message).toBe(
        `${start} be spread here as objects of type "MutationDeleteAgentResult" can never be of type "AgentPayload". ` +
          '"MutationDeleteAgentResult" can be: ConflictError, DeletedPayload, NotFoundError, ValidationError; ' +
          'interfaces of these: Error.',
      );
      // Nothing ran: the agent is still there.
      expect(await app.database.owner.agent.findUniqueOrThrow({ where: { id: agentId } })).toMatchObject({
        isDeleted: false,
      });
    },
  );

  it('leaves a spread on an object type as graphql-js words it: the object is the only type there', async () => {
    const answer = await app.graphqlUntyped('query ($id: ID!) { agent(id: $id) { ... on Error { code } } }', {
      id: agentId,
    });
    expect(answer.errors?.[0]?.extensions).toEqual({ code: 'GRAPHQL_VALIDATION_FAILED' });
    expect(answer.errors?.[0]?.message).toBe(
      'Fragment cannot be spread here as objects of type "Agent" can never be of type "Error".',
    );
  });
});
