import { type ASTNode, type ASTVisitor, GraphQLError, Kind, type ValidationContext } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { unstorable, unstorableKey } from '../schema/rules';
import { forEachLiteral } from './literals';

/**
 * A number literal beyond a double's range (1e999) is Infinity to JavaScript, which no column and
 * no JSON can hold; JSON variables cannot carry one.
 */
const unstorableNumber = 'is a number too large to store (beyond ±1.8e308)';

/** Deeper JSON than this is refused: no AgentMem value needs it, and it costs every layer. */
export const MAX_INPUT_DEPTH = 64;

type Finding = { path: string[]; problem: string };

/** Walks a JSON value without recursion, so that depth cannot overflow the stack. */
function inspectVariables(variables: unknown): Finding | null {
  const pending: Array<{ value: unknown; path: string[] }> = [{ value: variables, path: [] }];
  while (pending.length > 0) {
    const { value, path } = pending.pop()!;
    if (path.length > MAX_INPUT_DEPTH)
      return { path: path.slice(0, 3), problem: `is nested deeper than ${MAX_INPUT_DEPTH} levels` };
    if (typeof value === 'string') {
      const problem = unstorable(value);
      if (problem) return { path, problem };
    } else if (Array.isArray(value)) {
      for (const [index, item] of value.entries()) pending.push({ value: item, path: [...path, String(index)] });
    } else if (value !== null && typeof value === 'object') {
      for (const [key, item] of Object.entries(value)) {
        const problem = unstorableKey(key);
        if (problem) return { path: [...path, key], problem };
        pending.push({ value: item, path: [...path, key] });
      }
    }
  }
  return null;
}

/**
 * Input refused at the edge, before anything executes: a VALIDATION error naming the input path,
 * with status 400 whatever the response's media type (`spec: false` keeps yoga from answering
 * 200 to plain JSON clients, as GraphQL over HTTP allows for its own validation errors).
 */
export function invalidInput(field: string[], message: string, node?: ASTNode): GraphQLError {
  return new GraphQLError(message, {
    nodes: node,
    extensions: { code: 'VALIDATION', field, http: { status: 400, spec: false } },
  });
}

function refusal(field: string[], problem: string, node?: ASTNode): GraphQLError {
  return invalidInput(field, `${field.join('.')} ${problem}`, node);
}

/**
 * The same for values written inline in the query text, where `"agent-\u{0}"`, `"\u0000"` or a
 * block string are NULs too, and JSON literals may nest as deep as variables: checked while the
 * document is validated, on the parsed values. `field` is the input path from the argument.
 */
function StorableLiteralsRule(context: ValidationContext): ASTVisitor {
  return {
    Document(document) {
      let refused = false;
      forEachLiteral(document, (node, path) => {
        if (refused) return false;
        const problem =
          path.length > MAX_INPUT_DEPTH
            ? `is nested deeper than ${MAX_INPUT_DEPTH} levels`
            : node.kind === Kind.STRING
              ? unstorable(node.value)
              : node.kind === Kind.OBJECT_FIELD && node.name.value === '__proto__'
                ? unstorableKey(node.name.value)
                : (node.kind === Kind.FLOAT || node.kind === Kind.INT) && !Number.isFinite(Number(node.value))
                  ? unstorableNumber
                  : null;
        if (!problem) return true;
        context.reportError(refusal(path.length > MAX_INPUT_DEPTH ? path.slice(0, 3) : path, problem, node));
        refused = true;
        return false;
      });
    },
  };
}

/**
 * Refuses, before execution, text that PostgreSQL cannot store (NUL, lone surrogates), JSON keys
 * that would not be stored (`__proto__`) and absurdly deep JSON, anywhere in a request: in
 * variables and the raw query text before parsing, in inline values while the document is
 * validated. A VALIDATION error naming where, instead of a database error deep inside a resolver.
 * Nothing runs, so nothing is written.
 */
export function useStorableInput(): Plugin {
  return {
    onParams({ params, setResult }) {
      const inQuery = typeof params.query === 'string' ? unstorable(params.query) : null;
      const finding: Finding | null = inQuery
        ? { path: ['query'], problem: inQuery }
        : inspectVariables(params.variables ?? {});
      if (!finding) return;
      const [variable, ...rest] = finding.path;
      const field = finding.path[0] === 'query' ? ['query'] : [`$${variable ?? ''}`, ...rest];
      setResult({ errors: [refusal(field, finding.problem)] });
    },
    onValidate({ addValidationRule }) {
      addValidationRule(StorableLiteralsRule);
    },
  };
}
