import fs from 'node:fs';
import path from 'node:path';
import {
  buildSchema,
  type DocumentNode,
  type GraphQLObjectType,
  getNamedType,
  isUnionType,
  Kind,
  type OperationDefinitionNode,
  parse,
  validate,
} from 'graphql';
import { settingNames } from '../../src/config/settings';
import {
  documentationFiles,
  fencedBlocks,
  headingAnchors,
  links,
  markdownParts,
  readDocumentation,
  repositoryRoot,
  section,
  tableRows,
} from '../support/markdown';
import { startTestApp, type TestApp } from '../support/test-app';

/**
 * The README and docs/ cannot drift from the code unnoticed: their GraphQL is checked against
 * schema.graphql, their links lead somewhere, the settings table, `.env.example` and the server's
 * settings agree, the payload unions table is the schema's, and the first-hour examples run, in
 * order, against a real server.
 */

const schema = buildSchema(fs.readFileSync(path.join(repositoryRoot, 'schema.graphql'), 'utf8'));

/**
 * What each GraphQL info string asks: `graphql` blocks are whole documents, validated against the
 * schema; `graphql-sdl` (schema language) and `graphql-excerpt` (part of a document: a field and its
 * selection, say) are only parsed. Any other `graphql…` or `gql` tag is a mistake, not a way out.
 */
const GRAPHQL_BLOCKS = { graphql: 'document', 'graphql-sdl': 'sdl', 'graphql-excerpt': 'excerpt' } as const;

function parseProblem(text: string): string | undefined {
  try {
    parse(text);
    return undefined;
  } catch (error) {
    return (error as Error).message;
  }
}

/** What is wrong with the GraphQL blocks of one page: `file:line: problem` each. */
function graphqlProblems(file: string, markdown: string): string[] {
  return fencedBlocks(markdown).flatMap((block) => {
    if (!/^(graphql|gql)/i.test(block.language)) return [];
    const where = `${file}:${block.line}`;
    const kind = GRAPHQL_BLOCKS[block.language as keyof typeof GRAPHQL_BLOCKS];
    if (kind === undefined)
      return [
        `${where}: unknown GraphQL block tag "${block.language}" (use ${Object.keys(GRAPHQL_BLOCKS).join(', ')})`,
      ];
    if (kind === 'excerpt') {
      // A piece of a document: whole, or the inside of a selection set.
      const problem = parseProblem(block.text) && parseProblem(`{\n${block.text}\n}`);
      return problem ? [`${where}: ${problem}`] : [];
    }
    let document: DocumentNode;
    try {
      document = parse(block.text);
    } catch (error) {
      return [`${where}: ${(error as Error).message}`];
    }
    if (kind === 'sdl') {
      const executable = document.definitions.filter(
        (definition) => definition.kind === Kind.OPERATION_DEFINITION || definition.kind === Kind.FRAGMENT_DEFINITION,
      );
      return executable.length > 0 ? [`${where}: a graphql-sdl block holds an operation or fragment`] : [];
    }
    return validate(schema, document).map((error) => `${where}: ${error.message}`);
  });
}

describe('GraphQL in the README and docs/', () => {
  it('is valid against schema.graphql, or tagged as an excerpt or SDL', () => {
    const blocks = documentationFiles().flatMap((file) =>
      fencedBlocks(readDocumentation(file)).filter((block) => block.language.startsWith('graphql')),
    );
    expect(blocks.length).toBeGreaterThan(15);
    expect(documentationFiles().flatMap((file) => graphqlProblems(file, readDocumentation(file)))).toEqual([]);
  });

  it('tells documents from excerpts and SDL, and names what is wrong', () => {
    const page = [
      '```graphql\n{ agents { nodes { id } } }\n```',
      '```graphql\n{ agents { nodes { nickname } } }\n```',
      '```graphql-excerpt\nagents(first: 2) { nodes { nickname } }\n```',
      '```graphql-sdl\ntype Nickname { value: String }\n```',
      '```graphql-excerpt\nagents(first: 2 { nodes }\n```',
      '```graphql-except\n{ agents }\n```',
    ].join('\n\n');
    expect(graphqlProblems('page.md', page)).toEqual([
      'page.md:5: Cannot query field "nickname" on type "Agent". Did you mean "name"?',
      expect.stringMatching(/^page\.md:17: Syntax Error/),
      'page.md:21: unknown GraphQL block tag "graphql-except" (use graphql, graphql-sdl, graphql-excerpt)',
    ]);
  });
});

describe('links between the README and docs/', () => {
  /** Where each relative link of `file` leads, and whether it gets there. */
  function linkProblems(file: string): string[] {
    return links(readDocumentation(file)).flatMap(({ target, line }) => {
      if (/^[a-z][a-z0-9+.-]*:/i.test(target)) return [];
      const where = `${file}:${line}: ${target}`;
      const [pathPart = '', anchor] = target.split('#');
      const resolved =
        pathPart === '' ? file : path.posix.normalize(path.posix.join(path.posix.dirname(file), decodeURI(pathPart)));
      if (resolved.startsWith('..')) return [`${where}: leads outside the repository`];
      if (!fs.existsSync(path.join(repositoryRoot, resolved))) return [`${where}: no such file`];
      if (anchor === undefined) return [];
      if (!resolved.endsWith('.md')) return [`${where}: an anchor into a file that is not Markdown`];
      return headingAnchors(readDocumentation(resolved)).has(anchor)
        ? []
        : [`${where}: ${resolved} has no heading #${anchor}`];
    });
  }

  it('each lead to a file, and each anchor to a heading of it', () => {
    const all = documentationFiles().flatMap((file) => links(readDocumentation(file)));
    expect(all.length).toBeGreaterThan(50);
    expect(documentationFiles().flatMap(linkProblems)).toEqual([]);
  });

  it('reach every page of docs/ from the README', () => {
    const fromReadme = new Set(links(readDocumentation('README.md')).map(({ target }) => target.split('#')[0]));
    expect(documentationFiles().filter((file) => file.startsWith('docs/') && !fromReadme.has(file))).toEqual([]);
  });

  it('read anchors as GitHub makes them', () => {
    const anchors = headingAnchors(
      "# Operations\n## Read replicas: `DATABASE_REPLICA_URLS`\n### The request's path\n" +
        '## Figures\n## Figures\n```sh\n# not a heading\n```',
    );
    expect([...anchors]).toEqual([
      'operations',
      'read-replicas-database_replica_urls',
      'the-requests-path',
      'figures',
      'figures-1',
    ]);
  });
});

describe('the settings table of docs/operations.md', () => {
  const table = tableRows(section(readDocumentation('docs/operations.md'), '## Settings'));
  const documented = table.flatMap(([names = '']) =>
    [...names.matchAll(/`([A-Z][A-Z0-9_]*)`/g)].map((match) => match[1]!),
  );
  const inExample = [
    ...fs.readFileSync(path.join(repositoryRoot, '.env.example'), 'utf8').matchAll(/^#?\s*([A-Z][A-Z0-9_]*)=/gm),
  ].map((match) => match[1]!);

  it('names every setting of .env.example, and only those, once each', () => {
    expect(documented.length).toBeGreaterThan(40);
    expect(new Set(documented).size).toBe(documented.length);
    expect([...documented].sort()).toEqual([...new Set(inExample)].sort());
  });

  it('names only settings the server parses, and every one of them', () => {
    expect(documented.filter((name) => !settingNames.includes(name))).toEqual([]);
    // NODE_ENV is Node's own convention, not AgentMem's: the INTROSPECTION row says what it changes.
    expect(settingNames.filter((name) => name !== 'NODE_ENV' && !documented.includes(name))).toEqual([]);
  });
});

describe('the payload unions table of docs/api.md', () => {
  const errorInterface = schema.getType('Error');
  /** For each mutation: its union, and the union's members, payloads apart from errors. */
  const fromSchema = Object.fromEntries(
    Object.values(schema.getMutationType()!.getFields()).map((field) => {
      const type = getNamedType(field.type);
      const members = isUnionType(type) ? type.getTypes() : [type as GraphQLObjectType];
      const isError = (member: GraphQLObjectType) =>
        member.getInterfaces().some((implemented) => implemented === errorInterface);
      return [
        field.name,
        {
          union: type.name,
          payloads: members
            .filter((member) => !isError(member))
            .map((member) => member.name)
            .sort(),
          errors: members
            .filter(isError)
            .map((member) => member.name)
            .sort(),
        },
      ];
    }),
  );
  const names = (cell = '') => [...cell.matchAll(/`(\w+)`/g)].map((match) => match[1]!).sort();
  const listed = Object.fromEntries(
    tableRows(section(readDocumentation('docs/api.md'), '## Payload unions')).map(
      ([mutation, union, payloads, errors]) => [
        names(mutation)[0],
        { union: names(union)[0], payloads: names(payloads), errors: names(errors) },
      ],
    ),
  );

  it('lists every mutation with the union it answers and that union’s members', () => {
    expect(Object.keys(fromSchema).length).toBeGreaterThan(40);
    expect(listed).toEqual(fromSchema);
  });
});

/** One request of docs/first-hour.md: a document, its variables, and the payload the page says it answers. */
interface Step {
  operation: string;
  document: string;
  variables: Record<string, unknown> | undefined;
  expected: string | undefined;
  line: number;
}

function operationOf(document: string): OperationDefinitionNode {
  const operations = parse(document).definitions.filter(
    (definition): definition is OperationDefinitionNode => definition.kind === Kind.OPERATION_DEFINITION,
  );
  if (operations.length !== 1 || !operations[0]!.name)
    throw new Error(`a first-hour example must be one named operation:\n${document}`);
  return operations[0]!;
}

/**
 * The page's examples in order. A ```graphql block is a request; the ```json block after it, its
 * variables; a further ```json block sends the same document again with those. The prose after a
 * request names its payload: "Answers `AgentPayload`".
 */
function firstHourSteps(markdown: string): Step[] {
  const steps: Step[] = [];
  let previous: 'document' | 'variables' | 'other' = 'other';
  for (const part of markdownParts(markdown)) {
    const step = steps.at(-1);
    if (part.kind === 'prose') {
      const answers = /\bAnswers `(\w+)`/.exec(part.text);
      if (step && answers && step.expected === undefined) step.expected = answers[1];
    } else if (part.language === 'graphql') {
      steps.push({
        operation: operationOf(part.text).name!.value,
        document: part.text,
        variables: undefined,
        expected: undefined,
        line: part.line,
      });
      previous = 'document';
    } else if (part.language === 'json' && step && previous !== 'other') {
      const variables = JSON.parse(part.text) as Record<string, unknown>;
      if (previous === 'document') step.variables = variables;
      else steps.push({ ...step, variables, expected: undefined, line: part.line });
      previous = 'variables';
    } else {
      previous = 'other';
    }
  }
  return steps;
}

/** `value` with each "<Operation: path.to.value>" replaced by that value of the operation's last answer. */
function withAnswers(value: unknown, answers: Map<string, unknown>): unknown {
  if (typeof value === 'string') {
    const reference = /^<(\w+): ([\w.]+)>$/.exec(value);
    if (!reference) return value;
    const operation = reference[1]!;
    const at = reference[2]!;
    if (!answers.has(operation)) throw new Error(`${value}: no answer of ${operation} yet`);
    const found = at
      .split('.')
      .reduce<unknown>(
        (node, key) => (node !== null && typeof node === 'object' ? (node as Record<string, unknown>)[key] : undefined),
        answers.get(operation),
      );
    if (found === undefined) throw new Error(`${value}: the answer of ${operation} has nothing at ${at}`);
    return found;
  }
  if (Array.isArray(value)) return value.map((item) => withAnswers(item, answers));
  if (value !== null && typeof value === 'object')
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, withAnswers(item, answers)]));
  return value;
}

describe('docs/first-hour.md', () => {
  const steps = firstHourSteps(readDocumentation('docs/first-hour.md'));
  const answers = new Map<string, unknown>();
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp('docs_first_hour');
    // The demo key has every scope, as the one `npm start` prints: the trash needs admin.
    await app.seedDemo();
  });
  afterAll(async () => {
    await app?.close();
  });

  it('covers the core workflow: agent, conversation, recall, versions, trash, export and import', () => {
    const fields = steps.map(
      (step) =>
        `${operationOf(step.document).operation} ` +
        (operationOf(step.document).selectionSet.selections[0] as { name: { value: string } }).name.value,
    );
    for (const expected of [
      'mutation createAgent',
      'mutation appendMessages',
      'mutation createMemory',
      'query searchMemories',
      'mutation updateBlock',
      'mutation deleteAgent',
      'query agents',
      'mutation restoreAgent',
      'query exportAgent',
      'mutation importAgent',
    ]) {
      expect(fields).toContain(expected);
    }
    // The stale expectedVersion is sent too: the conflict is part of the lesson.
    expect(steps.filter((step) => step.expected === 'VersionConflictError')).toHaveLength(1);
  });

  it.each(steps.map((step, index) => [index + 1, step.operation, step.line, step] as const))(
    '%i. %s (line %i) answers as the page says',
    async (_index, _operation, _line, step) => {
      const operation = operationOf(step.document);
      const variables = withAnswers(step.variables ?? {}, answers) as Record<string, unknown>;
      const response = await app.graphqlUntyped(step.document, variables);
      expect({ status: response.status, errors: response.errors }).toEqual({ status: 200, errors: undefined });
      const data = response.data!;
      if (operation.operation === 'mutation') {
        expect(step.expected).toBeDefined();
        for (const value of Object.values(data))
          expect((value as { __typename?: string }).__typename).toBe(step.expected);
      } else {
        // A query step must find something: the memory recalled, the agent in the trash.
        expect(step.expected).toBeUndefined();
        for (const value of Object.values(data)) {
          expect(value).not.toBeNull();
          if (Array.isArray(value)) expect(value.length).toBeGreaterThan(0);
          const nodes = (value as { nodes?: unknown[] }).nodes;
          if (nodes) expect(nodes.length).toBeGreaterThan(0);
        }
      }
      answers.set(step.operation, data);
    },
  );
});
