import { getOperationAST } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { currentRequestFacts } from './request-id';

/**
 * Gathers a GraphQL request's facts as yoga handles it: the operation's name and type once the
 * document is known (before the key is checked, so that refused requests are named too), and
 * the codes of the errors it answers with.
 */
export function useRequestFacts(): Plugin {
  return {
    onValidate({ params, context }) {
      const facts = currentRequestFacts();
      if (!facts) return;
      const operationName = (context as { params?: { operationName?: string } }).params?.operationName;
      const operation = getOperationAST(params.documentAST, operationName);
      if (!operation) return;
      facts.operationType = operation.operation;
      facts.operationName = operation.name?.value;
    },
    onResultProcess({ result }) {
      const facts = currentRequestFacts();
      if (!facts) return;
      for (const single of Array.isArray(result) ? result : [result]) {
        if (!('errors' in single) || !single.errors) continue;
        for (const error of single.errors) {
          const code = error.extensions?.code;
          facts.errorCodes.push(typeof code === 'string' ? code : 'UNKNOWN');
        }
      }
    },
  };
}
