import { type ReactNode, useState } from 'react';
import { type ApiError, errorsOf, payloadError, request } from '../api';
import { ErrorNote } from '../components/ErrorNote';
import { Link } from '../components/Link';
import { firstPage, type PageInfo, type PageRequest, Pager } from '../components/Pager';
import { ScreenTitle } from '../components/ScreenTitle';
import { useLoad } from '../load';
import {
  PurgeAgentMutation,
  PurgeBlockMutation,
  PurgeMemoryMutation,
  PurgeMessageMutation,
  PurgeToolMutation,
  RestoreAgentMutation,
  RestoreBlockMutation,
  RestoreMemoryMutation,
  RestoreMessageMutation,
  RestoreToolMutation,
  TrashAgentsQuery,
  TrashBlocksQuery,
  TrashMemoriesQuery,
  TrashMessagesQuery,
  TrashToolsQuery,
} from '../operations';
import type { Session } from '../session';
import { when } from './Agents';

const PAGE = 20;

type Outcome = { __typename?: string; code?: string; field?: readonly string[] | null; message?: string };

interface DeletedRow {
  id: string;
  what: ReactNode;
  deletedAt?: string | null;
  deletedBy?: { name: string } | null;
}

interface DeletedPage {
  totalCount: number;
  pageInfo: PageInfo;
  rows: DeletedRow[];
}

/** One kind of deleted row, a page at a time: who deleted each and when; restore, purge after a confirmation. */
function DeletedRows({
  kind,
  title,
  noun,
  load,
  restore,
  purge,
}: {
  kind: string;
  title: string;
  /** One of them, for the column's head ("Memories" is not "Memorie" + s). */
  noun: string;
  load(page: PageRequest): Promise<DeletedPage>;
  restore(id: string): Promise<Outcome>;
  purge(id: string): Promise<Outcome>;
}) {
  const [page, setPage] = useState<PageRequest>(firstPage(PAGE));
  const rows = useLoad(`${kind}:${JSON.stringify(page)}`, () => load(page));
  const [errors, setErrors] = useState<ApiError[] | null>(null);
  const act = async (run: () => Promise<Outcome>) => {
    setErrors(null);
    try {
      const error = payloadError(await run());
      if (error) setErrors([error]);
    } catch (error) {
      setErrors(errorsOf(error));
    }
    rows.reload();
  };
  const data = rows.data;
  return (
    <section aria-labelledby={`trash-${kind}`}>
      <h2 id={`trash-${kind}`}>{title}</h2>
      <ErrorNote errors={rows.errors ?? errors} />
      {data ? (
        <>
          <p className="muted">
            {data.totalCount} deleted {title.toLowerCase()}.
          </p>
          {data.rows.length > 0 ? (
            <table>
              <thead>
                <tr>
                  <th scope="col">{noun}</th>
                  <th scope="col">Deleted by</th>
                  <th scope="col">When</th>
                  <th scope="col">Actions</th>
                </tr>
              </thead>
              <tbody>
                {data.rows.map((row) => (
                  <tr key={row.id} data-testid={`trashed-${kind}`}>
                    <td>{row.what}</td>
                    <td>{row.deletedBy?.name ?? '—'}</td>
                    <td>{row.deletedAt ? <time dateTime={row.deletedAt}>{when(row.deletedAt)}</time> : '—'}</td>
                    <td className="actions">
                      <button type="button" onClick={() => void act(() => restore(row.id))}>
                        Restore
                      </button>
                      <button
                        type="button"
                        className="danger"
                        onClick={() =>
                          window.confirm(
                            'Delete this for good, with everything that depends on it? This cannot be undone.',
                          ) && void act(() => purge(row.id))
                        }
                      >
                        Purge
                      </button>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          ) : null}
          <Pager
            current={page}
            label={`Deleted ${title.toLowerCase()}`}
            pageInfo={data.pageInfo}
            size={PAGE}
            onPage={setPage}
          />
        </>
      ) : null}
    </section>
  );
}

/** Soft-deleted rows, who deleted them and when; restore and purge. The API lists the trash to admin keys only. */
export function TrashScreen({ session }: { session: Session }) {
  if (!session.isAdmin)
    return (
      <main>
        <ScreenTitle>Trash</ScreenTitle>
        <p>
          The trash (deleted rows, restore and purge) is for admin keys only: this key has{' '}
          {session.scopes.join(', ').toLowerCase()}.
        </p>
      </main>
    );
  return (
    <main>
      <ScreenTitle>Trash</ScreenTitle>
      <p className="muted">Deleted rows wait here until restored, or purged for good.</p>
      <DeletedRows
        kind="memory"
        title="Memories"
        noun="Memory"
        load={async (page) => {
          const { memories } = await request(TrashMemoriesQuery, page);
          return {
            ...memories,
            rows: memories.nodes.map((memory) => ({
              ...memory,
              what: (
                <>
                  {memory.content}
                  <div className="muted">
                    of <Link to={{ screen: 'agent', id: memory.agentId }}>{memory.agentId}</Link>
                  </div>
                </>
              ),
            })),
          };
        }}
        restore={async (id) => (await request(RestoreMemoryMutation, { id })).restoreMemory}
        purge={async (id) => (await request(PurgeMemoryMutation, { id })).purgeMemory}
      />
      <DeletedRows
        kind="message"
        title="Messages"
        noun="Message"
        load={async (page) => {
          const { messages } = await request(TrashMessagesQuery, page);
          return {
            ...messages,
            rows: messages.nodes.map((message) => ({
              ...message,
              what: (
                <>
                  <strong>{message.role.toLowerCase()}</strong>: {message.text ?? '(no text)'}
                  <div className="muted">
                    of <Link to={{ screen: 'agent', id: message.agentId }}>{message.agentId}</Link>
                  </div>
                </>
              ),
            })),
          };
        }}
        restore={async (id) => (await request(RestoreMessageMutation, { id })).restoreMessage}
        purge={async (id) => (await request(PurgeMessageMutation, { id })).purgeMessage}
      />
      <DeletedRows
        kind="agent"
        title="Agents"
        noun="Agent"
        load={async (page) => {
          const { agents } = await request(TrashAgentsQuery, page);
          return { ...agents, rows: agents.nodes.map((agent) => ({ ...agent, what: agent.name ?? agent.id })) };
        }}
        restore={async (id) => (await request(RestoreAgentMutation, { id })).restoreAgent}
        purge={async (id) => (await request(PurgeAgentMutation, { id })).purgeAgent}
      />
      <DeletedRows
        kind="block"
        title="Blocks"
        noun="Block"
        load={async (page) => {
          const { blocks } = await request(TrashBlocksQuery, page);
          return {
            ...blocks,
            rows: blocks.nodes.map((block) => ({
              ...block,
              what: (
                <>
                  <strong>{block.label}</strong>: {block.value}
                </>
              ),
            })),
          };
        }}
        restore={async (id) => (await request(RestoreBlockMutation, { id })).restoreBlock}
        purge={async (id) => (await request(PurgeBlockMutation, { id })).purgeBlock}
      />
      <DeletedRows
        kind="tool"
        title="Tools"
        noun="Tool"
        load={async (page) => {
          const { tools } = await request(TrashToolsQuery, page);
          return { ...tools, rows: tools.nodes.map((tool) => ({ ...tool, what: <code>{tool.name}</code> })) };
        }}
        restore={async (id) => (await request(RestoreToolMutation, { id })).restoreTool}
        purge={async (id) => (await request(PurgeToolMutation, { id })).purgeTool}
      />
    </main>
  );
}
