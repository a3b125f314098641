import { useState } from 'react';
import { request } from '../api';
import { ErrorNote } from '../components/ErrorNote';
import { firstPage, type PageRequest, Pager } from '../components/Pager';
import { useLoad } from '../load';
import { AgentBlocksQuery, AgentToolsQuery } from '../operations';
import type { Session } from '../session';
import { BlockCard } from './Blocks';

const BLOCKS_PAGE = 10;
const TOOLS_PAGE = 20;

/** The agent's core memory blocks, oldest first, a page at a time by the API's cursors. */
export function AgentBlocks({ agentId, session }: { agentId: string; session: Session }) {
  const [page, setPage] = useState<PageRequest>(firstPage(BLOCKS_PAGE));
  const blocks = useLoad(`${agentId}:${JSON.stringify(page)}`, () => request(AgentBlocksQuery, { agentId, ...page }));
  const connection = blocks.data?.blocks;
  return (
    <section aria-labelledby="blocks-title">
      <h2 id="blocks-title">Core memory</h2>
      <ErrorNote errors={blocks.errors} />
      {connection ? (
        <>
          {connection.totalCount === 0 ? <p>No blocks.</p> : null}
          {connection.nodes.map((block) => (
            <BlockCard key={block.id} initial={block} session={session} />
          ))}
          {connection.totalCount > BLOCKS_PAGE ? (
            <Pager current={page} label="Blocks" pageInfo={connection.pageInfo} size={BLOCKS_PAGE} onPage={setPage} />
          ) : null}
        </>
      ) : blocks.loading ? (
        <p>Loading…</p>
      ) : null}
    </section>
  );
}

/** The tools the agent may call, a page at a time. */
export function AgentTools({ agentId }: { agentId: string }) {
  const [page, setPage] = useState<PageRequest>(firstPage(TOOLS_PAGE));
  const tools = useLoad(`${agentId}:${JSON.stringify(page)}`, () => request(AgentToolsQuery, { agentId, ...page }));
  const connection = tools.data?.tools;
  return (
    <section aria-labelledby="tools-title">
      <h2 id="tools-title">Tools</h2>
      <ErrorNote errors={tools.errors} />
      {connection ? (
        <>
          <p className="muted">
            {connection.totalCount} tool{connection.totalCount === 1 ? '' : 's'}.
          </p>
          <ul className="tools">
            {connection.nodes.map((tool) => (
              <li key={tool.id} data-testid="tool">
                <code>{tool.name}</code>
                {tool.description ? ` — ${tool.description}` : ''}
                {Array.isArray(tool.tags) && tool.tags.length > 0 ? (
                  <span className="muted"> ({tool.tags.map(String).join(', ')})</span>
                ) : null}
              </li>
            ))}
          </ul>
          {connection.totalCount > TOOLS_PAGE ? (
            <Pager current={page} label="Tools" pageInfo={connection.pageInfo} size={TOOLS_PAGE} onPage={setPage} />
          ) : null}
        </>
      ) : tools.loading ? (
        <p>Loading…</p>
      ) : null}
    </section>
  );
}
