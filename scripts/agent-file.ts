import 'dotenv/config';
import { readFileSync } from 'node:fs';
import { loadAgentFileClientSettings, type AgentFileClientSettings } from '../src/config/settings';

const usage = 'usage: npm run agent:export -- <agent id> > agent.json  |  npm run agent:import < agent.json';

/**
 * `npm run agent:export` / `npm run agent:import`: the agent file (exportAgent / importAgent) from
 * the command line. They talk to a running server over HTTP (AGENTMEM_URL) with an API key
 * (AGENTMEM_API_KEY), so they act on whichever database and organization that server and key
 * serve, with the same checks, scopes and row-level security as any client; the embedded
 * database, which one process holds at a time, needs nothing more.
 */
async function graphqlRequest(settings: AgentFileClientSettings, query: string, variables: Record<string, unknown>): Promise<Record<string, unknown>> {
  const response = await fetch(settings.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json', authorization: `Bearer ${settings.apiKey}` },
    body: JSON.stringify({ query, variables }),
  });
  const body = (await response.json().catch(() => ({}))) as { data?: Record<string, unknown>; errors?: Array<{ message: string; extensions?: { code?: string } }> };
  const error = body.errors?.[0];
  if (error || !response.ok || !body.data) {
    throw new Error(`${settings.url} ` +
      `answered ${response.status}${error ? `: ${error.extensions?.code ?? 'ERROR'}: ${error.message}` : ''}`);
  }
  return body.data;
}

async function exportCommand(settings: AgentFileClientSettings, id: string | undefined): Promise<void> {
  if (!id) throw new Error(usage);
  const data = await graphqlRequest(settings, 'query ExportAgentFile($id: ID!) { exportAgent(id: $id) }', { id });
  if (data.exportAgent == null) throw new Error(`no agent ${JSON.stringify(id)} in the organization of this API key`);
  process.stdout.write(`${JSON.stringify(data.exportAgent, null, 2)}\n`);
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
    throw new Error(`standard input is not an agent file (JSON): ${error instanceof Error ? error.message : String(error)}`);
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
  const result = data.importAgent as { __typename: string; agent?: { id: string; name: string | null }; code?: string; field?: string[] | null; message?: string };
  if (!result.agent) throw new Error(`refused: ${result.code}${result.field ? ` at ${result.field.join('.')}` : ''}: ${result.message}`);
  process.stdout.write(`${result.agent.id}\n`);
  process.stderr.write(`imported agent ${JSON.stringify(result.agent.name)} as ${result.agent.id}\n`);
}

async function main(): Promise<void> {
  const [command, argument] = process.argv.slice(2);
  const settings = loadAgentFileClientSettings();
  if (command === 'export') return exportCommand(settings, argument);
  if (command === 'import') return importCommand(settings);
  throw new Error(usage);
}

main().catch((error: unknown) => {
  process.stderr.write(`agentmem: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
