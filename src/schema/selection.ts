import {
  getDirectiveValues,
  GraphQLIncludeDirective,
  GraphQLSkipDirective,
  Kind,
  type FieldNode,
  type GraphQLResolveInfo,
  type SelectionSetNode,
} from 'graphql';

/**
 * What a request selects of one object type: for each field name, every node that selects it
 * (under any alias, fragment or inline fragment), so that the rows read for the type carry the
 * union of what all of them need.
 */
export type Selection = Map<string, FieldNode[]>;

type Fragments = GraphQLResolveInfo['fragments'];
type Variables = GraphQLResolveInfo['variableValues'];

function included(node: Parameters<typeof getDirectiveValues>[1], variables: Variables): boolean {
  if (getDirectiveValues(GraphQLSkipDirective, node, variables)?.if === true) return false;
  return getDirectiveValues(GraphQLIncludeDirective, node, variables)?.if !== false;
}

function collect(set: SelectionSetNode | undefined, typeName: string, info: Pick<GraphQLResolveInfo, 'fragments' | 'variableValues'>, into: Selection): void {
  for (const selection of set?.selections ?? []) {
    if (!included(selection, info.variableValues)) continue;
    if (selection.kind === Kind.FIELD) {
      const name = selection.name.value;
      into.set(name, [...(into.get(name) ?? []), selection]);
    } else if (selection.kind === Kind.INLINE_FRAGMENT) {
      if (!selection.typeCondition || selection.typeCondition.name.value === typeName) collect(selection.selectionSet, typeName, info, into);
    } else {
      const fragment = (info.fragments as Fragments)[selection.name.value];
      if (fragment && fragment.typeCondition.name.value === typeName) collect(fragment.selectionSet, typeName, info, into);
    }
  }
}

/** The fields that `nodes` select of `typeName`, an object type (no interfaces or unions here). */
export function selectionOf(nodes: readonly FieldNode[], typeName: string, info: Pick<GraphQLResolveInfo, 'fragments' | 'variableValues'>): Selection {
  const selection: Selection = new Map();
  for (const node of nodes) collect(node.selectionSet, typeName, info, selection);
  return selection;
}

/** The SQL expression that answers each scalar field a fast path can read straight from a row. */
export type ColumnMap = Readonly<Record<string, string>>;

/**
 * A column map's expression for a timestamp column: ISO-8601 text in UTC with milliseconds,
 * exactly what the DateTime scalar would print for the Date Prisma reads, computed by
 * PostgreSQL so that no Date is made and printed again per row.
 */
export function isoTimestamp(column: string): string {
  return `to_char(${column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;
}

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
