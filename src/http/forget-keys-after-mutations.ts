import { type DocumentNode, Kind, OperationTypeNode } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import type { KeyCache } from '../auth/key-cache';

/** After each mutation (a key revoked, a user deleted, …), this process checks every key again. */
export function useForgetKeysAfterMutations(cache: KeyCache): Plugin {
  return {
    onExecute({ args }) {
      const mutation = (args.document as DocumentNode).definitions.some(
        (definition) =>
          definition.kind === Kind.OPERATION_DEFINITION && definition.operation === OperationTypeNode.MUTATION,
      );
      if (!mutation) return undefined;
      return { onExecuteDone: () => cache.forgetAll() };
    },
  };
}
