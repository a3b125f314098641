import { type FieldNode, type FragmentDefinitionNode, getArgumentValues, getOperationAST, Kind, parse } from 'graphql';
import { type AnswerForm, type Plan, planRootField } from '../../src/planner/compile';
import { fieldSqlOf, type RootSql } from '../../src/planner/declarations';
import { schema } from '../../src/schema';

/** The plan of a document's first root field, as the server would make it in `form`, without a server. */
export function planOf(
  document: string,
  organizationId: string,
  variableValues: Record<string, unknown> = {},
  userId = 'user-00000000-0000-4000-8000-000000000000',
  form: AnswerForm = 'planned',
): Plan | undefined {
  const parsed = parse(document);
  const node = getOperationAST(parsed)!.selectionSet.selections[0] as FieldNode;
  const field = schema.getQueryType()!.getFields()[node.name.value]!;
  const fragments: Record<string, FragmentDefinitionNode> = {};
  for (const definition of parsed.definitions)
    if (definition.kind === Kind.FRAGMENT_DEFINITION) fragments[definition.name.value] = definition;
  const args = getArgumentValues(field, node, variableValues);
  return planRootField(
    field,
    fieldSqlOf(field.extensions) as RootSql,
    [node],
    args,
    {
      fragments,
      variableValues,
      organizationId,
      userId,
    },
    form,
  );
}
