import { useGraphQlJit } from '@envelop/graphql-jit';
import {
  BREAK,
  type DocumentNode,
  GraphQLError,
  type GraphQLInputObjectType,
  type GraphQLSchema,
  getNamedType,
  getNullableType,
  isInputObjectType,
  isScalarType,
  Kind,
  OperationTypeNode,
  type Source,
  type SourceLocation,
  TypeInfo,
  type TypeNode,
  visit,
  visitWithTypeInfo,
} from 'graphql';
import type { Plugin } from 'graphql-yoga';

/**
 * graphql-jit answers a selection's fields first, then its fragment spreads, then its inline
 * fragments, where graphql-js keeps the document's order. The two agree when, in every selection
 * set, the fields come first and the fragments that follow are all of one kind, and no field that
 * appears twice is conditional; other documents are executed by graphql-js, so that an answer's
 * bytes never depend on the executor.
 */
function keepsOrderCompiled(document: DocumentNode): boolean {
  let agree = true;
  visit(document, {
    SelectionSet(node) {
      let fragmentKind: Kind | undefined;
      for (const { kind } of node.selections) {
        if (kind === Kind.FIELD ? fragmentKind !== undefined : fragmentKind !== undefined && fragmentKind !== kind)
          agree = false;
        if (kind !== Kind.FIELD) fragmentKind = kind;
      }
      // graphql-jit places a field where its key first appears, even where @skip/@include leaves
      // that appearance out; graphql-js places it where it is first included.
      const keys = new Map<string, number>();
      let conditional = false;
      for (const selection of node.selections) {
        if (selection.kind !== Kind.FIELD) continue;
        const key = selection.alias?.value ?? selection.name.value;
        keys.set(key, (keys.get(key) ?? 0) + 1);
        if (selection.directives?.length) conditional = true;
      }
      if (conditional && [...keys.values()].some((count) => count > 1)) agree = false;
    },
  });
  return agree;
}

/** Whether `type` reaches itself through its fields (MetadataFilter's and/or/not do). */
function isRecursiveInput(type: GraphQLInputObjectType): boolean {
  const seen = new Set<string>();
  const reaches = (from: GraphQLInputObjectType): boolean =>
    Object.values(from.getFields()).some((field) => {
      const named = getNamedType(field.type);
      if (!isInputObjectType(named)) return false;
      if (named.name === type.name) return true;
      if (seen.has(named.name)) return false;
      seen.add(named.name);
      return reaches(named);
    });
  return reaches(type);
}

function namedTypeOf(node: TypeNode): string {
  return node.kind === Kind.NAMED_TYPE ? node.name.value : namedTypeOf(node.type);
}

/**
 * graphql-jit 0.8 compiles a parser for each variable's type by unfolding the type, which never
 * ends for a recursive input type (a stack overflow): documents with such a variable go to
 * graphql-js. The same values written inline are read by graphql-js's own code either way.
 */
function hasRecursiveInputVariable(document: DocumentNode, schema: GraphQLSchema): boolean {
  let recursive = false;
  visit(document, {
    VariableDefinition(node) {
      const type = schema.getType(namedTypeOf(node.type));
      if (type && isInputObjectType(type) && reachesRecursive(type)) recursive = true;
    },
  });
  return recursive;
}

/** Whether an input field's type is, or reaches, a recursive input type. */
function reachesRecursive(type: Parameters<typeof getNamedType>[0], seen = new Set<string>()): boolean {
  const named = getNamedType(type);
  if (!isInputObjectType(named) || seen.has(named.name)) return false;
  seen.add(named.name);
  return (
    isRecursiveInput(named) || Object.values(named.getFields()).some((field) => reachesRecursive(field.type, seen))
  );
}

/**
 * graphql-jit 0.8 parses the literal of a scalar whose `parseLiteral` takes variables (JSON) without
 * them: `metadata: { source: $s }` would be stored as `{}`, and for any such literal it prints
 * "Scalar with variable inputs detected" on stderr. graphql-js hands the variables over, so a
 * document with a literal of such a scalar goes to graphql-js. (TypeInfo gives a list literal its
 * item's type, which is what graphql-jit parses each item as.)
 */
function hasVariableTakingScalarLiteral(document: DocumentNode, schema: GraphQLSchema): boolean {
  let found = false;
  const typeInfo = new TypeInfo(schema);
  const enterLiteral = () => {
    const expected = typeInfo.getInputType();
    const scalar = expected && getNullableType(expected);
    if (scalar && isScalarType(scalar) && scalar.parseLiteral.length > 1) found = true;
    return found ? BREAK : undefined;
  };
  visit(
    document,
    visitWithTypeInfo(typeInfo, {
      StringValue: enterLiteral,
      IntValue: enterLiteral,
      FloatValue: enterLiteral,
      BooleanValue: enterLiteral,
      EnumValue: enterLiteral,
      ListValue: enterLiteral,
      ObjectValue: enterLiteral,
    }),
  );
  return found;
}

/**
 * graphql-jit 0.8's compiled subscriptions hand the operation's variables to the subscribe
 * resolver as its arguments: an inline argument, or a variable named otherwise, arrives as
 * `undefined`. Subscriptions are executed by graphql-js, their events too.
 */
function hasSubscription(document: DocumentNode): boolean {
  return document.definitions.some(
    (definition) =>
      definition.kind === Kind.OPERATION_DEFINITION && definition.operation === OperationTypeNode.SUBSCRIPTION,
  );
}

/**
 * graphql-jit 0.8 refuses a non-null variable left out for its default ("was not provided"), and
 * copies a default through JSON, so that a DateTime default reaches the resolver as a string, not
 * the scalar's value. Documents with a default value go to graphql-js.
 */
function hasVariableDefault(document: DocumentNode): boolean {
  return document.definitions.some(
    (definition) =>
      definition.kind === Kind.OPERATION_DEFINITION &&
      (definition.variableDefinitions ?? []).some((variable) => variable.defaultValue !== undefined),
  );
}

/** Why a document runs on graphql-js rather than compiled, as counted in `/metrics`. */
export type InterpretedReason =
  | 'subscription'
  | 'fragment_order'
  | 'recursive_input_variable'
  | 'json_literal'
  | 'variable_default';

function whyInterpreted(document: DocumentNode, schema: GraphQLSchema): InterpretedReason | undefined {
  if (hasSubscription(document)) return 'subscription';
  if (!keepsOrderCompiled(document)) return 'fragment_order';
  if (hasRecursiveInputVariable(document, schema)) return 'recursive_input_variable';
  if (hasVariableTakingScalarLiteral(document, schema)) return 'json_literal';
  if (hasVariableDefault(document)) return 'variable_default';
  return undefined;
}

const verdicts = new WeakMap<DocumentNode, InterpretedReason | null>();

/** The reason a document goes to graphql-js, or undefined when graphql-jit may run it; once per document. */
function interpretedReason(document: DocumentNode, schema: GraphQLSchema): InterpretedReason | undefined {
  let verdict = verdicts.get(document);
  if (verdict === undefined) {
    verdict = whyInterpreted(document, schema) ?? null;
    verdicts.set(document, verdict);
  }
  return verdict ?? undefined;
}

/** The offset of a line and column in `source`, as graphql-js counts them. */
function positionIn(source: Source, { line, column }: SourceLocation): number {
  const lineBreak = /\r\n|[\n\r]/g;
  let start = 0;
  for (let current = 1; current < line && lineBreak.exec(source.body); current += 1) start = lineBreak.lastIndex;
  return start + column - 1;
}

/**
 * A compiled query keeps no AST, so its errors carry locations but no nodes, and yoga, which
 * rebuilds every error from its nodes or source positions, would drop them: they are given
 * source positions instead.
 */
function withSourcePositions(error: GraphQLError, source: Source | undefined): GraphQLError {
  if (!source || error.nodes || error.positions || !error.locations) return error;
  return new GraphQLError(error.message, {
    source,
    positions: error.locations.map((location) => positionIn(source, location)),
    path: error.path,
    originalError: error.originalError,
    extensions: error.extensions,
  });
}

/**
 * graphql-js's interpreter or graphql-jit's compiled queries (the GRAPHQL_JIT setting). A compiled
 * query is built once per document (yoga's parser cache hands the same document back) and runs
 * its resolvers without the interpreter's per-field work. graphql-jit's result puts `data` before
 * `errors`: it is rebuilt in graphql-js's order. These plugins must come before the row scope in
 * the plugin list (src/http/yoga.ts).
 */
export function executorPlugins(graphqlJit: boolean, onInterpreted?: (reason: InterpretedReason) => void): Plugin[] {
  if (!graphqlJit) return [];
  const enableIf = ({ document, schema }: { document: DocumentNode; schema: GraphQLSchema }) => {
    const reason = interpretedReason(document, schema);
    if (reason !== undefined) onInterpreted?.(reason);
    return reason === undefined;
  };
  return [
    useGraphQlJit({}, { enableIf }) as Plugin,
    {
      onExecute: ({ args }) => ({
        onExecuteDone({ result, setResult }) {
          if (!('errors' in result) || !result.errors) return;
          const errors = result.errors.map((error) => withSourcePositions(error, args.document.loc?.source));
          const { data, extensions } = result;
          setResult(extensions === undefined ? { errors, data } : { errors, data, extensions });
        },
      }),
    },
  ];
}
