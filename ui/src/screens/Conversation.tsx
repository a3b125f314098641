import { useEffect, useState } from 'react';
import { type ApiError, errorsOf, request } from '../api';
import { ErrorNote } from '../components/ErrorNote';
import type { InspectorMessagesQuery } from '../gql/graphql';
import { MessagesQuery } from '../operations';
import { when } from './Agents';

type Message = InspectorMessagesQuery['messages']['nodes'][number];

const PAGE = 20;

interface ToolCall {
  id: string;
  name: string;
  arguments: string;
}

/** An assistant message's toolCalls ({id, type, function: {name, arguments}}), as far as they are well formed. */
function toolCallsOf(message: Message): ToolCall[] {
  if (!Array.isArray(message.toolCalls)) return [];
  return message.toolCalls.flatMap((call: unknown) => {
    if (typeof call !== 'object' || call === null) return [];
    const { id, function: fn } = call as { id?: unknown; function?: { name?: unknown; arguments?: unknown } };
    if (typeof id !== 'string') return [];
    const args = fn?.arguments;
    return [
      {
        id,
        name: typeof fn?.name === 'string' ? fn.name : '(unnamed)',
        arguments: typeof args === 'string' ? args : JSON.stringify(args ?? {}),
      },
    ];
  });
}

function textOf(message: Message): string {
  if (message.text) return message.text;
  if (Array.isArray(message.content))
    return message.content
      .map((part: unknown) =>
        typeof part === 'object' && part !== null && typeof (part as { text?: unknown }).text === 'string'
          ? (part as { text: string }).text
          : '',
      )
      .join('');
  return '';
}

function Bubble({ message, inContext }: { message: Message; inContext: boolean }) {
  return (
    <div className={`message ${message.role.toLowerCase()}${inContext ? ' in-context' : ''}`}>
      <div className="meta">
        <strong>{message.role.toLowerCase()}</strong>
        {message.name ? ` (${message.name})` : ''} · <time dateTime={message.createdAt}>{when(message.createdAt)}</time>
        {inContext ? <span className="badge context">in context window</span> : null}
      </div>
      {textOf(message) ? <p className="text">{textOf(message)}</p> : null}
    </div>
  );
}

/**
 * The conversation, oldest first, a page at a time from the newest; assistant tool calls each
 * with the TOOL reply that answers it (by toolCallId), and the context window's messages marked.
 * New messages arrive through `incoming` (the messageAdded subscription).
 */
export function Conversation({
  agentId,
  contextIds,
  incoming,
  refresh,
}: {
  agentId: string;
  contextIds: ReadonlySet<string>;
  incoming: Message[];
  refresh: number;
}) {
  const [loaded, setLoaded] = useState<Message[]>([]);
  const [total, setTotal] = useState<number | null>(null);
  const [earlier, setEarlier] = useState<{ has: boolean; cursor: string | null }>({ has: false, cursor: null });
  const [errors, setErrors] = useState<ApiError[] | null>(null);

  // The newest page; again after a reconnection (`refresh`), merged with what is shown.
  useEffect(() => {
    let current = true;
    request(MessagesQuery, { agentId, last: PAGE }).then(
      ({ messages }) => {
        if (!current) return;
        setLoaded((shown) => {
          const ids = new Set(messages.nodes.map((message) => message.id));
          const kept = shown.filter((message) => !ids.has(message.id));
          return [...kept, ...messages.nodes];
        });
        setTotal(messages.totalCount);
        setEarlier((previous) =>
          refresh === 0
            ? { has: messages.pageInfo.hasPreviousPage, cursor: messages.pageInfo.startCursor ?? null }
            : previous,
        );
      },
      (error: unknown) => current && setErrors(errorsOf(error)),
    );
    return () => {
      current = false;
    };
  }, [agentId, refresh]);

  const loadEarlier = async () => {
    try {
      const { messages } = await request(MessagesQuery, { agentId, last: PAGE, before: earlier.cursor });
      setLoaded((shown) => [...messages.nodes, ...shown]);
      setEarlier({ has: messages.pageInfo.hasPreviousPage, cursor: messages.pageInfo.startCursor ?? null });
    } catch (error) {
      setErrors(errorsOf(error));
    }
  };

  const shownIds = new Set(loaded.map((message) => message.id));
  const all = [...loaded, ...incoming.filter((message) => !shownIds.has(message.id))];
  const replies = new Map<string, Message>();
  for (const message of all)
    if (message.role === 'TOOL' && message.toolCallId) replies.set(message.toolCallId, message);
  const threaded = new Set<string>();
  for (const message of all) for (const call of toolCallsOf(message)) if (replies.has(call.id)) threaded.add(call.id);
  const shownTotal = total === null ? null : total + incoming.filter((message) => !shownIds.has(message.id)).length;

  return (
    <section aria-labelledby="conversation-title">
      <h2 id="conversation-title">Conversation</h2>
      <p className="muted">
        {shownTotal ?? '…'} messages; {contextIds.size} in the context window, marked{' '}
        <span className="badge context">in context window</span>.
      </p>
      <ErrorNote errors={errors} />
      {earlier.has ? (
        <button type="button" onClick={() => void loadEarlier()}>
          Earlier messages
        </button>
      ) : null}
      <ol className="conversation" aria-live="polite">
        {all
          .filter((message) => !(message.role === 'TOOL' && message.toolCallId && threaded.has(message.toolCallId)))
          .map((message) => (
            <li key={message.id} data-testid="message">
              <Bubble message={message} inContext={contextIds.has(message.id)} />
              {toolCallsOf(message).length > 0 ? (
                <ul className="tool-calls" aria-label="Tool calls">
                  {toolCallsOf(message).map((call) => {
                    const reply = replies.get(call.id);
                    return (
                      <li key={call.id} className="tool-call">
                        <div>
                          Calls <code>{call.name}</code> with <code>{call.arguments}</code>{' '}
                          <span className="muted">({call.id})</span>
                        </div>
                        {reply ? (
                          <Bubble message={reply} inContext={contextIds.has(reply.id)} />
                        ) : (
                          <div className="muted">No reply yet.</div>
                        )}
                      </li>
                    );
                  })}
                </ul>
              ) : null}
              {message.role === 'TOOL' && message.toolCallId ? (
                <div className="muted">Reply to call {message.toolCallId}, whose message is not shown.</div>
              ) : null}
            </li>
          ))}
      </ol>
    </section>
  );
}
