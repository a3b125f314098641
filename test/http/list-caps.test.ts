import {
  type GraphQLArgument,
  type GraphQLField,
  type GraphQLInputField,
  type GraphQLInputType,
  getNullableType,
  isEnumType,
  isInputObjectType,
  isListType,
  isNonNullType,
  isScalarType,
} from 'graphql';
import { schema } from '../../src/schema';
import { maxItemsOf } from '../../src/schema/list-caps';
import { startTestApp, type TestApp } from '../support/test-app';

/**
 * Every list a client can send has a documented cap: the test walks the schema, finds every list
 * argument and list input field under each root field, and sends each one item over its cap.
 * Each must be refused with VALIDATION naming it, before anything runs: never a 5xx (a list of
 * 65,535 items once reached PostgreSQL as as many bind parameters).
 */

/** The smallest value a type accepts: what the rest of the request is made of. */
function smallest(type: GraphQLInputType): unknown {
  const nullable = getNullableType(type);
  if (isListType(nullable)) return [smallest(nullable.ofType)];
  if (isEnumType(nullable)) return nullable.getValues()[0]!.name;
  if (isInputObjectType(nullable)) {
    const value: Record<string, unknown> = {};
    for (const field of Object.values(nullable.getFields()))
      if (isNonNullType(field.type)) value[field.name] = smallest(field.type);
    return value;
  }
  if (isScalarType(nullable)) {
    return { String: 'x', ID: 'id-x', Int: 1, Float: 1, Boolean: true, JSON: {}, DateTime: '2024-01-01T00:00:00Z' }[
      nullable.name
    ];
  }
  throw new Error(`no value for ${String(type)}`);
}

interface ListPosition {
  root: 'query' | 'mutation';
  field: GraphQLField<unknown, unknown>;
  argument: GraphQLArgument;
  /** Input fields from the argument to the list. */
  path: GraphQLInputField[];
  cap: number | undefined;
}

function listsUnder(
  type: GraphQLInputType,
  path: GraphQLInputField[],
  seen: Set<string>,
  found: (path: GraphQLInputField[], cap: number | undefined, item: GraphQLInputType) => void,
): void {
  const nullable = getNullableType(type);
  if (isListType(nullable)) {
    listsUnder(nullable.ofType, path, seen, found);
    return;
  }
  if (!isInputObjectType(nullable) || seen.has(nullable.name)) return;
  for (const field of Object.values(nullable.getFields())) {
    const fieldType = getNullableType(field.type);
    if (isListType(fieldType)) found([...path, field], maxItemsOf(field.extensions), fieldType.ofType);
    listsUnder(field.type, [...path, field], new Set([...seen, nullable.name]), found);
  }
}

function listPositions(): ListPosition[] {
  const positions: ListPosition[] = [];
  for (const [root, type] of [
    ['query', schema.getQueryType()!],
    ['mutation', schema.getMutationType()!],
  ] as const) {
    for (const field of Object.values(type.getFields())) {
      for (const argument of field.args) {
        if (isListType(getNullableType(argument.type)))
          positions.push({ root, field, argument, path: [], cap: maxItemsOf(argument.extensions) });
        listsUnder(argument.type, [], new Set(), (path, cap) => positions.push({ root, field, argument, path, cap }));
      }
    }
  }
  return positions;
}

const label = (position: ListPosition) =>
  [`${position.field.name}(${position.argument.name})`, ...position.path.map((field) => field.name)].join('.');

describe('list inputs', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp('list_caps');
    await app.seedDemo();
  });
  afterAll(async () => {
    await app?.close();
  });

  it('each declare a cap', () => {
    const uncapped = listPositions()
      .filter((position) => position.cap === undefined)
      .map(label);
    expect(uncapped).toEqual([]);
    expect(listPositions().length).toBeGreaterThan(15);
  });

  it('each refuse one item over the cap with VALIDATION naming the list, changing nothing', async () => {
    const findings: string[] = [];
    for (const position of listPositions()) {
      const listType = getNullableType(
        position.path.length === 0 ? position.argument.type : position.path.at(-1)!.type,
      );
      if (!isListType(listType)) throw new Error(`${label(position)} is not a list`);
      const tooMany = Array.from({ length: position.cap! + 1 }, () => smallest(listType.ofType));
      // The argument's smallest value, with the list at its path replaced by one too many.
      let argument: unknown = tooMany;
      if (position.path.length > 0) {
        const root = smallest(position.argument.type) as Record<string, unknown>;
        let at = (Array.isArray(root) ? root[0] : root) as Record<string, unknown>;
        position.path.slice(0, -1).forEach((field) => {
          at[field.name] ??= smallest(field.type);
          const next = at[field.name];
          at = (Array.isArray(next) ? next[0] : next) as Record<string, unknown>;
        });
        at[position.path.at(-1)!.name] = tooMany;
        argument = root;
      }
      const variables: Record<string, unknown> = { value: argument };
      const others = position.field.args.filter((other) => other !== position.argument && isNonNullType(other.type));
      for (const other of others) variables[other.name] = smallest(other.type);
      const declarations = [
        `$value: ${String(position.argument.type)}`,
        ...others.map((other) => `$${other.name}: ${String(other.type)}`),
      ];
      const args = [`${position.argument.name}: $value`, ...others.map((other) => `${other.name}: $${other.name}`)];
      const query =
        `${position.root} (${declarations.join(', ')}) { ${position.field.name}(${args.join(', ')}) { ` +
        `__typename } }`;
      const response = await app.graphqlUntyped(query, variables);
      const error = response.errors?.[0];
      const named = position.path.length > 0 ? position.path.at(-1)!.name : position.argument.name;
      if (
        response.status !== 400 ||
        error?.extensions?.code !== 'VALIDATION' ||
        !JSON.stringify(error.extensions.field).includes(`"${named}"`)
      ) {
        findings.push(
          `${label(position)} (cap ${position.cap}): ${response.status} ` +
            `${JSON.stringify(response.errors ?? response.data).slice(0, 300)}`,
        );
      }
    }
    expect(findings).toEqual([]);
  });
});
