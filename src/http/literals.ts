import { type DocumentNode, Kind, type ObjectFieldNode, type ValueNode, visit } from 'graphql';

/**
 * Visits every value written inline in a document: argument values (`agent(id: "…")`), the
 * input fields and list items inside them, and variables' default values. `path` is the input
 * path as errors name it: the argument, then field names and list indexes
 * (["input", "metadata", "tags", "0"]); a variable's default starts with `$name`. An input
 * field is visited as its ObjectField node, then as its value, under the same path.
 *
 * Iterative, so that no nesting overflows the stack; `found` returns false to skip what lies
 * inside a node.
 */
export function forEachLiteral(
  document: DocumentNode,
  found: (node: ValueNode | ObjectFieldNode, path: string[]) => boolean,
): void {
  const pending: Array<{ node: ValueNode | ObjectFieldNode; path: string[] }> = [];
  // graphql-js's visit is iterative too; it finds the roots, the loop below walks the values.
  visit(document, {
    Argument(node) {
      pending.push({ node: node.value, path: [node.name.value] });
      return false;
    },
    VariableDefinition(node) {
      if (node.defaultValue) pending.push({ node: node.defaultValue, path: [`$${node.variable.name.value}`] });
      return false;
    },
  });
  while (pending.length > 0) {
    const { node, path } = pending.pop()!;
    if (!found(node, path)) continue;
    if (node.kind === Kind.OBJECT_FIELD) pending.push({ node: node.value, path });
    if (node.kind === Kind.OBJECT)
      for (const field of node.fields) pending.push({ node: field, path: [...path, field.name.value] });
    if (node.kind === Kind.LIST)
      for (const [index, item] of node.values.entries()) pending.push({ node: item, path: [...path, String(index)] });
  }
}
