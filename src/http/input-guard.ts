import { GraphQLError } from 'graphql';
import type { Plugin } from 'graphql-yoga';

/** Deeper JSON than this is refused: no AgentMem value needs it, and it costs every layer. */
export const MAX_INPUT_DEPTH = 64;

type Finding = { path: string[]; problem: string };

/** Why PostgreSQL could not store this string as it is, if it could not. */
function unstorable(text: string): string | null {
  if (text.includes('\u0000')) return 'contains a NUL character, which PostgreSQL cannot store';
  if (!text.isWellFormed()) return 'contains a lone UTF-16 surrogate, which is not valid Unicode';
  return null;
}

/** Walks a JSON value without recursion, so that depth cannot overflow the stack. */
function inspectVariables(variables: unknown): Finding | null {
  const pending: Array<{ value: unknown; path: string[] }> = [{ value: variables, path: [] }];
  while (pending.length > 0) {
    const { value, path } = pending.pop()!;
    if (path.length > MAX_INPUT_DEPTH) return { path: path.slice(0, 3), problem: `is nested deeper than ${MAX_INPUT_DEPTH} levels` };
    if (typeof value === 'string') {
      const problem = unstorable(value);
      if (problem) return { path, problem };
    } else if (Array.isArray(value)) {
      value.forEach((item, index) => pending.push({ value: item, path: [...path, String(index)] }));
    } else if (value !== null && typeof value === 'object') {
      for (const [key, item] of Object.entries(value)) {
        const problem = unstorable(key);
        if (problem) return { path: [...path, key], problem: `has a key that ${problem.replace(/^contains/, 'contains')}` };
        pending.push({ value: item, path: [...path, key] });
      }
    }
  }
  return null;
}

/**
 * Refuses, before parsing and execution, text that PostgreSQL cannot store (NUL, lone
 * surrogates) and absurdly deep JSON, anywhere in a request: a VALIDATION error naming where,
 * instead of a database error deep inside a resolver. Nothing runs, so nothing is written.
 */
export function useStorableInput(): Plugin {
  return {
    onParams({ params, setResult }) {
      const inQuery = typeof params.query === 'string' && (unstorable(params.query) ?? (/\\u0000/i.test(params.query) ? 'contains a NUL character' : null));
      const finding: Finding | null = inQuery ? { path: ['query'], problem: inQuery } : inspectVariables(params.variables ?? {});
      if (!finding) return;
      const [variable, ...rest] = finding.path;
      const field = finding.path[0] === 'query' ? ['query'] : [`$${variable ?? ''}`, ...rest];
      setResult({
        errors: [
          new GraphQLError(`${field.join('.')} ${finding.problem}`, {
            extensions: { code: 'VALIDATION', field, http: { status: 400 } },
          }),
        ],
      });
    },
  };
}
