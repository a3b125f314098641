import { type FormEvent, Fragment, useState } from 'react';
import { type ApiError, errorsOf, request } from '../api';
import { Bar } from '../components/Bar';
import { ErrorNote } from '../components/ErrorNote';
import { Link } from '../components/Link';
import { ScreenTitle } from '../components/ScreenTitle';
import type { InspectorSearchQuery, MemoryFilter, MemoryType, SearchMode } from '../gql/graphql';
import { SearchQuery } from '../operations';
import { when } from './Agents';

type Hit = InspectorSearchQuery['searchMemories'][number];

const TYPES: MemoryType[] = ['EPISODIC', 'FACTUAL', 'PROCEDURAL', 'SEMANTIC', 'WORKING'];
const MODES: SearchMode[] = ['TEXT', 'VECTOR', 'HYBRID'];
const STEP = 10;
const MOST = 100;

const MODE_WORDS: Record<SearchMode, string> = {
  TEXT: 'by words (TEXT)',
  VECTOR: 'by meaning (VECTOR)',
  HYBRID: 'by words and meaning (HYBRID)',
};

/** ts_headline marks matched words **like this**: shown as <mark>, as text (never as HTML). */
function Snippet({ text }: { text: string }) {
  return (
    <p className="snippet">
      {text.split('**').map((part, index) =>
        index % 2 === 1 ? (
          // biome-ignore lint/suspicious/noArrayIndexKey: the pieces of one snippet, in order
          <mark key={index}>{part}</mark>
        ) : (
          // biome-ignore lint/suspicious/noArrayIndexKey: the pieces of one snippet, in order
          <Fragment key={index}>{part}</Fragment>
        ),
      )}
    </p>
  );
}

/** A metadata condition from two fields: the value as JSON when it parses (1, true, "x"), else as text. */
function metadataCondition(path: string, value: string): MemoryFilter['metadata'] {
  if (!path.trim()) return null;
  if (!value.trim()) return { path: path.trim(), exists: true };
  let parsed: unknown = value;
  try {
    parsed = JSON.parse(value);
  } catch {
    // Text, as typed.
  }
  return { path: path.trim(), eq: parsed };
}

export function SearchScreen() {
  const [query, setQuery] = useState('');
  // Empty: the API's own default (HYBRID where the server embeds the query's text, TEXT elsewhere).
  const [mode, setMode] = useState('');
  const [memoryType, setMemoryType] = useState('');
  const [scope, setScope] = useState('');
  const [level, setLevel] = useState('');
  const [agentId, setAgentId] = useState('');
  const [metaPath, setMetaPath] = useState('');
  const [metaValue, setMetaValue] = useState('');
  const [limit, setLimit] = useState(STEP);
  const [hits, setHits] = useState<Hit[] | null>(null);
  const [errors, setErrors] = useState<ApiError[] | null>(null);
  const [busy, setBusy] = useState(false);

  const run = async (size: number) => {
    setBusy(true);
    setErrors(null);
    const filter: MemoryFilter = {
      ...(memoryType ? { memoryType: memoryType as MemoryType } : {}),
      ...(scope.trim() ? { scope: scope.trim() } : {}),
      ...(level.trim() ? { level: level.trim() } : {}),
      ...(agentId.trim() ? { agentId: agentId.trim() } : {}),
      ...(metaPath.trim() ? { metadata: metadataCondition(metaPath, metaValue) } : {}),
    };
    try {
      const { searchMemories } = await request(SearchQuery, {
        query,
        filter,
        limit: size,
        mode: mode ? (mode as SearchMode) : null,
      });
      setHits(searchMemories);
      setLimit(size);
    } catch (error) {
      setHits(null);
      setErrors(errorsOf(error));
    } finally {
      setBusy(false);
    }
  };
  const submit = (event: FormEvent) => {
    event.preventDefault();
    void run(STEP);
  };

  return (
    <main>
      <ScreenTitle>Recall</ScreenTitle>
      <p className="muted">
        Searches the memories of every agent of your organization by their words, ranked by one score: text relevance,
        importance, recency and use, and the similarity of meaning when the search uses embeddings. Looking here does
        not count as a use.
      </p>
      <form className="search-form" onSubmit={submit}>
        <div className="field wide">
          <label htmlFor="recall-query">Words to search for</label>
          <input id="recall-query" type="search" value={query} onChange={(event) => setQuery(event.target.value)} />
        </div>
        <div className="field">
          <label htmlFor="recall-mode">Mode</label>
          <select id="recall-mode" value={mode} onChange={(event) => setMode(event.target.value)}>
            <option value="">the server's default</option>
            {MODES.map((choice) => (
              <option key={choice} value={choice}>
                {choice === 'TEXT' ? 'by words' : choice === 'VECTOR' ? 'by meaning' : 'both (hybrid)'}
              </option>
            ))}
          </select>
        </div>
        <div className="field">
          <label htmlFor="recall-type">Type</label>
          <select id="recall-type" value={memoryType} onChange={(event) => setMemoryType(event.target.value)}>
            <option value="">any</option>
            {TYPES.map((type) => (
              <option key={type} value={type}>
                {type.toLowerCase()}
              </option>
            ))}
          </select>
        </div>
        <div className="field">
          <label htmlFor="recall-scope">Scope</label>
          <input id="recall-scope" value={scope} onChange={(event) => setScope(event.target.value)} />
        </div>
        <div className="field">
          <label htmlFor="recall-level">Level</label>
          <input id="recall-level" value={level} onChange={(event) => setLevel(event.target.value)} />
        </div>
        <div className="field">
          <label htmlFor="recall-agent">Agent id</label>
          <input id="recall-agent" value={agentId} onChange={(event) => setAgentId(event.target.value)} />
        </div>
        <div className="field">
          <label htmlFor="recall-meta-path">Metadata path</label>
          <input
            id="recall-meta-path"
            placeholder="e.g. source"
            value={metaPath}
            onChange={(event) => setMetaPath(event.target.value)}
          />
        </div>
        <div className="field">
          <label htmlFor="recall-meta-value">equals (JSON or text; empty: is present)</label>
          <input id="recall-meta-value" value={metaValue} onChange={(event) => setMetaValue(event.target.value)} />
        </div>
        <button type="submit" disabled={busy}>
          Search
        </button>
      </form>
      <ErrorNote errors={errors} />
      {hits ? (
        <>
          <p aria-live="polite">
            {hits.length} hit{hits.length === 1 ? '' : 's'}, best first
            {hits[0] ? `, ranked ${MODE_WORDS[hits[0].mode]}` : ''}.
          </p>
          {hits[0]?.degraded ? (
            <p className="degraded" role="status" data-testid="degraded">
              Searched by words only: the query's meaning could not be used (
              {hits[0].degradedReason ?? 'no reason given'}
              ).
            </p>
          ) : null}
          <ol className="hits">
            {hits.map((hit) => (
              <li key={hit.memory.id} data-testid="hit">
                <div className="row">
                  <strong>score {hit.score.toFixed(3)}</strong>
                  <Link to={{ screen: 'agent', id: hit.memory.agentId }}>agent {hit.memory.agentId}</Link>
                </div>
                <Snippet text={hit.snippet} />
                <div className="breakdown">
                  {hit.breakdown.similarity !== null && hit.breakdown.similarity !== undefined ? (
                    <Bar label="similarity" value={hit.breakdown.similarity} />
                  ) : null}
                  <Bar label="text" value={hit.breakdown.text} />
                  <Bar label="importance" value={hit.breakdown.importance} />
                  <Bar label="recency" value={hit.breakdown.recency} />
                  <Bar label="use" value={hit.breakdown.use} />
                </div>
                <p className="muted">
                  {hit.memory.memoryType.toLowerCase()} · scope {hit.memory.scope} · level {hit.memory.level} ·{' '}
                  {when(hit.memory.createdAt)}
                  {hit.memory.metadata && Object.keys(hit.memory.metadata as object).length > 0
                    ? ` · metadata ${JSON.stringify(hit.memory.metadata)}`
                    : ''}
                </p>
              </li>
            ))}
          </ol>
          {hits.length === limit && limit < MOST ? (
            <button type="button" disabled={busy} onClick={() => void run(Math.min(MOST, limit + STEP))}>
              More hits
            </button>
          ) : null}
        </>
      ) : null}
    </main>
  );
}
