import { getArgumentValues, type FieldNode, type GraphQLObjectType, type GraphQLResolveInfo } from 'graphql';
import { blockColumns } from '../blocks/columns';
import type { Context } from '../context';
import type { Agent, Block, Message, Tool } from '../generated/prisma/client';
import { messageColumns } from '../messages/columns';
import { MAX_PAGE_SIZE } from '../schema/pagination';
import { selectedColumns, selectionOf, type Selection } from '../schema/selection';
import { toolColumns } from '../tools/columns';
import { agentColumns } from './columns';

/**
 * The hot read of agent UIs: a page of agents with their blocks, tools and recent messages, in
 * ONE statement that PostgreSQL answers as JSON, reading only the columns the request selects
 * and printing timestamps itself. That statement is the batch of the three relation loaders
 * (src/agents/loaders.ts): it primes them. It serves a selection made only of Agent's columns and
 * those three relations with only their columns; anything else (counts, connections, a block's
 * user) goes the general way, through Prisma (src/agents/types.ts).
 */

type Pairs = Array<[string, string]>;

/** What one request reads of its agents: decided once per field, from the selection. */
export interface AgentReadPlan {
  agent: Pairs;
  blocks?: Pairs;
  tools?: Pairs;
  recentMessages?: { columns: Pairs; limit: number };
}

const relations = new Set(['blocks', 'tools', 'recentMessages']);

function recentMessagesLimit(nodes: FieldNode[], info: GraphQLResolveInfo): number | undefined {
  const field = (info.schema.getType('Agent') as GraphQLObjectType).getFields().recentMessages!;
  // One read for every page size asked: the largest; each field keeps the tail it asked for. A
  // size out of range is refused by the field itself, so it reads nothing here.
  const limits = nodes
    .map((node) => getArgumentValues(field, node, info.variableValues).limit)
    .filter((limit): limit is number => typeof limit === 'number' && limit >= 1 && limit <= MAX_PAGE_SIZE);
  return limits.length > 0 ? Math.max(...limits) : undefined;
}

/** The plan for `selection` (of Agent), or undefined when the general path must serve it. */
export function planAgentRead(selection: Selection, info: GraphQLResolveInfo): AgentReadPlan | undefined {
  const agent = selectedColumns(selection, agentColumns, relations);
  if (!agent) return undefined;
  const plan: AgentReadPlan = { agent };
  const blocks = selection.get('blocks');
  if (blocks) {
    plan.blocks = selectedColumns(selectionOf(blocks, 'Block', info), blockColumns);
    if (!plan.blocks) return undefined;
    // `blocks(label:)` picks from the agent's blocks by their label, selected or not.
    if (!plan.blocks.some(([field]) => field === 'label')) plan.blocks.push(['label', blockColumns.label!]);
  }
  const tools = selection.get('tools');
  if (tools) {
    plan.tools = selectedColumns(selectionOf(tools, 'Tool', info), toolColumns);
    if (!plan.tools) return undefined;
  }
  const messages = selection.get('recentMessages');
  if (messages) {
    const columns = selectedColumns(selectionOf(messages, 'Message', info), messageColumns);
    if (!columns) return undefined;
    const limit = recentMessagesLimit(messages, info);
    if (limit !== undefined) plan.recentMessages = { columns, limit };
  }
  return plan;
}

function jsonObject(pairs: Pairs): string {
  return `json_build_object(${pairs.map(([field, expression]) => `'${field}', ${expression}`).join(', ')})`;
}

// Each relation in the order and with the filters of its loader in src/agents/loaders.ts. Recent
// messages are read newest first through idx_messages_agent_created_at, with `seq` breaking ties
// of created_at (test/messages/recent-messages-plan.test.ts EXPLAINs it).
function relationColumns(plan: AgentReadPlan): string[] {
  const columns: string[] = [];
  if (plan.blocks) {
    columns.push(`(SELECT coalesce(json_agg(${jsonObject(plan.blocks)} ORDER BY ba.block_label, ba.block_id), '[]')
      FROM blocks_agents ba JOIN blocks b ON b.id = ba.block_id
      WHERE ba.agent_id = a.id AND NOT b.is_deleted) AS "blocks"`);
  }
  if (plan.tools) {
    columns.push(`(SELECT coalesce(json_agg(${jsonObject(plan.tools)} ORDER BY ta.tool_id), '[]')
      FROM tools_agents ta JOIN tools t ON t.id = ta.tool_id
      WHERE ta.agent_id = a.id AND NOT t.is_deleted) AS "tools"`);
  }
  if (plan.recentMessages) {
    columns.push(`(SELECT coalesce(json_agg(${jsonObject(plan.recentMessages.columns)} ORDER BY m.created_at, m.seq), '[]')
      FROM (SELECT * FROM messages r WHERE r.agent_id = a.id AND NOT r.is_deleted
            ORDER BY r.created_at DESC, r.seq DESC LIMIT ${plan.recentMessages.limit}) m) AS "recentMessages"`);
  }
  return columns;
}

export type AgentOrderColumn = 'createdAt' | 'updatedAt';

/** Which agents, in Prisma's terms: the pagination Pothos computed, the filters of `agents`. */
export interface AgentRowsQuery {
  id?: string;
  agentType?: string;
  order?: { field: AgentOrderColumn; direction: 'asc' | 'desc' };
  /** Prisma's cursor pagination: negative `take` pages backwards from the cursor. */
  take?: number;
  skip?: number;
  cursor?: { id?: string };
}

const orderColumns: Record<AgentOrderColumn, string> = { createdAt: 'created_at', updatedAt: 'updated_at' };

/** The one statement, as sent (exported for the test that EXPLAINs it). */
export function agentsStatement(plan: AgentReadPlan, query: AgentRowsQuery, organizationId: string): { text: string; values: unknown[] } {
  const values: unknown[] = [organizationId];
  const bind = (value: unknown) => `$${values.push(value)}`;
  const conditions = ['a.organization_id = $1', 'NOT a.is_deleted'];
  if (query.id !== undefined) conditions.push(`a.id = ${bind(query.id)}`);
  if (query.agentType !== undefined) conditions.push(`a.agent_type = ${bind(query.agentType)}`);

  let order = '';
  let page = '';
  if (query.order) {
    const column = orderColumns[query.order.field];
    const direction = query.order.direction === 'asc' ? 'ASC' : 'DESC';
    const take = query.take ?? 0;
    // Backwards: read in the opposite order from the cursor, then put the page back in order.
    const backwards = take < 0;
    const readDirection = backwards === (direction === 'ASC') ? 'DESC' : 'ASC';
    if (query.cursor?.id !== undefined) {
      // As Prisma does: the page starts at the cursor row itself, wherever it is (`skip` passes
      // over it), and a cursor naming no visible row gives an empty page.
      const from = readDirection === 'ASC' ? '>=' : '<=';
      conditions.push(`(a.${column}, a.id) ${from} (SELECT c.${column}, c.id FROM agents c WHERE c.id = ${bind(query.cursor.id)})`);
    }
    order = `ORDER BY a.${column} ${direction}, a.id ${direction}`;
    page = `ORDER BY a.${column} ${readDirection}, a.id ${readDirection}`;
    if (query.take !== undefined) page += ` LIMIT ${bind(Math.abs(take))}`;
    if (query.skip) page += ` OFFSET ${bind(query.skip)}`;
  }
  const columns = [...plan.agent.map(([field, expression]) => `${expression} AS "${field}"`), ...relationColumns(plan)];
  const text = `SELECT ${columns.join(', ')}
    FROM (SELECT * FROM agents a WHERE ${conditions.join(' AND ')} ${page}) a
    ${order}`;
  return { text, values };
}

/** A row of that statement: the selected columns, and the selected relations as JSON. */
type AgentRow = Agent & { blocks?: Block[]; tools?: Tool[]; recentMessages?: Message[] };

/** The agents `query` names, read as `plan` says, with their relations primed. */
export async function loadAgentRows(context: Context, plan: AgentReadPlan, query: AgentRowsQuery): Promise<Agent[]> {
  const { text, values } = agentsStatement(plan, query, context.caller.organizationId);
  const rows = await context.sql.query<AgentRow>(text, values);
  for (const row of rows) {
    context.loaders.agents.preload(row, {
      blocks: row.blocks,
      tools: row.tools,
      recentMessages: row.recentMessages && plan.recentMessages && { limit: plan.recentMessages.limit, messages: row.recentMessages },
    });
  }
  return rows;
}
