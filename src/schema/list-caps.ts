import { type GraphQLInputType, getNullableType, isInputObjectType, isListType } from 'graphql';

/**
 * The most items a list input may hold, declared on each list argument and input field
 * (`extensions: maxItems(n)`, and said in its description) and checked before anything executes,
 * for every list a request sends (src/http/input-values.ts): a list of any size is refused with
 * VALIDATION naming it, never sent to the database as one bind parameter per item.
 * test/http/list-caps.test.ts fails when a list input declares no cap.
 */
export function maxItems(count: number): { maxItems: number } {
  return { maxItems: count };
}

/** The declared cap of an argument or input field, if any. */
export function maxItemsOf(extensions: Readonly<Record<string, unknown>> | null | undefined): number | undefined {
  const cap = extensions?.maxItems;
  return typeof cap === 'number' ? cap : undefined;
}

/** The path and cap of the first list in `value` (of `type`) that holds more than its cap. */
export function overCap(
  value: unknown,
  type: GraphQLInputType,
  cap: number | undefined,
  path: string[],
): { path: string[]; cap: number; size: number } | undefined {
  if (value === null || value === undefined) return undefined;
  const nullable = getNullableType(type);
  if (isListType(nullable)) {
    if (!Array.isArray(value)) return overCap(value, nullable.ofType, undefined, path);
    if (cap !== undefined && value.length > cap) return { path, cap, size: value.length };
    for (let index = 0; index < value.length; index += 1) {
      const found = overCap(value[index], nullable.ofType, undefined, [...path, String(index)]);
      if (found) return found;
    }
    return undefined;
  }
  if (isInputObjectType(nullable) && typeof value === 'object') {
    const fields = nullable.getFields();
    for (const [name, item] of Object.entries(value as Record<string, unknown>)) {
      const field = fields[name];
      const found = field && overCap(item, field.type, maxItemsOf(field.extensions), [...path, name]);
      if (found) return found;
    }
  }
  return undefined;
}
