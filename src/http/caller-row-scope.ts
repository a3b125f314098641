import { isAsyncIterable, type Plugin } from 'graphql-yoga';
import type { Context } from '../context/types';
import { withOrganization } from '../db/row-level-security';

/**
 * `events` with each of its steps run inside the organization's scope. A subscription's events
 * are resolved whenever its consumer (the response stream) pulls the next one, outside the
 * subscribe call: without this, the resolvers of every event after the first would run outside
 * any scope, and see no rows.
 */
function inScopeEachStep<T>(organizationId: string, events: AsyncIterable<T>): AsyncIterableIterator<T> {
  const iterator = events[Symbol.asyncIterator]();
  const scoped: AsyncIterableIterator<T> = {
    next: () => withOrganization(organizationId, () => iterator.next()),
    return: (value?: unknown) =>
      withOrganization(
        organizationId,
        async () => (await iterator.return?.(value)) ?? { done: true, value: undefined },
      ),
    throw: (error?: unknown) =>
      withOrganization(organizationId, async () => (iterator.throw ? iterator.throw(error) : Promise.reject(error))),
    [Symbol.asyncIterator]: () => scoped,
  };
  return scoped;
}

/**
 * Executes each operation inside the caller's organization scope, so that every statement its
 * resolvers and loaders issue is held to that organization by row-level security too:
 * subscriptions as well, their subscribe call and the resolution of each of their events.
 */
export function useCallerRowScope(): Plugin<Context> {
  return {
    onExecute({ args, executeFn, setExecuteFn }) {
      const { organizationId } = args.contextValue.caller;
      setExecuteFn((executionArgs) => withOrganization(organizationId, () => executeFn(executionArgs)));
    },
    onSubscribe({ args, subscribeFn, setSubscribeFn }) {
      const { organizationId } = args.contextValue.caller;
      setSubscribeFn(async (subscribeArgs) => {
        const result = await withOrganization(organizationId, async () => subscribeFn(subscribeArgs));
        return isAsyncIterable(result) ? inScopeEachStep(organizationId, result) : result;
      });
    },
  };
}
