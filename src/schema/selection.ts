import type { FieldNode, GraphQLObjectType, GraphQLResolveInfo } from 'graphql';
import { fieldsOf } from '../planner/selection';

/**
 * What a request selects of one object type: for each field name, every node that selects it
 * (under any alias, fragment or inline fragment), so that the rows read for the type carry the
 * union of what all of them need.
 */
export type Selection = Map<string, FieldNode[]>;

/** The fields that `nodes` select of `typeName`, an object type: the planner's collection, by field name. */
export function selectionOf(
  nodes: readonly FieldNode[],
  typeName: string,
  info: Pick<GraphQLResolveInfo, 'fragments' | 'variableValues' | 'schema'>,
): Selection {
  const selection: Selection = new Map();
  for (const fieldNodes of fieldsOf(nodes, info.schema.getType(typeName) as GraphQLObjectType, info).values()) {
    const name = fieldNodes[0]!.name.value;
    selection.set(name, [...(selection.get(name) ?? []), ...fieldNodes]);
  }
  return selection;
}

/**
 * Whether one field's nodes (a `selectionOf` entry) are asked for under one response key. Under
 * several (`memory { updatedAt } old: memory { updatedAt: scope }`), their selections may give
 * one response key to different fields or arguments: one object planned for all of them would
 * answer one alias with another's value, so such a field is read through its general path.
 */
export function underOneResponseKey(nodes: readonly FieldNode[]): boolean {
  const keyOf = (node: FieldNode) => node.alias?.value ?? node.name.value;
  return nodes.every((node) => keyOf(node) === keyOf(nodes[0]!));
}
