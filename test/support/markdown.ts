import fs from 'node:fs';
import path from 'node:path';

/** The repository's root: the README and `docs/` are read from here. */
export const repositoryRoot = path.resolve(__dirname, '..', '..');

/** The pages a reader finds: the README, the changelog and every page of `docs/`, relative to the root. */
export function documentationFiles(): string[] {
  const pages = fs
    .readdirSync(path.join(repositoryRoot, 'docs'))
    .filter((name) => name.endsWith('.md'))
    .sort()
    .map((name) => `docs/${name}`);
  return ['README.md', 'CHANGELOG.md', ...pages];
}

export function readDocumentation(file: string): string {
  return fs.readFileSync(path.join(repositoryRoot, file), 'utf8');
}

/** A fenced code block: its info string's first word, the rest of it, its text and where it opens. */
export interface FencedBlock {
  language: string;
  attributes: string;
  text: string;
  /** 1-based line of the opening fence. */
  line: number;
}

/** What a page is made of, in order: fenced blocks and the prose between them. */
export type MarkdownPart = ({ kind: 'code' } & FencedBlock) | { kind: 'prose'; text: string; line: number };

/**
 * The page cut into prose and fenced code blocks (``` or longer, indented or not, as inside list
 * items). A block's lines lose the fence's indentation.
 */
export function markdownParts(markdown: string): MarkdownPart[] {
  const parts: MarkdownPart[] = [];
  const lines = markdown.split('\n');
  let prose: string[] = [];
  let proseLine = 1;
  for (let index = 0; index < lines.length; index += 1) {
    const opening = /^( *)(`{3,})\s*([^`]*)$/.exec(lines[index]!);
    if (!opening) {
      if (prose.length === 0) proseLine = index + 1;
      prose.push(lines[index]!);
      continue;
    }
    if (prose.length > 0) parts.push({ kind: 'prose', text: prose.join('\n'), line: proseLine });
    prose = [];
    const indent = opening[1]!;
    const fence = opening[2]!;
    const info = opening[3]!;
    const closing = new RegExp(`^ *\`{${fence.length},}\\s*$`);
    const body: string[] = [];
    let end = index + 1;
    while (end < lines.length && !closing.test(lines[end]!)) {
      body.push(lines[end]!.startsWith(indent) ? lines[end]!.slice(indent.length) : lines[end]!.trimStart());
      end += 1;
    }
    if (end === lines.length) throw new Error(`a code block opened on line ${index + 1} is never closed`);
    const [language = '', ...attributes] = info.trim().split(/\s+/);
    parts.push({ kind: 'code', language, attributes: attributes.join(' '), text: body.join('\n'), line: index + 1 });
    index = end;
  }
  if (prose.length > 0) parts.push({ kind: 'prose', text: prose.join('\n'), line: proseLine });
  return parts;
}

export function fencedBlocks(markdown: string): FencedBlock[] {
  return markdownParts(markdown).flatMap((part) => (part.kind === 'code' ? [part] : []));
}

/** The prose of a page, outside its code blocks: what headings and links are read from. */
function proseOf(markdown: string): Array<{ text: string; line: number }> {
  return markdownParts(markdown).flatMap((part) =>
    part.kind === 'prose' ? [{ text: part.text, line: part.line }] : [],
  );
}

/**
 * The anchor GitHub gives a heading: its text in lower case, without punctuation (letters, digits,
 * spaces, `-` and `_` stay), each space a hyphen; a repeated one gets `-1`, `-2`, ….
 */
export function headingAnchors(markdown: string): Set<string> {
  const anchors = new Set<string>();
  const seen = new Map<string, number>();
  for (const { text } of proseOf(markdown)) {
    for (const match of text.matchAll(/^#{1,6} +(.+?) *#* *$/gm)) {
      const visible = match[1]!.replace(/!?\[([^\]]*)\]\([^)]*\)/g, '$1').replace(/[`*]/g, '');
      const slug = visible
        .toLowerCase()
        .replace(/[^\p{L}\p{M}\p{N}\p{Pc} -]/gu, '')
        .replace(/ /g, '-');
      const count = seen.get(slug) ?? 0;
      seen.set(slug, count + 1);
      anchors.add(count === 0 ? slug : `${slug}-${count}`);
    }
  }
  return anchors;
}

/** Every link and image of a page's prose, outside code: `[text](target)`, `![alt](target)`. */
export function links(markdown: string): Array<{ target: string; line: number }> {
  return proseOf(markdown).flatMap(({ text, line }) => {
    const withoutCode = text.replace(/(`+)[\s\S]*?\1/g, (span) => span.replace(/[^\n]/g, ' '));
    return [...withoutCode.matchAll(/!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)].map((match) => ({
      target: match[1]!,
      line: line + withoutCode.slice(0, match.index).split('\n').length - 1,
    }));
  });
}

/**
 * The section of a page under a heading (the heading's line excluded), up to the next heading of
 * its level or above.
 */
export function section(markdown: string, heading: string): string {
  const lines = markdown.split('\n');
  const start = lines.indexOf(heading);
  if (start < 0) throw new Error(`no heading "${heading}"`);
  const level = /^#+/.exec(heading)![0].length;
  const end = lines.findIndex(
    (line, index) => index > start && /^#+ /.test(line) && /^#+/.exec(line)![0].length <= level,
  );
  return lines.slice(start + 1, end < 0 ? undefined : end).join('\n');
}

/** The rows of the first Markdown table in `text`, each a list of its cells, without the header and its rule. */
export function tableRows(text: string): string[][] {
  const lines = text.split('\n');
  const isRow = (line: string) => /^\|.*\|\s*$/.test(line);
  const start = lines.findIndex(isRow);
  if (start < 0) return [];
  const end = lines.findIndex((line, index) => index > start && !isRow(line));
  const rows = lines.slice(start, end < 0 ? undefined : end);
  return rows.slice(2).map((row) =>
    row
      .trim()
      .slice(1, -1)
      .split('|')
      .map((cell) => cell.trim()),
  );
}
