import { type DocumentNode, Kind, OperationTypeNode } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { forgetsCheckedKeys, type KeyCache } from '../auth/key-cache';

/**
 * After a mutation that can end a key (revokeApiKey, deleteUser, purgeUser: marked
 * FORGETS_CHECKED_KEYS on their definitions), this process checks every key again. A mutation's
 * root fragment, which this does not read into, counts as such a mutation.
 */
export function useForgetKeysAfterMutations(cache: KeyCache): Plugin {
  return {
    onExecute({ args }) {
      const mutationFields = args.schema.getMutationType()?.getFields() ?? {};
      const endsKeys = (args.document as DocumentNode).definitions.some(
        (definition) =>
          definition.kind === Kind.OPERATION_DEFINITION &&
          definition.operation === OperationTypeNode.MUTATION &&
          definition.selectionSet.selections.some(
            (selection) =>
              selection.kind !== Kind.FIELD || forgetsCheckedKeys(mutationFields[selection.name.value]?.extensions),
          ),
      );
      if (!endsKeys) return undefined;
      return { onExecuteDone: () => cache.forgetAll() };
    },
  };
}
