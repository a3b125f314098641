import fs from 'node:fs';
import path from 'node:path';

/**
 * A skip is never silent: every test that can be reported as skipped is listed in docs/testing.md
 * ("Skipped tests") with its file, its title and why, and the list names nothing that is not a
 * skip. A new skip, or a renamed one, fails here until that table says why.
 */

const root = path.join(__dirname, '..');

interface Skip {
  file: string;
  title: string;
}

function testFiles(directory: string): string[] {
  return fs.readdirSync(directory, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(directory, entry.name);
    if (entry.isDirectory()) return entry.name === 'generated' ? [] : testFiles(full);
    // This file holds examples of skips, not skips.
    return entry.name.endsWith('.test.ts') && full !== __filename ? [full] : [];
  });
}

/** One string literal: quoted or a template without substitutions. */
const LITERAL = String.raw`(?:'(?:\\.|[^'\\\n])*'|"(?:\\.|[^"\\\n])*"|\x60(?:\\.|[^\x60\\])*\x60)`;

/**
 * The string literal right after a call's opening parenthesis (the title, maybe on the next line),
 * or several joined with `+`, as a title too long for one line is written.
 */
const TITLE = String.raw`\(\s*(${LITERAL}(?:\s*\+\s*${LITERAL})*)`;

/** The text of a title matched by TITLE: its literals' contents, joined. */
function titleOf(literals: string): string {
  return [...literals.matchAll(new RegExp(LITERAL, 'g'))].map((literal) => literal[0].slice(1, -1)).join('');
}

/**
 * The skip sites of one file: calls of a name bound to `cond ? it : it.skip` (or describe/test),
 * inline `(cond ? describe : describe.skip)(…)`, and `it.skip`, `describe.skip`, `test.skip`,
 * `.todo`, `xit`, `xdescribe`. A `.skip` this does not understand is returned as such, untitled.
 */
function skipsIn(source: string, file: string): { skips: Skip[]; unrecognised: number } {
  const skips: Skip[] = [];
  let understood = 0;
  const aliases = [
    ...source.matchAll(/const (\w+) = [^;\n]*\?\s*(?:it|test|describe)\s*:\s*(?:it|test|describe)\.skip\b/g),
  ].map((match) => match[1]!);
  understood += aliases.length;
  for (const alias of aliases) {
    for (const match of source.matchAll(new RegExp(String.raw`(?<![\w.])${alias}` + TITLE, 'g')))
      skips.push({ file, title: titleOf(match[1]!) });
  }
  for (const match of source.matchAll(
    new RegExp(String.raw`\(\s*\w+\s*\?\s*(?:it|test|describe)\s*:\s*(?:it|test|describe)\.skip\s*\)` + TITLE, 'g'),
  )) {
    skips.push({ file, title: titleOf(match[1]!) });
    understood += 1;
  }
  for (const match of source.matchAll(
    new RegExp(String.raw`(?<![\w.])(?:(?:it|test|describe)\.(?:skip|todo)|xit|xtest|xdescribe)` + TITLE, 'g'),
  )) {
    skips.push({ file, title: titleOf(match[1]!) });
    if (match[0].includes('.skip')) understood += 1;
  }
  // `@skip(if: …)` is GraphQL's directive, in documents: not a test skip.
  const all = [...source.matchAll(/(?<!@)\b(?:it|test|describe)\.skip\b/g)].length;
  return { skips, unrecognised: all - understood };
}

/** The rows of the "Skipped tests" table of docs/testing.md: | `file` | title | runs on | why |. */
function listedInDocs(): Array<Skip & { why: string }> {
  const page = fs.readFileSync(path.join(root, 'docs', 'testing.md'), 'utf8');
  const start = page.indexOf('\n## Skipped tests\n');
  expect(start).toBeGreaterThan(0);
  const section = page.slice(start + 1).split(/\n#{1,2} /)[0]!;
  return [...section.matchAll(/^\| `(test\/[^`]+)` \| (.+?) \| (?:PostgreSQL|PGlite) \| (.+) \|$/gm)].map((match) => ({
    file: match[1]!,
    title: match[2]!,
    why: match[3]!.trim(),
  }));
}

describe('skipped tests', () => {
  const found = testFiles(path.join(root, 'test')).map((full) =>
    skipsIn(fs.readFileSync(full, 'utf8'), path.relative(root, full).split(path.sep).join('/')),
  );

  it('are each listed in docs/testing.md with the reason, and the list names only real skips', () => {
    expect(found.filter((file) => file.unrecognised !== 0)).toEqual([]);
    const skips = found
      .flatMap((file) => file.skips)
      .map(({ file, title }) => `${file}: ${title}`)
      .sort();
    const listed = listedInDocs();
    expect(listed.filter((row) => row.why.length < 20)).toEqual([]);
    expect(listed.map(({ file, title }) => `${file}: ${title}`).sort()).toEqual(skips);
  });

  it('are found in every form a skip takes', () => {
    const source = [
      "const onPostgres = kind === 'postgres' ? it : it.skip;",
      "onPostgres('one', () => {});",
      'onPostgres(\n  "two",\n  async () => {});',
      "onPostgres('two and ' +\n  'a half', () => {});",
      "(cond ? describe : describe.skip)('three', () => {});",
      'it.skip(`four`, () => {});',
      "describe.skip('five', () => {});",
      "it.todo('six');",
      "xit('seven', () => {});",
      "const query = 'query { a @skip(if: true) }';",
    ].join('\n');
    expect(skipsIn(source, 'f').skips.map((skip) => skip.title)).toEqual([
      'one',
      'two',
      'two and a half',
      'three',
      'four',
      'five',
      'six',
      'seven',
    ]);
    expect(skipsIn(source, 'f').unrecognised).toBe(0);
    expect(skipsIn('const maybe = [it.skip][0];', 'f').unrecognised).toBe(1);
  });
});
