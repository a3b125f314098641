import type { ExecutionArgs, ExecutionResult, FieldNode, GraphQLField } from 'graphql';
import { GraphQLError, getArgumentValues, getOperationAST, getVariableValues, isNonNullType, Kind } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { grantedScopes } from '../auth/scopes';
import type { Context } from '../context/types';
import { isServiceFailure } from '../db/connection-failures';
import { JSON_VALUE_MARK, type Plan, planRootField, SHOWN, UNANSWERABLE } from './compile';
import { fieldSqlOf, type RootSql } from './declarations';
import { fieldsOfOperation } from './selection';

/**
 * A query that the read planner answers whole, every field of every root field in its plan, is
 * answered by PostgreSQL's own text of the response (the plans' `response` form,
 * src/planner/compile.ts): no resolver runs, and Node neither parses the statements' JSON nor
 * writes the response's. On the largest lists those copies of the answer were most of what a
 * request allocated, and what the young generation's collections paused to promote
 * (docs/performance.md, "the tail of the large answers"). Anything else, and any statement that
 * writes UNANSWERABLE or fails by an error of its own, is executed as usual: errors, fallbacks
 * and hooks stay theirs. A statement the database could not serve (out of time, out of reach, no
 * connection free) is answered its 503 at once: executed again, its wait would be paid twice.
 */

type Granted = ReturnType<typeof grantedScopes>;

/** Whether scope-auth lets the caller read the type or field of `extensions`: any of its `{ scope: true }`. */
function authorized(extensions: Readonly<Record<string, unknown>>, granted: Granted): boolean {
  const scopes = (extensions.pothosOptions as { authScopes?: unknown } | undefined)?.authScopes;
  if (scopes === undefined) return true;
  if (typeof scopes !== 'object' || scopes === null) return false;
  return Object.entries(scopes).some(([scope, wanted]) => wanted === true && granted[scope as keyof Granted] === true);
}

/**
 * Whether a root object's hook (access tracking) reads its answer for these arguments: the
 * response's text is not parsed for it. (A root connection's hook reads only the ids it shows,
 * which its statement gives beside the text: Plan.shown.)
 */
function objectReadByHook(sql: RootSql, args: Readonly<Record<string, unknown>>): boolean {
  if (!sql.onAnswer || sql.kind !== 'object') return false;
  return sql.answerRead ? sql.answerRead(args) : true;
}

/** A root field's part of the response: its key, and the literal text or the plan that writes it. */
type RootPart = { key: string; text: string } | PlannedPart;

interface PlannedPart {
  key: string;
  plan: Plan;
  sql: RootSql;
  args: Readonly<Record<string, unknown>>;
  nodes: readonly FieldNode[];
  nonNull: boolean;
}

/** The parts of `args`' response, or undefined when the operation must be executed. */
function responseParts(args: ExecutionArgs, context: Context): RootPart[] | undefined {
  const operation = getOperationAST(args.document, args.operationName);
  const queryType = args.schema.getQueryType();
  if (operation?.operation !== 'query' || !queryType) return undefined;
  const granted = grantedScopes(context.caller.scopes);
  if (!authorized(queryType.extensions, granted)) return undefined;
  const variables = getVariableValues(args.schema, operation.variableDefinitions ?? [], args.variableValues ?? {});
  if (variables.errors) return undefined;
  const fragments = Object.fromEntries(
    args.document.definitions.flatMap((definition) =>
      definition.kind === Kind.FRAGMENT_DEFINITION ? [[definition.name.value, definition] as const] : [],
    ),
  );
  const request = {
    fragments,
    variableValues: variables.coerced,
    organizationId: context.caller.organizationId,
    userId: context.caller.userId,
  };
  const parts: RootPart[] = [];
  for (const [key, nodes] of fieldsOfOperation(operation.selectionSet, queryType, request)) {
    const name = nodes[0]!.name.value;
    if (name === '__typename') {
      parts.push({ key, text: JSON.stringify(queryType.name) });
      continue;
    }
    const field = queryType.getFields()[name];
    const part = field && rootPlan(field, nodes, request, granted);
    if (!part) return undefined;
    parts.push({ key, ...part, nodes, nonNull: isNonNullType(field.type) });
  }
  return parts;
}

function rootPlan(
  field: GraphQLField<unknown, unknown>,
  nodes: Parameters<typeof planRootField>[2],
  request: Parameters<typeof planRootField>[4],
  granted: Granted,
): { plan: Plan; sql: RootSql; args: Readonly<Record<string, unknown>> } | undefined {
  const sql = fieldSqlOf(field.extensions);
  if (sql?.kind !== 'object' && sql?.kind !== 'connection') return undefined;
  if (!authorized(field.extensions, granted)) return undefined;
  let args: Record<string, unknown>;
  try {
    args = getArgumentValues(field, nodes[0]!, request.variableValues);
  } catch {
    return undefined;
  }
  if (objectReadByHook(sql, args)) return undefined;
  if (sql.kind === 'connection' && sql.leftToResolver?.(args) !== undefined) return undefined;
  const plan = planRootField(field, sql, nodes, args, request, 'response');
  return plan && plan.fallbacks.length === 0 ? { plan, sql, args } : undefined;
}

/** What a root field's statement answers: its text, and the ids a tracked page shows. */
interface Answer {
  value: string;
  shown?: string[];
}

/**
 * The response to `parts`, or undefined where the query must be executed instead: a statement
 * wrote UNANSWERABLE, or failed by an error that is not the database's refusal. Only when the
 * answer stands are the root connections' hooks told the ids they showed: a query executed
 * instead tells them itself.
 */
async function respond(parts: RootPart[], context: Context): Promise<ExecutionResult | undefined> {
  // In the order they fail, as graphql-js records its resolvers' errors.
  const failures: Array<{ part: PlannedPart; error: unknown }> = [];
  const answers = await Promise.all(
    parts.map(async (part): Promise<Answer | undefined> => {
      if ('text' in part) return { value: part.text };
      try {
        const found = await context.sql.query<Answer>(part.plan.text, part.plan.values);
        return found[0]!;
      } catch (error) {
        failures.push({ part, error });
        return undefined;
      }
    }),
  );
  if (failures.some(({ error }) => !isServiceFailure(error))) return undefined;
  if (answers.some((answer) => answer?.value.includes(UNANSWERABLE))) return undefined;
  parts.forEach((part, index) => {
    const answer = answers[index];
    if (answer && 'plan' in part && part.plan.shown) part.sql.onAnswer?.({ [SHOWN]: answer.shown }, part.args, context);
  });
  if (failures.length === 0) {
    const fields = parts.map((part, index) => `"${part.key}":${withJsonValuesRewritten(answers[index]!.value)}`);
    return textResult(`{"data":{${fields.join(',')}}}`);
  }
  // As graphql-js answers a root field whose resolver threw; the error masker makes it the 503.
  // Not locatedError: it takes an error of another realm (node-postgres's socket errors under
  // jest's VM modules) for a thrown non-error, and the masker would no longer see the outage.
  const located = failures.map(
    ({ part, error }) =>
      new GraphQLError(error instanceof Error ? error.message : 'the statement failed', {
        nodes: part.nodes,
        path: [part.key],
        originalError: error as Error,
      }),
  );
  // A non-null root field's error nulls the whole answer: graphql-js stops at the first, having
  // recorded only the nullable fields' errors that came before it.
  const firstNonNull = failures.findIndex(({ part }) => part.nonNull);
  if (firstNonNull >= 0) return { errors: located.slice(0, firstNonNull + 1), data: null };
  const data = Object.fromEntries(
    parts.map((part, index) => {
      const answer = answers[index];
      return [part.key, answer ? (JSON.parse(withJsonValuesRewritten(answer.value)) as unknown) : null];
    }),
  );
  return { errors: located, data };
}

/**
 * `text` with each JSON value its statement marked (JSON_VALUE_MARK) written as graphql-js writes
 * it: JSON.stringify of what JSON.parse read, as node-postgres and the JSON scalar hand it over.
 * Only those values are parsed, not the answer around them.
 */
function withJsonValuesRewritten(text: string): string {
  if (!text.includes(JSON_VALUE_MARK)) return text;
  const pieces = text.split(JSON_VALUE_MARK);
  for (let index = 1; index < pieces.length; index += 2) pieces[index] = JSON.stringify(JSON.parse(pieces[index]!));
  return pieces.join('');
}

/** An execution result that yoga writes as `text` (its `stringify`), parsed only if a plugin reads its data. */
function textResult(text: string): ExecutionResult & { stringify: () => string } {
  let data: ExecutionResult['data'];
  return {
    get data() {
      data ??= (JSON.parse(text) as ExecutionResult).data;
      return data;
    },
    stringify: () => text,
  };
}

export function useResponseText(): Plugin<Context> {
  return {
    onExecute({ args, executeFn, setExecuteFn }) {
      if (!args.contextValue.fastReads) return;
      setExecuteFn(async (executionArgs) => {
        const context = executionArgs.contextValue as Context;
        const parts = responseParts(executionArgs, context);
        const result = parts && (await respond(parts, context));
        return result ?? executeFn(executionArgs);
      });
    },
  };
}
