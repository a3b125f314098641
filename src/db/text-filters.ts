/**
 * A case-insensitive substring filter for Prisma. Prisma's `contains` becomes `ILIKE '%…%'` with
 * the value as it is, so a client's `%` or `_` would match any text: they are escaped here.
 */
export function containsText(text: string) {
  return { contains: text.replace(/[\\%_]/g, '\\$&'), mode: 'insensitive' as const };
}
