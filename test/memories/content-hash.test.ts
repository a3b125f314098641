import { contentHash, normalizeContent } from '../../src/memories/content-hash';

// Unit tests of the dedupe rule: no server needed, the rule is pure.
describe('the content rule of deduplication', () => {
  it('is idempotent over every code point, alone and followed by combining marks', () => {
    const broken: string[] = [];
    for (let codePoint = 0; codePoint <= 0x10ffff; codePoint += 1) {
      if (codePoint >= 0xd800 && codePoint <= 0xdfff) continue;
      for (const marks of ['', '\u0301', '\u0308\u0301', '\u0345']) {
        const text = `${String.fromCodePoint(codePoint)}${marks} word`;
        const once = normalizeContent(text);
        if (normalizeContent(once) !== once)
          broken.push(`U+${codePoint.toString(16).toUpperCase()}${marks ? ` + ${marks.length} mark(s)` : ''}`);
      }
    }
    expect(broken).toEqual([]);
  });

  it('gives one hash to the composed and decomposed forms of the same Greek letter', () => {
    expect(contentHash('\u03AA\u0301 word')).toBe(contentHash('\u0390 word'));
    expect(contentHash('Tea  at\nFIVE ')).toBe(contentHash('tea at five'));
  });
});
