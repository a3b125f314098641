import { createSourceEventStream, type ExecutionResult, execute } from 'graphql';
import { isAsyncIterable, mapAsyncIterator, type Plugin } from 'graphql-yoga';
import { eventContext } from '../context/create';
import type { Context } from '../context/types';

/**
 * Subscriptions as graphql-js runs them (the source stream, then each event executed over it),
 * except that each event is executed with a context of its own (`eventContext`): with the
 * subscription's one context, a relation or a count read for one event would be answered from
 * the cache at the next.
 */
export function useEventContexts(): Plugin<Context> {
  return {
    onSubscribe({ setSubscribeFn }) {
      setSubscribeFn(async (args) => {
        const events = await createSourceEventStream(args);
        if (!isAsyncIterable(events)) return events as ExecutionResult;
        const context = args.contextValue as Context;
        return mapAsyncIterator(events, (payload: unknown) =>
          execute({ ...args, rootValue: payload, contextValue: eventContext(context) }),
        );
      });
    },
  };
}
