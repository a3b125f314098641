import { getOperationAST } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { readFromPrimaryFromNowOn } from '../db/read-routing';

/**
 * Sends a mutation's reads to the primary from its start, when there are read replicas: whatever
 * it reads to decide on a write is read where the write goes (src/db/read-routing.ts).
 */
export function useMutationsOnPrimary(): Plugin {
  return {
    onExecute({ args }) {
      const operation = getOperationAST(args.document, args.operationName);
      if (operation?.operation === 'mutation') readFromPrimaryFromNowOn();
    },
  };
}
