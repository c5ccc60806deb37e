import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isAppError, UserError } from '../../src/util/errors.js';
import {
  compileMatcher,
  foldCodePoint,
  normalizeText,
  validateKeyword,
  type Keyword,
  type KeywordMatcher,
  type KeywordMode,
} from '../../src/triggers/keyword-matcher.js';
import { readSettingsRow } from '../../src/store/settings-schema.js';

const kw = (word: string, mode: KeywordMode = 'contains'): Keyword => ({ word, mode });

/** Hits as [word, index] pairs, the easiest form to read in assertions. */
function found(matcher: KeywordMatcher, text: string): Array<[string, number]> {
  return matcher.match(text).map((hit) => [hit.keyword.word, hit.index]);
}

function firesOn(keyword: Keyword, text: string): boolean {
  return compileMatcher([keyword]).match(text).length === 1;
}

// ---------------------------------------------------------------------------------------------------
// Reference matcher: normalizeText + indexOf for contains, a regex with look-around for whole words.
// Deliberately naive and independent of the automaton.

const NO_SPACE = '\\p{scx=Han}\\p{scx=Hiragana}\\p{scx=Katakana}\\p{scx=Thai}\\p{scx=Lao}\\p{scx=Khmer}\\p{scx=Myanmar}\\p{scx=Tibetan}';
const WORD_CLASS = `[[\\p{L}\\p{N}\\p{M}]--[${NO_SPACE}]]`;
const IS_WORD = new RegExp(`^${WORD_CLASS}$`, 'v');

function escapeRegExp(s: string): string {
  // Outside classes, the v flag accepts only these escapes.
  return s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}

function referenceMatch(keywords: readonly Keyword[], text: string): Array<[string, number]> {
  const normalized = normalizeText(text);
  const seen = new Set<string>();
  const hits: Array<{ word: string; index: number; order: number }> = [];
  keywords.forEach((keyword, order) => {
    const word = normalizeText(keyword.word);
    const key = `${keyword.mode}:${word}`;
    if (word.length === 0 || seen.has(key)) return;
    seen.add(key);
    let index: number;
    if (keyword.mode === 'contains') {
      index = normalized.indexOf(word);
    } else {
      const chars = [...word];
      const before = IS_WORD.test(chars[0]!) ? `(?<!${WORD_CLASS})` : '';
      const after = IS_WORD.test(chars.at(-1)!) ? `(?!${WORD_CLASS})` : '';
      index = normalized.search(new RegExp(before + escapeRegExp(word) + after, 'v'));
    }
    if (index >= 0) hits.push({ word: keyword.word, index, order });
  });
  hits.sort((a, b) => a.index - b.index || a.order - b.order);
  return hits.map((hit) => [hit.word, hit.index]);
}

// Characters chosen to stress folding: case pairs, fullwidth forms, ligatures, composed and decomposed
// accents, final sigma, ß, variation selectors, emoji, CJK, Hangul syllables and conjoining jamo,
// apostrophes, digits and separators.
const TRICKY_CHARS = [
  'a', 'b', 'c', 'A', 'B', 's', 'S', 'i', 'I', 'e', ' ', ' ', '-', '!', '1', '_', "'", '\u2019',
  'é', 'e\u0301', '\u0301', '\u0308', 'ß', 'ẞ', 'Σ', 'σ', 'ς', 'İ', 'ı', 'ﬁ', 'ｂ', 'Ａ', '①', '½',
  'я', 'Я', '日', '本', 'が', 'ก', '가', '\u1100', '\u1161', '\u11a8', '🔥', '❤', '\uFE0F', '👍', '🏽',
  '\u200D', '𝐀', '𝓪', '\u3099', 'ﾞ', 'ｶ',
];
const trickyString = (maxLength: number) =>
  fc.array(fc.constantFrom(...TRICKY_CHARS), { maxLength }).map((parts) => parts.join(''));
const anyMode = fc.constantFrom<KeywordMode>('contains', 'word');

describe('normalizeText', () => {
  it('folds case and compatibility forms', () => {
    expect(normalizeText('ＷＯＷ')).toBe('wow');
    expect(normalizeText('HeLLo')).toBe('hello');
    expect(normalizeText('ﬁre')).toBe('fire');
    expect(normalizeText('𝐀𝐁𝐂')).toBe('abc');
    expect(normalizeText('ПРИВЕТ')).toBe('привет');
  });

  it('composes decomposed accents', () => {
    expect(normalizeText('Cafe\u0301')).toBe('café');
  });

  it('folds ß to ss and final sigma to sigma, so the case of the message does not matter', () => {
    expect(normalizeText('STRASSE')).toBe(normalizeText('straße'));
    expect(normalizeText('ẞ')).toBe('ss');
    expect(normalizeText('ΟΔΟΣ')).toBe('οδοσ');
    expect(normalizeText('οδος')).toBe('οδοσ');
  });

  it('drops emoji variation selectors and straightens apostrophes', () => {
    expect(normalizeText('❤️')).toBe('❤');
    expect(normalizeText('don’t')).toBe("don't");
  });

  it('keeps dotless ı and accents distinct (documented choice)', () => {
    expect(normalizeText('ı')).not.toBe('i');
    expect(normalizeText('café')).not.toBe('cafe');
  });

  it('is idempotent where lower-casing adds a combining mark (İ before another mark)', () => {
    expect(normalizeText(normalizeText('İ\u3099'))).toBe(normalizeText('İ\u3099'));
  });

  it('is idempotent', () => {
    fc.assert(
      fc.property(fc.oneof(trickyString(20), fc.string({ unit: 'binary', maxLength: 20 })), (s) => {
        expect(normalizeText(normalizeText(s))).toBe(normalizeText(s));
      }),
    );
  });
});

describe('validateKeyword', () => {
  function rejection(raw: string): unknown {
    try {
      validateKeyword(raw);
    } catch (err) {
      return err;
    }
    return undefined;
  }

  it('returns the keyword trimmed', () => {
    expect(validateKeyword('  hype train ')).toBe('hype train');
    expect(validateKeyword('🔥')).toBe('🔥');
    expect(validateKeyword('日本')).toBe('日本');
  });

  it.each([
    ['empty', ''],
    ['whitespace only', ' \t  '],
    ['a newline inside', 'a\nb'],
    ['a carriage return inside', 'a\rb'],
    ['a NUL', 'a\u0000b'],
    ['a C1 control', 'a\u0085b'],
    ['a line separator', 'a\u2028b'],
    ['a bidi override', 'a\u202Eb'],
    ['a lone surrogate', 'a\uD800b'],
    ['only a variation selector', '\uFE0F'],
    ['only zero-width characters (U+200B U+200D)', '\u200B\u200D'],
    ['zero-width space, joiner, non-joiner and word joiner between spaces', ' \u200B\u200C\u200D\u2060 '],
    ['only a BOM and a soft hyphen', '\uFEFF\u00AD'],
    ['only a left-to-right mark', '\u200E'],
    ['only Hangul fillers', '\u3164\uFFA0'],
    ['only the blank braille pattern', '\u2800\u2800'],
    ['only an ideographic space and a no-break space', '\u3000\u00A0'],
    ['only a combining accent', '\u0301'],
    ['only tag characters', '\u{E0041}\u{E0042}'],
    ['101 characters', 'x'.repeat(101)],
    ['101 emoji', '🔥'.repeat(101)],
  ])('rejects %s with a UserError coded INVALID_KEYWORD', (_, raw) => {
    const err = rejection(raw);
    expect(err).toBeInstanceOf(UserError);
    expect(isAppError(err, 'INVALID_KEYWORD')).toBe(true);
    expect((err as Error).message.length).toBeLessThan(80);
  });

  it('accepts 100 characters, counting emoji as one each', () => {
    expect(validateKeyword('x'.repeat(100))).toHaveLength(100);
    expect(validateKeyword('🔥'.repeat(100))).toBe('🔥'.repeat(100));
  });

  it('accepts emoji sequences joined with zero-width joiners', () => {
    expect(validateKeyword('👨‍👩‍👧')).toBe('👨‍👩‍👧');
  });

  it('accepts a visible character among zero-width ones, and accents on a letter', () => {
    expect(validateKeyword('\u200Bgg\u200B')).toBe('\u200Bgg\u200B');
    expect(validateKeyword('cafe\u0301')).toBe('cafe\u0301');
    expect(validateKeyword('❤️')).toBe('❤️');
  });

  it('says a keyword needs a visible character when it has none', () => {
    expect((rejection('\u200B\u200D') as Error).message).toBe('A keyword needs at least one visible character.');
  });

  it('trims a trailing newline from a paste rather than rejecting it', () => {
    expect(validateKeyword('wow\n')).toBe('wow');
  });
});

describe('keywords read from the store', () => {
  it('drops an invisible keyword an older version stored, noting it, and keeps the rest', () => {
    const { value, problems } = readSettingsRow('123456789012345678', {
      v: 1,
      keywords: [{ word: '\u200B\u200D', mode: 'contains' }, { word: 'wow', mode: 'word' }, '\u2800'],
    });
    expect(value.keywords).toEqual([{ word: 'wow', mode: 'word' }]);
    expect(problems).toEqual(['keywords[0] dropped: not a valid keyword', 'keywords[2] dropped: not a valid keyword']);
  });
});

describe('compileMatcher: contains mode', () => {
  it('fires anywhere in the message, whatever the case', () => {
    const matcher = compileMatcher([kw('cat')]);
    expect(found(matcher, 'concatenate')).toEqual([['cat', 3]]);
    expect(found(matcher, 'CAT!')).toEqual([['cat', 0]]);
    expect(found(matcher, 'dog')).toEqual([]);
  });

  it('matches fullwidth text against a plain keyword and the other way round', () => {
    expect(firesOn(kw('wow'), 'ＷＯＷ')).toBe(true);
    expect(firesOn(kw('ＷＯＷ'), 'wow')).toBe(true);
  });

  it('matches non-Latin and emoji keywords', () => {
    expect(firesOn(kw('日本'), '我爱日本!')).toBe(true);
    expect(firesOn(kw('привет'), 'ПРИВЕТСТВУЮ')).toBe(true);
    expect(firesOn(kw('🔥'), 'so hot🔥🔥')).toBe(true);
    expect(firesOn(kw('❤️'), 'love ❤ you')).toBe(true);
    expect(firesOn(kw('❤'), 'love ❤️ you')).toBe(true);
  });

  it('does not match a bare letter inside an accented one', () => {
    expect(firesOn(kw('e'), 'café')).toBe(false);
    expect(firesOn(kw('e'), 'cafe\u0301')).toBe(false);
    expect(firesOn(kw('café'), 'CAFE\u0301')).toBe(true);
  });

  it('reports the index in the normalized text', () => {
    expect(found(compileMatcher([kw('cat')]), 'ß cat')).toEqual([['cat', 3]]);
    expect(found(compileMatcher([kw('cat')]), '❤️cat')).toEqual([['cat', 1]]);
  });
});

describe('compileMatcher: word mode', () => {
  const cat = kw('cat', 'word');

  it.each([
    ['my cat!', true],
    ['CAT', true],
    ['cat', true],
    ["the cat's toy", true],
    ['cat-like', true],
    ['(cat)', true],
    ['concatenate', false],
    ['cats', false],
    ['bobcat', false],
    ['cat1', false],
    ['cat_lover', true],
    ['catégorie', false],
    ['cat\u0301', false],
    ['😺cat😺', true],
    ['catが好き', true],
  ])('cat in %j: %s', (text, expected) => {
    expect(firesOn(cat, text)).toBe(expected);
  });

  it('reports the first whole-word occurrence, not the first substring', () => {
    expect(found(compileMatcher([cat]), 'concat then cat')).toEqual([['cat', 12]]);
  });

  it('treats letters of any script as word characters', () => {
    const privet = kw('привет', 'word');
    expect(firesOn(privet, 'Привет!')).toBe(true);
    expect(firesOn(privet, 'приветствую')).toBe(false);
    expect(firesOn(kw('γεια', 'word'), 'ΓΕΙΑ σου')).toBe(true);
    expect(firesOn(kw('γεια', 'word'), 'γειαα')).toBe(false);
    expect(firesOn(kw('नमस्ते', 'word'), 'नमस्ते दोस्तों')).toBe(true);
  });

  it('does not look for word edges in scripts written without spaces', () => {
    expect(firesOn(kw('日本', 'word'), '我爱日本!')).toBe(true);
    expect(firesOn(kw('日本', 'word'), '日本語')).toBe(true);
    expect(firesOn(kw('ありがとう', 'word'), 'ありがとうございます')).toBe(true);
  });

  it('fires an emoji keyword wherever the emoji is, even glued to words', () => {
    const fire = kw('🔥', 'word');
    expect(firesOn(fire, 'fire🔥')).toBe(true);
    expect(firesOn(fire, '🔥🔥🔥')).toBe(true);
    expect(firesOn(fire, 'no fire here')).toBe(false);
  });

  it('checks only the edges of a mixed keyword that are word characters', () => {
    const mixed = kw('🔥fire', 'word');
    expect(firesOn(mixed, 'wow🔥fire!')).toBe(true);
    expect(firesOn(mixed, '🔥fireworks')).toBe(false);
  });

  it('sees word edges through variation selectors and expansions', () => {
    expect(firesOn(cat, '❤️cat')).toBe(true);
    expect(firesOn(cat, 'ßcat')).toBe(false);
    expect(firesOn(cat, 'cat\uFE0Fs')).toBe(false);
    expect(firesOn(kw('ss', 'word'), 'ß!')).toBe(true);
    expect(firesOn(kw('s', 'word'), 'ß')).toBe(false);
  });
});

describe('compileMatcher: several keywords', () => {
  it('reports each keyword once, in order of first occurrence', () => {
    const matcher = compileMatcher([kw('b'), kw('a'), kw('c')]);
    expect(found(matcher, 'c a b a c')).toEqual([
      ['c', 0],
      ['a', 2],
      ['b', 4],
    ]);
  });

  it('reports overlapping keywords', () => {
    const matcher = compileMatcher([kw('he'), kw('she'), kw('his'), kw('hers')]);
    expect(found(matcher, 'ushers')).toEqual([
      ['she', 1],
      ['he', 2],
      ['hers', 2],
    ]);
  });

  it('reports keywords that are prefixes of each other, ties in the order given', () => {
    const matcher = compileMatcher([kw('abc'), kw('a'), kw('ab')]);
    expect(found(matcher, 'xabcx')).toEqual([
      ['abc', 1],
      ['a', 1],
      ['ab', 1],
    ]);
  });

  it('keeps whole-word prefixes apart', () => {
    const matcher = compileMatcher([kw('cat', 'word'), kw('cats', 'word')]);
    expect(found(matcher, 'cats')).toEqual([['cats', 0]]);
    expect(found(matcher, 'cat')).toEqual([['cat', 0]]);
    expect(found(matcher, 'cat cats')).toEqual([
      ['cat', 0],
      ['cats', 4],
    ]);
  });

  it('counts keywords that normalize alike once, the first one winning', () => {
    const first = kw('Cat');
    const matcher = compileMatcher([first, kw('cat'), kw('ＣＡＴ'), kw('cat', 'word')]);
    expect(matcher.size).toBe(2);
    const hits = matcher.match('a cat');
    expect(hits.map((hit) => hit.keyword)).toEqual([first, kw('cat', 'word')]);
  });

  it('ignores keywords that normalize to nothing', () => {
    const matcher = compileMatcher([kw(''), kw('\uFE0F'), kw('ok')]);
    expect(matcher.size).toBe(1);
    expect(found(matcher, 'ok')).toEqual([['ok', 0]]);
  });

  it('matches nothing with no keywords', () => {
    const matcher = compileMatcher([]);
    expect(matcher.size).toBe(0);
    expect(matcher.match('anything')).toEqual([]);
  });

  it('gives the same answers when run over many messages in a row', () => {
    const matcher = compileMatcher([kw('cat', 'word'), kw('🔥')]);
    for (let i = 0; i < 1_000; i++) {
      expect(found(matcher, i % 2 === 0 ? 'CAT 🔥' : 'Ça va? 🔥 cat')).toEqual(
        i % 2 === 0
          ? [
              ['cat', 0],
              ['🔥', 4],
            ]
          : [
              ['🔥', 7],
              ['cat', 10],
            ],
      );
    }
  });

  it('handles 1,000 keywords and long messages', () => {
    const keywords = Array.from({ length: 1_000 }, (_, i) => kw(`word${i}`, i % 2 ? 'word' : 'contains'));
    const matcher = compileMatcher(keywords);
    expect(matcher.size).toBe(1_000);
    // Odd-numbered keywords are whole words: word1 does not fire inside "word12x", word12 does.
    expect(found(matcher, `${'x'.repeat(10_000)} WORD999 word12x`)).toEqual([
      ['word999', 10_001],
      ['word12', 10_009],
    ]);
  });
});

describe('compileMatcher agrees with the reference matcher', () => {
  const keywordsArb = (chars: fc.Arbitrary<string>) =>
    fc.array(fc.record({ word: chars, mode: anyMode }), { minLength: 1, maxLength: 8 });

  for (const [name, options] of [
    ['dense table', {}],
    ['sparse automaton', { maxTableEntries: 0 }],
  ] as const) {
    it(`on tricky characters (${name})`, () => {
      fc.assert(
        fc.property(keywordsArb(trickyString(4)), trickyString(30), (keywords, text) => {
          expect(found(compileMatcher(keywords, options), text)).toEqual(referenceMatch(keywords, text));
        }),
        { numRuns: 500 },
      );
    });

    it(`on any Unicode text, with keywords taken from the message (${name})`, () => {
      fc.assert(
        fc.property(
          fc.string({ unit: 'binary', maxLength: 40 }),
          fc.array(fc.tuple(fc.nat(), fc.integer({ min: 1, max: 6 }), anyMode), { minLength: 1, maxLength: 6 }),
          (text, picks) => {
            const codePoints = [...text];
            const keywords = picks.map(([at, length, mode]) => {
              const from = codePoints.length === 0 ? 0 : at % codePoints.length;
              return kw(codePoints.slice(from, from + length).join('') || 'x', mode);
            });
            expect(found(compileMatcher(keywords, options), text)).toEqual(
              referenceMatch(keywords, text),
            );
          },
        ),
        { numRuns: 300 },
      );
    });

    it(`on ASCII chat with whole words (${name})`, () => {
      const words = fc.constantFrom('cat', 'cats', 'at', 'a', 'the', 'CAT', 'Hi', 'hi!', '!', 'x1');
      const sep = fc.constantFrom(' ', '', '.', '-', '  ');
      const message = fc.array(fc.tuple(words, sep), { maxLength: 12 }).map((parts) => parts.flat().join(''));
      fc.assert(
        fc.property(keywordsArb(words), message, (keywords, text) => {
          expect(found(compileMatcher(keywords, options), text)).toEqual(referenceMatch(keywords, text));
        }),
        { numRuns: 300 },
      );
    });
  }
});

describe('fast-path folding', () => {
  // The matcher folds a message one character at a time unless a character's normalization could
  // depend on its neighbours. That is only sound if no foldable character can be the second part of a
  // canonical composition: check it against the engine's own Unicode data, every code point.
  it('never folds a character that can compose with the one before it', () => {
    const offenders: string[] = [];
    for (let cp = 0; cp < 0x110000; cp++) {
      if (cp >= 0xd800 && cp <= 0xdfff) continue;
      const ch = String.fromCodePoint(cp);
      const decomposed = ch.normalize('NFD');
      if (decomposed === ch) continue;
      for (const second of [...decomposed].slice(1)) {
        if (foldCodePoint(second.codePointAt(0)!) !== undefined) {
          offenders.push(second.codePointAt(0)!.toString(16));
        }
      }
    }
    expect(offenders).toEqual([]);
  });

  it('folds every BMP character as normalizeText does, whatever its neighbours', () => {
    const neighbours = ['', 'a', 'E', 'Σ', ' ', '日', '가', '\u1100', '🔥', 'ß', 'ｶ'];
    const mismatches: string[] = [];
    for (let cp = 0; cp <= 0xffff; cp++) {
      if (cp >= 0xd800 && cp <= 0xdfff) continue;
      const fold = foldCodePoint(cp);
      if (fold === undefined) continue;
      const ch = String.fromCharCode(cp);
      for (const before of neighbours) {
        if (normalizeText(before + ch) !== normalizeText(before) + fold) {
          mismatches.push(`${before}+U+${cp.toString(16)}`);
        }
      }
      if (normalizeText(`${ch}a`) !== `${fold}a`) mismatches.push(`U+${cp.toString(16)}+a`);
    }
    expect(mismatches.slice(0, 20)).toEqual([]);
  });
});
