import SchemaBuilder, {
  BasePlugin,
  type FieldNullability,
  type InputFieldMap,
  type PothosOutputFieldConfig,
  type SchemaTypes,
  type TypeParam,
} from '@pothos/core';
import { defaultFieldResolver, type FieldNode, type GraphQLFieldResolver, type GraphQLResolveInfo } from 'graphql';
import type { Context } from '../context/types';
import { currentRequestFacts } from '../http/request-id';
import { underOneResponseKey } from '../schema/selection';
import { answerKey, PLANNED, planRootField } from './compile';
import { type FieldSql, READ_BY_NAME, type RootSql, readsByName } from './declarations';

/**
 * The read planner in the schema: the `sql` option of a field (src/planner/declarations.ts) is
 * copied to its GraphQL extensions, where the compiler reads it. A root field with a plan reads
 * its whole answer in one statement; every other field first looks in its parent's planned
 * answers, and resolves as written only when the planner left it out (a fallback), with what
 * the plan carried of the row for it (`@`). Listed
 * after the scope-auth plugin, so that authorization runs before either.
 */
class PlannerPlugin<Types extends SchemaTypes> extends BasePlugin<Types> {
  override onOutputFieldConfig(fieldConfig: PothosOutputFieldConfig<Types>): PothosOutputFieldConfig<Types> {
    const sql = fieldConfig.pothosOptions.sql;
    if (!sql) return fieldConfig;
    const byName =
      sql.kind === 'column' && (fieldConfig.resolve === undefined || fieldConfig.resolve === defaultFieldResolver);
    return { ...fieldConfig, extensions: { ...fieldConfig.extensions, sql, ...(byName && { [READ_BY_NAME]: true }) } };
  }

  override wrapResolve(
    resolver: GraphQLFieldResolver<unknown, Types['Context'], object>,
    fieldConfig: PothosOutputFieldConfig<Types>,
  ): GraphQLFieldResolver<unknown, Types['Context'], object> {
    const sql = fieldConfig.pothosOptions.sql;
    if (fieldConfig.kind === 'Query' && (sql?.kind === 'object' || sql?.kind === 'connection'))
      return plannedRootField(sql, resolver);
    if (fieldConfig.kind === 'Query' || fieldConfig.kind === 'Mutation' || fieldConfig.kind === 'Subscription')
      return resolver;
    if (readsByName(fieldConfig.extensions)) return resolver;
    return (parent, args, context, info) => {
      if (parent !== null && typeof parent === 'object' && PLANNED in parent) {
        const planned = parent as Record<string, unknown>;
        const responseKey = info.path.key as string;
        const key =
          responseKey === info.fieldName ? responseKey : answerKey(info.parentType, info.fieldName, responseKey);
        if (key in planned) return planned[key];
        // Left out of the plan: its resolver reads the row's columns it declared it needs.
        return resolver(planned[PLANNED], args, context, info);
      }
      return resolver(parent, args, context, info);
    };
  }
}

function plannedRootField<Types extends SchemaTypes>(
  sql: RootSql,
  resolver: GraphQLFieldResolver<unknown, Types['Context'], object>,
): GraphQLFieldResolver<unknown, Types['Context'], object> {
  return (parent, args, context, info) => {
    const answer = (context as Context).fastReads
      ? answerRootField(sql, args as Record<string, unknown>, context as Context, info)
      : undefined;
    return answer ?? resolver(parent, args, context, info);
  };
}

/**
 * Whether the planner answers `field` (`Type.field`: a search hit's or an event's memory, planned
 * as one object per row) for its nodes `nodes`: only when they are under one response key
 * (`underOneResponseKey`); otherwise its general path does, counted as a fallback of reason `aliases`.
 */
export function plansUnderOneKey(context: Context, field: string, nodes: readonly FieldNode[]): boolean {
  if (!context.fastReads) return false;
  if (underOneResponseKey(nodes)) return true;
  currentRequestFacts()?.planFallbacks.push(`${field}: aliases`);
  return false;
}

/** The root field's answer from its one statement, or undefined when its resolver must answer. */
function answerRootField(
  sql: RootSql,
  args: Readonly<Record<string, unknown>>,
  context: Context,
  info: GraphQLResolveInfo,
): Promise<unknown> | undefined {
  const field = info.parentType.getFields()[info.fieldName]!;
  const left = sql.kind === 'connection' ? sql.leftToResolver?.(args) : undefined;
  if (left !== undefined) {
    currentRequestFacts()?.planFallbacks.push(`Query.${info.fieldName}: ${left}`);
    return undefined;
  }
  const plan = planRootField(field, sql, info.fieldNodes, args, {
    fragments: info.fragments,
    variableValues: info.variableValues,
    organizationId: context.caller.organizationId,
    userId: context.caller.userId,
  });
  if (!plan) {
    currentRequestFacts()?.planFallbacks.push(`Query.${info.fieldName}: arguments`);
    return undefined;
  }
  currentRequestFacts()?.planFallbacks.push(...plan.fallbacks);
  return context.sql.query<{ value: unknown }>(plan.text, plan.values).then((rows) => {
    const answer = rows[0]?.value ?? null;
    sql.onAnswer?.(answer, args, context);
    return answer;
  });
}

declare global {
  export namespace PothosSchemaTypes {
    interface Plugins<Types extends SchemaTypes> {
      planner: PlannerPlugin<Types>;
    }
    interface FieldOptions<
      Types extends SchemaTypes = SchemaTypes,
      ParentShape = unknown,
      Type extends TypeParam<Types> = TypeParam<Types>,
      Nullable extends FieldNullability<Type> = FieldNullability<Type>,
      Args extends InputFieldMap = InputFieldMap,
      ResolveShape = unknown,
      ResolveReturnShape = unknown,
    > {
      /** How SQL answers this field, for the read planner (src/planner/declarations.ts). */
      sql?: FieldSql;
    }
  }
}

const pluginName = 'planner';
SchemaBuilder.registerPlugin(pluginName, PlannerPlugin);

export default pluginName;
