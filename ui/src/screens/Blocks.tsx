import { useLayoutEffect, useRef, useState } from 'react';
import { type ApiError, errorsOf, payloadError, request } from '../api';
import { Gauge } from '../components/Bar';
import { ErrorNote } from '../components/ErrorNote';
import { diffWords } from '../diff';
import { useLoad } from '../load';
import { BlockHistoryQuery, BlockQuery, UpdateBlockMutation } from '../operations';
import type { Session } from '../session';
import { when } from './Agents';

export interface BlockData {
  id: string;
  label: string;
  value: string;
  limit: number;
  version: number;
  description?: string | null;
  updatedAt: string;
}

/** Characters as the server counts them: Unicode code points. */
const lengthOf = (text: string) => [...text].length;

function Diff({ before, after }: { before: string; after: string }) {
  return (
    <p className="diff">
      {diffWords(before, after).map((part, index) =>
        part.kind === 'same' ? (
          // biome-ignore lint/suspicious/noArrayIndexKey: the parts of one diff, in order
          <span key={index}>{part.text}</span>
        ) : part.kind === 'added' ? (
          // biome-ignore lint/suspicious/noArrayIndexKey: the parts of one diff, in order
          <ins key={index}>{part.text}</ins>
        ) : (
          // biome-ignore lint/suspicious/noArrayIndexKey: the parts of one diff, in order
          <del key={index}>{part.text}</del>
        ),
      )}
    </p>
  );
}

const HISTORY_PAGE = 10;

function History({ block }: { block: BlockData }) {
  const [pages, setPages] = useState<string[]>(['']);
  const [from, setFrom] = useState<number | null>(null);
  const [to, setTo] = useState<number | null>(null);
  const history = useLoad(`${block.id}:${block.version}:${pages.join(',')}`, async () => {
    const versions = [];
    let last: { hasNextPage: boolean; endCursor?: string | null } = { hasNextPage: false };
    let total = 0;
    for (const after of pages) {
      const { block: answer } = await request(BlockHistoryQuery, {
        id: block.id,
        first: HISTORY_PAGE,
        after: after || null,
      });
      if (!answer) break;
      versions.push(...answer.history.nodes);
      last = answer.history.pageInfo;
      total = answer.history.totalCount;
    }
    return { versions, last, total };
  });
  const versions = history.data?.versions ?? [];
  const newer = versions.find((version) => version.version === to) ?? versions[0];
  const older = versions.find((version) => version.version === from) ?? versions[1];
  const id = `history-${block.id}`;
  return (
    <section className="history" aria-labelledby={`${id}-title`}>
      <h4 id={`${id}-title`}>
        History of {block.label} ({history.data?.total ?? '…'} versions)
      </h4>
      <ErrorNote errors={history.errors} />
      {versions.length > 1 && older && newer ? (
        <>
          <div className="row">
            <label htmlFor={`${id}-from`}>From version</label>
            <select id={`${id}-from`} value={older.version} onChange={(event) => setFrom(Number(event.target.value))}>
              {versions.map((version) => (
                <option key={version.id} value={version.version}>
                  {version.version}
                </option>
              ))}
            </select>
            <label htmlFor={`${id}-to`}>to version</label>
            <select id={`${id}-to`} value={newer.version} onChange={(event) => setTo(Number(event.target.value))}>
              {versions.map((version) => (
                <option key={version.id} value={version.version}>
                  {version.version}
                </option>
              ))}
            </select>
          </div>
          <Diff before={older.value} after={newer.value} />
        </>
      ) : versions.length === 1 ? (
        <p>Only one version so far.</p>
      ) : null}
      <ol className="versions">
        {versions.map((version) => (
          <li key={version.id}>
            Version {version.version}, {when(version.changedAt)}
            {version.changedBy ? ` by ${version.changedBy.name}` : ''}
          </li>
        ))}
      </ol>
      {history.data?.last.hasNextPage && history.data.last.endCursor ? (
        <button type="button" onClick={() => setPages([...pages, history.data?.last.endCursor ?? ''])}>
          Older versions
        </button>
      ) : null}
    </section>
  );
}

export function BlockCard({ initial, session }: { initial: BlockData; session: Session }) {
  const [block, setBlock] = useState(initial);
  const [draft, setDraft] = useState<string | null>(null);
  const [theirs, setTheirs] = useState<BlockData | null>(null);
  const [errors, setErrors] = useState<ApiError[] | null>(null);
  const [showHistory, setShowHistory] = useState(false);
  const [busy, setBusy] = useState(false);
  // Where the focus goes once a change shows: the control that took the place of the one that had
  // it (Edit gives way to the editor, Save to Edit), so that a keyboard user is not sent to the top.
  const [focusTo, setFocusTo] = useState<'edit' | 'editor' | 'conflict' | null>(null);
  const editButton = useRef<HTMLButtonElement>(null);
  const editor = useRef<HTMLTextAreaElement>(null);
  const conflictTitle = useRef<HTMLHeadingElement>(null);
  useLayoutEffect(() => {
    if (focusTo === null) return;
    ({ edit: editButton, editor, conflict: conflictTitle })[focusTo].current?.focus();
    setFocusTo(null);
  }, [focusTo]);
  const id = `block-${block.id}`;

  const save = async (value: string, expectedVersion: number) => {
    setBusy(true);
    setErrors(null);
    try {
      const { updateBlock } = await request(UpdateBlockMutation, { id: block.id, value, expectedVersion });
      if (updateBlock.__typename === 'BlockPayload') {
        setBlock(updateBlock.block);
        setDraft(null);
        setTheirs(null);
        setFocusTo('edit');
      } else if (updateBlock.__typename === 'VersionConflictError') {
        // Someone else saved since this version was read: show both, let the person choose.
        const { block: current } = await request(BlockQuery, { id: block.id });
        if (current) {
          setTheirs(current);
          setFocusTo('conflict');
        } else setErrors([{ message: 'This block was deleted meanwhile.' }]);
      } else {
        const error = payloadError(updateBlock);
        if (error) setErrors([error]);
        setFocusTo('editor');
      }
    } catch (error) {
      setErrors(errorsOf(error));
      setFocusTo('editor');
    } finally {
      setBusy(false);
    }
  };

  return (
    <article className="block" aria-labelledby={`${id}-title`} data-testid={`block-${block.label}`}>
      <header className="row">
        <h3 id={`${id}-title`}>{block.label}</h3>
        <span className="badge">version {block.version}</span>
        <span className="muted">updated {when(block.updatedAt)}</span>
      </header>
      {block.description ? <p className="muted">{block.description}</p> : null}
      <Gauge length={lengthOf(draft ?? block.value)} limit={block.limit} label={`${block.label} fill`} />
      {draft === null ? (
        <pre className="value">{block.value}</pre>
      ) : (
        <>
          <label htmlFor={`${id}-edit`}>New value of {block.label}</label>
          <textarea
            id={`${id}-edit`}
            ref={editor}
            aria-invalid={errors ? true : undefined}
            value={draft}
            rows={Math.min(12, Math.max(3, draft.split('\n').length + 1))}
            onChange={(event) => setDraft(event.target.value)}
          />
        </>
      )}
      <ErrorNote errors={errors} />
      {theirs && draft !== null ? (
        <section className="conflict" aria-labelledby={`${id}-conflict`}>
          <h4 id={`${id}-conflict`} ref={conflictTitle} tabIndex={-1}>
            Changed by someone else: version {theirs.version} is current, yours was based on version {block.version}
          </h4>
          <div className="two">
            <div>
              <h5>Yours</h5>
              <pre className="value">{draft}</pre>
            </div>
            <div>
              <h5>Current (version {theirs.version})</h5>
              <pre className="value">{theirs.value}</pre>
            </div>
          </div>
          <p>What changes if you keep yours:</p>
          <Diff before={theirs.value} after={draft} />
          <div className="row">
            <button type="button" disabled={busy} onClick={() => void save(draft, theirs.version)}>
              Keep mine
            </button>
            <button
              type="button"
              disabled={busy}
              onClick={() => {
                setBlock(theirs);
                setDraft(null);
                setTheirs(null);
                setFocusTo('edit');
              }}
            >
              Take theirs
            </button>
            <button
              type="button"
              disabled={busy}
              onClick={() => {
                setBlock(theirs);
                setTheirs(null);
                setFocusTo('editor');
              }}
            >
              Edit on top of theirs
            </button>
          </div>
        </section>
      ) : null}
      <div className="row">
        {session.canWrite && draft === null ? (
          <button
            type="button"
            ref={editButton}
            onClick={() => {
              setDraft(block.value);
              setFocusTo('editor');
            }}
          >
            Edit {block.label}
          </button>
        ) : null}
        {draft !== null && !theirs ? (
          <>
            <button type="button" disabled={busy} onClick={() => void save(draft, block.version)}>
              Save {block.label}
            </button>
            <button
              type="button"
              onClick={() => {
                setDraft(null);
                setErrors(null);
                setFocusTo('edit');
              }}
            >
              Cancel
            </button>
          </>
        ) : null}
        <button type="button" aria-expanded={showHistory} onClick={() => setShowHistory(!showHistory)}>
          {showHistory ? 'Hide history' : 'History'}
        </button>
      </div>
      {showHistory ? <History block={block} /> : null}
    </article>
  );
}
