import { GraphQLError, GraphQLScalarType, type ValueNode } from 'graphql';
import { DateTimeResolver } from 'graphql-scalars';

const EARLIEST = '0001-01-01T00:00:00Z';
const LATEST = '9999-12-31T23:59:59.999Z';
const earliest = Date.parse(EARLIEST);
const latest = Date.parse(LATEST);

/**
 * Instants outside the years 1 to 9999 (in UTC) are refused as input: dates reach PostgreSQL as
 * ISO strings, and PostgreSQL reads neither year 0 nor a six-digit year (`+010000-…`), so
 * `0000-01-01T00:00:00Z`, or `0001-01-01T00:00:00+01:00`, would otherwise fail in the database.
 */
function isStorableInstant(date: Date): boolean {
  const time = date.getTime();
  return time >= earliest && time <= latest;
}

/**
 * The one date rule, for the scalar and for dates inside JSON documents (agent files): RFC 3339
 * text of an instant that exists (not 2024-02-30) within the years PostgreSQL stores; undefined
 * otherwise.
 */
export function parseInstant(value: string): Date | undefined {
  let date: Date;
  try {
    date = DateTimeResolver.parseValue(value);
  } catch {
    return undefined;
  }
  return isStorableInstant(date) ? date : undefined;
}

function storable(date: Date, node?: ValueNode): Date {
  if (!isStorableInstant(date)) {
    throw new GraphQLError(`DateTime must be between ${EARLIEST} and ${LATEST}, got ${date.toISOString()}`, {
      nodes: node,
    });
  }
  return date;
}

/**
 * RFC 3339 date-times (graphql-scalars' DateTime), within the years PostgreSQL stores. ISO text
 * is passed through as it is: the read planner (src/planner) has PostgreSQL print timestamps
 * exactly as this scalar prints a Date.
 */
export const DateTime = new GraphQLScalarType<Date, Date | string>({
  ...DateTimeResolver.toConfig(),
  serialize: (value) => (typeof value === 'string' ? value : DateTimeResolver.serialize(value)),
  parseValue: (value) => storable(DateTimeResolver.parseValue(value)),
  parseLiteral: (node, variables) => storable(DateTimeResolver.parseLiteral(node, variables), node),
});
