import { parsePrismaCursor } from '@pothos/plugin-prisma';
import {
  type FieldNode,
  type GraphQLField,
  type GraphQLObjectType,
  type GraphQLOutputType,
  getArgumentValues,
  getNamedType,
  isEnumType,
  isListType,
  isNonNullType,
  isObjectType,
} from 'graphql';
import type { Bind } from '../db/statements';
import {
  type ConnectionSql,
  fieldSqlOf,
  type ListSql,
  type ObjectSql,
  type RootSql,
  type RowOrder,
  type RowsScope,
  type RowsSource,
  readsByName,
} from './declarations';
import { fieldsOf, type SelectionContext } from './selection';

/**
 * The read planner's compiler: a selection under a root field, with the declarations on its
 * fields (src/planner/declarations.ts), becomes ONE statement whose single value is the field's
 * whole answer, built as JSON by PostgreSQL. Every object in that answer is a planned object:
 * `{ <response key>: <value>, …, "@": <what fallback resolvers read of the row, or true> }`,
 * which the planner's resolvers (src/planner/plugin.ts) answer from. The answers sit in the
 * object itself, not in one nested below it: a json_build_object less per row, which is a
 * quarter of PostgreSQL's time on a nested page. No response key can be "@" or start with it.
 */

/** The key that marks a planned object, and holds what its fallback fields need of the row. */
export const PLANNED = '@';
/** The key, among a connection's answers, of the ids of the rows it shows (`shownIds`): no GraphQL name. */
export const SHOWN = '@shown';

interface Statement {
  text: string;
  values: unknown[];
}

export interface PlanRequest extends SelectionContext {
  organizationId: string;
  userId: string;
}

/**
 * What a statement's answer is: `planned` objects, json that the planner's resolvers answer from
 * (src/planner/plugin.ts), or the `response`'s own JSON text, as graphql-js would write it, for a
 * request that no resolver needs to run (src/planner/response-text.ts). In the response form,
 * a field that falls back, or whose value the text cannot hold as graphql-js writes it, is among
 * the plan's fallbacks: such a plan is not used.
 */
export type AnswerForm = 'planned' | 'response';

/** A statement, with the fields left to their resolvers (`Type.field: reason`). */
export interface Plan extends Statement {
  fallbacks: string[];
  /**
   * In the response form, whether the statement's row also holds `shown`: the ids of the rows a
   * root connection shows, for its `onAnswer` hook (in the planned form they are in the answer).
   */
  shown: boolean;
}

/** PostgreSQL takes at most 100 arguments per call: 50 pairs per json_build_object. */
const PAIRS_PER_CALL = 50;

function jsonObject(pairs: ReadonlyArray<readonly [string, string]>): string {
  const call = (part: ReadonlyArray<readonly [string, string]>, fn: string) =>
    `${fn}(${part.map(([key, value]) => `'${key.replaceAll("'", "''")}', ${value}`).join(', ')})`;
  if (pairs.length <= PAIRS_PER_CALL) return call(pairs, 'json_build_object');
  const parts: string[] = [];
  for (let start = 0; start < pairs.length; start += PAIRS_PER_CALL)
    parts.push(call(pairs.slice(start, start + PAIRS_PER_CALL), 'jsonb_build_object'));
  return `(${parts.join(' || ')})::json`;
}

/** A planned object: its answers, and under `@` the columns its fallback fields read (or true). */
function planned(
  answers: ReadonlyArray<readonly [string, string]>,
  needs: ReadonlyArray<readonly [string, string]> = [],
): string {
  return jsonObject([...answers, [PLANNED, needs.length > 0 ? jsonObject(needs) : 'true']]);
}

/** PostgreSQL's concat takes at most 100 arguments: 45 pairs (and the braces) per call. */
const PAIRS_PER_CONCAT = 45;

/**
 * The response's JSON object of `pairs` (response key, SQL of its value's JSON text), as text
 * written as JSON.stringify writes it: json_build_object would put spaces around its colons.
 */
function textObject(pairs: ReadonlyArray<readonly [string, string]>): string {
  if (pairs.length === 0) return `'{}'`;
  const parts: string[] = [];
  for (let start = 0; start < pairs.length; start += PAIRS_PER_CONCAT) {
    const part = pairs.slice(start, start + PAIRS_PER_CONCAT).flatMap(([key, value], index) => {
      // A response key is a GraphQL name: nothing in it to escape.
      const lead = start + index === 0 ? '{' : ',';
      return [`'${lead}"${key}":'`, value];
    });
    parts.push(`concat(${part.join(', ')})`);
  }
  return `(${parts.join(' || ')} || '}')`;
}

/**
 * What a response-form statement writes where its answer cannot be the response's (a non-null
 * relation with no row, a number that JavaScript writes otherwise): a string holding NUL, which
 * no text of PostgreSQL holds, so that the request is executed instead (src/planner/response-text.ts).
 */
export const UNANSWERABLE = '\\u0000';
const unanswerableText = `'"${UNANSWERABLE}"'`;

/**
 * Around a jsonb value's own text in a response-form statement: a control character, which the
 * response's JSON text holds nowhere else (it escapes them). The plugin rewrites each value so
 * marked as JSON.stringify writes what JSON.parse read of it (src/planner/response-text.ts):
 * jsonb's text puts spaces between tokens and writes numbers such as 1.50 and 1e-7 otherwise.
 */
export const JSON_VALUE_MARK = '\u0001';

/** A JSON value in the response's text: marked, or UNANSWERABLE for a JSON null where null is an error. */
function jsonText(expression: string, nonNull: boolean): string {
  const jsonNull = nonNull ? `WHEN (${expression}) = 'null'::jsonb THEN ${unanswerableText} ` : '';
  const mark = `chr(${JSON_VALUE_MARK.codePointAt(0)})`;
  const marked = `concat(${mark}, (${expression})::text, ${mark})`;
  return `CASE WHEN (${expression}) IS NULL THEN 'null' ${jsonNull}ELSE ${marked} END`;
}

/**
 * Where a planned object of `type` holds the value of field `fieldName` asked for as
 * `responseKey`: a column read by its name (`readsByName`) under that name, whatever its alias,
 * since the executor reads it there; any other field under its response key, unless that key is
 * the name of such a column (`{ id: messageCount }`), which then holds the column: `@<key>`.
 */
export function answerKey(type: GraphQLObjectType, fieldName: string, responseKey: string): string {
  const fields = type.getFields();
  if (readsByName(fields[fieldName]?.extensions)) return fieldName;
  if (responseKey !== fieldName && readsByName(fields[responseKey]?.extensions)) return `${PLANNED}${responseKey}`;
  return responseKey;
}

/** The cursor @pothos/plugin-prisma gives a row with a string `id`: base64 of `GPC:S:<id>`. */
function cursorOf(row: string): string {
  return `translate(encode(convert_to('GPC:S:' || ${row}.id, 'UTF8'), 'base64'), E'\\n', '')`;
}

/**
 * What `statement` reads of the rows it names by `aliases` (each defined once in it, and passing
 * the others' columns on with `alias.*`), as a select list over `row`: the columns it names
 * (`t3."content"`, `t1.id`), or all of them where it names an alias anywhere else, since it may
 * then read a row whole. A column it names that the rows lack fails the statement, not the answer.
 */
function columnsRead(statement: string, aliases: readonly string[], row: string): string {
  const columns = new Set<string>();
  let definitions = 0;
  // Scanned with indexOf rather than one regular expression: this runs on every planned list,
  // and the expression's word boundaries at each position were 2% of a list request's CPU.
  for (const alias of aliases) {
    for (let at = statement.indexOf(alias); at !== -1; at = statement.indexOf(alias, at + alias.length)) {
      const end = at + alias.length;
      if (isWordCharacter(statement.charCodeAt(at - 1)) || isWordCharacter(statement.charCodeAt(end))) continue;
      const name = statement[end] === '.' ? columnAt(statement, end + 1) : undefined;
      // `__n` and the like are the statement's own (the row numbers), not the rows' columns.
      if (name !== undefined && name !== '*' && !name.startsWith('__')) columns.add(name);
      else if (name === undefined) definitions += 1;
    }
  }
  if (definitions > aliases.length) return `${row}.*`;
  return [...columns].map((name) => `${row}."${name}"`).join(', ');
}

/** Whether a character code is one of `\w`'s: a letter, a digit or `_`. */
function isWordCharacter(code: number): boolean {
  return (code >= 48 && code <= 57) || (code >= 65 && code <= 90) || (code >= 97 && code <= 122) || code === 95;
}

/** The column named at `start` (`"name"`, `name`), `*`, or undefined when none is. */
function columnAt(statement: string, start: number): string | undefined {
  if (statement[start] === '*') return '*';
  if (statement[start] === '"') {
    const close = statement.indexOf('"', start + 1);
    return close === -1 ? undefined : statement.slice(start + 1, close);
  }
  let end = start;
  while (end < statement.length && isWordCharacter(statement.charCodeAt(end))) end += 1;
  return end > start ? statement.slice(start, end) : undefined;
}

/**
 * `statement`, its read of `row` (`SELECT <row>.* FROM`, the first) narrowed to `columns` (what
 * columnsRead found the rest of it reads). Whole rows carried through a sort that no index serves
 * (an agent's configs, a message's content) were a tenth of a filtered list's time.
 */
function readingOnly(columns: string, statement: string, row: string): string {
  return statement.replace(`SELECT ${row}.* FROM`, () => `SELECT ${columns} FROM`);
}

function flipped(direction: RowOrder['direction']): RowOrder['direction'] {
  return direction === 'ASC' ? 'DESC' : 'ASC';
}

function orderText(order: RowOrder, row: string, direction = order.direction): string {
  return order
    .columns(row)
    .map((expression) => `${expression} ${direction}`)
    .join(', ');
}

/** The object type a field's values are, through lists and non-null; undefined for scalars and abstract types. */
function objectTypeOf(type: GraphQLOutputType): GraphQLObjectType | undefined {
  const named = getNamedType(type);
  return isObjectType(named) ? named : undefined;
}

function isList(type: GraphQLOutputType): boolean {
  return isListType(isNonNullType(type) ? type.ofType : type);
}

class Compiler {
  readonly values: unknown[] = [];
  readonly fallbacks: string[] = [];
  /** Whether the root connection's statement has a `shown` column beside its `value` (Plan.shown). */
  shownColumn = false;
  private aliases = 0;
  /**
   * Where the to-one relations of the objects being built go as LEFT JOINs: the FROM of the rows
   * those objects are made of. Undefined outside one (an object embedded in another statement),
   * where a to-one relation is a subquery.
   */
  private joins: string[] | undefined;

  /** Binds into this statement's own values (`planObject` binds them into another's afterwards). */
  readonly bind: Bind = (value: unknown): string => `$${this.values.push(value)}`;

  constructor(
    private readonly request: PlanRequest,
    private readonly form: AnswerForm = 'planned',
  ) {}

  /** An object of the statement's form: planned (with what its fallback fields read), or the response's. */
  private objectOf(
    answers: ReadonlyArray<readonly [string, string]>,
    needs: ReadonlyArray<readonly [string, string]> = [],
  ): string {
    return this.form === 'planned' ? planned(answers, needs) : textObject(answers);
  }

  /** The array of `element` over the rows of its FROM, in `order` (ORDER BY …), `filter` (FILTER …) applied. */
  private arrayOf(element: string, order: string, filter?: string): string {
    const filtered = filter === undefined ? '' : ` ${filter}`;
    return this.form === 'planned'
      ? `coalesce(json_agg(${element} ${order})${filtered}, '[]')`
      : `('[' || coalesce(string_agg(${element}, ',' ${order})${filtered}, '') || ']')`;
  }

  /** A scalar's value in the statement's form: the SQL value itself, or its JSON text. */
  private scalar(expression: string): string {
    return this.form === 'planned' ? expression : `coalesce(to_json(${expression})::text, 'null')`;
  }

  /** `__typename` in the response's text. */
  private typename(type: GraphQLObjectType): string {
    return `'"${type.name}"'`;
  }

  /**
   * A column's value in the statement's form: the SQL value itself for a planned object; for the
   * response, its JSON text as graphql-js would write the field's value: an ID or a String as text;
   * a Float as JavaScript writes numbers, or UNANSWERABLE outside the range where PostgreSQL
   * writes them alike (it writes 1e-05 and 1e+15 where JavaScript writes 0.00001 and
   * 1000000000000000); an enum's value as its name; a JSON value by jsonText.
   */
  private column(type: GraphQLObjectType, field: GraphQLField<unknown, unknown>, expression: string): string {
    if (this.form === 'planned') return expression;
    const named = getNamedType(field.type);
    const unwritten = () => {
      this.fallbacks.push(`${type.name}.${field.name}: not in the response's text`);
      return `'null'`;
    };
    if (named.name === 'JSON')
      return isList(field.type) ? unwritten() : jsonText(expression, isNonNullType(field.type));
    if (isEnumType(named) && named.getValues().some((value) => value.value !== value.name)) {
      // Each value as its name, as the enum serializes it; one it does not know is an error there.
      if (isList(field.type) || named.getValues().some((value) => typeof value.value !== 'string')) return unwritten();
      const names = named
        .getValues()
        .map((value) => `WHEN '${(value.value as string).replaceAll("'", "''")}' THEN '"${value.name}"'`)
        .join(' ');
      const byName = `CASE (${expression}) ${names} ELSE ${unanswerableText} END`;
      return `CASE WHEN (${expression}) IS NULL THEN 'null' ELSE ${byName} END`;
    }
    if (named.name === 'Float') {
      if (isList(field.type)) return unwritten();
      const value = `(${expression})`;
      return (
        `CASE WHEN ${value} IS NULL THEN 'null' WHEN ${value} = 0 THEN '0' ` +
        `WHEN abs(${value}) >= 1e-4 AND abs(${value}) < 1e15 AND ${value} <> 'NaN' THEN ${value}::text ` +
        `ELSE ${unanswerableText} END`
      );
    }
    if ((named.name === 'ID' || named.name === 'String') && !isList(field.type))
      return this.scalar(`(${expression})::text`);
    return this.scalar(expression);
  }

  alias(): string {
    this.aliases += 1;
    return `t${this.aliases}`;
  }

  private scope(row: string, parent: string, link: string, args: Readonly<Record<string, unknown>>): RowsScope {
    return {
      row,
      parent,
      link,
      args,
      organizationId: this.request.organizationId,
      userId: this.request.userId,
      bind: this.bind,
    };
  }

  /** `FROM … WHERE …` of a source, or undefined when its arguments are left to the resolver. */
  private from(
    source: RowsSource,
    row: string,
    parent: string,
    args: Readonly<Record<string, unknown>>,
    extra: string[] = [],
  ): { from: string; where: string[] } | undefined {
    const link = source.through ? this.alias() : '';
    const where = source.where(this.scope(row, parent, link, args));
    if (!where) return undefined;
    const from = source.through
      ? `${source.through.table} ${link} JOIN ${source.table} ${row} ON ${source.through.on(link, row)}`
      : `${source.table} ${row}`;
    return { from, where: [...where, ...extra] };
  }

  private argumentsOf(field: GraphQLField<unknown, unknown>, node: FieldNode): Record<string, unknown> | undefined {
    try {
      return getArgumentValues(field, node, this.request.variableValues);
    } catch {
      // A value the field refuses: its resolver answers with the error.
      return undefined;
    }
  }

  /** The planned object for a row `row` of `type`, with what `nodes` select. */
  object(type: GraphQLObjectType, nodes: readonly FieldNode[], row: string): string {
    const answers: [string, string][] = [];
    const needs = new Map<string, string>();
    const fields = type.getFields();
    for (const [key, fieldNodes] of fieldsOf(nodes, type, this.request)) {
      const name = fieldNodes[0]!.name.value;
      if (name === '__typename') {
        if (this.form === 'response') answers.push([key, this.typename(type)]);
        continue;
      }
      const field = fields[name];
      if (!field) continue;
      const value = this.field(type, field, fieldNodes, row);
      if (typeof value === 'string' && this.form === 'response') {
        answers.push([key, value]);
      } else if (typeof value === 'string') {
        const at = answerKey(type, name, key);
        // A column asked for under two aliases is one answer.
        if (!answers.some(([answered]) => answered === at)) answers.push([at, value]);
      } else {
        // A resolver of the model's type: it reads the row's id, and what the field declares.
        needs.set('id', `${row}.id`);
        for (const [needed, columnName] of Object.entries(value.needs)) needs.set(needed, `${row}."${columnName}"`);
      }
    }
    return this.objectOf(answers, [...needs]);
  }

  /** The SQL of one field's value, or what its resolver needs of the row when it falls back. */
  private field(
    type: GraphQLObjectType,
    field: GraphQLField<unknown, unknown>,
    nodes: FieldNode[],
    row: string,
  ): string | { needs: Readonly<Record<string, string>> } {
    const sql = fieldSqlOf(field.extensions);
    // Values bound for SQL that is then left out are taken back: each `$n` must be in the text.
    const bound = this.values.length;
    const fallBack = (reason: string, needs: Readonly<Record<string, string>> = {}) => {
      this.values.length = bound;
      this.fallbacks.push(`${type.name}.${field.name}: ${reason}`);
      return { needs };
    };
    if (!sql) return fallBack('undeclared');
    if (sql.kind === 'fallback') return fallBack(sql.reason, sql.needs);
    if (sql.kind === 'column') return this.column(type, field, sql.expression(row));
    const args = this.argumentsOf(field, nodes[0]!);
    if (!args) return fallBack('arguments');
    const target = objectTypeOf(field.type);
    let value: string | undefined;
    if (sql.kind === 'count') {
      const count = this.count(sql.source, row, args);
      value = count && this.scalar(count);
    } else if (!target) {
      return fallBack('not an object type');
    } else if (sql.kind === 'object') {
      const absent = this.absent(field.type);
      value =
        this.joins && !sql.source.through
          ? this.joinedToOne(sql, target, nodes, row, args, absent)
          : this.toOne(sql, target, nodes, row, args, absent);
    } else if (sql.kind === 'list') {
      value = isList(field.type) ? this.list(sql, target, nodes, row, args) : undefined;
    } else {
      value = this.connection(sql, target, nodes, row, args);
    }
    return value ?? fallBack('arguments');
  }

  /** How many rows `source` reads for the parent row `parent`. */
  private count(source: RowsSource, parent: string, args: Readonly<Record<string, unknown>>): string | undefined {
    const rows = this.from(source, this.alias(), parent, args);
    return rows && `(SELECT count(*)::int FROM ${rows.from} WHERE ${rows.where.join(' AND ')})`;
  }

  /** What `build` makes of one FROM's rows, with the LEFT JOINs of their to-one relations, for that FROM. */
  private joined<T>(build: () => T): [built: T, joins: string] {
    const outer = this.joins;
    const joins: string[] = [];
    this.joins = joins;
    try {
      return [build(), joins.join(' ')];
    } finally {
      this.joins = outer;
    }
  }

  /**
   * What a to-one relation of `type` with no row is in the response's text: null, or UNANSWERABLE
   * where `type` is non-null (graphql-js answers an error there). Planned objects keep SQL's NULL.
   */
  absent(type: GraphQLOutputType): string | undefined {
    if (this.form === 'planned') return undefined;
    return isNonNullType(type) ? unanswerableText : `'null'`;
  }

  toOne(
    sql: ObjectSql,
    type: GraphQLObjectType,
    nodes: readonly FieldNode[],
    parent: string,
    args: Readonly<Record<string, unknown>>,
    absent: string | undefined,
  ): string | undefined {
    const row = this.alias();
    const rows = this.from(sql.source, row, parent, args);
    if (!rows) return undefined;
    const [object, joins] = this.joined(() => this.object(type, nodes, row));
    const read = `(SELECT ${object} FROM ${rows.from} ${joins} WHERE ${rows.where.join(' AND ')} LIMIT 1)`;
    return absent === undefined ? read : `coalesce(${read}, ${absent})`;
  }

  /**
   * A to-one relation as a LEFT JOIN of the parent's FROM rather than a subquery per parent row:
   * a tenth less of a nested page's time. Every to-one relation is by the target's primary key,
   * so the join adds no row; no row joined is null.
   */
  private joinedToOne(
    sql: ObjectSql,
    type: GraphQLObjectType,
    nodes: readonly FieldNode[],
    parent: string,
    args: Readonly<Record<string, unknown>>,
    absent: string | undefined,
  ): string | undefined {
    const row = this.alias();
    const rows = this.from(sql.source, row, parent, args);
    if (!rows) return undefined;
    this.joins!.push(`LEFT JOIN ${rows.from} ON ${rows.where.join(' AND ')}`);
    return `CASE WHEN ${row}.id IS NULL THEN ${absent ?? 'NULL'} ELSE ${this.object(type, nodes, row)} END`;
  }

  private list(
    sql: ListSql,
    type: GraphQLObjectType,
    nodes: readonly FieldNode[],
    parent: string,
    args: Readonly<Record<string, unknown>>,
  ): string | undefined {
    const row = this.alias();
    const rows = this.from(sql.source, row, parent, args);
    if (!rows) return undefined;
    const where = rows.where.join(' AND ');
    if (!sql.window) {
      const [object, joins] = this.joined(() => this.object(type, nodes, row));
      const array = this.arrayOf(object, `ORDER BY ${orderText(sql.order, row)}`);
      return `(SELECT ${array} FROM ${rows.from} ${joins} WHERE ${where})`;
    }
    const limit = sql.window.limit(args);
    if (limit === undefined) return undefined;
    const picked = this.alias();
    const [object, joins] = this.joined(() => this.object(type, nodes, picked));
    const statement = `(SELECT ${this.arrayOf(object, `ORDER BY ${orderText(sql.order, picked)}`)}
      FROM (SELECT ${row}.* FROM ${rows.from} WHERE ${where} ORDER BY ${orderText(sql.window.order, row)}
        LIMIT ${this.bind(limit)}) ${picked} ${joins})`;
    return readingOnly(columnsRead(statement, [row, picked], row), statement, row);
  }

  /**
   * A connection, paged as @pothos/plugin-prisma pages `findMany` with a cursor: `take` is the
   * page size plus one (negative backwards), `skip` 1 past the cursor row, whose place in the
   * order is read from the table itself, and the page comes back in the connection's order.
   */
  connection(
    sql: ConnectionSql,
    connectionType: GraphQLObjectType,
    nodes: readonly FieldNode[],
    parent: string,
    args: Readonly<Record<string, unknown>>,
  ): string | undefined {
    const order = sql.order(args);
    const page = pageOf(args, sql);
    if (!order || !page) return undefined;
    const edgeType = objectTypeOf(connectionType.getFields().edges!.type)!;
    const nodeType = objectTypeOf(edgeType.getFields().node!.type)!;
    const row = this.alias();
    const readDirection = page.backward ? flipped(order.direction) : order.direction;
    const cursorCondition: string[] = [];
    const strict = sql.cursor === 'strict';
    if (page.cursor !== undefined) {
      const at = this.alias();
      const comparison = `${readDirection === 'ASC' ? '>' : '<'}${strict ? '' : '='}`;
      // Under a parent, the cursor's row must be one of the relation's rows, or the page is empty,
      // as Prisma's nested reads page: a cursor of another agent's list shows nothing.
      const cursorRows = parent
        ? this.from(sql.source, at, parent, args)
        : {
            from: `${sql.source.table} ${at}`,
            where: [`${at}.organization_id = ${this.bind(this.request.organizationId)}`],
          };
      if (!cursorRows) return undefined;
      cursorCondition.push(
        `(${order.columns(row).join(', ')}) ${comparison} (SELECT ${order.columns(at).join(', ')} ` +
          `FROM ${cursorRows.from} WHERE ${at}.id = ${this.bind(page.cursor)} ` +
          `AND ${cursorRows.where.join(' AND ')})`,
      );
    }
    const selected = fieldsOf(nodes, connectionType, this.request);
    const asked = new Set([...selected.values()].map((fieldNodes) => fieldNodes[0]!.name.value));
    // With sharedRows, totalCount and the page read one materialized set of the source's rows
    // (a CTE), so that its conditions are checked once per row, not once for each (the page is
    // read even for totalCount alone: its one row answers an empty selection).
    const shared =
      sql.sharedRows && asked.has('totalCount') ? this.sharedRows(sql.source, row, parent, args) : undefined;
    if (sql.sharedRows && shared === null) return undefined;
    const rows = shared
      ? { from: `${shared.name} ${row}`, where: cursorCondition.length > 0 ? cursorCondition : ['true'] }
      : this.from(sql.source, row, parent, args, cursorCondition);
    if (!rows) return undefined;

    const paged = this.alias();
    // pageInfo tells whether another page follows, from one row read beyond the page, and the
    // rows are numbered in reading order to leave it out. Without pageInfo the page is read
    // alone, in the order it is shown: no numbering, no filter (a tenth of a nested page's time).
    const paging = asked.has('pageInfo');
    const take = this.bind(paging ? page.take : page.take - 1);
    // Shown rows: all but the extra one.
    const shown = paging ? `FILTER (WHERE ${paged}.__n < ${take})` : '';
    const shownOrder = paging
      ? `ORDER BY ${paged}.__n ${page.backward ? 'DESC' : 'ASC'}`
      : `ORDER BY ${orderText(order, paged)}`;
    const answers: [string, string][] = [];
    // Whether a resolver would have read and shown rows: not when only totalCount is asked for.
    let showsRows = false;
    // The rows' objects are built here: their to-one relations join the page's FROM.
    const [complete, joins] = this.joined(() => {
      for (const [key, fieldNodes] of selected) {
        const name = fieldNodes[0]!.name.value;
        if (name !== 'totalCount') showsRows = true;
        if (name === '__typename') {
          if (this.form === 'response') answers.push([key, this.typename(connectionType)]);
          continue;
        }
        if (name === 'totalCount') {
          const all = shared
            ? `(SELECT count(*)::int FROM ${shared.name})`
            : sql.totalCount
              ? sql.totalCount.expression(parent)
              : this.count(sql.source, parent, args);
          if (!all) return false;
          answers.push([key, this.scalar(all)]);
        } else if (name === 'nodes') {
          answers.push([key, this.arrayOf(this.object(nodeType, fieldNodes, paged), shownOrder, shown)]);
        } else if (name === 'edges') {
          const edge: [string, string][] = [];
          for (const [edgeKey, edgeNodes] of fieldsOf(fieldNodes, edgeType, this.request)) {
            const edgeField = edgeNodes[0]!.name.value;
            if (edgeField === 'cursor') edge.push([edgeKey, this.scalar(cursorOf(paged))]);
            else if (edgeField === 'node') edge.push([edgeKey, this.object(nodeType, edgeNodes, paged)]);
            else if (edgeField === '__typename') {
              if (this.form === 'response') edge.push([edgeKey, this.typename(edgeType)]);
            } else {
              // An edge's own field (QueryMemoriesConnectionEdge.similarity) answers only by a column declaration.
              const ownField = edgeType.getFields()[edgeField];
              const edgeSql = fieldSqlOf(ownField?.extensions);
              if (!ownField || edgeSql?.kind !== 'column') return false;
              edge.push([edgeKey, this.column(edgeType, ownField, edgeSql.expression(paged))]);
            }
          }
          answers.push([key, this.arrayOf(this.objectOf(edge), shownOrder, shown)]);
        } else if (name === 'pageInfo') {
          answers.push([
            key,
            this.pageInfo(
              fieldNodes,
              getNamedType(connectionType.getFields().pageInfo!.type) as GraphQLObjectType,
              page,
              paged,
              take,
            ),
          ]);
        } else {
          return false;
        }
      }
      return true;
    });
    if (!complete) return undefined;
    const shownIds = typeof sql.shownIds === 'function' ? sql.shownIds(args) : sql.shownIds === true;
    // The ids a root connection shows, for its hook (access tracking): an answer of the planned
    // form, a column of its own beside the response's text.
    let shownColumn = '';
    if (shownIds && showsRows) {
      const ids = `coalesce(json_agg(${paged}.id ${shownOrder}) ${shown}, '[]')`;
      if (this.form === 'planned') answers.push([SHOWN, ids]);
      else if (parent === '') {
        shownColumn = ` AS value, ${ids} AS shown`;
        this.shownColumn = true;
      } else this.fallbacks.push(`${connectionType.name}.${SHOWN}: not in the response's text`);
    }
    const read = `SELECT ${row}.* FROM ${rows.from} WHERE ${rows.where.join(' AND ')}
                  ORDER BY ${orderText(order, row, readDirection)} LIMIT ${take}
                    OFFSET ${page.cursor === undefined || strict ? 0 : 1}`;
    // Numbered after the LIMIT, so that the read stays an index scan that stops at the page's end.
    const numbered = this.alias();
    const from = paging
      ? `(SELECT ${numbered}.*, row_number() OVER (ORDER BY ${orderText(order, numbered, readDirection)}) AS __n ` +
        `FROM (${read}) ${numbered})`
      : `(${read})`;
    // HAVING makes it one group, so that an empty page is still one row, even with no aggregate
    // selected (only totalCount).
    const wholeRows = `SELECT ${this.objectOf(answers)}${shownColumn}
      FROM ${from} ${paged} ${joins}
      HAVING true`;
    // The page's read and the shared rows, when there are some, hold the same columns.
    const columns = columnsRead(wholeRows, paging ? [row, numbered, paged] : [row, paged], row);
    const statement = readingOnly(columns, wholeRows, row);
    if (!shared) return `(${statement})`;
    return `(WITH ${shared.definition(columns)} ${statement})`;
  }

  /**
   * The rows of `source` as a CTE named `name`, read as `row` inside it (the same alias the page
   * then reads them by, so that the order's and the cursor's expressions hold); null when its
   * arguments are left to the resolver.
   */
  private sharedRows(
    source: RowsSource,
    row: string,
    parent: string,
    args: Readonly<Record<string, unknown>>,
  ): { name: string; definition(columns: string): string } | null {
    const all = this.from(source, row, parent, args);
    if (!all) return null;
    const name = this.alias();
    return {
      name,
      // Only `columns`, those the statement reads (columnsRead): whole rows (a memory's content,
      // metadata and embedding) copied into the CTE were a fifth of the memory list's time.
      definition: (columns) =>
        `${name} AS MATERIALIZED (SELECT ${columns} FROM ${all.from} WHERE ${all.where.join(' AND ')})`,
    };
  }

  private pageInfo(
    nodes: readonly FieldNode[],
    type: GraphQLObjectType,
    page: Page,
    paged: string,
    take: string,
  ): string {
    const full = `count(*) = ${take}`;
    const cursors = `(array_agg(${cursorOf(paged)} ORDER BY ${paged}.__n) FILTER (WHERE ${paged}.__n < ${take}))`;
    const first = `${cursors}[1]`;
    const last = `${cursors}[greatest(least(count(*), ${take} - 1), 1)]`;
    const answers: [string, string][] = [];
    for (const [key, fieldNodes] of fieldsOf(nodes, type, this.request)) {
      const name = fieldNodes[0]!.name.value;
      if (name === 'hasNextPage') answers.push([key, this.scalar(page.before ? 'true' : page.last ? 'false' : full)]);
      else if (name === 'hasPreviousPage')
        answers.push([key, this.scalar(page.after ? 'true' : page.backward ? full : 'false')]);
      else if (name === 'startCursor') answers.push([key, this.scalar(page.backward ? last : first)]);
      else if (name === 'endCursor') answers.push([key, this.scalar(page.backward ? first : last)]);
      else if (name === '__typename' && this.form === 'response') answers.push([key, this.typename(type)]);
    }
    return this.objectOf(answers);
  }
}

interface Page {
  take: number;
  backward: boolean;
  cursor: string | undefined;
  before: boolean;
  after: boolean;
  last: boolean;
}

/** The page Pothos would read for these arguments, or undefined for arguments it refuses. */
function pageOf(
  args: Readonly<Record<string, unknown>>,
  sizes: { defaultSize: number; maxSize: number },
): Page | undefined {
  const { first, last, after, before } = args as {
    first?: number | null;
    last?: number | null;
    after?: string | null;
    before?: string | null;
  };
  if ((first != null && first < 0) || (last != null && last < 0)) return undefined;
  if ((before != null && after != null) || (before != null && first != null) || (after != null && last != null))
    return undefined;
  const cursorText = before ?? after;
  let cursor: string | undefined;
  if (cursorText != null) {
    try {
      const parsed: unknown = parsePrismaCursor(cursorText);
      if (typeof parsed !== 'string') return undefined;
      cursor = parsed;
    } catch {
      return undefined;
    }
  }
  const backward = before != null || last != null;
  return {
    take: Math.min(first ?? last ?? sizes.defaultSize, sizes.maxSize) + 1,
    backward,
    cursor,
    before: before != null,
    after: after != null,
    last: last != null,
  };
}

/**
 * The one statement that answers root field `field` for `nodes`, or undefined when its
 * arguments are ones its resolver must answer (refusals, filters the declaration leaves out).
 */
export function planRootField(
  field: GraphQLField<unknown, unknown>,
  sql: RootSql,
  nodes: readonly FieldNode[],
  args: Readonly<Record<string, unknown>>,
  request: PlanRequest,
  form: AnswerForm = 'planned',
): Plan | undefined {
  const compiler = new Compiler(request, form);
  const type = objectTypeOf(field.type);
  if (!type) return undefined;
  let value: string | undefined;
  if (sql.kind === 'connection') {
    value = compiler.connection(sql, type, nodes, '', args);
  } else {
    value = compiler.toOne(sql, type, nodes, '', args, compiler.absent(field.type));
  }
  if (value === undefined) return undefined;
  // Named in the text, so that pg_stat_statements and the logs tell which field a plan answers;
  // after SELECT, where the replica routing and the retries recognize a read.
  const name = `/* planned ${field.name}${form === 'response' ? ' as text' : ''} */`;
  return {
    text: compiler.shownColumn ? `SELECT ${name} value, shown FROM ${value} root` : `SELECT ${name} ${value} AS value`,
    values: compiler.values,
    fallbacks: compiler.fallbacks,
    shown: compiler.shownColumn,
  };
}

/**
 * The planned object of `type` for the row `row` of a statement built elsewhere (the memory
 * search's hits), its values bound with that statement's `bind`, with the fields left to their
 * resolvers.
 */
export function planObject(
  type: GraphQLObjectType,
  nodes: readonly FieldNode[],
  row: string,
  request: PlanRequest,
  bind: Bind,
): { sql: string; fallbacks: string[] } {
  // Compiled with values of its own, then bound into the statement: a field that falls back takes
  // back the values it bound, which it could not do in another statement's (a value bound and
  // left out of the text: "could not determine data type of parameter").
  const compiler = new Compiler(request);
  const sql = compiler.object(type, nodes, row);
  const bound = compiler.values.map((value) => bind(value));
  return {
    sql: sql.replace(/\$(\d+)\b/g, (_placeholder, index: string) => bound[Number(index) - 1]!),
    fallbacks: compiler.fallbacks,
  };
}
