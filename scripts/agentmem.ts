import 'dotenv/config';
import { readFileSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { type AgentFileClientSettings, loadAgentFileClientSettings } from '../src/config/settings';
import { mcpUrlBeside, serveStdioBridge } from '../src/mcp/stdio';

const usage = [
  'usage: npx --no agentmem export <agent id> [--output agent.json]   (or > agent.json)',
  '       npx --no agentmem import < agent.json',
  "       npx --no agentmem mcp   (MCP over stdin/stdout, relayed to the server's /mcp)",
  '(npm run agent:export -- <agent id> / npm run agent:import do the same)',
].join('\n');

/**
 * The `agentmem` command (bin/agentmem.js, `npm run agent:export` / `agent:import`): the agent
 * file (exportAgent / importAgent) from the command line. It talks to a running server over HTTP
 * (AGENTMEM_URL, else 127.0.0.1 on PORT) with an API key (AGENTMEM_API_KEY), so it acts on
 * whichever database and organization that server and key serve, with the same checks, scopes
 * and row-level security as any client; the embedded database, which one process holds at a
 * time, needs nothing more.
 */

/** Why the server could not be reached, and what a person can do about it. */
function unreachable(settings: AgentFileClientSettings, error: unknown): Error {
  const cause =
    error instanceof Error && error.cause instanceof Error
      ? error.cause.message
      : error instanceof Error
        ? error.message
        : String(error);
  const from = {
    AGENTMEM_URL: 'from AGENTMEM_URL',
    PORT: `from PORT=${new URL(settings.url).port}, as AGENTMEM_URL is not set`,
    default: 'the default, as neither AGENTMEM_URL nor PORT is set',
  }[settings.urlFrom];
  return new Error(
    `cannot reach the AgentMem server at ${settings.url} (${from}): ${cause}.\n` +
      'Start it with `npm start` (in another terminal), or set AGENTMEM_URL to the GraphQL endpoint of a ' +
      'running server.',
  );
}

async function graphqlRequest(
  settings: AgentFileClientSettings,
  query: string,
  variables: Record<string, unknown>,
): Promise<Record<string, unknown>> {
  const response = await fetch(settings.url, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      accept: 'application/graphql-response+json',
      authorization: `Bearer ${settings.apiKey}`,
    },
    body: JSON.stringify({ query, variables }),
  }).catch((error: unknown) => {
    throw unreachable(settings, error);
  });
  const body = (await response.json().catch(() => ({}))) as {
    data?: Record<string, unknown>;
    errors?: Array<{ message: string; extensions?: { code?: string } }>;
  };
  const error = body.errors?.[0];
  if (error || !response.ok || !body.data) {
    throw new Error(
      `${settings.url} answered ${response.status}` +
        (error ? `: ${error.extensions?.code ?? 'ERROR'}: ${error.message}` : ''),
    );
  }
  return body.data;
}

/** Writes the file only once the export succeeded, so a failure leaves no empty or partial file behind. */
async function exportCommand(settings: AgentFileClientSettings, id: string, output: string | undefined): Promise<void> {
  const data = await graphqlRequest(settings, 'query ExportAgentFile($id: ID!) { exportAgent(id: $id) }', { id });
  if (data.exportAgent == null) throw new Error(`no agent ${JSON.stringify(id)} in the organization of this API key`);
  const document = `${JSON.stringify(data.exportAgent, null, 2)}\n`;
  if (output === undefined) {
    process.stdout.write(document);
    return;
  }
  writeFileSync(output, document);
  process.stderr.write(`exported agent ${id} to ${output}\n`);
}

/**
 * The document read from standard input. `npm run agent:export > agent.json` without `--silent`
 * puts npm's banner (lines starting with "> ") before the JSON: those lines are skipped, so the
 * two commands work as written.
 */
function readDocument(text: string): unknown {
  const lines = text.split('\n');
  let first = 0;
  while (first < lines.length && (lines[first]!.trim() === '' || lines[first]!.startsWith('> '))) first += 1;
  try {
    return JSON.parse(lines.slice(first).join('\n'));
  } catch (error) {
    throw new Error(
      `standard input is not an agent file (JSON): ${error instanceof Error ? error.message : String(error)}`,
    );
  }
}

async function importCommand(settings: AgentFileClientSettings): Promise<void> {
  const document = readDocument(readFileSync(0, 'utf8'));
  const data = await graphqlRequest(
    settings,
    `mutation ImportAgentFile($document: JSON!) {
      importAgent(document: $document) {
        __typename
        ... on AgentPayload { agent { id name } }
        ... on Error { code field message }
      }
    }`,
    { document },
  );
  const result = data.importAgent as {
    __typename: string;
    agent?: { id: string; name: string | null };
    code?: string;
    field?: string[] | null;
    message?: string;
  };
  if (!result.agent)
    throw new Error(`refused: ${result.code}${result.field ? ` at ${result.field.join('.')}` : ''}: ${result.message}`);
  process.stdout.write(`${result.agent.id}\n`);
  process.stderr.write(`imported agent ${JSON.stringify(result.agent.name)} as ${result.agent.id}\n`);
}

const options = { output: { type: 'string' } } as const;

function parseCommandLine(
  args: string[],
): { command: 'export'; id: string; output: string | undefined } | { command: 'import' } | { command: 'mcp' } {
  const parsed = (() => {
    try {
      return parseArgs({ args, allowPositionals: true, options });
    } catch (error) {
      // An unknown option or one without its value: node's message, then how to call the command.
      throw new Error(`${error instanceof Error ? error.message : String(error)}\n${usage}`);
    }
  })();
  const [command, id, ...rest] = parsed.positionals;
  if (command === 'export' && id !== undefined && rest.length === 0)
    return { command, id, output: parsed.values.output };
  if ((command === 'import' || command === 'mcp') && id === undefined && parsed.values.output === undefined)
    return { command };
  throw new Error(usage);
}

async function main(): Promise<void> {
  const commandLine = parseCommandLine(process.argv.slice(2));
  const settings = loadAgentFileClientSettings();
  if (commandLine.command === 'export') return exportCommand(settings, commandLine.id, commandLine.output);
  if (commandLine.command === 'mcp') {
    // Standard output is the protocol's: every word of the command's own goes to standard error.
    const url = mcpUrlBeside(settings.url);
    process.stderr.write(`agentmem mcp: serving MCP on stdin/stdout, relayed to ${url.href}\n`);
    await serveStdioBridge({
      url,
      graphqlUrl: settings.url,
      apiKey: settings.apiKey,
      report: (message) => process.stderr.write(`agentmem mcp: ${message}\n`),
    });
    // Standard input has ended: the client is gone, whatever connection is still open.
    process.exit(0);
  }
  return importCommand(settings);
}

main().catch((error: unknown) => {
  process.stderr.write(`agentmem: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
