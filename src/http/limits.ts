import { costLimitPlugin } from '@escape.tech/graphql-armor-cost-limit';
import { maxAliasesPlugin } from '@escape.tech/graphql-armor-max-aliases';
import { maxDepthPlugin } from '@escape.tech/graphql-armor-max-depth';
import { maxTokensPlugin } from '@escape.tech/graphql-armor-max-tokens';
import { useCSRFPrevention } from '@graphql-yoga/plugin-csrf-prevention';
import { useDisableIntrospection } from '@graphql-yoga/plugin-disable-introspection';
import type { Plugin } from 'graphql-yoga';
import type { Settings } from '../config/settings';

/**
 * What one request may ask for, checked while the document is validated, before anything runs:
 * depth, aliases, tokens and an estimated cost (graphql-armor). Every limit is a setting.
 * Plus CSRF prevention for browsers (a request must not be a "simple" cross-site one) and
 * introspection only where it is enabled.
 */
export function requestLimitPlugins(settings: Settings): Plugin[] {
  const plugins: Plugin[] = [
    maxDepthPlugin({ n: settings.limits.maxDepth, exposeLimits: true, ignoreIntrospection: true }),
    maxAliasesPlugin({ n: settings.limits.maxAliases, exposeLimits: true }),
    maxTokensPlugin({ n: settings.limits.maxTokens, exposeLimits: true }),
    costLimitPlugin({ maxCost: settings.limits.maxCost, exposeLimits: true, ignoreIntrospection: true }),
    // A request without a JSON body (a form post, a bare GET) needs the x-graphql-yoga-csrf header.
    useCSRFPrevention(),
  ];
  if (!settings.introspection) plugins.push(useDisableIntrospection());
  return plugins;
}
