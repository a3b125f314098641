import { useEffect, useState } from 'react';
import { type ApiError, errorsOf, request } from '../api';
import { ErrorNote } from '../components/ErrorNote';
import { Link } from '../components/Link';
import { ScreenTitle } from '../components/ScreenTitle';
import type { InspectorMessagesQuery } from '../gql/graphql';
import { type LiveState, subscribe } from '../live';
import { useLoad } from '../load';
import { AgentQuery, ExportAgentQuery, MemoryChangedSubscription, MessageAddedSubscription } from '../operations';
import { markFirstScreen, type Session } from '../session';
import { AgentBlocks, AgentTools } from './AgentParts';
import { when } from './Agents';
import { Conversation } from './Conversation';
import { Memories } from './Memories';

type Message = InspectorMessagesQuery['messages']['nodes'][number];

/** Both subscriptions of the screen: new messages, memory changes; a banner while either is lost. */
function useLive(agentId: string) {
  const [incoming, setIncoming] = useState<Message[]>([]);
  const [memoryChanges, setMemoryChanges] = useState(0);
  const [reconnections, setReconnections] = useState(0);
  const [states, setStates] = useState<Record<string, { state: LiveState; detail?: string }>>({});
  const [controls, setControls] = useState<Array<{ reconnect(): void }>>([]);
  useEffect(() => {
    // Once lost, a subscription stays lost (the banner stays up) until it is open again: its
    // attempts to reconnect in between do not hide the banner.
    const state = (name: string) => (next: LiveState, detail?: string) =>
      setStates((previous) => {
        const before = previous[name];
        const stillLost = next === 'connecting' && before?.state === 'lost';
        return { ...previous, [name]: stillLost ? before : { state: next, detail } };
      });
    const messages = subscribe(
      MessageAddedSubscription,
      { agentId },
      {
        onData: ({ messageAdded }) => setIncoming((previous) => [...previous, messageAdded]),
        onState: state('messages'),
        onReconnected: () => setReconnections((count) => count + 1),
      },
    );
    const memories = subscribe(
      MemoryChangedSubscription,
      { agentId },
      {
        onData: () => setMemoryChanges((count) => count + 1),
        onState: state('memories'),
        onReconnected: () => setMemoryChanges((count) => count + 1),
      },
    );
    setControls([messages, memories]);
    return () => {
      messages.stop();
      memories.stop();
    };
  }, [agentId]);
  const lost = Object.values(states).find((entry) => entry.state === 'lost');
  const open = Object.values(states).filter((entry) => entry.state === 'open').length === 2;
  return {
    incoming,
    memoryChanges,
    reconnections,
    lost,
    open,
    reconnect: () => {
      for (const control of controls) control.reconnect();
    },
  };
}

function ExportButton({ agentId, name }: { agentId: string; name: string }) {
  const [errors, setErrors] = useState<ApiError[] | null>(null);
  const download = async () => {
    setErrors(null);
    try {
      const { exportAgent } = await request(ExportAgentQuery, { id: agentId });
      if (exportAgent === null || exportAgent === undefined) throw new Error('This agent no longer exists.');
      const url = URL.createObjectURL(
        new Blob([`${JSON.stringify(exportAgent, null, 2)}\n`], { type: 'application/json' }),
      );
      const anchor = document.createElement('a');
      anchor.href = url;
      anchor.download = `${name.replace(/[^A-Za-z0-9_-]+/g, '-') || 'agent'}.agent.json`;
      anchor.click();
      setTimeout(() => URL.revokeObjectURL(url), 1000);
    } catch (error) {
      setErrors(errorsOf(error));
    }
  };
  return (
    <>
      <button type="button" onClick={() => void download()}>
        Export agent file
      </button>
      <ErrorNote errors={errors} />
    </>
  );
}

export function AgentScreen({ id, session }: { id: string; session: Session }) {
  const agent = useLoad(id, () => request(AgentQuery, { id }));
  const live = useLive(id);
  useEffect(() => {
    if (agent.data) markFirstScreen();
  }, [agent.data]);
  if (agent.errors)
    return (
      <main>
        <ScreenTitle>Agent</ScreenTitle>
        <ErrorNote errors={agent.errors} />
      </main>
    );
  if (!agent.data)
    return (
      <main>
        <p>Loading…</p>
      </main>
    );
  const data = agent.data.agent;
  if (!data)
    return (
      <main>
        <ScreenTitle>No such agent</ScreenTitle>
        <p>
          There is no agent <code>{id}</code> in your organization.{' '}
          <Link to={{ screen: 'agents' }}>See the agents</Link>.
        </p>
      </main>
    );
  const contextIds = new Set(Array.isArray(data.messageIds) ? data.messageIds.map(String) : []);
  return (
    <main>
      {live.lost ? (
        <div className="banner" role="alert">
          Live updates lost ({live.lost.detail ?? 'no connection'}): reconnecting…{' '}
          <button type="button" onClick={live.reconnect}>
            Reconnect now
          </button>
        </div>
      ) : null}
      <div className="row">
        <ScreenTitle>{data.name ?? data.id}</ScreenTitle>
        <span className={live.open ? 'badge live' : 'badge'} data-testid="live-state">
          {live.open ? 'live' : 'connecting…'}
        </span>
      </div>
      <p className="muted">
        {data.agentType ?? 'agent'} · {data.messageCount} messages · {data.memoryCount} memories · updated{' '}
        {when(data.updatedAt)} · <code>{data.id}</code>
      </p>
      {data.description ? <p>{data.description}</p> : null}
      <div className="row">
        <ExportButton agentId={data.id} name={data.name ?? data.id} />
      </div>
      <div className="columns">
        <div>
          <AgentBlocks agentId={data.id} session={session} />
          <AgentTools agentId={data.id} />
          <Memories agentId={data.id} session={session} refresh={live.memoryChanges} />
        </div>
        <Conversation agentId={data.id} contextIds={contextIds} incoming={live.incoming} refresh={live.reconnections} />
      </div>
    </main>
  );
}
