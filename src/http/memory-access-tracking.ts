import type { Plugin } from 'graphql-yoga';
import type { Context } from '../context/types';
import type { Logger } from '../logger';
import { recordAccesses } from '../memories/access';

/**
 * Writes the request's accesses once its operation has executed: the response's data is settled
 * (it shows the values from before this request's own access), and the write is done before the
 * response is sent, so that the client's next request sees it. Installed before the plugin that
 * sets the caller's row scope, whose execute wraps this one: the UPDATE runs in that scope. A
 * failure to count is logged, and the reader still gets its data.
 */
export function useMemoryAccessTracking(logger: Logger): Plugin<Context> {
  return {
    onExecute({ args, executeFn, setExecuteFn }) {
      const context = args.contextValue;
      setExecuteFn(async (executionArgs) => {
        const result = await executeFn(executionArgs);
        const ids = context.memoryAccesses.take();
        if (ids.length > 0) {
          await recordAccesses(context.sql, context.caller.organizationId, ids).catch((error: unknown) => {
            logger.warn({ err: error, memories: ids.length }, 'could not count the memory accesses of a request');
          });
        }
        return result;
      });
    },
  };
}
