import pg from 'pg';

const PG_CHAR_OID = 18; // the one-byte internal "char" of pg_catalog, e.g. pg_constraint.contype
const PG_NAME_OID = 19;
const PG_TEXT_OID = 25;
const catalogTextTypes = new Set([PG_CHAR_OID, PG_NAME_OID]);

type QueryCallback = (error: Error | null, result?: pg.QueryResult) => void;

function reportCatalogColumnsAsText(result: pg.QueryResult): pg.QueryResult {
  for (const field of result.fields ?? []) {
    if (catalogTextTypes.has(field.dataTypeID)) field.dataTypeID = PG_TEXT_OID;
  }
  return result;
}

function isQueryResult(value: unknown): value is pg.QueryResult {
  return typeof value === 'object' && value !== null && 'fields' in value;
}

/**
 * A pg client that reports pg_catalog's `name` (oid 19) and `"char"` (oid 18) columns as `text`.
 *
 * Why: @prisma/adapter-pg 6.19 rejects both with UnsupportedNativeDataType, and the schema
 * engine reads them from pg_catalog, so `prisma migrate deploy` (name) and `migrate diff`
 * ("char") fail without this (prisma/orm#27403, fixed only in adapter-pg 7). In the text
 * protocol their values are text already.
 * pg's Pool calls `query` with a callback; transactions call it without one: both are covered.
 */
export class CatalogTextClient extends pg.Client {}

function queryReportingCatalogAsText(this: pg.Client, ...args: unknown[]): unknown {
  const last = args.at(-1);
  if (typeof last === 'function') {
    const callback = last as QueryCallback;
    const wrapped: QueryCallback = (error, result) => callback(error, result && reportCatalogColumnsAsText(result));
    return Reflect.apply(pg.Client.prototype.query, this, [...args.slice(0, -1), wrapped]);
  }
  const returned: unknown = Reflect.apply(pg.Client.prototype.query, this, args);
  if (returned instanceof Promise) {
    return returned.then((result: unknown) => (isQueryResult(result) ? reportCatalogColumnsAsText(result) : result));
  }
  return returned;
}

// pg.Client.query has a dozen overloads that a subclass method cannot restate; assigning the
// prototype slot keeps every one of them.
CatalogTextClient.prototype.query = queryReportingCatalogAsText as pg.Client['query'];
