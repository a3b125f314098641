import type { RowsScope } from '../planner/declarations';
import { builder } from '../schema/builder';
import { instantOf, presentRows, type ValidityChoice } from './validity';

/**
 * The arguments of every field that lists memories by validity (the root `memories` and
 * `searchMemories`, Agent.memories): declared once, so that each says the same and the planner
 * and the general path read them alike.
 */
export const validityArguments = builder.args((t) => ({
  asOf: t.field({
    type: 'DateTime',
    description:
      'Return the facts valid at this instant instead of now (valid_from <= asOf < valid_until); search computes ' +
      "the score's recency as of it too. Expired memories are never returned.",
  }),
  includeInvalid: t.boolean({
    defaultValue: false,
    description:
      'Return every memory, valid or not (superseded, invalidated, not yet begun), each with validFrom, validUntil ' +
      'and supersededBy. Expired memories are never returned.',
  }),
}));

/** The validity choice of a field's arguments (none given: the facts valid now). */
export function validityOf(args: Readonly<{ asOf?: unknown; includeInvalid?: unknown }>): ValidityChoice {
  return { asOf: (args.asOf as Date | null | undefined) ?? null, includeInvalid: args.includeInvalid === true };
}

/** `presentRows` on a planned row, by the field's arguments (a count has none: the present). */
export function presentRowsOf(scope: RowsScope): string[] {
  const validity = validityOf(scope.args);
  return presentRows(validity, scope.row, instantOf(validity, scope.bind));
}
