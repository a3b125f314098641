import { GraphQLError, GraphQLScalarType, Kind, type ValueNode } from 'graphql';
import { JSONResolver } from 'graphql-scalars';

/**
 * A JSON literal may not hold a bare name (`Infinity`, `foo`): graphql-scalars' JSON reads one as
 * undefined, so `{ a: foo }` was stored as `{}` and `[[Infinity]]` reached the database as a hole
 * it refused (found by test/http/generated-writes.test.ts). Strings are quoted in JSON.
 */
function refuseBareNames(ast: ValueNode): void {
  if (ast.kind === Kind.ENUM)
    throw new GraphQLError(`JSON cannot hold the bare name ${ast.value}: write it as a string, "${ast.value}"`, {
      nodes: ast,
    });
  if (ast.kind === Kind.LIST) for (const value of ast.values) refuseBareNames(value);
  if (ast.kind === Kind.OBJECT) for (const field of ast.fields) refuseBareNames(field.value);
}

/** graphql-scalars' JSON, refusing bare names in literals. */
export const JSONScalar = new GraphQLScalarType({
  ...JSONResolver.toConfig(),
  // Two parameters, as graphql-scalars' own: the executor sends documents whose literals read
  // variables to graphql-js (src/http/executor.ts).
  parseLiteral: (ast, variables) => {
    refuseBareNames(ast);
    return JSONResolver.parseLiteral(ast, variables);
  },
});
