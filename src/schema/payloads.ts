/** A Prisma model's delegate, as far as reading one row by its id goes. */
interface RowsById<Row> {
  findFirstOrThrow(args: { where: { id: string } }): Promise<Row>;
}

/**
 * The row that a payload names by id (a mutation's payload, `me`), read with what the client
 * selected of it: the `query` Pothos gives a prismaField, as in
 * `payloadRow(context.prisma.agent, query, payload.agentId)`. The id was just written or checked,
 * so the row is there; row-level security still holds the read to the caller's organization.
 */
export function payloadRow<Row>(rows: RowsById<Row>, query: object, id: string): Promise<Row> {
  return rows.findFirstOrThrow({ ...query, where: { id } });
}
