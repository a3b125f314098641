/**
 * How SQL answers a field, declared once on the field itself (`extensions: { sql: … }` on its
 * Pothos definition). The read planner (src/planner/compile.ts) reads these from the schema and
 * turns a request's selection under a root field into one statement; a field declared
 * `fallback` is resolved by its own resolver, with the planned parent row.
 */

import type { Context } from '../context/types';
import type { Bind } from '../db/statements';

/** What a declaration may use to say which rows it reads. */
export interface RowsScope {
  /** The alias of the row being read (`agents t3`). */
  row: string;
  /** The alias of the parent row, for a relation. */
  parent: string;
  /** The alias of the junction row, for a relation through one. */
  link: string;
  /** The field's arguments, as graphql-js coerced them. */
  args: Readonly<Record<string, unknown>>;
  organizationId: string;
  /** The caller's user (`me`). */
  userId: string;
  bind: Bind;
}

/**
 * The rows a relation, count, connection or root field reads: a table (through a junction where
 * there is one) and its conditions. `where` returns undefined when these arguments are ones the
 * planner leaves to the field's resolver (it refuses them, or reads them another way).
 */
export interface RowsSource {
  table: string;
  through?: { table: string; on(link: string, row: string): string };
  where(scope: RowsScope): string[] | undefined;
}

/** An order of rows: expressions over the row's alias, all in one direction, the last unique. */
export interface RowOrder {
  columns(row: string): string[];
  direction: 'ASC' | 'DESC';
}

export interface ColumnSql {
  kind: 'column';
  expression(row: string): string;
}

/** A to-one relation: the row `source` reads, or null. */
export interface ObjectSql {
  kind: 'object';
  source: RowsSource;
  onAnswer?: RootAnswerHook;
  /** Whether `onAnswer` reads the answer, for these arguments (default: always). */
  answerRead?: (args: Readonly<Record<string, unknown>>) => boolean;
}

/**
 * A list relation, in `order`. With `window`, the rows are first picked in the window's order
 * up to its limit (the last N messages), then given in `order`.
 */
export interface ListSql {
  kind: 'list';
  source: RowsSource;
  order: RowOrder;
  window?: { order: RowOrder; limit(args: Readonly<Record<string, unknown>>): number | undefined };
}

export interface CountSql {
  kind: 'count';
  source: RowsSource;
}

/**
 * A cursor connection (edges, nodes, pageInfo, totalCount), paged as @pothos/plugin-prisma pages
 * a Prisma `findMany` by `id` cursors, so that both paths give the same pages: the page starts
 * at the cursor row's place in the order, the extra row read tells whether another page follows.
 */
export interface ConnectionSql {
  kind: 'connection';
  source: RowsSource;
  order(args: Readonly<Record<string, unknown>>): RowOrder | undefined;
  defaultSize: number;
  maxSize: number;
  /**
   * `strict`: the page starts after the cursor row's place, read as a keyset (the memory list's
   * own paging); `offset` (the default): Prisma's, from the cursor row's place, past one row.
   */
  cursor?: 'offset' | 'strict';
  /**
   * Whether the answer also carries the ids of the rows it shows (`@shown`), for `onAnswer`; a
   * function: for these arguments only (not when `onAnswer` will not read them).
   */
  shownIds?: boolean | ((args: Readonly<Record<string, unknown>>) => boolean);
  /**
   * Whether `totalCount` and the page read the source's rows once, from one materialized set,
   * when both are asked for: for a source whose conditions cost per row (a memory's agent, its
   * validity), which would otherwise be checked twice, once for the count and once for the page.
   * Not for a cheap source, whose page is an index scan that stops at the page's end.
   */
  sharedRows?: boolean;
  /**
   * `totalCount` as a column of the parent's row that keeps it, instead of counting the source's
   * rows: for a relation connection whose arguments never filter its rows (Agent.messages: the
   * agent's `live_message_count`, kept by the database's triggers).
   */
  totalCount?: ColumnSql;
  onAnswer?: RootAnswerHook;
  /**
   * A root connection's arguments that its resolver answers, and why (the reason counted in
   * agentmem_planner_fallbacks_total): undefined when the planner answers them.
   */
  leftToResolver?: (args: Readonly<Record<string, unknown>>) => string | undefined;
}

/** Told of a planned root field's answer: what a resolver would have done with its rows (access counts). */
export type RootAnswerHook = (answer: unknown, args: Readonly<Record<string, unknown>>, context: Context) => void;

/**
 * A field the planner does not compile, and why. Its resolver runs with the planned parent row,
 * which then also carries `needs`: the model fields (and their columns) the resolver reads.
 */
export interface FallbackSql {
  kind: 'fallback';
  reason: string;
  needs?: Readonly<Record<string, string>>;
}

export type FieldSql = ColumnSql | ObjectSql | ListSql | CountSql | ConnectionSql | FallbackSql;

/** A root field: the rows it reads, one (`object`) or a connection. */
export type RootSql = ObjectSql | ConnectionSql;

export function column(name: string): ColumnSql {
  return { kind: 'column', expression: (row) => `${row}."${name}"` };
}

/**
 * A timestamp as ISO-8601 text in UTC with milliseconds, exactly what the DateTime scalar prints
 * for the Date Prisma reads, made by PostgreSQL so that no Date is made and printed per row.
 */
export function timestamp(name: string): ColumnSql {
  return { kind: 'column', expression: (row) => isoText(`${row}."${name}"`) };
}

/** A timestamptz expression as that ISO-8601 text. */
function isoText(expression: string): string {
  return `to_char(${expression} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;
}

export function object(source: RowsSource, onAnswer?: RootAnswerHook, answerRead?: ObjectSql['answerRead']): ObjectSql {
  return { kind: 'object', source, ...(onAnswer && { onAnswer }), ...(answerRead && { answerRead }) };
}

export function list(source: RowsSource, order: RowOrder, window?: ListSql['window']): ListSql {
  return { kind: 'list', source, order, ...(window && { window }) };
}

export function count(source: RowsSource): CountSql {
  return { kind: 'count', source };
}

export function connection(
  source: RowsSource,
  order: ConnectionSql['order'],
  sizes: { defaultSize: number; maxSize: number },
  options: Pick<
    ConnectionSql,
    'cursor' | 'shownIds' | 'sharedRows' | 'totalCount' | 'onAnswer' | 'leftToResolver'
  > = {},
): ConnectionSql {
  return { kind: 'connection', source, order, ...sizes, ...options };
}

export function fallback(reason: string, needs?: Record<string, string>): FallbackSql {
  return { kind: 'fallback', reason, ...(needs && { needs }) };
}

/** The rows of `table` whose `column` is the parent's `parentColumn` (a foreign key either way). */
export function relatedRows(
  table: string,
  columnName: string,
  parentColumn: string,
  extra: (scope: RowsScope) => string[] = () => [],
): RowsSource {
  return {
    table,
    where: (scope) => [
      `${scope.row}."${columnName}" = ${scope.parent}."${parentColumn}"`,
      ...organizationRows(scope),
      ...extra(scope),
    ],
  };
}

/** Rows of the caller's organization: the planner's own tenancy condition, beside row-level security. */
export const organizationRows = (scope: Pick<RowsScope, 'row' | 'organizationId' | 'bind'>) => [
  `${scope.row}.organization_id = ${scope.bind(scope.organizationId)}`,
];

/** The live row of `table` whose id is the `id` argument, in the caller's organization. */
export function liveRowById(table: string): RowsSource {
  return {
    table,
    where: (scope) => [
      `${scope.row}.id = ${scope.bind(String(scope.args.id))}`,
      ...organizationRows(scope),
      ...liveRows(scope),
    ],
  };
}

/** Live rows only (not soft-deleted). */
export const liveRows = (scope: Pick<RowsScope, 'row'>) => [`NOT ${scope.row}.is_deleted`];

/** An order by `names` (columns of the row), all `direction`. */
export function orderBy(names: string[], direction: 'ASC' | 'DESC'): RowOrder {
  return { columns: (row) => names.map((name) => `${row}."${name}"`), direction };
}

/** The declaration on a field's extensions, if any. */
export function fieldSqlOf(extensions: Readonly<Record<string, unknown>> | null | undefined): FieldSql | undefined {
  return (extensions?.sql as FieldSql | undefined) ?? undefined;
}

/** The extension that marks a field `readsByName` (set by src/planner/plugin.ts). */
export const READ_BY_NAME = 'sqlReadByName';

/**
 * Whether a field is a column read by its own name: declared `column`, with GraphQL's default
 * resolver (an exposed column of the same name). Planned objects hold its value under the
 * field's name, where that resolver reads it, so the field keeps no resolver of the planner's:
 * graphql-jit reads it inline, on a planned object and on a Prisma row alike, instead of calling
 * a resolver with a new `info` for each row (a sixth of a list request's garbage).
 */
export function readsByName(extensions: Readonly<Record<string, unknown>> | null | undefined): boolean {
  return extensions?.[READ_BY_NAME] === true;
}
