import {
  type GraphQLInputType,
  type GraphQLSchema,
  getNullableType,
  isEnumType,
  isInputObjectType,
  isListType,
  Kind,
  parse,
  print,
  typeFromAST,
  visit,
} from 'graphql';

/**
 * How a string is written in the query text. GraphQL has escapes of its own (`\u0041`,
 * `\u{1F600}`) and block strings (`"""…"""`, where nothing is escaped), so the same value can
 * reach the server in ways a check of the raw text does not see.
 */
export type StringStyle = 'plain' | 'fixed' | 'braced' | 'block';

const hex = (codeUnit: number, width: number) => codeUnit.toString(16).toUpperCase().padStart(width, '0');

export function graphqlString(value: string, style: StringStyle): string {
  if (style === 'block') return `"""${value.replaceAll('"""', '\\"""')}"""`;
  let written = '';
  for (const character of value) {
    const codePoint = character.codePointAt(0)!;
    if (character === '"' || character === '\\') written += `\\${character}`;
    else if (style === 'braced' && (codePoint < 0x20 || codePoint > 0x7e)) written += `\\u{${hex(codePoint, 1)}}`;
    else if (codePoint < 0x20 || (style === 'fixed' && codePoint > 0x7e)) {
      // One \uXXXX per UTF-16 unit: a pair for an astral character, one alone for a lone surrogate.
      for (let index = 0; index < character.length; index += 1) written += `\\u${hex(character.charCodeAt(index), 4)}`;
    } else written += character;
  }
  return `"${written}"`;
}

const NAME = /^[_A-Za-z][_0-9A-Za-z]*$/;

/** A JSON value written as a GraphQL literal; object keys that are no GraphQL name are renamed. */
function untypedLiteral(value: unknown, style: StringStyle): string {
  if (value === null || value === undefined) return 'null';
  if (typeof value === 'string') return graphqlString(value, style);
  if (typeof value === 'number') return Number.isFinite(value) ? String(value) : 'null';
  if (typeof value === 'boolean') return String(value);
  if (Array.isArray(value)) return `[${value.map((item) => untypedLiteral(item, style)).join(', ')}]`;
  const fields = Object.entries(value as Record<string, unknown>).map(
    ([key, item], index) => `${NAME.test(key) ? key : `key${index}`}: ${untypedLiteral(item, style)}`,
  );
  return `{${fields.join(', ')}}`;
}

/** A value written as a literal of an input type: enum values bare, input objects field by field. */
function literalOf(value: unknown, type: GraphQLInputType, style: StringStyle): string {
  if (value === null || value === undefined) return 'null';
  const nullable = getNullableType(type);
  if (isListType(nullable))
    return Array.isArray(value)
      ? `[${value.map((item) => literalOf(item, nullable.ofType, style)).join(', ')}]`
      : literalOf(value, nullable.ofType, style);
  if (isEnumType(nullable) && typeof value === 'string' && NAME.test(value)) return value;
  if (isInputObjectType(nullable) && typeof value === 'object' && !Array.isArray(value)) {
    const fields = nullable.getFields();
    const written = Object.entries(value as Record<string, unknown>)
      .filter(([key]) => NAME.test(key))
      .map(
        ([key, item]) =>
          `${key}: ${fields[key] ? literalOf(item, fields[key].type, style) : untypedLiteral(item, style)}`,
      );
    return `{${written.join(', ')}}`;
  }
  return untypedLiteral(value, style);
}

/**
 * The same operation with every variable written inline, as a literal of its declared type (a
 * variable without a value becomes null).
 */
export function inlineVariables(
  schema: GraphQLSchema,
  query: string,
  variables: Record<string, unknown>,
  style: StringStyle,
): string {
  const document = parse(query);
  const types = new Map<string, GraphQLInputType>();
  visit(document, {
    VariableDefinition(node) {
      const type = typeFromAST(schema, node.type);
      if (type) types.set(node.variable.name.value, type as GraphQLInputType);
    },
  });
  const inlined = visit(document, {
    OperationDefinition(node) {
      return { ...node, variableDefinitions: [] };
    },
    Variable(node) {
      const name = node.name.value;
      const type = types.get(name);
      // A placeholder the printed literal replaces: print() would escape the text otherwise.
      return type ? { kind: Kind.ENUM, value: `__literal_${name}__` } : node;
    },
  });
  let text = print(inlined);
  for (const [name, type] of types)
    text = text.replace(new RegExp(`__literal_${name}__`, 'g'), () => literalOf(variables[name], type, style));
  return text;
}
