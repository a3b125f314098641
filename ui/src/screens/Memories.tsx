import { useState } from 'react';
import { type ApiError, errorsOf, payloadError, request } from '../api';
import { ErrorNote } from '../components/ErrorNote';
import { firstPage, type PageRequest, Pager } from '../components/Pager';
import { useLoad } from '../load';
import { DeleteMemoryMutation, MemoriesQuery } from '../operations';
import type { Session } from '../session';
import { when } from './Agents';

const PAGE = 10;

/** The agent's long-term memories, newest first, a page at a time; `refresh` changes on each live change. */
export function Memories({ agentId, session, refresh }: { agentId: string; session: Session; refresh: number }) {
  const [page, setPage] = useState<PageRequest>(firstPage(PAGE));
  const [errors, setErrors] = useState<ApiError[] | null>(null);
  const memories = useLoad(`${agentId}:${JSON.stringify(page)}:${refresh}`, () =>
    request(MemoriesQuery, { agentId, ...page }),
  );
  const remove = async (id: string) => {
    setErrors(null);
    try {
      const { deleteMemory } = await request(DeleteMemoryMutation, { id });
      const error = payloadError(deleteMemory);
      if (error) setErrors([error]);
      memories.reload();
    } catch (error) {
      setErrors(errorsOf(error));
    }
  };
  const connection = memories.data?.memories;
  return (
    <section aria-labelledby="memories-title">
      <h2 id="memories-title">Long-term memories</h2>
      <ErrorNote errors={memories.errors ?? errors} />
      {connection ? (
        <>
          <p className="muted">{connection.totalCount} memories, newest first.</p>
          <ul className="memories">
            {connection.nodes.map((memory) => (
              <li key={memory.id} data-testid="memory">
                <p>{memory.content}</p>
                <p className="muted">
                  {memory.memoryType.toLowerCase()} · scope {memory.scope} · level {memory.level} · importance{' '}
                  {memory.importance} · read {memory.accessCount} times · {when(memory.createdAt)}
                </p>
                {memory.metadata && Object.keys(memory.metadata as object).length > 0 ? (
                  <pre className="metadata">{JSON.stringify(memory.metadata)}</pre>
                ) : null}
                {session.canWrite ? (
                  <button type="button" onClick={() => void remove(memory.id)}>
                    Delete memory
                  </button>
                ) : null}
              </li>
            ))}
          </ul>
          <Pager current={page} label="Memories" pageInfo={connection.pageInfo} size={PAGE} onPage={setPage} />
        </>
      ) : memories.loading ? (
        <p>Loading…</p>
      ) : null}
    </section>
  );
}
