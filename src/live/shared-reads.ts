import { PothosValidationError } from '@pothos/core';
import { queryFromInfo } from '@pothos/plugin-prisma';
import type { FieldNode, GraphQLObjectType, GraphQLResolveInfo } from 'graphql';
import type { Caller } from '../auth/caller';
import type { Context } from '../context/types';
import { type ScopedSql, withOrganization } from '../db/row-level-security';
import { type Bind, statement } from '../db/statements';
import { PLANNED, planObject } from '../planner/compile';
import type { LiveBus } from './bus';
import type { LiveEvent, LiveEventKind, LiveEventOf } from './events';

/**
 * What a subscriber's rows of an event depend on besides the event itself: the organization whose
 * row scope reads them, the agent, and the Prisma query its selection makes (Pothos's
 * `queryFromInfo`: the relations it includes; every scalar column is read whatever it selects).
 */
export interface SharedReadKey {
  organizationId: string;
  agentId: string;
  query: object;
}

// Keyed by the event object: the bus hands every listener of a topic the same one (yoga's
// in-memory event target dispatches one CustomEvent; Redis's parses each message once for all
// its listeners), so the entry lives while any subscriber still has the event to deliver, and
// goes with it. Per process: each replica reads once for its own subscribers.
const reads = new WeakMap<LiveEvent, Map<string, Promise<unknown>>>();

/** The read of `event` named `name`, made by the first subscriber that needs it, awaited by the others. */
function once<Result>(event: LiveEvent, name: string, read: () => Promise<Result>): Promise<Result> {
  let ofEvent = reads.get(event);
  if (!ofEvent) reads.set(event, (ofEvent = new Map()));
  let result = ofEvent.get(name) as Promise<Result> | undefined;
  if (!result) {
    result = read();
    ofEvent.set(name, result);
  }
  return result;
}

/**
 * The rows of `event` for a subscriber, read once for all the subscribers of this process that
 * share its key: the first to need them reads (`read`, run in the key's organization scope), the
 * others wait for that read rather than each taking a pool connection. A subscriber of another
 * organization, another agent or another set of relations never shares a read.
 */
export function readOnce<Row>(event: LiveEvent, key: SharedReadKey, read: () => Promise<Row[]>): Promise<Row[]> {
  // The query in its JSON form: one document gives one text, whatever the variables' names.
  const name = JSON.stringify([key.organizationId, key.agentId, key.query]);
  return once(event, name, () => withOrganization(key.organizationId, read));
}

type PrismaQueryOptions = Parameters<typeof queryFromInfo>[0];

/**
 * The general read path's reader of a subscriber's events (the planner's is `watchPlanned`):
 * `find` reads an event's rows with the Prisma query of the subscriber's selection, once for all
 * the subscribers of this process that share the organization, the agent and the query made when
 * the subscription started. The query is made again at each event, so that its filters of time (a
 * memory's validity) are the event's, not the start's.
 */
export function sharedReads(options: PrismaQueryOptions, scope: { organizationId: string; agentId: string }) {
  const key = { ...scope, query: prismaQueryOf(options) };
  return <Row>(event: LiveEvent, find: (query: object) => Promise<Row[]>): Promise<Row[]> =>
    readOnce(event, key, () => find(prismaQueryOf(options)));
}

/**
 * The Prisma query of a subscription's selection (the general read path's): the relations it
 * includes. A selection whose arguments Pothos refuses there (a relation connection's `first`
 * with `before`) includes none, so that each field's own resolver refuses it at its own path,
 * as in a query, rather than the whole subscription at its start.
 */
function prismaQueryOf(options: PrismaQueryOptions): object {
  try {
    return queryFromInfo(options);
  } catch (error) {
    if (error instanceof PothosValidationError) return {};
    throw error;
  }
}

/**
 * `row`, which the general path loaded with `prismaQueryOf(options)`, told to Pothos again in the
 * event's own context (src/http/subscription-events.ts): Pothos looks up by context what a row
 * was loaded with, and without it reads each relation of the row again on its own, a query per
 * relation, its connection's cursor no longer bound to the row (another block's version paged
 * this block's history). A planned object (the fast path's) answers through the planner instead.
 */
export function loadedWith<Row extends object | null>(row: Row, options: PrismaQueryOptions): Row {
  if (row !== null && !(PLANNED in row)) prismaQueryOf(options);
  return row;
}

/** A subscriber's selection of an event's rows, planned by the read planner over the event's row. */
interface PlannedSelection {
  /** The planned text and values: subscribers whose selections plan alike share a column. */
  readonly key: string;
  readonly plan: (bind: Bind) => string;
}

/**
 * The planned object of `type` that the subscription field of `info` selects (src/planner), over
 * the row `row` of the statement that reads the event's rows.
 */
function plannedSelection(
  type: GraphQLObjectType,
  nodes: readonly FieldNode[],
  row: string,
  info: GraphQLResolveInfo,
  caller: Caller,
): PlannedSelection {
  const request = {
    fragments: info.fragments,
    variableValues: info.variableValues,
    organizationId: caller.organizationId,
    userId: caller.userId,
  };
  const plan = (bind: Bind) => planObject(type, nodes, row, request, bind).sql;
  return { key: JSON.stringify(statement(plan)), plan };
}

/** One organization's events of one agent and kind. */
interface Topic<K extends LiveEventKind = LiveEventKind> {
  organizationId: string;
  agentId: string;
  kind: K;
}

const topicName = ({ organizationId, agentId, kind }: Topic) => `${kind}:${organizationId}:${agentId}`;

const watching = new Map<string, Map<string, { selection: PlannedSelection; subscribers: number }>>();

/**
 * Counts `selection` among those that the statement of each event of `topic` answers, until the
 * returned function is called (when the subscription ends).
 */
function watchTopic(topic: Topic, selection: PlannedSelection): () => void {
  const name = topicName(topic);
  let selections = watching.get(name);
  if (!selections) watching.set(name, (selections = new Map()));
  const entry = selections.get(selection.key) ?? { selection, subscribers: 0 };
  entry.subscribers += 1;
  selections.set(selection.key, entry);
  let released = false;
  return () => {
    if (released) return;
    released = true;
    entry.subscribers -= 1;
    if (entry.subscribers > 0) return;
    selections.delete(selection.key);
    if (selections.size === 0) watching.delete(name);
  };
}

/**
 * The events of `topic` for a subscriber whose selection is `selection`, watched from before it
 * listens, so that every event it gets is read for its selection; `unwatch` when it ends.
 */
async function listenWatching<K extends LiveEventKind>(
  live: LiveBus,
  topic: Topic<K>,
  selection: PlannedSelection,
): Promise<{ events: AsyncIterableIterator<LiveEventOf<K>>; unwatch: () => void }> {
  const unwatch = watchTopic(topic, selection);
  try {
    return { events: await live.listen(topic.kind, topic.organizationId, topic.agentId), unwatch };
  } catch (error) {
    unwatch();
    throw error;
  }
}

/** A row of an event's planned read: the row's id, and its planned object for each selection. */
type PlannedRow = { id: string } & Record<string, unknown>;

/** A subscriber's planned objects of an event's rows, with their ids, in the statement's order. */
export interface PlannedRows {
  id: string;
  object: unknown;
}

/**
 * The planned objects of `event`'s rows for `selection`: one statement per event and topic answers
 * every selection that the topic's subscribers in this process watch it with, each in a column
 * of its own, in the organization's scope. `from` writes the statement's FROM, WHERE and ORDER BY
 * over the row `row`.
 */
async function readPlannedOnce(
  event: LiveEvent,
  topic: Topic,
  selection: PlannedSelection,
  sql: ScopedSql,
  row: string,
  from: (bind: Bind) => string,
): Promise<PlannedRows[]> {
  const read = (selections: PlannedSelection[]) => {
    const columns = new Map(selections.map((watched, index) => [watched.key, `s${index}`]));
    const text = statement((bind) => {
      const planned = selections.map((watched, index) => `${watched.plan(bind)} AS s${index}`);
      return `SELECT ${row}.id AS id, ${planned.join(', ')} ${from(bind)}`;
    });
    const rows = withOrganization(topic.organizationId, () => sql.query<PlannedRow>(text.text, text.values));
    return rows.then((found) => ({ columns, rows: found }));
  };
  const name = topicName(topic);
  const shared = await once(event, `planned:${name}`, () => {
    const selections = [...(watching.get(name)?.values() ?? [])].map((entry) => entry.selection);
    return read(selections.some((watched) => watched.key === selection.key) ? selections : [...selections, selection]);
  });
  // A selection that started watching after the statement was written reads on its own.
  const answer = shared.columns.has(selection.key)
    ? shared
    : await once(event, `planned:${name}:${selection.key}`, () => read([selection]));
  const column = answer.columns.get(selection.key) as string;
  return answer.rows.map((found) => ({ id: found.id, object: found[column] }));
}

/**
 * A subscriber's events of `topic`, with its selection of type `typeName` (the field nodes
 * `nodes`) planned over the row `row`, and `read`: the planned objects of an event's rows, from
 * one statement per event for every selection its organization's subscribers of the agent watch
 * it with (`from` writes its FROM, WHERE and ORDER BY). `unwatch` when the subscription ends.
 */
export async function watchPlanned<K extends LiveEventKind>(
  context: Context,
  info: GraphQLResolveInfo,
  topic: Topic<K>,
  target: { typeName: string; nodes: readonly FieldNode[]; row: string },
) {
  const type = info.schema.getType(target.typeName) as GraphQLObjectType;
  const selection = plannedSelection(type, target.nodes, target.row, info, context.caller);
  const { events, unwatch } = await listenWatching(context.live, topic, selection);
  const read = (event: LiveEventOf<K>, from: (bind: Bind) => string) =>
    readPlannedOnce(event, topic, selection, context.sql, target.row, from);
  return { events, unwatch, read };
}
