import { type ChangeEvent, type FormEvent, useEffect, useState } from 'react';
import { type ApiError, errorsOf, payloadError, request } from '../api';
import { ErrorNote } from '../components/ErrorNote';
import { Link } from '../components/Link';
import { firstPage, type PageRequest, Pager } from '../components/Pager';
import { ScreenTitle } from '../components/ScreenTitle';
import { useLoad } from '../load';
import { AgentsQuery, ImportAgentMutation } from '../operations';
import { navigate } from '../router';
import { markFirstScreen, type Session } from '../session';

const PAGE = 20;

export function when(iso: string | null | undefined): string {
  return iso ? new Date(iso).toLocaleString() : '—';
}

function ImportAgent() {
  const [errors, setErrors] = useState<ApiError[] | null>(null);
  const [busy, setBusy] = useState(false);
  const upload = async (event: ChangeEvent<HTMLInputElement>) => {
    const file = event.target.files?.[0];
    event.target.value = '';
    if (!file) return;
    setErrors(null);
    setBusy(true);
    try {
      let document: unknown;
      try {
        document = JSON.parse(await file.text());
      } catch {
        throw new Error(`${file.name} is not JSON: an agent file is the JSON that Export gives.`);
      }
      const { importAgent } = await request(ImportAgentMutation, { document });
      const error = payloadError(importAgent);
      if (error) setErrors([error]);
      else if (importAgent.__typename === 'AgentPayload') navigate({ screen: 'agent', id: importAgent.agent.id });
    } catch (error) {
      setErrors(errorsOf(error));
    } finally {
      setBusy(false);
    }
  };
  return (
    <div className="import">
      <label htmlFor="import-file">Import an agent file</label>
      <input id="import-file" type="file" accept="application/json,.json" disabled={busy} onChange={upload} />
      <ErrorNote errors={errors} />
    </div>
  );
}

export function AgentsScreen({ session }: { session: Session }) {
  const [search, setSearch] = useState('');
  const [nameContains, setNameContains] = useState('');
  const [page, setPage] = useState<PageRequest>(firstPage(PAGE));
  const agents = useLoad(JSON.stringify([nameContains, page]), () =>
    request(AgentsQuery, { ...page, filter: nameContains ? { nameContains } : null }),
  );
  useEffect(() => {
    if (agents.data) markFirstScreen();
  }, [agents.data]);
  const submit = (event: FormEvent) => {
    event.preventDefault();
    setNameContains(search.trim());
    setPage(firstPage(PAGE));
  };
  const connection = agents.data?.agents;
  return (
    <main>
      <ScreenTitle>Agents</ScreenTitle>
      <form className="row" onSubmit={submit}>
        <label htmlFor="agent-search">Name contains</label>
        <input id="agent-search" type="search" value={search} onChange={(event) => setSearch(event.target.value)} />
        <button type="submit">Search</button>
      </form>
      <ErrorNote errors={agents.errors} />
      {connection ? (
        <>
          <p aria-live="polite">
            {connection.totalCount} agent{connection.totalCount === 1 ? '' : 's'}
            {nameContains ? ` whose name contains “${nameContains}”` : ''}
          </p>
          <table className="agents">
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Type</th>
                <th scope="col">Messages</th>
                <th scope="col">Memories</th>
                <th scope="col">Last activity</th>
              </tr>
            </thead>
            <tbody>
              {connection.nodes.map((agent) => {
                const lastMessage = agent.recentMessages[0]?.createdAt;
                const last = lastMessage && lastMessage > agent.updatedAt ? lastMessage : agent.updatedAt;
                return (
                  <tr key={agent.id}>
                    <td>
                      <Link to={{ screen: 'agent', id: agent.id }}>{agent.name ?? agent.id}</Link>
                      {agent.description ? <div className="muted">{agent.description}</div> : null}
                    </td>
                    <td>{agent.agentType ?? '—'}</td>
                    <td>{agent.messageCount}</td>
                    <td>{agent.memoryCount}</td>
                    <td>
                      <time dateTime={last}>{when(last)}</time>
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
          <Pager current={page} label="Agents" pageInfo={connection.pageInfo} size={PAGE} onPage={setPage} />
        </>
      ) : agents.loading ? (
        <p>Loading…</p>
      ) : null}
      {session.canWrite ? <ImportAgent /> : null}
    </main>
  );
}
