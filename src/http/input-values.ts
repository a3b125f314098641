import {
  type ASTNode,
  coerceInputValue,
  type DocumentNode,
  type FieldNode,
  type FragmentDefinitionNode,
  GraphQLError,
  type GraphQLField,
  type GraphQLInputType,
  type GraphQLSchema,
  getArgumentValues,
  getNullableType,
  getOperationAST,
  isInputObjectType,
  isInputType,
  isListType,
  isNonNullType,
  Kind,
  type OperationDefinitionNode,
  TypeInfo,
  typeFromAST,
  valueFromAST,
  visit,
  visitWithTypeInfo,
} from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { ValidationError } from '../errors';
import { maxItemsOf, overCap } from '../schema/list-caps';
import { assertPageArguments, PAGE_ARGUMENTS, type PageArguments } from '../schema/pagination';
import { withAllowedValues } from './allowed-values';
import { invalidInput, MAX_INPUT_DEPTH } from './input-guard';
import { forEachLiteral } from './literals';

/** Enough to fix a request; a list of hundreds of bad items helps no one. */
const MAX_REPORTED = 20;

/**
 * For an input field that is missing or unknown, graphql-js reports the object that should or
 * should not hold it; its message names the field (`Field "name" of required type "String!" was
 * not provided.`, `Field "AgentOrder.field" of …`, `Field "extra" is not defined by type …`), and
 * the path goes on to it.
 */
function withFieldNamedIn(path: string[], message: string): string[] {
  const named = /^Field "(?:\w+\.)?(\w+)" (?:of required type|is not defined by type)/.exec(message);
  return named ? [...path, named[1]!] : path;
}

/**
 * Coerces the operation's variables to their declared types, as execution would, and reports
 * every value that does not fit with its path: `$role` for a bad enum value, `$input.memoryType`
 * inside an input object. Done here rather than left to the executor, so that the answer does
 * not depend on which executor runs the operation.
 */
function coerceVariables(
  schema: GraphQLSchema,
  operation: OperationDefinitionNode,
  inputs: Record<string, unknown>,
): { coerced: Record<string, unknown> } | { errors: GraphQLError[] } {
  const coerced: Record<string, unknown> = {};
  const errors: GraphQLError[] = [];
  for (const definition of operation.variableDefinitions ?? []) {
    const name = definition.variable.name.value;
    const type = typeFromAST(schema, definition.type);
    // An unknown or output type is a validation error already.
    if (!type || !isInputType(type)) continue;
    const field = [`$${name}`];
    if (!Object.hasOwn(inputs, name)) {
      if (definition.defaultValue) coerced[name] = valueFromAST(definition.defaultValue, type);
      else if (isNonNullType(type))
        errors.push(invalidInput(field, `$${name}: a value of type ${String(type)} is required`, definition));
      continue;
    }
    const value = inputs[name];
    if (value === null && isNonNullType(type)) {
      errors.push(invalidInput(field, `$${name}: must not be null (${String(type)})`, definition));
      continue;
    }
    coerced[name] = coerceInputValue(value, type, (path, _invalid, error) => {
      const at = withFieldNamedIn([...field, ...path.map(String)], error.message);
      errors.push(invalidInput(at, `${at.join('.')}: ${withAllowedValues(schema, error.message)}`, definition));
    });
  }
  return errors.length > 0 ? { errors: errors.slice(0, MAX_REPORTED) } : { coerced };
}

/** Whether a value of `type` can hold a list (through input objects, whose fields may). */
function mayHoldList(type: GraphQLInputType, seen = new Set<string>()): boolean {
  const named = getNullableType(type);
  if (isListType(named)) return true;
  if (!isInputObjectType(named) || seen.has(named.name)) return false;
  seen.add(named.name);
  return Object.values(named.getFields()).some((field) => mayHoldList(field.type, seen));
}

/** A field of the operation whose arguments need checking with the request's variables. */
interface ArgumentCheck {
  field: GraphQLField<unknown, unknown>;
  node: FieldNode;
  paged: boolean;
}

const checksOfOperation = new WeakMap<OperationDefinitionNode, ArgumentCheck[]>();

/**
 * The fields of the operation (through fragments too) that take a list or are connections:
 * found once per document (yoga's parser cache hands the same one back), checked per request.
 */
function argumentChecks(
  schema: GraphQLSchema,
  document: DocumentNode,
  operation: OperationDefinitionNode,
): ArgumentCheck[] {
  const known = checksOfOperation.get(operation);
  if (known) return known;
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const definition of document.definitions)
    if (definition.kind === Kind.FRAGMENT_DEFINITION) fragments.set(definition.name.value, definition);
  const reached: Array<OperationDefinitionNode | FragmentDefinitionNode> = [operation];
  const checks: ArgumentCheck[] = [];
  const typeInfo = new TypeInfo(schema);
  const visitor = visitWithTypeInfo(typeInfo, {
    FragmentSpread(node) {
      const fragment = fragments.get(node.name.value);
      if (fragment && !reached.includes(fragment)) reached.push(fragment);
    },
    Field(node) {
      const field = typeInfo.getFieldDef();
      if (!field || field.args.length === 0) return;
      const paged = PAGE_ARGUMENTS.every((name) => field.args.some((argument) => argument.name === name));
      if (paged || field.args.some((argument) => mayHoldList(argument.type))) checks.push({ field, node, paged });
    },
  });
  for (let index = 0; index < reached.length; index += 1) visit(reached[index]!, visitor);
  checksOfOperation.set(operation, checks);
  return checks;
}

/**
 * The arguments of every field the operation reaches, checked with the variables' values: every
 * list against its declared cap (src/schema/list-caps.ts), and the page arguments of every
 * connection (src/schema/pagination.ts).
 */
function argumentRefusals(
  schema: GraphQLSchema,
  document: DocumentNode,
  operation: OperationDefinitionNode,
  variables: Record<string, unknown>,
): GraphQLError[] {
  const errors: GraphQLError[] = [];
  for (const { field, node, paged } of argumentChecks(schema, document, operation)) {
    let args: Record<string, unknown>;
    try {
      args = getArgumentValues(field, node, variables);
    } catch {
      continue; // a value of the wrong type: GraphQL's validation or the variables' coercion says so
    }
    for (const argument of field.args) {
      const over = overCap(args[argument.name], argument.type, maxItemsOf(argument.extensions), [argument.name]);
      if (over)
        errors.push(
          invalidInput(over.path, `${over.path.join('.')}: holds at most ${over.cap} items (got ${over.size})`, node),
        );
    }
    if (!paged) continue;
    try {
      assertPageArguments(args as PageArguments);
    } catch (error) {
      if (!(error instanceof ValidationError)) throw error;
      errors.push(invalidInput(error.field ?? [], error.message, node));
    }
  }
  return errors.slice(0, MAX_REPORTED);
}

/**
 * GraphQL's own validation refuses a bad value written inline (`first: "abc"`, `memoryType:
 * GOSSIP`, an unknown input field, a missing required one) without saying where in the input it
 * is. Those errors become VALIDATION errors with the input path, like the same values sent as
 * variables. Errors about the document itself (unknown fields, arguments, variables) stay
 * GraphQL validation errors.
 */
function withInputPaths(schema: GraphQLSchema, document: DocumentNode, errors: readonly Error[]): Error[] {
  const paths = new Map<ASTNode, string[]>();
  forEachLiteral(document, (node, path) => {
    paths.set(node, path);
    return path.length <= MAX_INPUT_DEPTH;
  });
  return errors.map((error) => {
    if (!(error instanceof GraphQLError)) return error;
    const node = error.nodes?.[0];
    const path = node && paths.get(node);
    if (!path || error.extensions.code || node.kind === Kind.VARIABLE) return error;
    const field = node.kind === Kind.OBJECT ? withFieldNamedIn(path, error.message) : path;
    return invalidInput(field, `${field.join('.')}: ${withAllowedValues(schema, error.message)}`, node);
  });
}

/**
 * Values of the wrong type, inline or in variables, are VALIDATION errors with the input path
 * (and, for an enum, its values), answered with 400 before anything executes; so are page arguments
 * beyond the caps, whatever
 * the selection under the connection (`agents(first: 101) { totalCount }` included).
 */
export function useTypedInputValues(): Plugin {
  return {
    onValidate({ params }) {
      return ({ valid, result, setResult }) => {
        if (!valid) setResult(withInputPaths(params.schema, params.documentAST, result));
      };
    },
    onExecute({ args, setResultAndStopExecution }) {
      const operation = getOperationAST(args.document, args.operationName);
      if (!operation) return;
      const variables = coerceVariables(args.schema, operation, (args.variableValues ?? {}) as Record<string, unknown>);
      const errors =
        'errors' in variables
          ? variables.errors
          : argumentRefusals(args.schema, args.document, operation, variables.coerced);
      if (errors.length > 0) setResultAndStopExecution({ errors });
    },
  };
}
