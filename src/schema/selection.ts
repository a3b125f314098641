import type { FieldNode, GraphQLObjectType, GraphQLResolveInfo } from 'graphql';
import { fieldsOf } from '../planner/selection';

/**
 * What a request selects of one object type: for each field name, every node that selects it
 * (under any alias, fragment or inline fragment), so that the rows read for the type carry the
 * union of what all of them need.
 */
export type Selection = Map<string, FieldNode[]>;

/** The fields that `nodes` select of `typeName`, an object type: the planner's collection, by field name. */
export function selectionOf(nodes: readonly FieldNode[], typeName: string, info: Pick<GraphQLResolveInfo, 'fragments' | 'variableValues' | 'schema'>): Selection {
  const selection: Selection = new Map();
  for (const fieldNodes of fieldsOf(nodes, info.schema.getType(typeName) as GraphQLObjectType, info).values()) {
    const name = fieldNodes[0]!.name.value;
    selection.set(name, [...(selection.get(name) ?? []), ...fieldNodes]);
  }
  return selection;
}

/** The SQL expression that answers each scalar field a fast path can read straight from a row. */
export type ColumnMap = Readonly<Record<string, string>>;

/**
 * The `[field, expression]` pairs that answer `selection` from `columns`, always with the id
 * (rows are keyed by it); undefined when a selected field is not a column (a relation, a count),
 * which the caller either reads itself (`served`) or leaves to the general path.
 */
export function selectedColumns(selection: Selection, columns: ColumnMap, served: ReadonlySet<string> = new Set()): Array<[string, string]> | undefined {
  const pairs: Array<[string, string]> = [['id', columns.id!]];
  for (const field of selection.keys()) {
    if (field === 'id' || field === '__typename' || served.has(field)) continue;
    const expression = columns[field];
    if (expression === undefined) return undefined;
    pairs.push([field, expression]);
  }
  return pairs;
}
