import {
  type FieldNode,
  type FragmentDefinitionNode,
  GraphQLIncludeDirective,
  type GraphQLObjectType,
  GraphQLSkipDirective,
  getDirectiveValues,
  Kind,
  type SelectionSetNode,
} from 'graphql';

/** What a selection is read with: the document's fragments and the request's variables. */
export interface SelectionContext {
  fragments: Readonly<Record<string, FragmentDefinitionNode>>;
  variableValues: Readonly<Record<string, unknown>>;
}

/**
 * The fields `nodes` select of `type`, by response key (alias or name), in the order graphql-js
 * executes them: every node that shares a key is kept, since GraphQL merges their selections.
 */
export type FieldsByKey = Map<string, FieldNode[]>;

function included(
  node: Parameters<typeof getDirectiveValues>[1],
  variables: SelectionContext['variableValues'],
): boolean {
  if (getDirectiveValues(GraphQLSkipDirective, node, variables)?.if === true) return false;
  return getDirectiveValues(GraphQLIncludeDirective, node, variables)?.if !== false;
}

/** Whether a fragment on `condition` applies to `type`: the type itself or an interface of it. */
function applies(condition: string, type: GraphQLObjectType): boolean {
  return condition === type.name || type.getInterfaces().some((implemented) => implemented.name === condition);
}

function collect(
  set: SelectionSetNode | undefined,
  type: GraphQLObjectType,
  context: SelectionContext,
  into: FieldsByKey,
  visited: Set<string>,
): void {
  for (const selection of set?.selections ?? []) {
    if (!included(selection, context.variableValues)) continue;
    if (selection.kind === Kind.FIELD) {
      const key = selection.alias?.value ?? selection.name.value;
      const nodes = into.get(key);
      if (nodes) nodes.push(selection);
      else into.set(key, [selection]);
    } else if (selection.kind === Kind.INLINE_FRAGMENT) {
      if (!selection.typeCondition || applies(selection.typeCondition.name.value, type))
        collect(selection.selectionSet, type, context, into, visited);
    } else {
      const name = selection.name.value;
      const fragment = context.fragments[name];
      if (visited.has(name) || !fragment || !applies(fragment.typeCondition.name.value, type)) continue;
      visited.add(name);
      collect(fragment.selectionSet, type, context, into, visited);
    }
  }
}

/** The fields an operation's selection set `set` selects of `type`, its root type. */
export function fieldsOfOperation(
  set: SelectionSetNode,
  type: GraphQLObjectType,
  context: SelectionContext,
): FieldsByKey {
  const fields: FieldsByKey = new Map();
  collect(set, type, context, fields, new Set());
  return fields;
}

/** The fields `nodes` select beneath them of `type`, an object type. */
export function fieldsOf(nodes: readonly FieldNode[], type: GraphQLObjectType, context: SelectionContext): FieldsByKey {
  const fields: FieldsByKey = new Map();
  const visited = new Set<string>();
  for (const node of nodes) collect(node.selectionSet, type, context, fields, visited);
  return fields;
}
