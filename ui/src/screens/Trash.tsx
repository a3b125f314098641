import { useState } from 'react';
import { type ApiError, errorsOf, payloadError, request } from '../api';
import { ErrorNote } from '../components/ErrorNote';
import { Link } from '../components/Link';
import { firstPage, type PageRequest, Pager } from '../components/Pager';
import { useLoad } from '../load';
import {
  PurgeAgentMutation,
  PurgeMemoryMutation,
  RestoreAgentMutation,
  RestoreMemoryMutation,
  TrashAgentsQuery,
  TrashMemoriesQuery,
} from '../operations';
import type { Session } from '../session';
import { when } from './Agents';

const PAGE = 20;

type Outcome = { __typename?: string; code?: string; field?: readonly string[] | null; message?: string };

function useAct(reload: () => void) {
  const [errors, setErrors] = useState<ApiError[] | null>(null);
  const act = async (run: () => Promise<Outcome>) => {
    setErrors(null);
    try {
      const error = payloadError(await run());
      if (error) setErrors([error]);
    } catch (error) {
      setErrors(errorsOf(error));
    }
    reload();
  };
  return { errors, act };
}

function DeletedMemories() {
  const [page, setPage] = useState<PageRequest>(firstPage(PAGE));
  const rows = useLoad(JSON.stringify(page), () => request(TrashMemoriesQuery, page));
  const { errors, act } = useAct(rows.reload);
  const connection = rows.data?.memories;
  return (
    <section aria-labelledby="trash-memories">
      <h2 id="trash-memories">Memories</h2>
      <ErrorNote errors={rows.errors ?? errors} />
      {connection ? (
        <>
          <p className="muted">{connection.totalCount} deleted memories.</p>
          <table>
            <thead>
              <tr>
                <th scope="col">Memory</th>
                <th scope="col">Agent</th>
                <th scope="col">Deleted by</th>
                <th scope="col">When</th>
                <th scope="col">Actions</th>
              </tr>
            </thead>
            <tbody>
              {connection.nodes.map((memory) => (
                <tr key={memory.id} data-testid="trashed-memory">
                  <td>{memory.content}</td>
                  <td>
                    <Link to={{ screen: 'agent', id: memory.agentId }}>{memory.agentId}</Link>
                  </td>
                  <td>{memory.deletedBy?.name ?? '—'}</td>
                  <td>{when(memory.deletedAt)}</td>
                  <td className="actions">
                    <button
                      type="button"
                      onClick={() =>
                        void act(async () => (await request(RestoreMemoryMutation, { id: memory.id })).restoreMemory)
                      }
                    >
                      Restore
                    </button>
                    <button
                      type="button"
                      className="danger"
                      onClick={() =>
                        window.confirm('Delete this memory for good? This cannot be undone.') &&
                        void act(async () => (await request(PurgeMemoryMutation, { id: memory.id })).purgeMemory)
                      }
                    >
                      Purge
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
          <Pager current={page} label="Deleted memories" pageInfo={connection.pageInfo} size={PAGE} onPage={setPage} />
        </>
      ) : null}
    </section>
  );
}

function DeletedAgents() {
  const [page, setPage] = useState<PageRequest>(firstPage(PAGE));
  const rows = useLoad(JSON.stringify(page), () => request(TrashAgentsQuery, page));
  const { errors, act } = useAct(rows.reload);
  const connection = rows.data?.agents;
  return (
    <section aria-labelledby="trash-agents">
      <h2 id="trash-agents">Agents</h2>
      <ErrorNote errors={rows.errors ?? errors} />
      {connection ? (
        <>
          <p className="muted">{connection.totalCount} deleted agents.</p>
          <table>
            <thead>
              <tr>
                <th scope="col">Agent</th>
                <th scope="col">Deleted by</th>
                <th scope="col">When</th>
                <th scope="col">Actions</th>
              </tr>
            </thead>
            <tbody>
              {connection.nodes.map((agent) => (
                <tr key={agent.id}>
                  <td>{agent.name ?? agent.id}</td>
                  <td>{agent.deletedBy?.name ?? '—'}</td>
                  <td>{when(agent.deletedAt)}</td>
                  <td className="actions">
                    <button
                      type="button"
                      onClick={() =>
                        void act(async () => (await request(RestoreAgentMutation, { id: agent.id })).restoreAgent)
                      }
                    >
                      Restore
                    </button>
                    <button
                      type="button"
                      className="danger"
                      onClick={() =>
                        window.confirm('Delete this agent and everything of it for good? This cannot be undone.') &&
                        void act(async () => (await request(PurgeAgentMutation, { id: agent.id })).purgeAgent)
                      }
                    >
                      Purge
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
          <Pager current={page} label="Deleted agents" pageInfo={connection.pageInfo} size={PAGE} onPage={setPage} />
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
        <h1>Trash</h1>
        <p>
          The trash (deleted rows, restore and purge) is for admin keys only: this key has{' '}
          {session.scopes.join(', ').toLowerCase()}.
        </p>
      </main>
    );
  return (
    <main>
      <h1>Trash</h1>
      <p className="muted">Deleted rows wait here until restored, or purged for good.</p>
      <DeletedMemories />
      <DeletedAgents />
    </main>
  );
}
