import type { Bind } from '../db/statements';
import { ValidationError } from '../errors';
import { builder } from '../schema/builder';
import { maxItems } from '../schema/list-caps';
import { unstorable } from '../schema/rules';

/**
 * The metadata filter: conditions on a memory's JSONB `metadata`, in mem0's filter language
 * (eq, ne, in, nin, gt, gte, lt, lte, contains, exists; and, or, not), for the memories list and
 * for search alike. This module is its one compiler: a filter becomes one SQL condition with
 * every value bound, which src/memories/filter.ts adds to both statements.
 */
/** A JSON operand as the JSON scalar gives it (null: not given). */
type JsonOperand = NonNullable<unknown> | null;

export interface MetadataFilterShape {
  path?: string | null;
  eq?: JsonOperand;
  ne?: JsonOperand;
  in?: JsonOperand[] | null;
  nin?: JsonOperand[] | null;
  gt?: JsonOperand;
  gte?: JsonOperand;
  lt?: JsonOperand;
  lte?: JsonOperand;
  contains?: JsonOperand;
  exists?: boolean | null;
  and?: MetadataFilterShape[] | null;
  or?: MetadataFilterShape[] | null;
  not?: MetadataFilterShape | null;
}

/** How deep and/or/not may nest (a comparison at the top is depth 1). */
const MAX_METADATA_FILTER_DEPTH = 5;
/** The most comparisons in one filter, and the most values of one `in`/`nin` or items of one and/or. */
const MAX_METADATA_CONDITIONS = 50;
const MAX_METADATA_LIST = 100;
/** The most keys in a path ("a.b.c" has three), and the longest key. */
const MAX_METADATA_PATH_KEYS = 10;
const MAX_METADATA_KEY_LENGTH = 255;

const COMPARISONS = ['eq', 'ne', 'in', 'nin', 'gt', 'gte', 'lt', 'lte', 'contains', 'exists'] as const;
type Comparison = (typeof COMPARISONS)[number];
const COMBINATIONS = ['and', 'or', 'not'] as const;

export const MetadataFilter = builder.inputRef<MetadataFilterShape>('MetadataFilter').implement({
  description:
    'A condition on the JSON metadata. Either a comparison: a `path` of object keys ("project.name") and exactly one ' +
    'operator; or exactly one of `and`, `or`, `not`. A missing key never equals anything: `ne` and `nin` match it, ' +
    `the others do not. At most ${MAX_METADATA_FILTER_DEPTH} levels deep and ${MAX_METADATA_CONDITIONS} comparisons.`,
  fields: (t) => ({
    path: t.string({
      description: `Object keys joined by dots, e.g. "source" or "project.name" (1 to ${MAX_METADATA_PATH_KEYS} keys).`,
    }),
    eq: t.field({ type: 'JSON', description: 'Equal to this JSON value (numbers by value: 1 equals 1.0).' }),
    ne: t.field({ type: 'JSON', description: 'Missing, or not equal to this JSON value.' }),
    in: t.field({
      type: ['JSON'],
      extensions: maxItems(MAX_METADATA_LIST),
      description: `Equal to one of these values (1 to ${MAX_METADATA_LIST}).`,
    }),
    nin: t.field({
      type: ['JSON'],
      extensions: maxItems(MAX_METADATA_LIST),
      description: `Missing, or equal to none of these values (1 to ${MAX_METADATA_LIST}).`,
    }),
    gt: t.field({
      type: 'JSON',
      description:
        'Greater than this number or string (strings compare as text: ISO dates work). Values of another type ' +
        'never match.',
    }),
    gte: t.field({ type: 'JSON', description: 'Greater than or equal to this number or string.' }),
    lt: t.field({ type: 'JSON', description: 'Less than this number or string.' }),
    lte: t.field({ type: 'JSON', description: 'Less than or equal to this number or string.' }),
    contains: t.field({
      type: 'JSON',
      description:
        'A string: a text value containing it (case-sensitive), or an array with it as an element. An array or ' +
        'object: JSON containment (@>).',
    }),
    exists: t.boolean({ description: 'true: the path is present (even as null); false: it is missing.' }),
    and: t.field({
      type: [MetadataFilter],
      extensions: maxItems(MAX_METADATA_LIST),
      description: `All of these (1 to ${MAX_METADATA_LIST}).`,
    }),
    or: t.field({
      type: [MetadataFilter],
      extensions: maxItems(MAX_METADATA_LIST),
      description: `At least one of these (1 to ${MAX_METADATA_LIST}).`,
    }),
    not: t.field({ type: MetadataFilter, description: 'Not this.' }),
  }),
});

const isGiven = (value: unknown): boolean => value !== undefined && value !== null;

function refuse(field: string[], message: string): never {
  throw new ValidationError(`${field.join('.')}: ${message}`, field);
}

/** The object keys of a dotted path, or VALIDATION on `field`. */
function pathKeys(path: string, field: string[]): string[] {
  const keys = path.split('.');
  if (keys.length > MAX_METADATA_PATH_KEYS) refuse(field, `a path has at most ${MAX_METADATA_PATH_KEYS} keys`);
  for (const key of keys) {
    if (key === '') refuse(field, 'a path is object keys joined by dots, none of them empty (e.g. "project.name")');
    if ([...key].length > MAX_METADATA_KEY_LENGTH)
      refuse(field, `a key has at most ${MAX_METADATA_KEY_LENGTH} characters`);
    if (unstorable(key)) refuse(field, 'a key cannot hold NUL characters or lone surrogates');
  }
  return keys;
}

/** The JSON text of an operand, bound as a parameter and cast to jsonb by the statement. */
function jsonOperand(value: unknown, field: string[]): string {
  const text = JSON.stringify(value);
  if (text === undefined || unstorable(text)) refuse(field, 'must be a JSON value PostgreSQL can store');
  return text;
}

function orderedOperand(value: unknown, field: string[]): { type: 'number' | 'string'; json: string } {
  if (typeof value === 'number' && Number.isFinite(value)) return { type: 'number', json: jsonOperand(value, field) };
  if (typeof value === 'string') return { type: 'string', json: jsonOperand(value, field) };
  return refuse(field, 'must be a number or a string');
}

function listOperand(value: unknown[], field: string[]): string {
  if (value.length < 1 || value.length > MAX_METADATA_LIST) refuse(field, `must hold 1 to ${MAX_METADATA_LIST} values`);
  return jsonOperand(value, field);
}

const ORDER_OPERATORS = { gt: '>', gte: '>=', lt: '<', lte: '<=' } as const;

/**
 * One comparison as SQL over `value` (the jsonb at the path; SQL NULL where it is missing). Every
 * condition is written so that it cannot fail on any row (type checks before ordering, no casts
 * of stored values): the search's view may test it on rows before their organization (see the
 * migration 20261125100000_memory_search_view), so it must neither raise nor depend on them.
 */
function comparison(operator: Comparison, operand: unknown, value: string, field: string[], bind: Bind): string {
  switch (operator) {
    case 'eq':
      return `${value} = ${bind(jsonOperand(operand, field))}::jsonb`;
    case 'ne':
      return `${value} IS DISTINCT FROM ${bind(jsonOperand(operand, field))}::jsonb`;
    case 'in':
    case 'nin': {
      if (!Array.isArray(operand)) return refuse(field, 'must be a list of JSON values');
      const member = `${value} IN (SELECT jsonb_array_elements(${bind(listOperand(operand, field))}::jsonb))`;
      return operator === 'in' ? member : `${value} IS NULL OR NOT (${member})`;
    }
    case 'gt':
    case 'gte':
    case 'lt':
    case 'lte': {
      const { type, json } = orderedOperand(operand, field);
      return `jsonb_typeof(${value}) = ${bind(type)} AND ${value} ${ORDER_OPERATORS[operator]} ${bind(json)}::jsonb`;
    }
    case 'contains': {
      if (typeof operand === 'string') {
        return `(jsonb_typeof(${value}) = 'string' AND strpos(${value} #>> '{}', ${bind(operand)}) > 0)
          OR (jsonb_typeof(${value}) = 'array' AND ${value} @> ${bind(jsonOperand([operand], field))}::jsonb)`;
      }
      if (typeof operand === 'object' && operand !== null)
        return `${value} @> ${bind(jsonOperand(operand, field))}::jsonb`;
      return refuse(field, 'must be a string, an array or an object');
    }
    case 'exists':
      if (typeof operand !== 'boolean') return refuse(field, 'must be true or false');
      return operand ? `${value} IS NOT NULL` : `${value} IS NULL`;
  }
}

interface Budget {
  comparisons: number;
}

function compileNode(
  filter: MetadataFilterShape,
  column: string,
  field: string[],
  depth: number,
  budget: Budget,
  bind: Bind,
): string {
  if (depth > MAX_METADATA_FILTER_DEPTH)
    refuse(field, `a metadata filter nests at most ${MAX_METADATA_FILTER_DEPTH} levels deep`);
  const operators = COMPARISONS.filter((name) => isGiven(filter[name]));
  const combinations = COMBINATIONS.filter((name) => isGiven(filter[name]));
  if (combinations.length > 0) {
    if (combinations.length > 1 || operators.length > 0 || isGiven(filter.path)) {
      refuse(field, 'give either a path with one operator, or exactly one of and, or, not');
    }
    const combination = combinations[0]!;
    if (combination === 'not')
      return `NOT (${compileNode(filter.not!, column, [...field, 'not'], depth + 1, budget, bind)})`;
    const items = filter[combination]!;
    if (items.length < 1 || items.length > MAX_METADATA_LIST)
      refuse([...field, combination], `must hold 1 to ${MAX_METADATA_LIST} conditions`);
    const parts = items.map((item, index) =>
      compileNode(item, column, [...field, combination, String(index)], depth + 1, budget, bind),
    );
    return `(${parts.join(combination === 'and' ? ' AND ' : ' OR ')})`;
  }
  if (!isGiven(filter.path)) refuse([...field, 'path'], 'a comparison needs a path (or use and, or, not)');
  if (operators.length !== 1) refuse(field, `give exactly one operator with a path: one of ${COMPARISONS.join(', ')}`);
  budget.comparisons += 1;
  if (budget.comparisons > MAX_METADATA_CONDITIONS)
    refuse(field, `a metadata filter holds at most ${MAX_METADATA_CONDITIONS} comparisons`);
  const keys = pathKeys(filter.path!, [...field, 'path']);
  // Bound once, and read by each use of `value` in the comparison (as $n::text every time).
  const value = keys.reduce((json, key) => `(${json} -> ${bind(key)}::text)`, column);
  const operator = operators[0]!;
  // Each comparison is true or false, never NULL, so that `not` turns a missing key's false into true.
  return `coalesce((${comparison(operator, filter[operator], value, [...field, operator], bind)}), false)`;
}

/**
 * The SQL condition that `filter` makes on `column` (a jsonb expression written by the caller,
 * never by the request), or VALIDATION naming the part of the filter at fault, under `field`
 * (e.g. ["filter", "metadata", "and", "1", "gt"]).
 */
export function metadataCondition(filter: MetadataFilterShape, column: string, field: string[], bind: Bind): string {
  return compileNode(filter, column, field, 1, { comparisons: 0 }, bind);
}
