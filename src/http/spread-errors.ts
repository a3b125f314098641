import { GraphQLError, type GraphQLSchema, isAbstractType } from 'graphql';
import type { Plugin } from 'graphql-yoga';

/** graphql-js's PossibleFragmentSpreadsRule, for inline fragments and named ones. */
const impossibleSpread =
  /^Fragment (?:"\w+" )?cannot be spread here as objects of type "(\w+)" can never be of type "\w+"\.$/;

/**
 * The message, for a spread on a type that cannot occur where it is written, with the types that
 * can. Every mutation answers a union of its own (`deleteAgent` a `DeletedPayload`,
 * `restoreAgent` an `AgentPayload`), and graphql-js names only the union, which says nothing of
 * its members. An object type's only possibility is itself, which the message names already.
 */
function withPossibleTypes(schema: GraphQLSchema, message: string): string {
  const parent = schema.getType(impossibleSpread.exec(message)?.[1] ?? '');
  if (!isAbstractType(parent)) return message;
  const possible = schema.getPossibleTypes(parent);
  const interfaces = [
    ...new Set(possible.flatMap((type) => type.getInterfaces().map((implemented) => implemented.name))),
  ].sort();
  const members = possible.map((type) => type.name).sort();
  const inherited = interfaces.length > 0 ? `; interfaces of these: ${interfaces.join(', ')}` : '';
  return `${message} "${parent.name}" can be: ${members.join(', ')}${inherited}.`;
}

/** Validation errors about fragment spreads name the types that may be spread where they are written. */
export function useSpreadErrorsNamingTypes(): Plugin {
  return {
    onValidate({ params }) {
      return ({ valid, result, setResult }) => {
        if (valid) return;
        setResult(
          result.map((error) => {
            if (!(error instanceof GraphQLError)) return error;
            const message = withPossibleTypes(params.schema, error.message);
            if (message === error.message) return error;
            return new GraphQLError(message, {
              nodes: error.nodes,
              path: error.path,
              originalError: error.originalError,
              extensions: error.extensions,
            });
          }),
        );
      };
    },
  };
}
