import fs from 'node:fs';
import path from 'node:path';
import { type Database, openDatabase } from '../../src/db/database';
import { type CatalogDifference, compareCatalogs, readCatalog, splitStatements } from '../support/catalog';
import { cloneMigratedDatabase, createEmptyDatabase } from '../support/test-databases';

const vendoredSpec = path.join(__dirname, '..', 'fixtures', 'agentmem-schema.sql');
const sharedSpec = path.resolve(__dirname, '..', '..', '..', 'shared', 'spec', 'schema.sql');

/** The names listed in the table of docs/schema-differences.md. */
function documentedDifferences(): Set<string> {
  const section = fs.readFileSync(path.join(__dirname, '..', '..', 'docs', 'schema-differences.md'), 'utf8');
  // A row: | `name` | a reason that is not empty |
  const names = [...section.matchAll(/^\|[ \t]*`([^`]+)`[ \t]*\|[ \t]*[^|\s][^|\n]*\|[ \t]*$/gm)].map(
    (match) => match[1] as string,
  );
  return new Set(names);
}

describe('schema fidelity: migrations versus the schema document', () => {
  const opened: Array<{ database: Database; drop(): Promise<void> }> = [];
  afterAll(async () => {
    for (const { database, drop } of opened) {
      await database.close();
      await drop();
    }
  });

  it('keeps the vendored DDL identical to ../shared/spec/schema.sql when that is present', () => {
    if (!fs.existsSync(sharedSpec)) return;
    expect(fs.readFileSync(vendoredSpec, 'utf8')).toBe(fs.readFileSync(sharedSpec, 'utf8'));
  });

  it('differs from the DDL only where docs/schema-differences.md says so, and only there', async () => {
    const migratedCopy = await cloneMigratedDatabase('fidelity_migrated');
    const migrated = await openDatabase(migratedCopy.settings);
    opened.push({ database: migrated, drop: migratedCopy.drop });

    const specCopy = await createEmptyDatabase('fidelity_spec');
    const spec = await openDatabase(specCopy.settings);
    opened.push({ database: spec, drop: specCopy.drop });
    for (const statement of splitStatements(fs.readFileSync(vendoredSpec, 'utf8'))) {
      await spec.owner.$executeRawUnsafe(statement);
    }

    const differences = compareCatalogs(await readCatalog(spec.owner), await readCatalog(migrated.owner));
    const documented = documentedDifferences();

    // Nothing of the DDL may be missing or changed, but for an index the page lists as replaced
    // (a table, column or constraint never); additions must be documented.
    const replacedIndex = (difference: CatalogDifference) =>
      difference.change === 'missing' && difference.entry.kind === 'index' && documented.has(difference.entry.name);
    expect(differences.filter((difference) => difference.change !== 'extra' && !replacedIndex(difference))).toEqual([]);
    const undocumented = differences.filter(
      (difference) => !documented.has(difference.entry.name) && !documented.has(difference.entry.table),
    );
    expect(undocumented).toEqual([]);

    const extraNames = new Set(differences.flatMap((difference) => [difference.entry.name, difference.entry.table]));
    expect([...documented].filter((name) => !extraNames.has(name))).toEqual([]);
  });
});
