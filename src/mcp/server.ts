import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import {
  CallToolRequestSchema,
  type CallToolResult,
  ErrorCode,
  ListResourcesRequestSchema,
  ListResourceTemplatesRequestSchema,
  ListToolsRequestSchema,
  McpError,
  ReadResourceRequestSchema,
  SubscribeRequestSchema,
  type Tool,
  UnsubscribeRequestSchema,
} from '@modelcontextprotocol/sdk/types.js';
import { AjvJsonSchemaValidator } from '@modelcontextprotocol/sdk/validation/ajv-provider.js';
import { z } from 'zod';
import type { Scope } from '../auth/caller';
import { grantedScopes } from '../auth/scopes';
import type { Logger } from '../logger';
import type { RunGraphql } from './graphql';
import { BLOCK_URI_TEMPLATE, blockUri, MEMORIES_URI_TEMPLATE, memoriesUri, readResource } from './resources';
import { TOOLS, type ToolDefinition, ToolError, type ToolFailure } from './tools';

/**
 * The MCP server of one caller: the tools its key's scopes allow, and the core-memory blocks of
 * its organization's agents as resources. Made per request over Streamable HTTP (stateless,
 * src/mcp/http.ts); every tool and resource reads and writes through `graphql`.
 */

const SERVER_INFO = { name: 'agentmem', title: 'AgentMem', version: '0.1.0' };

const INSTRUCTIONS =
  'AgentMem keeps your long-term memory and your core memory. Start with list_agents to find your agent id, ' +
  'then agent_context for your core memory and recent messages. Store lasting facts with remember, find them ' +
  'with recall, correct them with update_memory or remove them with forget. Edit core memory with ' +
  'core_memory_replace and core_memory_append, passing the version you read as expectedVersion.';

/**
 * The JSON Schema validator of every server (the SDK's Server validates elicitation answers with
 * it, which AgentMem never asks for). Shared: the SDK's default makes a new Ajv instance per
 * Server, and a server is made per request (src/mcp/http.ts): that was a third of /mcp's CPU.
 */
const JSON_SCHEMA_VALIDATOR = new AjvJsonSchemaValidator();

/** JSON Schema (draft 7, which every MCP client validates) of a zod object, without its $schema key. */
function jsonSchemaOf(schema: z.ZodType, io: 'input' | 'output'): Tool['inputSchema'] {
  const { $schema: _ignored, ...rest } = z.toJSONSchema(schema, { target: 'draft-7', io }) as Record<string, unknown>;
  return rest as Tool['inputSchema'];
}

/** What tools/list says of each tool: worked out once, shared by every request. */
const DESCRIBED = new Map<string, { definition: ToolDefinition; listed: Tool }>(
  TOOLS.map((definition) => [
    definition.name,
    {
      definition,
      listed: {
        name: definition.name,
        title: definition.title,
        description: `${definition.description} Needs an API key with the ${definition.scope} scope.`,
        inputSchema: jsonSchemaOf(definition.input, 'input'),
        outputSchema: jsonSchemaOf(definition.output, 'output'),
        annotations: { title: definition.title, openWorldHint: false, ...definition.annotations },
      },
    },
  ]),
);

/**
 * A tool error: isError, its one text content the JSON {"error": {code, field, message}}. Not as
 * structuredContent, which clients validate against the tool's outputSchema (the SDK's Client
 * does so even when isError is set). Keys in the order of the SDK's CallToolResultSchema, whose
 * parse the SDK's Server runs on every result: the direct path of src/mcp/http.ts, which skips
 * that parse, then writes the same bytes.
 */
function failed(failure: ToolFailure): CallToolResult {
  return { content: [{ type: 'text', text: JSON.stringify({ error: failure }) }], isError: true };
}

/** The first problem zod found, as AgentMem's VALIDATION error naming the argument. */
function invalidArguments(error: z.ZodError): ToolFailure {
  const [issue] = error.issues;
  const field = issue ? issue.path.map(String) : [];
  const where = field.length > 0 ? field.join('.') : 'arguments';
  return {
    code: 'VALIDATION',
    field: field.length > 0 ? field : null,
    message: `${where}: ${issue?.message ?? 'invalid arguments'}`,
  };
}

async function callTool(
  definition: ToolDefinition,
  args: Record<string, unknown>,
  graphql: RunGraphql,
  logger: Logger | undefined,
): Promise<CallToolResult> {
  const parsed = definition.input.safeParse(args);
  if (!parsed.success) return failed(invalidArguments(parsed.error));
  try {
    const output = (await definition.run(parsed.data, graphql)) as Record<string, unknown>;
    return { content: [{ type: 'text', text: JSON.stringify(output) }], structuredContent: output };
  } catch (error) {
    if (error instanceof ToolError) return failed(error.failure);
    // A bug, or the server out of reach: a tool error all the same, its details in the log only.
    logger?.error({ err: error, tool: definition.name }, 'MCP tool failed unexpectedly');
    return failed({
      code: 'INTERNAL',
      field: null,
      message: 'the tool failed unexpectedly; the server log has the details',
    });
  }
}

/** Whether a tools/call names a tool of this server (any caller's: scopes are checked by the call). */
export const isTool = (name: string): boolean => DESCRIBED.has(name);

/**
 * A tools/call of a tool that exists (isTool): a tool error if the key lacks its scope, else the
 * tool's result or its tool error. Shared by the SDK's Server below and by the direct JSON path of
 * src/mcp/http.ts, so both answer alike.
 */
export function callNamedTool(
  name: string,
  args: Record<string, unknown>,
  scopes: readonly Scope[],
  graphql: RunGraphql,
  logger: Logger | undefined,
): Promise<CallToolResult> | CallToolResult {
  const { definition } = DESCRIBED.get(name)!;
  if (!grantedScopes(scopes)[definition.scope]) {
    return failed({
      code: 'FORBIDDEN',
      field: null,
      message:
        `the tool ${definition.name} needs an API key with the ${definition.scope} scope; this key has ` +
        `${scopes.length > 0 ? scopes.join(', ') : 'no scope'}`,
    });
  }
  return callTool(definition, args, graphql, logger);
}

/** What a request over Streamable HTTP has of a session (src/mcp/sessions.ts). */
export interface RequestSession {
  /** Sessions are kept: resources.subscribe is in the capabilities. */
  offered: boolean;
  /** The session the request names, checked as its key's. */
  current?: { subscribe(uri: string): Promise<void>; unsubscribe(uri: string): Promise<void> };
}

export function createMcpServer(
  graphql: RunGraphql,
  scopes: readonly Scope[],
  logger?: Logger,
  session: RequestSession = { offered: false },
): Server {
  const granted = grantedScopes(scopes);
  const server = new Server(SERVER_INFO, {
    capabilities: { tools: {}, resources: session.offered ? { subscribe: true } : {} },
    instructions: INSTRUCTIONS,
    jsonSchemaValidator: JSON_SCHEMA_VALIDATOR,
  });

  server.setRequestHandler(ListToolsRequestSchema, () => ({
    tools: [...DESCRIBED.values()].filter(({ definition }) => granted[definition.scope]).map(({ listed }) => listed),
  }));

  server.setRequestHandler(CallToolRequestSchema, (request) => {
    const { name } = request.params;
    if (!isTool(name)) throw new McpError(ErrorCode.InvalidParams, `no tool named ${JSON.stringify(name)}`);
    return callNamedTool(name, request.params.arguments ?? {}, scopes, graphql, logger);
  });

  server.setRequestHandler(ListResourceTemplatesRequestSchema, () => ({
    resourceTemplates: [
      {
        uriTemplate: BLOCK_URI_TEMPLATE,
        name: 'core-memory-block',
        title: 'Core memory block',
        description: "One block of an agent's core memory (persona, human, …): its current value.",
        mimeType: 'text/plain',
      },
      {
        uriTemplate: MEMORIES_URI_TEMPLATE,
        name: 'memories',
        title: 'Long-term memories',
        description:
          "An agent's newest long-term memories (JSON); subscribed, it tells of every change to any of its memories. " +
          'Use the recall tool to search them all.',
        mimeType: 'application/json',
      },
    ],
  }));

  server.setRequestHandler(ListResourcesRequestSchema, async () => {
    const result = await graphql({
      query: `query McpBlockResources {
        agents(first: 100) { nodes { id name blocks { label description } } }
      }`,
    });
    const agents = (result.data?.agents as { nodes: AgentBlocks[] } | undefined)?.nodes;
    if (!agents) throw new McpError(ErrorCode.InternalError, result.errors?.[0]?.message ?? 'no agents');
    return {
      resources: agents.flatMap((agent) => [
        ...agent.blocks.map((block) => ({
          uri: blockUri(agent.id, block.label),
          name: `${agent.name ?? agent.id}/${block.label}`,
          title: `${agent.name ?? agent.id}: ${block.label}`,
          ...(block.description && { description: block.description }),
          mimeType: 'text/plain',
        })),
        {
          uri: memoriesUri(agent.id),
          name: `${agent.name ?? agent.id}/memories`,
          title: `${agent.name ?? agent.id}: long-term memories`,
          description: 'The newest long-term memories of the agent, as JSON.',
          mimeType: 'application/json',
        },
      ]),
    };
  });

  server.setRequestHandler(ReadResourceRequestSchema, (request) => readResource(graphql, request.params.uri));

  if (session.offered) {
    const { current } = session;
    const needsSession = () =>
      new McpError(
        ErrorCode.InvalidRequest,
        'resources/subscribe needs a session: send the Mcp-Session-Id header that initialize answered with, ' +
          'and open its stream with GET /mcp',
      );
    server.setRequestHandler(SubscribeRequestSchema, async (request) => {
      if (!current) throw needsSession();
      // Only what the key may read: an unknown or foreign agent is the same "not found".
      await readResource(graphql, request.params.uri);
      await current.subscribe(request.params.uri);
      return {};
    });
    server.setRequestHandler(UnsubscribeRequestSchema, async (request) => {
      if (!current) throw needsSession();
      await current.unsubscribe(request.params.uri);
      return {};
    });
  }

  return server;
}

interface AgentBlocks {
  id: string;
  name: string | null;
  blocks: Array<{ label: string; description: string | null }>;
}
