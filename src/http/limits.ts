import { costLimitPlugin } from '@escape.tech/graphql-armor-cost-limit';
import { maxAliasesPlugin } from '@escape.tech/graphql-armor-max-aliases';
import { maxDepthPlugin } from '@escape.tech/graphql-armor-max-depth';
import { maxTokensPlugin } from '@escape.tech/graphql-armor-max-tokens';
import { useCSRFPrevention } from '@graphql-yoga/plugin-csrf-prevention';
import { useDisableIntrospection } from '@graphql-yoga/plugin-disable-introspection';
import { GraphQLError, NoSchemaIntrospectionCustomRule, validate } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { grantedScopes } from '../auth/scopes';
import type { Settings } from '../config/settings';
import { isCallerContext } from '../context/types';

/**
 * What one request may ask for, checked while the document is validated, before anything runs:
 * depth, aliases, tokens and an estimated cost (graphql-armor). Every limit is a setting.
 * Plus CSRF prevention for browsers (a request must not be a "simple" cross-site one) and
 * introspection only for whom it is enabled.
 */
export function requestLimitPlugins(settings: Settings): Plugin[] {
  const plugins: Plugin[] = [
    maxDepthPlugin({ n: settings.limits.maxDepth, exposeLimits: true, ignoreIntrospection: true }),
    maxAliasesPlugin({ n: settings.limits.maxAliases, exposeLimits: true }),
    maxTokensPlugin({ n: settings.limits.maxTokens, exposeLimits: true }),
    costLimitPlugin({ maxCost: settings.limits.maxCost, exposeLimits: true, ignoreIntrospection: true }),
    useCsrfPrevention(),
    useLimitRefusalsAsBadRequests(),
  ];
  if (settings.introspection === 'nobody') plugins.push(useDisableIntrospection());
  if (settings.introspection === 'admin') plugins.push(useIntrospectionForAdmins());
  return plugins;
}

/**
 * graphql-armor's refusals (depth, aliases, tokens, cost) come without the HTTP status that yoga
 * gives graphql-js's own validation errors, and were answered 200: under
 * application/graphql-response+json a request that fails validation answers 400 (the
 * GraphQL-over-HTTP spec; `spec` keeps application/json answers at 200, as yoga does).
 */
function asBadRequest(error: GraphQLError): GraphQLError {
  if (error.extensions.http) return error;
  return new GraphQLError(error.message, {
    nodes: error.nodes,
    source: error.source,
    positions: error.positions,
    path: error.path,
    originalError: error.originalError,
    extensions: { ...error.extensions, http: { status: 400, spec: true } },
  });
}

function useLimitRefusalsAsBadRequests(): Plugin {
  const refusal = (error: GraphQLError) => /^GRAPHQL_(VALIDATION|PARSE)_FAILED$/.test(String(error.extensions.code));
  return {
    onResultProcess({ result, setResult }) {
      if (Array.isArray(result) || !('errors' in result) || !result.errors || 'data' in result) return;
      if (!result.errors.some((error) => error instanceof GraphQLError && refusal(error) && !error.extensions.http))
        return;
      setResult({
        ...result,
        errors: result.errors.map((error) =>
          error instanceof GraphQLError && refusal(error) ? asBadRequest(error) : error,
        ),
      });
    },
  };
}

/**
 * A request without a JSON body (a form post, a bare GET) needs the x-graphql-yoga-csrf header:
 * yoga's CSRF prevention, whose 403 gets a code of its own and says what to send.
 */
function useCsrfPrevention(): Plugin {
  const prevention = useCSRFPrevention();
  return {
    onRequestParse(payload) {
      try {
        return prevention.onRequestParse?.(payload);
      } catch (error) {
        if (!(error instanceof GraphQLError)) throw error;
        throw new GraphQLError(
          `${error.message}: send a JSON body (content-type application/json) or the x-graphql-yoga-csrf header`,
          {
            extensions: { code: 'CSRF_HEADER_REQUIRED', http: { status: 403 } },
          },
        );
      }
    },
  };
}

/**
 * Introspection for keys with the admin scope only. The key is known once the context is built,
 * after validation, so the check runs as execution starts: anyone else asking for `__schema` or
 * `__type` gets FORBIDDEN, and nothing runs.
 */
function useIntrospectionForAdmins(): Plugin {
  return {
    onExecute({ args, setResultAndStopExecution }) {
      const context = args.contextValue;
      if (isCallerContext(context) && grantedScopes(context.caller.scopes).admin) return;
      const refusals = validate(args.schema, args.document, [NoSchemaIntrospectionCustomRule]);
      if (refusals.length === 0) return;
      setResultAndStopExecution({
        errors: refusals.map(
          (refusal) => new GraphQLError(refusal.message, { nodes: refusal.nodes, extensions: { code: 'FORBIDDEN' } }),
        ),
      });
    },
  };
}
